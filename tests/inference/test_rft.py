"""apply_rft: voxel- and cluster-level results, SPM's columns and footer, smoothness source."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.rft_formulas import smooth_images
from scipy import stats

from glmreport.config.specs import CorrectionSpec, RftParams
from glmreport.errors import InferenceError
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import DesignMatrix
from glmreport.inference.clusters import find_clusters
from glmreport.inference.context import InferenceContext
from glmreport.inference.registry import get_method
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS
from glmreport.inference.rft import (
    RandomField,
    apply_rft,
    cluster_p_values,
    height_threshold_fwe,
    p_fwe_voxel,
    smoothness_for,
)
from glmreport.inference.rft.tables import RFT_CLUSTER_COLUMNS, RFT_PEAK_COLUMNS

SHAPE = (24, 24, 24)
N = 12


@pytest.fixture(scope="module")
def dataset():
    """Smooth noise (FWHM 3 voxels) with a positive and a negative blob; one-sample model."""
    rng = np.random.default_rng(3)
    images = smooth_images(rng, N, SHAPE, (3.0, 3.0, 3.0))
    images /= images.std()
    signal = np.zeros(SHAPE)
    signal[5:11, 5:11, 5:11] = 1.6
    signal[15:20, 14:20, 14:19] = -1.8
    mask = np.zeros(SHAPE, bool)
    mask[1:-1, 1:-1, 1:-1] = True
    data = images[:, mask] + signal[mask]
    design = DesignMatrix(matrix=np.ones((N, 1)), columns=("intercept",))
    fit = fit_ols(data, design)
    contrast = compute_contrast(fit, np.array([[1.0]]), name="m", label="m", stat_type="t")
    ctx = InferenceContext(mask=mask, affine=np.diag([2.0, 2.0, 2.0, 1.0]), data=data, fit=fit)
    return contrast, ctx


FOOTER_KEYS = {
    "field",
    "df",
    "dof",
    "two_sided",
    "height_threshold_stat",
    "height_threshold_z",
    "height_threshold_p_unc",
    "height_threshold_p_fwe",
    "extent_threshold_voxels",
    "extent_threshold_p_unc",
    "extent_threshold_p_fwe",
    "expected_voxels_per_cluster",
    "expected_number_of_clusters",
    "set_level_c",
    "set_level_p",
    "fwe_p_stat",
    "fwe_p_rft_stat",
    "fwe_p_bonferroni_stat",
    "fdr_p_stat",
    "fwe_c_voxels",
    "fdr_c_voxels",
    "peak_fdr",
    "fwhm_mm",
    "fwhm_voxels",
    "voxel_size_mm",
    "resels",
    "resel_size_voxels",
    "volume_voxels",
    "volume_mm3",
    "smoothness_source",
    "smoothness_dof",
    "smoothness_n_images",
}


def test_apply_rft_voxel_level(dataset):
    contrast, ctx = dataset
    voxel, cluster = get_method("rft")(contrast, CorrectionSpec(method="rft"), ctx)
    assert (voxel.desc, cluster.desc) == ("rft", "rftCluster")
    assert voxel.method == cluster.method == "rft"
    smooth = smoothness_for(CorrectionSpec(method="rft"), ctx)
    field = RandomField(kind="t", dof=contrast.dof)
    u = height_threshold_fwe(0.05, smooth.resels, field, n_voxels=smooth.n_voxels)["u"]
    assert voxel.threshold_stat == pytest.approx(u)
    assert voxel.threshold_z == pytest.approx(stats.norm.isf(stats.t.sf(u, contrast.dof)))
    np.testing.assert_array_equal(voxel.surviving, contrast.stat >= u)
    assert voxel.surviving.any()
    assert set(voxel.extras) == FOOTER_KEYS
    assert voxel.extras["height_threshold_p_fwe"] == pytest.approx(0.05, rel=1e-6)
    assert voxel.extras["set_level_c"] == len(voxel.clusters) > 0
    assert list(voxel.clusters.columns) == [*CLUSTER_COLUMNS, *RFT_CLUSTER_COLUMNS]
    assert list(voxel.peaks.columns) == [*PEAK_COLUMNS, *RFT_PEAK_COLUMNS]
    # peak FWE p agrees with the map of voxel-level FWE p and is < alpha above the threshold
    logp = voxel.maps["logp_fwe"]
    p_map = p_fwe_voxel(contrast.stat, smooth.resels, field, n_voxels=smooth.n_voxels)
    top = np.argmax(contrast.stat)
    assert 10 ** -logp[top] == pytest.approx(float(p_map[top]), rel=1e-9)
    assert np.all(voxel.clusters["peak_p_fwe"] <= 0.05)
    assert np.all(voxel.peaks["p_fwe"] <= 0.05)
    np.testing.assert_allclose(
        voxel.peaks["p_unc"], stats.t.sf(voxel.peaks["peak_stat"], contrast.dof), rtol=1e-9
    )
    assert np.all(voxel.clusters["sign"] == "+")


def test_cluster_q_values_are_benjamini_hochberg(dataset):
    """Topological cluster FDR: q is the BH-adjusted p_unc among the clusters formed."""
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    contrast, ctx = dataset
    spec = CorrectionSpec(method="rft", params=RftParams(cluster_forming_p=0.05))
    _, cluster = apply_rft(contrast, spec, ctx)
    formed = cluster.extras["n_clusters_formed"]
    assert formed > len(cluster.clusters) > 0  # noise clusters formed, two survive
    # the family is every cluster formed at the height, surviving or not: rebuild it
    u = cluster.threshold_stat
    every = find_clusters(
        contrast.z, contrast.stat > u, mask=ctx.mask, affine=ctx.affine, stat=contrast.stat
    )
    smooth = smoothness_for(spec, ctx)
    field = RandomField(kind="t", dof=contrast.dof)
    sizes = every.clusters["size_voxels"].to_numpy(float) / smooth.resel_size_voxels
    p_unc = cluster_p_values(sizes, u, smooth.resels, field)[1]
    q = multipletests(p_unc, method="fdr_bh")[1]
    by_peak = dict(zip(every.clusters["peak_value"], q, strict=True))
    expected = [by_peak[v] for v in cluster.clusters["peak_value"]]
    np.testing.assert_allclose(cluster.clusters["q_fdr"], expected, rtol=1e-12)


def test_apply_rft_cluster_level(dataset):
    contrast, ctx = dataset
    spec = CorrectionSpec(method="rft", params=RftParams(cluster_forming_p=0.01))
    _, cluster = apply_rft(contrast, spec, ctx)
    u_c = stats.t.isf(0.01, contrast.dof)
    assert cluster.threshold_stat == pytest.approx(u_c)
    assert cluster.threshold_z == pytest.approx(stats.norm.isf(0.01))
    assert cluster.extras["cluster_forming_p"] == 0.01
    assert cluster.extras["n_clusters_formed"] == cluster.extras["set_level_c"]
    assert cluster.extras["n_clusters_formed"] >= len(cluster.clusters) >= 1
    assert np.all(cluster.clusters["p_fwe"] <= 0.05)
    # surviving voxels are exactly the listed clusters, all above the cluster-forming height
    assert cluster.surviving.sum() == cluster.clusters["size_voxels"].sum()
    assert np.all(contrast.stat[cluster.surviving] > u_c)
    smooth = smoothness_for(spec, ctx)
    field = RandomField(kind="t", dof=contrast.dof)
    k = cluster.clusters["size_voxels"].to_numpy() / smooth.resel_size_voxels
    p_fwe, p_unc = cluster_p_values(k, u_c, smooth.resels, field)
    np.testing.assert_allclose(cluster.clusters["p_fwe"], p_fwe, rtol=1e-12)
    np.testing.assert_allclose(cluster.clusters["p_unc"], p_unc, rtol=1e-12)
    assert np.all(cluster.clusters["q_fdr"] >= cluster.clusters["p_unc"] - 1e-15)
    fwe_c = cluster.extras["fwe_c_voxels"]
    assert np.all(cluster.clusters["size_voxels"] >= fwe_c)
    assert cluster.extras["expected_voxels_per_cluster"] > 0


def test_apply_rft_two_sided_and_extent(dataset):
    contrast, ctx = dataset
    spec = CorrectionSpec(method="rft", two_sided=True, cluster_extent=5)
    voxel, cluster = apply_rft(contrast, spec, ctx)
    assert voxel.two_sided and cluster.two_sided
    assert voxel.cluster_extent == cluster.cluster_extent == 5
    assert set(cluster.clusters["sign"]) == {"+", "-"}
    one = apply_rft(contrast, CorrectionSpec(method="rft"), ctx)[0]
    assert voxel.threshold_stat > one.threshold_stat  # each tail at alpha / 2
    assert voxel.extras["height_threshold_p_fwe"] == pytest.approx(0.05, rel=1e-6)
    assert np.all(voxel.clusters["size_voxels"] >= 5)
    neg = cluster.clusters[cluster.clusters["sign"] == "-"]
    assert np.all(neg["peak_stat"] < 0)
    assert np.all(cluster.extras["fwe_c_voxels"] <= cluster.clusters["size_voxels"])


def test_apply_rft_f_contrast(dataset):
    contrast, ctx = dataset
    f = compute_contrast(ctx.fit, np.array([[1.0]]), name="f", label="f", stat_type="F")
    voxel, cluster = apply_rft(f, CorrectionSpec(method="rft", two_sided=True), ctx)
    assert voxel.extras["field"] == "F" and voxel.extras["df"] == [1.0, contrast.dof]
    assert not voxel.two_sided and voxel.params["two_sided_ignored"] == "F contrast"
    # F(1, v) = t^2: the F field threshold at alpha equals the two-sided t threshold
    t_two = apply_rft(contrast, CorrectionSpec(method="rft", two_sided=True), ctx)[0]
    assert voxel.threshold_stat == pytest.approx(t_two.threshold_stat**2, rel=1e-6)
    assert voxel.surviving.sum() == t_two.surviving.sum()


def test_rft_needs_data_or_fwhm(dataset):
    contrast, ctx = dataset
    maps_only = InferenceContext(mask=ctx.mask, affine=ctx.affine)
    with pytest.raises(InferenceError, match="fwhm_mm"):
        apply_rft(contrast, CorrectionSpec(method="rft"), maps_only)
    spec = CorrectionSpec(method="rft", params=RftParams(fwhm_mm=(6.0, 6.0, 6.0)))
    voxel, _ = apply_rft(contrast, spec, maps_only)
    assert voxel.extras["smoothness_source"] == "fwhm_mm"
    np.testing.assert_allclose(voxel.extras["fwhm_voxels"], [3.0, 3.0, 3.0])
    assert voxel.params == {"cluster_forming_p": 0.001, "fwhm_mm": [6.0, 6.0, 6.0]}
    # a given FWHM overrides the estimate even when the model is available
    assert apply_rft(contrast, spec, ctx)[0].extras["smoothness_source"] == "fwhm_mm"
    # (the ranges of fwhm_mm and cluster_forming_p are checked once, by the config)


def test_smoothness_is_estimated_once_per_fit(dataset):
    _, ctx = dataset
    spec = CorrectionSpec(method="rft")
    assert smoothness_for(spec, ctx) is smoothness_for(spec, ctx)
