"""Cross references between the corrections of one contrast: survives and ARI's TDP bounds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from glmreport.config.specs import AriParams, CorrectionSpec
from glmreport.glm.results import ContrastResult
from glmreport.inference.ari import cluster_tdp, hommel_value
from glmreport.inference.clusters import voxel_index
from glmreport.inference.context import InferenceContext
from glmreport.inference.crossref import cross_reference
from glmreport.inference.thresholds import apply_bonferroni, apply_uncorrected

SHAPE = (12, 12, 12)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(4)
    vol = rng.standard_normal(SHAPE)
    vol[2:5, 2:5, 2:5] += 7.0  # strong: survives Bonferroni
    vol[8:10, 8:10, 8:10] += 2.0  # weaker
    mask = np.ones(SHAPE, bool)
    z = vol[mask]
    contrast = ContrastResult(
        name="c",
        label="c",
        stat_type="t",
        weights=np.ones((1, 1)),
        columns=("a",),
        effect=np.zeros((1, z.size)),
        variance=np.ones((1, 1, z.size)),
        stat=z,
        p=stats.norm.sf(z),
        z=z,
        dof=np.inf,
        df_num=1,
    )
    ctx = InferenceContext(mask=mask, affine=np.eye(4))
    unc = apply_uncorrected(contrast, CorrectionSpec(method="uncorrected", alpha=0.001), ctx)[0]
    bonf = apply_bonferroni(contrast, CorrectionSpec(method="bonferroni"), ctx)[0]
    return contrast, ctx, [unc, bonf]


def test_survives_lists_every_correction_keeping_the_peak(case):
    contrast, ctx, results = case
    unc, bonf = cross_reference(contrast, results, [], mask=ctx.mask, affine=ctx.affine)
    strong = unc.clusters.iloc[0]
    assert strong["peak_value"] > 7 and strong["survives"] == "uncorrected, bonferroni"
    # a cluster's peak survives Bonferroni exactly when "bonferroni" is listed
    xyz = unc.clusters[["peak_x", "peak_y", "peak_z"]].to_numpy(float)
    peaks = voxel_index(xyz, mask=ctx.mask, affine=ctx.affine)
    listed = ["bonferroni" in text for text in unc.clusters["survives"]]
    assert listed == [bool(bonf.surviving[i]) for i in peaks]
    assert not all(listed)  # some clusters survive the uncorrected threshold only
    assert set(bonf.clusters["survives"]) == {"uncorrected, bonferroni"}
    assert "ari_tdp" not in unc.clusters.columns
    # the inputs are not modified
    assert "survives" not in results[0].clusters.columns


def test_ari_bounds_of_other_clusters(case):
    contrast, ctx, results = case
    ari = CorrectionSpec(method="ari", params=AriParams(thresholds=(3.0,)))
    unc, _ = cross_reference(contrast, results, [ari], mask=ctx.mask, affine=ctx.affine)
    h = hommel_value(contrast.z, 0.05)
    expected = cluster_tdp(contrast.z, results[0].cluster_labels, alpha=0.05, hommel=h)
    np.testing.assert_allclose(
        unc.clusters["ari_tdp"], [expected[int(k)] for k in unc.clusters["cluster_id"]]
    )
    assert unc.clusters["ari_tdp"].iloc[0] > 0.5
    strict = CorrectionSpec(method="ari", alpha=0.01, desc="strict")
    unc, _ = cross_reference(contrast, results, [ari, strict], mask=ctx.mask, affine=ctx.affine)
    assert {"ari_tdp_ari", "ari_tdp_strict"} <= set(unc.clusters.columns)
    assert np.all(unc.clusters["ari_tdp_strict"] <= unc.clusters["ari_tdp_ari"] + 1e-12)
