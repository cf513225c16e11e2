"""Resel counts and smoothness: boxes, Euler characteristics, FWHM of Gaussian random fields."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.rft_formulas import A, smooth_images
from scipy import stats

from glmreport.glm.ols import fit_ols
from glmreport.glm.results import DesignMatrix
from glmreport.inference.rft import (
    estimate_smoothness,
    fwhm_from_roughness,
    resel_counts,
    smoothness_from_fwhm,
)


def test_resel_counts_of_a_box():
    mask = np.zeros((20, 20, 20), bool)
    a, b, c = 10, 7, 5
    mask[2 : 2 + a, 3 : 3 + b, 4 : 4 + c] = True
    fx, fy, fz = 2.0, 3.0, 4.0
    got = resel_counts(mask, [fx, fy, fz])
    la, lb, lc = a - 1, b - 1, c - 1  # box lengths between voxel centres
    expected = [
        1.0,
        la / fx + lb / fy + lc / fz,
        la * lb / (fx * fy) + la * lc / (fx * fz) + lb * lc / (fy * fz),
        la * lb * lc / (fx * fy * fz),
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_resel_count_r0_is_euler_characteristic():
    two = np.zeros((12, 12, 12), bool)
    two[1:4, 1:4, 1:4] = True
    two[6:10, 6:10, 6:10] = True
    assert resel_counts(two, [1, 1, 1])[0] == 2  # two components
    shell = np.zeros((12, 12, 12), bool)
    shell[2:10, 2:10, 2:10] = True
    shell[4:8, 4:8, 4:8] = False
    assert resel_counts(shell, [1, 1, 1])[0] == 2  # one component enclosing a cavity
    ring = np.zeros((12, 12, 3), bool)
    ring[2:10, 2:10, :] = True
    ring[4:8, 4:8, :] = False
    assert resel_counts(ring, [1, 1, 1])[0] == 0  # a solid torus


def test_fwhm_from_roughness():
    lam = np.diag([A / 9.0, A / 16.0, A / 25.0])
    np.testing.assert_allclose(fwhm_from_roughness(lam), [3.0, 4.0, 5.0], rtol=1e-12)
    # a rotation keeps the volume of a resel: prod(FWHM) = sqrt((4 ln 2)^3 / det)
    rot = stats.special_ortho_group.rvs(3, random_state=0)
    fw = fwhm_from_roughness(rot @ lam @ rot.T)
    assert np.prod(fw) == pytest.approx(60.0, rel=1e-10)


@pytest.mark.parametrize(
    ("fwhm_vox", "voxel"),
    [
        ((3.0, 3.0, 3.0), (2.0, 2.0, 2.0)),
        ((4.0, 4.0, 4.0), (3.0, 3.0, 3.0)),
        ((3.0, 4.0, 5.0), (2.0, 2.5, 3.0)),
    ],
)
def test_fwhm_estimated_on_gaussian_random_fields(fwhm_vox, voxel):
    rng = np.random.default_rng(7)
    n, shape = 20, (40, 40, 40)
    images = smooth_images(rng, n, shape, fwhm_vox)
    mask = np.ones(shape, bool)
    mask[:2] = False  # a non-trivial search volume
    data = images[:, mask] + 5.0  # plus a constant the model removes
    fit = fit_ols(data, DesignMatrix(matrix=np.ones((n, 1)), columns=("intercept",)))
    affine = np.diag([*voxel, 1.0])
    smooth = estimate_smoothness(data, fit, mask, affine)
    # finite differences make the FWHM of smooth fields a few per cent too large (as SPM)
    np.testing.assert_allclose(smooth.fwhm_voxels, fwhm_vox, rtol=0.10)
    np.testing.assert_allclose(smooth.fwhm_mm, np.multiply(fwhm_vox, voxel), rtol=0.10)
    assert smooth.dof == n - 1 and smooth.n_images == n and smooth.source == "residuals"
    np.testing.assert_allclose(smooth.resels, resel_counts(mask, smooth.fwhm_voxels))
    assert smooth.resel_size_voxels == pytest.approx(np.prod(smooth.fwhm_voxels))
    assert smooth.n_voxels == mask.sum()
    assert smooth.volume_mm3 == pytest.approx(mask.sum() * np.prod(voxel))


def test_smoothness_from_fwhm():
    mask = np.ones((10, 12, 14), bool)
    s = smoothness_from_fwhm([6.0, 8.0, 9.0], mask, np.diag([2.0, 2.0, 3.0, 1.0]))
    np.testing.assert_allclose(s.fwhm_voxels, [3.0, 4.0, 3.0])
    np.testing.assert_allclose(s.fwhm_mm, [6.0, 8.0, 9.0])
    assert s.source == "fwhm_mm"
    with pytest.raises(ValueError, match="positive"):
        smoothness_from_fwhm(-1.0, mask, np.eye(4))
