"""Masks (including the automatic EPI mask) and smoothing (checked against nilearn, test-only)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from glmreport.errors import InputError
from glmreport.inputs.masking import Masker, auto_mask, check_mask, compute_epi_mask, resample_mask
from glmreport.inputs.smoothing import fwhm_to_sigma, smooth


def test_auto_mask_rule():
    vols = np.ones((3, 4, 4, 4), dtype=np.float32)
    vols[0, 0, 0, 0] = 0.0
    vols[1, 1, 1, 1] = np.nan
    vols[2, 2, 2, 2] = np.inf
    mask = auto_mask(vols)
    assert mask.sum() == 64 - 3
    assert not mask[0, 0, 0] and not mask[1, 1, 1] and not mask[2, 2, 2]


def test_masker_round_trip():
    rng = np.random.default_rng(0)
    mask = rng.random((5, 6, 7)) > 0.5
    masker = Masker(mask=mask, affine=np.eye(4))
    vols = rng.standard_normal((3, 5, 6, 7))
    x = masker.transform(vols)
    assert x.shape == (3, mask.sum())
    back = masker.inverse(x)
    assert back.shape == (5, 6, 7, 3)
    np.testing.assert_array_equal(back[mask], vols[:, mask].T)
    assert np.all(back[~mask] == 0)


def test_resample_mask_nearest_to_coarser_grid():
    mask = np.zeros((20, 20, 20), dtype=bool)
    mask[4:12, 4:12, 4:12] = True
    fine = np.diag([1.0, 1.0, 1.0, 1.0])
    coarse = np.diag([2.0, 2.0, 2.0, 1.0])
    out = resample_mask(mask, fine, (10, 10, 10), coarse)
    # coarse voxel k sits at fine index 2k: inside for 2k in [4, 11] -> k in [2, 5]
    expected = np.zeros((10, 10, 10), dtype=bool)
    expected[2:6, 2:6, 2:6] = True
    np.testing.assert_array_equal(out, expected)


def test_empty_mask_is_an_error():
    with pytest.raises(InputError, match="contains no voxel"):
        check_mask(np.zeros((2, 2, 2), dtype=bool), source="auto")


def test_fwhm_to_sigma_anisotropic():
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    sig = fwhm_to_sigma(8.0, affine)
    np.testing.assert_allclose(sig, 8.0 / np.sqrt(8 * np.log(2)) / np.array([2.0, 3.0, 4.0]))


def test_smoothing_matches_nilearn():
    from nilearn.image import smooth_img  # test-only reference

    rng = np.random.default_rng(3)
    affine = np.diag([2.0, 2.5, 3.0, 1.0])
    data = rng.standard_normal((17, 19, 13)).astype(np.float64)
    data[0, 0, 0] = np.nan
    ref = smooth_img(nib.Nifti1Image(data.copy(), affine), fwhm=6.0).get_fdata()
    ours = smooth(data.copy()[None], affine, 6.0)[0]
    # tolerance: float64 both sides, same separable filter -> round-off only
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def _brain_volume(rng, shape=(20, 22, 16)):
    ii, jj, kk = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    centre = np.array(shape) / 2 - 0.5
    r = ((ii - centre[0]) / 8) ** 2 + ((jj - centre[1]) / 9) ** 2 + ((kk - centre[2]) / 6) ** 2
    brain = r <= 1
    vol = rng.normal(5.0, 1.0, shape)  # background noise
    vol[brain] = rng.normal(100.0, 5.0, brain.sum())
    return vol, brain


def test_compute_epi_mask_recovers_brain():
    rng = np.random.default_rng(3)
    vol, brain = _brain_volume(rng)
    vol[10, 11, 8] = 5.0  # dark hole inside the brain
    vol[0, 0, 0] = 120.0  # isolated bright voxel outside
    mask = compute_epi_mask(vol)
    assert mask[10, 11, 8] and not mask[0, 0, 0]
    dice = 2 * (mask & brain).sum() / (mask.sum() + brain.sum())
    assert dice > 0.95
    with pytest.raises(InputError, match="constant"):
        compute_epi_mask(np.ones((10, 10, 10)))
