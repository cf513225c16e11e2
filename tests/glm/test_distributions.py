"""The scipy.special distribution functions against scipy.stats on grids with their edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from glmreport.glm import distributions as d

X = np.concatenate(
    [
        [-np.inf, -1e6, -40.0, -8.5, -1.0, -1e-9, 0.0, 1e-12, 1e-3, 0.5, 0.82568, 1.0, 2.0],
        [3.7, 12.0, 40.0, 300.0, 1e6, np.inf, np.nan],
        np.linspace(-6, 6, 241),
    ]
)
P = np.array(
    [-0.1, 0.0, 1e-320, 1e-250, 1e-30, 1e-8, 1e-3, 0.025, 0.05, 0.5, 0.9, 1 - 1e-12, 1.0, 1.5]
    + [np.nan]
)
DOFS = [1.0, 2.5, 7.0, 15.0, 99.0, 1e5]


def _same(a, b, rtol=1e-13):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0, equal_nan=True)


@pytest.mark.parametrize("dof", DOFS)
def test_t_matches_scipy_stats(dof):
    with np.errstate(all="ignore"):
        _same(d.t_logsf(X, dof), stats.t.logsf(X, dof))
        _same(d.t_logcdf(X, dof), stats.t.logcdf(X, dof))
        _same(d.t_isf(P, dof), stats.t.isf(P, dof))
    assert d.t_logsf(2.0, dof) == pytest.approx(stats.t.logsf(2.0, dof), rel=1e-14)
    assert isinstance(d.t_isf(0.05, dof), float)


@pytest.mark.parametrize(("df_num", "dof"), [(1, 10.0), (2, 15.0), (3, 7.5), (8, 200.0)])
def test_f_matches_scipy_stats(df_num, dof):
    with np.errstate(all="ignore"):
        _same(d.f_logsf(X, df_num, dof), stats.f.logsf(X, df_num, dof))
        _same(d.f_logcdf(X, df_num, dof), stats.f.logcdf(X, df_num, dof))
        _same(d.f_isf(P, df_num, dof), stats.f.isf(P, df_num, dof))


def test_norm_and_poisson_match_scipy_stats():
    with np.errstate(all="ignore"):
        _same(d.norm_isf(P), stats.norm.isf(P))
        _same(d.norm_sf(X), stats.norm.sf(X))
        _same(d.norm_logsf(X), stats.norm.logsf(X))
        _same(d.norm_logcdf(X), stats.norm.logcdf(X))
    k = np.array([-3.0, -1.0, -0.5, 0.0, 0.7, 1.0, 2.0, 5.0, 30.0, np.nan])
    for mean in (0.0, 1e-4, 0.3, 2.0, 25.0):
        _same(d.poisson_sf(k, mean), stats.poisson.sf(k, mean))
    assert d.norm_isf(0.025) == stats.norm.isf(0.025)
