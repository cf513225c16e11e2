"""Connected clusters of surviving voxels, their peaks and sub-peaks, as tables.

Clusters are connected components of the surviving voxels, found separately for positive and
negative values (the negative side only for two-sided inference). Each cluster's main peak is
its voxel of largest ``|z|``; sub-peaks are further local maxima of ``|z|`` within the cluster
(no neighbour of the same cluster in the 3x3x3 neighbourhood is higher), chosen greedily by
height so that every reported peak of a cluster lies more than ``min_distance_mm`` from the
ones reported before it.

Everything is vectorised over voxels: one :func:`scipy.ndimage.label` per sign, then grouped
sorts and gathers, so maps with hundreds of thousands of voxels and thousands of clusters are
tabulated in a few tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from nibabel.affines import apply_affine
from scipy import ndimage

from ..errors import InferenceError
from .connectivity import structure
from .peaks import Candidates, candidates, peak_ids, select_peaks
from .results import CLUSTER_COLUMNS, PEAK_COLUMNS

__all__ = [
    "ClusterSet",
    "apply_extent",
    "empty_clusters_table",
    "empty_peaks_table",
    "find_clusters",
    "label_clusters",
    "label_in_mask",
]

_CLUSTER_DTYPES = {
    "cluster_id": "int64",
    "sign": str,
    "size_voxels": "int64",
    "volume_mm": "float64",
    "peak_x": "float64",
    "peak_y": "float64",
    "peak_z": "float64",
    "peak_value": "float64",
    "peak_stat": "float64",
}
_PEAK_DTYPES = {**_CLUSTER_DTYPES, "cluster_id": str}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSet:
    """Clusters of surviving voxels and their peaks.

    Attributes
    ----------
    clusters : DataFrame
        One row per cluster, columns :data:`~glmreport.inference.results.CLUSTER_COLUMNS`.
        ``cluster_id`` is an int, 1..N: positive clusters first, then negative ones, each
        ordered by ``|peak z|`` descending. ``sign`` is ``'+'`` or ``'-'``.
    peaks : DataFrame
        One row per reported peak, columns :data:`~glmreport.inference.results.PEAK_COLUMNS`,
        each cluster's main peak (``cluster_id`` ``"3"``) followed by its sub-peaks
        (``"3a"``, ``"3b"`` ...). ``size_voxels`` and ``volume_mm`` repeat the cluster's.
    labels : (v,) ndarray of int64
        0 outside clusters, ``k`` inside the cluster with ``cluster_id == k`` (row ``k - 1``).
    """

    clusters: pd.DataFrame
    peaks: pd.DataFrame
    labels: np.ndarray

    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return len(self.clusters)


def empty_clusters_table() -> pd.DataFrame:
    """Return a clusters table with the :data:`CLUSTER_COLUMNS` schema and no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=_CLUSTER_DTYPES[c]) for c in CLUSTER_COLUMNS})


