"""HRF kernels, event boxcars, resampling and names (glmreport.glm.hrf)."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.errors import DesignError
from glmreport.glm import hrf


@pytest.mark.parametrize("shape", ["spm", "glover"])
def test_canonical_hrf_unit_sum_and_peak(shape):
    t_r, over = 2.0, 50
    h = hrf.canonical_hrf(shape, t_r, oversampling=over)
    assert h.size == 800  # 32 s / (2 s / 50)
    assert h.sum() == pytest.approx(1.0, abs=1e-12)
    t = np.linspace(0, 32, h.size)
    peak = t[np.argmax(h)]
    assert 4.5 < peak < 5.7  # both canonical HRFs peak near 5 s
    assert h.min() < 0  # undershoot
    assert t[np.argmin(h)] > 10


def test_spm_hrf_known_values():
    # Coarse grid (one sample per TR): values of the SPM canonical HRF, same parameters
    # as nilearn's spm_hrf(t_r=2, oversampling=1, time_length=20) documentation example.
    h = hrf.gamma_difference_hrf(2.0, oversampling=1, time_length=20.0)
    expected = [0.0, 0.0, 0.161, 0.443, 0.335, 0.139, 0.022, -0.028, -0.04, -0.033]
    np.testing.assert_allclose(np.round(h, 3), expected, atol=1e-12)


def test_derivative_kernels_are_finite_differences():
    d = hrf.time_derivative("spm", 2.0, oversampling=10)
    h0 = hrf.canonical_hrf("spm", 2.0, oversampling=10)
    h1 = hrf.canonical_hrf("spm", 2.0, oversampling=10, onset=0.1)
    np.testing.assert_allclose(d, (h0 - h1) / 0.1, rtol=0, atol=1e-15)
    dd = hrf.dispersion_derivative("glover", 2.0, oversampling=10)
    assert dd.shape == h0.shape and np.abs(dd).max() > 0


def test_kernels_per_model():
    assert len(hrf.hrf_kernels("glover", 2.0)) == 1
    assert len(hrf.hrf_kernels("spm + derivative", 2.0)) == 2
    assert len(hrf.hrf_kernels("glover + derivative + dispersion", 2.0)) == 3
    fir = hrf.hrf_kernels("fir", 2.0, oversampling=4, fir_delays=(0, 2))
    np.testing.assert_allclose(fir[0], [0.25] * 4)
    np.testing.assert_allclose(fir[1], [0] * 8 + [0.25] * 4)
    none = hrf.hrf_kernels("none", 2.0, oversampling=3)
    np.testing.assert_array_equal(none[0], [1.0, 0.0, 0.0])


def test_model_names_normalised_and_checked():
    assert hrf.normalize_hrf_model("SPM+Derivative") == "spm + derivative"
    assert hrf.normalize_hrf_model(None) == "none"
    with pytest.raises(DesignError, match="Did you mean 'glover'"):
        hrf.normalize_hrf_model("glove")


def test_regressor_names():
    assert hrf.regressor_names("go", "spm") == ["go"]
    assert hrf.regressor_names("go", "glover + derivative + dispersion") == [
        "go",
        "go_derivative",
        "go_dispersion",
    ]
    assert hrf.regressor_names("go", "fir", (0, 3)) == ["go_delay_0", "go_delay_3"]


def test_event_boxcars_cover_onset_to_offset():
    grid = np.arange(0.0, 10.0, 0.5)
    box = hrf.event_boxcars(
        grid,
        onsets=np.array([1.0, 4.0, 4.0]),
        durations=np.array([2.0, 0.0, 0.0]),
        amplitudes=np.array([1.0, 2.0, 3.0]),
        codes=np.array([0, 1, 1]),
        n_conditions=2,
    )
    on = grid[box[:, 0] != 0]
    np.testing.assert_allclose(on, [1.0, 1.5, 2.0, 2.5])  # [onset, onset + duration)
    np.testing.assert_allclose(box[grid == 4.0, 1], [5.0])  # zero-length: one sample, summed
    assert np.count_nonzero(box[:, 1]) == 1


def test_resample_linear_matches_interp():
    rng = np.random.default_rng(0)
    grid = np.sort(rng.uniform(0, 10, 50))
    values = rng.normal(size=(50, 3))
    times = np.linspace(grid[0], grid[-1], 17)
    out = hrf.resample_linear(values, grid, times)
    for j in range(3):
        np.testing.assert_allclose(out[:, j], np.interp(times, grid, values[:, j]), atol=1e-12)


def test_orthogonalize_removes_projection_keeps_first():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    o = hrf.orthogonalize(x)
    np.testing.assert_array_equal(o[:, 0], x[:, 0])
    assert abs(o[:, 0] @ o[:, 1]) < 1e-10
    assert np.abs(o[:, :2].T @ o[:, 2]).max() < 1e-10
    # no normalisation: the residual of column 1 keeps its scale
    resid = x[:, 1] - x[:, 0] * (x[:, 0] @ x[:, 1]) / (x[:, 0] @ x[:, 0])
    np.testing.assert_allclose(o[:, 1], resid, atol=1e-12)


def test_block_regressor_plateau():
    # a long block convolved with a unit-sum HRF plateaus at the block height
    frame_times = np.arange(100) * 2.0
    reg = hrf.compute_event_regressors(
        frame_times,
        np.array([20.0]),
        np.array([120.0]),
        np.array([1.5]),
        np.array([0]),
        1,
        hrf_model="glover",
    )
    assert reg.shape == (100, 1)
    assert reg[frame_times < 20, 0] == pytest.approx(0.0, abs=1e-12)
    plateau = reg[(frame_times > 60) & (frame_times < 135), 0]
    np.testing.assert_allclose(plateau, 1.5, atol=1e-3)
