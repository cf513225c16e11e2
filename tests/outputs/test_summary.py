"""summary.json, the results contract: one writer, one reader, round trip, JSON Schema,
loud failures on a renamed, missing or mistyped key, and the version rule."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import jsonschema
import nibabel as nib
import numpy as np
import pytest
from fixtures.report_fixtures import write_results

from glmreport.cli import main
from glmreport.errors import InputError
from glmreport.outputs.schema import summary_schema
from glmreport.outputs.summary import (
    SCHEMA_VERSION,
    Summary,
    read_summary,
    summary_from_json,
    summary_to_json,
    write_summary,
)
from glmreport.outputs.summary_io import nest_model, upgrade_v1

VALIDATOR = jsonschema.Draft202012Validator


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report tests' results folder (coarse grid), written through the contract."""
    return write_results(tmp_path_factory.mktemp("summary") / "results", coarse=True, n_subjects=8)


@pytest.fixture(scope="module")
def data(results: Path) -> dict:
    return json.loads((results / "summary.json").read_text())


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run (second level, three corrections, one with extra maps and arrays)."""
    root = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(3)
    rows = []
    for i in range(8):
        data = rng.standard_normal((8, 8, 8)).astype(np.float32) + 0.5
        nib.save(nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.0, 1.0])), root / f"sub-{i}.nii.gz")
        rows.append(f"sub-{i}.nii.gz")
    (root / "inputs.tsv").write_text("path\n" + "\n".join(rows) + "\n")
    (root / "analysis.yaml").write_text(
        "model: {inputs: inputs.tsv, design: one-sample}\n"
        "contrasts: [{name: effect, t: intercept}]\n"
        "corrections: [{method: fdr}, {method: permutation, n_perm: 20, seed: 1}, "
        "{method: ari}]\n"
        "report: {formats: []}\n"
    )
    assert main(["run", str(root / "analysis.yaml"), "--out", str(root / "results"), "-q"]) == 0
    return root / "results"


def _write(folder: Path, data: dict) -> None:
    (folder / "summary.json").write_text(json.dumps(data))


def test_round_trip(results: Path, data: dict, tmp_path: Path):
    summary = read_summary(results)
    assert isinstance(summary, Summary) and summary.schema_version == SCHEMA_VERSION == 2
    assert summary_to_json(summary) == data  # the file is exactly the typed summary
    write_summary(tmp_path, summary)
    again = summary_from_json(json.loads((tmp_path / "summary.json").read_text()), file="x")
    assert again == summary
    assert again.contrasts[0].corrections[1].extras["null_label"] == "maximum |t|"
    assert again.inputs[0].values["sex"] in ("F", "M")
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.title = "changed"  # type: ignore[misc]


def test_run_summary_round_trips_and_fits_the_schema(run_folder: Path):
    data = json.loads((run_folder / "summary.json").read_text())
    VALIDATOR(summary_schema()).validate(data)
    summary = read_summary(run_folder)
    assert summary_to_json(summary) == data
    perm = summary.contrasts[0].corrections[1]
    assert perm.route == "permMaxT" and set(perm.maps) == {"logpFWE"}
    assert perm.arrays is not None and (run_folder / perm.arrays).is_file()
    assert summary.model.second is not None and summary.model.first is None
    assert summary.model.second.rank == 1 and summary.model.dof == 7.0
    assert [r.values for r in summary.inputs] == [{}] * 8
    # the quality checks, through the contract (values: tests/pipeline/test_qc.py)
    qc = summary.qc
    assert qc is not None and qc.vif == {} and qc.efficiency["effect"] == pytest.approx(8.0)
    assert [o.input for o in qc.outliers] == list(range(8)) and qc.runs == {}
    assert sum(qc.p_values["effect"].counts) == qc.p_values["effect"].n == 512


def test_fixture_summary_fits_the_schema(data: dict):
    VALIDATOR(summary_schema()).validate(data)


def _rename(data, path, new):
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[new] = parent.pop(path[-1])


#: A well-formed ``qc`` block (the report fixture's summary has none: it is optional).
QC = {
    "vif": {"age": 1.2},
    "efficiency": {"effect": 8.0},
    "correlation": None,
    "outliers": [{"input": 0, "leverage": 0.1, "measure": 1.0, "robust_z": None, "flagged": False}],
    "outlier_threshold": 3.5,
    "p_values": {"effect": {"counts": [3, 1], "pi0": 0.5, "n": 4, "sided": "two-sided"}},
    "mask_coverage": None,
    "notes": [],
}


def _qc(**changes) -> dict:
    return {**copy.deepcopy(QC), **changes}


LOUD = {
    "renamed-threshold": (
        lambda d: _rename(d, ["contrasts", 0, "corrections", 1, "threshold_z"], "threshold"),
        "missing key 'threshold_z' in contrasts[0].corrections[1]",
    ),
    "renamed-top": (
        lambda d: _rename(d, ["title"], "name"),
        "missing key 'title' in the top level",
    ),
    "unknown-key": (
        lambda d: d["model"].update(n_subjects=3),
        "model has unknown key(s) 'n_subjects'",
    ),
    "wrong-type": (
        lambda d: d["contrasts"][2]["corrections"][0].update(n_voxels="12"),
        "contrasts[2].corrections[0].n_voxels must be an integer, got a string",
    ),
    "bool-for-int": (
        lambda d: d["model"].update(n_inputs=True),
        "model.n_inputs must be an integer, got true",
    ),
    "literal": (
        lambda d: d["contrasts"][0].update(stat_type="T"),
        'contrasts[0].stat_type must be one of "t", "F", got a string',
    ),
    "fixed-tuple": (
        lambda d: d["model"].update(voxel_size=[2.0, 2.0]),
        "model.voxel_size must be a list of 3, got a list of 2",
    ),
    "null": (
        lambda d: d["contrasts"][1].update(label=None),
        "contrasts[1].label must be a string, got null",
    ),
    "level-part": (
        lambda d: d["model"].update(first=d["model"]["second"] and None, second=None),
        'model.second is missing but model.level is "second"',
    ),
    "qc-vif": (
        lambda d: d.update(qc=_qc(vif={"age": "high"})),
        "qc.vif.age must be a number or null, got a string",
    ),
    "qc-outlier": (
        lambda d: d.update(qc=_qc(outliers=[{"input": 0, "leverage": 0.1, "measure": 1.0}])),
        "missing key 'robust_z' in qc.outliers[0]",
    ),
    "qc-counts": (
        lambda d: d.update(
            qc=_qc(p_values={"c": {"counts": [1, "x"], "pi0": 1, "n": 3, "sided": "two-sided"}})
        ),
        "qc.p_values.c.counts[1] must be an integer, got a string",
    ),
    "map-path": (
        lambda d: d["contrasts"][0]["maps"].update(z=["maps/z.nii.gz"]),
        "contrasts[0].maps.z: expected a relative path (a string), got ['maps/z.nii.gz']",
    ),
}


@pytest.mark.parametrize("case", list(LOUD), ids=list(LOUD))
def test_a_changed_key_fails_loudly(results: Path, data: dict, tmp_path: Path, case, capsys):
    change, message = LOUD[case]
    folder = tmp_path / "results"
    folder.mkdir()
    broken = copy.deepcopy(data)
    change(broken)
    _write(folder, broken)
    with pytest.raises(InputError) as info:
        read_summary(folder)
    assert str(info.value).startswith(str(folder / "summary.json")), info.value
    assert message in str(info.value)
    assert main(["report", str(folder), "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (folder / "report.html").exists()
    if case != "map-path":  # the schema says the same (a path's containment it cannot check)
        assert not VALIDATOR(summary_schema()).is_valid(broken)


def test_the_writer_refuses_what_the_reader_would(results: Path, tmp_path: Path):
    summary = read_summary(results)
    bad = dataclasses.replace(summary, mask=None)
    with pytest.raises(TypeError, match="does not fit the results contract: .*mask"):
        write_summary(tmp_path, bad)
    assert not (tmp_path / "summary.json").exists()


def _as_version_1(data: dict) -> dict:
    """What glmreport 0.1 wrote: no schema_version, a flat model, inference map keys."""
    old = copy.deepcopy(data)
    del old["schema_version"]
    model = old["model"]
    for part in ("first", "second", "maps"):
        model.update(model.pop(part) or {})
    for contrast in old["contrasts"]:
        del contrast["notes"]
        for entry in contrast["corrections"]:
            del entry["route"]
            entry["maps"] = {
                "logp_fwe" if k == "logpFWE" else k: v for k, v in entry["maps"].items()
            }
    old["report"] = {}
    return old


def test_version_1_is_upgraded_on_reading(results: Path, data: dict, tmp_path: Path):
    folder = tmp_path / "results"
    folder.mkdir()
    for rel in ("mask.nii.gz", "design_matrix.tsv"):
        (folder / rel).write_bytes((results / rel).read_bytes())
    old = _as_version_1(data)
    assert not VALIDATOR(summary_schema()).is_valid(old)
    _write(folder, old)
    summary = read_summary(folder)
    assert summary == read_summary(results)
    assert upgrade_v1(old)["schema_version"] == 2
    assert nest_model({"level": "maps", "maps": [], "rank": 2})["second"] is None


@pytest.mark.parametrize("version", [3, "2", 2.5, None])
def test_other_versions_are_refused(results: Path, data: dict, tmp_path: Path, version):
    folder = tmp_path / "results"
    folder.mkdir()
    _write(folder, {**data, "schema_version": version})
    with pytest.raises(InputError, match="schema_version .* is not one this glmreport"):
        read_summary(folder)


def test_schema_command(capsys):
    assert main(["schema", "summary"]) == 0
    schema = json.loads(capsys.readouterr().out)
    VALIDATOR.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema == json.loads(json.dumps(summary_schema()))
    top = schema["$defs"]["Summary"]
    assert top["properties"]["schema_version"]["const"] == 2
    assert "contrasts" in top["required"] and top["additionalProperties"] is False
    correction = schema["$defs"]["Correction"]
    assert correction["properties"]["threshold_z"]["anyOf"][1] == {"type": "null"}
    assert (
        "Voxel height threshold on the z scale"
        in (correction["properties"]["threshold_z"]["description"])
    )
    # the user columns of an input are free; its own keys are typed
    assert schema["$defs"]["InputRecord"]["additionalProperties"] == {}
    assert schema["$defs"]["InputRecord"]["required"] == ["path", "sha256"]


def test_study_subjects_round_trip_and_fit_the_schema(data: dict, tmp_path: Path):
    study = copy.deepcopy(data)
    assert "subjects" not in study and "study" not in study  # other levels omit them
    study["subjects"] = [
        {
            "id": "01",
            "runs": 2,
            "scans": 200,
            "mask_voxels": 2345,
            "folder": "sub-01",
            "mean_fd": 0.12,
            "max_fd": 0.61,
            "effects": {"face > house": "sub-01/maps/x_stat-effect_statmap.nii.gz"},
            "inputs_hash": "ab" * 32,
            "dof": 180.0,
            "scrubbed": 3,
            "design_matrices": ["sub-01/design_matrix_sub-01_run-1.tsv"],
            "figures": {
                "design_matrices": {
                    "sub-01_run-1": "sub-01/figures/sub-01_run-1_desc-designMatrix_bold.png"
                },
                "framewise_displacement": {
                    "sub-01_run-1": "sub-01/figures/sub-01_run-1_desc-fd_bold.png"
                },
                "glass_brains": {
                    "face > house": "sub-01/figures/sub-01_contrast-faceGtHouse_stat-z"
                    "_desc-glassBrain_statmap.png"
                },
            },
        },
        {
            "id": "02",
            "runs": 1,
            "scans": 100,
            "mask_voxels": 2000,
            "folder": "sub-02",
            "mean_fd": None,
            "max_fd": None,
            "effects": {},
            "inputs_hash": "cd" * 32,
            "reused": True,
        },
    ]
    study["study"] = {
        "dataset": "Faces",
        "task": "faces",
        "space": "MNI152NLin2009cAsym",
        "first_level": {"hrf": "glover", "confounds": ["trans_*"], "scrub_fd": None},
        "group_design": "one-sample",
        "covariates": ["age"],
        "failed": [{"id": "03", "error": "sub-03 run-1: no confound column 'trans_x'"}],
        "notes": ["excluded: sub-04"],
    }
    VALIDATOR(summary_schema()).validate(study)
    summary = summary_from_json(study, file="summary.json")
    assert summary.subjects[1].reused and not summary.subjects[0].reused
    figures = summary.subjects[0].figures
    assert figures.framewise_displacement == {
        "sub-01_run-1": "sub-01/figures/sub-01_run-1_desc-fd_bold.png"
    }
    assert summary.subjects[1].figures is None  # an older folder, or no report: no figures
    assert "figures" not in summary_to_json(summary)["subjects"][1]
    assert summary.study is not None and summary.study.failed[0].id == "03"
    assert summary_to_json(summary) == study
    write_summary(tmp_path, summary)
    assert read_summary(tmp_path) == summary
    broken = copy.deepcopy(study)
    del broken["subjects"][0]["mask_voxels"]
    with pytest.raises(InputError, match="mask_voxels"):
        summary_from_json(broken, file="summary.json")
    broken = copy.deepcopy(study)
    del broken["subjects"][0]["figures"]["glass_brains"]
    with pytest.raises(InputError, match="glass_brains"):
        summary_from_json(broken, file="summary.json")
