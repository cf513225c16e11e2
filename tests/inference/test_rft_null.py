"""Family-wise error rate of RFT inference on simulated null data.

200 one-sample datasets (12 images of smooth Gaussian noise, FWHM 4 voxels, 24^3 voxels) are
analysed exactly as a run would: OLS fit, t contrast, smoothness estimated from the residuals,
then :func:`apply_rft`. Under the null the probability that anything survives must not exceed
``alpha`` beyond Monte-Carlo error (two standard errors).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from glmreport.config.specs import CorrectionSpec, RftParams
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import DesignMatrix
from glmreport.inference.context import InferenceContext
from glmreport.inference.rft import apply_rft

N_DATASETS = 200
N_IMAGES = 12
SHAPE = (24, 24, 24)
FWHM_VOX = 4.0
ALPHA = 0.05


@pytest.mark.slow
def test_rft_family_wise_error_under_the_null():
    rng = np.random.default_rng(20240601)
    pad = 8
    big = tuple(s + 2 * pad for s in SHAPE)
    crop = (slice(None), *(slice(pad, pad + s) for s in SHAPE))
    sigma = (0.0, *[FWHM_VOX / math.sqrt(8 * math.log(2))] * 3)
    mask = np.ones(SHAPE, bool)
    design = DesignMatrix(matrix=np.ones((N_IMAGES, 1)), columns=("intercept",))
    spec = CorrectionSpec(method="rft", alpha=ALPHA, params=RftParams(cluster_forming_p=0.001))
    voxel_hits = 0
    cluster_hits = 0
    fwhm = []
    for _ in range(N_DATASETS):
        noise = ndimage.gaussian_filter(rng.standard_normal((N_IMAGES, *big)), sigma)[crop]
        data = noise.reshape(N_IMAGES, -1)
        fit = fit_ols(data, design)
        contrast = compute_contrast(fit, np.array([[1.0]]), name="m", label="m", stat_type="t")
        ctx = InferenceContext(mask=mask, affine=np.eye(4), data=data, fit=fit)
        voxel, cluster = apply_rft(contrast, spec, ctx)
        voxel_hits += bool(voxel.surviving.any())
        cluster_hits += bool(cluster.surviving.any())
        fwhm.append(voxel.extras["fwhm_voxels"])
    mc_error = 2 * math.sqrt(ALPHA * (1 - ALPHA) / N_DATASETS)
    assert voxel_hits / N_DATASETS <= ALPHA + mc_error
    assert cluster_hits / N_DATASETS <= ALPHA + mc_error
    # the smoothness estimate is unbiased to within the finite-difference bias (~ +3 %)
    np.testing.assert_allclose(np.mean(fwhm, axis=0), FWHM_VOX, rtol=0.06)
