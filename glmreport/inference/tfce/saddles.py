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

The tests run on the padded box (:mod:`.box`) as shifted slices. Face pairs are also tested
for different basins there; diagonal pairs are few once pruned, so their positions are found
in one pass over all their flags, and pairs within one basin are dropped after the gather.
Only the kept pairs are gathered (all at once), and one sort keeps each basin pair once with
its highest level.
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
    # level on each side (0 on the other); an array of zeros, not the scalar 0, which
    # takes a slow loop for one-byte items
    zero = box_buffer("saddle_zero", size, small, fill=0)
    pos = np.maximum(signed, zero, out=box_buffer("saddle_pos", size, small))
    neg = np.negative(signed, out=box_buffer("saddle_neg", size, small))
    np.maximum(neg, zero, out=neg)
    label_type = np.int16 if n_basins < 2**15 else np.int32
    label = box_scatter("saddle_label", basin, graph, label_type, -1)
    # pairs (u, u + o) with both ends in the mask have u in [margin, size - margin - o)
    margin = ny * nz + nz + 1
    ends = []
    diagonal = []
    for j, (o, bridges) in enumerate(_pair_offsets(graph.connectivity, ny, nz)):
        m = size - 2 * margin - o
        if m <= 0:
            continue
        if bridges:
            diagonal.append((o, _diagonal_pairs(pos, neg, margin, m, o, bridges, j)))
        else:
            u = np.flatnonzero(_face_pairs(label, pos, neg, margin, m, o)) + margin
            ends.append((u, u + o))
    if diagonal:
        # the diagonal flags are sparse: one pass finds the positions flagged by any of them
        span = max(kept.size for _, kept in diagonal)
        found = box_buffer("saddle_found", size, bool)[:span]
        found.fill(False)
        for _, kept in diagonal:
            np.logical_or(found[: kept.size], kept, out=found[: kept.size])
        hits = np.flatnonzero(found)
        for o, kept in diagonal:
            at = hits[: np.searchsorted(hits, kept.size)]
            u = at[kept[at]] + margin
            ends.append((u, u + o))
    return _distinct_pairs(ends, label, signed, n_basins, n_levels)


def _face_pairs(
    label: np.ndarray, pos: np.ndarray, neg: np.ndarray, lo: int, m: int, o: int
) -> np.ndarray:
    """Flags of the face pairs ``(u, u + o)``, ``u = lo + i``: two basins of one sign.

    Parameters
    ----------
    label : (n,) ndarray of int
        Basin of each box position (-1: none).
    pos, neg : (n,) ndarrays of int
        Level of each box position on the positive and on the negative side (0 on the
        other).
    lo, m, o : int
        First position, number of positions and flat offset.

    Returns
    -------
    (m,) ndarray of bool
        A reused buffer.
    """
    size = label.size
    hi = lo + m
    flags = np.not_equal(
        label[lo:hi], label[lo + o : hi + o], out=box_buffer("saddle_cond", size, bool)[:m]
    )
    low = box_buffer("saddle_low", size, pos.dtype)[:m]
    high = box_buffer("saddle_high", size, pos.dtype)[:m]
    # same sign and above the first height: both levels of one side positive
    np.minimum(pos[lo:hi], pos[lo + o : hi + o], out=low)
    np.minimum(neg[lo:hi], neg[lo + o : hi + o], out=high)
    np.bitwise_or(low, high, out=low)
    np.logical_and(flags, low, out=flags)
    return flags


def _diagonal_pairs(
    pos: np.ndarray, neg: np.ndarray, lo: int, m: int, o: int, bridges: tuple[int, ...], j: int
) -> np.ndarray:
    """Flags of the diagonal pairs ``(u, u + o)``, ``u = lo + i``, that no bridge leaves out.

    A flagged pair has both ends on one side, above the first height; it may lie within one
    basin (such pairs are dropped after the gather: testing labels on the whole box costs
    more).

    Parameters
    ----------
    pos, neg : (n,) ndarrays of int
        Level of each box position on the positive and on the negative side (0 on the
        other).
    lo, m, o : int
        First position, number of positions and flat offset.
    bridges : tuple of int
        Flat offsets (from ``u``) of the bridging voxels tested (two or more).
    j : int
        Number of the offset (names its buffer).

    Returns
    -------
    (m,) ndarray of bool
        A reused buffer of its own for offset number ``j``.
    """
    size = pos.size
    hi = lo + m
    kept = box_buffer(f"saddle_kept_{j}", size, bool)[:m]
    other = box_buffer("saddle_other", size, bool)[:m]
    low = box_buffer("saddle_low", size, pos.dtype)[:m]
    high = box_buffer("saddle_high", size, pos.dtype)[:m]
    # kept where, on its side, the lower end is above every bridging voxel
    for side, flags in ((pos, kept), (neg, other)):
        np.minimum(side[lo:hi], side[lo + o : hi + o], out=low)
        np.maximum(
            side[lo + bridges[0] : hi + bridges[0]],
            side[lo + bridges[1] : hi + bridges[1]],
            out=high,
        )
        for w in bridges[2:]:
            np.maximum(high, side[lo + w : hi + w], out=high)
        np.greater(low, high, out=flags)
    np.logical_or(kept, other, out=kept)
    return kept


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
    empty = np.zeros(0, dtype=np.intp)
    u = np.concatenate([pair[0] for pair in ends]) if ends else empty
    v = np.concatenate([pair[1] for pair in ends]) if ends else empty
    la, lb = np.take(label, u), np.take(label, v)
    differ = la != lb
    if not differ.all():
        u, v, la, lb = u[differ], v[differ], la[differ], lb[differ]
    if u.size == 0:
        none = np.zeros(0, dtype=np.int64)
        return none, none, none
    bits = max(int(n_levels).bit_length(), 1)
    wide = (n_basins * n_basins) << bits >= 2**31
    key_type = np.int64 if wide else np.int32
    key = la.astype(key_type)
    key *= n_basins
    key += lb
    key <<= bits
    level = np.minimum(np.abs(np.take(signed, u)), np.abs(np.take(signed, v)))
    key |= level
    # one sort: the last key of each basin pair holds its highest level
    ordered = np.sort(key)
    pair = ordered >> bits
    last = np.flatnonzero(np.append(pair[1:] != pair[:-1], True))
    pair = pair[last].astype(np.int64)
    return pair // n_basins, pair % n_basins, (ordered[last] & ((1 << bits) - 1)).astype(np.int64)
