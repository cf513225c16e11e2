"""Pruned saddles and box extrema of the TFCE kernel against their straightforward versions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from glmreport.inference.tfce import neighbour_graph
from glmreport.inference.tfce.box import box_extrema, box_scatter
from glmreport.inference.tfce.kernel import _basins
from glmreport.inference.tfce.levels import signed_levels, tfce_heights
from glmreport.inference.tfce.merge import forest_edges, level_components
from glmreport.inference.tfce.saddles import saddles


def _random_map(seed: int, sigma: float, shape=(13, 12, 11)):
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    mask[1:-1, 1:-2, 2:-1] = True
    mask &= rng.random(shape) > 0.1
    vol = rng.standard_normal(shape)
    if sigma:
        vol = ndimage.gaussian_filter(vol, sigma)
    return vol[mask], mask


def _all_pair_saddles(slev, basin, graph):
    """Every touching voxel pair of two basins of one sign, at its lower level."""
    n = graph.n_voxels
    u = np.repeat(np.arange(n), graph.forward.shape[1])
    v = graph.forward.ravel().astype(np.int64)
    keep = v < n
    u, v = u[keep], v[keep]
    keep = (slev[u] * slev[v] > 0) & (basin[u] != basin[v])
    u, v = u[keep], v[keep]
    level = np.minimum(np.abs(slev[u]), np.abs(slev[v])).astype(np.int64)
    # each basin pair once (in either order), at its highest level
    a, b = np.minimum(basin[u], basin[v]), np.maximum(basin[u], basin[v])
    best = {}
    for pair in zip(a.tolist(), b.tolist(), level.tolist(), strict=True):
        best[pair[:2]] = max(best.get(pair[:2], 0), pair[2])
    rows = np.array([(x, y, z) for (x, y), z in best.items()], dtype=np.int64).reshape(-1, 3)
    return rows[:, 0], rows[:, 1], rows[:, 2]


@pytest.mark.parametrize("connectivity", [6, 18, 26])
@pytest.mark.parametrize("sigma", [0.0, 1.0])
def test_saddles_join_the_clusters_of_all_touching_pairs(connectivity, sigma):
    stat, mask = _random_map(connectivity + int(10 * sigma), sigma)
    graph = neighbour_graph(mask, connectivity)
    heights = tfce_heights(stat)
    slev = signed_levels(stat, heights, True)
    basin, roots = _basins(slev, graph)
    nb, nl = roots.size, heights.size
    ours = forest_edges(*saddles(slev, basin, graph, nb, nl), nb, nl)
    ref_pairs = _all_pair_saddles(slev, basin, graph)
    ref = forest_edges(*ref_pairs, nb, nl)
    assert ref_pairs[0].size > 0
    got = [comp.copy() for _, comp in level_components(*ours, nb, nl)]
    want = [comp.copy() for _, comp in level_components(*ref, nb, nl)]
    assert len(got) == len(want) == nl
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_box_extrema_equal_neighbour_gathers(connectivity):
    stat, mask = _random_map(connectivity, 0.0)
    graph = neighbour_graph(mask, connectivity)
    values = np.random.default_rng(0).integers(-1000, 1000, graph.n_voxels).astype(np.int32)
    hi, lo = box_extrema(box_scatter("test", values, graph, np.int32, 0), graph)
    # neighbours along both directions of every offset, outside the mask counting as 0
    padded = np.append(values, 0)
    nbrs = [padded[graph.forward[:, j]] for j in range(graph.forward.shape[1])]
    back = np.full((graph.n_voxels + 1, graph.forward.shape[1]), graph.n_voxels)
    for j in range(graph.forward.shape[1]):
        back[graph.forward[:, j], j] = np.arange(graph.n_voxels)
    nbrs += [padded[back[:-1, j]] for j in range(graph.forward.shape[1])]
    stack = np.stack([values, *nbrs])
    np.testing.assert_array_equal(hi[graph.box_index], stack.max(axis=0))
    np.testing.assert_array_equal(lo[graph.box_index], stack.min(axis=0))


def test_box_buffers_follow_the_mask():
    # two masks with boxes of one size: the second must not see the first one's voxels
    stat, mask = _random_map(3, 1.0)
    other = mask.copy()
    other[3:6, 4:7, 5:8] = ~other[3:6, 4:7, 5:8]
    for m in (mask, other, mask):
        graph = neighbour_graph(m, 26)
        labels = np.arange(graph.n_voxels, dtype=np.int32)
        box = box_scatter("test_owner", labels, graph, np.int32, -1)
        outside = np.ones(box.size, bool)
        outside[graph.box_index] = False
        assert (box[outside] == -1).all()
        np.testing.assert_array_equal(box[graph.box_index], labels)


def _steepest_basins(slev, graph):
    """Basins by following, from every voxel, its same-sign neighbour of highest (level, code).

    The code of a voxel is its box coordinates modulo 3 (``9 x + 3 y + z``).
    """
    n = graph.n_voxels
    xyz = np.unravel_index(graph.box_index, graph.box_shape)
    code = 9 * (xyz[0] % 3) + 3 * (xyz[1] % 3) + xyz[2] % 3
    back = np.full((n + 1, graph.forward.shape[1]), n)
    for j in range(graph.forward.shape[1]):
        back[graph.forward[:, j], j] = np.arange(n)
    nbrs = np.concatenate([np.arange(n)[:, None], graph.forward, back[:-1]], axis=1)
    parent = np.arange(n)
    for u in np.flatnonzero(slev):
        same = [w for w in nbrs[u] if w < n and slev[w] * slev[u] > 0]
        parent[u] = max(same, key=lambda w: (abs(int(slev[w])), code[w]))
    while not np.array_equal(parent[parent], parent):
        parent = parent[parent]
    roots = np.flatnonzero((slev != 0) & (parent == np.arange(n)))
    basin = np.full(n, -1)
    basin[slev != 0] = np.searchsorted(roots, parent[slev != 0])
    return basin, roots


@pytest.mark.parametrize("connectivity", [6, 18, 26])
@pytest.mark.parametrize("two_sided", [True, False])
def test_basins_follow_the_steepest_same_sign_neighbour(connectivity, two_sided):
    """Both signs, background voxels and plateaus (coarse heights) get the pointer basins.

    Every neighbour of a 3x3x3 cube has its own code, so the code names the neighbour.
    """
    stat, mask = _random_map(connectivity + 7, 1.0)
    graph = neighbour_graph(mask, connectivity)
    slev = signed_levels(stat, tfce_heights(stat, dh=0.4, two_sided=two_sided), two_sided)
    assert (slev > 0).any() and (slev == 0).any() and ((slev < 0).any() == two_sided)
    basin, roots = _basins(slev, graph)
    want_basin, want_roots = _steepest_basins(slev, graph)
    np.testing.assert_array_equal(roots, want_roots)
    np.testing.assert_array_equal(basin, want_basin)
    # levels above 1023 take 32-bit keys (same order, same basins)
    wide = (slev * 300).astype(np.int16)
    assert np.abs(wide).max() >= 1024
    basin, roots = _basins(wide, graph)
    np.testing.assert_array_equal(roots, want_roots)
    np.testing.assert_array_equal(basin, want_basin)


def test_box_mask_marks_the_in_mask_positions():
    _, mask = _random_map(4, 0.0)
    graph = neighbour_graph(mask, 18)
    assert graph.box_mask.sum() == graph.n_voxels
    np.testing.assert_array_equal(np.flatnonzero(graph.box_mask), graph.box_index)
    values = np.arange(graph.n_voxels, dtype=np.int64)
    box = box_scatter("test_mask", values, graph, np.int16, -1)
    assert box.dtype == np.int16 and (box[~graph.box_mask] == -1).all()
    np.testing.assert_array_equal(box[graph.box_index], values)


@pytest.mark.parametrize("connectivity", [18, 26])
def test_saddle_edges_are_touching_pairs_of_two_basins(connectivity):
    """Every edge joins two different touching basins, at most at their highest saddle."""
    stat, mask = _random_map(connectivity + 3, 1.0)
    graph = neighbour_graph(mask, connectivity)
    heights = tfce_heights(stat)
    slev = signed_levels(stat, heights, True)
    basin, roots = _basins(slev, graph)
    a, b, level = saddles(slev, basin, graph, roots.size, heights.size)
    ref_a, ref_b, ref_level = _all_pair_saddles(slev, basin, graph)
    best = {(x, y): lev for x, y, lev in zip(ref_a, ref_b, ref_level, strict=True)}
    assert a.size > 0 and (a != b).all()
    for x, y, lev in zip(a.tolist(), b.tolist(), level.tolist(), strict=True):
        assert 1 <= lev <= best[min(x, y), max(x, y)]
