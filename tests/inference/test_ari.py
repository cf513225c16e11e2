"""All-resolution inference: Hommel value, TDP bounds and the ari correction result."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from glmreport.config.specs import AriParams, CorrectionSpec
from glmreport.glm.results import ContrastResult
from glmreport.inference.ari import (
    apply_ari,
    cluster_tdp,
    hommel_value,
    tdp_bound,
    true_discoveries,
)
from glmreport.inference.clusters import find_clusters
from glmreport.inference.context import InferenceContext
from glmreport.inference.registry import get_method
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS

DOF = 20.0


def _z_from_p(p):
    return stats.norm.isf(np.asarray(p, dtype=float))


def _hommel_by_definition(p: np.ndarray, alpha: float) -> int:
    """max{i : i p_(m-i+j) > j alpha for j = 1..i} (Hommel 1988), by brute force."""
    p = np.sort(p)
    m = p.size
    best = 0
    for i in range(1, m + 1):
        j = np.arange(1, i + 1)
        if np.all(i * p[m - i + j - 1] > j * alpha):
            best = i
    return best


def _simes_rejects(p: np.ndarray, alpha: float) -> bool:
    ps = np.sort(p)
    k = np.arange(1, ps.size + 1)
    return bool(np.any(ps <= k * alpha / ps.size))


def _closed_testing_discoveries(p: np.ndarray, alpha: float) -> dict[frozenset, int]:
    """d(S) of closed testing with Simes local tests, for every subset S (small m only)."""
    m = p.size
    subsets = [frozenset(c) for r in range(1, m + 1) for c in itertools.combinations(range(m), r)]
    local = {s: _simes_rejects(p[list(s)], alpha) for s in subsets}
    rejected = {s: all(local[t] for t in subsets if s <= t) for s in subsets}
    out = {}
    for s in subsets:
        largest_null = max(
            (len(i) for i in subsets if i <= s and not rejected[i]),
            default=0,
        )
        out[s] = len(s) - largest_null
    return out


@pytest.mark.parametrize("seed", range(6))
def test_hommel_value_matches_definition(seed):
    rng = np.random.default_rng(seed)
    m = 60
    p = rng.uniform(size=m)
    p[: 5 * seed] = rng.uniform(0, 1e-3, size=5 * seed)  # more signal for larger seeds
    for alpha in (0.05, 0.1):
        assert hommel_value(_z_from_p(p), alpha) == _hommel_by_definition(p, alpha)


def test_hommel_value_edge_cases():
    assert hommel_value(_z_from_p([0.5, 0.6, 0.9]), 0.05) == 3  # no evidence
    assert hommel_value(_z_from_p([0.001, 0.002, 0.01]), 0.05) == 0  # every p < alpha
    assert hommel_value(_z_from_p([0.2]), 0.05) == 1
    assert hommel_value(_z_from_p([0.01]), 0.05) == 0
    # two-sided: negative z count as evidence
    z = np.array([-5.0, 0.1, 0.2, -0.3])
    assert hommel_value(z, 0.05) == 4
    assert hommel_value(z, 0.05, two_sided=True) < 4
    with pytest.raises(ValueError, match="alpha"):
        hommel_value(z, 1.5)


@pytest.mark.parametrize("seed", range(4))
def test_bound_equals_closed_testing_with_simes(seed):
    rng = np.random.default_rng(100 + seed)
    m = 8
    p = rng.uniform(size=m)
    p[: 2 + seed] = rng.uniform(0, 0.01, size=2 + seed)
    alpha = 0.1
    z = _z_from_p(p)
    h = hommel_value(z, alpha)
    for subset, d in _closed_testing_discoveries(p, alpha).items():
        idx = sorted(subset)
        assert true_discoveries(z[idx], h, alpha) == d, idx
        assert tdp_bound(z[idx], h, alpha) == pytest.approx(d / len(idx))


def test_tdp_bound_stays_a_proportion():
    z = np.array([45.0, 41.0, 39.0])  # p underflows to 0
    assert tdp_bound(z, 10, 0.05) == 1.0
    assert tdp_bound(z, 0, 0.05) == 1.0  # h = 0 rejects everything
    assert tdp_bound(np.array([]), 5, 0.05) == 0.0
    assert tdp_bound(np.array([0.1, -1.0]), 100, 0.05) == 0.0


def test_cluster_tdp_matches_tdp_bound():
    rng = np.random.default_rng(1)
    z = rng.standard_normal(500)
    z[:40] += 4.0
    labels = rng.integers(0, 6, size=500)
    labels[:20] = 7  # a cluster of strong voxels
    h = hommel_value(z, 0.05)
    got = cluster_tdp(z, labels, alpha=0.05)
    assert set(got) == {1, 2, 3, 4, 5, 7}
    for k, value in got.items():
        assert value == pytest.approx(tdp_bound(z[labels == k], h, 0.05), abs=1e-15)
    assert got[7] > 0.5
    assert cluster_tdp(z, np.zeros(500, int), alpha=0.05) == {}
    two = cluster_tdp(-z, labels, alpha=0.05, two_sided=True)
    assert two[7] == pytest.approx(
        tdp_bound(-z[labels == 7], hommel_value(-z, 0.05, two_sided=True), 0.05, two_sided=True)
    )
    with pytest.raises(ValueError, match="shape"):
        cluster_tdp(z, labels[:10], alpha=0.05)


# --------------------------------------------------------------------------------------------
# apply_ari


SHAPE = (20, 20, 20)


def _contrast(z: np.ndarray) -> ContrastResult:
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
        stat=stats.t.isf(p, DOF),
        p=p,
        z=z,
        dof=DOF,
    )


@pytest.fixture(scope="module")
def zmap():
    rng = np.random.default_rng(5)
    vol = rng.standard_normal(SHAPE)
    vol[3:8, 3:8, 3:8] += 4.0
    vol[5, 5, 5] += 3.0
    vol[12:15, 12:16, 12:15] -= 5.0
    vol[14:18, 3:6, 14:18] += 2.8
    mask = np.ones(SHAPE, bool)
    mask[0] = False
    ctx = InferenceContext(mask=mask, affine=np.diag([3.0, 3.0, 3.0, 1.0]))
    return _contrast(vol[mask]), ctx


def test_apply_ari_result(zmap):
    contrast, ctx = zmap
    spec = CorrectionSpec(method="ari", alpha=0.05, params=AriParams(thresholds=(4.5, 2.5, 3.5)))
    (res,) = get_method("ari")(contrast, spec, ctx)
    assert res.method == res.desc == "ari"
    assert res.threshold_z == 2.5
    assert res.threshold_stat == pytest.approx(stats.t.isf(stats.norm.sf(2.5), DOF))
    assert res.extras["thresholds"] == [2.5, 3.5, 4.5]
    assert res.params["thresholds"] == [2.5, 3.5, 4.5]
    h = hommel_value(contrast.z, 0.05)
    assert res.extras["hommel_value"] == h
    tdp = res.maps["tdp"]
    np.testing.assert_array_equal(res.surviving, tdp > 0)
    assert list(res.clusters.columns) == [
        *CLUSTER_COLUMNS,
        "threshold_z",
        "tdp",
        "min_true_voxels",
        "parent_id",
    ]
    assert list(res.peaks.columns) == [*PEAK_COLUMNS, "threshold_z", "tdp"]
    cl = res.clusters
    assert list(cl["cluster_id"]) == list(range(1, len(cl) + 1))
    assert np.all(cl["tdp"] > 0) and np.all(cl["tdp"] <= 1)
    assert list(cl["threshold_z"]) == sorted(cl["threshold_z"])
    # the first block is what find_clusters gives for the surviving voxels
    first = cl[cl["threshold_z"] == 2.5].reset_index(drop=True)
    ref = find_clusters(
        contrast.z, res.surviving, mask=ctx.mask, affine=ctx.affine, stat=contrast.stat
    )
    np.testing.assert_array_equal(first[list(CLUSTER_COLUMNS)], ref.clusters)
    # each TDP is the bound of its cluster; children sit inside their parents
    for row in cl.itertuples():
        sel = find_clusters(
            contrast.z,
            contrast.z > row.threshold_z,
            mask=ctx.mask,
            affine=ctx.affine,
        )
        members = None
        for k in range(1, sel.n_clusters + 1):
            if sel.clusters.loc[k - 1, "peak_value"] == row.peak_value:
                members = sel.labels == k
        assert members is not None and members.sum() == row.size_voxels
        assert row.tdp == pytest.approx(tdp_bound(contrast.z[members], h, 0.05))
        assert row.min_true_voxels == round(row.tdp * row.size_voxels)
        if row.threshold_z == 4.5:  # the map holds the TDP of the highest-threshold cluster
            np.testing.assert_array_equal(tdp[members], row.tdp)
        if row.threshold_z > 2.5:
            parent = cl.loc[row.parent_id - 1]
            assert parent.threshold_z < row.threshold_z
            assert parent.size_voxels >= row.size_voxels
            assert parent.min_true_voxels >= row.min_true_voxels
        else:
            assert row.parent_id == 0
    # peaks: ids renumbered with the clusters, main peak first
    main = res.peaks[~res.peaks["cluster_id"].str.contains("[a-z]")]
    assert list(main["cluster_id"].astype(int)) == list(cl["cluster_id"])
    np.testing.assert_allclose(main["tdp"], cl["tdp"])


def test_apply_ari_two_sided_and_extent(zmap):
    contrast, ctx = zmap
    spec = CorrectionSpec(method="ari", two_sided=True, params=AriParams(thresholds=(3.0, 4.0)))
    (res,) = apply_ari(contrast, spec, ctx)
    assert res.two_sided
    assert set(res.clusters["sign"]) == {"+", "-"}
    neg = res.clusters[res.clusters["sign"] == "-"]
    assert np.all(neg["peak_value"] < -4)
    assert res.extras["hommel_value"] == hommel_value(contrast.z, 0.05, two_sided=True)
    one = apply_ari(
        contrast, CorrectionSpec(method="ari", params=AriParams(thresholds=(3.0,))), ctx
    )[0]
    assert set(one.clusters["sign"]) == {"+"}
    big = CorrectionSpec(method="ari", cluster_extent=30, params=AriParams(thresholds=(3.0, 4.0)))
    (res_k,) = apply_ari(contrast, big, ctx)
    assert res_k.cluster_extent == 30
    assert np.all(res_k.clusters["size_voxels"] >= 30)
    assert res_k.surviving.sum() <= res.surviving.sum()


def test_apply_ari_no_signal():
    rng = np.random.default_rng(0)
    mask = np.ones((10, 10, 10), bool)
    contrast = _contrast(rng.standard_normal(1000))
    ctx = InferenceContext(mask=mask, affine=np.eye(4))
    (res,) = apply_ari(contrast, CorrectionSpec(method="ari"), ctx)
    assert res.extras["thresholds"] == [2.5, 3.5, 4.5]  # the config's default
    assert res.extras["hommel_value"] == 1000
    assert not res.surviving.any() and len(res.clusters) == 0 and len(res.peaks) == 0
    assert "tdp" in res.clusters.columns
