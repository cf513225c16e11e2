"""Tail probabilities and quantiles of the normal, t, F and Poisson distributions.

The same values as ``scipy.stats``' ``norm``, ``t``, ``f`` and ``poisson`` methods of the same
name (the same ``scipy.special`` functions, the same choice of tail and the same edges of the
support), without importing ``scipy.stats``, whose import costs most of a command's start-up.
``tests/glm/test_distributions.py`` checks every function against ``scipy.stats``.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _out(x: np.ndarray) -> np.ndarray | float:
    return x[()] if x.ndim == 0 else x


def _logs(
    x: np.ndarray, median: float, sf: np.ndarray, cdf: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log sf and log cdf, each from the smaller tail (log1p of the other beyond the median)."""
    with np.errstate(divide="ignore"):
        logsf = np.where(x > median, np.log(sf), np.log1p(-cdf))
        logcdf = np.where(x < median, np.log(cdf), np.log1p(-sf))
    return logsf, logcdf


def _t_logs(x, dof: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        logsf, logcdf = _logs(x, 0.0, special.stdtr(dof, -x), special.stdtr(dof, x))
    logsf = np.where(x == np.inf, -np.inf, np.where(x == -np.inf, 0.0, logsf))
    logcdf = np.where(x == -np.inf, -np.inf, np.where(x == np.inf, 0.0, logcdf))
    return logsf, logcdf


def _f_logs(x, df_num: float, df_den: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    median = float(special.fdtri(df_num, df_den, 0.5))
    inside = (x > 0) & (x < np.inf)
    xi = np.where(inside, x, 1.0)
    with np.errstate(invalid="ignore"):
        logsf, logcdf = _logs(
            xi, median, special.fdtrc(df_num, df_den, xi), special.fdtr(df_num, df_den, xi)
        )
    logsf = np.where(inside, logsf, np.where(x <= 0, 0.0, -np.inf))
    logcdf = np.where(inside, logcdf, np.where(x <= 0, -np.inf, 0.0))
    nan = np.isnan(x)
    return np.where(nan, np.nan, logsf), np.where(nan, np.nan, logcdf)


def t_logsf(x, dof: float) -> np.ndarray | float:
    """``scipy.stats.t.logsf(x, dof)``: log of the upper tail."""
    return _out(_t_logs(x, dof)[0])


def t_logcdf(x, dof: float) -> np.ndarray | float:
    """``scipy.stats.t.logcdf(x, dof)``: log of the lower tail."""
    return _out(_t_logs(x, dof)[1])


def f_logsf(x, df_num: float, df_den: float) -> np.ndarray | float:
    """``scipy.stats.f.logsf(x, df_num, df_den)``: log of the upper tail."""
    return _out(_f_logs(x, df_num, df_den)[0])


def f_logcdf(x, df_num: float, df_den: float) -> np.ndarray | float:
    """``scipy.stats.f.logcdf(x, df_num, df_den)``: log of the lower tail."""
    return _out(_f_logs(x, df_num, df_den)[1])


def _quantile(p, value: np.ndarray, at_zero: float, at_one: float) -> np.ndarray | float:
    """Apply the edges of ``isf``: ``p = 0`` the top of the support, ``p = 1`` its bottom."""
    p = np.asarray(p, dtype=np.float64)
    out = np.where(p == 0, at_zero, np.where(p == 1, at_one, value))
    return _out(np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, out))


def t_isf(p, dof: float) -> np.ndarray | float:
    """``scipy.stats.t.isf(p, dof)``: the t value with upper-tail probability ``p``."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        value = -special.stdtrit(dof, np.clip(p, 0.0, 1.0))
    return _quantile(p, value, np.inf, -np.inf)


def f_isf(p, df_num: float, df_den: float) -> np.ndarray | float:
    """``scipy.stats.f.isf(p, df_num, df_den)``: the F value with upper-tail probability ``p``."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        value = special.fdtri(df_num, df_den, 1.0 - np.clip(p, 0.0, 1.0))
    return _quantile(p, value, np.inf, 0.0)


def norm_isf(p) -> np.ndarray | float:
    """``scipy.stats.norm.isf(p)``: the z value with upper-tail probability ``p``."""
    p = np.asarray(p, dtype=np.float64)
    return _quantile(p, -special.ndtri(np.clip(p, 0.0, 1.0)), np.inf, -np.inf)


def norm_sf(z) -> np.ndarray | float:
    """``scipy.stats.norm.sf(z)``: upper-tail probability."""
    return _out(special.ndtr(-np.asarray(z, dtype=np.float64)))


def norm_logsf(z) -> np.ndarray | float:
    """``scipy.stats.norm.logsf(z)``: log of the upper-tail probability."""
    return _out(special.log_ndtr(-np.asarray(z, dtype=np.float64)))


def norm_logcdf(z) -> np.ndarray | float:
    """``scipy.stats.norm.logcdf(z)``: log of the lower-tail probability."""
    return _out(special.log_ndtr(np.asarray(z, dtype=np.float64)))


def poisson_sf(k, mean: float) -> np.ndarray | float:
    """``scipy.stats.poisson.sf(k, mean)``: P(X > k) for X ~ Poisson(mean)."""
    k = np.floor(np.asarray(k, dtype=np.float64))
    value = special.pdtrc(np.maximum(k, 0.0), mean)
    return _out(np.where(k < 0, 1.0, np.where(np.isnan(k), np.nan, value)))
