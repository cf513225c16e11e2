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
from string import ascii_lowercase

import numpy as np
import pandas as pd
from nibabel.affines import apply_affine
from scipy import ndimage

from .results import CLUSTER_COLUMNS, PEAK_COLUMNS

__all__ = [
    "CONNECTIVITIES",
    "ClusterSet",
    "apply_extent",
    "empty_clusters_table",
    "empty_peaks_table",
    "find_clusters",
    "label_clusters",
]

#: Neighbourhood size -> rank of :func:`scipy.ndimage.generate_binary_structure`.
CONNECTIVITIES = {6: 1, 18: 2, 26: 3}

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


def _structure(connectivity: int) -> np.ndarray:
    try:
        rank = CONNECTIVITIES[int(connectivity)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"connectivity must be one of 6 (faces), 18 (faces and edges) or 26 "
            f"(faces, edges and corners); got {connectivity!r}."
        ) from None
    return ndimage.generate_binary_structure(3, rank)


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
        raise ValueError(f"surviving3d must be 3D; got shape {surviving3d.shape}.")
    labels, n = ndimage.label(surviving3d, structure=_structure(connectivity))
    return labels.astype(np.int32, copy=False), int(n)


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
    structure = _structure(connectivity)
    if min_size <= 1 or not surviving.any():
        return surviving.copy()
    keep = np.zeros_like(surviving)
    vol = np.zeros(mask3d.shape, dtype=bool)
    for group in _sign_groups(surviving, sign):
        if not group.any():
            continue
        vol[mask3d] = group
        lab3d, n = ndimage.label(vol, structure=structure)
        lab = lab3d[mask3d]
        sizes = np.bincount(lab, minlength=n + 1)
        big = sizes >= min_size
        big[0] = False
        keep |= big[lab]
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
    z = np.asarray(z, dtype=np.float64)
    surviving = np.asarray(surviving, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    affine = np.asarray(affine, dtype=np.float64)
    n_vox = int(mask.sum())
    if z.shape != (n_vox,) or surviving.shape != (n_vox,):
        raise ValueError(
            f"z and surviving must have shape ({n_vox},) (in-mask voxels); "
            f"got {z.shape} and {surviving.shape}."
        )
    if stat is not None:
        stat = np.asarray(stat, dtype=np.float64)
        if stat.shape != (n_vox,):
            raise ValueError(f"stat must have shape ({n_vox},); got {stat.shape}.")
    structure = _structure(connectivity)
    out_labels = np.zeros(n_vox, dtype=np.int64)
    if not surviving.any():
        return ClusterSet(
            clusters=empty_clusters_table(), peaks=empty_peaks_table(), labels=out_labels
        )

    # --- connected components, per sign, numbered consecutively (positive first) ---------
    negative = surviving & (z < 0) if two_sided else np.zeros_like(surviving)
    groups = [surviving & ~negative, negative]
    raw = np.zeros(n_vox, dtype=np.int64)
    vol = np.zeros(mask.shape, dtype=bool)
    n_pos = 0
    n_total = 0
    for gi, group in enumerate(groups):
        if not group.any():
            continue
        vol[mask] = group
        lab3d, n = ndimage.label(vol, structure=structure)
        lab = lab3d[mask].astype(np.int64)
        raw[group] = lab[group] + n_total
        n_total += n
        if gi == 0:
            n_pos = n
    # value whose maximum is the peak: z in positive clusters, -z in negative ones
    height = np.where(negative, -z, z)

    # --- main peak of each cluster: sort survivors by (label, -height), stable -------------
    surv_idx = np.flatnonzero(surviving)  # in-mask indices, increasing = C order
    s_lab = raw[surv_idx]
    s_val = height[surv_idx]
    order = np.lexsort((-s_val, s_lab))
    sorted_lab = s_lab[order]
    starts = np.flatnonzero(np.r_[True, sorted_lab[1:] != sorted_lab[:-1]])
    peak_vox = surv_idx[order[starts]]  # main peak (in-mask index) of raw labels 1..n_total
    peak_height = height[peak_vox]
    sizes = np.bincount(s_lab, minlength=n_total + 1)[1:]

    # --- final ids: positive clusters then negative, each by peak height descending ------
    is_neg = np.arange(n_total) >= n_pos
    final_order = np.lexsort((-peak_height, is_neg))  # raw label - 1, in final order
    new_id = np.empty(n_total + 1, dtype=np.int64)
    new_id[0] = 0
    new_id[final_order + 1] = np.arange(1, n_total + 1)
    out_labels[surviving] = new_id[raw[surviving]]

    # --- local maxima of height within each cluster (3x3x3, same cluster only) -----------
    shape = mask.shape
    padded = tuple(s + 2 for s in shape)
    ijk_mask = np.argwhere(mask)  # (v, 3), C order == in-mask order
    s_ijk = ijk_mask[surv_idx]
    flat = np.ravel_multi_index(tuple((s_ijk + 1).T), padded)
    lab_vol = np.zeros(padded, dtype=np.int64).ravel()
    val_vol = np.full(padded, -np.inf).ravel()
    lab_vol[flat] = out_labels[surv_idx]
    val_vol[flat] = s_val
    my_lab = out_labels[surv_idx]
    strides = np.array([padded[1] * padded[2], padded[2], 1])
    is_max = np.ones(surv_idx.size, dtype=bool)
    for off in (
        np.array(np.meshgrid([-1, 0, 1], [-1, 0, 1], [-1, 0, 1], indexing="ij")).reshape(3, -1).T
    ):
        if not off.any():
            continue
        step = int(off @ strides)
        nb = flat + step
        same = lab_vol[nb] == my_lab
        # a strictly higher neighbour, or an equal one earlier in C order (plateaus are
        # represented by their first voxel), disqualifies the voxel
        beaten = val_vol[nb] >= s_val if step < 0 else val_vol[nb] > s_val
        is_max &= ~(same & beaten)

    # candidates sorted by (cluster id, -height, C order)
    c_pos = np.flatnonzero(is_max)
    c_order = c_pos[np.lexsort((-s_val[c_pos], my_lab[c_pos]))]
    c_lab = my_lab[c_order]
    c_vox = surv_idx[c_order]
    c_xyz = apply_affine(affine, s_ijk[c_order].astype(np.float64))
    n_cand = c_order.size
    c_first = np.flatnonzero(np.r_[True, c_lab[1:] != c_lab[:-1]])  # one per cluster, id order

    # greedy selection, vectorised over clusters: round r picks each cluster's highest
    # candidate still further than min_distance_mm from all peaks kept before it.
    alive = np.ones(n_cand, dtype=bool)
    kept_rank = np.full(n_cand, -1, dtype=np.int64)
    cand_index = np.arange(n_cand)
    for rank in range(max(int(max_subpeaks), 0) + 1):
        if rank == 0:
            pick = c_first
        else:
            alive_idx = cand_index[alive]
            if alive_idx.size == 0:
                break
            a_lab = c_lab[alive_idx]
            pick = alive_idx[np.r_[True, a_lab[1:] != a_lab[:-1]]]
        kept_rank[pick] = rank
        alive[pick] = False
        # distance of every candidate to the peak just kept in its cluster
        picked_of = np.full(n_total + 1, -1, dtype=np.int64)
        picked_of[c_lab[pick]] = pick
        ref = picked_of[c_lab]
        has = alive & (ref >= 0)
        d2 = np.sum((c_xyz[has] - c_xyz[ref[has]]) ** 2, axis=1)
        alive[np.flatnonzero(has)[d2 <= float(min_distance_mm) ** 2]] = False

    # --- tables ----------------------------------------------------------------------------
    voxel_volume = float(abs(np.linalg.det(affine[:3, :3])))
    sizes_final = sizes[final_order]
    main_vox = peak_vox[final_order]
    main_xyz = apply_affine(affine, ijk_mask[main_vox].astype(np.float64))

    def stat_at(idx: np.ndarray) -> np.ndarray:
        return stat[idx] if stat is not None else np.full(idx.size, np.nan)

    clusters = pd.DataFrame(
        {
            "cluster_id": np.arange(1, n_total + 1, dtype=np.int64),
            "sign": pd.Series(np.where(is_neg[final_order], "-", "+"), dtype=str),
            "size_voxels": sizes_final.astype(np.int64),
            "volume_mm": sizes_final * voxel_volume,
            "peak_x": main_xyz[:, 0],
            "peak_y": main_xyz[:, 1],
            "peak_z": main_xyz[:, 2],
            "peak_value": z[main_vox],
            "peak_stat": stat_at(main_vox),
        },
        columns=list(CLUSTER_COLUMNS),
    )

    kept = np.flatnonzero(kept_rank >= 0)
    kept = kept[np.lexsort((kept_rank[kept], c_lab[kept]))]
    k_lab = c_lab[kept]
    k_rank = kept_rank[kept]
    k_vox = c_vox[kept]
    suffix = np.array([""] + [_letters(i) for i in range(max(int(max_subpeaks), 0))], dtype=object)
    peak_ids = k_lab.astype(str).astype(object) + suffix[k_rank]
    peaks = pd.DataFrame(
        {
            "cluster_id": pd.Series(peak_ids, dtype=str),
            "peak_x": c_xyz[kept, 0],
            "peak_y": c_xyz[kept, 1],
            "peak_z": c_xyz[kept, 2],
            "peak_value": z[k_vox],
            "peak_stat": stat_at(k_vox),
            "size_voxels": sizes_final[k_lab - 1].astype(np.int64),
            "volume_mm": sizes_final[k_lab - 1] * voxel_volume,
        },
        columns=list(PEAK_COLUMNS),
    )
    return ClusterSet(clusters=clusters, peaks=peaks, labels=out_labels)


def _letters(i: int) -> str:
    """Return ``a``, ``b``, ..., ``z``, ``aa``, ``ab`` ... for i = 0, 1, ..."""
    out = ""
    i += 1
    while i > 0:
        i, r = divmod(i - 1, 26)
        out = ascii_lowercase[r] + out
    return out


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
    index = np.full(mask.shape, -1, dtype=np.int64)
    index[mask] = np.arange(int(mask.sum()))
    inside = np.all((ijk >= 0) & (ijk < np.array(mask.shape)), axis=1)
    out = np.full(len(ijk), -1, dtype=np.int64)
    out[inside] = index[tuple(ijk[inside].T)]
    return out
