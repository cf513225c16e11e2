"""Run-config validation: every bad entry is named by its YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmreport.config.load import parse_config
from glmreport.config.specs import PermutationParams
from glmreport.errors import ConfigError

BASE = """\
model:
  inputs: inputs.tsv
contrasts:
  - {name: effect, t: intercept}
"""


def parse(text: str, base: Path = Path("/data")):
    return parse_config(text, base_dir=base)


def test_minimal_config_defaults():
    cfg = parse(BASE)
    assert cfg.model.level == "second"
    assert cfg.model.design.kind == "one-sample"
    assert cfg.model.inputs.table == Path("/data/inputs.tsv")
    assert cfg.model.mask == "auto"
    assert cfg.model.smoothing_fwhm == 0.0
    assert [c.method for c in cfg.corrections] == ["uncorrected"]
    assert cfg.corrections[0].alpha == 0.001
    assert cfg.report.formats == ("html",)


def test_full_config():
    cfg = parse(
        """\
title: Button press
output: out/here
model:
  level: second
  inputs:
    - {path: a.nii.gz, group: x, age: 30}
    - {path: /abs/b.nii.gz, group: y, age: 40}
  design: {two-sample: {group: group}}
  covariates: [age]
  smoothing_fwhm: 8
  mask: mask.nii.gz
contrasts:
  - {name: x vs y, t: group}
  - {name: both, F: ["intercept", "group"]}
  - {name: explicit, weights: {group: 1}}
  - {name: vector, weights: [0, 1, 0]}
  - {name: matrix, weights: [[1, 0, 0], [0, 1, 0]]}
corrections:
  - {method: uncorrected, alpha: 0.001, cluster_extent: 10}
  - {method: fdr, alpha: 0.05, contrasts: [x vs y]}
  - {method: bonferroni, two_sided: false}
  - {method: permutation, n_perm: 500, seed: 3, cluster_forming_p: 0.001, tfce: true}
  - {method: ari, thresholds: [3.5, 2.5]}
  - {method: rft, cluster_forming_p: 0.01}
two_sided: true
clusters: {connectivity: 18, min_distance_mm: 6, max_subpeaks: 2}
report: {formats: [html, pdf]}
""",
        Path("/cfg"),
    )
    assert cfg.title == "Button press"
    assert cfg.output == Path("/cfg/out/here")
    assert cfg.model.inputs.rows[0]["path"] == "/cfg/a.nii.gz"
    assert cfg.model.inputs.rows[1]["path"] == "/abs/b.nii.gz"
    assert cfg.model.design.kind == "two-sample"
    assert cfg.model.design.group == "group"
    assert cfg.model.design.covariates == ("age",)
    assert cfg.model.mask == Path("/cfg/mask.nii.gz")
    kinds = [(c.name, c.stat_type) for c in cfg.contrasts]
    assert kinds == [
        ("x vs y", "t"),
        ("both", "F"),
        ("explicit", "t"),
        ("vector", "t"),
        ("matrix", "F"),
    ]
    unc, fdr, bonf, perm, ari, rft = cfg.corrections
    assert unc.cluster_extent == 10 and unc.two_sided is True
    assert fdr.contrasts == ("x vs y",)
    assert bonf.two_sided is False
    assert perm.params == PermutationParams(n_perm=500, seed=3, cluster_forming_p=0.001, tfce=True)
    assert ari.params.thresholds == (2.5, 3.5)
    assert rft.params.cluster_forming_p == 0.01
    assert cfg.clusters.connectivity == 18
    assert cfg.report.formats == ("html", "pdf")


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        (BASE + "contrast_list: []\n", "contrast_list", "Did you mean 'contrasts'?"),
        (BASE.replace("inputs:", "inptus:"), "model.inptus", "Did you mean 'inputs'?"),
        (BASE + "two_sided: yes please\n", "two_sided", "expected true or false"),
        (
            BASE + "corrections:\n  - {method: fdr, alpha: 2}\n",
            "corrections[0].alpha",
            "expected a number < 1",
        ),
        (
            BASE + "corrections:\n  - {method: bonferoni}\n",
            "corrections[0].method",
            "Did you mean 'bonferroni'?",
        ),
        (
            BASE + "corrections:\n  - {method: fdr, cluster_extent: 2.5}\n",
            "corrections[0].cluster_extent",
            "expected an integer",
        ),
        (
            BASE + "corrections:\n  - {method: fdr, contrasts: [efect]}\n",
            "corrections[0].contrasts[0]",
            "Did you mean 'effect'?",
        ),
        (
            BASE.replace("t: intercept", "t: 3"),
            "contrasts[0].t",
            "expected an expression",
        ),
        (
            BASE.replace("{name: effect, t: intercept}", "{name: effect}"),
            "contrasts[0]",
            "exactly one of 't'",
        ),
        (
            BASE + "  - {name: effect, t: intercept}\n",
            "contrasts[1]",
            "duplicate name 'effect'",
        ),
        (
            BASE.replace("inputs: inputs.tsv", "inputs: inputs.tsv\n  smoothing_fwhm: -1"),
            "model.smoothing_fwhm",
            "expected a number >= 0",
        ),
        (
            BASE.replace("inputs: inputs.tsv", "inputs: inputs.tsv\n  design: two-sampel"),
            "model.design",
            "Did you mean 'two-sample'?",
        ),
        (
            BASE.replace(
                "inputs: inputs.tsv", "inputs: inputs.tsv\n  design: {paired: {condition: c}}"
            ),
            "model.design.paired",
            "missing required key 'subject'",
        ),
        (
            BASE + "report: {formats: [html, docx]}\n",
            "report.formats[1]",
            "expected one of html, pdf",
        ),
        (BASE + "clusters: {connectivity: 8}\n", "clusters.connectivity", "expected 6, 18 or 26"),
    ],
)
def test_bad_entries_name_their_path(text, path, fragment):
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.path == path
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"{path}: ")


def test_invalid_yaml_reports_line():
    with pytest.raises(ConfigError, match="not valid YAML at line 3, column 1"):
        parse("model:\n  inputs: [a\n")


def test_empty_config():
    with pytest.raises(ConfigError, match="config is empty"):
        parse("")


def test_first_level_needs_t_r():
    with pytest.raises(ConfigError, match="t_r") as info:
        parse(
            "model:\n  level: first\n  runs: [{bold: r1.nii.gz, events: e1.tsv}]\n"
            "contrasts: [{name: a, t: a}]\n"
        )
    assert info.value.path == "model"


def test_first_level_config():
    cfg = parse(
        """\
