"""Height thresholds, their t/F equivalents and the correction results built from them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from glmreport.config.specs import CorrectionSpec
from glmreport.glm.results import ContrastResult
from glmreport.inference.context import InferenceContext
from glmreport.inference.registry import get_method
from glmreport.inference.results import CLUSTER_COLUMNS
from glmreport.inference.scales import resolve_two_sided, stat_to_z, z_to_stat
from glmreport.inference.thresholds import (
    apply_bonferroni,
    apply_fdr,
    apply_uncorrected,
    bonferroni_threshold,
    fdr_threshold,
    make_correction,
    uncorrected_threshold,
)

SHAPE = (16, 16, 16)
DOF = 12.0


def _contrast(z_vol: np.ndarray, mask: np.ndarray, stat_type: str = "t", df_num: int = 1):
    z = z_vol[mask]
    p = stats.norm.sf(z)
    stat = stats.t.isf(p, DOF) if stat_type == "t" else stats.f.isf(p, df_num, DOF)
    v = z.size
    q = df_num if stat_type == "F" else 1
    return ContrastResult(
        name="c",
        label="c",
        stat_type=stat_type,
        weights=np.eye(q, 2),
        columns=("a", "b"),
        effect=np.zeros((q, v)),
        variance=np.ones((q, q, v)),
        stat=stat,
        p=p,
        z=z,
        dof=DOF,
        df_num=df_num,
    )


def _blob_map(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard normal noise plus a strong positive and a strong negative blob."""
    rng = np.random.default_rng(seed)
    vol = rng.standard_normal(SHAPE)
    vol[3:6, 3:6, 3:6] += 6.0  # 27 voxels
    vol[10:12, 10:12, 10:12] -= 6.0  # 8 voxels
    mask = np.ones(SHAPE, bool)
    mask[0] = False
    return vol, mask


def _ctx(mask: np.ndarray, **kw) -> InferenceContext:
    return InferenceContext(mask=mask, affine=np.diag([2.0, 2.0, 2.0, 1.0]), **kw)


# --- pure threshold functions ------------------------------------------------------------


def test_uncorrected_threshold():
    assert uncorrected_threshold(0.001) == pytest.approx(3.090232306167813, abs=1e-12)
    assert uncorrected_threshold(0.05, two_sided=True) == pytest.approx(1.959963984540054)
    with pytest.raises(ValueError, match="alpha"):
        uncorrected_threshold(0.0)


def test_bonferroni_threshold():
    assert bonferroni_threshold(1000, 0.05) == pytest.approx(stats.norm.isf(5e-5), abs=1e-12)
    assert bonferroni_threshold(1000, 0.05, two_sided=True) == pytest.approx(
        stats.norm.isf(2.5e-5), abs=1e-12
    )
    assert bonferroni_threshold(0, 0.05) == math.inf


def test_fdr_threshold_matches_benjamini_hochberg():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    rng = np.random.default_rng(1)
    z = np.r_[rng.standard_normal(900), rng.normal(3.5, 1.0, 100)]
    for two_sided in (False, True):
        p = 2 * stats.norm.sf(np.abs(z)) if two_sided else stats.norm.sf(z)
        reject = multipletests(p, alpha=0.05, method="fdr_bh")[0]
        thr = fdr_threshold(z, 0.05, two_sided=two_sided)
        score = np.abs(z) if two_sided else z
        assert 50 < reject.sum() < 150
        np.testing.assert_array_equal(score >= thr, reject)
        # the threshold is the smallest rejected value
        assert thr == score[reject].min()


def test_fdr_threshold_small_example():
    # nilearn's docstring example: 1.9 (p_(5) = 0.0287 < 0.05 * 5 / 6)
    z = np.array([4.0, 3.5, 2.8, 2.5, 1.9, 1.2])
    assert fdr_threshold(z, 0.05) == 1.9
    assert fdr_threshold(np.zeros(10), 0.05) == math.inf
    assert fdr_threshold(np.array([]), 0.05) == math.inf
    # NaN counts as a test that is never rejected: with n = 9, p_(5) = 0.0287 > 0.05 * 5 / 9
    assert fdr_threshold(np.r_[z, np.nan, np.nan, np.nan], 0.05) == 2.5


@pytest.mark.parametrize("z", [-3.0, 0.0, 1.0, 2.5, 3.09, 5.0, 8.0])
@pytest.mark.parametrize(("stat_type", "df_num"), [("t", 1), ("F", 1), ("F", 3)])
def test_z_to_stat_matches_scipy(z, stat_type, df_num):
    p = stats.norm.sf(z)
    got = z_to_stat(z, stat_type, DOF, df_num)
    if stat_type == "t":
        assert got == pytest.approx(stats.t.isf(p, DOF), rel=1e-10, abs=1e-12)
        log_p = stats.t.logsf(got, DOF)
    else:
        if p > 1e-8:  # scipy's f.isf is inaccurate below (1e-2 relative at p = 6e-16)
            assert got == pytest.approx(stats.f.isf(p, df_num, DOF), rel=1e-9)
        log_p = stats.f.logsf(got, df_num, DOF)
    assert log_p == pytest.approx(stats.norm.logsf(z), rel=1e-10, abs=1e-12)
    assert stat_to_z(got, stat_type, DOF, df_num) == pytest.approx(z, rel=1e-9, abs=1e-9)


