"""Voxel height thresholds: uncorrected, FDR (Benjamini-Hochberg) and Bonferroni.

Every threshold is computed on the z scale and also reported in the contrast's own units
(t or F) with the same p-value. The numbers follow nilearn's ``threshold_stats_img``:

- uncorrected: ``z_thr = isf(alpha')``;
- Bonferroni: ``z_thr = isf(alpha' / n_voxels)``;
- FDR: Benjamini-Hochberg on ``p = sf(z)`` (:func:`bh_rejections`, the one implementation,
  also used by RFT's q-values); ``z_thr`` is the smallest z among the rejected voxels (the BH
  critical value), ``inf`` when nothing is rejected;

where ``alpha' = alpha / 2`` and ``|z|`` replaces ``z`` for two-sided inference (so the
two-sided p of a voxel is ``2 * sf(|z|)``). A voxel survives when ``z >= z_thr`` (``|z| >=
z_thr`` two-sided), as in nilearn. F contrasts are one-sided by nature: a two-sided request
is treated as one-sided and recorded in ``params["two_sided_ignored"]``.

``threshold_stat`` is the positive t (or F) value with the same p as ``threshold_z``; for a
two-sided t test it applies to ``|t|``. ``threshold_z`` (and ``threshold_stat``) are kept as
floats and may be ``math.inf`` (FDR with no discovery); writers turn non-finite numbers into
JSON ``null``. A cluster extent ``k`` keeps clusters of at least ``k`` voxels (nilearn's
``cluster_threshold`` rule), positive and negative clusters separately, with the
connectivity of the :class:`~glmreport.inference.context.InferenceContext`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..config.specs import CorrectionSpec
from ..glm.distributions import norm_isf, norm_sf
from ..glm.results import ContrastResult
from .clusters import apply_extent, find_clusters
from .context import InferenceContext
from .results import CorrectionResult
from .scales import check_probability, resolve_two_sided, z_to_stat

__all__ = [
    "apply_bonferroni",
    "apply_fdr",
    "apply_uncorrected",
    "bh_adjusted",
    "bh_rejections",
    "bonferroni_threshold",
    "fdr_threshold",
    "make_correction",
    "uncorrected_threshold",
]


def uncorrected_threshold(alpha: float, *, two_sided: bool = False) -> float:
    """z threshold of an uncorrected voxel-wise test at level ``alpha``.

    Parameters
    ----------
    alpha : float
        Voxel-wise false positive rate.
    two_sided : bool
        If True, ``alpha`` is split between both tails (threshold on ``|z|``).

    Returns
    -------
    float
        ``norm.isf(alpha)`` (``norm.isf(alpha / 2)`` two-sided).
    """
    alpha = check_probability(alpha)
    return float(norm_isf(alpha / 2 if two_sided else alpha))


def bonferroni_threshold(n_voxels: int, alpha: float, *, two_sided: bool = False) -> float:
    """z threshold controlling the family-wise error rate by Bonferroni.

    Parameters
    ----------
    n_voxels : int
        Number of tests (in-mask voxels).
    alpha : float
        Family-wise error rate.
    two_sided : bool
        If True, ``alpha`` is split between both tails (threshold on ``|z|``).

    Returns
    -------
    float
        ``norm.isf(alpha / n_voxels)`` (``alpha / 2`` two-sided); ``inf`` for no voxels.
    """
    alpha = check_probability(alpha)
    if n_voxels <= 0:
        return math.inf
    a = alpha / 2 if two_sided else alpha
    return float(norm_isf(a / n_voxels))


def bh_rejections(p: np.ndarray, q: float) -> int:
    """Number of tests the Benjamini-Hochberg procedure rejects at level ``q``.

    Parameters
    ----------
    p : (m,) array_like
        p-values of all tests, in any order (NaN counts as a test that is never rejected).
    q : float
        False discovery rate.

    Returns
    -------
    int
        The largest ``k`` with ``p_(k) <= k q / m`` (sorted ascending; Benjamini & Hochberg
        1995), 0 when there is none: the tests with the ``k`` smallest p-values are rejected.
    """
    ps = np.sort(np.asarray(p, dtype=np.float64).ravel())
    m = ps.size
    if m == 0:
        return 0
    below = np.flatnonzero(ps <= q * np.arange(1, m + 1) / m)
    return int(below[-1]) + 1 if below.size else 0


def bh_adjusted(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted p-values and their Benjamini-Hochberg adjusted values (q-values).

    Parameters
    ----------
    p : (m,) array_like
        p-values of one family, in any order.

    Returns
    -------
    sorted_p, q : (m,) ndarray
        ``q_(k) = min(1, min_{j >= k} p_(j) m / j)``: a test is among the
        :func:`bh_rejections` at level ``alpha`` exactly when its q is at most ``alpha`` (up
        to rounding).
    """
    ps = np.sort(np.asarray(p, dtype=np.float64).ravel())
    m = ps.size
    if m == 0:
        return ps, ps
    adj = ps * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    return ps, np.minimum(adj, 1.0)


