"""AR(1) estimation, quantisation, prewhitening and the streamed first-level fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmreport.errors import DesignError
from glmreport.glm.ar1 import (
    ar1_from_residuals,
    estimate_ar1,
    fit_first_level,
    quantize_ar1,
    whiten_ar1,
)
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.first_level import make_first_level_design, make_frame_times
from glmreport.glm.ols import fit_ols

N, T_R = 150, 2.0


def _ar1_noise(rng, n, phi, scale=1.0):
    phi = np.asarray(phi, float)
    eps = rng.normal(size=(n, phi.size)) * scale
    out = np.empty_like(eps)
    out[0] = eps[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + eps[t]
    return out


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(11)
    ft = make_frame_times(N, T_R)
    ev = pd.DataFrame(
        {"onset": np.arange(8.0, 280, 20.0), "duration": 6.0, "trial_type": ["go", "stop"] * 7}
    )
    design = make_first_level_design(ft, ev, hrf_model="glover", drift_model="cosine")
    v = 400
    betas = np.zeros((design.shape[1], v))
    betas[0] = np.where(np.arange(v) < 200, 3.0, 0.0)  # "go" effect in half the voxels
    betas[-1] = 500.0
    phi = rng.uniform(0.0, 0.5, v)
    y = design.matrix @ betas + _ar1_noise(rng, N, phi, scale=2.0)
    return design, y, phi


def test_ar1_from_residuals_matches_formula_and_true_value():
    rng = np.random.default_rng(0)
    e = _ar1_noise(rng, 4000, np.array([0.0, 0.3, 0.7]))
    rho = ar1_from_residuals(e)
    np.testing.assert_allclose(rho, [0.0, 0.3, 0.7], atol=0.04)
    c = e - e.mean()
    n = e.shape[0]
    manual = (c[:-1] * c[1:]).sum(0) / (n - 1) / ((c * c).sum(0) / n)
    np.testing.assert_allclose(rho, manual, rtol=1e-12)
    assert ar1_from_residuals(np.zeros((10, 2))).tolist() == [0.0, 0.0]


def test_quantize_truncates_toward_zero():
    values, groups = quantize_ar1(np.array([0.129, -0.129, 0.1, 0.999, 0.121]), bins=100)
    np.testing.assert_allclose(values, [-0.12, 0.1, 0.12, 0.99])
    np.testing.assert_array_equal(values[groups], [0.12, -0.12, 0.1, 0.99, 0.12])
    with pytest.raises(DesignError, match="bins"):
        quantize_ar1(np.zeros(3), bins=0)


def test_whiten_ar1_inverts_ar_filter():
    rng = np.random.default_rng(1)
    e = rng.normal(size=(50, 2))
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, 50):
        x[t] = 0.4 * x[t - 1] + e[t]
    np.testing.assert_allclose(whiten_ar1(x, 0.4), e, atol=1e-12)
    np.testing.assert_allclose(whiten_ar1(x, np.array([0.4, 0.4])), e, atol=1e-12)


def test_fit_recovers_effect_and_ar(run):
    design, y, phi = run
    fit = fit_first_level(y, design, noise_model="ar1")
    assert fit.noise_model == "ar1"
    assert fit.dof == N - design.shape[1]
    assert fit.cov_unscaled.shape[1:] == (design.shape[1], design.shape[1])
    assert fit.groups.shape == (400,) and fit.groups.max() < fit.cov_unscaled.shape[0]
    np.testing.assert_allclose(fit.betas[0, :200].mean(), 3.0, atol=0.1)
    np.testing.assert_allclose(fit.betas[0, 200:].mean(), 0.0, atol=0.1)
    np.testing.assert_allclose(fit.sigma2.mean(), 4.0, rtol=0.1)
    # the quantised coefficients follow the true AR(1) coefficient
    rho = estimate_ar1(y, design.matrix, chunk_size=64)
    values, groups = quantize_ar1(rho)
    assert np.corrcoef(rho, phi)[0, 1] > 0.6
    assert abs(np.mean(rho - phi)) < 0.1
    assert values.size == fit.cov_unscaled.shape[0]
    np.testing.assert_array_equal(groups, fit.groups)
    np.testing.assert_allclose(
        rho, ar1_from_residuals(y - design.matrix @ fit_ols(y, design).betas)
    )
    c = np.zeros((1, design.shape[1]))
    c[0, 0] = 1
    con = compute_contrast(fit, c, name="go", label="go", stat_type="t")
    assert (con.z[:200] > 3).mean() > 0.95
    assert abs(con.z[200:].mean()) < 0.3 and 0.7 < con.z[200:].std() < 1.3


def test_null_z_calibrated_under_ar1(run):
    """With strong AR(1) noise and no effect, AR(1) z stays close to N(0,1); OLS z inflates.

    The Yule-Walker coefficient of OLS residuals is biased low (by about 0.05 here), so the
    AR(1) z is slightly wide (sd ~1.09 at rho = 0.6, 150 scans; seeds 0-4 give 1.07-1.10).
    """
    design, _, _ = run
    rng = np.random.default_rng(2)
    y = _ar1_noise(rng, N, np.full(3000, 0.6))
    c = np.zeros((1, design.shape[1]))
    c[0, 0] = 1
    z_ar = compute_contrast(fit_first_level(y, design), c, name="c", label="c", stat_type="t").z
    z_ols = compute_contrast(
        fit_first_level(y, design, noise_model="ols"), c, name="c", label="c", stat_type="t"
    ).z
    assert 0.95 < z_ar.std() < 1.15
    assert z_ols.std() > 1.35
    assert 0.03 < np.mean(z_ar > 1.645) < 0.09


def test_streaming_equals_single_block_and_float32_memmap(run, tmp_path):
    design, y, _ = run
    whole = fit_first_level(y, design, chunk_size=10_000)
    small = fit_first_level(y, design, chunk_size=37)
    np.testing.assert_allclose(small.betas, whole.betas, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(small.sigma2, whole.sigma2, rtol=1e-10)
    np.testing.assert_array_equal(small.groups, whole.groups)
    mm = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float32, shape=y.shape)
    mm[:] = y
    mm.flush()
    ro = np.load(tmp_path / "y.npy", mmap_mode="r")
    f32 = fit_first_level(ro, design, chunk_size=64)
    ref = fit_first_level(y.astype(np.float32).astype(np.float64), design)
    np.testing.assert_allclose(f32.betas, ref.betas, rtol=1e-10, atol=1e-9)


def test_threaded_blocks_give_the_same_fit(run, monkeypatch):
    """Blocks fitted on two threads, in turn, or from inside a worker thread: the same numbers."""
    from concurrent.futures import ThreadPoolExecutor

    from glmreport.glm import threads

    design, y, _ = run

    def fit():
        f = fit_first_level(y, design, chunk_size=37)
        return f.betas, f.sigma2, f.cov_unscaled, f.groups

    monkeypatch.setattr(threads, "FIT_THREADS", 2)
    threaded = fit()
    with ThreadPoolExecutor(max_workers=1) as pool:
        nested = pool.submit(fit).result()
    monkeypatch.setattr(threads, "FIT_THREADS", 1)
    in_turn = fit()
    for a, b, c in zip(threaded, nested, in_turn, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)


@pytest.mark.parametrize("stack_bytes", [1, 3 * 8 * N * 16, 1 << 30])
def test_stacked_pinv_equals_one_group_at_a_time(run, monkeypatch, stack_bytes):
    """The groups' pseudo-inverses taken in stacks (one, three or all groups per call): the
    numbers of one ``pinv(whiten_ar1(x, r))`` per group, bit for bit, also rank-deficient."""
    from glmreport.glm import ar1

    x = run[0].matrix
    deficient = np.column_stack([x, x[:, 0] + x[:, 1]])
    values = np.round(np.linspace(-0.5, 0.9, 29), 2)
    monkeypatch.setattr(ar1, "PINV_STACK_BYTES", stack_bytes)
    for matrix in (x, np.asfortranarray(x), deficient):
        solve, cov = ar1.group_solvers(matrix, values)
        for g, r in enumerate(values):
            wpinv = np.linalg.pinv(whiten_ar1(matrix, r))
            np.testing.assert_array_equal(cov[g], wpinv @ wpinv.T)
            one = wpinv.copy()
            one[:, :-1] -= r * wpinv[:, 1:]
            np.testing.assert_array_equal(solve[g], one)


def test_a_failing_block_raises():
    from glmreport.glm.threads import for_each_block

    def fn(start):
        if start == 3:
            raise ValueError("block 3")

    with pytest.raises(ValueError, match="block 3"):
        for_each_block(fn, range(6))


def test_ols_path_is_fit_ols(run):
    design, y, _ = run
    a = fit_first_level(y, design, noise_model="ols")
    b = fit_ols(y, design)
    np.testing.assert_allclose(a.betas, b.betas, rtol=1e-12)
    np.testing.assert_allclose(a.sigma2, b.sigma2, rtol=1e-12)
    assert a.groups is None and a.noise_model == "ols"


def test_constant_voxel_has_zero_variance(run):
    design, y, _ = run
    y = y.copy()
    y[:, 5] = 7.0
    fit = fit_first_level(y, design)
    assert fit.sigma2[5] == 0.0
    np.testing.assert_allclose(fit.betas[-1, 5], 7.0, rtol=1e-10)


def test_bad_inputs(run):
    design, y, _ = run
    with pytest.raises(DesignError, match="has 150 rows but the run has 149 scans"):
        fit_first_level(y[:-1], design)
    with pytest.raises(DesignError, match="unknown noise_model 'ar2'"):
        fit_first_level(y, design, noise_model="ar2")
    with pytest.raises(DesignError, match="2D"):
        fit_first_level(y[:, 0], design)
