"""nilearn 0.14's pipeline for a study, the reference that glmreport's study level must match.

Not a test module: reference tests import :func:`nilearn_group_z`. It finds the files on its
own (fMRIPrep names, no glmreport code) and does what a careful nilearn user does:

1. per run, ``FirstLevelModel(t_r, slice_time_ref, hrf_model, drift_model, high_pass,
   noise_model, smoothing_fwhm, signal_scaling=0, mask_img=<subject mask>,
   minimize_memory=False)`` fitted on the ``desc-preproc_bold`` with the run's events (rows
   whose ``trial_type`` is ``n/a`` dropped, only onset/duration/trial_type kept) and the
   selected confounds (names or shell globs, in the file's order; the first row's ``n/a``
   filled with 0, as ``first_level_from_bids`` does; optional FD spikes);
   ``t_r`` and ``slice_time_ref = StartTime / t_r`` come from the derivative's JSON sidecar,
   as ``first_level_from_bids`` infers them;
2. ``compute_contrast(contrast, output_type="all")`` per run;
3. per subject, ``compute_fixed_effects(effects, variances, mask=<subject mask>,
   precision_weighted=True, dofs=<n_scans - rank(X) per run>)``;
4. ``SecondLevelModel(mask_img=<group mask>)`` one-sample (intercept) on the subject effects,
   ``compute_contrast("intercept", output_type="z_score")``.

The subject mask is the intersection of its runs' ``desc-brain_mask``; the group mask the
intersection of the subject masks.
"""

from __future__ import annotations

import fnmatch
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.glm.contrasts import compute_fixed_effects
from nilearn.glm.first_level import FirstLevelModel
from nilearn.glm.second_level import SecondLevelModel


class NilearnStudy(NamedTuple):
    """The group z map, per-subject images (``effect``, ``variance``, ``mask``), group mask."""

    z: nib.Nifti1Image
    subjects: dict[str, dict[str, nib.Nifti1Image]]
    mask: nib.Nifti1Image


def _bold_files(derivatives: Path, task: str, space: str) -> dict[str, list[Path]]:
    pattern = f"*_task-{task}_*space-{space}_*desc-preproc_bold.nii*"
    files = sorted(derivatives.glob(f"sub-*/func/{pattern}"))
    files += sorted(derivatives.glob(f"sub-*/ses-*/func/{pattern}"))
    out: dict[str, list[Path]] = {}
    for path in files:
        out.setdefault(path.name.split("_")[0][4:], []).append(path)
    return dict(sorted(out.items()))


def _select(table: pd.DataFrame, patterns: Sequence[str]) -> list[str]:
    return [c for c in table.columns if any(fnmatch.fnmatchcase(c, p) for p in patterns)]


def _confounds(path: Path, patterns: Sequence[str], scrub_fd: float | None) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t")
    out = table[_select(table, patterns)].astype(float)
    out.iloc[0] = out.iloc[0].fillna(0.0)  # first_level_from_bids' rule
    if scrub_fd is not None:
        flagged = np.flatnonzero(table["framewise_displacement"].to_numpy() > scrub_fd)
        for k, t in enumerate(flagged):
            spike = np.zeros(len(table))
            spike[t] = 1.0
            out[f"motion_outlier{k:02d}"] = spike
    return out


def _events(path: Path) -> pd.DataFrame:
    events = pd.read_csv(path, sep="\t")
    events = events[events["trial_type"].notna()]
    return events[["onset", "duration", "trial_type"]].reset_index(drop=True)


def _intersection(imgs: Sequence[nib.Nifti1Image]) -> nib.Nifti1Image:
    """Voxels inside every mask, as a uint8 image."""
    data = np.logical_and.reduce([np.asarray(i.dataobj) > 0 for i in imgs])
    return nib.Nifti1Image(data.astype(np.uint8), imgs[0].affine)


