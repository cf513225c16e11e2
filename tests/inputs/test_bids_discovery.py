"""Finding a study's runs in a synthetic BIDS dataset with fMRIPrep derivatives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import pytest

from glmreport.datasets.study import SPACE, TASK, start_time, write_study
from glmreport.errors import InputError
from glmreport.inputs.bids import (
    AmbiguousFilesError,
    MissingEventsError,
    NoRunsError,
    RepetitionTimeError,
    UnknownSubjectError,
    discover_study,
)
from glmreport.inputs.bids_names import applicable_files, parse_bids_name

SMALL = dict(n_subjects=3, n_runs=2, n_scans=24, shape=(8, 10, 8), voxel_mm=10.0)
DERIV = Path("derivatives/fmriprep")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_study(tmp_path_factory.mktemp("study") / "bids", **SMALL)


@pytest.fixture
def bids(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the small dataset that a test may change."""
    return Path(shutil.copytree(pristine, tmp_path / "bids"))


def _discover(root: Path, **kwargs):
    return discover_study(root, **{"task": TASK, "space": SPACE, **kwargs})


def _func(root: Path, sub: str) -> Path:
    return root / DERIV / f"sub-{sub}" / "func"


def _preproc(root: Path, sub: str, run: int) -> Path:
    name = f"sub-{sub}_task-{TASK}_run-{run}_space-{SPACE}_res-2_desc-preproc_bold.nii.gz"
    return _func(root, sub) / name


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def _drop_sidecar_trs(root: Path) -> None:
    _edit_json(root / f"task-{TASK}_bold.json", RepetitionTime=None)
    for path in (root / DERIV).rglob("*_desc-preproc_bold.json"):
        _edit_json(path, RepetitionTime=None)


# ---------------------------------------------------------------------------------------------
# names


def test_parse_bids_name_entities_suffix_extension():
    name = parse_bids_name(
        f"sub-01_ses-2_task-{TASK}_acq-fast_run-3_echo-1_desc-preproc_bold.nii.gz"
    )
    assert name.entities == (
        ("sub", "01"),
        ("ses", "2"),
        ("task", TASK),
        ("acq", "fast"),
        ("run", "3"),
        ("echo", "1"),
        ("desc", "preproc"),
    )
    assert (name.suffix, name.extension, name.ordered) == ("bold", ".nii.gz", True)
    assert name.without("desc", "echo")[-1] == ("run", "3")
    tsv = parse_bids_name("task-faces_events.tsv")
    assert (tsv.as_dict(), tsv.suffix, tsv.extension) == ({"task": "faces"}, "events", ".tsv")


@pytest.mark.parametrize(
    "name",
    ["bold.nii.gz", "sub-01_task_bold.nii", "sub-01_sub-02_bold.nii", "sub-01_task-a b_bold.nii"],
)
def test_parse_bids_name_rejects_non_bids_names(name):
    assert parse_bids_name(name) is None


def test_parse_bids_name_flags_entities_out_of_order():
    assert parse_bids_name("sub-01_run-1_task-faces_bold.nii.gz").ordered is False
    assert parse_bids_name("sub-01_task-faces_stat-t_run-1_bold.nii.gz").ordered is True


def test_two_applicable_files_at_one_level_are_refused(tmp_path: Path):
    func = tmp_path / "sub-01" / "func"
    func.mkdir(parents=True)
    (func / "sub-01_task-faces_events.tsv").write_text("onset\n")
    (func / "sub-01_run-1_events.tsv").write_text("onset\n")
    entities = {"sub": "01", "task": "faces", "run": "1"}
    with pytest.raises(InputError, match="several \\*_events.tsv files apply"):
        applicable_files(tmp_path, func, entities, suffix="events", extension=".tsv")
    (func / "sub-01_task-faces_run-1_events.tsv").write_text("onset\n")
    found = applicable_files(tmp_path, func, entities, suffix="events", extension=".tsv")
    assert [p.name for p in found] == ["sub-01_task-faces_run-1_events.tsv"]


