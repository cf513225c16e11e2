"""The touching basin pairs of a map and their saddle levels (the edges of the merge tree).

Two basins of one sign touch where a voxel ``u`` of one neighbours a voxel ``v`` of the other;
the pair joins them at level ``min(level(u), level(v))``. Only which basins are joined at each
level matters, so a voxel pair can be left out when it is *bridged*: a voxel ``w`` of the
same sign, neighbour of both, at level ``>= min(level(u), level(v))``, and whose offsets to
``u`` and ``v`` have fewer non-zero coordinates than ``v - u`` (so ``u - w - v`` joins the
same basins at that level or higher). By induction on the number of non-zero coordinates,
leaving out every bridged pair of an edge or corner offset keeps every level's clusters:
face pairs are always kept. On smooth maps this leaves out most diagonal pairs (about 80%
of all touching pairs at 26-connectivity).

The tests run on the padded box (:mod:`.box`) as shifted slices; only the kept pairs are
gathered, and one sort keeps each basin pair once with its highest level.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

from .box import box_buffer, box_scatter
from .graph import NeighbourGraph, forward_offsets

__all__ = ["saddles"]


@lru_cache(maxsize=64)
def _pair_offsets(connectivity: int, ny: int, nz: int) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Flat offset of each forward neighbour in a box, and of the voxels bridging it.

    Parameters
    ----------
    connectivity : {6, 18, 26}
    ny, nz : int
        The box's last two dimensions.

    Returns
    -------
    tuple of (int, tuple of int)
        For each forward offset ``o`` (:func:`~.graph.forward_offsets`), its flat offset and
        the flat offsets (from ``u``) of the voxels between ``u`` and ``u + o`` (none for a
        face offset).
    """
    strides = np.array([ny * nz, nz, 1], dtype=np.int64)
    out = []
    for offset in forward_offsets(connectivity):
        axes = np.flatnonzero(offset)
        bridges = []
        for k in range(1, axes.size):
            for sub in combinations(axes, k):
                part = np.zeros(3, dtype=np.int64)
                part[list(sub)] = offset[list(sub)]
                bridges.append(int(part @ strides))
        out.append((int(offset @ strides), tuple(bridges)))
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
    label_type = np.int16 if n_basins < 2**15 else np.int32
    label = box_scatter("saddle_label", basin, graph, label_type, -1)
    cond = box_buffer("saddle_cond", size, bool)
    more = box_buffer("saddle_more", size, bool)
    low = box_buffer("saddle_low", size, small)
    high = box_buffer("saddle_high", size, small)
    other = box_buffer("saddle_other", size, bool)
    # pairs (u, u + o) with both ends in the mask have u in [margin, size - margin - o)
    margin = ny * nz + nz + 1
    bits = max(int(n_levels).bit_length(), 1)
    wide = (n_basins * n_basins) << bits >= 2**31
    key_type = np.int64 if wide else np.int32
    keys = []
    for o, bridges in _pair_offsets(graph.connectivity, ny, nz):
        lo, hi = margin, size - margin - o
        m = hi - lo
        if m <= 0:
            continue
        c, t = cond[:m], more[:m]
        np.not_equal(label[lo:hi], label[lo + o : hi + o], out=c)
        if not bridges:
            # same sign and above the first height: both levels of one side positive
            np.minimum(pos[lo:hi], pos[lo + o : hi + o], out=low[:m])
            np.minimum(neg[lo:hi], neg[lo + o : hi + o], out=high[:m])
            np.bitwise_or(low[:m], high[:m], out=low[:m])
            np.not_equal(low[:m], 0, out=t)
            np.logical_and(c, t, out=c)
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
        p = np.flatnonzero(c)
        if p.size == 0:
            continue
        p += lo
        la = label[p].astype(key_type)
        lb = label[p + o].astype(key_type)
        level = np.minimum(np.abs(signed[p]), np.abs(signed[p + o])).astype(key_type)
        la *= n_basins
        la += lb
        la <<= bits
        la |= level
        keys.append(la)
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    # one sort: the last key of each basin pair holds its highest level
    ordered = np.sort(np.concatenate(keys))
    pair = ordered >> bits
    last = np.flatnonzero(np.append(pair[1:] != pair[:-1], True))
    pair = pair[last].astype(np.int64)
    return pair // n_basins, pair % n_basins, (ordered[last] & ((1 << bits) - 1)).astype(np.int64)
