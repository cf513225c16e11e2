"""First level: load BOLD runs, build their designs, fit them and combine contrasts.

Runs are fitted one after another and each run's time series is dropped once it is fitted;
the next run is read (one volume at a time) on a thread meanwhile, so memory holds at most two
runs' in-mask data.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from ..config.specs import ContrastSpec, ModelConfig, RunConfig, RunSpec
from ..errors import ContrastError, InputError, UnknownColumnError
from ..glm.ar1 import fit_first_level
from ..glm.conjunction import add_conjunctions
from ..glm.contrasts import (
    check_estimable,
    compute_contrast,
    contrast_weights,
    estimate_contrast,
    make_label,
)
from ..glm.events import read_events, select_confounds
from ..glm.first_level import (
    check_design,
    make_first_level_design,
    make_frame_times,
    read_design_file,
)
from ..glm.fixed_effects import fixed_effects
from ..glm.results import ContrastEstimate, ContrastResult, DesignMatrix, GLMFit
from ..inputs.bold import run_timeseries
from ..inputs.images import file_digests, load_image, sha256
from ..inputs.masking import Masker, build_mask
from ..inputs.smoothing import smooth, voxel_box
from ..inputs.tables import read_table
from .prepared import Prepared


def run_design(run: RunSpec, n_scans: int, config: RunConfig) -> tuple[DesignMatrix, list[str]]:
    """Design matrix of one run (from events + confounds, or a precomputed file) and notes."""
    model = config.model
    if run.design is not None:
        design = read_design_file(run.design, n_scans=n_scans, key=run.design_key)
        return design, check_design(design)
    notes: list[str] = []
    events = None
    if run.events is not None:
        events, notes = read_events(run.events, str(run.events))
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


def _load_runs(model: ModelConfig) -> tuple[list[Any], dict[str, str]]:
    """The runs' 4D images (one voxel grid, checked) and the sha256 of each BOLD file."""
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
    return imgs, digests


def prepare_first_level(
    config: RunConfig, *, fit: bool = True, log: Callable[[str], None]
) -> Prepared:
    """Load, design, fit and contrast every run; combine runs by fixed effects.

    Returns
    -------
    glmreport.pipeline.prepared.Prepared
    """
    model = config.model
    imgs, digests = _load_runs(model)
    affine = imgs[0].affine
    designs = [
        run_design(run, img.shape[3], config) for run, img in zip(model.runs, imgs, strict=True)
    ]
    parsed = _parse_contrasts(config, [d for d, _ in designs])
    log(f"building the mask ({'EPI mask' if model.mask == 'auto' else 'from file'})")
    mask, mask_info = build_mask(
        model.mask,
        affine=affine,
        runs=[(img, str(r.bold)) for img, r in zip(imgs, model.runs, strict=True)],
    )
    masker = Masker(mask=mask, affine=np.asarray(affine, dtype=float))
    contrasts: list[ContrastResult] = []
    if fit:
        per_run = _fit_runs(model, imgs, [d for d, _ in designs], parsed, masker, log)
        contrasts = add_conjunctions(config.contrasts, _combine_runs(model, parsed, per_run))
    return Prepared(
        masker=masker,
        data=None,
        fit=None,
        table=None,
        contrasts=tuple(contrasts),
        model=_model_info(model, imgs, designs, mask_info, masker),
        design=None,
        extra_designs={
            run.name: d.to_frame() for run, (d, _) in zip(model.runs, designs, strict=True)
        },
        inputs=_input_records(model, digests),
    )


#: Per contrast name, the (run name, result) of every run that has the contrast's columns: the
#: effect and covariance alone where the contrast is combined over runs and not written per run.
RunResults = dict[str, list[tuple[str, ContrastResult | ContrastEstimate]]]


#: The next run is decompressed and masked on a thread while the current one is fitted when
#: the two runs' in-mask data (float32) together are at most this size.
READ_AHEAD_BYTES = 2 << 30


