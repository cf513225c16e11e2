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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..config.specs import AriParams, CorrectionSpec
from ..errors import InferenceError
from ..glm.results import ContrastResult
from .cluster_index import signed_labels
from .clusters import ClusterSet, apply_extent, find_clusters
from .context import InferenceContext
from .results import CorrectionResult
from .scales import check_probability, resolve_two_sided, z_to_stat
from .thresholds import make_correction

__all__ = [
    "apply_ari",
    "cluster_tdp",
    "hommel_value",
    "tdp_bound",
    "true_discoveries",
]


def _p_values(z: np.ndarray, two_sided: bool) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if two_sided:
        return np.minimum(1.0, 2.0 * special.ndtr(-np.abs(z)))
    return special.ndtr(-z)


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
    alpha = check_probability(alpha)
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
    alpha = check_probability(alpha)
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
    alpha = check_probability(alpha)
    z = np.asarray(z, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if labels.shape != z.shape:
        raise InferenceError(f"labels must have the shape of z {z.shape}; got {labels.shape}.")
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
        reported; ARI's bounds stay valid for any selection);
        :class:`~glmreport.config.specs.AriParams` ``thresholds``, the z cluster-forming
        thresholds (default ``(2.5, 3.5, 4.5)``).
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
    if contrast.conjunction:
        raise InferenceError(
            f"ARI of the conjunction '{contrast.name}' is not available (its Simes bounds are "
            "not established under the conjunction null): correct it with uncorrected, fdr, "
            "bonferroni or rft thresholds."
        )
    two_sided, note = resolve_two_sided(contrast, spec)
    params: AriParams = spec.params  # type: ignore[assignment]
    thresholds = list(params.thresholds)
    z = np.asarray(contrast.z, dtype=np.float64)
    levels = _Levels(
        contrast=contrast,
        ctx=ctx,
        z=z,
        alpha=float(spec.alpha),
        two_sided=two_sided,
        extent=max(int(spec.cluster_extent), 0),
        hommel=_hommel_from_p(_p_values(z, two_sided), float(spec.alpha)),
    )
    blocks, tdp_map, index = levels.blocks(thresholds)
    thresholds_stat = [
        float(z_to_stat(t, contrast.stat_type, contrast.dof, contrast.df_num)) for t in thresholds
    ]
    extras: dict[str, Any] = {
        "hommel_value": int(levels.hommel),
        "thresholds": [float(t) for t in thresholds],
        "thresholds_stat": thresholds_stat,
        "n_tests": int(z.size),
        "n_clusters_formed": [b.n_formed for b in blocks],
        "n_clusters_tdp_positive": [b.n_positive for b in blocks],
    }
    base = make_correction(
        contrast,
        spec,
        ctx,
        method="ari",
        desc=spec.result_desc("ari"),
        route="ari",
        title=_title(spec.alpha, thresholds, two_sided, levels.extent),
        threshold_z=thresholds[0],
        threshold_stat=thresholds_stat[0],
        surviving=tdp_map > 0,
        two_sided=two_sided,
        cluster_extent=0,
        params={**params.to_dict(), **note},
        extras=extras,
        maps={"tdp": tdp_map},
    )
    clusters, peaks = _tables(blocks, base)
    return [
        replace(
            base,
            clusters=clusters,
            peaks=peaks,
            cluster_extent=levels.extent,
            cluster_index=index[0] if len(index) == 1 else index,
        )
    ]


def _title(alpha: float, thresholds: list[float], two_sided: bool, extent: int) -> str:
    shown = ", ".join(f"{t:g}" for t in thresholds)
    title = f"ARI true discovery proportion (\u03b1 = {alpha:g}), clusters z > {shown}"
    if two_sided:
        title += ", two-sided"
    if extent > 1:
        title += f", k \u2265 {extent}"
    return title


@dataclass(frozen=True, slots=True, kw_only=True)
class _Block:
    """The clusters of one threshold with TDP > 0 (ids local to the block)."""

    threshold: float
    clusters: ClusterSet
    tdp: dict[int, float]
    parents: dict[int, int]
    n_formed: int
    n_positive: int


@dataclass(frozen=True, slots=True, kw_only=True)
class _Levels:
    """Clusters of one contrast at each threshold, and their TDP bounds."""

    contrast: ContrastResult
    ctx: InferenceContext
    z: np.ndarray
    alpha: float
    two_sided: bool
    extent: int
    hommel: int

    def clusters_of(self, selected: np.ndarray) -> ClusterSet:
        ctx = self.ctx
        return find_clusters(
            self.z,
            selected,
            mask=ctx.mask,
            affine=ctx.affine,
            stat=self.contrast.stat,
            two_sided=self.two_sided,
            connectivity=ctx.connectivity,
            min_distance_mm=ctx.peak_min_distance_mm,
            max_subpeaks=ctx.max_subpeaks,
        )

    def tdp(self, labels: np.ndarray) -> dict[int, float]:
        return cluster_tdp(
            self.z, labels, alpha=self.alpha, two_sided=self.two_sided, hommel=self.hommel
        )

    def blocks(self, thresholds: list[float]) -> tuple[list[_Block], np.ndarray, np.ndarray]:
        """Each threshold's clusters with TDP > 0, the TDP map (highest threshold wins) and
        the cluster index map of each threshold (numbered on through the table, as
        :func:`_tables`)."""
        z, two_sided, ctx = self.z, self.two_sided, self.ctx
        score = np.where(np.isnan(z), -np.inf, np.abs(z) if two_sided else z)
        sign = np.where(z < 0, -1, 1).astype(np.int8) if two_sided else None
        tdp_map = np.zeros(z.shape)
        blocks: list[_Block] = []
        index: list[np.ndarray] = []
        previous: np.ndarray | None = None  # labels of the last block, final numbering
        offset = 0
        for thr in thresholds:
            formed = score > thr
            if self.extent > 1:
                formed = apply_extent(formed, sign, ctx.mask, self.extent, ctx.connectivity)
            all_set = self.clusters_of(formed)
            tdp_all = self.tdp(all_set.labels)
            lookup = np.zeros(all_set.n_clusters + 1)
            for k, value in tdp_all.items():
                lookup[k] = value
            tdp_map = np.where(all_set.labels > 0, lookup[all_set.labels], tdp_map)
            positive_ids = [k for k, value in tdp_all.items() if value > 0]
            kept = np.isin(all_set.labels, positive_ids) & (all_set.labels > 0)
            cset = self.clusters_of(kept)
            blocks.append(
                _Block(
                    threshold=thr,
                    clusters=cset,
                    tdp=self.tdp(cset.labels),
                    parents=_parents(cset, previous),
                    n_formed=all_set.n_clusters,
                    n_positive=len(positive_ids),
                )
            )
            previous = np.where(cset.labels > 0, cset.labels + offset, 0)
            index.append(signed_labels(cset.labels, cset.clusters, offset=offset))
            offset += cset.n_clusters
        return blocks, tdp_map, np.stack(index) if index else np.zeros((0, z.size), np.int32)


def _parents(cset: ClusterSet, previous: np.ndarray | None) -> dict[int, int]:
    """Cluster of the previous block (its final id) containing each cluster of ``cset``."""
    parents: dict[int, int] = {}
    if previous is not None:
        for k in range(1, cset.n_clusters + 1):
            inside = previous[cset.labels == k]
            parents[k] = int(inside.max()) if inside.size else 0
    return parents


def _tables(blocks: list[_Block], base: CorrectionResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clusters and peaks tables of all blocks, ids numbered over the whole table."""
    cluster_parts: list[pd.DataFrame] = []
    peak_parts: list[pd.DataFrame] = []
    offset = 0
    for block in blocks:
        cset, tdp = block.clusters, block.tdp
        cl = cset.clusters.copy()
        ids = cl["cluster_id"].to_numpy(dtype=np.int64)
        cl["cluster_id"] = ids + offset
        cl["threshold_z"] = float(block.threshold)
        cl["tdp"] = [tdp.get(int(k), 0.0) for k in ids]
        cl["min_true_voxels"] = np.rint(cl["tdp"].to_numpy() * cl["size_voxels"].to_numpy())
        cl["min_true_voxels"] = cl["min_true_voxels"].astype(np.int64)
        cl["parent_id"] = np.array([block.parents.get(int(k), 0) for k in ids], dtype=np.int64)
        pk = cset.peaks.copy()
        main = pk["cluster_id"].astype(str).str.extract(r"^(\d+)")[0].astype(np.int64)
        pk["cluster_id"] = _renumber_peaks(pk, offset).astype(object)
        pk["threshold_z"] = float(block.threshold)
        pk["tdp"] = [tdp.get(int(k), 0.0) for k in main]
        cluster_parts.append(cl)
        peak_parts.append(pk)
        offset += cset.n_clusters
    return _concat(cluster_parts, base.clusters), _concat(peak_parts, base.peaks)


def _concat(parts: Sequence[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    non_empty = [p for p in parts if len(p)]
    if not non_empty:
        out = parts[0] if parts else empty
        return out.reset_index(drop=True)
    return pd.concat(non_empty, ignore_index=True)
