"""One task of a study: fit one preprocessed run and compute its first-level contrasts.

:func:`fit_run` is what a worker (a local process or a Dask worker) runs. Its argument,
:class:`RunTask`, holds file paths and settings only; the worker reads the run itself, so the
files must be readable where the worker runs (the same paths on every machine of a cluster).
It returns :class:`RunFit`: each contrast's effect and variance on the subject's mask, the
design matrix and notes; the main process combines a subject's runs by fixed effects.

The steps are those of nilearn's ``FirstLevelModel`` on the same files: the subject's mask
(the intersection of its runs' ``desc-brain_mask``, else the EPI mask of its runs), the run
read volume by volume (smoothed first when asked), percent signal change per voxel
(``signal_scaling: percent``), the design from the events (rows whose ``trial_type`` is
``n/a`` dropped), the selected confounds (leading ``n/a`` set to 0, optional spike
regressors for scans over the framewise-displacement threshold) and the drift model, then
the OLS or AR(1) fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from ..config.specs import ContrastSpec
from ..config.study_spec import StudyFirstLevel
from ..errors import ContrastError, UnknownColumnError
from ..glm.ar1 import fit_first_level
from ..glm.contrasts import check_estimable, compute_contrast, contrast_weights
from ..glm.events import read_events
from ..glm.first_level import check_design, make_first_level_design, make_frame_times
from ..glm.results import ContrastResult
from ..glm.scaling import percent_signal_change
from ..inputs.bids import StudyRun
from ..inputs.confounds import (
    FD_COLUMN,
    confound_values,
    read_confounds,
    select_study_confounds,
    study_confounds_table,
)
from ..inputs.images import load_image, sha256
from ..inputs.masking import build_mask, mask_from_file
from ..inputs.smoothing import smooth, voxel_box


@dataclass(frozen=True, slots=True, kw_only=True)
class RunTask:
    """What a worker needs to fit one run (paths and settings, no arrays).

    Attributes
    ----------
    run : StudyRun
    subject_runs : tuple of StudyRun
        Every run of the subject: their brain masks intersect into the subject's mask.
    settings : StudyFirstLevel
    contrasts : tuple of (ContrastSpec, str)
        First-level contrasts with their file labels.
    """

    run: StudyRun
    subject_runs: tuple[StudyRun, ...]
    settings: StudyFirstLevel
    contrasts: tuple[tuple[ContrastSpec, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFit:
    """One fitted run.

    Attributes
    ----------
    label : str
        The run's BIDS identity (``sub-01_task-faces_run-1``).
    contrasts : dict of str to ContrastResult
        By contrast name; a contrast whose columns the run lacks is absent.
    design : DataFrame
        The design matrix.
    notes : tuple of str
    n_scans : int
    dof : float
        Residual degrees of freedom.
    mask : (X, Y, Z) ndarray of bool
        The subject's mask (the same for every run of the subject).
    mask_rule : str
    affine : (4, 4) ndarray
    fd : (n_scans,) ndarray or None
        Framewise displacement (NaN where fMRIPrep writes n/a).
    digests : dict of str to str
        sha256 of the BOLD, events and confounds files (``bold`` ...) read by the worker.
    """

    label: str
    contrasts: dict[str, ContrastResult]
    design: pd.DataFrame
    notes: tuple[str, ...]
    n_scans: int
    dof: float
    mask: np.ndarray
    mask_rule: str
    affine: np.ndarray
    fd: np.ndarray | None
    digests: dict[str, str]


BRAIN_MASK_RULE = "intersection of the subject's runs' fMRIPrep brain masks (desc-brain_mask)"


def subject_mask(runs: tuple[StudyRun, ...], affine: np.ndarray) -> tuple[np.ndarray, str]:
    """The subject's mask: the intersection of its runs' brain masks (else the EPI mask)."""
    shape = load_image(runs[0].bold, allow_4d=True).shape[:3]
    if all(r.mask is not None for r in runs):
        mask = np.logical_and.reduce([mask_from_file(r.mask, shape, affine) for r in runs])
        if not mask.any():
            raise ContrastError(
                f"sub-{runs[0].subject}: its runs' brain masks have no voxel in common"
            )
        return mask, BRAIN_MASK_RULE
    imgs = [(load_image(r.bold, allow_4d=True), r.label) for r in runs]
    mask, info = build_mask("auto", affine=affine, runs=imgs)
    return mask, str(info["rule"])


def _design(task: RunTask, n_scans: int) -> tuple[object, list[str], np.ndarray | None]:
    run, settings = task.run, task.settings
    events, notes = read_events(run.events, run.label)
    confounds, fd = None, None
    if run.confounds is not None:
        if settings.confounds:
            table = study_confounds_table(
                run.confounds,
                settings.confounds,
                scrub=settings.scrub_fd is not None,
                source=run.label,
            )
        else:
            table = read_confounds(run.confounds)
        if FD_COLUMN in table.columns:
            fd = confound_values(table, [FD_COLUMN], source=run.label)[FD_COLUMN].to_numpy()
        if settings.confounds or settings.scrub_fd is not None:
            confounds, more = select_study_confounds(
                table,
                settings.confounds,
                source=run.label,
                fd_threshold=settings.scrub_fd,
                n_scans=n_scans,
            )
            notes = [*notes, *more]
    elif settings.confounds or settings.scrub_fd is not None:
        raise ContrastError(
            f"{run.label}: confounds are asked for but fMRIPrep's confounds table of this run "
            "was not found (desc-confounds_timeseries.tsv)"
        )
    design = make_first_level_design(
        make_frame_times(n_scans, run.t_r, run.slice_time_ref or 0.0),
        events,
        hrf_model=settings.hrf,
        drift_model=settings.drift_model,
        high_pass=settings.high_pass,
        drift_order=settings.drift_order,
        confounds=confounds,
        run_end=n_scans * run.t_r,
        source=str(run.events.name),
    )
    return design, [*notes, *check_design(design)], fd


def fit_run(task: RunTask) -> RunFit:
    """Fit one run and compute its contrasts (the task a worker runs)."""
    run, settings = task.run, task.settings
    img = load_image(run.bold, allow_4d=True)
    affine = np.asarray(img.affine, dtype=float)
    n_scans = int(img.shape[3])
    design, notes, fd = _design(task, n_scans)
    weights = {}
    for spec, label in task.contrasts:
        try:
            w = contrast_weights(spec, design.columns)
        except UnknownColumnError:
            continue
        check_estimable(w, design.matrix, name=spec.name, where=spec.where)
        weights[spec.name] = (w, label, spec)
    mask, rule = subject_mask(task.subject_runs, affine)
    stack_fn = None
    if settings.smoothing_fwhm:
        fwhm = settings.smoothing_fwhm
        box = voxel_box(mask)  # the in-mask values are all that is kept
        stack_fn = lambda vols: smooth(vols, affine, fwhm, within=box)  # noqa: E731
    data = run_timeseries_scaled(img, mask, run.label, stack_fn, settings.signal_scaling)
    glm = fit_first_level(data, design, noise_model=settings.noise_model)
    del data
    results = {
        name: compute_contrast(glm, w, name=name, label=label, stat_type=spec.stat_type)
        for name, (w, label, spec) in weights.items()
    }
    matrix = design.matrix
    return RunFit(
        label=run.label,
        contrasts=results,
        design=design.to_frame(),
        notes=tuple(notes),
        n_scans=n_scans,
        dof=float(matrix.shape[0] - np.linalg.matrix_rank(matrix)),
        mask=mask,
        mask_rule=rule,
        affine=affine,
        fd=fd,
        digests={
            kind: sha256(path)
            for kind, path in (
                ("bold", run.bold),
                ("events", run.events),
                ("confounds", run.confounds),
            )
            if path is not None
        },
    )


def run_timeseries_scaled(
    img: nib.Nifti1Image, mask: np.ndarray, source: str, stack_fn, scaling: str
) -> np.ndarray:
    """The run's in-mask time series (float64), in percent signal change when asked.

    ``stack_fn`` (e.g. smoothing) is applied to stacks of volumes
    (:func:`glmreport.inputs.bold.run_timeseries`).
    """
    from ..inputs.bold import run_timeseries

    data = run_timeseries(img, mask, source=source, stack_fn=stack_fn).astype(np.float64)
    if scaling == "percent":
        percent_signal_change(data, out=data)
    return data


def input_files(run: StudyRun) -> list[Path]:
    """Every file a run's fit reads."""
    files = [run.bold, run.mask, run.events, run.confounds, run.sidecar]
    return [Path(f) for f in files if f is not None]