def fdr_threshold(z: np.ndarray, alpha: float, *, two_sided: bool = False) -> float:
    """Benjamini-Hochberg critical value on the z scale.

    Parameters
    ----------
    z : (v,) ndarray
        z values of all tests; NaN counts as a test that is never rejected.
    alpha : float
        False discovery rate, in (0, 1).
    two_sided : bool
        If True, tests use ``|z|`` with two-sided p-values ``2 * sf(|z|)``.

    Returns
    -------
    float
        The smallest (absolute) z among the rejected tests, so that ``z >= threshold``
        selects exactly the BH discoveries; ``inf`` when nothing is rejected.

    Notes
    -----
    :func:`bh_rejections` on ``p_(k) = sf(z_(k))`` at ``alpha' = alpha / 2`` two-sided: the
    tests up to the largest ``k`` with ``p_(k) <= alpha' k / n`` are rejected. nilearn's
    ``fdr_threshold`` uses ``<`` (and returns this value minus 1e-12); the two differ only
    when a p-value equals its BH bound exactly.
    """
    alpha = check_probability(alpha)
    values = np.asarray(z, dtype=np.float64).ravel()
    if two_sided:
        values = np.abs(values)
    values = np.where(np.isnan(values), -np.inf, values)
    if values.size == 0:
        return math.inf
    z_desc = -np.sort(-values)
    k = bh_rejections(norm_sf(z_desc), alpha / 2 if two_sided else alpha)
    return float(z_desc[k - 1]) if k else math.inf


def _format_alpha(alpha: float) -> str:
    return f"{alpha:g}"


def _title_suffix(two_sided: bool, cluster_extent: int) -> str:
    out = ""
    if two_sided:
        out += ", two-sided"
    if cluster_extent > 0:
        out += f", k \u2265 {cluster_extent}"
    return out


def make_correction(
    contrast: ContrastResult,
    spec: CorrectionSpec,
    ctx: InferenceContext,
    *,
    method: str,
    desc: str,
    title: str,
    threshold_z: float | None,
    surviving: np.ndarray,
    threshold_stat: float | None = None,
    two_sided: bool | None = None,
    cluster_extent: int | None = None,
    params: dict[str, Any] | None = None,
    extras: dict[str, Any] | None = None,
    maps: dict[str, np.ndarray] | None = None,
    arrays: dict[str, np.ndarray] | None = None,
    route: str | None = None,
) -> CorrectionResult:
    """Apply the cluster extent filter, tabulate clusters and build a CorrectionResult.

    Parameters
    ----------
    contrast : ContrastResult
    spec : CorrectionSpec
    ctx : InferenceContext
        Supplies ``mask``, ``affine``, ``connectivity``, ``peak_min_distance_mm`` and
        ``max_subpeaks``.
    method, desc, title : str
        As in :class:`~glmreport.inference.results.CorrectionResult` (``title`` is used as is).
    threshold_z : float or None
        Voxel height threshold on the z scale (None if the method has none; may be inf).
    surviving : (v,) ndarray of bool
        Voxels surviving the height threshold, before the extent filter.
    threshold_stat : float or None
        The threshold in t/F units; by default derived from ``threshold_z`` with
        :func:`z_to_stat`.
    two_sided : bool or None
        Default: :func:`resolve_two_sided` (``spec.two_sided``, never for F contrasts).
    cluster_extent : int or None
        Minimum cluster size in voxels (``size >= k`` survives); default
        ``spec.cluster_extent``. Applied separately to positive and negative clusters.
    params : dict, optional
        Stored as ``params``; defaults to ``spec.params.to_dict()``. The two-sided note for
        F contrasts is added when applicable.
    extras, maps, arrays : dict, optional
        Stored as is.
    route : str, optional
        The result's default name (``permMaxT``, ``fdr`` ...); default ``desc``. Pass
        ``desc=spec.result_desc(route)`` so entries of one method get their own labels.

    Returns
    -------
    CorrectionResult
    """
    note: dict[str, Any] = {}
    if two_sided is None:
        two_sided, note = resolve_two_sided(contrast, spec)
    extent = int(spec.cluster_extent if cluster_extent is None else cluster_extent)
    surviving = np.asarray(surviving, dtype=bool)
    z = np.asarray(contrast.z, dtype=np.float64)
    if extent > 1:
        sign = np.where(z < 0, -1, 1).astype(np.int8) if two_sided else None
        surviving = apply_extent(surviving, sign, ctx.mask, extent, ctx.connectivity)
    cset = find_clusters(
        z,
        surviving,
        mask=ctx.mask,
        affine=ctx.affine,
        stat=contrast.stat,
        two_sided=two_sided,
        connectivity=ctx.connectivity,
        min_distance_mm=ctx.peak_min_distance_mm,
        max_subpeaks=ctx.max_subpeaks,
    )
    if threshold_stat is None and threshold_z is not None:
        threshold_stat = z_to_stat(threshold_z, contrast.stat_type, contrast.dof, contrast.df_num)
    return CorrectionResult(
        method=method,
        desc=desc,
        title=title,
        alpha=float(spec.alpha),
        two_sided=bool(two_sided),
        threshold_z=None if threshold_z is None else float(threshold_z),
        threshold_stat=None if threshold_stat is None else float(threshold_stat),
        cluster_extent=max(extent, 0),
        surviving=surviving,
        clusters=cset.clusters,
        peaks=cset.peaks,
        params={**(_params_of(spec) if params is None else params), **note},
        extras=dict(extras or {}),
        maps=dict(maps or {}),
        arrays=dict(arrays or {}),
        cluster_labels=cset.labels,
        route=route or desc,
    )


