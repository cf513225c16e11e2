"""OLS fit: estimates, degrees of freedom, chunking, errors and speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from glmreport.errors import DesignError
from glmreport.glm.ols import fit_ols, residuals
from glmreport.glm.results import DesignMatrix


def _design(matrix: np.ndarray, columns: tuple[str, ...] | None = None) -> DesignMatrix:
    columns = columns or tuple(f"c{i}" for i in range(matrix.shape[1]))
    return DesignMatrix(matrix=np.asarray(matrix, dtype=float), columns=columns)


@pytest.fixture
def regression() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(20), rng.standard_normal(20), rng.standard_normal(20)])
    y = x @ rng.standard_normal((3, 50)) + rng.standard_normal((20, 50))
    return x, y


def test_full_rank_matches_lstsq(regression: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = regression
    fit = fit_ols(y, _design(x))
    beta, rss, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    assert rank == 3
    assert fit.dof == 17.0
    assert fit.noise_model == "ols" and fit.groups is None
    np.testing.assert_allclose(fit.betas, beta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fit.sigma2, rss / 17.0, rtol=1e-10)
    assert fit.cov_unscaled.shape == (1, 3, 3)
    np.testing.assert_allclose(fit.cov_unscaled[0], np.linalg.inv(x.T @ x), rtol=1e-10)


def test_chunking_does_not_change_results(regression: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = regression
    whole = fit_ols(y, _design(x))
    chunked = fit_ols(y, _design(x), chunk_size=7)
    # equal up to BLAS rounding (blocking changes the summation order)
    np.testing.assert_allclose(whole.betas, chunked.betas, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(whole.sigma2, chunked.sigma2, rtol=1e-13)


def test_rank_deficient_uses_pinv() -> None:
    rng = np.random.default_rng(1)
    # two cells and two subjects: cells + subjects share the grand mean (rank 3 of 4)
    x = np.array([[1, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 0, 1], [1, 0, 1, 0.0]])
    y = rng.standard_normal((5, 30))
    fit = fit_ols(y, _design(x))
    assert fit.dof == 2.0
    np.testing.assert_allclose(fit.betas, np.linalg.pinv(x) @ y, rtol=1e-10, atol=1e-12)
    resid = y - x @ fit.betas
    np.testing.assert_allclose(fit.sigma2, (resid**2).sum(0) / 2, rtol=1e-10)
    np.testing.assert_allclose(fit.cov_unscaled[0], np.linalg.pinv(x.T @ x), atol=1e-12)


def test_residuals_are_orthogonal_to_design(regression: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = regression
    fit = fit_ols(y, _design(x))
    r = residuals(y, fit)
    assert r.shape == y.shape
    np.testing.assert_allclose(x.T @ r, 0.0, atol=1e-10)
    np.testing.assert_allclose((r**2).sum(0) / fit.dof, fit.sigma2, rtol=1e-10)


def test_constant_voxels_have_zero_variance() -> None:
    y = np.zeros((8, 3))
    y[:, 1] = 5.0
    y[:, 2] = np.arange(8.0)
    fit = fit_ols(y, _design(np.ones((8, 1))))
    assert fit.sigma2[0] == 0.0
    assert fit.sigma2[1] == 0.0
    np.testing.assert_allclose(fit.sigma2[2], np.var(np.arange(8.0), ddof=1))


def test_no_residual_dof() -> None:
    x = np.column_stack([np.ones(3), [1.0, 0, 0], [0, 1.0, 0]])
    with pytest.raises(DesignError, match="3 inputs, design rank 3: no residual degrees"):
        fit_ols(np.zeros((3, 4)), _design(x))


def test_row_count_mismatch() -> None:
    with pytest.raises(DesignError, match="4 rows but there are 5 inputs"):
        fit_ols(np.zeros((5, 4)), _design(np.ones((4, 1))))


def test_speed_16_subjects_235k_voxels() -> None:
    rng = np.random.default_rng(2)
    y = rng.standard_normal((16, 235_000))
    design = _design(np.ones((16, 1)), ("intercept",))
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        fit_ols(y, design)
        best = min(best, time.perf_counter() - start)
    # typically ~0.05 s; the bound leaves room for a loaded machine
    assert best < 1.0


def test_blocks_shrink_with_many_inputs_and_results_do_not_change():
    from glmreport.glm.ols import CHUNK_VALUES, MAX_CHUNK, default_chunk

    assert default_chunk(16) == MAX_CHUNK
    assert default_chunk(1000) == CHUNK_VALUES // 1000
    assert default_chunk(10**7) == 1_000
    rng = np.random.default_rng(3)
    n, v = 2_000, 5_000  # blocks of 2 000 voxels
    x = np.column_stack([np.ones(n), rng.standard_normal(n)])
    y = (rng.standard_normal((n, v)) + 0.1).astype(np.float32)
    design = DesignMatrix(matrix=x, columns=("intercept", "age"))
    blocks, whole = fit_ols(y, design), fit_ols(y, design, chunk_size=v)
    np.testing.assert_allclose(blocks.betas, whole.betas, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(blocks.sigma2, whole.sigma2, rtol=1e-12)
