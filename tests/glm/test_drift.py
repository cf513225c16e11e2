"""Drift regressors: the cosine (DCT) basis, orthogonal polynomials and their names."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.errors import DesignError
from glmreport.glm.drift import cosine_drift, make_drift, polynomial_drift


def test_cosine_drift_is_an_orthonormal_dct_basis():
    frame_times = 2.0 * np.arange(100)  # TR 2 s
    basis = cosine_drift(frame_times, 0.01)
    # k = floor(2 n high_pass TR) = floor(2 * 100 * 0.01 * 2) = 4 cosines, then the constant
    assert basis.shape == (100, 5)
    np.testing.assert_allclose(basis[:, -1], 1.0)
    cosines = basis[:, :-1]
    np.testing.assert_allclose(cosines.T @ cosines, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(cosines.sum(axis=0), 0.0, atol=1e-12)  # orthogonal to the mean
    # the first column is half a cosine period over the run
    expected = np.sqrt(2 / 100) * np.cos(np.pi / 100 * (np.arange(100) + 0.5))
    np.testing.assert_allclose(cosines[:, 0], expected, atol=1e-15)


def test_cosine_drift_refuses_nyquist():
    with pytest.raises(DesignError, match="Nyquist"):
        cosine_drift(np.arange(50.0), 0.5)


def test_polynomial_drift_is_orthogonal():
    frame_times = np.arange(1.0, 41.0)
    basis = polynomial_drift(frame_times, 3)
    assert basis.shape == (40, 4)
    gram = basis.T @ basis
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-9)
    # the last column spans the constant
    assert np.ptp(basis[:, -1]) < 1e-12
    # the first one is linear in time
    assert abs(np.corrcoef(basis[:, 0], frame_times)[0, 1]) == pytest.approx(1.0)


def test_make_drift_names_and_models():
    frame_times = np.arange(60.0)
    drift, names = make_drift(frame_times, "cosine", high_pass=0.02)
    assert names == [f"drift_{k}" for k in range(1, drift.shape[1])] + ["constant"]
    drift, names = make_drift(frame_times, "Polynomial", order=2)
    assert names == ["drift_1", "drift_2", "constant"] and drift.shape == (60, 3)
    for none in (None, "none"):
        drift, names = make_drift(frame_times, none)
        assert names == ["constant"]
        np.testing.assert_array_equal(drift, np.ones((60, 1)))
    with pytest.raises(DesignError, match="Did you mean 'cosine'"):
        make_drift(frame_times, "cosin")
    with pytest.raises(DesignError, match="order"):
        make_drift(frame_times, "polynomial", order=-1)
