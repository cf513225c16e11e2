"""The one world-coordinate resampling, and its equality with the four it replaced.

The ``_old_*`` functions are verbatim copies of the resampling code that masking, labels,
figures and the mask-coverage QC each had before they shared :mod:`glmreport.inputs.resample`;
the tests show the shared code gives the same arrays on real inputs (the bundled template's
brain mask and T1 image, which the demo data live on).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from glmreport.inputs.resample import (
    HALF_WAY_TOLERANCE,
    apply_transform,
    nearest_index,
    resample_linear,
    resample_nearest,
    sample_linear,
    sample_nearest,
    voxel_transform,
    whole_voxel_shift,
    world_to_voxels,
)
from glmreport.resources import template_image

# ------------------------------------------------------------------ the replaced implementations


def _old_masking_resample_mask(mask, mask_affine, shape, affine):
    if mask.shape == tuple(shape) and np.allclose(mask_affine, affine, atol=1e-4):
        return mask.astype(bool)
    ijk = np.indices(shape, dtype=float).reshape(3, -1).T
    src = nib.affines.apply_affine(np.linalg.inv(mask_affine) @ affine, ijk)
    values = ndimage.map_coordinates(
        mask.astype(np.uint8), src.T, order=0, mode="constant", cval=0, prefilter=False
    )
    return values.reshape(shape).astype(bool)


def _old_labels_nearest(data, ijk):
    idx = np.floor(ijk + 0.5 + 1e-6).astype(np.int64)
    shape = np.asarray(data.shape[:3])
    inside = np.all((idx >= 0) & (idx < shape), axis=1)
    out = np.zeros(len(ijk), dtype=np.int64)
    sel = idx[inside]
    out[inside] = data[sel[:, 0], sel[:, 1], sel[:, 2]]
    return out


def _old_labels_linear(volume, ijk):
    return ndimage.map_coordinates(
        volume, ijk.T, order=1, mode="grid-constant", cval=0.0, prefilter=False, output=np.float64
    )


def _old_figures_resample(data, affine, target_affine, target_shape, *, order=0):
    data = np.asarray(data, dtype=np.float32)
    target_shape = tuple(int(s) for s in target_shape)
    vox = np.linalg.inv(affine) @ target_affine
    linear, offset = vox[:3, :3], vox[:3, 3]
    if np.allclose(linear, np.eye(3)) and np.allclose(offset, np.rint(offset), atol=1e-3):
        shift = np.rint(offset).astype(int)
        out = np.zeros(target_shape, dtype=np.float32)
        src = [
            slice(max(s, 0), min(s + n, m))
            for s, n, m in zip(shift, target_shape, data.shape, strict=True)
        ]
        dst = [slice(sl.start - s, sl.stop - s) for sl, s in zip(src, shift, strict=True)]
        if all(sl.stop > sl.start for sl in src):
            out[tuple(dst)] = data[tuple(src)]
        return out
    return ndimage.affine_transform(
        data, linear, offset=offset, output_shape=target_shape, order=order, cval=0.0
    ).astype(np.float32)


def _old_qc_resample_nearest(source, source_affine, target_shape, target_affine):
    to_source = np.linalg.inv(source_affine) @ target_affine
    out = np.zeros(target_shape, dtype=bool)
    ii, jj = np.meshgrid(np.arange(target_shape[0]), np.arange(target_shape[1]), indexing="ij")
    plane = np.stack([ii.ravel(), jj.ravel()], axis=1).astype(np.float64)
    bounds = np.array(source.shape)
    for k in range(target_shape[2]):
        ijk = np.column_stack([plane, np.full(len(plane), float(k))])
        src = np.floor(ijk @ to_source[:3, :3].T + to_source[:3, 3] + 0.5).astype(np.int64)
        inside = np.all((src >= 0) & (src < bounds), axis=1)
        values = np.zeros(len(src), dtype=bool)
        values[inside] = source[tuple(src[inside].T)]
        out[:, :, k] = values.reshape(target_shape[0], target_shape[1])
    return out


# ------------------------------------------------------------------ real inputs


@pytest.fixture(scope="module")
def template():
    """The bundled MNI 2 mm brain mask and T1 (the grid of the demo data)."""
    mask = nib.load(template_image("mask"))
    t1 = nib.load(template_image("T1w"))
    return (
        np.asarray(mask.dataobj) > 0,
        np.asarray(t1.dataobj, dtype=np.float32),
        np.asarray(mask.affine, dtype=float),
    )


#: Grids of real analyses: the first-level demo (4 mm), a 3 mm grid with no centre half-way
#: between 2 mm centres, an oblique 3 mm grid, a 1 mm grid (every other centre half-way).
GRIDS = {
    "first-level 4 mm": (
        (40, 48, 36),
        np.array([[4.0, 0, 0, -78.0], [0, 4.0, 0, -112.0], [0, 0, 4.0, -60.0], [0, 0, 0, 1]]),
    ),
    "3 mm": (
        (61, 73, 61),
        np.array([[3.0, 0, 0, -91.3], [0, 3, 0, -127.1], [0, 0, 3, -73.4], [0, 0, 0, 1]]),
    ),
    "oblique 3 mm": (
        (70, 80, 66),
        np.array(
            [
                [3 * np.cos(0.1), -3 * np.sin(0.1), 0, -95.3],
                [3 * np.sin(0.1), 3 * np.cos(0.1), 0, -131.7],
                [0, 0, 3.0, -79.2],
                [0, 0, 0, 1],
            ]
        ),
    ),
    "1 mm": (
        (120, 140, 110),
        np.array([[1.0, 0, 0, -60], [0, 1, 0, -80], [0, 0, 1, -50], [0, 0, 0, 1]]),
    ),
}


@pytest.mark.parametrize("grid", list(GRIDS))
def test_masks_match_the_qc_and_masking_implementations(template, grid):
    mask, _, affine = template
    shape, target = GRIDS[grid]
    new = resample_nearest(mask, affine, shape, target, fill=False)
    assert new.dtype == bool and new.any()
    np.testing.assert_array_equal(new, _old_qc_resample_nearest(mask, affine, shape, target))
    # the template mask is 0 on its outer faces, so the old masking rule (0 beyond the outer
    # voxel centres) agrees too
    np.testing.assert_array_equal(new, _old_masking_resample_mask(mask, affine, shape, target))
    # and back onto the template grid (the coverage QC's other direction)
    back = resample_nearest(new, target, mask.shape, affine, fill=False)
    np.testing.assert_array_equal(back, _old_qc_resample_nearest(new, target, mask.shape, affine))


def test_the_demo_mask_on_its_own_grid_is_unchanged(template):
    mask, _, affine = template
    new = resample_nearest(mask, affine, mask.shape, affine, fill=False)
    np.testing.assert_array_equal(new, mask)
    np.testing.assert_array_equal(new, _old_masking_resample_mask(mask, affine, mask.shape, affine))


@pytest.mark.parametrize("grid", list(GRIDS))
def test_labels_sampling_matches_the_atlas_implementation(template, grid):
    mask, t1, affine = template
    codes = np.where(mask, (t1 // 10).astype(np.int64), 0)  # integer labels with real borders
    shape, target = GRIDS[grid]
    ijk = apply_transform(voxel_transform(affine, target), np.argwhere(np.ones(shape, bool)))
    np.testing.assert_array_equal(sample_nearest(codes, ijk), _old_labels_nearest(codes, ijk))
    np.testing.assert_array_equal(sample_linear(t1, ijk), _old_labels_linear(t1, ijk))


@pytest.mark.parametrize("grid", ["first-level 4 mm", "3 mm", "oblique 3 mm"])
def test_figure_display_arrays_match_the_figures_implementation(template, grid):
    mask, t1, affine = template
    shape, target = GRIDS[grid]
    masked = np.where(mask, t1, 0).astype(np.float32)  # a map: 0 outside the brain mask
    old = _old_figures_resample(masked, affine, target, shape, order=0)
    new = resample_nearest(masked, affine, shape, target, fill=0.0)
    np.testing.assert_array_equal(new, old)
    old = _old_figures_resample(masked, affine, target, shape, order=1)
    new = resample_linear(masked, affine, shape, target).astype(np.float32)
    np.testing.assert_array_equal(new, old)


def test_the_demo_display_array_is_unchanged(template):
    from glmreport.figures import load_background, to_display

    mask, t1, affine = template
    background = load_background()
    values = np.where(mask, t1 / 100.0, 0.0)
    old = _old_figures_resample(values, affine, background.affine, background.shape)
    np.testing.assert_array_equal(to_display(values, affine, background), old)


# ------------------------------------------------------------------ the rules


def test_nearest_takes_the_voxel_holding_the_point_and_half_way_goes_up():
    data = np.arange(1, 6, dtype=np.int64).reshape(5, 1, 1)
    x = np.array([-0.6, -0.5, -0.4, 0.49, 0.5, 1.5 - 1e-9, 3.9, 4.4, 4.5])
    ijk = np.column_stack([x, np.zeros_like(x), np.zeros_like(x)])
    np.testing.assert_array_equal(sample_nearest(data, ijk), [0, 1, 1, 1, 2, 3, 5, 5, 0])
    assert sample_nearest(data, ijk, fill=-7)[0] == -7
    np.testing.assert_array_equal(
        nearest_index([[2.5 - HALF_WAY_TOLERANCE / 2, 0, 0]]), [[3, 0, 0]]
    )


def test_linear_interpolates_and_fades_to_zero_beyond_the_outer_centres():
    volume = np.arange(1.0, 6.0).reshape(5, 1, 1)
    x = np.array([-1.0, -0.5, 0.0, 1.25, 4.0, 4.5, 5.0])
    ijk = np.column_stack([x, np.zeros_like(x), np.zeros_like(x)])
    np.testing.assert_allclose(sample_linear(volume, ijk), [0, 0.5, 1, 2.25, 5, 2.5, 0])


def test_a_whole_voxel_shift_is_copied_like_the_general_path():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 9, (6, 7, 8))
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    target = affine.copy()
    target[:3, 3] = (4.0, -2.0, 6.0)  # shift by (2, -1, 3) voxels
    to_source = voxel_transform(affine, target)
    np.testing.assert_array_equal(whole_voxel_shift(to_source), [2, -1, 3])
    copied = resample_nearest(data, affine, (5, 9, 4), target)
    ijk = apply_transform(to_source, np.indices((5, 9, 4)).reshape(3, -1).T)
    np.testing.assert_array_equal(copied.ravel(), sample_nearest(data, ijk))
    assert copied.dtype == data.dtype
    assert whole_voxel_shift(voxel_transform(affine, np.diag([3.0, 2, 2, 1]))) is None


@pytest.mark.parametrize("seed", range(40))
def test_an_axis_aligned_map_is_read_axis_by_axis_like_the_general_path(seed):
    """Voxel sizes, flips, half-voxel ties and grids partly or wholly outside: the values
    of the slice-by-slice path, point by point (which ``_resample`` still takes)."""
    from glmreport.inputs import resample

    rng = np.random.default_rng(seed)
    dtype, fill = [(bool, False), (np.float32, 0.0), (np.int16, -1)][seed % 3]
    data = (rng.integers(0, 3, tuple(rng.integers(1, 12, 3))) > 0).astype(dtype)
    affine = np.diag([*rng.choice([1.0, 2.0, 3.0, -2.0], 3), 1.0])
    affine[:3, 3] = rng.integers(-8, 8, 3) * rng.choice([0.5, 1.0, 1.5, 0.3], 3)
    target = np.diag([*rng.choice([1.0, 2.0, 0.5, -1.0, 4.0], 3), 1.0])
    target[:3, 3] = rng.integers(-12, 12, 3) * rng.choice([0.5, 0.25, 1.0, 0.7], 3)
    shape = tuple(int(n) for n in rng.integers(1, 14, 3))
    to_source = voxel_transform(affine, target)
    assert resample._axis_aligned(to_source)
    got = resample_nearest(data, affine, shape, target, fill=fill)
    general = resample._resample(
        data,
        to_source,
        shape,
        lambda ijk: sample_nearest(data, ijk, fill=fill),
        dtype=data.dtype,
        fill=fill,
    )
    np.testing.assert_array_equal(got, general)
    assert got.dtype == general.dtype


def test_a_rotated_map_is_not_read_axis_by_axis():
    from glmreport.inputs import resample

    angle = np.deg2rad(10)
    rotated = np.eye(4)
    rotated[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    assert not resample._axis_aligned(voxel_transform(np.eye(4), rotated))
    assert resample._axis_aligned(voxel_transform(np.eye(4), np.diag([2.0, -1.0, 3.0, 1.0])))


def test_world_to_voxels_inverts_the_affine():
    affine = np.array([[2.0, 0, 0, -10], [0, 3, 0, 5], [0, 0, 4, 1], [0, 0, 0, 1]])
    ijk = np.array([[0.0, 0, 0], [1.5, 2, -1]])
    xyz = apply_transform(affine, ijk)
    np.testing.assert_allclose(world_to_voxels(affine, xyz), ijk)


def test_only_3d_volumes_are_resampled():
    with pytest.raises(ValueError, match="3D"):
        resample_nearest(np.zeros((2, 2)), np.eye(4), (2, 2, 2), np.eye(4))