# ---------------------------------------------------------------------------------------------
# discovery


def test_discovers_every_subject_run_and_file(bids: Path):
    study = _discover(bids)
    assert study.subject_ids == ("01", "02", "03")
    assert study.notes == ()
    assert study.derivatives_root == (bids / DERIV).resolve()
    for subject in study.subjects:
        assert [r.run for r in subject.runs] == ["1", "2"]
        assert subject.n_scans == 48
        for run in subject.runs:
            sub, n = subject.id, int(run.run)
            prefix = f"sub-{sub}_task-{TASK}_run-{n}"
            assert run.label == prefix
            assert run.entities == (("sub", sub), ("task", TASK), ("run", str(n)))
            assert run.session is None and run.task == TASK
            assert run.bold == _preproc(bids, sub, n).resolve()
            assert run.mask.name == f"{prefix}_space-{SPACE}_res-2_desc-brain_mask.nii.gz"
            assert run.confounds.name == f"{prefix}_desc-confounds_timeseries.tsv"
            assert run.events == (bids / f"sub-{sub}" / "func" / f"{prefix}_events.tsv").resolve()
            # RepetitionTime is inherited from the top-level task-faces_bold.json
            assert run.sidecar == (bids / f"task-{TASK}_bold.json").resolve()
            assert run.t_r == 2.0 and run.n_scans == 24
            assert run.slice_time_ref == pytest.approx(start_time(2.0) / 2.0)
            assert run.slice_time_ref == pytest.approx(0.475)
            assert run.notes == ()


def test_deeper_sidecar_overrides_inherited_repetition_time(bids: Path):
    subject_level = bids / "sub-01" / f"sub-01_task-{TASK}_bold.json"
    subject_level.write_text(json.dumps({"RepetitionTime": 2.0004}))
    run_level = bids / "sub-02" / "func" / f"sub-02_task-{TASK}_run-2_bold.json"
    _edit_json(run_level, RepetitionTime=2.5)
    runs = {r.label: r for r in _discover(bids).runs}
    for n in (1, 2):
        run = runs[f"sub-01_task-{TASK}_run-{n}"]
        assert (run.t_r, run.sidecar, run.notes) == (2.0004, subject_level.resolve(), ())
    odd = runs[f"sub-02_task-{TASK}_run-2"]
    assert (odd.t_r, odd.sidecar) == (2.5, run_level.resolve())
    assert len(odd.notes) == 2  # differs from the header (2 s) and from the derivative's JSON
    assert "differs from the NIfTI header's 2 s; the sidecar's value is used" in odd.notes[1]
    assert "sub-02/func/sub-02_task-faces_run-2_bold.json" in odd.notes[1]
    assert runs[f"sub-02_task-{TASK}_run-1"].t_r == 2.0
    assert runs[f"sub-03_task-{TASK}_run-2"].notes == ()


def test_repetition_time_from_header_when_no_sidecar_has_it(bids: Path):
    _drop_sidecar_trs(bids)
    path = _preproc(bids, "03", 1)
    img = nib.load(path)
    img = nib.Nifti1Image(img.get_fdata(dtype="float32"), img.affine, img.header)
    img.header.set_xyzt_units(xyz="mm", t="msec")
    img.header.set_zooms((*img.header.get_zooms()[:3], 1800.0))
    nib.save(img, path)
    runs = {r.label: r for r in _discover(bids).runs}
    assert runs[f"sub-01_task-{TASK}_run-1"].t_r == 2.0
    assert runs[f"sub-01_task-{TASK}_run-1"].sidecar is None
    odd = runs[f"sub-03_task-{TASK}_run-1"]
    assert odd.t_r == pytest.approx(1.8)  # 1800 ms
    assert odd.notes == (
        f"{odd.label}: no RepetitionTime in a sidecar; the header's 1.8 s is used",
    )
    assert odd.slice_time_ref == pytest.approx(0.95 / 1.8)


