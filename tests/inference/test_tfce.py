"""TFCE against its definition (one labelling per height), and the neighbour graph."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from glmreport.errors import InferenceError
from glmreport.inference.tfce import (
    connected_components,
    neighbour_graph,
    tfce,
    tfce_heights,
    tfce_max,
)

RANKS = {6: 1, 18: 2, 26: 3}


def _definition(vol: np.ndarray, mask: np.ndarray, connectivity: int, **kw) -> np.ndarray:
    """TFCE by its definition: label the supra-threshold set at every height."""
    E = kw.get("E", 0.5)
    H = kw.get("H", 2.0)
    two_sided = kw.get("two_sided", True)
    heights = tfce_heights(vol[mask], dh=kw.get("dh", "auto"), two_sided=two_sided)
    structure = ndimage.generate_binary_structure(3, RANKS[connectivity])
    out = np.zeros(vol.shape)
    for sign in (1, -1) if two_sided else (1,):
        signed = np.where(mask, sign * vol, 0.0)
        for h in heights:
            labels, n = ndimage.label(signed >= h, structure)
            sizes = np.bincount(labels.ravel(), minlength=n + 1).astype(float)
            contrib = sizes**E * h**H
            contrib[0] = 0.0
            out += sign * contrib[labels]
    return out[mask]


def _smooth_map(seed: int, shape=(14, 15, 13), sigma: float = 1.2, hole: float = 0.08):
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    mask[1:-1, 2:-1, 1:-2] = True
    mask &= rng.random(shape) > hole
    vol = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    vol /= vol[mask].std()
    return vol, mask


@pytest.mark.parametrize("connectivity", [6, 18, 26])
@pytest.mark.parametrize("two_sided", [True, False])
def test_tfce_equals_definition(connectivity, two_sided):
    vol, mask = _smooth_map(connectivity + two_sided)
    graph = neighbour_graph(mask, connectivity)
    ours = tfce(vol[mask], graph, two_sided=two_sided)
    ref = _definition(vol, mask, connectivity, two_sided=two_sided)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    assert tfce_max(vol[mask], graph, two_sided=two_sided) == pytest.approx(
        np.abs(ref).max(), rel=1e-12
    )
    if not two_sided:
        assert np.all(ours[vol[mask] <= 0] == 0)


@pytest.mark.parametrize(
    "kw", [{"E": 1.0, "H": 1.5}, {"dh": 0.05}, {"dh": 5.0}, {"E": 0.6, "H": 2.5, "dh": 0.1}]
)
def test_tfce_parameters(kw):
    vol, mask = _smooth_map(7, sigma=0.8)
    graph = neighbour_graph(mask, 26)
    ours = tfce(vol[mask], graph, **kw)
    ref = _definition(vol, mask, 26, **kw)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_tfce_rough_map_and_plateaus():
    """White noise (many basins) and exact ties (plateaus at one value)."""
    rng = np.random.default_rng(3)
    shape = (12, 12, 12)
    mask = np.ones(shape, bool)
    vol = np.round(rng.standard_normal(shape), 1)  # many equal values
    vol[2:5, 2:5, 2:5] = 2.5  # a plateau
    graph = neighbour_graph(mask, 26)
    for two_sided in (True, False):
        ours = tfce(vol[mask], graph, two_sided=two_sided)
        ref = _definition(vol, mask, 26, two_sided=two_sided)
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_tfce_float32_input_and_empty_maps():
    vol, mask = _smooth_map(11)
    graph = neighbour_graph(mask, 26)
    x32 = vol[mask].astype(np.float32)
    ref = _definition(np.where(mask, vol.astype(np.float32), 0).astype(np.float64), mask, 26)
    np.testing.assert_allclose(tfce(x32, graph), ref, rtol=1e-9)
    zeros = np.zeros(graph.n_voxels)
    assert np.all(tfce(zeros, graph) == 0)
    assert tfce_max(zeros, graph) == 0.0
    negative = -np.abs(vol[mask]) - 0.1
    assert np.all(tfce(negative, graph, two_sided=False) == 0)
    assert np.all(tfce(negative, graph, two_sided=True) < 0)


def test_tfce_heights():
    x = np.array([-3.0, 1.0, 2.0])
    h = tfce_heights(x)
    assert h.size == 100 and h[-1] == 3.0 and h[0] == pytest.approx(0.03)
    assert tfce_heights(x, two_sided=False)[-1] == 2.0
    assert tfce_heights(x, dh=0.1).size == 30
    assert tfce_heights(x, dh=1.0).size == 10  # at least 10 steps
    assert tfce_heights(x, dh=1e-4).size == 1000  # at most 1000 steps
    assert tfce_heights(np.zeros(3)).size == 0
    with pytest.raises(InferenceError, match="dh"):
        tfce_heights(x, dh="fast")
    with pytest.raises(InferenceError, match="dh"):
        tfce_heights(x, dh=-1.0)


def test_tfce_shape_error():
    mask = np.ones((3, 3, 3), bool)
    graph = neighbour_graph(mask, 6)
    with pytest.raises(InferenceError, match="shape"):
        tfce(np.zeros(5), graph)


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_neighbour_graph_counts(connectivity):
    mask = np.ones((3, 3, 3), bool)
    graph = neighbour_graph(mask, connectivity)
    assert graph.forward.shape == (27, connectivity // 2)
    pairs = graph.forward[graph.forward < graph.n_voxels]
    # the centre voxel (index 13) has every neighbour exactly once over all pairs
    centre = np.count_nonzero(graph.forward[13] < 27) + np.count_nonzero(graph.forward == 13)
    assert centre == connectivity
    assert pairs.size == {6: 54, 18: 126, 26: 158}[connectivity]
    with pytest.raises(InferenceError, match="connectivity"):
        neighbour_graph(mask, 8)


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_connected_components_match_ndimage(connectivity):
    rng = np.random.default_rng(connectivity)
    shape = (15, 14, 13)
    mask = rng.random(shape) > 0.1
    vol = ndimage.gaussian_filter(rng.standard_normal(shape), 1.0)
    vol /= vol[mask].std()
    graph = neighbour_graph(mask, connectivity)
    x = vol[mask]
    structure = ndimage.generate_binary_structure(3, RANKS[connectivity])
    # one-signed
    voxels = np.flatnonzero(x > 1.0)
    labels, n = connected_components(voxels, graph)
    ref3d, n_ref = ndimage.label(mask & (vol > 1.0), structure)
    ref = ref3d[mask][voxels]
    assert n == n_ref
    # same partition: a bijection between labels
    pairs = np.unique(np.stack([labels, ref]), axis=1)
    assert pairs.shape[1] == n
    # two-signed: positive and negative voxels never join
    voxels = np.flatnonzero(np.abs(x) > 0.5)
    labels, n = connected_components(voxels, graph, sign=x[voxels])
    pos3d, n_pos = ndimage.label(mask & (vol > 0.5), structure)
    neg3d, n_neg = ndimage.label(mask & (vol < -0.5), structure)
    assert n == n_pos + n_neg
    ref = np.where(x[voxels] > 0, pos3d[mask][voxels], n_pos + neg3d[mask][voxels])
    assert np.unique(np.stack([labels, ref]), axis=1).shape[1] == n
    labels, n = connected_components(np.zeros(0, dtype=int), graph)
    assert labels.size == 0 and n == 0


@pytest.mark.parametrize("cells", [0, 4_000_000])
def test_tfce_code_paths_agree(monkeypatch, cells):
    """Level-by-level tables give the same values as whole-array tables."""
    import glmreport.inference.tfce.kernel as module

    vol, mask = _smooth_map(5, sigma=0.9)
    graph = neighbour_graph(mask, 26)
    expected = tfce(vol[mask], graph)
    monkeypatch.setattr(module, "_VECTOR_CELLS", cells)
    np.testing.assert_allclose(tfce(vol[mask], graph), expected, rtol=1e-12)
    assert tfce_max(vol[mask], graph) == pytest.approx(np.abs(expected).max(), rel=1e-12)


def test_bad_parameters_raise_inference_error():
    """Bad parameters are domain errors (exit 2 on the command line), naming the parameter."""
    mask = np.ones((3, 3, 3), bool)
    graph = neighbour_graph(mask, 26)
    with pytest.raises(InferenceError, match="3D"):
        neighbour_graph(np.ones((3, 3), bool))
    with pytest.raises(InferenceError, match="dh"):
        tfce(np.ones(27), graph, dh=0.0)
    with pytest.raises(InferenceError, match="dh"):
        tfce_max(np.zeros(27), graph, dh="coarse")
    with pytest.raises(InferenceError, match="shape"):
        tfce_max(np.zeros(5), graph)


def test_white_noise_many_basins_and_connectivities():
    """A rough map (thousands of basins, long merge chains) in every neighbourhood."""
    rng = np.random.default_rng(21)
    shape = (16, 17, 15)
    mask = rng.random(shape) > 0.05
    vol = rng.standard_normal(shape)
    for connectivity in (6, 18, 26):
        graph = neighbour_graph(mask, connectivity)
        ours = tfce(vol[mask], graph, dh=0.02)
        ref = _definition(vol, mask, connectivity, dh=0.02)
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_tfce_single_basin_along_a_diagonal_ridge(connectivity):
    """One basin whose unbridged diagonal pairs all lie within it: no edge is left."""
    ii, jj, _ = np.indices((5, 5, 1))
    vol = 10.0 - 3 * np.abs(ii - jj) + 0.5 * (ii + jj)
    mask = np.ones(vol.shape, bool)
    graph = neighbour_graph(mask, connectivity)
    for two_sided in (True, False):
        ours = tfce(vol[mask], graph, two_sided=two_sided)
        ref = _definition(vol, mask, connectivity, two_sided=two_sided)
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
        assert tfce_max(vol[mask], graph, two_sided=two_sided) == np.abs(ours).max()


#: SHA-256 of the TFCE maps and maxima below as computed by the kernel of commit daf1c04
#: (before its speed-ups): the kernel's values stay the same to the last bit.
_REFERENCE_DIGEST = "3038f18156524af9b0b51ffec5bdd9cb47c13fa0656a79b649bda26d6fb56cb1"


def test_tfce_values_equal_the_reference_kernel_bit_for_bit():
    import hashlib

    digest = hashlib.sha256()
    for seed, connectivity in ((1, 6), (2, 18), (3, 26)):
        rng = np.random.default_rng(seed)
        shape = (18, 20, 16)
        mask = rng.random(shape) > 0.05
        noise = rng.standard_normal(shape)
        # two 3x3x3 moving sums (exact order of operations, no library filter): smooth maps
        # with many basins of both signs
        for _ in range(2):
            total = np.zeros(shape)
            for shift in np.ndindex(3, 3, 3):
                total += np.roll(noise, np.subtract(shift, 1), axis=(0, 1, 2))
            noise = total
        stat = (noise[mask] / 40.0).astype(np.float32)
        graph = neighbour_graph(mask, connectivity)
        for values in (stat, -stat, stat.astype(np.float64)):
            for two_sided in (True, False):
                digest.update(tfce(values, graph, two_sided=two_sided).tobytes())
                top = tfce_max(values, graph, two_sided=two_sided)
                digest.update(np.float64(top).tobytes())
    assert digest.hexdigest() == _REFERENCE_DIGEST
