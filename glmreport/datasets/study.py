"""A small seeded BIDS dataset with fMRIPrep derivatives, for the study level.

:func:`write_study` writes what a real study hands to glmreport, at toy size:

raw BIDS (``<folder>/``)
    ``dataset_description.json``, ``participants.tsv`` (+ ``.json``), ``task-faces_bold.json``
    (the inherited ``RepetitionTime``, ``TaskName`` and ``SliceTiming``), and per run
    ``sub-XX/[ses-YY/]func/sub-XX_[ses-YY_]task-faces_run-N_bold.nii.gz`` (a tiny placeholder
    of the right number of volumes: the analysis reads derivatives only), ``..._bold.json``
    (run-level metadata without ``RepetitionTime``: it is inherited) and ``..._events.tsv``
    (``onset``, ``duration``, ``trial_type`` in {face, house}, plus ``response_time`` with
    ``n/a``; the first subject's first run also holds one ``n/a`` trial_type row).
fMRIPrep derivatives (``<folder>/derivatives/fmriprep/``)
    ``dataset_description.json`` (``DatasetType: derivative``, ``GeneratedBy: fMRIPrep``) and
    per run ``..._space-MNI152NLin2009cAsym_res-2_desc-preproc_bold.nii.gz`` (4D float32, with
    its ``.json``: ``RepetitionTime``, ``StartTime``, ``SliceTimingCorrected``),
    ``..._space-MNI152NLin2009cAsym_res-2_desc-brain_mask.nii.gz`` and
    ``..._desc-confounds_timeseries.tsv`` (+ ``.json``) with fMRIPrep's columns: global
    signal, CSF, white matter (each with ``_derivative1``, ``_power2``,
    ``_derivative1_power2``), ``std_dvars``, ``dvars``, ``framewise_displacement``, ``rmsd``,
    ``a_comp_cor_00..05``, ``cosine00..``, the six motion parameters with their expansions,
    and ``motion_outlierXX`` spikes where FD > 0.5 mm; every derivative and FD column starts
    with ``n/a``, as fMRIPrep writes it.

The signal. A "brain" ellipsoid on a small grid (default 20 x 24 x 20 voxels of 4 mm with an
MNI-like affine; the ``res-2`` label is kept so the names match fMRIPrep's, whatever the voxel
size). Each voxel has a baseline between about 200 and 900 (so percent-signal-change scaling
matters), a slow drift, AR(1) noise (``rho`` 0.3, standard deviation ``noise_pct`` percent of
the baseline), a motion artefact (the baseline's spatial gradient times the run's residual
translation) and evoked responses: both conditions drive a "visual" blob
(:data:`VISUAL_BLOB`), faces additionally a right "fusiform" blob (:data:`FACE_BLOB`),
houses a left "parahippocampal" blob (:data:`HOUSE_BLOB`). Amplitudes are in percent signal
change per unit of the Glover-convolved regressor (the design column a first-level model
with ``hrf: glover`` builds), so the planted face - house contrast at
:data:`FACE_BLOB_CENTER_MM` is :data:`FACE_AMPLITUDE` percent (the subjects vary around it
by :data:`SUBJECT_AMPLITUDE_SD`). Outside the brain the volume holds a "scalp" shell, as
fMRIPrep's unmasked ``desc-preproc_bold`` does, and zeros beyond it; values are stored to
1/64 of a unit (far below the noise) so that the files compress well. Brain masks differ between
subjects (size and position) and between a subject's runs (a few edge voxels), so the
intersections of run masks and of subject masks matter.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from .simulation import (
    FACE_AMPLITUDE,
    FACE_BLOB,
    FACE_BLOB_CENTER_MM,
    HOUSE_BLOB,
    SUBJECT_AMPLITUDE_SD,
    VISUAL_BLOB,
    make_confounds,
    mm_grid,
    response_maps,
    run_mask,
    simulate_run,
    slice_timing,
    start_time,
    study_affine,
    subject_brain,
)

__all__ = [
    "FACE_AMPLITUDE",
    "FACE_BLOB",
    "FACE_BLOB_CENTER_MM",
    "HOUSE_BLOB",
    "RES",
    "SPACE",
    "SUBJECT_AMPLITUDE_SD",
    "TASK",
    "VISUAL_BLOB",
    "slice_timing",
    "start_time",
    "subject_labels",
    "write_participants",
    "write_study",
]

TASK = "faces"
SPACE = "MNI152NLin2009cAsym"
RES = "2"


def _save(path: Path, data: np.ndarray, affine: np.ndarray, t_r: float | None = None) -> None:
    """Write a NIfTI image (sform/qform set, mm and s units, TR in pixdim[4]), gzip level 1."""
    img = nib.Nifti1Image(data, affine)
    img.header.set_sform(affine, 1)
    img.header.set_qform(affine, 1)
    img.header.set_xyzt_units(xyz="mm", t="sec")
    if t_r is not None:
        img.header.set_zooms((*img.header.get_zooms()[:3], float(t_r)))
    path.parent.mkdir(parents=True, exist_ok=True)
    # no name or time in the gzip header: the same seed gives the same bytes
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 1, raw, mtime=0) as fh:
        fh.write(img.to_bytes())


def _json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def _column_text(values: pd.Series) -> list[str]:
    """Cells of one column as BIDS text: ``n/a`` for missing, numbers to 6 significant digits."""
    if pd.api.types.is_numeric_dtype(values):
        arr = values.to_numpy(dtype=float)
        text = np.char.mod("%.6g", arr)
        return np.where(np.isnan(arr), "n/a", text).tolist()
    return ["n/a" if pd.isna(v) else str(v) for v in values]


def _tsv(path: Path, table: pd.DataFrame) -> None:
    """Write a table as BIDS TSV (``n/a`` for missing values, 6 significant digits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [_column_text(table[c]) for c in table.columns]
    rows = ["\t".join(row) for row in zip(*columns, strict=True)]
    lines = ["\t".join(map(str, table.columns)), *rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


CONFOUNDS_SIDECAR = {
    f"a_comp_cor_{i:02d}": {
        "Method": "aCompCor",
        "Mask": "combined",
        "Retained": True,
        "SingularValue": round(30.0 / (i + 1), 3),
        "VarianceExplained": round(0.2 / (i + 1), 4),
    }
    for i in range(6)
}


# ---------------------------------------------------------------------------------------------
# files


def _write_raw_top(root: Path, t_r: float, n_subjects: int, seed: int, slices: bool) -> None:
    _json(
        root / "dataset_description.json",
        {
            "Name": "Faces and houses (synthetic)",
            "BIDSVersion": "1.9.0",
            "DatasetType": "raw",
            "License": "CC0",
            "Authors": ["glmreport"],
        },
    )
    bold = {"TaskName": TASK, "RepetitionTime": t_r, "EchoTime": 0.03}
    if slices:
        bold["SliceTiming"] = slice_timing(t_r)
    _json(root / f"task-{TASK}_bold.json", bold)
    _json(
        root / f"task-{TASK}_events.json",
        {
            "trial_type": {"Levels": {"face": "a face", "house": "a house"}},
            "response_time": {"Units": "s", "Description": "button press; n/a if missed"},
        },
    )
    write_participants(root, n_subjects, seed)


def write_participants(root: Path, n_subjects: int, seed: int) -> pd.DataFrame:
    """``participants.tsv`` (id, age, sex, group, handedness with one ``n/a``) and its JSON."""
    rng = np.random.default_rng([seed, 1])
    table = pd.DataFrame(
        {
            "participant_id": [f"sub-{label}" for label in subject_labels(n_subjects)],
            "age": rng.integers(19, 46, n_subjects),
            "sex": rng.choice(["F", "M"], n_subjects),
            "group": ["control" if i % 2 == 0 else "patient" for i in range(n_subjects)],
            "handedness": rng.choice(["right", "left"], n_subjects, p=[0.85, 0.15]).astype(object),
        }
    )
    table.loc[n_subjects - 1, "handedness"] = np.nan
    _tsv(root / "participants.tsv", table)
    _json(
        root / "participants.json",
        {
            "age": {"Description": "age at scan", "Units": "year"},
            "sex": {"Levels": {"F": "female", "M": "male"}},
            "group": {"Levels": {"control": "control", "patient": "patient"}},
            "handedness": {"Levels": {"right": "right", "left": "left"}},
        },
    )
    return table


def subject_labels(n_subjects: int) -> list[str]:
    """``01, 02, ...`` (zero-padded to at least two digits)."""
    width = max(2, len(str(n_subjects)))
    return [f"{i:0{width}d}" for i in range(1, n_subjects + 1)]


def _write_derivatives_top(deriv: Path) -> None:
    _json(
        deriv / "dataset_description.json",
        {
            "Name": "fMRIPrep - fMRI PREProcessing workflow",
            "BIDSVersion": "1.9.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "fMRIPrep", "Version": "23.2.0"}],
            "SourceDatasets": [{"URL": "bids:raw:"}],
        },
    )


def _write_run(
    root: Path,
    prefix: str,
    folder: str,
    *,
    bold: np.ndarray,
    mask: np.ndarray,
    events: pd.DataFrame,
    confounds: pd.DataFrame,
    affine: np.ndarray,
    t_r: float,
    slices: bool,
) -> None:
    """Write one run's raw files and fMRIPrep derivatives (``prefix`` = ``sub-01_task-..``)."""
    raw = root / folder
    placeholder = np.zeros((4, 4, 3, bold.shape[3]), dtype=np.int16)
    _save(raw / f"{prefix}_bold.nii.gz", placeholder, np.diag([3.0, 3.0, 4.0, 1.0]), t_r)
    _json(raw / f"{prefix}_bold.json", {"PhaseEncodingDirection": "j-", "TotalReadoutTime": 0.05})
    _tsv(raw / f"{prefix}_events.tsv", events)
    func = root / "derivatives" / "fmriprep" / folder
    space = f"{prefix}_space-{SPACE}_res-{RES}"
    _save(func / f"{space}_desc-preproc_bold.nii.gz", bold, affine, t_r)
    sidecar = {"RepetitionTime": t_r, "SkullStripped": False, "SliceTimingCorrected": slices}
    if slices:
        sidecar["StartTime"] = start_time(t_r)
    _json(func / f"{space}_desc-preproc_bold.json", sidecar)
    _save(func / f"{space}_desc-brain_mask.nii.gz", mask.astype(np.uint8), affine)
    _tsv(func / f"{prefix}_desc-confounds_timeseries.tsv", confounds)
    _json(func / f"{prefix}_desc-confounds_timeseries.json", CONFOUNDS_SIDECAR)


def write_study(
    folder: str | Path,
    *,
    n_subjects: int = 8,
    n_runs: int = 2,
    seed: int = 0,
    n_scans: int = 100,
    t_r: float = 2.0,
    shape: tuple[int, int, int] = (20, 24, 20),
    voxel_mm: float = 4.0,
    sessions: Sequence[str] = (),
    noise_pct: float = 0.8,
    slice_timing_corrected: bool = True,
) -> Path:
    """Write the synthetic BIDS dataset with fMRIPrep derivatives (see the module docstring).

    Parameters
    ----------
    folder : str or Path
        The BIDS root (created if needed); derivatives go to ``derivatives/fmriprep``.
    n_subjects, n_runs : int
        Subjects ``sub-01 ..`` and runs per subject (per session) ``run-1 ..``.
    seed : int
        Everything is a function of the seed.
    n_scans : int
        Volumes per run.
    t_r : float
        Repetition time in seconds (top-level ``task-faces_bold.json`` and NIfTI headers).
    shape : tuple of int
        Grid of the preprocessed runs.
    voxel_mm : float
        Voxel size.
    sessions : sequence of str
        Session labels (``ses-<label>`` folders); empty for a dataset without sessions.
    noise_pct : float
        Standard deviation of the AR(1) noise, percent of the baseline.
    slice_timing_corrected : bool
        Write ``SliceTiming`` (raw) and ``StartTime`` (derivatives), and simulate the signal at
        ``StartTime`` within each TR, as after fMRIPrep's slice-timing correction.

    Returns
    -------
    Path
        The BIDS root.
    """
    if n_subjects < 1 or n_runs < 1 or n_scans < 20 or t_r <= 0 or min(shape) < 8:
        raise ValueError(
            "write_study needs >= 1 subject and run, >= 20 scans, t_r > 0, a grid >= 8"
        )
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    _write_raw_top(root, t_r, n_subjects, seed, slice_timing_corrected)
    _write_derivatives_top(root / "derivatives" / "fmriprep")
    affine = study_affine(shape, voxel_mm)
    xyz = mm_grid(shape, affine)
    simulation = dict(
        n_scans=n_scans,
        t_r=t_r,
        slice_time_ref=start_time(t_r) / t_r if slice_timing_corrected else 0.0,
        voxel_mm=voxel_mm,
        noise_pct=noise_pct,
    )
    for i, sub in enumerate(subject_labels(n_subjects)):
        _write_subject(
            root,
            sub,
            np.random.default_rng([seed, 2, i]),
            xyz=xyz,
            affine=affine,
            sessions=list(sessions),
            n_runs=n_runs,
            first=i == 0,
            slices=slice_timing_corrected,
            simulation=simulation,
        )
    return root


def _write_subject(
    root: Path,
    sub: str,
    rng: np.random.Generator,
    *,
    xyz: np.ndarray,
    affine: np.ndarray,
    sessions: list[str],
    n_runs: int,
    first: bool,
    slices: bool,
    simulation: dict[str, Any],
) -> None:
    """Simulate and write every run of one subject (all draws from the subject's ``rng``)."""
    brain, baseline = subject_brain(rng, xyz)
    responses = response_maps(rng, xyz.shape[:3], affine)
    for ses in sessions or [None]:
        for run in range(1, n_runs + 1):
            bold, events, motion = simulate_run(
                rng, baseline=baseline, brain=brain, responses=responses, **simulation
            )
            if first and run == 1 and ses == (sessions[0] if sessions else None):
                # a trial without a type (e.g. an instruction screen): BIDS' n/a
                extra = {"onset": 3.0, "duration": 1.5, "trial_type": np.nan}
                events = pd.concat([pd.DataFrame([extra]), events], ignore_index=True)
            session = f"ses-{ses}" if ses else None
            _write_run(
                root,
                "_".join(x for x in (f"sub-{sub}", session, f"task-{TASK}", f"run-{run}") if x),
                "/".join(x for x in (f"sub-{sub}", session, "func") if x),
                bold=bold,
                mask=run_mask(rng, brain),
                events=events,
                confounds=make_confounds(rng, motion, bold[brain].mean(axis=0), simulation["t_r"]),
                affine=affine,
                t_r=simulation["t_r"],
                slices=slices,
            )