def empty_peaks_table() -> pd.DataFrame:
    """Return a peaks table with the :data:`PEAK_COLUMNS` schema and no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=_PEAK_DTYPES[c]) for c in PEAK_COLUMNS})


def label_clusters(surviving3d: np.ndarray, connectivity: int = 26) -> tuple[np.ndarray, int]:
    """Label the connected components of a 3D boolean map.

    Parameters
    ----------
    surviving3d : (X, Y, Z) ndarray of bool
    connectivity : {6, 18, 26}
        Voxels sharing a face (6), a face or an edge (18), or any corner (26) are connected.

    Returns
    -------
    labels : (X, Y, Z) ndarray of int32
        0 for background, 1..n for the components (in scan order of their first voxel).
    n : int
        Number of components.
    """
    surviving3d = np.asarray(surviving3d, dtype=bool)
    if surviving3d.ndim != 3:
        raise InferenceError(f"surviving3d must be 3D; got shape {surviving3d.shape}.")
    labels, n = ndimage.label(surviving3d, structure=structure(connectivity))
    return labels.astype(np.int32, copy=False), int(n)


def label_in_mask(
    group: np.ndarray, mask: np.ndarray, neighbours: np.ndarray
) -> tuple[np.ndarray, int]:
    """Connected components of some in-mask voxels, as :func:`scipy.ndimage.label` finds and
    numbers them in the whole volume.

    They are labelled in the smallest box holding ``group``'s voxels, not the whole volume:
    no voxel outside that box belongs to a component, and the box keeps the voxels' C order,
    so the components and their numbers (in the scan order of their first voxel) are the
    same, found in a fraction of the time when the voxels are few or close together.

    Parameters
    ----------
    group : (v,) ndarray of bool
        In-mask voxels (in the C order of ``mask``'s voxels), at least one true.
    mask : (X, Y, Z) ndarray of bool
    neighbours : (3, 3, 3) ndarray of bool
        The structuring element (:func:`glmreport.inference.connectivity.structure`).

    Returns
    -------
    labels : (g,) ndarray of int64
        The component (1..n) of each voxel of ``group``, in their order.
    n : int
    """
    where = np.unravel_index(np.flatnonzero(mask)[group], mask.shape)
    low = [int(axis.min()) for axis in where]
    local = tuple(axis - lo for axis, lo in zip(where, low, strict=True))
    vol = np.zeros([int(axis.max()) + 1 for axis in local], dtype=bool)
    vol[local] = True
    lab3d, n = ndimage.label(vol, structure=neighbours)
    return lab3d[local].astype(np.int64), int(n)


def _sign_groups(surviving: np.ndarray, sign: np.ndarray | None) -> list[np.ndarray]:
    """Split ``surviving`` into the positive (sign >= 0) and negative (sign < 0) voxels."""
    if sign is None:
        return [surviving]
    negative = np.asarray(sign) < 0
    return [surviving & ~negative, surviving & negative]


def apply_extent(
    surviving: np.ndarray,
    sign: np.ndarray | None,
    mask3d: np.ndarray,
    min_size: int,
    connectivity: int = 26,
) -> np.ndarray:
    """Remove clusters smaller than ``min_size`` voxels.

    A cluster survives when its size is **at least** ``min_size`` (``size >= min_size``, the
    rule of nilearn's ``cluster_threshold``). Positive and negative voxels form separate
    clusters when ``sign`` is given.

    Parameters
    ----------
    surviving : (v,) ndarray of bool
        In-mask voxels above the height threshold.
    sign : (v,) ndarray of int8 or None
        Sign of each voxel's statistic (values < 0 are negative, all others positive);
        ``None`` puts every surviving voxel in one group.
    mask3d : (X, Y, Z) ndarray of bool
        Analysis mask defining the in-mask order.
    min_size : int
        Minimum cluster size in voxels; 0 or 1 keeps everything.
    connectivity : {6, 18, 26}

    Returns
    -------
    (v,) ndarray of bool
        The surviving voxels that belong to large enough clusters.
    """
    surviving = np.asarray(surviving, dtype=bool)
    mask3d = np.asarray(mask3d, dtype=bool)
    neighbours = structure(connectivity)
    if min_size <= 1 or not surviving.any():
        return surviving.copy()
    keep = np.zeros_like(surviving)
    for group in _sign_groups(surviving, sign):
        if not group.any():
            continue
        lab, n = label_in_mask(group, mask3d, neighbours)
        big = np.bincount(lab, minlength=n + 1) >= min_size
        keep[group] = big[lab]
    return keep


def find_clusters(
    z: np.ndarray,
    surviving: np.ndarray,
    *,
    mask: np.ndarray,
    affine: np.ndarray,
    stat: np.ndarray | None = None,
    two_sided: bool = False,
    connectivity: int = 26,
    min_distance_mm: float = 8.0,
    max_subpeaks: int = 3,
) -> ClusterSet:
    """Tabulate the clusters of surviving voxels with their peaks and sub-peaks.

    Parameters
    ----------
    z : (v,) ndarray
        z map; peaks are maxima of ``z`` in positive clusters and minima in negative ones.
    surviving : (v,) ndarray of bool
        Voxels that survive the correction (height and extent already applied).
    mask : (X, Y, Z) ndarray of bool
        Analysis mask; ``z`` holds ``volume[mask]``.
    affine : (4, 4) ndarray
        Voxel-to-world (mm) affine; peak coordinates and volumes use it.
    stat : (v,) ndarray or None
        t or F map reported as ``peak_stat`` (NaN when ``None``).
    two_sided : bool
        If True, surviving voxels with ``z < 0`` form negative clusters (``sign == '-'``);
        otherwise every surviving voxel belongs to a positive cluster.
    connectivity : {6, 18, 26}
        Neighbourhood defining connected clusters.
    min_distance_mm : float
        A sub-peak is reported only if it lies more than this distance from every peak of
        its cluster reported before it (greedy by height).
    max_subpeaks : int
        Largest number of sub-peaks reported per cluster, besides the main peak.

    Returns
    -------
    ClusterSet

    Notes
    -----
    Local maxima are voxels with no strictly higher neighbour of the same cluster in their
    3x3x3 neighbourhood (whatever ``connectivity``); a plateau of equal values is represented
    by its voxels that have no equal neighbour earlier in C order (the main peak of a constant
    cluster is its first voxel in C order, where nilearn reports the centre of mass).

    Clusters, sizes and main peaks match nilearn's ``get_clusters_table`` with
    ``connectivity=6`` (the only connectivity nilearn uses). nilearn's sub-peak pruning can
    reinstate a candidate already rejected for being too close to a higher peak, which the
    greedy rule here never does; otherwise sub-peaks match too. nilearn numbers negative
    clusters after the positive side's table rows, here after the positive clusters.
    """
    z, surviving, mask, affine, stat = _checked(z, surviving, mask, affine, stat)
    neighbours = structure(connectivity)
    out_labels = np.zeros(z.size, dtype=np.int64)
    if not surviving.any():
        return ClusterSet(
            clusters=empty_clusters_table(), peaks=empty_peaks_table(), labels=out_labels
        )
    negative = surviving & (z < 0) if two_sided else np.zeros_like(surviving)
    raw, n_pos, n_total = _components(surviving, negative, mask, neighbours)
    # value whose maximum is the peak: z in positive clusters, -z in negative ones
    height = np.where(negative, -z, z)
    surv_idx = np.flatnonzero(surviving)  # in-mask indices, increasing = C order
    peak_vox, sizes = _main_peaks(raw[surv_idx], height, surv_idx, n_total)
    # final ids: positive clusters then negative, each by peak height descending
    is_neg = np.arange(n_total) >= n_pos
    final_order = np.lexsort((-height[peak_vox], is_neg))  # raw label - 1, in final order
    new_id = np.empty(n_total + 1, dtype=np.int64)
    new_id[0] = 0
    new_id[final_order + 1] = np.arange(1, n_total + 1)
    out_labels[surviving] = new_id[raw[surviving]]

    in_mask = np.flatnonzero(mask)  # in-mask order == C order

    def ijk(idx: np.ndarray) -> np.ndarray:  # voxel indices of in-mask voxels
        return np.stack(np.unravel_index(in_mask[idx], mask.shape), axis=1)

    cand = candidates(
        surv_idx, ijk(surv_idx), out_labels[surv_idx], height[surv_idx], mask.shape, affine
    )
    kept_rank = select_peaks(
        cand, n_total, min_distance_mm=min_distance_mm, max_subpeaks=max_subpeaks
    )
    table = _Tables(
        z=z,
        stat=stat,
        sizes=sizes[final_order],
        voxel_volume=float(abs(np.linalg.det(affine[:3, :3]))),
    )
    main_vox = peak_vox[final_order]
    clusters = table.clusters(
        main_vox, apply_affine(affine, ijk(main_vox).astype(np.float64)), is_neg[final_order]
    )
    peaks = table.peaks(cand, kept_rank, max_subpeaks)
    return ClusterSet(clusters=clusters, peaks=peaks, labels=out_labels)


def _checked(
    z: np.ndarray,
    surviving: np.ndarray,
    mask: np.ndarray,
    affine: np.ndarray,
    stat: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The inputs of :func:`find_clusters` as arrays of the expected shapes."""
    z = np.asarray(z, dtype=np.float64)
    surviving = np.asarray(surviving, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    affine = np.asarray(affine, dtype=np.float64)
    n_vox = int(mask.sum())
    if z.shape != (n_vox,) or surviving.shape != (n_vox,):
        raise InferenceError(
            f"z and surviving must have shape ({n_vox},) (in-mask voxels); "
            f"got {z.shape} and {surviving.shape}."
        )
    if stat is not None:
        stat = np.asarray(stat, dtype=np.float64)
        if stat.shape != (n_vox,):
            raise InferenceError(f"stat must have shape ({n_vox},); got {stat.shape}.")
    return z, surviving, mask, affine, stat


def _components(
    surviving: np.ndarray, negative: np.ndarray, mask: np.ndarray, neighbours: np.ndarray
) -> tuple[np.ndarray, int, int]:
    """Connected components per sign, numbered consecutively (positive first).

    Returns
    -------
    raw : (v,) ndarray of int64
        Component of each surviving voxel (1..n_total), 0 elsewhere.
    n_pos, n_total : int
        Number of positive components and of all components.
    """
    raw = np.zeros(surviving.size, dtype=np.int64)
    n_pos = n_total = 0
    for gi, group in enumerate((surviving & ~negative, negative)):
        if not group.any():
            continue
        lab, n = label_in_mask(group, mask, neighbours)
        raw[group] = lab + n_total
        n_total += n
        if gi == 0:
            n_pos = n
    return raw, n_pos, n_total


def _main_peaks(
    labels: np.ndarray, height: np.ndarray, voxels: np.ndarray, n_total: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each component's highest voxel (first in C order among equals) and its size.

    Parameters
    ----------
    labels : (s,) ndarray of int
        Component (1..n_total) of each surviving voxel.
    height : (v,) ndarray
        Height of every in-mask voxel.
    voxels : (s,) ndarray of int
        In-mask index of each surviving voxel, increasing.
    n_total : int

    Returns
    -------
    peak_vox, sizes : (n_total,) ndarray of int
        In component order 1..n_total.
    """
    values = height[voxels]
    order = np.lexsort((-values, labels))  # by (label, -height), stable
    sorted_lab = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_lab[1:] != sorted_lab[:-1]])
    return voxels[order[starts]], np.bincount(labels, minlength=n_total + 1)[1:]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Tables:
    """Builds the clusters and peaks tables from clusters in final id order."""

    z: np.ndarray
    stat: np.ndarray | None
    sizes: np.ndarray  # (n,) voxels, final order
    voxel_volume: float

    def stat_at(self, idx: np.ndarray) -> np.ndarray:
        return self.stat[idx] if self.stat is not None else np.full(idx.size, np.nan)

    def clusters(self, main_vox: np.ndarray, xyz: np.ndarray, negative: np.ndarray) -> pd.DataFrame:
        n = self.sizes.size
        return pd.DataFrame(
            {
                "cluster_id": np.arange(1, n + 1, dtype=np.int64),
                "sign": pd.Series(np.where(negative, "-", "+"), dtype=str),
                "size_voxels": self.sizes.astype(np.int64),
                "volume_mm": self.sizes * self.voxel_volume,
                "peak_x": xyz[:, 0],
                "peak_y": xyz[:, 1],
                "peak_z": xyz[:, 2],
                "peak_value": self.z[main_vox],
                "peak_stat": self.stat_at(main_vox),
            },
            columns=list(CLUSTER_COLUMNS),
        )

    def peaks(self, cand: Candidates, kept_rank: np.ndarray, max_subpeaks: int) -> pd.DataFrame:
        kept = np.flatnonzero(kept_rank >= 0)
        kept = kept[np.lexsort((kept_rank[kept], cand.labels[kept]))]
        k_lab = cand.labels[kept]
        k_vox = cand.voxels[kept]
        return pd.DataFrame(
            {
                "cluster_id": pd.Series(peak_ids(k_lab, kept_rank[kept], max_subpeaks), dtype=str),
                "peak_x": cand.xyz[kept, 0],
                "peak_y": cand.xyz[kept, 1],
                "peak_z": cand.xyz[kept, 2],
                "peak_value": self.z[k_vox],
                "peak_stat": self.stat_at(k_vox),
                "size_voxels": self.sizes[k_lab - 1].astype(np.int64),
                "volume_mm": self.sizes[k_lab - 1] * self.voxel_volume,
            },
            columns=list(PEAK_COLUMNS),
        )


def voxel_index(xyz: np.ndarray, *, mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """In-mask index of the voxels nearest to world coordinates (mm); -1 outside the mask.

    Parameters
    ----------
    xyz : (n, 3) ndarray
        World coordinates, e.g. a table's ``peak_x``, ``peak_y``, ``peak_z``.
    mask : (X, Y, Z) ndarray of bool
    affine : (4, 4) ndarray

    Returns
    -------
    (n,) ndarray of int64
        Position in ``volume[mask]`` order, or -1.
    """
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    if len(xyz) == 0:
        return np.zeros(0, dtype=np.int64)
    ijk = np.rint(apply_affine(np.linalg.inv(affine), xyz)).astype(np.int64)
    inside = np.all((ijk >= 0) & (ijk < np.array(mask.shape)), axis=1)
    out = np.full(len(ijk), -1, dtype=np.int64)
    in_mask = np.flatnonzero(mask)  # sorted: position == in-mask index
    if not in_mask.size:
        return out
    flat = np.ravel_multi_index(tuple(ijk[inside].T), mask.shape)
    pos = np.minimum(np.searchsorted(in_mask, flat), in_mask.size - 1)
    out[inside] = np.where(in_mask[pos] == flat, pos, -1)
    return out
