"""Second-level inputs read one at a time: the same mask and values as the whole-stack path."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from glmreport.errors import InputError
from glmreport.inputs.group import read_group_inputs
from glmreport.inputs.images import load_images
from glmreport.inputs.masking import build_mask
from glmreport.inputs.smoothing import smooth

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _write(tmp_path, n=7, shape=(12, 13, 11), seed=0):
    """Inputs with zeros, NaN and inf at different voxels; .nii, .nii.gz and 4D single-volume."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        vol = rng.standard_normal(shape).astype(np.float32)
        vol[:2] = 0.0
        vol[5, 2 + i, 3] = [np.nan, np.inf, 0.0][i % 3]
        if i == 2:
            vol = vol[..., None]
        path = tmp_path / f"in{i}.nii{'.gz' if i % 2 else ''}"
        nib.save(nib.Nifti1Image(vol, AFFINE), path)
        paths.append(path)
    return paths


def _whole_stack(paths, spec, fwhm):
    volumes, affine = load_images(paths)
    mask, info = build_mask(spec, affine=affine, volumes=volumes)
    smooth(volumes, affine, fwhm)
    return volumes[:, mask], mask, info


@pytest.mark.parametrize("fwhm", [0.0, 5.0])
@pytest.mark.parametrize("spec", ["auto", "file"])
def test_same_as_the_whole_stack(tmp_path, spec, fwhm):
    paths = _write(tmp_path)
    if spec == "file":
        m = np.zeros((12, 13, 11), dtype=np.uint8)
        m[1:10, 1:12, 2:9] = 1
        spec = tmp_path / "mask.nii.gz"
        nib.save(nib.Nifti1Image(m, AFFINE), spec)
    data, mask, info = _whole_stack(paths, spec, fwhm)
    group = read_group_inputs(paths, spec, fwhm_mm=fwhm)
    np.testing.assert_array_equal(group.mask, mask)
    np.testing.assert_array_equal(group.data, data)  # bit for bit
    assert group.data.dtype == np.float32 and group.info == info
    assert 0 < info["n_voxels"] < mask.size - 2 * 13 * 11
    np.testing.assert_array_equal(group.affine, AFFINE)


def test_refusals(tmp_path):
    paths = _write(tmp_path, n=3)
    nan = tmp_path / "nan.nii.gz"
    nib.save(nib.Nifti1Image(np.full((12, 13, 11), np.nan, np.float32), AFFINE), nan)
    with pytest.raises(InputError, match="nan.nii.gz contains no finite value"):
        read_group_inputs([*paths, nan], "auto")
    with pytest.raises(InputError, match="nan.nii.gz contains no finite value"):
        read_group_inputs([nan, *paths], "auto")
    outside = np.zeros((12, 13, 11), dtype=np.uint8)
    outside[0] = 1  # only where every input is 0 -> auto would refuse; a file keeps it
    mpath = tmp_path / "edge.nii.gz"
    nib.save(nib.Nifti1Image(outside, AFFINE), mpath)
    assert read_group_inputs(paths, mpath).info["n_voxels"] == 13 * 11
    none = tmp_path / "none.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((12, 13, 11), np.uint8), AFFINE), none)
    with pytest.raises(InputError, match="does not overlap"):
        read_group_inputs(paths, none)
    other = tmp_path / "other.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((5, 5, 5), np.float32), AFFINE), other)
    with pytest.raises(InputError, match="share shape and affine"):
        read_group_inputs([*paths, other], "auto")
