"""Blocks of voxels on threads: the same values as one call."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from glmreport.glm import threads
from glmreport.glm.pvalues import _f_p_z, _t_p_z


@pytest.fixture()
def two_threads(monkeypatch):
    monkeypatch.setattr(threads, "FIT_THREADS", 2)
    monkeypatch.setattr(threads, "MIN_VALUES_PER_THREAD", 1000)


def _stats(n: int = 25_001) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = rng.standard_t(5, n) * 3
    t[:5] = [0.0, 40.0, -40.0, 1e6, -1e6]  # far tails: the log-betainc branch
    return t


def test_elementwise_splits_and_joins_in_order(two_threads):
    calls = []

    def fn(part, scale):
        calls.append(part.size)
        return part * scale, -part

    values = np.arange(4001.0)
    a, b = threads.elementwise(fn, values, 2.0)
    np.testing.assert_array_equal(a, values * 2)
    np.testing.assert_array_equal(b, -values)
    assert sorted(calls) == [2000, 2001]
    calls.clear()
    threads.elementwise(fn, np.arange(1999.0), 2.0)  # under two parts' worth: one call
    assert calls == [1999]


def test_p_and_z_on_threads_equal_one_call(two_threads, monkeypatch):
    """Bit-identical to the single-thread values, t and F, also from inside a pool thread."""
    t = _stats()
    f = t**2
    threaded = (*_t_p_z(t, 12.0), *_f_p_z(f, 3, 12.0))
    with ThreadPoolExecutor(max_workers=1) as pool:  # nested: computed in one call
        nested = pool.submit(lambda: (*_t_p_z(t, 12.0), *_f_p_z(f, 3, 12.0))).result()
    monkeypatch.setattr(threads, "FIT_THREADS", 1)
    single = (*_t_p_z(t, 12.0), *_f_p_z(f, 3, 12.0))
    for a, b, c in zip(threaded, nested, single, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)
    np.testing.assert_allclose(single[1][1:5], [7.56592205, -7.56592205, 17.27930083, -17.27930083])


def test_per_voxel_dof_is_computed_whole(two_threads):
    t = _stats(3000)
    dof = np.full(t.shape, 12.0)
    p, z = _t_p_z(t, dof)
    p1, z1 = _t_p_z(t, 12.0)
    np.testing.assert_array_equal(p, p1)
    np.testing.assert_array_equal(z, z1)


@pytest.mark.parametrize("rows", [1, 2])
def test_fixed_effects_on_threads_equal_one_call(two_threads, monkeypatch, rows):
    from glmreport.glm.fixed_effects import fixed_effects
    from glmreport.glm.results import ContrastEstimate

    rng = np.random.default_rng(1)
    v = 25_001
    runs = []
    for _ in range(2):
        a = rng.normal(size=(rows, rows, v)) * 0.3
        cov = np.einsum("ijv,kjv->ikv", a, a) + np.eye(rows)[..., None] * 0.05
        runs.append(
            ContrastEstimate(
                name="c",
                label="c",
                stat_type="t" if rows == 1 else "F",
                weights=np.eye(rows, 3),
                columns=("a", "b", "c"),
                effect=rng.normal(size=(rows, v)),
                variance=cov,
                dof=40.0,
            )
        )
    threaded = fixed_effects(runs, name="c", label="c")
    monkeypatch.setattr(threads, "FIT_THREADS", 1)
    single = fixed_effects(runs, name="c", label="c")
    for key in ("stat", "p", "z"):
        np.testing.assert_array_equal(getattr(threaded, key), getattr(single, key))


def test_parts_run_in_the_callers_numpy_error_state(two_threads):
    """NumPy's errstate is context-local: each part sees the caller's."""

    def fn(part):
        return (np.float64(1.0) / part,)

    values = np.zeros(4000)
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        threads.elementwise(fn, values)
    with np.errstate(divide="ignore"):
        (out,) = threads.elementwise(fn, values)
    assert np.isinf(out).all()
