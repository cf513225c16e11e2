"""Whitening: V^(-1/2), Satterthwaite degrees of freedom and the whitened least-squares fit."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.errors import DesignError
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import DesignMatrix
from glmreport.glm.whitening import effective_dof, fit_whitened, whitening_matrix


def _ar_covariance(n: int, rho: float) -> np.ndarray:
    idx = np.arange(n)
    return rho ** np.abs(idx[:, None] - idx[None, :])


def test_whitening_matrix_whitens():
    v = _ar_covariance(12, 0.4)
    w = whitening_matrix(v)
    np.testing.assert_allclose(w, w.T, atol=1e-12)
    np.testing.assert_allclose(w @ v @ w.T, np.eye(12), atol=1e-10)
    with pytest.raises(DesignError, match="symmetric"):
        whitening_matrix(np.triu(np.ones((3, 3))))
    with pytest.raises(DesignError, match="positive eigenvalue"):
        whitening_matrix(-np.eye(3))


def test_effective_dof():
    x = np.column_stack([np.ones(15), np.arange(15.0)])
    # spherical errors: n - rank(X)
    dof, tr_rv = effective_dof(x, np.eye(15), np.eye(15))
    assert dof == pytest.approx(13.0) and tr_rv == pytest.approx(13.0)
    # whitening with the right V gives back a spherical model
    v = _ar_covariance(15, 0.5)
    dof, _ = effective_dof(x, whitening_matrix(v), v)
    assert dof == pytest.approx(13.0)
    # no whitening of correlated errors: fewer effective degrees of freedom
    dof, _ = effective_dof(x, np.eye(15), v)
    assert 2 < dof < 13


def test_identity_whitening_is_ols():
    rng = np.random.default_rng(2)
    x = np.column_stack([np.ones(10), rng.normal(size=10)])
    y = rng.normal(size=(10, 30))
    white = fit_whitened(y, x, np.eye(10), chunk_size=7)
    ols = fit_ols(y, DesignMatrix(matrix=x, columns=("a", "b")))
    np.testing.assert_allclose(white.betas, ols.betas, atol=1e-12)
    np.testing.assert_allclose(white.sigma2, ols.sigma2, rtol=1e-10)
    assert white.dof == pytest.approx(ols.dof)
    assert white.noise_model == "nonsphericity" and white.groups is None
