"""The model section: levels, inputs, designs, runs, drifts and maps."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmreport.config.model import (
    MAX_SMOOTHING_FWHM_MM,
    _design,
    _drift,
    _inputs,
    _map,
    _model,
    _run,
)
from glmreport.errors import ConfigError

BASE = Path("/study")


def test_second_level_model_and_defaults():
    model = _model({"inputs": "in.tsv", "covariates": "age", "smoothing_fwhm": 6}, BASE)
    assert model.level == "second" and model.inputs.table == BASE / "in.tsv"
    assert model.design.kind == "one-sample" and model.design.covariates == ("age",)
    assert model.smoothing_fwhm == 6.0 and model.mask == "auto"
    with pytest.raises(ConfigError, match=f"at most {MAX_SMOOTHING_FWHM_MM:g} mm"):
        _model({"inputs": "in.tsv", "smoothing_fwhm": 51}, BASE)
    with pytest.raises(ConfigError, match="model.t_r: unknown key"):
        _model({"inputs": "in.tsv", "t_r": 2}, BASE)


def test_inputs_table_list_and_glob():
    assert _inputs("in.tsv", BASE).kind == "table"
    listed = _inputs(["a.nii", {"path": "b.nii", "age": 3}], BASE)
    assert [r["path"] for r in listed.rows] == [str(BASE / "a.nii"), str(BASE / "b.nii")]
    assert listed.rows[1]["age"] == 3
    assert _inputs({"glob": "*.nii"}, BASE).pattern == "*.nii"
    with pytest.raises(ConfigError, match=r"model.inputs\[0\]: each input needs a 'path'"):
        _inputs([{"age": 3}], BASE)


def test_design_forms():
    assert _design("one-sample", BASE, (), True).kind == "one-sample"
    spec = _design({"two-sample": {"group": "g", "levels": ["p", "c"]}}, BASE, ("age",), False)
    assert (spec.group, spec.levels, spec.center_covariates) == ("g", ("p", "c"), False)
    spec, path = _design({"matrix": "design.tsv"}, BASE, (), True)
    assert spec.kind == "matrix" and path == BASE / "design.tsv"
    assert _design({"anova": {"factors": "a"}}, BASE, (), True).factors == ("a",)
    with pytest.raises(ConfigError, match="must be 'one-sample'"):
        _design("paired", BASE, (), True)
    with pytest.raises(ConfigError, match="unknown design 'paried'.*'paired'"):
        _design({"paried": {}}, BASE, (), True)
    with pytest.raises(ConfigError, match="exactly two levels"):
        _design({"two-sample": {"group": "g", "levels": ["a"]}}, BASE, (), True)
    with pytest.raises(ConfigError, match="model.design.formula"):
        _design({"formula": "np.log(age)"}, BASE, (), True)


def test_first_level_runs_and_drift():
    model = _model(
        {"level": "first", "t_r": 2, "runs": [{"bold": "r1.nii"}, {"bold": "r2.nii", "name": "b"}]},
        BASE,
    )
    assert [r.name for r in model.runs] == ["run-1", "b"]
    assert (model.drift_model, model.high_pass, model.noise_model) == ("cosine", 0.01, "ar1")
    assert _drift(None) == (None, 0.01, 1) and _drift("none") == (None, 0.01, 1)
    assert _drift({"high_pass": 0.02}) == ("cosine", 0.02, 1)
    assert _drift({"model": "polynomial", "order": 3}) == ("polynomial", 0.01, 3)
    with pytest.raises(ConfigError, match="not both"):
        _run({"bold": "r.nii", "events": "e.tsv", "design": "d.tsv"}, "model.runs[0]", BASE, 0)
    with pytest.raises(ConfigError, match="missing required key 't_r'"):
        _model({"level": "first", "runs": [{"bold": "r.nii"}]}, BASE)


def test_maps():
    spec = _map({"name": "f", "path": "f.nii", "stat": "F", "dof": 20, "df_num": 2}, "m", BASE)
    assert (spec.stat, spec.dof, spec.df_num, spec.path) == ("F", 20.0, 2, BASE / "f.nii")
    with pytest.raises(ConfigError, match="a t map needs 'dof'"):
        _map({"name": "t", "path": "t.nii", "stat": "t"}, "m", BASE)
    with pytest.raises(ConfigError, match=r"model.maps\[1\]: duplicate name"):
        _model(
            {
                "level": "maps",
                "maps": [{"name": "a", "path": "a", "stat": "z"}] * 2,
            },
            BASE,
        )


def test_nonsphericity_needs_a_within_subject_anova():
    anova = {"anova": {"factors": ["cond"], "subject": "sub"}}
    model = _model({"inputs": "in.tsv", "design": anova, "nonsphericity": True}, BASE)
    assert model.nonsphericity is True
    assert _model({"inputs": "in.tsv", "design": anova}, BASE).nonsphericity is False
    off = _model({"inputs": "in.tsv", "design": "one-sample", "nonsphericity": False}, BASE)
    assert off.nonsphericity is False
    refused = {
        "always spherical": {"paired": {"condition": "c", "subject": "s"}},
        "has no 'subject' column": {"anova": {"factors": ["cond"]}},
        "a two-sample design has no within-subject factor": {"two-sample": {"group": "g"}},
        "a one-sample design": "one-sample",
    }
    for message, design in refused.items():
        with pytest.raises(ConfigError, match=f"model.nonsphericity: .*{message}"):
            _model({"inputs": "in.tsv", "design": design, "nonsphericity": True}, BASE)
    with pytest.raises(ConfigError, match="model.nonsphericity: expected"):
        _model({"inputs": "in.tsv", "design": anova, "nonsphericity": "yes"}, BASE)
    with pytest.raises(ConfigError, match="model.nonsphericity: unknown key"):
        _model(
            {"level": "first", "t_r": 2, "runs": [{"bold": "r.nii"}], "nonsphericity": True}, BASE
        )
