"""All-resolution inference (ARI): true discovery proportion bounds for clusters.

ARI (Rosenblatt et al. 2018, after Goeman & Solari 2011) gives, simultaneously for every set
of voxels however it was chosen, a lower confidence bound on the number of truly active voxels
it contains, from closed testing with Simes local tests. Everything depends on the map through
one number, the Hommel value ``h``:

- p-values ``p_i = sf(z_i)`` (one-sided), or ``2 sf(|z_i|)`` for two-sided inference, over all
  ``m`` in-mask voxels, sorted ascending ``p_(1) <= ... <= p_(m)``;
- ``h = max{ i in 0..m : i p_(m-i+j) > j alpha for j = 1..i }``, computed geometrically: ``h = m``
  when ``p_(1) > alpha``; ``h = 0`` when ``p_(m) <= alpha``; otherwise with
  ``s = max_{k<m} (alpha - p_(k)) / (m - k)``, ``h = min(m, floor(alpha / s))`` (the same
  construction as nilearn's ``_compute_hommel_value``).
- for a set ``S`` of ``n`` voxels, with ``c_i = max(1, ceil(h p_i / alpha))``, the number of
  true discoveries is at least ``d(S) = max_{u >= 1} (1 - u + #{i in S : c_i <= u})`` (and at
  least 0), and the true discovery proportion (TDP) at least ``d(S) / n``, with confidence
  ``1 - alpha`` simultaneously over all ``S``. This is nilearn's ``_true_positive_fraction``,
  except that ``u`` starts at 1: nilearn also counts ``u = 0`` when ``h = 0`` or a p-value
  underflows to 0 (``|z| > 38``), which can give a "proportion" above 1.

Clusters are the connected components of ``z > threshold`` for each threshold (strictly
greater, as nilearn); a two-sided analysis forms clusters of ``z > t`` and ``z < -t``
separately and uses two-sided p-values throughout (nilearn's ``cluster_level_inference`` is
one-sided positive only, which is the default here). The TDP map gives every voxel the TDP
bound of the cluster at the highest threshold that contains it (nilearn's map). Because the
bound is monotone (a superset never has fewer guaranteed discoveries), a voxel has TDP > 0 if
and only if its cluster at the lowest threshold has TDP > 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..config.specs import CorrectionSpec
from ..errors import ConfigError
from ..glm.results import ContrastResult
from .clusters import ClusterSet, apply_extent, find_clusters
from .context import InferenceContext
from .results import CorrectionResult
from .scales import resolve_two_sided, z_to_stat
from .thresholds import make_correction

__all__ = [
    "DEFAULT_THRESHOLDS",
    "apply_ari",
    "cluster_tdp",
    "hommel_value",
    "tdp_bound",
    "true_discoveries",
]

#: Cluster-forming thresholds (z) used when an ari entry gives none.
DEFAULT_THRESHOLDS = (3.09,)


def _p_values(z: np.ndarray, two_sided: bool) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if two_sided:
        return np.minimum(1.0, 2.0 * special.ndtr(-np.abs(z)))
    return special.ndtr(-z)


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
    return alpha


def _hommel_from_p(p: np.ndarray, alpha: float) -> int:
    p = np.sort(np.asarray(p, dtype=np.float64)[~np.isnan(p)])
    m = p.size
    if m == 0:
        return 0
    if m == 1:
        return int(p[0] > alpha)
    if p[0] > alpha:
        return m
    if p[-1] < alpha:
        return 0
    slopes = (alpha - p[:-1]) / np.arange(m - 1, 0, -1)
    slope = float(slopes.max())
    if slope <= 0:
        return m
    return int(min(math.trunc(alpha / slope), m))


def hommel_value(z: np.ndarray, alpha: float = 0.05, *, two_sided: bool = False) -> int:
    """The Hommel value ``h`` of a z map (ARI's only summary of the whole map).

    Parameters
    ----------
    z : (v,) ndarray
        z values of every in-mask voxel (NaN values are ignored).
    alpha : float
        ``1 - confidence`` of the TDP bounds.
    two_sided : bool
        Use two-sided p-values ``2 sf(|z|)``.

    Returns
    -------
    int
        ``h`` in ``0..v``; ``h = v`` means no evidence anywhere, ``h = 0`` rejects everything.
        Same value as nilearn's ``_compute_hommel_value`` for one-sided inputs.
    """
    alpha = _check_alpha(alpha)
    return _hommel_from_p(_p_values(z, two_sided), alpha)


def _discovery_criterion(p: np.ndarray, hommel: int, alpha: float) -> np.ndarray:
    """``c_i = max(1, ceil(h p_i / alpha))``."""
    with np.errstate(invalid="ignore"):
        c = np.ceil(hommel * np.asarray(p, dtype=np.float64) / alpha)
    return np.maximum(np.nan_to_num(c, nan=np.inf), 1.0)


def _bound_sorted(c_sorted: np.ndarray) -> int:
    """``max(0, max_u 1 - u + #{c <= u})`` for ascending ``c``."""
    if c_sorted.size == 0:
        return 0
    rank = np.arange(1, c_sorted.size + 1)
    return int(max(0.0, float(np.max(1.0 + rank - c_sorted))))


def true_discoveries(
    z_cluster: np.ndarray, hommel: int, alpha: float = 0.05, *, two_sided: bool = False
) -> int:
    """Lower bound on the number of truly active voxels in a set.

    Parameters
    ----------
    z_cluster : (n,) ndarray
        z values of the voxels of the set (e.g. a cluster).
    hommel : int
        Hommel value of the whole map (:func:`hommel_value`, same ``alpha`` and sidedness).
    alpha : float
    two_sided : bool

    Returns
    -------
    int
        ``d(S)`` in ``0..n`` (see the module docstring).
    """
    alpha = _check_alpha(alpha)
    c = np.sort(_discovery_criterion(_p_values(z_cluster, two_sided), int(hommel), alpha))
    return _bound_sorted(c)


def tdp_bound(
    z_cluster: np.ndarray, hommel: int, alpha: float = 0.05, *, two_sided: bool = False
) -> float:
    """Lower confidence bound on the true discovery proportion of a set of voxels.

    Parameters
    ----------
    z_cluster : (n,) ndarray
        z values of the voxels of the set.
    hommel : int
        Hommel value of the whole map (:func:`hommel_value`). The bound depends on the rest of
        the map only through it, so no voxel count of the map is needed.
    alpha : float
    two_sided : bool

    Returns
    -------
    float
        ``d(S) / n`` in [0, 1] (0 for an empty set); equal to nilearn's
        ``_true_positive_fraction`` whenever every ``h p_i > 0``.
    """
    z_cluster = np.asarray(z_cluster, dtype=np.float64).ravel()
    if z_cluster.size == 0:
        return 0.0
    return true_discoveries(z_cluster, hommel, alpha, two_sided=two_sided) / z_cluster.size


def cluster_tdp(
    z: np.ndarray,
    labels: np.ndarray,
    *,
    alpha: float = 0.05,
    two_sided: bool = False,
    hommel: int | None = None,
) -> dict[int, float]:
    """TDP lower bound of every labelled cluster, e.g. to add a TDP column to any table.

    Any clusters may be given, however they were found (another correction's clusters, a
    different threshold, anatomical regions): ARI's bounds hold simultaneously for all sets.

    Parameters
    ----------
    z : (v,) ndarray
        z values of every in-mask voxel (the Hommel value is computed from all of them).
    labels : (v,) ndarray of int
        0 outside clusters, ``k > 0`` for the voxels of cluster ``k`` (as
        :attr:`glmreport.inference.clusters.ClusterSet.labels`).
    alpha : float
    two_sided : bool
        Must match how the clusters were formed when they contain negative z.
    hommel : int, optional
        Precomputed :func:`hommel_value` (same ``alpha`` and sidedness).

    Returns
    -------
    dict of int -> float
        ``cluster_id -> TDP bound`` for every label present.
    """
    alpha = _check_alpha(alpha)
    z = np.asarray(z, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if labels.shape != z.shape:
        raise ValueError(f"labels must have the shape of z {z.shape}; got {labels.shape}.")
    p = _p_values(z, two_sided)
    h = _hommel_from_p(p, alpha) if hommel is None else int(hommel)
    inside = labels > 0
    if not inside.any():
        return {}
    lab = labels[inside].astype(np.int64)
    c = _discovery_criterion(p[inside], h, alpha)
    order = np.lexsort((c, lab))
    lab_s, c_s = lab[order], c[order]
    starts = np.flatnonzero(np.r_[True, lab_s[1:] != lab_s[:-1]])
    sizes = np.diff(np.r_[starts, lab_s.size])
    rank = np.arange(lab_s.size) - np.repeat(starts, sizes) + 1
    best = np.maximum.reduceat(1.0 + rank - c_s, starts)
    bound = np.maximum(best, 0.0)
    return {int(k): float(b / n) for k, b, n in zip(lab_s[starts], bound, sizes, strict=True)}


def _thresholds(spec: CorrectionSpec) -> list[float]:
    raw = spec.params.get("thresholds", DEFAULT_THRESHOLDS)
    if isinstance(raw, int | float):
        raw = [raw]
    try:
        values = sorted({float(t) for t in raw})
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"ari: thresholds must be a list of z values (e.g. [2.5, 3.5, 4.5]); got {raw!r}."
        ) from exc
    if not values or any(not math.isfinite(t) or t < 0 for t in values):
        raise ConfigError(
            f"ari: thresholds must be non-negative finite z values (e.g. [2.5, 3.5, 4.5]); "
            f"got {raw!r}."
        )
    return values


def _renumber_peaks(peaks: pd.DataFrame, offset: int) -> pd.Series:
    ids = peaks["cluster_id"].astype(str)
    digits = ids.str.extract(r"^(\d+)(.*)$")
    return (digits[0].astype(np.int64) + offset).astype(str) + digits[1].fillna("")


def apply_ari(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """All-resolution inference: TDP lower bounds of clusters at several thresholds.

    Parameters
    ----------
    contrast : ContrastResult
        Its ``z`` map is used (p-values are ``sf(z)``, two-sided ``2 sf(|z|)``).
    spec : CorrectionSpec
        ``alpha``; ``two_sided``; ``cluster_extent`` (clusters smaller than this are not
        reported; ARI's bounds stay valid for any selection); ``params["thresholds"]`` list
        of z cluster-forming thresholds (default ``[3.09]``).
    ctx : InferenceContext
        ``connectivity`` defines clusters (use 6 to reproduce nilearn).

    Returns
    -------
    list of CorrectionResult
        One result, ``desc == spec.desc`` (default ``"ari"``):

        - ``threshold_z`` = the lowest threshold (``threshold_stat`` its t/F equivalent);
        - ``maps["tdp"]`` (v,): every voxel gets the TDP bound of the cluster at the highest
          threshold containing it, 0 outside all clusters (nilearn's map);
        - ``surviving`` = ``tdp > 0``: voxels of lowest-threshold clusters holding at least one
          truly active voxel with confidence ``1 - alpha`` (not a claim about each voxel);
        - ``clusters``: for each threshold (ascending), the clusters with TDP > 0, ids
          numbered 1..N over the whole table; the first block (lowest threshold) is exactly
          what :func:`~glmreport.inference.clusters.find_clusters` gives for ``surviving``.
          Extra columns: ``threshold_z``, ``tdp`` (lower bound), ``min_true_voxels``
          (``d(S)``), ``parent_id`` (the cluster of the next lower threshold containing it,
          0 for the first block);
        - ``peaks``: the peaks of those clusters with renumbered ids, plus ``threshold_z`` and
          ``tdp``;
        - ``extras``: ``hommel_value``, ``thresholds`` (z), ``thresholds_stat``,
          ``n_tests``, ``n_clusters_formed`` and ``n_clusters_tdp_positive`` (per threshold).
    """
    two_sided, note = resolve_two_sided(contrast, spec)
    alpha = _check_alpha(spec.alpha)
    thresholds = _thresholds(spec)
    z = np.asarray(contrast.z, dtype=np.float64)
    score = np.where(np.isnan(z), -np.inf, np.abs(z) if two_sided else z)
    sign = np.where(z < 0, -1, 1).astype(np.int8) if two_sided else None
    p = _p_values(z, two_sided)
    h = _hommel_from_p(p, alpha)
    extent = max(int(spec.cluster_extent), 0)

    tdp_map = np.zeros(z.shape)
    blocks: list[tuple[float, ClusterSet, dict[int, float], dict[int, int]]] = []
    n_formed: list[int] = []
    n_positive: list[int] = []
    previous_labels: np.ndarray | None = None
    offset = 0

    def clusters_of(selected: np.ndarray) -> ClusterSet:
        return find_clusters(
            z,
            selected,
            mask=ctx.mask,
            affine=ctx.affine,
            stat=contrast.stat,
            two_sided=two_sided,
            connectivity=ctx.connectivity,
            min_distance_mm=ctx.peak_min_distance_mm,
            max_subpeaks=ctx.max_subpeaks,
        )

    for thr in thresholds:
        formed = score > thr
        if extent > 1:
            formed = apply_extent(formed, sign, ctx.mask, extent, ctx.connectivity)
        all_set = clusters_of(formed)
        tdp_all = cluster_tdp(z, all_set.labels, alpha=alpha, two_sided=two_sided, hommel=h)
        n_formed.append(all_set.n_clusters)
        lookup = np.zeros(all_set.n_clusters + 1)
        for k, value in tdp_all.items():
            lookup[k] = value
        tdp_map = np.where(all_set.labels > 0, lookup[all_set.labels], tdp_map)
        positive_ids = [k for k, value in tdp_all.items() if value > 0]
        n_positive.append(len(positive_ids))
        kept = np.isin(all_set.labels, positive_ids) & (all_set.labels > 0)
        cset = clusters_of(kept)
        tdp_kept = cluster_tdp(z, cset.labels, alpha=alpha, two_sided=two_sided, hommel=h)
        parents: dict[int, int] = {}
        if previous_labels is not None:
            for k in range(1, cset.n_clusters + 1):
                inside = previous_labels[cset.labels == k]
                parents[k] = int(inside.max()) if inside.size else 0
        # parent ids refer to the previous block's final (offset) numbering
        blocks.append((thr, cset, tdp_kept, parents))
        previous_labels = np.where(cset.labels > 0, cset.labels + offset, 0)
        offset += cset.n_clusters

    surviving = tdp_map > 0
    thresholds_stat = [
        float(z_to_stat(t, contrast.stat_type, contrast.dof, contrast.df_num)) for t in thresholds
    ]
    extras: dict[str, Any] = {
        "hommel_value": int(h),
        "thresholds": [float(t) for t in thresholds],
        "thresholds_stat": thresholds_stat,
        "n_tests": int(z.size),
        "n_clusters_formed": n_formed,
        "n_clusters_tdp_positive": n_positive,
    }
    shown = ", ".join(f"{t:g}" for t in thresholds)
    title = f"ARI true discovery proportion (\u03b1 = {alpha:g}), clusters z > {shown}"
    if two_sided:
        title += ", two-sided"
    if extent > 1:
        title += f", k \u2265 {extent}"
    base = make_correction(
        contrast,
        spec,
        ctx,
        method="ari",
        desc=spec.result_desc("ari"),
        route="ari",
        title=title,
        threshold_z=thresholds[0],
        threshold_stat=thresholds_stat[0],
        surviving=surviving,
        two_sided=two_sided,
        cluster_extent=0,
        params={**dict(spec.params), "thresholds": [float(t) for t in thresholds], **note},
        extras=extras,
        maps={"tdp": tdp_map},
    )

    cluster_parts: list[pd.DataFrame] = []
    peak_parts: list[pd.DataFrame] = []
    offset = 0
    for thr, cset, tdp_kept, parents in blocks:
        cl = cset.clusters.copy()
        ids = cl["cluster_id"].to_numpy(dtype=np.int64)
        cl["cluster_id"] = ids + offset
        cl["threshold_z"] = float(thr)
        cl["tdp"] = [tdp_kept.get(int(k), 0.0) for k in ids]
        cl["min_true_voxels"] = np.rint(cl["tdp"].to_numpy() * cl["size_voxels"].to_numpy())
        cl["min_true_voxels"] = cl["min_true_voxels"].astype(np.int64)
        cl["parent_id"] = np.array([parents.get(int(k), 0) for k in ids], dtype=np.int64)
        pk = cset.peaks.copy()
        main = pk["cluster_id"].astype(str).str.extract(r"^(\d+)")[0].astype(np.int64)
        pk["cluster_id"] = _renumber_peaks(pk, offset).astype(object)
        pk["threshold_z"] = float(thr)
        pk["tdp"] = [tdp_kept.get(int(k), 0.0) for k in main]
        cluster_parts.append(cl)
        peak_parts.append(pk)
        offset += cset.n_clusters
    clusters = _concat(cluster_parts, base.clusters)
    peaks = _concat(peak_parts, base.peaks)
    return [replace(base, clusters=clusters, peaks=peaks, cluster_extent=extent)]


def _concat(parts: Sequence[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    non_empty = [p for p in parts if len(p)]
    if not non_empty:
        out = parts[0] if parts else empty
        return out.reset_index(drop=True)
    return pd.concat(non_empty, ignore_index=True)
