"""The run-config's JSON Schema: examples validate, bad configs fail, and it follows the reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from glmreport.config.corrections import METHOD_KEYS
from glmreport.config.load import TOP_KEYS, parse_config
from glmreport.config.model import FIRST_KEYS, MAPS_KEYS, RUN_KEYS, SECOND_KEYS
from glmreport.config.schema import DIALECT, config_schema
from glmreport.config.specs import ClusterOptions, ModelConfig
from glmreport.config.study import STUDY_KEYS
from glmreport.config.vocabulary import DESIGN_KINDS, HRF_MODELS, LEVELS, METHODS
from glmreport.config.yaml import load_yaml
from glmreport.datasets.demo import DEMO_ATLAS, DEMO_CONFIG
from glmreport.errors import ConfigError

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def schema() -> dict:
    return config_schema()


@pytest.fixture(scope="module")
def validator(schema) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_schema_is_draft_2020_12_and_plain_json(schema):
    assert schema["$schema"] == DIALECT
    assert json.loads(json.dumps(schema)) == schema
    assert schema["required"] == ["model"] and schema["additionalProperties"] is False


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(validator, path):
    assert len(EXAMPLES) >= 6
    errors = [e.message for e in validator.iter_errors(load_yaml(path.read_text()))]
    assert errors == []


def test_the_demo_config_validates(validator):
    assert list(validator.iter_errors(load_yaml(DEMO_CONFIG + DEMO_ATLAS))) == []


BASE = "model: {inputs: in.tsv}\ncontrasts: [{name: c, t: intercept}]\n"

VALID = {
    "second level, every design kind": [
        BASE + "",
        "model: {level: second, inputs: [a.nii, {path: b.nii, age: 3}], design: {two-sample: "
        "{group: g, levels: [p, c]}}, covariates: age, center_covariates: false}\n"
        "contrasts: [{name: c, t: {group: 1}}]",
        "model: {inputs: {glob: 'd/*.nii'}, design: {paired: {condition: c, subject: s}}}\n"
        "contrasts: [{name: c, weights: [1, 0]}]",
        "model: {inputs: in.tsv, design: {anova: {factors: [a, b], subject: s}}}\n"
        "contrasts: [{name: c, F: ['a1 - a2', [0, 1, -1]]}]",
        "model: {inputs: in.tsv, design: {formula: '1 + group + age'}, mask: m.nii.gz,"
        " smoothing_fwhm: 6, space: null}\ncontrasts: [{name: c, weights: [[1, 0], [0, 1]]}]",
        "model: {inputs: in.tsv, design: {matrix: design.tsv}}\ncontrasts: [{name: c, t: 'a - b'}]",
        "model: {inputs: in.tsv, design: {one-sample: null}}\ncontrasts: [{name: c, t: [1]}]",
        "model: {inputs: in.tsv, design: {anova: {factors: [a], subject: s}}, nonsphericity: true}"
        "\ncontrasts: [{name: c, t: 'a1 - a2'}, {name: d, t: 'a2 - a3'},"
        " {name: both, conjunction: [c, d]}]\n"
        "corrections: [{method: rft, svc: {sphere: {center_mm: [0, -52, 26], radius_mm: 10}}},"
        " {method: permutation, contrasts: [c], svc: {mask: roi.nii.gz}}]",
    ],
    "first level": [
        "model: {level: first, t_r: 2, slice_time_ref: 0.5, hrf: fir, fir_delays: [0, 1],"
        " noise_model: ols, drift: {model: polynomial, order: 2}, per_run_outputs: true,"
        " runs: [{bold: r1.nii.gz, events: e.tsv, confounds: c.tsv, confound_columns: [x]},"
        " {bold: r2.nii.gz, design: d.tsv, name: second}]}\n"
        "contrasts: [{name: c, t: a}]",
        "model: {level: first, t_r: 1.5, drift: none, runs: [{bold: r.nii}]}\n"
        "contrasts: [{name: c, t: a}]",
    ],
    "maps": [
        "model: {level: maps, maps: [{name: z, path: z.nii, stat: z}, "
        "{name: f, path: f.nii, stat: F, dof: 20, df_num: 2}]}\n"
        "corrections: [{method: rft, fwhm_mm: [8, 8, 9]}, {method: ari, thresholds: 3.1}]",
    ],
    "every method, clusters, atlases, report": [
        BASE + "corrections:\n"
        "  - {method: uncorrected, alpha: 0.01, cluster_extent: 5, desc: lenient}\n"
        "  - {method: fdr, two_sided: true, contrasts: c}\n"
        "  - {method: bonferroni}\n"
        "  - {method: permutation, n_perm: 500, seed: 3, cluster_forming_p: 0.001, tfce: true,"
        " tfce_E: 0.5, tfce_H: 2, tfce_dh: auto, blocks: null}\n"
        "  - {method: ari, thresholds: [2.5, 3.5]}\n"
        "  - {method: rft, cluster_forming_p: 0.01, fwhm_mm: 8}\n"
        "two_sided: false\nclusters: {connectivity: 18, min_distance_mm: 6, max_subpeaks: 2}\n"
        "atlases:\n  - harvard-oxford-cortical\n"
        "  - {templateflow: {template: MNI152NLin6Asym, atlas: Schaefer2018, desc: 200Parcels,"
        " resolution: 2}, name: schaefer, kind: deterministic}\n"
        "  - {file: a.nii.gz, labels: a.tsv, space: MNI152NLin6Asym}\n"
        "  - {fsl: HarvardOxford-Cortical}\n"
        "report: {formats: [html, pdf]}\ntitle: t\noutput: out",
        BASE + "atlases: harvard-oxford-cortical\nreport: {formats: pdf}",
    ],
}


@pytest.mark.parametrize(
    "text", [t for group in VALID.values() for t in group], ids=lambda t: t[:40]
)
def test_configs_the_reader_accepts_validate(validator, tmp_path, text):
    parse_config(text, base_dir=tmp_path)  # the reader accepts it ...
    errors = [e.message for e in validator.iter_errors(load_yaml(text))]
    assert errors == []  # ... and so does the schema


INVALID = {
    "unknown top-level key": BASE + "contrast: []",
    "misspelt method": BASE + "corrections: [{method: bonferoni}]",
    "a key of another method": BASE + "corrections: [{method: fdr, n_perm: 10}]",
    "two contrast kinds": "model: {inputs: in.tsv}\ncontrasts: [{name: c, t: a, F: [a]}]",
    "second level without contrasts": "model: {inputs: in.tsv}",
    "maps with contrasts": "model: {level: maps, maps: [{name: z, path: z.nii, stat: z}]}\n"
    "contrasts: [{name: c, t: a}]",
    "two design kinds": "model: {inputs: in.tsv, design: {paired: {condition: c, subject: s},"
    " anova: {factors: [a]}}}\ncontrasts: [{name: c, t: a}]",
    "a design word other than one-sample": "model: {inputs: in.tsv, design: two-sample}\n"
    "contrasts: [{name: c, t: a}]",
    "connectivity 7": BASE + "clusters: {connectivity: 7}",
    "desc with an underscore": BASE + "corrections: [{method: fdr, desc: a_b}]",
    "events and a design in one run": "model: {level: first, t_r: 2, runs: [{bold: r.nii,"
    " events: e.tsv, design: d.tsv}]}\ncontrasts: [{name: c, t: a}]",
    "t map without dof": "model: {level: maps, maps: [{name: t, path: t.nii, stat: t}]}",
    "first level without t_r": "model: {level: first, runs: [{bold: r.nii}]}\n"
    "contrasts: [{name: c, t: a}]",
    "second-level key at the first level": "model: {level: first, t_r: 2, inputs: in.tsv,"
    " runs: [{bold: r.nii}]}\ncontrasts: [{name: c, t: a}]",
    "alpha of 1": BASE + "corrections: [{method: fdr, alpha: 1}]",
    "n_perm of 0": BASE + "corrections: [{method: permutation, n_perm: 0}]",
    "two FWHM values": BASE + "corrections: [{method: rft, fwhm_mm: [8, 8]}]",
    "unknown HRF": "model: {level: first, t_r: 2, hrf: canonical, runs: [{bold: r.nii}]}\n"
    "contrasts: [{name: c, t: a}]",
    "unknown registry atlas": BASE + "atlases: [harvard-oxford-cortcal]",
    "atlas with two sources": BASE + "atlases: [{file: a.nii, fsl: X}]",
    "unknown report format": BASE + "report: {formats: [docx]}",
    "smoothing above the bound": "model: {inputs: in.tsv, smoothing_fwhm: 80}\n"
    "contrasts: [{name: c, t: a}]",
    "a boolean for a number": BASE + "corrections: [{method: fdr, alpha: true}]",
    "svc on fdr": BASE + "corrections: [{method: fdr, svc: {mask: roi.nii.gz}}]",
    "svc with a mask and a sphere": BASE + "corrections: [{method: rft, svc: {mask: r.nii,"
    " sphere: {center_mm: [0, 0, 0], radius_mm: 5}}}]",
    "svc sphere of two coordinates": BASE + "corrections: [{method: rft, svc: {sphere:"
    " {center_mm: [0, 0], radius_mm: 5}}}]",
    "svc radius 0": BASE + "corrections: [{method: rft, svc: {sphere: {center_mm: [0, 0, 0],"
    " radius_mm: 0}}}]",
    "a conjunction of one contrast": "model: {inputs: in.tsv}\ncontrasts: [{name: c, t: a},"
    " {name: j, conjunction: [c]}]",
    "a conjunction with weights": "model: {inputs: in.tsv}\ncontrasts: [{name: c, t: a},"
    " {name: d, t: b}, {name: j, conjunction: [c, d], t: a}]",
    "nonsphericity as a word": "model: {inputs: in.tsv, nonsphericity: yes please}\n"
    "contrasts: [{name: c, t: a}]",
}


@pytest.mark.parametrize("case", list(INVALID))
def test_bad_configs_fail_the_schema_and_the_reader(validator, tmp_path, case):
    text = INVALID[case]
    assert list(validator.iter_errors(load_yaml(text))), case
    with pytest.raises(ConfigError):
        parse_config(text, base_dir=tmp_path)


def _properties(schema: dict, ref: str) -> set[str]:
    node = schema["$defs"][ref]
    return set(node["properties"])


def test_the_schema_lists_exactly_the_keys_the_reader_allows(schema):
    assert list(schema["properties"]) == list(TOP_KEYS)
    models = schema["$defs"]["model"]["oneOf"]
    assert [m["properties"]["level"]["const"] for m in models] == list(LEVELS)
    assert [set(m["properties"]) for m in models] == [
        set(SECOND_KEYS),
        set(FIRST_KEYS),
        set(MAPS_KEYS),
        set(STUDY_KEYS),
    ]
    assert _properties(schema, "run") == set(RUN_KEYS)
    corrections = schema["$defs"]["correction"]["oneOf"]
    assert [c["properties"]["method"]["const"] for c in corrections] == list(METHODS)
    for entry in corrections:
        method = entry["properties"]["method"]["const"]
        assert set(METHOD_KEYS[method]) <= set(entry["properties"])
    designs = schema["$defs"]["design"]["oneOf"]
    assert [next(iter(d["properties"])) for d in designs[1:]] == list(DESIGN_KINDS)


def test_enums_and_defaults_come_from_the_vocabulary_and_specs(schema):
    first = schema["$defs"]["model"]["oneOf"][1]["properties"]
    assert first["hrf"]["enum"] == list(HRF_MODELS)
    assert first["hrf"]["default"] == ModelConfig.__dataclass_fields__["hrf"].default
    assert first["fir_delays"]["default"] == [0]
    clusters = schema["$defs"]["clusters"]["properties"]
    assert clusters["connectivity"]["default"] == ClusterOptions().connectivity
    assert clusters["min_distance_mm"]["default"] == ClusterOptions().min_distance_mm
    assert schema["$defs"]["report"]["properties"]["formats"]["default"] == ["html"]


def test_every_key_has_a_description(schema):
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                if "description" not in value:
                    missing.append(f"{path}.{key}")
            for key, value in node.items():
                if key not in ("if", "then", "else"):
                    walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk({k: v for k, v in schema.items() if k != "allOf"}, "")
    assert missing == []
