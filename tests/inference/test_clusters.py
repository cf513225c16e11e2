"""Cluster labelling, extent filtering, peaks and sub-peaks on hand-built maps."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from glmreport.inference.clusters import (
    ClusterSet,
    apply_extent,
    find_clusters,
    label_clusters,
    label_in_mask,
    voxel_index,
)
from glmreport.inference.peaks import local_maxima
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS

SHAPE = (20, 20, 20)
AFFINE_1MM = np.eye(4)


def _affine(voxel: float = 2.0) -> np.ndarray:
    affine = np.diag([voxel, voxel, voxel, 1.0])
    affine[:3, 3] = [-20.0, -30.0, -10.0]
    return affine


def _in_mask(vol: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    mask = np.ones(vol.shape, bool) if mask is None else mask
    return vol[mask], mask


def _blobs() -> np.ndarray:
    """A 3x3x3 positive cube (peak 5 at its centre), a 2x2x2 positive cube (peak 4) and a
    4-voxel negative bar (peak -6)."""
    vol = np.zeros(SHAPE)
    vol[4:7, 4:7, 4:7] = 3.0
    vol[5, 5, 5] = 5.0
    vol[12:14, 12:14, 12:14] = 3.5
    vol[13, 12, 13] = 4.0
    vol[2, 15:19, 10] = [-4.0, -6.0, -5.0, -4.5]
    return vol


def test_known_blobs_two_sided():
    vol = _blobs()
    z, mask = _in_mask(vol)
    affine = _affine(2.0)
    stat = 1.5 * z
    cset = find_clusters(z, np.abs(z) > 2.0, mask=mask, affine=affine, stat=stat, two_sided=True)
    assert isinstance(cset, ClusterSet)
    c = cset.clusters
    assert list(c.columns[: len(CLUSTER_COLUMNS)]) == list(CLUSTER_COLUMNS)
    # positive clusters first (by peak), then the negative one despite its larger |z|
    assert c["cluster_id"].tolist() == [1, 2, 3]
    assert c["sign"].tolist() == ["+", "+", "-"]
    assert c["size_voxels"].tolist() == [27, 8, 4]
    np.testing.assert_allclose(c["volume_mm"], [27 * 8.0, 8 * 8.0, 4 * 8.0])
    np.testing.assert_allclose(c["peak_value"], [5.0, 4.0, -6.0])
    np.testing.assert_allclose(c["peak_stat"], [7.5, 6.0, -9.0])
    # world coordinates: x = 2 i - 20, y = 2 j - 30, z = 2 k - 10
    np.testing.assert_allclose(c[["peak_x", "peak_y", "peak_z"]].to_numpy()[0], [-10, -20, 0])
    np.testing.assert_allclose(c[["peak_x", "peak_y", "peak_z"]].to_numpy()[1], [6, -6, 16])
    np.testing.assert_allclose(c[["peak_x", "peak_y", "peak_z"]].to_numpy()[2], [-16, 2, 10])
    # labels: (v,) ints, row k-1 of the table
    assert cset.labels.shape == z.shape
    assert np.bincount(cset.labels)[1:].tolist() == [27, 8, 4]
    lab = np.zeros(SHAPE, int)
    lab[mask] = cset.labels
    assert lab[5, 5, 5] == 1 and lab[12, 12, 12] == 2 and lab[2, 16, 10] == 3
    # one peak per cluster here (all within 8 mm of the main peak)
    assert cset.peaks["cluster_id"].tolist() == ["1", "2", "3"]
    assert list(cset.peaks.columns[: len(PEAK_COLUMNS)]) == list(PEAK_COLUMNS)
    assert cset.peaks["size_voxels"].tolist() == [27, 8, 4]


def test_one_sided_ignores_negative_voxels():
    vol = _blobs()
    z, mask = _in_mask(vol)
    cset = find_clusters(z, z > 2.0, mask=mask, affine=AFFINE_1MM, two_sided=False)
    assert cset.clusters["sign"].tolist() == ["+", "+"]
    assert cset.clusters["size_voxels"].tolist() == [27, 8]
    assert cset.peaks["peak_stat"].isna().all()  # stat=None


def test_clusters_ordered_by_peak_within_sign():
    vol = np.zeros(SHAPE)
    vol[2, 2, 2] = 3.0
    vol[10, 10, 10] = 7.0
    vol[15, 3, 3] = 5.0
    vol[3, 15, 3] = -4.0
    vol[3, 3, 15] = -8.0
    z, mask = _in_mask(vol)
    cset = find_clusters(z, np.abs(z) > 1, mask=mask, affine=AFFINE_1MM, two_sided=True)
    np.testing.assert_allclose(cset.clusters["peak_value"], [7.0, 5.0, 3.0, -8.0, -4.0])
    assert cset.clusters["cluster_id"].tolist() == [1, 2, 3, 4, 5]
    assert cset.clusters["sign"].tolist() == ["+", "+", "+", "-", "-"]


def _bar(peaks: dict[int, float], length: int = 40, base: float = 2.5) -> np.ndarray:
    """A one-voxel-thick bar along x at (., 5, 5) with narrow bumps at the given x."""
    vol = np.zeros((length, 10, 10))
    x = np.arange(length)
    profile = np.full(length, base)
    for x0, height in peaks.items():
        profile = np.maximum(profile, base + (height - base) * np.exp(-((x - x0) ** 2) / 1.0))
    vol[:, 5, 5] = profile
    return vol


def test_subpeaks_naming_order_and_min_distance():
    vol = _bar({3: 6.0, 10: 5.0, 14: 4.5, 20: 4.0, 27: 3.5})
    z, mask = _in_mask(vol)
    kwargs = {"mask": mask, "affine": AFFINE_1MM, "two_sided": False}
    cset = find_clusters(z, z > 2.0, min_distance_mm=8.0, **kwargs)
    p = cset.peaks
    # 10 is 7 mm from 3; 20 is 6 mm from 14: both dropped
    assert p["cluster_id"].tolist() == ["1", "1a", "1b"]
    assert p["peak_x"].tolist() == [3.0, 14.0, 27.0]
    np.testing.assert_allclose(p["peak_value"], [6.0, 4.5, 3.5])
    assert (p["size_voxels"] == 40).all()

    cset = find_clusters(z, z > 2.0, min_distance_mm=5.0, **kwargs)
    assert cset.peaks["peak_x"].tolist() == [3.0, 10.0, 20.0, 27.0]
    assert cset.peaks["cluster_id"].tolist() == ["1", "1a", "1b", "1c"]

    cset = find_clusters(z, z > 2.0, min_distance_mm=5.0, max_subpeaks=2, **kwargs)
    assert cset.peaks["cluster_id"].tolist() == ["1", "1a", "1b"]
    cset = find_clusters(z, z > 2.0, min_distance_mm=5.0, max_subpeaks=0, **kwargs)
    assert cset.peaks["cluster_id"].tolist() == ["1"]


def test_min_distance_is_strict_and_in_mm():
    vol = _bar({3: 6.0, 7: 5.0})
    z, mask = _in_mask(vol)
    # 4 voxels apart at 2 mm = 8 mm: not "more than" 8 mm
    cset = find_clusters(z, z > 2.0, mask=mask, affine=_affine(2.0), min_distance_mm=8.0)
    assert cset.peaks["cluster_id"].tolist() == ["1"]
    cset = find_clusters(z, z > 2.0, mask=mask, affine=_affine(2.0), min_distance_mm=7.9)
    assert cset.peaks["cluster_id"].tolist() == ["1", "1a"]


def test_greedy_subpeak_selection_never_reinstates():
    # candidates by height: x=0 (6), x=20 (5), x=5 (4). x=5 is within 8 mm of x=0, so it is
    # never reported, even though it is far from x=20.
    vol = _bar({0: 6.0, 20: 5.0, 5: 4.0}, length=30)
    z, mask = _in_mask(vol)
    cset = find_clusters(z, z > 2.0, mask=mask, affine=AFFINE_1MM, min_distance_mm=8.0)
    assert cset.peaks["peak_x"].tolist() == [0.0, 20.0]


def test_negative_cluster_subpeaks_are_minima():
    vol = -_bar({3: 6.0, 14: 4.5})
    z, mask = _in_mask(vol)
    cset = find_clusters(z, np.abs(z) > 2.0, mask=mask, affine=AFFINE_1MM, two_sided=True)
    assert cset.clusters["sign"].tolist() == ["-"]
    assert cset.peaks["cluster_id"].tolist() == ["1", "1a"]
    np.testing.assert_allclose(cset.peaks["peak_value"], [-6.0, -4.5])


def test_constant_cluster_reports_first_voxel():
    vol = np.zeros(SHAPE)
    vol[5:8, 5:8, 5:8] = 3.0
    z, mask = _in_mask(vol)
    cset = find_clusters(z, z > 1, mask=mask, affine=AFFINE_1MM)
    assert cset.peaks["cluster_id"].tolist() == ["1"]
    assert cset.peaks[["peak_x", "peak_y", "peak_z"]].to_numpy().tolist() == [[5.0, 5.0, 5.0]]


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ((6, 5, 5), {6: 1, 18: 1, 26: 1}),  # shares a face
        ((6, 6, 5), {6: 2, 18: 1, 26: 1}),  # shares an edge
        ((6, 6, 6), {6: 2, 18: 2, 26: 1}),  # shares a corner
    ],
)
def test_connectivity(second, expected):
    vol = np.zeros(SHAPE, bool)
    vol[5, 5, 5] = True
    vol[second] = True
    z, mask = _in_mask(vol.astype(float) * 3.0)
    for conn, n in expected.items():
        labels, n_found = label_clusters(vol, conn)
        assert n_found == n
        assert labels.dtype == np.int32
        cset = find_clusters(z, z > 1, mask=mask, affine=AFFINE_1MM, connectivity=conn)
        assert len(cset.clusters) == n


def test_invalid_connectivity():
    with pytest.raises(ValueError, match="6 \\(faces\\)"):
        label_clusters(np.zeros(SHAPE, bool), 8)


def test_empty_map():
    z, mask = _in_mask(np.zeros(SHAPE))
    cset = find_clusters(z, np.zeros(z.size, bool), mask=mask, affine=AFFINE_1MM)
    assert cset.clusters.empty and cset.peaks.empty
    assert list(cset.clusters.columns) == list(CLUSTER_COLUMNS)
    assert list(cset.peaks.columns) == list(PEAK_COLUMNS)
    assert cset.clusters["cluster_id"].dtype == np.int64
    assert cset.clusters["size_voxels"].dtype == np.int64
    assert pd.api.types.is_float_dtype(cset.clusters["peak_value"])
    assert cset.n_clusters == 0
    assert (cset.labels == 0).all() and cset.labels.shape == z.shape


def test_column_dtypes_match_empty_tables():
    z, mask = _in_mask(_blobs())
    full = find_clusters(z, np.abs(z) > 2, mask=mask, affine=AFFINE_1MM, two_sided=True)
    empty = find_clusters(z, np.zeros(z.size, bool), mask=mask, affine=AFFINE_1MM)
    assert full.clusters.dtypes.to_dict() == empty.clusters.dtypes.to_dict()
    assert full.peaks.dtypes.to_dict() == empty.peaks.dtypes.to_dict()


def test_partial_mask_and_shape_check():
    vol = _blobs()
    mask = np.ones(SHAPE, bool)
    mask[5, 5, 5] = False  # hide the cube's peak
    z = vol[mask]
    cset = find_clusters(z, z > 2, mask=mask, affine=AFFINE_1MM)
    # the cube lost its 5.0 peak: it now ranks after the small cube (peak 4.0)
    assert cset.clusters["size_voxels"].tolist() == [8, 26]
    np.testing.assert_allclose(cset.clusters["peak_value"], [4.0, 3.0])
    with pytest.raises(ValueError, match="in-mask"):
        find_clusters(vol.ravel(), vol.ravel() > 2, mask=mask, affine=AFFINE_1MM)


def test_apply_extent_per_sign_and_inclusive():
    vol = np.zeros(SHAPE)
    vol[5, 5:10, 5] = 3.0  # 5 positive voxels
    vol[6, 5:10, 5] = -3.0  # 5 negative voxels touching them
    vol[15, 15, 10:16] = 3.0  # 6 positive voxels
    z, mask = _in_mask(vol)
    surviving = np.abs(z) > 1
    sign = np.sign(z).astype(np.int8)
    kept = apply_extent(surviving, sign, mask, 6, 26)
    # per sign, the touching 5 + 5 voxels are two clusters of 5: removed; 6 >= 6 kept
    assert kept.sum() == 6 and (z[kept] > 0).all()
    # without signs, the touching voxels form one cluster of 10
    assert apply_extent(surviving, None, mask, 6, 26).sum() == 16
    assert apply_extent(surviving, sign, mask, 5, 26).sum() == 16
    assert apply_extent(surviving, sign, mask, 7, 26).sum() == 0
    # 0 or 1 keeps everything and returns a copy
    out = apply_extent(surviving, sign, mask, 0, 26)
    assert out is not surviving and (out == surviving).all()


def test_apply_extent_connectivity():
    vol = np.zeros(SHAPE)
    vol[5, 5, 5] = vol[6, 6, 6] = vol[7, 7, 7] = 3.0  # corner-connected diagonal
    z, mask = _in_mask(vol)
    assert apply_extent(z > 1, None, mask, 3, 26).sum() == 3
    assert apply_extent(z > 1, None, mask, 3, 18).sum() == 0
    assert apply_extent(z > 1, None, mask, 3, 6).sum() == 0


def test_large_map_is_fast_and_consistent():
    rng = np.random.default_rng(0)
    shape = (97, 115, 97)
    ii, jj, kk = np.indices(shape)
    mask = ((ii - 48) / 38) ** 2 + ((jj - 57) / 48) ** 2 + ((kk - 48) / 36) ** 2 < 1
    vol = ndimage.gaussian_filter(rng.standard_normal(shape), 1.0)
    z = vol[mask] / vol[mask].std()
    affine = _affine(2.0)
    surviving = np.abs(z) > 2.0
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        cset = find_clusters(z, surviving, mask=mask, affine=affine, stat=z, two_sided=True)
        best = min(best, time.perf_counter() - t0)
    assert mask.sum() > 230_000
    assert len(cset.clusters) > 1000
    assert best < 0.3, f"find_clusters took {best:.3f} s"
    # every surviving voxel is labelled, sizes agree with the labels
    assert ((cset.labels > 0) == surviving).all()
    np.testing.assert_array_equal(
        np.bincount(cset.labels)[1:], cset.clusters["size_voxels"].to_numpy()
    )
    # main peaks are the extreme z of their cluster
    main = cset.peaks[~cset.peaks["cluster_id"].str.contains("[a-z]", regex=True)]
    ext = ndimage.maximum(np.abs(z), cset.labels, np.arange(1, len(cset.clusters) + 1))
    np.testing.assert_allclose(np.abs(main["peak_value"].to_numpy()), ext)
    np.testing.assert_allclose(cset.clusters["peak_value"], main["peak_value"])


def test_labelling_in_the_voxels_box_is_that_of_the_whole_volume():
    """Components are labelled within the box of their voxels: the same labels, numbered in
    the same order, as ``ndimage.label`` on the whole volume, for every connectivity, sparse
    and dense sets, single voxels and sets touching the volume's faces."""
    rng = np.random.default_rng(21)
    for trial in range(60):
        shape = tuple(rng.integers(1, 14, size=3))
        mask = rng.random(shape) < rng.uniform(0.3, 1.0)
        mask.flat[rng.integers(mask.size)] = True
        group = rng.random(int(mask.sum())) < rng.choice([0.02, 0.2, 0.6, 1.0])
        group[rng.integers(group.size)] = True
        conn = (6, 18, 26)[trial % 3]
        neighbours = ndimage.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[conn])
        expected, n_expected = ndimage.label(_volume(group, mask), neighbours)
        labels, n = label_in_mask(group, mask, neighbours)
        assert n == n_expected and labels.dtype == np.int64
        np.testing.assert_array_equal(labels, expected[mask][group])


