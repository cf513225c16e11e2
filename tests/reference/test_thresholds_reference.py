"""Height thresholds and survivors against nilearn's ``threshold_stats_img``.

nilearn computes every threshold on the z map it is given: ``fpr`` is ``norm.isf(alpha')``,
``bonferroni`` is ``norm.isf(alpha' / n_voxels)`` and ``fdr`` is its Benjamini-Hochberg
``fdr_threshold`` on ``|z|`` (two-sided) or ``z``, with ``alpha' = alpha / 2`` two-sided. It
keeps voxels with ``|z| >= threshold`` and then removes clusters of fewer than
``cluster_threshold`` voxels (each sign separately, 6-connectivity), i.e. keeps clusters with
``size >= cluster_threshold``. Our corrections use the same rules, so thresholds agree to
1e-6 (nilearn's FDR value is the critical z minus 1e-12) and the surviving voxels are
identical.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage, stats

from glmreport.config.specs import CorrectionSpec
from glmreport.glm.results import ContrastResult
from glmreport.inference.context import InferenceContext
from glmreport.inference.thresholds import (
    apply_bonferroni,
    apply_fdr,
    apply_uncorrected,
    bonferroni_threshold,
    fdr_threshold,
    uncorrected_threshold,
)

nilearn_glm = pytest.importorskip("nilearn.glm")

DOF = 19.0
APPLY = {"fdr": apply_fdr, "bonferroni": apply_bonferroni, "fpr": apply_uncorrected}


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = (30, 36, 28)
    ii, jj, kk = np.indices(shape)
    mask = ((ii - 14.5) / 14) ** 2 + ((jj - 17.5) / 17) ** 2 + ((kk - 13.5) / 13) ** 2 < 1
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.2)
    noise /= noise[mask].std()
    blobs = [  # (centre, amplitude, width^2): effects of several sizes and both signs
        ((9, 12, 10), 8.0, 18.0),
        ((20, 10, 8), 5.0, 4.0),
        ((8, 26, 18), 4.5, 6.0),
        ((22, 28, 9), 4.0, 3.0),
        ((20, 24, 17), -7.0, 12.0),
        ((12, 20, 4), -4.5, 4.0),
    ]
    signal = np.zeros(shape)
    for (ci, cj, ck), amplitude, width2 in blobs:
        signal += amplitude * np.exp(-((ii - ci) ** 2 + (jj - cj) ** 2 + (kk - ck) ** 2) / width2)
    t_vol = np.where(mask, noise + signal, 0.0)
    t = t_vol[mask]
    z = -stats.norm.ppf(stats.t.sf(t, DOF))
    z_vol = np.zeros(shape)
    z_vol[mask] = z
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = [-45.0, -54.0, -40.0]
    v = z.size
    contrast = ContrastResult(
        name="effect",
        label="effect",
        stat_type="t",
        weights=np.ones((1, 1)),
        columns=("intercept",),
        effect=t[None],
        variance=np.ones((1, 1, v)),
        stat=t,
        p=stats.t.sf(t, DOF),
        z=z,
        dof=DOF,
    )
    return z_vol, mask, affine, contrast


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.mark.parametrize("two_sided", [False, True])
@pytest.mark.parametrize(
    ("control", "alpha"), [("fdr", 0.05), ("bonferroni", 0.05), ("fpr", 0.001)]
)
def test_threshold_and_survivors_match_nilearn(data, control, alpha, two_sided):
    z_vol, mask, affine, contrast = data
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), affine)
    img, their_thr = nilearn_glm.threshold_stats_img(
        nib.Nifti1Image(z_vol, affine),
        mask_img=mask_img,
        alpha=alpha,
        height_control=control,
        two_sided=two_sided,
    )
    z = contrast.z
    ours = {
        "fdr": lambda: fdr_threshold(z, alpha, two_sided=two_sided),
        "bonferroni": lambda: bonferroni_threshold(z.size, alpha, two_sided=two_sided),
        "fpr": lambda: uncorrected_threshold(alpha, two_sided=two_sided),
    }[control]()
    assert abs(ours - float(their_thr)) < 1e-6

    spec = CorrectionSpec(method=control, alpha=alpha, two_sided=two_sided)
    ctx = InferenceContext(mask=mask, affine=affine)
    (result,) = APPLY[control](contrast, spec, ctx)
    assert abs(result.threshold_z - float(their_thr)) < 1e-6
    theirs = np.asarray(img.dataobj)[mask] != 0
    assert theirs.sum() > 10
    np.testing.assert_array_equal(result.surviving, theirs)
    if two_sided:
        assert (z[result.surviving] < 0).any()
    else:
        assert (z[result.surviving] > 0).all()


@pytest.mark.parametrize("two_sided", [False, True])
@pytest.mark.parametrize("control", ["fdr", "fpr"])
def test_cluster_extent_matches_nilearn_cluster_threshold(data, control, two_sided):
    z_vol, mask, affine, contrast = data
    alpha = 0.05 if control == "fdr" else 0.01
    spec0 = CorrectionSpec(method=control, alpha=alpha, two_sided=two_sided)
    ctx = InferenceContext(mask=mask, affine=affine, connectivity=6)
    (plain,) = APPLY[control](contrast, spec0, ctx)
    sizes = plain.clusters["size_voxels"].to_numpy()
    # an extent equal to an existing cluster's size: that cluster must be kept (>=)
    k = int(np.sort(np.unique(sizes))[len(np.unique(sizes)) // 2])
    assert k > 1 and (sizes < k).any() and (sizes == k).any()

    img, _ = nilearn_glm.threshold_stats_img(
        nib.Nifti1Image(z_vol, affine),
        mask_img=nib.Nifti1Image(mask.astype(np.uint8), affine),
        alpha=alpha,
        height_control=control,
        cluster_threshold=k,
        two_sided=two_sided,
    )
    spec = CorrectionSpec(method=control, alpha=alpha, two_sided=two_sided, cluster_extent=k)
    (result,) = APPLY[control](contrast, spec, ctx)
    theirs = np.asarray(img.dataobj)[mask] != 0
    np.testing.assert_array_equal(result.surviving, theirs)
    assert (result.clusters["size_voxels"] == k).any()
    assert result.clusters["size_voxels"].min() >= k
    assert result.surviving.sum() < plain.surviving.sum()
