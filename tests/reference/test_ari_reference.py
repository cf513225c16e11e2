"""All-resolution inference against nilearn's ``cluster_level_inference``.

nilearn forms clusters of ``z > threshold`` (6-connectivity, positive side only), computes the
Hommel value from all in-mask z and gives every voxel the TDP bound of the cluster at the
highest threshold containing it. With ``connectivity=6`` and one-sided inference the TDP map of
``apply_ari`` must be identical (to 1e-6), and so must the Hommel value.
"""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage, stats

from glmreport.config.specs import AriParams, CorrectionSpec
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import ContrastResult, DesignMatrix
from glmreport.inference.ari import apply_ari, hommel_value, tdp_bound
from glmreport.inference.context import InferenceContext

thresholding = pytest.importorskip("nilearn.glm.thresholding")

AFFINE = np.diag([2.5, 2.5, 2.5, 1.0])


def _blob_z_map(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth noise in z units plus blobs of several heights, in an irregular mask."""
    rng = np.random.default_rng(seed)
    shape = (28, 30, 26)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.2)
    noise /= noise.std()
    ii, jj, kk = np.indices(shape)
    signal = np.zeros(shape)
    for centre, radius, height in [
        ((8, 9, 8), 4.0, 4.5),
        ((19, 20, 15), 3.0, -5.0),
        ((20, 8, 18), 2.5, 3.2),
        ((10, 22, 18), 5.0, 2.4),
    ]:
        d2 = (ii - centre[0]) ** 2 + (jj - centre[1]) ** 2 + (kk - centre[2]) ** 2
        signal += height * np.exp(-d2 / (2 * radius**2))
    mask = ((ii - 14) / 13.5) ** 2 + ((jj - 15) / 14.5) ** 2 + ((kk - 13) / 12.5) ** 2 < 1
    return noise + signal, mask


def _contrast_from_z(z: np.ndarray) -> ContrastResult:
    p = stats.norm.sf(z)
    v = z.size
    return ContrastResult(
        name="c",
        label="c",
        stat_type="t",
        weights=np.ones((1, 1)),
        columns=("a",),
        effect=np.zeros((1, v)),
        variance=np.ones((1, 1, v)),
        stat=stats.t.isf(p, 30.0),
        p=p,
        z=z,
        dof=30.0,
    )


def _glm_contrast() -> tuple[ContrastResult, np.ndarray]:
    rng = np.random.default_rng(11)
    shape = (26, 26, 26)
    n = 16
    sigma = 3.0 / math.sqrt(8 * math.log(2))
    images = np.stack(
        [ndimage.gaussian_filter(rng.standard_normal(shape), sigma) for _ in range(n)]
    )
    images /= images.std()
    images[:, 6:12, 6:12, 6:12] += 1.4
    images[:, 15:19, 16:22, 14:18] += 2.0
    mask = np.zeros(shape, bool)
    mask[2:-2, 2:-2, 2:-2] = True
    fit = fit_ols(images[:, mask], DesignMatrix(matrix=np.ones((n, 1)), columns=("intercept",)))
    return compute_contrast(fit, np.array([[1.0]]), name="m", label="m", stat_type="t"), mask


def _nilearn_tdp(z: np.ndarray, mask: np.ndarray, thresholds: list[float], alpha: float):
    vol = np.zeros(mask.shape)
    vol[mask] = z
    img = nib.Nifti1Image(vol, AFFINE)
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), AFFINE)
    out = thresholding.cluster_level_inference(
        img, mask_img=mask_img, threshold=thresholds, alpha=alpha
    )
    return np.asarray(out.get_fdata())[mask]


CASES = [
    ([2.5, 3.5, 4.5], 0.05),
    ([2.0], 0.05),
    ([3.1, 4.2], 0.1),
    ([1.5, 2.3, 3.3, 4.0, 5.0], 0.05),
    ([2.8], 0.01),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("thresholds", "alpha"), CASES)
def test_tdp_map_matches_nilearn(seed, thresholds, alpha):
    zvol, mask = _blob_z_map(seed)
    z = zvol[mask]
    ctx = InferenceContext(mask=mask, affine=AFFINE, connectivity=6)
    spec = CorrectionSpec(method="ari", alpha=alpha, params=AriParams(thresholds=thresholds))
    (res,) = apply_ari(_contrast_from_z(z), spec, ctx)
    expected = _nilearn_tdp(z, mask, thresholds, alpha)
    assert expected.max() > 0  # the case exercises non-zero bounds
    np.testing.assert_allclose(res.maps["tdp"], expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(res.surviving, expected > 0)
    assert res.extras["hommel_value"] == thresholding._compute_hommel_value(z, alpha)


@pytest.mark.parametrize(("thresholds", "alpha"), CASES[:3])
def test_tdp_map_matches_nilearn_on_a_fitted_contrast(thresholds, alpha):
    contrast, mask = _glm_contrast()
    ctx = InferenceContext(mask=mask, affine=AFFINE, connectivity=6)
    spec = CorrectionSpec(method="ari", alpha=alpha, params=AriParams(thresholds=thresholds))
    (res,) = apply_ari(contrast, spec, ctx)
    expected = _nilearn_tdp(contrast.z, mask, thresholds, alpha)
    assert expected.max() > 0
    np.testing.assert_allclose(res.maps["tdp"], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_hommel_value_and_tdp_match_nilearn(alpha):
    rng = np.random.default_rng(3)
    z = rng.standard_normal(5000)
    z[:300] += rng.uniform(1.0, 6.0, size=300)
    h = hommel_value(z, alpha)
    assert h == thresholding._compute_hommel_value(z, alpha)
    assert 0 < h < z.size
    for start, stop in [(0, 50), (0, 300), (100, 400), (250, 1000), (4000, 5000)]:
        cluster = z[start:stop]
        assert tdp_bound(cluster, h, alpha) == pytest.approx(
            thresholding._true_positive_fraction(cluster, h, alpha), abs=1e-12
        )
