"""Small volumes on the data grid: spheres, mask images, and the empty cases."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from glmreport.config.specs import SvcSpec
from glmreport.errors import ConfigError
from glmreport.inputs.regions import small_volume, sphere_mask

AFFINE = np.array([[2.0, 0, 0, -10], [0, 2.0, 0, -20], [0, 0, 3.0, 5], [0, 0, 0, 1]])


def test_a_sphere_holds_the_voxel_centres_within_its_radius():
    shape = (12, 14, 8)
    got = sphere_mask((0.0, -8.0, 14.0), 5.0, shape, AFFINE)
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = ijk @ AFFINE[:3, :3].T + AFFINE[:3, 3]
    want = (np.linalg.norm(xyz - [0.0, -8.0, 14.0], axis=1) <= 5.0).reshape(shape)
    np.testing.assert_array_equal(got, want)
    assert got[5, 6, 3]  # the centre voxel (0, -8, 14)
    assert got.sum() == want.sum() > 10
    # the boundary is inclusive: radius 2 mm along x reaches the neighbours at 2 mm
    assert sphere_mask((0.0, -8.0, 14.0), 2.0, shape, AFFINE).sum() == 5  # centre, x +-1, y +-1


def test_small_volumes_are_the_in_mask_part_of_the_region(tmp_path):
    shape = (12, 14, 8)
    mask = np.zeros(shape, bool)
    mask[:, :7] = True  # y < -6 mm
    sphere = SvcSpec(center_mm=(0.0, -8.0, 14.0), radius_mm=5.0, where="corrections[0].svc")
    inside = small_volume(sphere, mask=mask, affine=AFFINE)
    assert inside.shape == (mask.sum(),)
    full = np.zeros(shape, bool)
    full[mask] = inside
    np.testing.assert_array_equal(full, sphere_mask((0.0, -8.0, 14.0), 5.0, shape, AFFINE) & mask)
    # a mask image on a coarser grid is resampled nearest-neighbour
    coarse = np.zeros((6, 7, 8), np.uint8)
    coarse[2:4, 2:4, 2:4] = 1
    coarse_affine = AFFINE @ np.diag([2.0, 2.0, 1.0, 1.0])
    nib.save(nib.Nifti1Image(coarse, coarse_affine), tmp_path / "roi.nii.gz")
    roi = small_volume(
        SvcSpec(mask=tmp_path / "roi.nii.gz"), mask=np.ones(shape, bool), affine=AFFINE
    )
    assert roi.sum() == 4 * 4 * 2


def test_empty_regions_name_the_entry(tmp_path):
    shape = (12, 14, 8)
    mask = np.zeros(shape, bool)
    mask[:3] = True
    far = SvcSpec(center_mm=(500.0, 0.0, 0.0), radius_mm=3.0, where="corrections[4].svc")
    with pytest.raises(ConfigError, match=r"corrections\[4\]\.svc: .*no voxel of the data grid"):
        small_volume(far, mask=mask, affine=AFFINE)
    elsewhere = SvcSpec(center_mm=(10.0, 0.0, 10.0), radius_mm=3.0, where="corrections[1].svc")
    with pytest.raises(ConfigError, match=r"corrections\[1\]\.svc: .*outside the analysis mask"):
        small_volume(elsewhere, mask=mask, affine=AFFINE)
    missing = SvcSpec(mask=tmp_path / "nope.nii.gz", where="corrections[2].svc")
    with pytest.raises(ConfigError, match=r"corrections\[2\]\.svc: the small-volume mask"):
        small_volume(missing, mask=mask, affine=AFFINE)
