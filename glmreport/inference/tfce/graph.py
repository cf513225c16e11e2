"""The neighbourhood of a mask's voxels, and connected components of sparse voxel sets.

The neighbourhoods are those of :mod:`glmreport.inference.connectivity` (6, 18 or 26
neighbours); each neighbour pair is stored once, along the "forward" half of the offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from ...errors import InferenceError
from ..connectivity import neighbour_offsets

__all__ = ["NeighbourGraph", "connected_components", "forward_offsets", "neighbour_graph"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NeighbourGraph:
    """Neighbourhood of the in-mask voxels of a 3D mask, in two layouts.

    Attributes
    ----------
    n_voxels : int
        Number of in-mask voxels ``v``.
    connectivity : {6, 18, 26}
    forward : (v, connectivity // 2) ndarray of int32
        In-mask index of each voxel's neighbour along each "forward" offset (one of each pair
        ``o, -o``), or ``v`` (one past the last voxel) where the neighbour is outside the
        mask. Every neighbour pair appears exactly once in the table.
    box_shape : tuple of int
        Shape of the mask's bounding box padded by one voxel on every side.
    box_index : (v,) ndarray of int64
        Flat (C order) position of each in-mask voxel in the padded box (increasing).
    box_mask : (prod(box_shape),) ndarray of bool
        Whether each flat position of the padded box holds an in-mask voxel
        (``box[box_mask]`` lists the in-mask voxels in order).
    box_offsets : (connectivity // 2,) ndarray of int64
        Flat position offsets of the forward neighbours in the padded box.
    """

    n_voxels: int
    connectivity: int
    forward: np.ndarray
    box_shape: tuple[int, int, int]
    box_index: np.ndarray
    box_mask: np.ndarray
    box_offsets: np.ndarray


def forward_offsets(connectivity: int) -> np.ndarray:
    """One offset of each pair ``(o, -o)`` of a neighbourhood: the one later in C order.

    Parameters
    ----------
    connectivity : {6, 18, 26}

    Returns
    -------
    (connectivity // 2, 3) ndarray of int

    Raises
    ------
    InferenceError
        Any other connectivity.
    """
    offsets = neighbour_offsets(connectivity)
    return offsets[offsets @ np.array([9, 3, 1]) > 0]


def neighbour_graph(mask: np.ndarray, connectivity: int = 26) -> NeighbourGraph:
    """Build the neighbourhood of the in-mask voxels.

    Parameters
    ----------
    mask : (X, Y, Z) ndarray of bool
        In-mask arrays hold ``volume[mask]`` (C order).
    connectivity : {6, 18, 26}
        Voxels sharing a face (6), a face or an edge (18), or any corner (26) are neighbours.

    Returns
    -------
    NeighbourGraph

    Raises
    ------
    InferenceError
        A mask that is not 3D, or a connectivity other than 6, 18 or 26.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise InferenceError(f"TFCE mask must be 3D; got shape {mask.shape}.")
    half = forward_offsets(connectivity)
    n_vox = int(mask.sum())
    ijk = np.argwhere(mask)
    lo = ijk.min(axis=0) if n_vox else np.zeros(3, dtype=np.int64)
    hi = ijk.max(axis=0) if n_vox else np.zeros(3, dtype=np.int64)
    box_shape = tuple(int(s) for s in (hi - lo + 3))
    pos = ijk - lo + 1
    index = np.full(box_shape, n_vox, dtype=np.int32)
    index[tuple(pos.T)] = np.arange(n_vox, dtype=np.int32)
    forward = np.empty((n_vox, len(half)), dtype=np.int32)
    for col, off in enumerate(half):
        forward[:, col] = index[tuple((pos + off).T)]
    strides = np.array([box_shape[1] * box_shape[2], box_shape[2], 1], dtype=np.int64)
    box_index = pos.astype(np.int64) @ strides
    box_mask = np.zeros(int(np.prod(box_shape)), dtype=bool)
    box_mask[box_index] = True
    for array in (forward, box_index, box_mask):
        array.setflags(write=False)
    return NeighbourGraph(
        n_voxels=n_vox,
        connectivity=int(connectivity),
        forward=forward,
        box_shape=box_shape,  # type: ignore[arg-type]
        box_index=box_index,
        box_mask=box_mask,
        box_offsets=half.astype(np.int64) @ strides,
    )


def connected_components(
    voxels: np.ndarray, graph: NeighbourGraph, *, sign: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """Connected components of a (sparse) set of in-mask voxels.

    The cost is proportional to the number of voxels in the set, not to the mask size.

    Parameters
    ----------
    voxels : (s,) ndarray of int
        In-mask indices of the voxels, without repeats.
    graph : NeighbourGraph
    sign : (s,) ndarray or None
        If given, only neighbours of the same sign (``sign > 0`` or not) are connected, so
        positive and negative voxels form separate components.

    Returns
    -------
    labels : (s,) ndarray of int64
        Component of each voxel, ``0 .. n - 1``.
    n : int
        Number of components.
    """
    voxels = np.asarray(voxels, dtype=np.int64)
    s = voxels.size
    if s == 0:
        return np.zeros(0, dtype=np.int64), 0
    # code of each voxel: 1 + local index on the positive side, -(1 + local index) otherwise
    code = np.zeros(graph.n_voxels + 1, dtype=np.int64)
    local = np.arange(1, s + 1)
    code[voxels] = local if sign is None else np.where(np.asarray(sign) > 0, local, -local)
    nb_code = code[graph.forward[voxels]]
    own = code[voxels][:, None]
    rows, cols = np.nonzero(nb_code * own > 0)
    if rows.size == 0:
        return np.arange(s, dtype=np.int64), s
    indptr = np.zeros(s + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=s), out=indptr[1:])
    adj = sparse.csr_matrix(
        (np.ones(rows.size), np.abs(nb_code[rows, cols]) - 1, indptr), shape=(s, s)
    )
    n, labels = csgraph.connected_components(adj, directed=False)
    return labels.astype(np.int64), int(n)