def _fit_run(
    bold: Path,
    mask: nib.Nifti1Image,
    *,
    bids: Path,
    derivatives: Path,
    contrast: str,
    confounds: Sequence[str],
    scrub_fd: float | None,
    model: dict,
) -> tuple[dict, int]:
    """Fit one run; its contrast's ``output_type="all"`` dict and residual dof."""
    prefix = bold.name.split("_space-")[0]
    sidecar = json.loads(bold.with_name(bold.name.split(".nii")[0] + ".json").read_text())
    t_r = float(sidecar["RepetitionTime"])
    ref = float(sidecar.get("StartTime", 0.0)) / t_r
    events = _events(bids / bold.parent.relative_to(derivatives) / f"{prefix}_events.tsv")
    conf = None
    if confounds or scrub_fd is not None:
        conf = _confounds(
            bold.parent / f"{prefix}_desc-confounds_timeseries.tsv", confounds, scrub_fd
        )
    flm = FirstLevelModel(
        t_r=t_r,
        slice_time_ref=ref,
        signal_scaling=0,
        mask_img=mask,
        minimize_memory=False,
        **model,
    )
    flm.fit(str(bold), events=events, confounds=conf)
    design = flm.design_matrices_[0].to_numpy()
    dof = design.shape[0] - int(np.linalg.matrix_rank(design))
    return flm.compute_contrast(contrast, output_type="all"), dof


def nilearn_group_z(
    dataset_folder: str | Path,
    *,
    task: str = "faces",
    space: str = "MNI152NLin2009cAsym",
    contrast: str = "face - house",
    confounds: Sequence[str] = ("trans_*", "rot_?"),
    hrf: str = "glover",
    drift: str | None = "cosine",
    high_pass: float = 0.01,
    noise_model: str = "ar1",
    smoothing_fwhm: float | None = 5.0,
    scrub_fd: float | None = None,
    derivatives: str | Path | None = None,
) -> NilearnStudy:
    """Group z map of a one-sample test of a first-level contrast, all in nilearn.

    Parameters
    ----------
    dataset_folder : str or Path
        BIDS root; derivatives default to ``<root>/derivatives/fmriprep``.
    task, space : str
    contrast : str
        A nilearn contrast expression over the design columns.
    confounds : sequence of str
        Column names or shell globs of the confounds table.
    hrf, drift, high_pass, noise_model, smoothing_fwhm
        As ``FirstLevelModel``'s ``hrf_model``, ``drift_model``, ... .
    scrub_fd : float or None
        Add a spike regressor per scan whose framewise displacement exceeds this (mm).
    derivatives : str or Path or None

    Returns
    -------
    NilearnStudy
    """
    bids = Path(dataset_folder)
    deriv = Path(derivatives) if derivatives else bids / "derivatives" / "fmriprep"
    model = dict(
        hrf_model=hrf,
        drift_model=drift,
        high_pass=high_pass,
        noise_model=noise_model,
        smoothing_fwhm=smoothing_fwhm,
    )
    common = dict(
        bids=bids,
        derivatives=deriv,
        contrast=contrast,
        confounds=list(confounds),
        scrub_fd=scrub_fd,
        model=model,
    )
    subjects: dict[str, dict[str, nib.Nifti1Image]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sub, bolds in _bold_files(deriv, task, space).items():
            masks = [
                b.with_name(b.name.replace("desc-preproc_bold", "desc-brain_mask")) for b in bolds
            ]
            mask = _intersection([nib.load(m) for m in masks])
            fits = [_fit_run(b, mask, **common) for b in bolds]
            effect, variance, _, _ = compute_fixed_effects(
                [f["effect_size"] for f, _ in fits],
                [f["effect_variance"] for f, _ in fits],
                mask=mask,
                precision_weighted=True,
                dofs=[dof for _, dof in fits],
            )
            subjects[sub] = {"effect": effect, "variance": variance, "mask": mask}
        group_mask = _intersection([s["mask"] for s in subjects.values()])
        design = pd.DataFrame({"intercept": np.ones(len(subjects))})
        slm = SecondLevelModel(mask_img=group_mask).fit(
            [s["effect"] for s in subjects.values()], design_matrix=design
        )
        z = slm.compute_contrast("intercept", output_type="z_score")
    return NilearnStudy(z=z, subjects=subjects, mask=group_mask)
