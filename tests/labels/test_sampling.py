"""Atlases looked up in world coordinates: resampling onto data grids, cached per grid."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from fixtures.atlas_files import file_spec, hocpa, save_image
from fixtures.synthetic_templateflow import HOCPA_TSV

from glmreport.config.atlas_registry import registry_spec
from glmreport.labels.atlas import load_atlases
from glmreport.labels.sampling import resample_atlas

# ---------------------------------------------------------------------------- resampling


def test_resample_1mm_atlas_onto_2mm_grid(templateflow_home, tmp_path):
    data, affine, _ = hocpa(templateflow_home)
    fine = data.repeat(2, axis=0).repeat(2, axis=1).repeat(2, axis=2).astype(np.int16)
    fine_affine = np.diag([1.0, 1.0, 1.0, 1.0])
    fine_affine[:3, 3] = affine[:3, 3] - 0.5  # 2x2x2 block of 1 mm voxels per 2 mm voxel
    image = save_image(fine, fine_affine, tmp_path / "ho_1mm.nii.gz")
    (atlas,) = load_atlases([file_spec(image, templateflow_home / HOCPA_TSV)], data_space=None)
    mask = np.ones(data.shape, dtype=bool)
    resampled = resample_atlas(atlas, mask=mask, affine=affine)
    np.testing.assert_array_equal(resampled.codes, data[mask])


def test_resample_2mm_atlas_onto_3mm_grid(templateflow_home):
    from nilearn.image import resample_img

    (atlas,) = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    data, affine, _ = hocpa(templateflow_home)
    grid = np.diag([3.0, 3.0, 3.0, 1.0])
    grid[:3, 3] = (-91.3, -127.1, -73.4)  # no 3 mm centre is half-way between 2 mm centres
    shape = (61, 73, 61)
    mask = np.ones(shape, dtype=bool)
    got = resample_atlas(atlas, mask=mask, affine=grid).codes.reshape(shape)
    # Direct lookup: grid voxel -> world -> nearest atlas voxel.
    ijk = np.argwhere(mask)
    src = nib.affines.apply_affine(np.linalg.inv(affine), nib.affines.apply_affine(grid, ijk))
    src = np.rint(src).astype(int)
    inside = np.all((src >= 0) & (src < data.shape), axis=1)
    expected = np.zeros(len(ijk), dtype=int)
    expected[inside] = data[tuple(src[inside].T)]
    np.testing.assert_array_equal(got.ravel(), expected)
    assert (got > 0).sum() > 10_000
    reference = resample_img(
        nib.Nifti1Image(data.astype(np.int16), affine),
        target_affine=grid,
        target_shape=shape,
        interpolation="nearest",
        force_resample=True,
        copy_header=True,
    )
    np.testing.assert_array_equal(got, np.asanyarray(reference.dataobj))


def test_resample_is_cached_per_grid(templateflow_home):
    (atlas,) = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    mask = np.zeros((91, 109, 91), dtype=bool)
    mask[20:70, 20:90, 20:70] = True
    first = resample_atlas(atlas, mask=mask, affine=atlas.affine)
    assert resample_atlas(atlas, mask=mask.copy(), affine=atlas.affine.copy()) is first
    other = resample_atlas(atlas, mask=mask, affine=atlas.affine + np.eye(4) * 0)
    assert other is first and len(atlas.cache) == 1
    mask[20, 20, 20] = False
    assert resample_atlas(atlas, mask=mask, affine=atlas.affine) is not first
    assert len(atlas.cache) == 2
