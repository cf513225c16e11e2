"""Permutation inference: schemes, resamples, nulls against direct refits, result objects."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from glmreport.config.specs import CorrectionSpec, PermutationParams
from glmreport.errors import InferenceError
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import DesignMatrix, GLMFit
from glmreport.inference.context import InferenceContext
from glmreport.inference.permutation import (
    NullSettings,
    apply_permutation,
    cluster_forming_threshold,
    count_resamples,
    critical_value,
    fwe_p_values,
    make_resamples,
    partition_design,
    permutation_null,
)
from glmreport.inference.registry import get_method
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS

SHAPE = (10, 11, 9)


def _noise(n: int, seed: int, shape=SHAPE, sigma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    mask[1:-1, 1:-1, 1:-1] = True
    data = np.stack(
        [ndimage.gaussian_filter(rng.standard_normal(shape), sigma)[mask] for _ in range(n)]
    )
    return data / data.std(), mask


def _contrast(data, x, weights, stat_type="t", columns=None):
    columns = columns or tuple(f"c{i}" for i in range(x.shape[1]))
    fit = fit_ols(data, DesignMatrix(matrix=x, columns=columns))
    con = compute_contrast(
        fit, np.atleast_2d(weights), name="con", label="con", stat_type=stat_type
    )
    return fit, con


def _two_group(n: int) -> np.ndarray:
    g = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
    return np.column_stack([g, 1 - g])


# --------------------------------------------------------------------------------------------
# design partition and schemes


@pytest.mark.parametrize(
    ("design", "weights", "scheme", "n_nuisance"),
    [
        ("one", [[1.0]], "sign-flip", 0),
        ("groups", [[1.0, -1.0]], "freedman-lane", 1),
        ("groups", [[1.0, 0.0]], "sign-flip", 1),
        ("groups", [[0.5, 0.5]], "sign-flip", 1),
        ("age", [[0.0, 1.0]], "freedman-lane", 1),
        ("age", [[1.0, 0.0]], "sign-flip", 1),
        ("age_only", [[1.0]], "freedman-lane", 0),
        ("three", [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "freedman-lane", 1),
        ("three", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "sign-flip", 0),
    ],
)
def test_partition_design(design, weights, scheme, n_nuisance):
    n = 10
    rng = np.random.default_rng(0)
    age = rng.normal(40, 10, n)
    g = _two_group(n)[:, 0]
    x = {
        "one": np.ones((n, 1)),
        "groups": _two_group(n),
        "age": np.column_stack([np.ones(n), age]),
        "age_only": age[:, None],
        "three": np.column_stack([np.ones(n), g, age]),
    }[design]
    model = partition_design(x, np.array(weights))
    assert model.scheme == scheme
    assert model.nuisance_basis.shape[1] == n_nuisance
    assert model.df_num == len(weights)
    assert model.dof == n - np.linalg.matrix_rank(x)
    basis = model.basis
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-10)
    # same column space as the design
    np.testing.assert_allclose(basis @ (basis.T @ x), x, atol=1e-8 * np.abs(x).max())


def test_partition_rank_deficient_anova():
    """Cell means plus subject columns (rank-deficient): the condition effect is tested."""
    n_sub, n_cond = 5, 3
    subj = np.kron(np.eye(n_sub), np.ones((n_cond, 1)))
    cond = np.kron(np.ones((n_sub, 1)), np.eye(n_cond))
    x = np.hstack([cond, subj])
    w = np.array([[1.0, -1.0, 0.0] + [0.0] * n_sub, [0.0, 1.0, -1.0] + [0.0] * n_sub])
    model = partition_design(x, w)
    assert model.scheme == "freedman-lane"
    assert model.df_num == 2
    assert model.dof == n_sub * n_cond - (n_sub + n_cond - 1)
    assert model.nuisance_basis.shape[1] == n_sub


@pytest.mark.parametrize(
    ("x", "weights", "stat_type"),
    [
        (np.column_stack([np.ones(12), np.arange(12.0)]), [[0.0, 1.0]], "t"),
        (np.column_stack([np.ones(12), np.arange(12.0)]), [[1.0, 0.0]], "t"),
        (np.column_stack([_two_group(12), np.arange(12.0)]), [[1.0, -1.0, 0.0]], "t"),
        (
            np.column_stack([_two_group(12), np.arange(12.0) % 5]),
            [[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
            "F",
        ),
    ],
)
def test_observed_stat_equals_glm(x, weights, stat_type):
    data, _ = _noise(12, 1)
    data = data + 0.3
    _, con = _contrast(data, x, weights, stat_type)
    null = permutation_null(data, x, weights, NullSettings(n_perm=20, seed=0, stat_type=stat_type))
    np.testing.assert_allclose(null.stat, con.stat, rtol=1e-10, atol=1e-10)
    score = np.abs(con.stat) if null.two_sided else con.stat
    assert null.max_stat[0] == pytest.approx(score.max(), rel=1e-12)


def _direct_max(data, x, weights, stat_type, model, resample, two_sided):
    """Freedman-Lane by hand: Y* = P R_z + H_z Y, full refit, contrast statistic."""
    q_z = model.nuisance_basis
    fitted = q_z @ (q_z.T @ data)
    resid = data - fitted
    if model.scheme == "sign-flip":
        y_star = resid * resample[:, None] + fitted
    else:
        y_star = resid[resample] + fitted
    _, con = _contrast(y_star, x, weights, stat_type)
    return (np.abs(con.stat) if two_sided else con.stat).max()


@pytest.mark.parametrize(
    ("weights", "stat_type", "two_sided"),
    [
        ([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]], "F", False),  # F, permutation
        ([[0.0, 0.0, 1.0]], "t", True),  # covariate, permutation
        ([[0.5, 0.5, 0.0]], "t", True),  # mean of both groups with a covariate: sign flips
    ],
)
def test_null_equals_direct_freedman_lane(weights, stat_type, two_sided):
    n = 9
    data, _ = _noise(n, 2, shape=(6, 6, 5))
    rng = np.random.default_rng(5)
    x = np.column_stack([_two_group(n), rng.normal(size=n)])
    null = permutation_null(
        data, x, weights, NullSettings(n_perm=40, seed=3, two_sided=two_sided, stat_type=stat_type)
    )
    model = partition_design(x, np.array(weights))
    assert null.scheme == model.scheme
    direct = [_direct_max(data, x, weights, stat_type, model, r, two_sided) for r in null.resamples]
    np.testing.assert_allclose(null.max_stat, direct, rtol=2e-5)


def test_no_nuisance_permutation_is_plain_shuffle():
    """A design without intercept: permutations shuffle the data rows themselves."""
    n = 8
    data, _ = _noise(n, 4, shape=(5, 5, 5))
    age = np.linspace(-1, 2, n)
    null = permutation_null(
        data, age[:, None], [[1.0]], NullSettings(n_perm=30, seed=1, two_sided=True)
    )
    assert null.scheme == "freedman-lane"
    for r, value in zip(null.resamples, null.max_stat, strict=True):
        _, con = _contrast(data[r], age[:, None], [[1.0]])
        assert value == pytest.approx(np.abs(con.stat).max(), rel=2e-5)


# --------------------------------------------------------------------------------------------
# resamples


def test_exact_sign_flips():
    flips, exact = make_resamples("sign-flip", 6, 10000, seed=0)
    assert exact and flips.shape == (64, 6)
    assert np.all(flips[0] == 1)
    assert np.unique(flips, axis=0).shape[0] == 64
    assert count_resamples("sign-flip", 6) == 64


def test_exact_enumeration_in_null():
    data, _ = _noise(6, 3, shape=(5, 5, 5))
    null = permutation_null(
        data + 0.5, np.ones((6, 1)), [[1.0]], NullSettings(n_perm=10000, two_sided=True)
    )
    assert null.exact and null.n_perm == 64
    p = fwe_p_values(np.abs(null.stat), null.max_stat)
    np.testing.assert_allclose(p * 64, np.round(p * 64), atol=1e-9)
    # flipping every sign gives the same |t| map: the maximum voxel is tied at least twice
    assert p.min() >= 2 / 64


def test_random_resamples_seeded():
    a, exact = make_resamples("sign-flip", 20, 500, seed=7)
    b, _ = make_resamples("sign-flip", 20, 500, seed=7)
    c, _ = make_resamples("sign-flip", 20, 500, seed=8)
    assert not exact and a.shape == (500, 20)
    assert np.all(a[0] == 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    perms, exact = make_resamples("freedman-lane", 12, 300, seed=1)
    assert not exact and perms.shape == (300, 12)
    np.testing.assert_array_equal(perms[0], np.arange(12))
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.tile(np.arange(12), (300, 1)))


def test_exact_permutations_count_distinct_rearrangements():
    x = _two_group(8)  # 4 + 4: 70 distinct group labellings
    model = partition_design(x, np.array([[1.0, -1.0]]))
    assert count_resamples("freedman-lane", 8, row_labels=model.row_labels) == 70
    perms, exact = make_resamples("freedman-lane", 8, 1000, seed=0, row_labels=model.row_labels)
    assert exact and perms.shape == (70, 8)
    np.testing.assert_array_equal(perms[0], np.arange(8))
    # distinct designs seen by the data: row i of the data is paired with design row inv[i]
    inverse = np.argsort(perms, axis=1)
    labels = model.row_labels[inverse]
    assert np.unique(labels, axis=0).shape[0] == 70


def test_blocks_keep_rows_within_blocks():
    blocks = np.repeat(["s1", "s2", "s3", "s4"], 3)
    perms, exact = make_resamples("freedman-lane", 12, 200, seed=2, blocks=blocks)
    assert not exact  # 6**4 = 1296 > 200
    assert np.all(blocks[perms] == blocks[None, :])
    assert len({tuple(p) for p in perms}) > 150
    assert count_resamples("freedman-lane", 12, blocks=blocks) == 6**4
    # small enough to enumerate: two blocks of three distinct rows -> 36
    perms, exact = make_resamples("freedman-lane", 6, 100, blocks=blocks[:6])
    assert exact and perms.shape == (36, 6)
    assert np.all(blocks[:6][perms] == blocks[None, :6])
    assert len({tuple(p) for p in perms}) == 36
    # sign flips ignore blocks
    flips, exact = make_resamples("sign-flip", 6, 100, blocks=blocks[:6])
    assert exact and flips.shape == (64, 6)


def test_anova_within_subject_permutation():
    """Repeated measures: conditions permuted within subject, subject effects as nuisance."""
    n_sub, n_cond = 6, 3
    subj = np.kron(np.eye(n_sub), np.ones((n_cond, 1)))
    cond = np.kron(np.ones((n_sub, 1)), np.eye(n_cond))
    x = np.hstack([cond, subj])
    w = np.zeros((2, x.shape[1]))
    w[0, :3] = [1, -1, 0]
    w[1, :3] = [0, 1, -1]
    data, _ = _noise(n_sub * n_cond, 6, shape=(5, 5, 4))
    blocks = np.repeat(np.arange(n_sub), n_cond)
    null = permutation_null(
        data, x, w, NullSettings(n_perm=50, seed=0, stat_type="F"), blocks=blocks
    )
    assert null.scheme == "freedman-lane"
    assert np.all(blocks[null.resamples] == blocks[None, :])
    model = partition_design(x, w)
    direct = [_direct_max(data, x, w, "F", model, r, False) for r in null.resamples[:10]]
    np.testing.assert_allclose(null.max_stat[:10], direct, rtol=2e-5)


# --------------------------------------------------------------------------------------------
# determinism


def test_deterministic_for_seed_and_workers():
    data, mask = _noise(12, 8)
    x = np.ones((12, 1))
    settings = NullSettings(
        n_perm=100,
        seed=11,
        two_sided=True,
        cluster_threshold=cluster_forming_threshold(0.01, "t", 11, two_sided=True),
        tfce=True,
    )

    def null(**changes):
        return permutation_null(data, x, [[1.0]], replace(settings, **changes), mask=mask)

    one = null(n_jobs=1)
    two = null(n_jobs=3)
    again = null(n_jobs=2)
    for attr in ("max_stat", "max_size", "max_mass", "max_tfce", "tfce", "resamples"):
        np.testing.assert_array_equal(getattr(one, attr), getattr(two, attr))
        np.testing.assert_array_equal(getattr(one, attr), getattr(again, attr))
    other = null(n_jobs=1, seed=12)
    assert not np.array_equal(one.max_stat, other.max_stat)
    # max-only path, several batches
    a = permutation_null(data, x, [[1.0]], NullSettings(n_perm=700, seed=1, n_jobs=1))
    b = permutation_null(data, x, [[1.0]], NullSettings(n_perm=700, seed=1, n_jobs=2))
    np.testing.assert_array_equal(a.max_stat, b.max_stat)
    # the maps path gives the same max statistic as the max-only path
    c = permutation_null(
        data, x, [[1.0]], NullSettings(n_perm=700, seed=1, tfce=True, n_jobs=2), mask=mask
    )
    np.testing.assert_allclose(a.max_stat, c.max_stat, rtol=1e-5)


def test_one_sided_and_cluster_nulls():
    data, mask = _noise(10, 9)
    x = np.ones((10, 1))
    thr = cluster_forming_threshold(0.05, "t", 9)
    one = permutation_null(
        data, x, [[1.0]], NullSettings(n_perm=64, cluster_threshold=thr), mask=mask
    )
    two = permutation_null(
        data, x, [[1.0]], NullSettings(n_perm=64, cluster_threshold=thr, two_sided=True), mask=mask
    )
    assert np.all(one.max_stat <= two.max_stat + 1e-6)
    assert np.all(one.max_size <= two.max_size)
    assert np.all(one.max_mass <= two.max_mass + 1e-6)
    assert one.max_stat[0] == pytest.approx(one.stat.max())
    assert one.max_size[0] > 0 and one.max_size.dtype == np.float64


# --------------------------------------------------------------------------------------------
# p-values and critical values


@pytest.mark.parametrize("n_perm", [20, 99, 100, 1000, 10000])
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_critical_value_matches_p_values(n_perm, alpha):
    rng = np.random.default_rng(n_perm)
    null = np.round(rng.gamma(4.0, size=n_perm), 2)  # with ties
    scores = np.concatenate([null, rng.gamma(4.0, size=500), [null.max(), null.max() + 1]])
    crit = critical_value(null, alpha)
    p = fwe_p_values(scores, null)
    np.testing.assert_array_equal(p < alpha, scores > crit)
    assert p[-2] >= 1 / n_perm
    assert p[-1] == 0.0


def test_cluster_forming_threshold():
    assert cluster_forming_threshold(0.001, "t", 15, two_sided=True) == pytest.approx(4.0728, 1e-4)
    assert cluster_forming_threshold(0.001, "t", 15) == pytest.approx(3.7328, 1e-4)
    assert cluster_forming_threshold(0.01, "F", 20, 2) == pytest.approx(5.8489, 1e-4)
    with pytest.raises(ValueError, match="cluster_forming_p"):
        cluster_forming_threshold(1.5, "t", 10)


# --------------------------------------------------------------------------------------------
# correction results


def _planted(n=12, seed=10, shape=(14, 14, 12)):
    """Smooth noise with a positive and a negative blob, one-sample design."""
    data, mask = _noise(n, seed, shape=shape, sigma=1.2)
    pos = np.zeros(shape)
    pos[3:7, 3:7, 3:6] = 1.2
    neg = np.zeros(shape)
    neg[8:12, 8:12, 6:9] = 1.2
    data = data + pos[mask] - neg[mask]
    x = np.ones((n, 1))
    fit, con = _contrast(data, x, [[1.0]], columns=("intercept",))
    table = pd.DataFrame({"subject": [f"sub-{i:02d}" for i in range(n)], "site": ["a", "b"] * 6})
    ctx = InferenceContext(
        mask=mask, affine=np.diag([2.0, 2.0, 2.0, 1.0]), data=data, fit=fit, table=table
    )
    return con, ctx, pos[mask] > 0, neg[mask] > 0


def test_apply_permutation_results():
    con, ctx, pos, neg = _planted()
    params = PermutationParams(n_perm=400, seed=3, cluster_forming_p=0.001, tfce=True)
    spec = CorrectionSpec(method="permutation", alpha=0.05, two_sided=True, params=params)
    assert get_method("permutation") is apply_permutation
    results = apply_permutation(con, spec, ctx)
    assert [r.desc for r in results] == [
        "permMaxT",
        "permClusterSize",
        "permClusterMass",
        "permTFCE",
    ]
    for r in results:
        assert r.method == "permutation" and r.two_sided
        assert r.arrays["null"].shape == (400,)
        assert r.extras["n_perm"] == 400 and r.extras["exact"] is False
        assert r.extras["scheme"] == "sign-flip"
        assert r.extras["observed_max"] == pytest.approx(r.arrays["null"][0])
        assert r.extras["critical_value"] == pytest.approx(critical_value(r.arrays["null"], 0.05))
        assert r.params["n_perm"] == 400 and r.params["seed"] == 3
        assert r.params["blocks"] is None and r.params["tfce_dh"] == "auto"
        assert tuple(r.clusters.columns[: len(CLUSTER_COLUMNS)]) == CLUSTER_COLUMNS
        assert tuple(r.peaks.columns[: len(PEAK_COLUMNS)]) == PEAK_COLUMNS
        assert "p_fwe" in r.clusters.columns
        assert np.all(r.clusters["p_fwe"] < 0.05)
        # the planted blobs are found, nothing far from them
        assert r.surviving[pos].any() and r.surviving[neg].any()
        assert set(r.clusters["sign"]) == {"+", "-"}
    max_t, size, mass, tf = results
    assert max_t.extras["null_label"] == "max |t|"
    assert max_t.threshold_stat == pytest.approx(max_t.extras["critical_value"])
    assert max_t.threshold_z > 0
    p = 10 ** -max_t.maps["logp_fwe"]
    np.testing.assert_array_equal(max_t.surviving, np.abs(con.stat) > max_t.threshold_stat)
    np.testing.assert_array_equal(max_t.surviving, p < 0.05 - 1e-12)
    assert "p_fwe" in max_t.peaks.columns and np.all(max_t.peaks["p_fwe"] < 0.05)
    thr = cluster_forming_threshold(0.001, "t", con.dof, two_sided=True)
    for r, kind in ((size, "size"), (mass, "mass")):
        assert r.threshold_stat == pytest.approx(thr)
        assert r.extras[f"critical_cluster_{kind}"] == r.extras["critical_value"]
        assert r.extras["cluster_forming_p"] == 0.001
        assert np.all(r.clusters[f"cluster_{kind}"] > r.extras["critical_value"])
        assert np.all(np.abs(con.stat[r.surviving]) > thr)
    assert size.cluster_extent == int(size.extras["critical_value"]) + 1
    np.testing.assert_array_equal(size.clusters["cluster_size"], size.clusters["size_voxels"])
    assert set(tf.maps) == {"tfce", "logp_fwe"}
    assert tf.threshold_z is None and tf.threshold_stat is None
    np.testing.assert_array_equal(
        tf.surviving, np.abs(tf.maps["tfce"]) > tf.extras["critical_value"]
    )
    assert tf.extras["null_label"] == "max |TFCE|"


def test_apply_permutation_without_signal_and_one_sided():
    data, mask = _noise(10, 21)
    x = np.ones((10, 1))
    fit, con = _contrast(data, x, [[1.0]], columns=("intercept",))
    ctx = InferenceContext(mask=mask, affine=np.eye(4), data=data, fit=fit)
    spec = CorrectionSpec(method="permutation", params=PermutationParams(n_perm=100, tfce=True))
    max_t, tf = apply_permutation(con, spec, ctx)
    assert not max_t.two_sided and max_t.extras["null_label"] == "max t"
    assert tf.extras["null_label"] == "max TFCE"
    assert max_t.surviving.sum() == 0 and len(max_t.clusters) == 0
    assert "p_fwe" in max_t.clusters.columns and "p_fwe" in max_t.peaks.columns


def test_apply_permutation_f_contrast_and_blocks():
    n = 12
    data, mask = _noise(n, 30, shape=(8, 8, 8))
    x = np.column_stack([_two_group(n), np.arange(n) % 3])
    fit, con = _contrast(data, x, [[1, -1, 0], [0, 0, 1]], "F")
    table = pd.DataFrame({"site": np.repeat(["a", "b", "c"], 4)})
    ctx = InferenceContext(mask=mask, affine=np.eye(4), data=data, fit=fit, table=table)
    spec = CorrectionSpec(
        method="permutation",
        two_sided=True,
        params=PermutationParams(n_perm=60, blocks="site", cluster_forming_p=0.01),
    )
    results = apply_permutation(con, spec, ctx)
    assert [r.desc for r in results] == ["permMaxT", "permClusterSize", "permClusterMass"]
    max_f = results[0]
    assert not max_f.two_sided and max_f.params["two_sided_ignored"] == "F contrast"
    assert max_f.extras["null_label"] == "max F"
    assert max_f.extras["scheme"] == "freedman-lane" and max_f.extras["blocks"] == "site"
    thr = cluster_forming_threshold(0.01, "F", con.dof, 2)
    assert results[1].threshold_stat == pytest.approx(thr)


def test_sign_flip_blocks_note():
    con, ctx, _, _ = _planted()
    spec = CorrectionSpec(method="permutation", params=PermutationParams(n_perm=50, blocks="site"))
    (max_t,) = apply_permutation(con, spec, ctx)
    assert "free" in max_t.extras["blocks_note"]


def test_apply_permutation_errors():
    con, ctx, _, _ = _planted()
    spec = CorrectionSpec(
        method="permutation", params=PermutationParams(n_perm=10, blocks="subjct")
    )
    with pytest.raises(InferenceError, match="Did you mean 'subject'"):
        apply_permutation(con, spec, ctx)
    no_data = InferenceContext(mask=ctx.mask, affine=ctx.affine)
    with pytest.raises(InferenceError, match="statistic maps"):
        apply_permutation(con, CorrectionSpec(method="permutation"), no_data)
    fit = ctx.fit
    ar1 = GLMFit(
        design=fit.design,
        betas=fit.betas,
        sigma2=fit.sigma2,
        dof=fit.dof,
        cov_unscaled=fit.cov_unscaled,
        noise_model="ar1",
    )
    ar_ctx = InferenceContext(mask=ctx.mask, affine=ctx.affine, data=ctx.data, fit=ar1)
    with pytest.raises(InferenceError, match="ar1"):
        apply_permutation(con, CorrectionSpec(method="permutation"), ar_ctx)


def test_progress_bar(capsys):
    data, _ = _noise(8, 40, shape=(5, 5, 5))
    permutation_null(data, np.ones((8, 1)), [[1.0]], NullSettings(n_perm=100, progress=True))
    assert "permutations" in capsys.readouterr().err


def test_resample_count_is_arithmetic_and_bounded():
    from glmreport.config.vocabulary import MAX_RESAMPLES
    from glmreport.inference.permutation import check_resample_table

    # 12 distinct rows (a covariate) have 12! rearrangements: counted, never listed
    assert count_resamples("freedman-lane", 12) == 479_001_600
    assert count_resamples("sign-flip", 40) == 2**40
    perms, exact = make_resamples("freedman-lane", 12, 2000, seed=3)
    assert not exact and perms.shape == (2000, 12)
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.tile(np.arange(12), (2000, 1)))
    # two blocks of 3: 3! * 3! = 36 distinct rearrangements, all listed once
    blocks = np.array([0, 0, 0, 1, 1, 1])
    perms, exact = make_resamples("freedman-lane", 6, 1000, blocks=blocks)
    assert exact and perms.shape == (36, 6) and len({tuple(p) for p in perms}) == 36
    with pytest.raises(ValueError, match="between 1 and 1,000,000"):
        make_resamples("sign-flip", 5, MAX_RESAMPLES + 1)
    check_resample_table(10_000, 1000)  # 1e7 entries: fine
    with pytest.raises(InferenceError, match=r"use n_perm <= 268,435"):
        check_resample_table(MAX_RESAMPLES, 1000)
