"""One preprocessed run of a BIDS study: its events, mask, confounds, TR and notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmreport.datasets import write_study
from glmreport.inputs.bids_names import parse_bids_name
from glmreport.inputs.bids_runs import MissingEventsError, StudyInputError, describe_run


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return write_study(tmp_path_factory.mktemp("bids"), n_subjects=1, n_runs=1, n_scans=24)


def _bold(study: Path) -> Path:
    (path,) = sorted((study / "derivatives" / "fmriprep").rglob("*_desc-preproc_bold.nii.gz"))
    return path


def test_a_run_gathers_its_files_and_timing(study):
    path = _bold(study)
    run = describe_run(
        parse_bids_name(path),
        path,
        bids_root=study,
        derivatives=study / "derivatives" / "fmriprep",
    )
    assert (run.subject, run.task, run.run, run.session) == ("01", "faces", "1", None)
    assert run.label == "sub-01_task-faces_run-1"
    assert run.events.name == "sub-01_task-faces_run-1_events.tsv"
    assert run.mask.name.endswith("_desc-brain_mask.nii.gz")
    assert run.confounds.name.endswith("_desc-confounds_timeseries.tsv")
    assert (run.t_r, run.n_scans) == (2.0, 24)
    assert 0 < run.slice_time_ref < 1  # StartTime of slice-timing-corrected data


def test_a_run_without_events_is_refused(study, tmp_path):
    path = _bold(study)
    events = study / "sub-01" / "func" / "sub-01_task-faces_run-1_events.tsv"
    moved = tmp_path / "events.tsv"
    events.rename(moved)
    try:
        with pytest.raises(MissingEventsError) as info:
            describe_run(
                parse_bids_name(path),
                path,
                bids_root=study,
                derivatives=study / "derivatives" / "fmriprep",
            )
        assert isinstance(info.value, StudyInputError) and "sub-01_task-faces_run-1" in str(
            info.value
        )
    finally:
        moved.rename(events)