def _fit_runs(
    model: ModelConfig,
    imgs: list[Any],
    designs: list[DesignMatrix],
    parsed: list[tuple[ContrastSpec, list[np.ndarray | None], str]],
    masker: Masker,
    log: Callable[[str], None],
) -> RunResults:
    """Fit every run in turn and compute its contrasts.

    At most two runs' in-mask data are in memory: the run being fitted and the next one,
    read meanwhile on a thread (decompression and NumPy release the GIL) when the two
    together are no larger than :data:`READ_AHEAD_BYTES`.
    """
    stack_fn = None
    if model.smoothing_fwhm:
        affine, fwhm = masker.affine, model.smoothing_fwhm
        box = voxel_box(masker.mask)  # the in-mask values are all that is kept
        stack_fn = lambda vols: smooth(vols, affine, fwhm, within=box)  # noqa: E731
    n_mask = int(np.count_nonzero(masker.mask))

    stop = threading.Event()  # set when the fit ends, so that a read ahead stops at once

    def read(i: int) -> np.ndarray:
        source = str(model.runs[i].bold)
        return run_timeseries(imgs[i], masker.mask, source=source, stack_fn=stack_fn, cancel=stop)

    out: RunResults = {spec.name: [] for spec, _, _ in parsed}
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="glmreport-read")
    pending: dict[int, Future] = {}

    def read_ahead(i: int) -> None:
        # the run being fitted and the next one are in memory together: both count
        held = sum(imgs[j].shape[3] for j in (i - 1, i) if 0 <= j < len(imgs)) * n_mask * 4
        if i < len(imgs) and held <= READ_AHEAD_BYTES:
            pending[i] = pool.submit(read, i)

    try:
        read_ahead(0)
        for i, (run, img) in enumerate(zip(model.runs, imgs, strict=True)):
            read_ahead(i + 1)
            log(f"{run.name}: reading {img.shape[3]} scans, fitting {model.noise_model.upper()}")
            data = pending.pop(i).result() if i in pending else read(i)
            glm = fit_first_level(data, designs[i], noise_model=model.noise_model)
            del data
            _run_contrasts(model, parsed, i, run.name, glm, out)
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def _run_contrasts(
    model: ModelConfig,
    parsed: list[tuple[ContrastSpec, list[np.ndarray | None], str]],
    i: int,
    run_name: str,
    glm: GLMFit,
    out: RunResults,
) -> None:
    """Add run ``i``'s contrasts to ``out``: effect and covariance alone where it is combined."""
    for spec, weights, label in parsed:
        if weights[i] is not None:
            # a run's own statistics are needed only where nothing is combined with it
            combined = sum(w is not None for w in weights) > 1 and not model.per_run_outputs
            contrast = estimate_contrast if combined else compute_contrast
            result = contrast(
                glm, weights[i], name=spec.name, label=label, stat_type=spec.stat_type
            )
            out[spec.name].append((run_name, result))


def _combine_runs(
    model: ModelConfig,
    parsed: list[tuple[ContrastSpec, list[np.ndarray | None], str]],
    per_run: RunResults,
) -> list[ContrastResult]:
    """One result per contrast (fixed effects over its runs), plus per-run results if asked."""
    contrasts: list[ContrastResult] = []
    for spec, _, label in parsed:
        names = [name for name, _ in per_run[spec.name]]
        results = [result for _, result in per_run[spec.name]]
        if len(results) == 1:
            contrasts.append(results[0])
        else:
            contrasts.append(fixed_effects(results, name=spec.name, label=label, run_names=names))
        if model.per_run_outputs and len(results) > 1:
            taken = {c.label for c in contrasts}
            for result, run_name in zip(results, names, strict=True):
                run_label = make_label(f"{label} {run_name}", taken)
                taken.add(run_label)
                contrasts.append(
                    dataclasses.replace(result, name=f"{spec.name} ({run_name})", label=run_label)
                )
    return contrasts


def _input_records(model: ModelConfig, digests: dict[str, str]) -> list[dict[str, Any]]:
    """Every file the runs read, with its run, kind and sha256 (provenance)."""
    inputs = []
    for run in model.runs:
        for kind in ("bold", "events", "confounds", "design"):
            path = getattr(run, kind)
            if path is not None:
                digest = digests.get(str(path)) or sha256(path)
                inputs.append({"path": str(path), "run": run.name, "kind": kind, "sha256": digest})
    return inputs


def _model_info(
    model: ModelConfig,
    imgs: list[Any],
    designs: list[tuple[DesignMatrix, list[str]]],
    mask_info: dict[str, Any],
    masker: Masker,
) -> dict[str, Any]:
    """The first-level model as summary.json describes it."""
    first = designs[0][0]
    return {
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
        "shape": list(masker.mask.shape),
    }


def _parse_contrasts(config: RunConfig, designs: list[DesignMatrix]):
    """Weights of every contrast for every run (None where the run lacks its columns)."""
    out, taken = [], set()
    for spec in config.contrasts:
        if spec.conjunction:  # made from its components (add_conjunctions)
            continue
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
