"""The touching basin pairs of a map and their saddle levels (the edges of the merge tree).

Two basins of one sign touch where a voxel ``u`` of one neighbours a voxel ``v`` of the other;
the pair joins them at level ``min(level(u), level(v))``. Only which basins are joined at each
level matters, so a voxel pair can be left out when it is *bridged*: a voxel ``w`` of the
same sign, neighbour of both, at level ``>= min(level(u), level(v))``, and whose offsets to
``u`` and ``v`` have fewer non-zero coordinates than ``v - u`` (so ``u - w - v`` joins the
same basins at that level or higher). By induction on the number of non-zero coordinates,
leaving out bridged pairs of edge or corner offsets keeps every level's clusters: face
pairs are always kept. The bridges tested are the voxels ``u + o_i`` that share a face
with ``u`` (``o_i``: ``o`` on one of its non-zero axes; two for an edge, three for a
corner offset). On smooth maps this leaves out most diagonal pairs (about 80% of all
touching pairs at 26-connectivity); testing a corner pair's three other bridges too
leaves out a few more pairs but costs more box passes than the extra pairs.

The tests run on the padded box (:mod:`.box`) as shifted slices; only the kept pairs are
gathered (all at once), and one sort keeps each basin pair once with its highest level.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .box import box_buffer, box_scatter
from .graph import NeighbourGraph, forward_offsets

__all__ = ["saddles"]


@lru_cache(maxsize=64)
def _pair_offsets(connectivity: int, ny: int, nz: int) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Flat offset of each forward neighbour in a box, and of the face bridges tested.

    Parameters
    ----------
    connectivity : {6, 18, 26}
    ny, nz : int
        The box's last two dimensions.

    Returns
    -------
    tuple of (int, tuple of int)
        For each forward offset ``o`` (:func:`~.graph.forward_offsets`), its flat offset and
        the flat offsets (from ``u``) of the voxels between ``u`` and ``u + o`` that share a
        face with ``u`` (none for a face offset).
    """
    strides = np.array([ny * nz, nz, 1], dtype=np.int64)
    out = []
    for offset in forward_offsets(connectivity):
        axes = np.flatnonzero(offset)
        bridges = tuple(int(offset[a] * strides[a]) for a in axes) if axes.size > 1 else ()
        out.append((int(offset @ strides), bridges))
    return tuple(out)


def saddles(
    slev: np.ndarray, basin: np.ndarray, graph: NeighbourGraph, n_basins: int, n_levels: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Touching basin pairs of one sign, each once, with their saddle level.

    Parameters
    ----------
    slev : (v,) ndarray of int
        Signed levels.
    basin : (v,) ndarray of int
        Basin of each voxel (-1: none).
    graph : NeighbourGraph
    n_basins, n_levels : int

    Returns
    -------
    a, b : (e,) ndarray of int64
        The two basins (a pair may also appear as ``(b, a)``).
    level : (e,) ndarray of int64
        A level at which the pair is joined; the clusters of every level, joined through
        these edges, are those of the touching voxel pairs (bridged pairs left out, see the
        module docstring).
    """
    size = int(np.prod(graph.box_shape))
    _, ny, nz = graph.box_shape
    small = np.int8 if n_levels < 2**7 else np.int16
    signed = box_scatter("saddle_level", slev, graph, small, 0)
    pos = box_buffer("saddle_pos", size, small)
    neg = box_buffer("saddle_neg", size, small)
    np.maximum(signed, 0, out=pos)
    np.negative(signed, out=neg)
    np.maximum(neg, 0, out=neg)
    # sign code: 1 positive, 2 negative, 0 below the first height; two voxels are of one
    # sign and both above the first height where their codes share a bit
    code = box_buffer("saddle_code", size, np.int8)
    np.left_shift(np.greater(neg, 0).view(np.int8), 1, out=code)
    code |= np.greater(pos, 0).view(np.int8)
    shared = box_buffer("saddle_shared", size, np.int8)
    label_type = np.int16 if n_basins < 2**15 else np.int32
    label = box_scatter("saddle_label", basin, graph, label_type, -1)
    cond = box_buffer("saddle_cond", size, bool)
    more = box_buffer("saddle_more", size, bool)
    low = box_buffer("saddle_low", size, small)
    high = box_buffer("saddle_high", size, small)
    other = box_buffer("saddle_other", size, bool)
    # pairs (u, u + o) with both ends in the mask have u in [margin, size - margin - o)
    margin = ny * nz + nz + 1
    ends = []
    for o, bridges in _pair_offsets(graph.connectivity, ny, nz):
        lo, hi = margin, size - margin - o
        m = hi - lo
        if m <= 0:
            continue
        c, t = cond[:m], more[:m]
        np.not_equal(label[lo:hi], label[lo + o : hi + o], out=c)
        if not bridges:
            np.bitwise_and(code[lo:hi], code[lo + o : hi + o], out=shared[:m])
            np.logical_and(c, shared[:m], out=c)
        else:
            # kept where, on its side, the lower end is above every bridging voxel
            for side, kept in ((pos, t), (neg, other[:m])):
                np.minimum(side[lo:hi], side[lo + o : hi + o], out=low[:m])
                np.maximum(
                    side[lo + bridges[0] : hi + bridges[0]],
                    side[lo + bridges[1] : hi + bridges[1]],
                    out=high[:m],
                )
                for w in bridges[2:]:
                    np.maximum(high[:m], side[lo + w : hi + w], out=high[:m])
                np.greater(low[:m], high[:m], out=kept)
            np.logical_or(t, other[:m], out=t)
            np.logical_and(c, t, out=c)
        u = np.flatnonzero(c)
        u += lo
        ends.append((u, u + o))
    return _distinct_pairs(ends, label, signed, n_basins, n_levels)


def _distinct_pairs(
    ends: list[tuple[np.ndarray, np.ndarray]],
    label: np.ndarray,
    signed: np.ndarray,
    n_basins: int,
    n_levels: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each basin pair of the kept voxel pairs once, at its highest level.

    Parameters
    ----------
    ends : list of ((k,) ndarray, (k,) ndarray)
        Box positions of the two voxels of the kept pairs.
    label, signed : ndarrays
        Basin (-1: none) and signed level of each box position.
    n_basins, n_levels : int

    Returns
    -------
    a, b, level : (e,) ndarrays of int64
        As :func:`saddles`.
    """
    u = np.concatenate([pair[0] for pair in ends]) if ends else np.zeros(0, np.intp)
    if u.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    v = np.concatenate([pair[1] for pair in ends])
    bits = max(int(n_levels).bit_length(), 1)
    wide = (n_basins * n_basins) << bits >= 2**31
    key_type = np.int64 if wide else np.int32
    key = np.take(label, u).astype(key_type)
    key *= n_basins
    key += np.take(label, v)
    key <<= bits
    level = np.minimum(np.abs(np.take(signed, u)), np.abs(np.take(signed, v)))
    key |= level
    # one sort: the last key of each basin pair holds its highest level
    ordered = np.sort(key)
    pair = ordered >> bits
    last = np.flatnonzero(np.append(pair[1:] != pair[:-1], True))
    pair = pair[last].astype(np.int64)
    return pair // n_basins, pair % n_basins, (ordered[last] & ((1 << bits) - 1)).astype(np.int64)