def test_missing_repetition_time_is_an_error_naming_the_run(bids: Path):
    _drop_sidecar_trs(bids)
    path = _preproc(bids, "02", 2)
    img = nib.load(path)
    img = nib.Nifti1Image(img.get_fdata(dtype="float32"), img.affine, img.header)
    img.header.set_zooms((*img.header.get_zooms()[:3], 0.0))
    nib.save(img, path)
    with pytest.raises(RepetitionTimeError, match=f"^sub-02_task-{TASK}_run-2: no RepetitionTime"):
        _discover(bids)


def test_invalid_repetition_time_names_the_sidecar(bids: Path):
    _edit_json(bids / f"task-{TASK}_bold.json", RepetitionTime="2s")
    with pytest.raises(RepetitionTimeError, match="task-faces_bold.json: RepetitionTime must be"):
        _discover(bids)


def test_selection_and_exclusion(bids: Path):
    study = _discover(bids, subjects=["sub-03", "01"], exclude=["03", "sub-09"])
    assert study.subject_ids == ("01",)
    assert study.notes == (
        "excluded subjects not in the dataset: sub-09",
        "excluded: sub-03",
    )
    assert _discover(bids, exclude=["02"]).subject_ids == ("01", "03")
    prefixed = discover_study(bids, task=f"task-{TASK}", space=f"space-{SPACE}", res="res-2")
    assert (prefixed.task, prefixed.space, len(prefixed.runs)) == (TASK, SPACE, 6)
    with pytest.raises(InputError, match="task 'faces_x' is not a BIDS label"):
        discover_study(bids, task="faces_x", space=SPACE)


def test_requested_subject_without_data_is_an_error(bids: Path):
    with pytest.raises(UnknownSubjectError) as info:
        _discover(bids, subjects=["01", "07"])
    message = str(info.value)
    assert message.startswith("subjects sub-07 have no preprocessed run in ")
    assert "available: sub-01, sub-02, sub-03 (3)" in message
    with pytest.raises(UnknownSubjectError, match="Did you mean 'sub-01'"):
        _discover(bids, subjects=["1"])  # labels are text: 1 is not 01
    with pytest.raises(InputError, match="no subject left"):
        _discover(bids, subjects=["01"], exclude=["01"])


def test_missing_events_is_an_error_naming_the_run(bids: Path):
    (bids / "sub-02" / "func" / f"sub-02_task-{TASK}_run-2_events.tsv").unlink()
    with pytest.raises(MissingEventsError) as info:
        _discover(bids)
    assert str(info.value).startswith(f"sub-02_task-{TASK}_run-2: no events file applies")
    assert f"sub-02/func/sub-02_task-{TASK}_run-2_events.tsv" in str(info.value)


def test_events_are_inherited_from_the_top_level(bids: Path):
    for n in (1, 2):
        (bids / "sub-02" / "func" / f"sub-02_task-{TASK}_run-{n}_events.tsv").unlink()
    top = bids / f"task-{TASK}_events.tsv"
    top.write_text("onset\tduration\ttrial_type\n10\t1\tface\n")
    runs = {r.label: r for r in _discover(bids).runs}
    assert runs[f"sub-02_task-{TASK}_run-1"].events == top.resolve()
    assert runs[f"sub-01_task-{TASK}_run-1"].events.parent == (bids / "sub-01" / "func").resolve()


def test_sessions(tmp_path: Path):
    root = write_study(
        tmp_path / "bids", **{**SMALL, "n_subjects": 2, "n_runs": 1}, sessions=("pre", "post")
    )
    study = _discover(root)
    assert [[(r.session, r.run) for r in s.runs] for s in study.subjects] == [
        [("post", "1"), ("pre", "1")]
    ] * 2
    run = study.subjects[0].runs[1]
    assert run.label == f"sub-01_ses-pre_task-{TASK}_run-1"
    assert (
        run.events == (root / "sub-01" / "ses-pre" / "func" / f"{run.label}_events.tsv").resolve()
    )
    assert run.t_r == 2.0
    only = _discover(root, sessions=["ses-pre"])
    assert [r.session for r in only.runs] == ["pre", "pre"]
    with pytest.raises(
        UnknownSubjectError, match="sessions ses-mid .* sessions found: ses-post, ses-pre"
    ):
        _discover(root, sessions=["mid"])


