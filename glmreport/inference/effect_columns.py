"""Effect-size columns of the clusters and peaks tables of a contrast's corrections.

Every peaks row gets the effect sizes of :mod:`.effect_sizes` at its voxel: for a t contrast
``effect`` (``c β̂``, the inputs' units), ``effect_ci_low`` / ``effect_ci_high`` (95 %
interval ``effect ± t(0.975, dof) · se``) and, when a fit with a residual variance is given,
``cohens_d``; for an F contrast ``partial_eta2``. Every clusters row gets ``mean_effect``, the
mean of ``c β̂`` over the cluster's voxels (a contrast of one row only).

Existing statistical maps (no estimate) and conjunctions (one estimate per component) get no
effect columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..glm.results import ContrastResult, GLMFit
from .cluster_index import cluster_index_map
from .clusters import voxel_index
from .effect_sizes import CLUSTER_EFFECT_COLUMN, DEFAULT_LEVEL, cluster_mean_effect, peak_effects
from .results import CorrectionResult

__all__ = ["add_effect_columns", "has_effects"]


def has_effects(contrast: ContrastResult) -> bool:
    """Whether a contrast has an estimate to describe (not a conjunction, finite variance)."""
    if contrast.conjunction:
        return False
    variance = np.asarray(contrast.variance)
    return bool(variance.size) and not np.all(np.isnan(variance))


def add_effect_columns(
    contrast: ContrastResult,
    corrections: Sequence[CorrectionResult],
    fit: GLMFit | None,
    *,
    mask: np.ndarray,
    affine: np.ndarray,
    level: float = DEFAULT_LEVEL,
) -> list[CorrectionResult]:
    """Copies of the corrections with effect-size columns in their tables.

    Parameters
    ----------
    contrast : ContrastResult
        The contrast the corrections thresholded.
    corrections : sequence of CorrectionResult
    fit : GLMFit or None
        The model fitted at second level (its ``sigma2`` gives Cohen's d); None at the first
        level, where no ``cohens_d`` is given (see :mod:`.effect_sizes`).
    mask, affine
        The analysis grid (peaks are found at their voxel by their coordinates).
    level : float
        Confidence level of the interval.

    Returns
    -------
    list of CorrectionResult
        Unchanged when :func:`has_effects` is False.
    """
    if not has_effects(contrast):
        return list(corrections)
    out = []
    for corr in corrections:
        peaks = _with_peak_effects(corr.peaks, contrast, fit, mask, affine, level)
        clusters = corr.clusters
        if np.asarray(contrast.effect).shape[0] == 1:
            clusters = _with_mean_effect(clusters, corr, contrast)
        out.append(dataclasses.replace(corr, peaks=peaks, clusters=clusters))
    return out


def _with_peak_effects(
    peaks: pd.DataFrame,
    contrast: ContrastResult,
    fit: GLMFit | None,
    mask: np.ndarray,
    affine: np.ndarray,
    level: float,
) -> pd.DataFrame:
    xyz = peaks[["peak_x", "peak_y", "peak_z"]].to_numpy(float) if len(peaks) else np.zeros((0, 3))
    idx = voxel_index(xyz, mask=mask, affine=affine)
    effects = peak_effects(contrast, fit, idx, level=level)
    base = peaks.reset_index(drop=True).drop(columns=list(effects.columns), errors="ignore")
    return pd.concat([base, effects.astype("float64")], axis=1)


def _with_mean_effect(
    clusters: pd.DataFrame, corr: CorrectionResult, contrast: ContrastResult
) -> pd.DataFrame:
    """``mean_effect`` of every cluster, found by its number in the cluster index map (one
    volume per cluster-forming threshold for ARI)."""
    out = clusters.copy()
    values = np.full(len(out), np.nan)
    index = cluster_index_map(corr) if len(out) else None
    if index is not None:
        means: dict[int, float] = {}
        for labels in np.atleast_2d(np.abs(np.asarray(index, dtype=np.int64))):
            top = int(labels.max()) if labels.size else 0
            found = cluster_mean_effect(contrast, labels, top)
            means.update({k + 1: float(m) for k, m in enumerate(found) if np.isfinite(m)})
        ids = pd.to_numeric(out["cluster_id"], errors="coerce").to_numpy(float)
        values = np.array([means.get(int(k), np.nan) if np.isfinite(k) else np.nan for k in ids])
    out[CLUSTER_EFFECT_COLUMN] = values
    return out
