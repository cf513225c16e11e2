"""Percent signal change, against nilearn's ``mean_scaling`` and a direct computation."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.glm.scaling import percent_signal_change


def test_percent_signal_change_is_100_times_the_ratio_to_the_mean_minus_one():
    rng = np.random.default_rng(0)
    y = 500 + 5 * rng.standard_normal((40, 7))
    out = percent_signal_change(y)
    np.testing.assert_allclose(out, 100 * (y / y.mean(axis=0) - 1), rtol=1e-12)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    # a 1 % step is a step of 1 in the scaled series
    step = np.r_[np.full(20, 200.0), np.full(20, 202.0)][:, None]
    scaled = percent_signal_change(step)
    assert scaled[-1, 0] - scaled[0, 0] == pytest.approx(100 * 2 / 201)


def test_means_below_one_are_only_centred_and_out_may_be_the_input():
    y = np.array([[0.0, 0.2, 10.0], [0.0, 0.6, 30.0]])
    expected = 100 * (y / np.array([1.0, 1.0, 20.0]) - 1)
    np.testing.assert_allclose(percent_signal_change(y), expected)
    same = y.copy()
    assert percent_signal_change(same, out=same) is same
    np.testing.assert_allclose(same, expected)
    with pytest.raises(ValueError, match="n_scans"):
        percent_signal_change(np.ones(3))


def test_matches_nilearn_mean_scaling():
    mean_scaling = pytest.importorskip("nilearn.glm.first_level").mean_scaling
    rng = np.random.default_rng(1)
    y = np.abs(300 + 40 * rng.standard_normal((30, 50)))
    y[:, :3] *= 1e-3  # means below 1
    expected, _ = mean_scaling(y.copy(), 0)
    np.testing.assert_allclose(percent_signal_change(y), expected, rtol=1e-12, atol=1e-12)