model:
  level: first
  t_r: 2.0
  runs:
    - {bold: r1.nii.gz, events: e1.tsv, confounds: c1.tsv, confound_columns: [trans_x]}
    - {bold: r2.nii.gz, design: d2.tsv}
  hrf: spm + derivative
  drift: {model: polynomial, order: 2}
  noise_model: ols
contrasts: [{name: a, t: a}]
"""
    )
    m = cfg.model
    assert m.t_r == 2.0 and m.hrf == "spm + derivative" and m.noise_model == "ols"
    assert (m.drift_model, m.drift_order) == ("polynomial", 2)
    assert m.runs[0].confound_columns == ("trans_x",)
    assert m.runs[1].design == Path("/data/d2.tsv")
    assert [r.name for r in m.runs] == ["run-1", "run-2"]


def test_maps_level_config():
    cfg = parse(
        """\
model:
  level: maps
  maps:
    - {name: faces, path: spmT_0001.nii, stat: t, dof: 15}
    - {name: visual, path: zstat1.nii.gz, stat: z}
corrections: [{method: fdr}]
"""
    )
    assert [m.stat for m in cfg.model.maps] == ["t", "z"]
    assert cfg.contrasts == ()
    with pytest.raises(ConfigError, match="needs 'dof'"):
        parse("model:\n  level: maps\n  maps: [{name: a, path: a.nii, stat: t}]\n")


def test_yaml_12_numbers_are_numbers():
    cfg = parse(
        BASE.replace(
            "inputs: inputs.tsv", "inputs: [{path: a.nii, age: 1e3}]\n  smoothing_fwhm: 6E0"
        )
        + "corrections:\n  - {method: fdr, alpha: 1e-3}\n  - {method: fdr, alpha: .5}\n"
        + "  - {method: permutation, alpha: 5.e-2, tfce_E: 1E+0}\n"
    )
    assert [c.alpha for c in cfg.corrections] == [0.001, 0.5, 0.05]
    assert cfg.corrections[2].params.tfce_E == 1.0
    assert cfg.model.smoothing_fwhm == 6.0
    assert cfg.model.inputs.rows[0]["age"] == 1000.0
    # text that only starts like a number stays text
    with pytest.raises(ConfigError, match="expected a number, got a string"):
        parse(BASE + "corrections:\n  - {method: fdr, alpha: 1e-3x}\n")


def test_alias_bomb_and_cycles_fail_fast():
    import time

    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than 1,000,000 values"):
        parse("\n".join(lines) + "\ntitle: *a9\n")
    assert time.perf_counter() - t0 < 1.0
    with pytest.raises(ConfigError, match="refers to itself"):
        parse(BASE + "x: &x [1, *x]\n")
    with pytest.raises(ConfigError, match="nested more than 50 levels"):
        parse(BASE + "x: " + "[" * 200 + "]" * 200 + "\n")
    # a few shared anchors are fine
    cfg = parse(
        BASE
        + "corrections:\n  - {method: fdr, alpha: &a 0.01}\n  - {method: bonferroni, alpha: *a}\n"
    )
    assert len(cfg.corrections) == 2


def test_config_file_size_is_checked_before_reading(tmp_path):
    from glmreport.config.load import load_config

    path = tmp_path / "big.yaml"
    path.write_text(BASE + "title: " + "x" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match=r"big.yaml has 1,048,6\d\d bytes; at most 1,048,576"):
        load_config(path)


@pytest.mark.parametrize(
    ("extra", "path", "fragment"),
    [
        (
            "corrections:\n  - {method: permutation, n_perm: 1000001}\n",
            "corrections[0].n_perm",
            "at most 1,000,000",
        ),
        ("clusters: {max_subpeaks: 101}\n", "clusters.max_subpeaks", "<= 100"),
        (
            "corrections:\n  - {method: ari, thresholds: [" + ", ".join(["3"] * 21) + "]}\n",
            "corrections[0].thresholds",
            "at most 20 entries",
        ),
        ("corrections:\n" + "  - fdr\n" * 33, "corrections", "at most 32 entries"),
        (
            "atlases: [" + ", ".join(f"{{file: a{i}.nii.gz}}" for i in range(17)) + "]\n",
            "atlases",
            "at most 16 entries",
        ),
    ],
)
def test_sizes_are_bounded(extra, path, fragment):
    with pytest.raises(ConfigError) as info:
        parse(BASE + extra)
    assert info.value.path == path and fragment in str(info.value)


def test_first_level_and_model_bounds():
    first = (
        "model:\n  level: first\n  t_r: 2\n  runs: [{bold: r.nii.gz, events: e.tsv}]\n{extra}"
        "contrasts: [{name: a, t: a}]\n"
    )
    cases = [
        ("  smoothing_fwhm: 50.5\n", "model.smoothing_fwhm", "at most 50 mm"),
        ("  fir_delays: [0, 101]\n", "model.fir_delays[1]", "<= 100"),
        (
            "  fir_delays: [" + ", ".join(map(str, range(65))) + "]\n",
            "model.fir_delays",
            "at most 64",
        ),
        ("  drift: {model: polynomial, order: 21}\n", "model.drift.order", "<= 20"),
    ]
    for extra, path, fragment in cases:
        with pytest.raises(ConfigError) as info:
            parse(first.replace("{extra}", extra))
        assert info.value.path == path and fragment in str(info.value), extra
    runs = ", ".join(f"{{bold: r{i}.nii.gz}}" for i in range(101))
    with pytest.raises(ConfigError, match="at most 100 entries"):
        parse(
            first.replace("[{bold: r.nii.gz, events: e.tsv}]", f"[{runs}]").replace("{extra}", "")
        )
    assert parse(first.replace("{extra}", "  smoothing_fwhm: 50\n")).model.smoothing_fwhm == 50


def test_messages_never_print_unbounded_values():
    long = "x" * 100_000
    cases = [
        BASE + f"report: {{formats: [{long}]}}\n",
        BASE + f"{'k' * 1000}: 1\n",
        BASE + f"two_sided: [{', '.join([long] * 50)}]\n",
        BASE.replace("t: intercept", "t: intercept}\n  - {name: e, t: intercept")
        + f"corrections:\n  - {{method: fdr, contrasts: [{long}]}}\n",
        BASE + f"corrections:\n  - {{method: fdr, alpha: {'9' * 1000}}}\n",
    ]
    for text in cases:
        with pytest.raises(ConfigError) as info:
            parse(text)
        assert len(str(info.value)) < 400, str(info.value)[:500]


def test_formula_checked_when_the_config_is_read():
    text = BASE.replace("inputs: inputs.tsv", "inputs: inputs.tsv\n  design: {formula: '{x}'}")
    for formula, fragment in [
        ("1 + I(__import__('os').getcwd())", "term 'I(__import__('os').getcwd())'"),
        ("age + {age.__class__}", "term 'age.__class__'"),
        ("C(group) * center(age)", None),
    ]:
        quoted = formula.replace("'", "''")
        if fragment is None:
            assert parse(text.replace("{x}", quoted)).model.design.formula == formula
            continue
        with pytest.raises(ConfigError) as info:
            parse(text.replace("{x}", quoted))
        assert info.value.path == "model.design.formula" and fragment in str(info.value)


def test_names_and_expressions_are_bounded():
    with pytest.raises(ConfigError, match="at most 100 characters, got 101") as info:
        parse(BASE.replace("name: effect", "name: " + "n" * 101))
    assert info.value.path == "contrasts[0].name"
    with pytest.raises(ConfigError, match="at most 10,000 characters") as info:
        parse(BASE.replace("t: intercept", "F: [intercept, " + "a" * 10_001 + "]"))
    assert info.value.path == "contrasts[0].F[1]"