def _params_of(spec: CorrectionSpec) -> dict[str, Any]:
    """The entry's parameters as recorded in ``summary.json`` (``{}`` without any)."""
    return spec.params.to_dict() if spec.params is not None else {}


def _height(
    contrast: ContrastResult,
    spec: CorrectionSpec,
    ctx: InferenceContext,
    *,
    method: str,
    title: str,
    threshold_of: Any,
    extras_of: Any,
) -> list[CorrectionResult]:
    two_sided, note = resolve_two_sided(contrast, spec)
    z = np.asarray(contrast.z, dtype=np.float64)
    threshold_z = float(threshold_of(z, two_sided))
    scores = np.abs(z) if two_sided else z
    # NaN never survives, nor anything under an infinite threshold
    surviving = scores >= threshold_z if math.isfinite(threshold_z) else np.zeros(z.shape, bool)
    extent = int(spec.cluster_extent)
    result = make_correction(
        contrast,
        spec,
        ctx,
        method=method,
        desc=spec.result_desc(method),
        route=method,
        title=title + _title_suffix(two_sided, extent),
        threshold_z=threshold_z,
        surviving=surviving,
        two_sided=two_sided,
        params={**_params_of(spec), **note},
        extras={"n_tests": int(z.size), **extras_of(z, two_sided, threshold_z)},
    )
    return [result]


def apply_uncorrected(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Threshold at an uncorrected voxel-wise ``p < alpha`` (optionally with a cluster extent).

    Returns
    -------
    list of CorrectionResult
        One result, ``desc == spec.desc`` (default ``"uncorrected"``); title e.g.
        ``"p < 0.001 uncorrected, k ≥ 10"``.
    """
    return _height(
        contrast,
        spec,
        ctx,
        method="uncorrected",
        title=f"p < {_format_alpha(spec.alpha)} uncorrected",
        threshold_of=lambda z, two: uncorrected_threshold(spec.alpha, two_sided=two),
        extras_of=lambda z, two, thr: {"p_threshold_voxel": float(spec.alpha)},
    )


def apply_fdr(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Benjamini-Hochberg false discovery rate control at ``q < alpha``.

    Returns
    -------
    list of CorrectionResult
        One result, ``desc == spec.desc`` (default ``"fdr"``); ``threshold_z`` is the BH
        critical value (``inf`` when nothing is discovered, then ``threshold_stat`` is ``inf``
        too).
    """

    def extras(z: np.ndarray, two_sided: bool, threshold_z: float) -> dict[str, Any]:
        scores = np.abs(z) if two_sided else z
        return {"n_discoveries": int(np.count_nonzero(scores >= threshold_z))}

    return _height(
        contrast,
        spec,
        ctx,
        method="fdr",
        title=f"FDR q < {_format_alpha(spec.alpha)} (Benjamini\u2013Hochberg)",
        threshold_of=lambda z, two: fdr_threshold(z, spec.alpha, two_sided=two),
        extras_of=extras,
    )


def apply_bonferroni(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Family-wise error control by Bonferroni over the in-mask voxels.

    Returns
    -------
    list of CorrectionResult
        One result, ``desc == spec.desc`` (default ``"bonferroni"``).
    """

    def extras(z: np.ndarray, two_sided: bool, threshold_z: float) -> dict[str, Any]:
        return {"p_threshold_voxel": float(spec.alpha) / max(int(z.size), 1)}

    return _height(
        contrast,
        spec,
        ctx,
        method="bonferroni",
        title=f"Bonferroni p < {_format_alpha(spec.alpha)} (FWE)",
        threshold_of=lambda z, two: bonferroni_threshold(z.size, spec.alpha, two_sided=two),
        extras_of=extras,
    )
