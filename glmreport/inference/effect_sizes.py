"""Effect sizes of t and F contrasts at every voxel, at table peaks and over clusters.

The statistics layer gives z, t and F; a manuscript reports, next to a peak's coordinates, the
size of the effect: the contrast estimate in the inputs' units with its confidence interval
and a standardised effect size. This module computes them from a contrast result and, for
Cohen's d, the fitted model's residual variance. It imports no result class: the arguments are
used by their attributes (duck typing), listed below.

Inputs
------
contrast (``ContrastResult``)
    ``stat_type`` ('t' or 'F'); ``effect`` (q, v) = c β̂; ``variance`` (q, q, v), the
    covariance of ``effect`` (``c (X'X)⁺ c' σ̂²`` for a single fit, the combined covariance for
    fixed effects over runs); ``stat`` (v,) the t or F value; ``dof`` the error degrees of
    freedom (summed over runs for fixed effects); ``df_num`` the numerator degrees of freedom
    of F (rank of c). ``v`` is the number of in-mask voxels.
fit (``GLMFit``), optional
    ``sigma2`` (v,): the residual variance RSS / dof of the model the contrast was computed
    on (for a whitened or non-sphericity fit, the variance scale σ² of ``Cov(e) = σ² V``).

Definitions
-----------
Contrast estimate (t contrasts)
    ``effect = c β̂`` at the voxel, in the inputs' units (e.g. percent signal change when the
    inputs are), ``se = sqrt(variance)``, and the two-sided confidence interval
    ``effect ± t_{(1 + level)/2, dof} · se`` (95 % by default). With fixed effects over runs the
    variance is the fixed-effects variance and ``dof`` the summed degrees of freedom.
Cohen's d (t contrasts)
    ``d = c β̂ / σ̂`` with ``σ̂ = sqrt(sigma2)`` the residual standard deviation of the model at
    the voxel; for OLS ``d = t · sqrt(c (X'X)⁺ c')``. What it means depends on the design:

    - one-sample (intercept only): ``d = ȳ / s = t / sqrt(n)`` (Cohen 1988; ``d_z`` of
      Lakens 2013 when the inputs are within-subject differences);
    - two-sample (``intercept``, group indicator) and the contrast on the group column:
      ``d = (ȳ₁ - ȳ₂) / s_pooled`` with ``s_pooled² = ((n₁-1)s₁² + (n₂-1)s₂²) / (n₁+n₂-2)``,
      the classic ``d_s`` (Cohen 1988; Lakens 2013 eq. 1) ``= t · sqrt(1/n₁ + 1/n₂)``;
    - with covariates: the covariate-adjusted d, the adjusted estimate over the residual SD
      of the adjusted model (smaller than the raw SD when the covariates explain variance);
    - paired (condition indicator, one column per subject): ``c β̂`` is the mean within-subject
      difference ``d̄`` and the residual SD, once subject means and the condition effect are
      removed, is ``s_diff / sqrt(2)``, so ``d = sqrt(2) · d̄ / s_diff = sqrt(2) · d_z``: the
      mean difference in units of the within-subject error SD (one input's deviation from
      its subject's level). Under compound symmetry (variance σ², correlation ρ) that SD is
      ``σ sqrt(1 - ρ)``. ``d_z = d / sqrt(2) = t / sqrt(n)`` (Lakens 2013 eq. 5-6).

    At the first level (a run's time series, or fixed effects over runs) there is no single
    residual SD of the inputs' population: runs have their own noise, and a scan-to-scan SD
    does not describe differences between observations of interest. Pass ``fit=None`` there:
    ``cohens_d`` is then ``None`` (omitted from tables) and only the estimate and its CI are
    given. Voxels with ``sigma2 == 0`` (data fitted exactly) get d = NaN.
Partial eta squared (F contrasts)
    ``η²p = F · df₁ / (F · df₁ + df₂)`` with ``df₁ = df_num``, ``df₂ = dof`` (Cohen 1973;
    Lakens 2013 eq. 13). For a least-squares fit this is exactly
    ``SS_effect / (SS_effect + SS_error)``, with ``SS_effect`` the extra sum of squares of the
    contrast (full vs. reduced model) and ``SS_error`` the residual sum of squares. A multi-row
    F contrast has a vector estimate, so F contrasts get ``partial_eta2`` only.

References
----------
Cohen, J. (1973). Eta-squared and partial eta-squared in fixed factor ANOVA designs.
Educational and Psychological Measurement, 33, 107-112.
Cohen, J. (1988). Statistical power analysis for the behavioral sciences (2nd ed.).
Lakens, D. (2013). Calculating and reporting effect sizes to facilitate cumulative science:
a practical primer for t-tests and ANOVAs. Frontiers in Psychology, 4, 863.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..errors import ContrastError

#: Peaks-table columns of a t contrast (``cohens_d`` only when a fit is given).
T_EFFECT_COLUMNS = ("effect", "effect_ci_low", "effect_ci_high", "cohens_d")
#: Peaks-table columns of an F contrast.
F_EFFECT_COLUMNS = ("partial_eta2",)
#: Clusters-table column of the mean contrast estimate over a cluster's voxels.
CLUSTER_EFFECT_COLUMN = "mean_effect"
#: Default confidence level of the interval around the contrast estimate.
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True, slots=True, kw_only=True)
class VoxelEffects:
    """Effect sizes of one contrast at a set of voxels (all in-mask voxels, or some of them).

    Attributes
    ----------
    stat_type : {'t', 'F'}
    level : float
        Confidence level of the interval (t contrasts).
    dof : float
        Error degrees of freedom used for the interval.
    effect : (m,) ndarray or None
        Contrast estimate ``c β̂`` (t contrasts; None for F).
    se : (m,) ndarray or None
        Its standard error.
    ci_low, ci_high : (m,) ndarray or None
        Bounds of the two-sided ``level`` confidence interval.
    cohens_d : (m,) ndarray or None
        ``effect / residual SD``; None for F contrasts and when no fit was given.
    partial_eta2 : (m,) ndarray or None
        ``F df₁ / (F df₁ + df₂)`` (F contrasts; None for t).
    """

    stat_type: str
    level: float
    dof: float
    effect: np.ndarray | None = None
    se: np.ndarray | None = None
    ci_low: np.ndarray | None = None
    ci_high: np.ndarray | None = None
    cohens_d: np.ndarray | None = None
    partial_eta2: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        """Table columns: ``T_EFFECT_COLUMNS`` (t; no ``cohens_d`` when it is None) or
        ``F_EFFECT_COLUMNS`` (F), one row per voxel."""
        if self.stat_type == "F":
            return pd.DataFrame({"partial_eta2": self.partial_eta2})
        columns = {
            "effect": self.effect,
            "effect_ci_low": self.ci_low,
            "effect_ci_high": self.ci_high,
        }
        if self.cohens_d is not None:
            columns["cohens_d"] = self.cohens_d
        return pd.DataFrame(columns)


def t_critical(dof: float, level: float = DEFAULT_LEVEL) -> float:
    """Two-sided critical value ``t_{(1 + level)/2, dof}`` of Student's t.

    Parameters
    ----------
    dof : float
        Degrees of freedom (> 0, may be fractional).
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    float
        E.g. 2.0930 for ``dof = 19``, ``level = 0.95``.
    """
    _check_level(level)
    if not (np.isfinite(dof) and dof > 0):
        raise ContrastError(f"degrees of freedom must be positive and finite; got {dof!r:.40}.")
    return float(special.stdtrit(float(dof), 0.5 * (1.0 + level)))


def partial_eta_squared(f: np.ndarray, df_num: float, df_den: float) -> np.ndarray:
    """Partial η² from F values: ``F df₁ / (F df₁ + df₂)`` (Cohen 1973; Lakens 2013 eq. 13).

    Parameters
    ----------
    f : (m,) ndarray
        F statistics (>= 0).
    df_num, df_den : float
        Numerator and denominator (error) degrees of freedom.

    Returns
    -------
    (m,) ndarray of float64
        In [0, 1]; 1 where F is infinite, NaN where F is NaN.
    """
    f = np.asarray(f, dtype=np.float64)
    num = f * float(df_num)
    with np.errstate(invalid="ignore"):
        out = num / (num + float(df_den))
    return np.where(np.isposinf(f), 1.0, out)


def voxel_effects(
    contrast: Any, fit: Any | None = None, *, level: float = DEFAULT_LEVEL
) -> VoxelEffects:
    """Effect sizes of a contrast at every in-mask voxel.

    Parameters
    ----------
    contrast : ContrastResult
        Uses ``stat_type``, ``effect`` (q, v), ``variance`` (q, q, v), ``stat`` (v,), ``dof``,
        ``df_num`` (see the module docstring).
    fit : GLMFit or None
        Uses ``sigma2`` (v,), for Cohen's d of a t contrast. None at the first level (no
        ``cohens_d``).
    level : float
        Confidence level of the interval around the estimate.

    Returns
    -------
    VoxelEffects
        Arrays of shape (v,).

    Raises
    ------
    ContrastError
        Inconsistent shapes between the contrast's arrays or between contrast and fit.
    """
    return _effects_at(contrast, fit, slice(None), level)


def peak_effects(
    contrast: Any,
    fit: Any | None,
    voxel_indices: np.ndarray,
    *,
    level: float = DEFAULT_LEVEL,
) -> pd.DataFrame:
    """Effect sizes at table peaks, one row per peak, in the order given.

    Parameters
    ----------
    contrast : ContrastResult
        See :func:`voxel_effects`.
    fit : GLMFit or None
        See :func:`voxel_effects`.
    voxel_indices : (m,) ndarray of int
        In-mask index of each peak (position in ``volume[mask]``), e.g. from
        ``clusters.voxel_index(peaks[["peak_x", "peak_y", "peak_z"]], mask=, affine=)``;
        -1 (outside the mask) gives a row of NaN.
    level : float
        Confidence level of the interval.

    Returns
    -------
    DataFrame
        t: ``effect``, ``effect_ci_low``, ``effect_ci_high`` and, when ``fit`` is given,
        ``cohens_d``; F: ``partial_eta2``. Index 0..m-1, ready to ``pd.concat(axis=1)`` with
        the peaks table after ``reset_index(drop=True)``.

    Raises
    ------
    ContrastError
        Indices out of range, or shapes as in :func:`voxel_effects`.
    """
    v = _n_voxels(contrast)
    idx = np.asarray(voxel_indices)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise ContrastError(
            f"voxel indices must be a 1D integer array; got {idx.dtype} {idx.shape}."
        )
    idx = idx.astype(np.intp)
    if idx.size and (idx.min() < -1 or idx.max() >= v):
        raise ContrastError(f"voxel indices must lie in [-1, {v}); got {idx.min()}..{idx.max()}.")
    inside = idx >= 0
    found = _effects_at(contrast, fit, idx[inside], level).to_frame()
    out = pd.DataFrame(np.nan, index=np.arange(idx.size), columns=found.columns, dtype=np.float64)
    out.loc[inside, :] = found.to_numpy()
    return out


def cluster_mean_effect(contrast: Any, cluster_labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean contrast estimate over each cluster's voxels (the clusters table's ``mean_effect``).

    Parameters
    ----------
    contrast : ContrastResult
        Uses ``effect`` (q, v).
    cluster_labels : (v,) ndarray of int
        0 outside clusters, ``k`` in the cluster whose ``cluster_id`` is k (1..n_clusters), as
        ``CorrectionResult.cluster_labels``.
    n_clusters : int
        Number of clusters (rows of the clusters table).

    Returns
    -------
    (n_clusters,) ndarray of float64
        Row ``k - 1`` is the mean of ``effect`` over the voxels labelled k (in the inputs'
        units; negative for a negative cluster); NaN for a cluster without voxels, and for
        every cluster of an F contrast of several rows (its estimate is a vector).

    Raises
    ------
    ContrastError
        Labels of the wrong shape or outside 0..n_clusters.
    """
    v = _n_voxels(contrast)
    labels = np.asarray(cluster_labels)
    if labels.shape != (v,) or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise ContrastError(
            f"cluster labels must be an integer array of shape ({v},); "
            f"got {labels.dtype} {labels.shape}."
        )
    n = int(n_clusters)
    if n < 0 or (labels.size and (labels.min() < 0 or labels.max() > n)):
        raise ContrastError(f"cluster labels must lie in 0..{n}.")
    effect = np.asarray(contrast.effect, dtype=np.float64)
    if effect.shape[0] != 1:
        return np.full(n, np.nan)
    sums = np.bincount(labels, weights=effect[0], minlength=n + 1)[1:]
    counts = np.bincount(labels, minlength=n + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _effects_at(contrast: Any, fit: Any | None, where: Any, level: float) -> VoxelEffects:
    """Effect sizes at the voxels ``where`` (a slice or an index array)."""
    _check_level(level)
    v = _n_voxels(contrast)
    stat_type = contrast.stat_type
    dof = float(contrast.dof)
    if stat_type == "F":
        stat = _voxel_array(contrast.stat, v, "stat")[where]
        eta = partial_eta_squared(stat, float(contrast.df_num), dof)
        return VoxelEffects(stat_type="F", level=level, dof=dof, partial_eta2=eta)
    if stat_type != "t":
        raise ContrastError(f"stat_type must be 't' or 'F'; got {stat_type!r:.20}.")
    effect = np.asarray(contrast.effect, dtype=np.float64)[0, where]
    variance = np.asarray(contrast.variance, dtype=np.float64)
    if variance.shape != (1, 1, v):
        raise ContrastError(
            f"a t contrast's variance must have shape (1, 1, {v}); got {variance.shape}."
        )
    se = np.sqrt(np.maximum(variance[0, 0, where], 0.0))
    half = t_critical(dof, level) * se
    d = None
    if fit is not None:
        sigma = np.sqrt(np.maximum(_voxel_array(fit.sigma2, v, "the fit's sigma2")[where], 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(sigma > 0, effect / np.where(sigma > 0, sigma, 1.0), np.nan)
    return VoxelEffects(
        stat_type="t",
        level=level,
        dof=dof,
        effect=effect,
        se=se,
        ci_low=effect - half,
        ci_high=effect + half,
        cohens_d=d,
    )


def _n_voxels(contrast: Any) -> int:
    effect = np.asarray(contrast.effect)
    if effect.ndim != 2:
        raise ContrastError(f"a contrast's effect must be 2D (q, v); got shape {effect.shape}.")
    return int(effect.shape[1])


def _voxel_array(values: Any, v: int, what: str) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (v,):
        raise ContrastError(f"{what} must have shape ({v},) like the contrast; got {out.shape}.")
    return out


def _check_level(level: float) -> None:
    if not (isinstance(level, int | float) and 0.0 < float(level) < 1.0):
        raise ValueError(f"confidence level must lie strictly between 0 and 1; got {level!r:.40}.")
