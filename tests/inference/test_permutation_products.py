"""The batched products: every resample's statistic map from one matrix product."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.group_data import ols_contrast, smooth_noise, two_group

from glmreport.inference.permutation import make_resamples, partition_design
from glmreport.inference.permutation.products import (
    chunk_maxima,
    coefficients,
    monotone_max,
    prepare,
    stat_from_products,
)


def _refit(data, x, weights, stat_type, model, resample):
    """Freedman-Lane by hand: Y* = P R_z + H_z Y, full refit, contrast statistic."""
    q_z = model.nuisance_basis
    fitted = q_z @ (q_z.T @ data)
    resid = data - fitted
    if model.scheme == "sign-flip":
        y_star = resid * resample[:, None] + fitted
    else:
        y_star = resid[resample] + fitted
    return ols_contrast(y_star, x, weights, stat_type)[1].stat


@pytest.mark.parametrize(
    ("design", "weights", "stat_type"),
    [
        ("one-sample + age", [[1.0, 0.0]], "t"),
        ("two groups + age", [[1.0, -1.0, 0.0]], "t"),
        ("two groups + age", [[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]], "F"),
    ],
)
def test_products_equal_refits(design, weights, stat_type):
    n = 12
    data, _ = smooth_noise(n, 4)
    age = np.random.default_rng(1).normal(size=n)
    x = (
        np.column_stack([np.ones(n), age])
        if design.startswith("one")
        else np.column_stack([two_group(n), age])
    )
    model = partition_design(x, np.array(weights))
    prepared = prepare(data, model)
    # the observed statistic is the GLM's, the residuals have unit-norm columns
    np.testing.assert_allclose(prepared.stat, ols_contrast(data, x, weights, stat_type)[1].stat)
    np.testing.assert_allclose(np.linalg.norm(prepared.resid, axis=0), 1.0, rtol=1e-5)
    resamples, _ = make_resamples(model.scheme, n, 6, seed=2, row_labels=model.row_labels)
    maps = stat_from_products(coefficients(model, resamples) @ prepared.resid, model, 6)
    assert maps.shape == (6, data.shape[1]) and maps.dtype == np.float32
    for resample, stat in zip(resamples, maps, strict=True):
        direct = _refit(data, x, weights, stat_type, model, resample)
        np.testing.assert_allclose(stat, direct, rtol=1e-4, atol=1e-4)


def test_chunk_maxima_and_monotone_max():
    n = 10
    data, _ = smooth_noise(n, 5)
    model = partition_design(np.ones((n, 1)), np.array([[1.0]]))
    prepared = prepare(data, model)
    resamples, _ = make_resamples(model.scheme, n, 8, seed=0)
    coef = coefficients(model, resamples)
    maps = stat_from_products(coef @ prepared.resid, model, 8)
    v = data.shape[1]
    chunks = [(0, v // 2), (v // 2, v)]
    # no nuisance: the maxima of u map monotonically onto the maxima of t
    best = chunk_maxima(prepared.resid, model, coef, 8, True, chunks)
    np.testing.assert_allclose(monotone_max(best, model, True), np.abs(maps).max(axis=1), rtol=1e-4)
    best = chunk_maxima(prepared.resid, model, coef, 8, False, chunks)
    np.testing.assert_allclose(monotone_max(best, model, False), maps.max(axis=1), rtol=1e-4)


def test_exact_fit_voxels_are_zero():
    n = 8
    data, _ = smooth_noise(n, 6)
    data[:, 0] = 3.0  # constant voxel: fitted exactly by the intercept
    model = partition_design(np.ones((n, 1)), np.array([[1.0]]))
    prepared = prepare(data, model)
    assert prepared.stat[0] == 0.0 and not prepared.resid[:, 0].any()
