"""Permutation nulls: the observed statistic, Freedman-Lane by hand, exact nulls, determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from fixtures.group_data import ols_contrast, smooth_noise, two_group

from glmreport.inference.permutation import (
    NullSettings,
    cluster_forming_threshold,
    fwe_p_values,
    partition_design,
    permutation_null,
)


@pytest.mark.parametrize(
    ("x", "weights", "stat_type"),
    [
        (np.column_stack([np.ones(12), np.arange(12.0)]), [[0.0, 1.0]], "t"),
        (np.column_stack([np.ones(12), np.arange(12.0)]), [[1.0, 0.0]], "t"),
        (np.column_stack([two_group(12), np.arange(12.0)]), [[1.0, -1.0, 0.0]], "t"),
        (
            np.column_stack([two_group(12), np.arange(12.0) % 5]),
            [[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
            "F",
        ),
    ],
)
def test_observed_stat_equals_glm(x, weights, stat_type):
    data, _ = smooth_noise(12, 1)
    data = data + 0.3
    _, con = ols_contrast(data, x, weights, stat_type)
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
    _, con = ols_contrast(y_star, x, weights, stat_type)
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
    data, _ = smooth_noise(n, 2, shape=(6, 6, 5))
    rng = np.random.default_rng(5)
    x = np.column_stack([two_group(n), rng.normal(size=n)])
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
    data, _ = smooth_noise(n, 4, shape=(5, 5, 5))
    age = np.linspace(-1, 2, n)
    null = permutation_null(
        data, age[:, None], [[1.0]], NullSettings(n_perm=30, seed=1, two_sided=True)
    )
    assert null.scheme == "freedman-lane"
    for r, value in zip(null.resamples, null.max_stat, strict=True):
        _, con = ols_contrast(data[r], age[:, None], [[1.0]])
        assert value == pytest.approx(np.abs(con.stat).max(), rel=2e-5)


def test_exact_enumeration_in_null():
    data, _ = smooth_noise(6, 3, shape=(5, 5, 5))
    null = permutation_null(
        data + 0.5, np.ones((6, 1)), [[1.0]], NullSettings(n_perm=10000, two_sided=True)
    )
    assert null.exact and null.n_perm == 64
    p = fwe_p_values(np.abs(null.stat), null.max_stat)
    np.testing.assert_allclose(p * 64, np.round(p * 64), atol=1e-9)
    # flipping every sign gives the same |t| map: the maximum voxel is tied at least twice
    assert p.min() >= 2 / 64


def test_anova_within_subject_permutation():
    """Repeated measures: conditions permuted within subject, subject effects as nuisance."""
    n_sub, n_cond = 6, 3
    subj = np.kron(np.eye(n_sub), np.ones((n_cond, 1)))
    cond = np.kron(np.ones((n_sub, 1)), np.eye(n_cond))
    x = np.hstack([cond, subj])
    w = np.zeros((2, x.shape[1]))
    w[0, :3] = [1, -1, 0]
    w[1, :3] = [0, 1, -1]
    data, _ = smooth_noise(n_sub * n_cond, 6, shape=(5, 5, 4))
    blocks = np.repeat(np.arange(n_sub), n_cond)
    null = permutation_null(
        data, x, w, NullSettings(n_perm=50, seed=0, stat_type="F"), blocks=blocks
    )
    assert null.scheme == "freedman-lane"
    assert np.all(blocks[null.resamples] == blocks[None, :])
    model = partition_design(x, w)
    direct = [_direct_max(data, x, w, "F", model, r, False) for r in null.resamples[:10]]
    np.testing.assert_allclose(null.max_stat[:10], direct, rtol=2e-5)


def test_deterministic_for_seed_and_workers():
    data, mask = smooth_noise(12, 8)
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
    data, mask = smooth_noise(10, 9)
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


def test_progress_bar(capsys):
    data, _ = smooth_noise(8, 40, shape=(5, 5, 5))
    permutation_null(data, np.ones((8, 1)), [[1.0]], NullSettings(n_perm=100, progress=True))
    assert "permutations" in capsys.readouterr().err
