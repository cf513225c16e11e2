"""The synthetic BIDS + fMRIPrep study: layout, fMRIPrep conventions and the planted effect."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nibabel.affines import apply_affine

from glmreport.datasets.study import (
    FACE_AMPLITUDE,
    FACE_BLOB_CENTER_MM,
    SPACE,
    SUBJECT_AMPLITUDE_SD,
    TASK,
    start_time,
    write_study,
)
from glmreport.glm.first_level import make_first_level_design, make_frame_times


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_study(tmp_path_factory.mktemp("study") / "bids", n_subjects=2, n_runs=2)


def _func(root: Path, sub: str) -> Path:
    return root / "derivatives" / "fmriprep" / f"sub-{sub}" / "func"


def _space(sub: str, run: int) -> str:
    return f"sub-{sub}_task-{TASK}_run-{run}_space-{SPACE}_res-2"


def test_raw_and_derivative_metadata(root: Path):
    raw = json.loads((root / "dataset_description.json").read_text())
    deriv = json.loads((root / "derivatives/fmriprep/dataset_description.json").read_text())
    assert raw["DatasetType"] == "raw"
    assert deriv["DatasetType"] == "derivative"
    assert deriv["GeneratedBy"][0]["Name"] == "fMRIPrep"
    top = json.loads((root / f"task-{TASK}_bold.json").read_text())
    assert top["RepetitionTime"] == 2.0 and len(top["SliceTiming"]) == 20
    assert "RepetitionTime" not in json.loads(
        (root / "sub-01/func" / f"sub-01_task-{TASK}_run-1_bold.json").read_text()
    )
    side = json.loads((_func(root, "02") / f"{_space('02', 2)}_desc-preproc_bold.json").read_text())
    assert side["StartTime"] == start_time(2.0) == 0.95
    raw_bold = nib.load(root / "sub-02/func" / f"sub-02_task-{TASK}_run-2_bold.nii.gz")
    assert raw_bold.shape[3] == 100 and raw_bold.header.get_zooms()[3] == 2.0


def test_events_hold_extra_columns_and_na(root: Path):
    first = pd.read_csv(root / "sub-01/func" / f"sub-01_task-{TASK}_run-1_events.tsv", sep="\t")
    other = pd.read_csv(root / "sub-02/func" / f"sub-02_task-{TASK}_run-1_events.tsv", sep="\t")
    assert list(first.columns) == ["onset", "duration", "trial_type", "response_time"]
    assert first["trial_type"].isna().sum() == 1 and other["trial_type"].notna().all()
    assert set(other["trial_type"]) == {"face", "house"}
    assert other["response_time"].isna().any()
    assert (other["onset"].diff().dropna() >= 4.0 - 1e-9).all()


def test_confounds_follow_fmriprep(root: Path):
    table = pd.read_csv(
        _func(root, "01") / f"sub-01_task-{TASK}_run-2_desc-confounds_timeseries.tsv", sep="\t"
    )
    assert len(table) == 100
    first_na = {c for c in table.columns if np.isnan(table[c].iloc[0])}
    derivatives = {c for c in table.columns if "derivative1" in c}
    assert first_na == derivatives | {"framewise_displacement", "dvars", "std_dvars", "rmsd"}
    assert table.iloc[1:].notna().all().all()
    assert [c for c in table.columns if c.startswith("cosine")] == [
        "cosine00",
        "cosine01",
        "cosine02",
    ]
    motion = table[["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]].to_numpy()
    diff = np.abs(np.diff(motion, axis=0))
    fd = diff[:, :3].sum(1) + 50 * diff[:, 3:].sum(1)
    np.testing.assert_allclose(table["framewise_displacement"].iloc[1:], fd, atol=1e-5)  # 6 digits
    spikes = [c for c in table.columns if c.startswith("motion_outlier")]
    assert len(spikes) == int((table["framewise_displacement"] > 0.5).sum())


def test_masks_differ_between_runs_and_subjects(root: Path):
    masks = {
        (s, r): np.asarray(
            nib.load(_func(root, s) / f"{_space(s, r)}_desc-brain_mask.nii.gz").dataobj
        )
        > 0
        for s in ("01", "02")
        for r in (1, 2)
    }
    for key, mask in masks.items():
        assert 2000 < mask.sum() < 4000, key
    assert (masks["01", 1] != masks["01", 2]).sum() > 0
    sub1 = masks["01", 1] & masks["01", 2]
    sub2 = masks["02", 1] & masks["02", 2]
    assert (sub1 & sub2).sum() < min(sub1.sum(), sub2.sum())


def test_planted_face_effect_in_percent_signal_change(root: Path):
    """OLS of face - house at the blob centre, in percent of the voxel's mean, over runs."""
    estimates = []
    for run in (1, 2):
        img = nib.load(_func(root, "01") / f"{_space('01', run)}_desc-preproc_bold.nii.gz")
        ijk = np.round(apply_affine(np.linalg.inv(img.affine), FACE_BLOB_CENTER_MM)).astype(int)
        y = np.asarray(img.dataobj[tuple(ijk)], dtype=float)
        assert 100 < y.mean() < 1000
        events = pd.read_csv(
            root / "sub-01/func" / f"sub-01_task-{TASK}_run-{run}_events.tsv", sep="\t"
        ).dropna(subset=["trial_type"])
        design = make_first_level_design(
            make_frame_times(y.size, 2.0, 0.475), events[["onset", "duration", "trial_type"]]
        ).to_frame()
        beta = np.linalg.lstsq(design.to_numpy(), 100 * (y / y.mean() - 1), rcond=None)[0]
        estimates.append(beta[0] - beta[1])
    # subject gain within +-4 SD of 1; noise of a single voxel (no smoothing) ~0.3 %
    assert np.mean(estimates) == pytest.approx(
        FACE_AMPLITUDE, abs=4 * SUBJECT_AMPLITUDE_SD * 2 + 0.6
    )
    assert min(estimates) > 1.0


def test_same_seed_same_bytes(tmp_path: Path):
    small = dict(n_subjects=1, n_runs=1, n_scans=20, shape=(8, 8, 8), voxel_mm=10.0, seed=3)
    first, second = write_study(tmp_path / "a", **small), write_study(tmp_path / "b", **small)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) == 14  # 5 raw top-level, 3 raw run, 6 derivative files
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    other = write_study(tmp_path / "c", **{**small, "seed": 4})
    name = f"derivatives/fmriprep/sub-01/func/{_space('01', 1)}_desc-preproc_bold.nii.gz"
    assert (first / name).read_bytes() != (other / name).read_bytes()