def test_labelling_in_the_mask_is_that_of_the_whole_volume():
    """Clusters are labelled within their voxels' box, peaks within their clusters' box and
    coordinates looked up in the mask's flat indices: the same labels, numbering, peaks and
    indices as on the whole volume (brute force here)."""
    rng = np.random.default_rng(3)
    shape = (30, 26, 22)
    ii, jj, kk = np.indices(shape)
    mask = (ii - 14) ** 2 / 100 + (jj - 12) ** 2 / 64 + (kk - 11) ** 2 / 49 < 1
    z = ndimage.gaussian_filter(rng.normal(size=shape), 1.2)[mask] * 6
    surviving = np.abs(z) > 1.0
    for conn in (6, 26):
        neighbours = ndimage.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[conn])
        expected = np.zeros(z.size, dtype=np.int64)
        for group in (surviving & (z >= 0), surviving & (z < 0)):
            lab, _ = ndimage.label(_volume(group, mask), neighbours)
            expected[group] = lab[mask][group] + expected.max()
        result = find_clusters(
            z, surviving, mask=mask, affine=_affine(), two_sided=True, connectivity=conn
        )
        # the same partition of the voxels, sizes and peak heights
        pairs = np.unique(np.c_[expected[surviving], result.labels[surviving]], axis=0)
        assert len(pairs) == len(np.unique(expected[surviving])) == len(result.clusters)
        kept = apply_extent(surviving, np.sign(z), mask, 5, connectivity=conn)
        sizes = np.bincount(expected)[expected]
        np.testing.assert_array_equal(kept, surviving & (sizes >= 5))
    ijk = np.argwhere(np.ones(shape, bool))[::7]
    index = np.full(shape, -1, dtype=np.int64)
    index[mask] = np.arange(mask.sum())
    xyz = ijk @ _affine()[:3, :3].T + _affine()[:3, 3]
    xyz = np.r_[xyz, [[-500.0, 0, 0], [200.0, 200, 200]]]
    np.testing.assert_array_equal(
        voxel_index(xyz, mask=mask, affine=_affine()), np.r_[index[tuple(ijk.T)], -1, -1]
    )
    labels = np.ones(surviving.sum(), dtype=np.int64)
    vox = np.argwhere(mask)[surviving]
    got = local_maxima(vox, labels, z[surviving], shape)
    full = np.full(shape, -np.inf)
    full[tuple(vox.T)] = z[surviving]
    padded = np.pad(full, 1, constant_values=-np.inf)
    brute = [
        all(
            padded[i + 1 + a, j + 1 + b, k + 1 + c] < full[i, j, k]
            or ((a, b, c) > (0, 0, 0) and padded[i + 1 + a, j + 1 + b, k + 1 + c] == full[i, j, k])
            for a in (-1, 0, 1)
            for b in (-1, 0, 1)
            for c in (-1, 0, 1)
            if (a, b, c) != (0, 0, 0)
        )
        for i, j, k in vox
    ]
    np.testing.assert_array_equal(got, brute)


def _volume(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    vol = np.zeros(mask.shape, dtype=values.dtype)
    vol[mask] = values
    return vol