def test_f_with_one_numerator_df_is_squared_two_sided_t():
    for z in (1.0, 3.0, 6.0, 10.0):
        t_two_sided = stats.t.isf(stats.norm.sf(z) / 2, DOF)
        assert z_to_stat(z, "F", DOF, 1) == pytest.approx(t_two_sided**2, rel=1e-9)


@pytest.mark.parametrize("z", [12.0, 20.0, 30.0, 36.0])
@pytest.mark.parametrize(("stat_type", "df_num"), [("t", 1), ("F", 4)])
def test_z_to_stat_extreme_values_round_trip(z, stat_type, df_num):
    s = z_to_stat(z, stat_type, DOF, df_num)
    assert math.isfinite(s) and s > 0
    log_p = stats.t.logsf(s, DOF) if stat_type == "t" else stats.f.logsf(s, df_num, DOF)
    assert log_p == pytest.approx(stats.norm.logsf(z), rel=1e-9)
    assert stat_to_z(s, stat_type, DOF, df_num) == pytest.approx(z, rel=1e-9)


def test_z_to_stat_infinite_and_errors():
    assert z_to_stat(math.inf, "t", DOF) == math.inf
    assert z_to_stat(math.inf, "F", DOF, 2) == math.inf
    assert z_to_stat(-math.inf, "F", DOF, 2) == 0.0
    assert math.isnan(z_to_stat(math.nan, "t", DOF))
    with pytest.raises(ValueError, match="'t' or 'F'"):
        z_to_stat(1.0, "chi2", DOF)


def test_stat_to_z_vectorised_both_tails():
    t = np.array([-40.0, -3.0, 0.0, 2.0, 40.0, np.nan])
    z = stat_to_z(t, "t", DOF)
    expected = -stats.norm.ppf(stats.t.sf(t[1:4], DOF))
    np.testing.assert_allclose(z[1:4], expected, atol=1e-12)
    assert z[0] < -7 and z[4] > 7 and math.isnan(z[5])
    assert z[0] == pytest.approx(-z[4], rel=1e-12)


# --- corrections -------------------------------------------------------------------------


def test_registry_dispatch():
    assert get_method("uncorrected") is apply_uncorrected
    assert get_method("fdr") is apply_fdr
    assert get_method("bonferroni") is apply_bonferroni


def test_uncorrected_one_sided():
    vol, mask = _blob_map()
    contrast = _contrast(vol, mask)
    spec = CorrectionSpec(method="uncorrected", alpha=0.001)
    (r,) = apply_uncorrected(contrast, spec, _ctx(mask))
    assert r.method == "uncorrected" and r.desc == "uncorrected"
    assert r.title == "p < 0.001 uncorrected"
    assert r.threshold_z == pytest.approx(stats.norm.isf(0.001))
    assert r.threshold_stat == pytest.approx(stats.t.isf(0.001, DOF), rel=1e-9)
    np.testing.assert_array_equal(r.surviving, contrast.z >= r.threshold_z)
    assert not r.two_sided and (r.clusters["sign"] == "+").all()
    assert r.clusters["size_voxels"].iloc[0] == 27
    assert r.extras == {"n_tests": contrast.z.size, "p_threshold_voxel": 0.001}
    assert list(r.clusters.columns[: len(CLUSTER_COLUMNS)]) == list(CLUSTER_COLUMNS)


def test_two_sided_reports_negative_clusters_and_extent():
    vol, mask = _blob_map()
    contrast = _contrast(vol, mask)
    spec = CorrectionSpec(method="uncorrected", alpha=0.001, two_sided=True, cluster_extent=5)
    (r,) = apply_uncorrected(contrast, spec, _ctx(mask))
    assert r.title == "p < 0.001 uncorrected, two-sided, k \u2265 5"
    assert r.desc == "uncorrected" and r.cluster_extent == 5 and r.two_sided
    assert r.threshold_z == pytest.approx(stats.norm.isf(0.0005))
    assert r.clusters["sign"].tolist() == ["+", "-"]
    assert r.clusters["size_voxels"].tolist() == [27, 8]
    assert (r.clusters["peak_value"] * np.array([1, -1]) > 0).all()
    assert r.peaks["cluster_id"].iloc[0] == "1"
    # isolated noise voxels above threshold were removed by the extent filter
    height = np.abs(contrast.z) >= r.threshold_z
    assert r.surviving.sum() == 35 and height.sum() > 35
    assert not (r.surviving & ~height).any()


