"""Height thresholds, their t/F equivalents and the correction results built from them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from glmreport.config.specs import CorrectionSpec
from glmreport.glm.results import ContrastResult
from glmreport.inference.context import InferenceContext
from glmreport.inference.results import CLUSTER_COLUMNS
from glmreport.inference.scales import resolve_two_sided, z_to_stat
from glmreport.inference.thresholds import (
    apply_bonferroni,
    apply_fdr,
    apply_uncorrected,
    bh_adjusted,
    bh_rejections,
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


def test_bh_matches_statsmodels():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    rng = np.random.default_rng(7)
    p = np.r_[rng.uniform(size=400), rng.uniform(0, 1e-3, 60)]
    for q in (0.01, 0.05, 0.2):
        reject, adjusted, _, _ = multipletests(p, alpha=q, method="fdr_bh")
        assert bh_rejections(p, q) == reject.sum() > 0
        ps, qs = bh_adjusted(p)
        np.testing.assert_array_equal(ps, np.sort(p))
        np.testing.assert_allclose(qs, np.sort(adjusted), rtol=1e-12)
        # rejected exactly when the adjusted value is at most q
        assert np.count_nonzero(qs <= q) == bh_rejections(p, q)


def test_bh_rule_is_less_or_equal():
    # p_(k) <= k q / m rejects (Benjamini & Hochberg 1995): p_(2) = 2 * 0.05 / 4 exactly
    p = np.array([0.001, 0.025, 0.3, 0.9])
    assert 0.025 == 2 * 0.05 / 4
    assert bh_rejections(p, 0.05) == 2
    assert bh_rejections(p[::-1], 0.05) == 2  # any order
    assert bh_rejections(np.array([0.2, 0.9]), 0.05) == 0
    assert bh_rejections(np.array([]), 0.05) == 0
    assert bh_rejections(np.array([0.01, np.nan]), 0.05) == 1  # NaN is never rejected
    ps, qs = bh_adjusted(np.array([]))
    assert ps.size == qs.size == 0


def test_fdr_threshold_uses_the_bh_rule():
    # z whose p-values sit on the BH line: sf(z_k) = k q / m for k = 1..3 of m = 4
    q, m = 0.05, 4
    z = stats.norm.isf(np.array([1, 2, 3]) * q / m)
    p = stats.norm.sf(np.r_[z, 0.0])
    k = bh_rejections(p, q)
    expected = z[k - 1] if k else math.inf
    assert fdr_threshold(np.r_[z, 0.0], q) == expected
    assert k >= 2  # ties with the line (up to rounding of isf/sf) are rejected


# --- corrections -------------------------------------------------------------------------


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
