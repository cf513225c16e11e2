"""``model.level: study``: what the reader accepts, its defaults, the schema, and refusals
that name the YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from glmreport.config.load import parse_config
from glmreport.config.schema import config_schema
from glmreport.config.yaml import load_yaml
from glmreport.errors import ConfigError


@pytest.fixture
def bids(tmp_path: Path) -> Path:
    (tmp_path / "bids" / "derivatives" / "fmriprep").mkdir(parents=True)
    return tmp_path


FULL = """
title: Faces
model:
  level: study
  bids: bids
  task: faces
  space: MNI152NLin2009cAsym
  subjects: ["01", 2]
  exclude: [sub-03]
  first_level:
    hrf: spm
    drift: {model: cosine, high_pass: 0.008}
    noise_model: ols
    smoothing_fwhm: 6
    confounds: [trans_x, "a_comp_cor_0[0-4]"]
    scrub: {fd: 0.5}
    signal_scaling: none
  group:
    design: {two-sample: {group: group}}
    covariates: [age]
    contrasts: [{name: patients > controls, t: group}]
  on_error: skip
contrasts: [{name: face > house, t: face - house}]
corrections: [{method: fdr}]
compute: {scheduler: "tcp://127.0.0.1:8786", jobs: 3}
"""


def test_a_full_study_section_is_read(bids: Path):
    config = parse_config(FULL, base_dir=bids)
    study = config.model.study
    assert config.model.level == "study" and config.model.space == "MNI152NLin2009cAsym"
    assert study.bids == (bids / "bids").resolve()
    assert study.derivatives == (bids / "bids/derivatives/fmriprep").resolve()
    assert study.participants == (bids / "bids").resolve() / "participants.tsv"
    assert study.subjects == ("01", "2") and study.exclude == ("sub-03",)
    first = study.first_level
    assert (first.hrf, first.noise_model, first.smoothing_fwhm) == ("spm", "ols", 6.0)
    assert (first.drift_model, first.high_pass) == ("cosine", 0.008)
    assert first.confounds == ("trans_x", "a_comp_cor_0[0-4]") and first.scrub_fd == 0.5
    assert first.signal_scaling == "none"
    assert study.group.kind == "two-sample" and study.group.covariates == ("age",)
    assert [c.name for c in study.group_contrasts] == ["patients > controls"]
    assert study.group_contrasts[0].where == "model.group.contrasts[0].t"
    assert (study.on_error, study.scheduler, study.jobs) == ("skip", "tcp://127.0.0.1:8786", 3)
    Draft202012Validator(config_schema()).validate(load_yaml(FULL))


def test_study_defaults(bids: Path):
    text = (
        "model: {level: study, bids: bids, task: faces, space: MNI152NLin6Asym}\n"
        "contrasts: [{name: f, t: face}]\n"
    )
    study = parse_config(text, base_dir=bids).model.study
    first = study.first_level
    assert first.signal_scaling == "percent" and first.hrf == "glover"
    assert first.drift_model == "cosine" and first.noise_model == "ar1"
    assert first.confounds == () and first.scrub_fd is None and first.smoothing_fwhm == 0
    assert study.group.kind == "one-sample" and study.group_contrasts == ()
    assert study.subjects is None and study.on_error == "raise" and study.jobs is None
    Draft202012Validator(config_schema()).validate(load_yaml(text))


BASE = (
    "model: {level: study, bids: bids, task: faces, space: MNI, %s}\n"
    "contrasts: [{name: f, t: face}]\n"
)


@pytest.mark.parametrize(
    ("extra", "path", "words"),
    [
        ("bids: nowhere", "model.bids", "not found"),
        ("derivatives: bids/nothing", "model.derivatives", "not found"),
        ("first_level: {signal_scaling: psc}", "model.first_level.signal_scaling", "percent"),
        ("first_level: {scrub: {fd: -1}}", "model.first_level.scrub.fd", "> 0"),
        ("first_level: {scrub: {dvars: 1}}", "model.first_level.scrub.dvars", "fd"),
        ("first_level: {confounds: [[a]]}", "model.first_level.confounds[0]", "string"),
        ("first_level: {smoothing_fwhm: 500}", "model.first_level.smoothing_fwhm", "FWHM"),
        ("first_level: {hfr: spm}", "model.first_level.hfr", "hrf"),
        ("group: {design: {matrix: x.tsv}}", "model.group.design", "matrix"),
        ("group: {design: two-sample}", "model.group.design", "one-sample"),
        ("group: {contrasts: [{name: a}]}", "model.group.contrasts[0]", "exactly one"),
        ("subjects: [[1]]", "model.subjects[0]", "label"),
        ("on_error: ignore", "model.on_error", "skip"),
        ("inputs: x.tsv", "model.inputs", "bids"),
    ],
)
def test_bad_study_entries_name_their_path(bids: Path, extra: str, path: str, words: str):
    with pytest.raises(ConfigError) as info:
        parse_config(BASE % extra, base_dir=bids)
    assert str(info.value).startswith(f"{path}:") and words in str(info.value)


def test_compute_needs_a_study_and_a_valid_address(bids: Path):
    second = "model: {inputs: x.tsv}\ncontrasts: [{name: m, t: intercept}]\ncompute: {jobs: 2}\n"
    with pytest.raises(ConfigError, match="^compute: .*study"):
        parse_config(second, base_dir=bids)
    for bad, path in [
        ("{scheduler: 'not an address'}", "compute.scheduler"),
        ("{jobs: 0}", "compute.jobs"),
    ]:
        with pytest.raises(ConfigError, match=f"^{path}:"):
            parse_config(BASE % "res: 2" + f"compute: {bad}\n", base_dir=bids)


def test_drift_errors_name_the_first_level(bids: Path):
    with pytest.raises(ConfigError, match=r"^model\.first_level\.drift\.model:"):
        parse_config(BASE % "first_level: {drift: {model: spline}}", base_dir=bids)
