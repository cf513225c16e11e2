"""ReML of covariance components by Fisher scoring: known answers and the likelihood."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.glm.reml import reml, residual_basis, restricted_log_likelihood


def test_residual_basis_is_orthonormal_and_orthogonal_to_the_design():
    x = np.column_stack([np.ones(10), np.arange(10.0), np.arange(10.0) * 2])  # rank 2
    k = residual_basis(x)
    assert k.shape == (10, 8)
    np.testing.assert_allclose(k.T @ k, np.eye(8), atol=1e-12)
    np.testing.assert_allclose(x.T @ k, 0.0, atol=1e-10)


def test_reml_of_one_variance_is_the_unbiased_estimate():
    rng = np.random.default_rng(0)
    n, v = 20, 500
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = x @ rng.normal(size=(2, v)) + 1.7 * rng.normal(size=(n, v))
    second = y @ y.T / v
    result = reml(second, x, [np.eye(n)])
    assert result.converged
    resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    unbiased = np.sum(resid**2) / ((n - 2) * v)
    assert result.hyperparameters[0] == pytest.approx(unbiased, rel=1e-8)


def test_reml_recovers_two_group_variances():
    rng = np.random.default_rng(1)
    n, v = 24, 4000
    g = np.r_[np.ones(12), np.zeros(12)]
    x = np.column_stack([g, 1 - g])
    q = [np.diag(g), np.diag(1 - g)]
    y = rng.normal(size=(n, v)) * np.where(g[:, None] > 0, 1.0, 2.0)
    result = reml(y @ y.T / v, x, q)
    np.testing.assert_allclose(result.hyperparameters, [1.0, 4.0], rtol=0.05)
    # the optimum has the highest restricted likelihood around it
    best = restricted_log_likelihood(result.hyperparameters, y @ y.T / v, x, q)
    assert best == pytest.approx(result.log_likelihood)
    for delta in ([0.05, 0.0], [0.0, -0.1]):
        other = restricted_log_likelihood(result.hyperparameters + delta, y @ y.T / v, x, q)
        assert other < best
