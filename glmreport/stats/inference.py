"""Dispatch from a correction entry to the function that applies it.

Every correction method is a function ``apply(contrast, spec, ctx) -> list[CorrectionResult]``
living in its own module; this registry is the only place that maps config method names to
them, so a new method plugs in here and nowhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .results import ContrastResult, CorrectionResult, CorrectionSpec, GLMFit

#: config method name -> "module:function" (imported lazily).
METHODS: dict[str, str] = {
    "uncorrected": "glmreport.stats.thresholds:apply_uncorrected",
    "fdr": "glmreport.stats.thresholds:apply_fdr",
    "bonferroni": "glmreport.stats.thresholds:apply_bonferroni",
    "permutation": "glmreport.stats.permutation:apply_permutation",
    "ari": "glmreport.stats.ari:apply_ari",
    "rft": "glmreport.stats.rft:apply_rft",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class InferenceContext:
    """Everything a correction may need beyond the contrast itself.

    Attributes
    ----------
    mask : (X, Y, Z) ndarray of bool
        Analysis mask; in-mask arrays are ``volume[mask]`` in C order.
    affine : (4, 4) ndarray
        Voxel-to-world (mm) affine of the mask grid.
    data : (n_images, v) ndarray or None
        The data the GLM was fitted to (after smoothing), for resampling methods and
        smoothness estimation. ``None`` for map-only runs (``model.level: maps``).
    fit : GLMFit or None
        The fitted model (``None`` for map-only runs).
    table : DataFrame or None
        The inputs table, one row per image (exchangeability blocks are its columns).
    connectivity : {6, 18, 26}
    peak_min_distance_mm : float
        Minimum distance between a cluster's reported peaks.
    max_subpeaks : int
        Maximum number of sub-peaks reported per cluster (besides the main peak).
    progress : bool
        Whether long loops may show a progress bar (on stderr).
    """

    mask: np.ndarray
    affine: np.ndarray
    data: np.ndarray | None = None
    fit: GLMFit | None = None
    table: pd.DataFrame | None = None
    connectivity: int = 26
    peak_min_distance_mm: float = 8.0
    max_subpeaks: int = 3
    progress: bool = False


ApplyFunction = Callable[[ContrastResult, CorrectionSpec, InferenceContext], list[CorrectionResult]]


def get_method(method: str) -> ApplyFunction:
    """Return the function that applies correction ``method``.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    """
    module_name, func_name = METHODS[method].split(":")
    return getattr(importlib.import_module(module_name), func_name)


def apply_correction(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Apply one correction entry to one contrast.

    Returns
    -------
    list of CorrectionResult
        One per inference route (a permutation entry yields max-T, cluster size, cluster mass
        and TFCE results).
    """
    return get_method(spec.method)(contrast, spec, ctx)
