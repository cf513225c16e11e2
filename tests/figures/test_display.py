"""The display grid: the background, display-only resampling, maps put onto the grid."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.figures.display import orient, resample, to_display


def test_background_is_ras_isotropic_and_cropped(background):
    linear = background.affine[:3, :3]
    assert np.allclose(linear, np.eye(3) * 2.0)
    # Cropped to the brain (template grid is 97 x 115 x 97) but keeps all of it.
    assert all(s < full for s, full in zip(background.shape, (97, 115, 97), strict=True))
    assert background.brain.sum() == 237_473  # every voxel of the bundled mask
    assert background.gray.dtype == np.uint8 and background.gray.max() == 255
    assert all(len(lines) >= 1 for lines in background.outlines)
    assert background.voxel_size == 2.0
    # World <-> index round trip at a voxel centre.
    ijk = np.array([10, 20, 30])
    assert np.array_equal(background.to_index(background.to_world(ijk)), ijk)
    # Far outside: clipped to the grid.
    assert np.array_equal(background.to_index([1e4, -1e4, 0])[:2], [background.shape[0] - 1, 0])


def test_resample_shift_and_flip_preserve_world_positions():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((20, 24, 22)).astype(np.float32)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-20.0, -30.0, -10.0]
    # Whole-voxel shift: the copy path.
    target = affine.copy()
    target[:3, 3] += [4.0, -2.0, 0.0]
    out = resample(data, affine, target, (20, 24, 22))
    assert out.dtype == np.float32
    assert np.array_equal(out[:18, 1:, :], data[2:, :23, :])
    assert np.all(out[18:] == 0)
    # Left-right flipped storage (LAS) of the same image resamples back exactly.
    flipped = data[::-1]
    las = affine.copy()
    las[0, 0] = -2.0
    las[0, 3] = affine[0, 3] + 2.0 * 19
    back = resample(flipped, las, affine, data.shape, order=0)
    assert np.allclose(back, data)
    # Trilinear half-way between two voxels is their mean.
    half = affine.copy()
    half[0, 3] += 1.0
    mid = resample(data, affine, half, (19, 24, 22), order=1)
    np.testing.assert_allclose(mid[:, 3, 4], (data[:-1, 3, 4] + data[1:, 3, 4]) / 2, rtol=1e-5)
    with pytest.raises(ValueError, match="order"):
        resample(data, affine, affine, data.shape, order=3)


def test_to_display_coarse_grid_lands_on_same_world_point(background):
    # A 4 mm map with one hot voxel at (-38, -22, 56) mm.
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = [-96.5, -132.5, -78.5]
    data = np.zeros((49, 58, 49), np.float32)
    ijk = np.rint(np.linalg.solve(affine[:3, :3], np.array([-38.0, -22.0, 56.0]) - affine[:3, 3]))
    data[tuple(ijk.astype(int))] = 5.0
    shown = to_display(data, affine, background)
    assert shown.shape == background.shape
    hot = background.to_world(np.argwhere(shown == 5.0))
    assert len(hot) >= 1
    centre = hot.mean(axis=0)
    expected = affine[:3, :3] @ ijk + affine[:3, 3]
    assert np.all(np.abs(centre - expected) <= 2.0), centre


def test_orient_puts_the_vertical_axis_top_down():
    a2d = np.arange(6).reshape(2, 3)  # (horizontal, vertical)
    np.testing.assert_array_equal(orient(a2d), [[2, 5], [1, 4], [0, 3]])