def test_fdr_and_bonferroni():
    vol, mask = _blob_map()
    contrast = _contrast(vol, mask)
    ctx = _ctx(mask)
    (fdr,) = apply_fdr(contrast, CorrectionSpec(method="fdr", alpha=0.05), ctx)
    assert fdr.title == "FDR q < 0.05 (Benjamini\u2013Hochberg)"
    assert fdr.threshold_z == fdr_threshold(contrast.z, 0.05, two_sided=False)
    assert fdr.extras["n_discoveries"] == fdr.surviving.sum() >= 27
    (bon,) = apply_bonferroni(contrast, CorrectionSpec(method="bonferroni", alpha=0.05), ctx)
    assert bon.title == "Bonferroni p < 0.05 (FWE)"
    n = int(mask.sum())
    assert bon.threshold_z == pytest.approx(stats.norm.isf(0.05 / n), abs=1e-12)
    assert bon.extras["p_threshold_voxel"] == pytest.approx(0.05 / n)
    assert bon.threshold_z > fdr.threshold_z
    assert bon.surviving.sum() <= fdr.surviving.sum()
    assert bon.threshold_stat == pytest.approx(
        stats.t.isf(stats.norm.sf(bon.threshold_z), DOF), rel=1e-9
    )


def test_fdr_nothing_survives():
    rng = np.random.default_rng(5)
    mask = np.ones(SHAPE, bool)
    vol = rng.standard_normal(SHAPE) * 0.5
    contrast = _contrast(vol, mask)
    (r,) = apply_fdr(contrast, CorrectionSpec(method="fdr", alpha=0.05), _ctx(mask))
    assert r.threshold_z == math.inf and r.threshold_stat == math.inf
    assert not r.surviving.any()
    assert r.clusters.empty and r.peaks.empty
    assert list(r.clusters.columns) == list(CLUSTER_COLUMNS)
    assert r.extras["n_discoveries"] == 0


def test_f_contrast_is_never_two_sided():
    vol, mask = _blob_map()
    vol = np.abs(vol)  # F-like: large values are evidence
    contrast = _contrast(vol, mask, stat_type="F", df_num=2)
    spec = CorrectionSpec(method="bonferroni", alpha=0.05, two_sided=True)
    assert resolve_two_sided(contrast, spec) == (False, {"two_sided_ignored": "F contrast"})
    (r,) = apply_bonferroni(contrast, spec, _ctx(mask))
    assert not r.two_sided
    assert r.params == {"two_sided_ignored": "F contrast"}
    assert r.threshold_z == pytest.approx(bonferroni_threshold(mask.sum(), 0.05))
    p = stats.norm.sf(r.threshold_z)
    assert r.threshold_stat == pytest.approx(stats.f.isf(p, 2, DOF), rel=1e-6)
    assert (r.clusters["sign"] == "+").all()
    assert "two-sided" not in r.title


def test_make_correction_for_other_methods():
    vol, mask = _blob_map()
    contrast = _contrast(vol, mask)
    spec = CorrectionSpec(method="permutation", alpha=0.05, two_sided=True, cluster_extent=3)
    ctx = _ctx(mask, peak_min_distance_mm=4.0, max_subpeaks=1)
    surviving = np.abs(contrast.z) > 4.0
    r = make_correction(
        contrast,
        spec,
        ctx,
        method="permutation",
        desc="permMaxT",
        title="max-T",
        threshold_z=4.0,
        surviving=surviving,
        extras={"n_perm": 100},
        maps={"logp_fwe": np.zeros(contrast.z.size)},
    )
    assert r.desc == "permMaxT" and r.two_sided and r.cluster_extent == 3
    assert r.threshold_stat == pytest.approx(z_to_stat(4.0, "t", DOF))
    assert r.clusters["sign"].tolist()[-1] == "-"
    assert r.extras == {"n_perm": 100} and "logp_fwe" in r.maps
    assert r.arrays == {}
    # a method without a height threshold, explicit stat threshold, no extent
    r2 = make_correction(
        contrast,
        spec,
        ctx,
        method="ari",
        desc="ari",
        title="ARI",
        threshold_z=None,
        surviving=surviving,
        cluster_extent=0,
        two_sided=False,
    )
    assert r2.threshold_z is None and r2.threshold_stat is None
    assert r2.cluster_extent == 0 and not r2.two_sided
    assert (r2.clusters["sign"] == "+").all()
    r3 = make_correction(
        contrast,
        spec,
        ctx,
        method="permutation",
        desc="permMaxT",
        title="max-T",
        threshold_z=4.0,
        threshold_stat=7.5,
        surviving=surviving,
    )
    assert r3.threshold_stat == 7.5
