"""Hostile and broken inputs of a study (``model.level: study``) through the command line:
exit 2, a bounded message naming what and where, and nothing created or deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.tiny_study import write_tiny_study

from glmreport.cli import main
from glmreport.datasets.study import write_study

CONFIG = """\
model:
  level: study
  bids: bids
  task: faces
  space: MNI152NLin2009cAsym
  first_level: {confounds: [trans_x], scrub: {fd: 0.5}}
  group: {covariates: [age]}
contrasts: [{name: f, t: face - house}]
report: {formats: []}
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-study")
    write_study(root / "bids", n_subjects=3, n_runs=1, n_scans=20, shape=(8, 8, 8), voxel_mm=8.0)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _refused(root: Path, capsys, text: str, *args: str) -> str:
    (root / "study.yaml").write_text(text)
    before = _snapshot(root)
    assert main(["run", str(root / "study.yaml"), "--out", str(root / "out"), "-q", *args]) == 2
    assert _snapshot(root) == before and not (root / "out").exists()
    err = capsys.readouterr().err
    assert len(err) < 2000
    return err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--jobs", "0"), "--jobs must be a whole number"),
        (("--scheduler", "not an address"), "scheduler address"),
    ],
)
def test_bad_execution_settings(dataset: Path, capsys, args, words):
    assert words in _refused(dataset, capsys, CONFIG, *args)


def test_compute_section_of_another_level(dataset: Path, capsys):
    text = "model: {inputs: x.tsv}\ncontrasts: [{name: m, t: intercept}]\ncompute: {jobs: 2}\n"
    assert "compute: " in _refused(dataset, capsys, text)


def test_text_in_a_confound_column(dataset: Path, capsys):
    func = dataset / "bids/derivatives/fmriprep/sub-02/func"
    path = func / "sub-02_task-faces_run-1_desc-confounds_timeseries.tsv"
    original = path.read_text()
    lines = original.splitlines()
    header = lines[0].split("\t")
    row = lines[5].split("\t")
    row[header.index("trans_x")] = "oops"
    lines[5] = "\t".join(row)
    try:
        path.write_text("\n".join(lines) + "\n")
        err = _refused(dataset, capsys, CONFIG, "--jobs", "1")
    finally:
        path.write_text(original)
    assert "sub-02_task-faces_run-1" in err and "trans_x" in err and "'oops'" in err


def test_participants_without_id_column(dataset: Path, capsys):
    path = dataset / "bids/participants.tsv"
    original = path.read_text()
    try:
        path.write_text(original.replace("participant_id", "subject", 1))
        err = _refused(dataset, capsys, CONFIG, "--jobs", "1")
    finally:
        path.write_text(original)
    assert "participant_id" in err


def test_derivatives_not_a_folder(dataset: Path, capsys):
    text = CONFIG.replace(
        "  task: faces\n", "  task: faces\n  derivatives: bids/participants.tsv\n"
    )
    assert "model.derivatives: fMRIPrep derivatives folder not found" in _refused(
        dataset, capsys, text
    )


@pytest.mark.parametrize(
    ("participants", "words"),
    [
        (None, "participants table not found"),
        ("participant\tage\nsub-01\t3\n", "no participant_id column"),
        ("participant_id\tage\nsub-01\t30\n", "no row for sub-02"),
    ],
)
def test_second_level_participants(tmp_path: Path, capsys, participants, words):
    write_tiny_study(tmp_path, n=3)
    if participants is not None:
        (tmp_path / "participants.tsv").write_text(participants)
    text = (
        "model:\n  inputs: {glob: 'sub-*_effect.nii.gz'}\n  participants: participants.tsv\n"
        "  covariates: [age]\n  space: null\ncontrasts: [{name: m, t: intercept}]\n"
        "report: {formats: []}\n"
    )
    assert words in _refused(tmp_path, capsys, text)
