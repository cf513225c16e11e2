"""Peaks of clusters: local maxima and the greedy choice of sub-peaks.

A cluster's sub-peaks are further local maxima of its height (``z`` in positive clusters,
``-z`` in negative ones) within the cluster -- no neighbour of the same cluster in the 3x3x3
neighbourhood is higher -- chosen greedily by height so that every reported peak of a cluster
lies more than ``min_distance_mm`` from the ones reported before it. Everything is vectorised
over clusters: each round picks every cluster's next peak at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import ascii_lowercase

import numpy as np
from nibabel.affines import apply_affine

__all__ = ["Candidates", "candidates", "local_maxima", "peak_ids", "select_peaks"]


def local_maxima(
    ijk: np.ndarray, labels: np.ndarray, values: np.ndarray, shape: tuple
) -> np.ndarray:
    """Which voxels are local maxima of ``values`` within their cluster (3x3x3 neighbours).

    Parameters
    ----------
    ijk : (s, 3) ndarray of int
        Voxel indices of the cluster voxels, in C order.
    labels : (s,) ndarray of int
        Cluster of each voxel (> 0).
    values : (s,) ndarray
        Height of each voxel.
    shape : tuple of int
        Shape of the volume (the voxels lie within it; only their box is used).

    Returns
    -------
    (s,) ndarray of bool
        True where no neighbour of the same cluster is strictly higher, nor equal and earlier
        in C order (a plateau is represented by its first voxel in C order).
    """
    if labels.size == 0:
        return np.zeros(0, dtype=bool)
    # the box of the cluster voxels, padded by one: the neighbours outside it are no cluster's
    low = ijk.min(axis=0)
    padded = tuple(int(n) + 2 for n in ijk.max(axis=0) - low + 1)
    flat = np.ravel_multi_index(tuple((ijk - low + 1).T), padded)
    lab_vol = np.zeros(padded, dtype=np.int64).ravel()
    val_vol = np.full(padded, -np.inf).ravel()
    lab_vol[flat] = labels
    val_vol[flat] = values
    strides = np.array([padded[1] * padded[2], padded[2], 1])
    is_max = np.ones(labels.size, dtype=bool)
    for off in (
        np.array(np.meshgrid([-1, 0, 1], [-1, 0, 1], [-1, 0, 1], indexing="ij")).reshape(3, -1).T
    ):
        if not off.any():
            continue
        step = int(off @ strides)
        nb = flat + step
        same = lab_vol[nb] == labels
        # a strictly higher neighbour, or an equal one earlier in C order (plateaus are
        # represented by their first voxel), disqualifies the voxel
        beaten = val_vol[nb] >= values if step < 0 else val_vol[nb] > values
        is_max &= ~(same & beaten)
    return is_max


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidates:
    """The local maxima of every cluster, sorted by (cluster id, -height, C order).

    Attributes
    ----------
    labels : (c,) ndarray of int
        Cluster id of each candidate.
    voxels : (c,) ndarray of int
        In-mask index of each candidate.
    xyz : (c, 3) ndarray
        World coordinates (mm).
    first : (n,) ndarray of int
        Position of each cluster's highest candidate (its main peak), in id order.
    """

    labels: np.ndarray
    voxels: np.ndarray
    xyz: np.ndarray
    first: np.ndarray


def candidates(
    voxels: np.ndarray,
    ijk: np.ndarray,
    labels: np.ndarray,
    values: np.ndarray,
    shape: tuple,
    affine: np.ndarray,
) -> Candidates:
    """The local maxima (:func:`local_maxima`) of every cluster, highest first.

    Parameters
    ----------
    voxels : (s,) ndarray of int
        In-mask indices of the cluster voxels, increasing (C order).
    ijk : (s, 3) ndarray of int
        Their voxel indices.
    labels : (s,) ndarray of int
        Final cluster id of each voxel.
    values : (s,) ndarray
        Height of each voxel.
    shape : tuple of int
        Shape of the volume.
    affine : (4, 4) ndarray
        Voxel-to-world affine.
    """
    is_max = local_maxima(ijk, labels, values, shape)
    c_pos = np.flatnonzero(is_max)
    c_order = c_pos[np.lexsort((-values[c_pos], labels[c_pos]))]
    c_lab = labels[c_order]
    return Candidates(
        labels=c_lab,
        voxels=voxels[c_order],
        xyz=apply_affine(affine, ijk[c_order].astype(np.float64)),
        first=np.flatnonzero(np.r_[True, c_lab[1:] != c_lab[:-1]]),
    )


def select_peaks(
    cand: Candidates, n_clusters: int, *, min_distance_mm: float, max_subpeaks: int
) -> np.ndarray:
    """Greedy choice of each cluster's peaks among its candidates.

    Round ``r`` picks each cluster's highest candidate still further than ``min_distance_mm``
    from all peaks kept before it (round 0: the main peak).

    Parameters
    ----------
    cand : Candidates
    n_clusters : int
    min_distance_mm : float
    max_subpeaks : int

    Returns
    -------
    (c,) ndarray of int
        The round in which each candidate was kept (0 = main peak), -1 if it was not.
    """
    n_cand = cand.labels.size
    alive = np.ones(n_cand, dtype=bool)
    kept_rank = np.full(n_cand, -1, dtype=np.int64)
    cand_index = np.arange(n_cand)
    for rank in range(max(int(max_subpeaks), 0) + 1):
        if rank == 0:
            pick = cand.first
        else:
            alive_idx = cand_index[alive]
            if alive_idx.size == 0:
                break
            a_lab = cand.labels[alive_idx]
            pick = alive_idx[np.r_[True, a_lab[1:] != a_lab[:-1]]]
        kept_rank[pick] = rank
        alive[pick] = False
        # distance of every candidate to the peak just kept in its cluster
        picked_of = np.full(n_clusters + 1, -1, dtype=np.int64)
        picked_of[cand.labels[pick]] = pick
        ref = picked_of[cand.labels]
        has = alive & (ref >= 0)
        d2 = np.sum((cand.xyz[has] - cand.xyz[ref[has]]) ** 2, axis=1)
        alive[np.flatnonzero(has)[d2 <= float(min_distance_mm) ** 2]] = False
    return kept_rank


def peak_ids(labels: np.ndarray, ranks: np.ndarray, max_subpeaks: int) -> np.ndarray:
    """Peak ids: the cluster id, then ``a``, ``b`` ... for its sub-peaks (``"3"``, ``"3a"``).

    Parameters
    ----------
    labels : (k,) ndarray of int
        Cluster id of each kept peak.
    ranks : (k,) ndarray of int
        Its round (0 = main peak).
    max_subpeaks : int
    """
    suffix = np.array([""] + [_letters(i) for i in range(max(int(max_subpeaks), 0))], dtype=object)
    return labels.astype(str).astype(object) + suffix[ranks]


def _letters(i: int) -> str:
    """Return ``a``, ``b``, ..., ``z``, ``aa``, ``ab`` ... for i = 0, 1, ..."""
    out = ""
    i += 1
    while i > 0:
        i, r = divmod(i - 1, 26)
        out = ascii_lowercase[r] + out
    return out
