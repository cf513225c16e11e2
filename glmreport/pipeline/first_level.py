"""First level: load BOLD runs, build their designs, fit them and combine contrasts.

Runs are processed one after another and each run's time series is dropped once its contrasts
are computed, so memory holds one run's in-mask data at a time (read one volume at a time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..config.specs import RunConfig, RunSpec
from ..errors import ContrastError, InputError, UnknownColumnError
from ..glm.ar1 import fit_first_level
from ..glm.contrasts import check_estimable, compute_contrast, contrast_weights, make_label
from ..glm.events import prepare_events, select_confounds
from ..glm.first_level import (
    check_design,
    make_first_level_design,
    make_frame_times,
    read_design_file,
)
from ..glm.fixed_effects import fixed_effects
from ..glm.results import ContrastResult, DesignMatrix
from ..inputs.bold import run_mean_image, run_timeseries
from ..inputs.images import file_digests, image_data, load_image, sha256
from ..inputs.masking import Masker, check_mask, compute_epi_mask, resample_mask
from ..inputs.smoothing import smooth
from ..inputs.tables import read_table
from .prepared import Prepared

EPI_MASK_RULE = (
    "EPI mask from the mean of the runs' mean images: threshold at the largest gap of the "
    "intensity histogram between its 20 % and 85 % quantiles, largest connected component, "
    "morphological opening and hole filling"
)


def _read_events(path, source: str):
    table = read_table(path, what="events file")
    if "trial_type" in table.columns:
        # numeric codes become labels ("1", not "1.0"); n/a stays missing (dropped with a note)
        table["trial_type"] = [
            v if pd.isna(v) else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
            for v in table["trial_type"]
        ]
    return prepare_events(table, source=source)


def run_design(run: RunSpec, n_scans: int, config: RunConfig) -> tuple[DesignMatrix, list[str]]:
    """Design matrix of one run (from events + confounds, or a precomputed file) and notes."""
    model = config.model
    if run.design is not None:
        design = read_design_file(run.design, n_scans=n_scans, key=run.design_key)
        return design, check_design(design)
    notes: list[str] = []
    events = None
    if run.events is not None:
        events, notes = _read_events(run.events, str(run.events))
    confounds = None
    if run.confounds is not None:
        table = read_table(run.confounds, what="confounds file")
        confounds = select_confounds(table, run.confound_columns, source=str(run.confounds))
    design = make_first_level_design(
        make_frame_times(n_scans, model.t_r, model.slice_time_ref),
        events,
        hrf_model=model.hrf,
        fir_delays=model.fir_delays,
        drift_model=model.drift_model,
        high_pass=model.high_pass,
        drift_order=model.drift_order,
        confounds=confounds,
        run_end=n_scans * model.t_r,
        source=str(run.events) if run.events else "events",
    )
    return design, notes + check_design(design)


def _mask(config: RunConfig, imgs: list, shape, affine) -> tuple[np.ndarray, dict[str, Any]]:
    spec = config.model.mask
    if spec == "auto":
        mean = np.mean(
            [
                run_mean_image(img, source=str(r.bold))
                for img, r in zip(imgs, config.model.runs, strict=True)
            ],
            axis=0,
        )
        mask = compute_epi_mask(mean)
        info = {"source": "auto", "rule": EPI_MASK_RULE}
    else:
        img = load_image(spec)
        mask = resample_mask(image_data(img) != 0, img.affine, shape, affine)
        info = {"source": str(spec), "rule": "non-zero voxels of the mask file (nearest-neighbour)"}
    check_mask(mask, source=info["source"])
    info["n_voxels"] = int(mask.sum())
    return mask, info


def prepare_first_level(
    config: RunConfig, *, fit: bool = True, log: Callable[[str], None]
) -> Prepared:
    """Load, design, fit and contrast every run; combine runs by fixed effects.

    Returns
    -------
    glmreport.pipeline.prepared.Prepared
    """
    model = config.model
    digests = dict(
        zip(
            [str(r.bold) for r in model.runs],
            file_digests([r.bold for r in model.runs], what="BOLD run"),
            strict=True,
        )
    )
    imgs = [load_image(r.bold, allow_4d=True) for r in model.runs]
    shape, affine = imgs[0].shape[:3], imgs[0].affine
    for run, img in zip(model.runs, imgs, strict=True):
        if img.shape[:3] != shape or not np.allclose(img.affine, affine, atol=1e-4):
            raise InputError(
                f"runs must share one voxel grid: {run.bold} has shape {img.shape[:3]} and "
                f"{'the same' if np.allclose(img.affine, affine, atol=1e-4) else 'another'} "
                f"affine, the first run {model.runs[0].bold} has shape {shape}"
            )
    designs = []
    for run, img in zip(model.runs, imgs, strict=True):
        designs.append(run_design(run, img.shape[3], config))
    parsed = _parse_contrasts(config, [d for d, _ in designs])
    log(f"building the mask ({'EPI mask' if model.mask == 'auto' else 'from file'})")
    mask, mask_info = _mask(config, imgs, shape, affine)
    masker = Masker(mask=mask, affine=np.asarray(affine, dtype=float))
    volume_fn = None
    if model.smoothing_fwhm:
        fwhm = model.smoothing_fwhm
        volume_fn = lambda vol: smooth(vol, affine, fwhm)  # noqa: E731
    per_run: dict[str, list[ContrastResult]] = {spec.name: [] for spec, _, _ in parsed}
    run_names: dict[str, list[str]] = {spec.name: [] for spec, _, _ in parsed}
    if fit:
        for i, (run, img) in enumerate(zip(model.runs, imgs, strict=True)):
            design = designs[i][0]
            log(f"{run.name}: reading {img.shape[3]} scans, fitting {model.noise_model.upper()}")
            data = run_timeseries(img, mask, source=str(run.bold), volume_fn=volume_fn)
            glm = fit_first_level(data, design, noise_model=model.noise_model)
            del data
            for spec, weights, label in parsed:
                if weights[i] is None:
                    continue
                per_run[spec.name].append(
                    compute_contrast(
                        glm, weights[i], name=spec.name, label=label, stat_type=spec.stat_type
                    )
                )
                run_names[spec.name].append(run.name)
    contrasts = []
    if fit:
        for spec, _, label in parsed:
            results = per_run[spec.name]
            if len(results) == 1:
                contrasts.append(results[0])
            else:
                contrasts.append(
                    fixed_effects(
                        results, name=spec.name, label=label, run_names=run_names[spec.name]
                    )
                )
            if model.per_run_outputs and len(results) > 1:
                taken = {c.label for c in contrasts}
                for res, rname in zip(results, run_names[spec.name], strict=True):
                    run_label = make_label(f"{label} {rname}", taken)
                    taken.add(run_label)
                    contrasts.append(_renamed(res, f"{spec.name} ({rname})", run_label))
    inputs = []
    for run in model.runs:
        for kind in ("bold", "events", "confounds", "design"):
            path = getattr(run, kind)
            if path is not None:
                digest = digests.get(str(path)) or sha256(path)
                inputs.append({"path": str(path), "run": run.name, "kind": kind, "sha256": digest})
    first = designs[0][0]
    info = {
        "level": "first",
        "design": f"first-level GLM, {model.noise_model.upper()} noise model",
        "n_inputs": len(model.runs),
        "n_scans": [int(img.shape[3]) for img in imgs],
        "columns": list(first.columns),
        "nuisance_columns": list(first.nuisance),
        "dof": float(sum(d.matrix.shape[0] - np.linalg.matrix_rank(d.matrix) for d, _ in designs)),
        "smoothing_fwhm": float(model.smoothing_fwhm),
        "mask": mask_info,
        "space": model.space,
        "noise_model": model.noise_model,
        "ar1": "voxel-wise lag-1 autocorrelation of OLS residuals, truncated to 0.01 bins, "
        "prewhitened refit per bin"
        if model.noise_model == "ar1"
        else None,
        "t_r": model.t_r,
        "slice_time_ref": model.slice_time_ref,
        "hrf": model.hrf,
        "drift": {
            "model": model.drift_model,
            "high_pass": model.high_pass,
            "order": model.drift_order,
        },
        "signal_scaling": "none",
        "fixed_effects": "precision-weighted over runs (effect = V sum(P_i e_i), V = (sum P_i)^-1, "
        "dof = sum of run dof)",
        "design_notes": {
            run.name: notes for run, (_, notes) in zip(model.runs, designs, strict=True) if notes
        },
        "voxel_size": masker.voxel_size.round(4).tolist(),
        "shape": list(mask.shape),
    }
    extra = {run.name: d.to_frame() for run, (d, _) in zip(model.runs, designs, strict=True)}
    return Prepared(
        masker=masker,
        data=None,
        fit=None,
        table=None,
        contrasts=tuple(contrasts),
        model=info,
        design=None,
        extra_designs=extra,
        inputs=inputs,
    )


def _renamed(result: ContrastResult, name: str, label: str) -> ContrastResult:
    import dataclasses

    return dataclasses.replace(result, name=name, label=label)


def _parse_contrasts(config: RunConfig, designs: list[DesignMatrix]):
    """Weights of every contrast for every run (None where the run lacks its columns)."""
    out, taken = [], set()
    for spec in config.contrasts:
        weights: list[np.ndarray | None] = []
        first_error: UnknownColumnError | None = None
        for design in designs:
            try:
                w = contrast_weights(spec, design.columns)
            except UnknownColumnError as exc:  # this run lacks a column: skip the contrast here
                first_error = first_error or exc
                weights.append(None)
                continue
            check_estimable(w, design.matrix, name=spec.name, where=spec.where)
            weights.append(w)
        if all(w is None for w in weights):
            raise ContrastError(
                f"{spec.where}: contrast '{spec.name}' names a column that no run has: "
                f"{first_error}"
            )
        label = make_label(spec.name, taken)
        taken.add(label)
        out.append((spec, weights, label))
    return out