def test_older_fmriprep_confounds_name(bids: Path):
    func = _func(bids, "01")
    new = func / f"sub-01_task-{TASK}_run-1_desc-confounds_timeseries.tsv"
    old = new.with_name(f"sub-01_task-{TASK}_run-1_desc-confounds_regressors.tsv")
    new.rename(old)
    run = _discover(bids).subjects[0].runs[0]
    assert run.confounds == old.resolve() and run.notes == ()
    shutil.copy(old, new)
    run = _discover(bids).subjects[0].runs[0]
    assert run.confounds == new.resolve()
    assert run.notes == (f"{run.label}: both confounds names present; {new.name} is used",)


def test_acquisition_is_part_of_the_run_identity(bids: Path):
    source = _preproc(bids, "01", 1)
    shutil.copy(source, source.with_name(source.name.replace("_run-1", "_acq-fast_run-1")))
    runs = _discover(bids).subjects[0].runs
    assert [r.label for r in runs] == [
        f"sub-01_task-{TASK}_acq-fast_run-1",
        f"sub-01_task-{TASK}_run-1",
        f"sub-01_task-{TASK}_run-2",
    ]
    fast = runs[0]
    # the run's events and sidecars apply to it by inheritance (their entities are a subset)
    assert fast.events.name == f"sub-01_task-{TASK}_run-1_events.tsv"
    assert fast.mask is None and fast.confounds is None
    assert fast.notes == (
        f"{fast.label}: no desc-brain_mask in this space; the mask will be computed",
        f"{fast.label}: no desc-confounds_timeseries.tsv",
    )


def test_two_resolutions_need_a_choice(bids: Path):
    source = _preproc(bids, "02", 1)
    shutil.copy(source, source.with_name(source.name.replace("_res-2", "_res-1")))
    with pytest.raises(AmbiguousFilesError, match=f"sub-02_task-{TASK}_run-1: 2 preprocessed"):
        _discover(bids)
    assert len(_discover(bids, res="2").runs) == 6
    assert [r.label for r in _discover(bids, res="1").runs] == [f"sub-02_task-{TASK}_run-1"]


def test_no_matching_runs_names_what_exists(bids: Path):
    with pytest.raises(NoRunsError) as info:
        _discover(bids, derivatives_root=bids / DERIV, space="MNI152NLin2009")
    message = str(info.value)
    assert "no preprocessed BOLD *_task-faces_space-MNI152NLin2009_desc-preproc_bold" in message
    assert f"space labels found: {SPACE}. Did you mean '{SPACE}'?" in message
    with pytest.raises(InputError, match="fMRIPrep derivatives folder not found"):
        discover_study(bids, bids / "nowhere", task=TASK, space=SPACE)


def test_subject_folder_mismatch_is_skipped_with_a_note(bids: Path):
    source = _preproc(bids, "03", 2)
    shutil.move(source, _func(bids, "02") / source.name)
    study = _discover(bids)
    assert [len(s.runs) for s in study.subjects] == [2, 2, 1]
    assert study.notes == (
        f"sub-02/func/{source.name}: its sub/ses do not match its folder; skipped",
    )


def test_malformed_sidecar_is_an_input_error(bids: Path):
    (bids / f"task-{TASK}_bold.json").write_text('{"RepetitionTime": 2.0,')
    with pytest.raises(InputError, match="cannot read JSON sidecar .*task-faces_bold.json"):
        _discover(bids)
    (bids / f"task-{TASK}_bold.json").write_text("[2.0]")
    with pytest.raises(InputError, match="a JSON sidecar must hold an object, got list"):
        _discover(bids)
