"""Neighbour operations on the mask's padded bounding box, with reusable buffers.

Every in-mask voxel lies at least one voxel inside the padded box of a
:class:`~.graph.NeighbourGraph`, so its neighbours are at fixed flat offsets and a neighbour
operation is a handful of shifted contiguous slices. Positions on the box's border get
meaningless values (the shifts wrap around rows); only in-mask positions are ever read.

The buffers (one box-sized array per purpose and dtype) are kept per thread and reused from
map to map: a permutation null runs the same mask thousands of times, and allocating and
zeroing several box-sized arrays per map costs about as much as the operations themselves.
"""

from __future__ import annotations

import threading

import numpy as np

from .graph import NeighbourGraph

__all__ = ["box_buffer", "box_extrema", "box_scatter", "neighbour_codes"]

_LOCAL = threading.local()


def box_buffer(name: str, size: int, dtype: np.dtype | type, fill: int | None = None) -> np.ndarray:
    """A reusable flat buffer of this thread.

    Parameters
    ----------
    name : str
        Purpose of the buffer (two callers never share one name).
    size : int
        Number of elements.
    dtype : dtype
    fill : int or None
        If given, a new buffer is filled with this value; an existing one keeps what was last
        written to it (callers that scatter in-mask values keep the background intact).

    Returns
    -------
    (size,) ndarray
        The same array on every call with the same name, size, dtype and fill.
    """
    store = getattr(_LOCAL, "buffers", None)
    if store is None:
        store = _LOCAL.buffers = {}
    key = (name, int(size), np.dtype(dtype).str, fill)
    buf = store.get(key)
    if buf is None:
        buf = np.empty(int(size), dtype=dtype) if fill is None else np.full(size, fill, dtype)
        store[key] = buf
    return buf


def box_scatter(
    name: str, values: np.ndarray, graph: NeighbourGraph, dtype: np.dtype | type, background: int
) -> np.ndarray:
    """In-mask values written into this thread's padded box of that name.

    Parameters
    ----------
    name : str
    values : (v,) ndarray
        In-mask values (cast to ``dtype``).
    graph : NeighbourGraph
    dtype : dtype
    background : int
        Value outside the mask.

    Returns
    -------
    (prod(box_shape),) ndarray
        The box (a reused buffer: valid until the next call with the same name; refilled
        with the background when the mask changes).
    """
    box = box_buffer(name, int(np.prod(graph.box_shape)), dtype, fill=background)
    # another mask with a box of the same size left its values outside this mask
    owners = _LOCAL.__dict__.setdefault("owners", {})
    key = (name, box.size, box.dtype.str, background)
    if owners.get(key) is not graph.box_index:
        box.fill(background)
        owners[key] = graph.box_index
    # a boolean mask writes the (increasing) in-mask positions in one pass: faster than
    # an index array for items of two bytes and more, and as fast for one byte
    box[graph.box_mask] = np.asarray(values).astype(dtype, copy=False)
    return box


def box_extrema(box: np.ndarray, graph: NeighbourGraph) -> tuple[np.ndarray, np.ndarray]:
    """Maximum and minimum over each in-mask voxel's closed neighbourhood.

    Parameters
    ----------
    box : (prod(box_shape),) ndarray
        Values on the padded box.
    graph : NeighbourGraph

    Returns
    -------
    hi, lo : (prod(box_shape),) ndarrays
        Neighbourhood maximum and minimum (reused buffers), valid at in-mask positions.
    """
    n = box.size
    hi = box_buffer("extrema_hi", n, box.dtype)
    lo = box_buffer("extrema_lo", n, box.dtype)
    if graph.connectivity == 26:
        # the 3x3x3 cube: a 3-wide window along each axis in turn, as flat shifts by the
        # axis stride (2 operations per axis: pairs, then pairs of pairs)
        pair = box_buffer("extrema_pair", n, box.dtype)
        _, ny, nz = graph.box_shape
        for ufunc, out in ((np.maximum, hi), (np.minimum, lo)):
            src = box
            for s in (1, nz, ny * nz):
                ufunc(src[: n - s], src[s:], out=pair[: n - s])
                ufunc(pair[: n - 2 * s], pair[s : n - s], out=out[s : n - s])
                src = out
        return hi, lo
    np.copyto(hi, box)
    np.copyto(lo, box)
    for off in graph.box_offsets:
        o = int(off)
        np.maximum(hi[: n - o], box[o:], out=hi[: n - o])
        np.maximum(hi[o:], box[: n - o], out=hi[o:])
        np.minimum(lo[: n - o], box[o:], out=lo[: n - o])
        np.minimum(lo[o:], box[: n - o], out=lo[o:])
    return hi, lo


def neighbour_codes(
    graph: NeighbourGraph,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Position codes that name a voxel's neighbours, and the way back to in-mask indices.

    The code of the box position ``(x, y, z)`` is ``9 * (x % 3) + 3 * (y % 3) + z % 3``: the
    27 positions of any 3x3x3 cube have 27 different codes, so a code names one voxel of a
    neighbourhood. Kept per thread for the last mask used.

    Parameters
    ----------
    graph : NeighbourGraph

    Returns
    -------
    code : (v,) ndarray of int16
        Code of each in-mask voxel.
    code32 : (v,) ndarray of int16
        ``32 * code``.
    step : (27 * 32,) ndarray of int64
        ``step[32 * c + d]``: flat offset from a position of code ``c`` to the position of
        code ``d`` in its closed neighbourhood.
    inverse : (prod(box_shape),) ndarray of int32
        In-mask index of each box position (0 outside the mask).
    """
    cached = getattr(_LOCAL, "codes", None)
    if cached is not None and cached[0] is graph.box_index:
        return cached[1]
    _, ny, nz = graph.box_shape
    xyz = np.unravel_index(graph.box_index, graph.box_shape)
    code = (9 * (xyz[0] % 3) + 3 * (xyz[1] % 3) + xyz[2] % 3).astype(np.int16)
    c, d = np.divmod(np.arange(27 * 32), 32)
    step = np.zeros(27 * 32, dtype=np.int64)
    for stride, div in ((ny * nz, 9), (nz, 3), (1, 1)):
        # the axis offset in {-1, 0, 1} from the two coordinates modulo 3
        step += stride * (((d // div) % 3 - (c // div) % 3 + 1) % 3 - 1)
    step[d >= 27] = 0
    inverse = np.zeros(int(np.prod(graph.box_shape)), dtype=np.int32)
    inverse[graph.box_index] = np.arange(graph.n_voxels, dtype=np.int32)
    out = (code, code * np.int16(32), step, inverse)
    _LOCAL.codes = (graph.box_index, out)
    return out
