"""p-values and z of t and F statistics from log tail probabilities.

z is the standard normal deviate with the same tail probability, computed from log tail
probabilities so that it stays finite and accurate far into the tails.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from .threads import elementwise

#: z values are clipped to this magnitude (reached only by infinite statistics).
Z_CLIP = 1000.0


def z_from_logp(logp: np.ndarray, *, log1mp: np.ndarray | None = None) -> np.ndarray:
    """Standard normal deviate whose upper-tail probability is ``exp(logp)``.

    Parameters
    ----------
    logp : (...) ndarray
        Natural log of the upper-tail p-value.
    log1mp : (...) ndarray, optional
        Natural log of ``1 - p`` (the lower tail), computed independently; used where
        ``p > 0.5`` so that very negative z keep full precision.

    Returns
    -------
    (...) ndarray
        ``-ndtri_exp(logp)``: finite for ``logp`` down to about -1e300 (|z| far beyond 38).
    """
    logp = np.asarray(logp, dtype=np.float64)
    z = -special.ndtri_exp(logp)
    if log1mp is not None:
        log1mp = np.broadcast_to(np.asarray(log1mp, dtype=np.float64), logp.shape)
        lower = logp > math.log(0.5)
        z = np.where(lower, special.ndtri_exp(log1mp), z)
    return z


def _log_betainc(a: Any, b: Any, x: np.ndarray) -> np.ndarray:
    """log of the regularized incomplete beta function I_x(a, b), accurate when it underflows."""
    x = np.asarray(x, dtype=np.float64)
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), x.shape)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), x.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        value = special.betainc(a, b, x)
        out = np.log(value)
        tiny = (value < 1e-280) & (x > 0)
        if np.any(tiny):
            at, bt, xt = a[tiny], b[tiny], x[tiny]
            # I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * 2F1(a + b, 1; a + 1; x)
            out[tiny] = (
                at * np.log(xt)
                + bt * np.log1p(-xt)
                - np.log(at)
                - special.betaln(at, bt)
                + np.log(special.hyp2f1(at + bt, 1.0, at + 1.0, xt))
            )
    return out


def _t_p_z(t: np.ndarray, dof: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper-tail p and z of Student t values (large maps in parts, on threads)."""
    if np.ndim(dof) == 0:
        return elementwise(_t_p_z_part, t, dof)
    return _t_p_z_part(t, dof)


def _t_p_z_part(t: np.ndarray, dof: float) -> tuple[np.ndarray, np.ndarray]:
    p = special.stdtr(dof, -t)
    with np.errstate(over="ignore"):
        x = dof / (dof + t * t)
    # log P(T > |t|) = log(0.5 I_x(dof/2, 1/2))
    log_tail = math.log(0.5) + _log_betainc(0.5 * dof, 0.5, x)
    deviate = special.ndtri_exp(log_tail)  # once: z is its negation where t >= 0
    z = np.where(t >= 0, -deviate, deviate)
    return p, np.clip(z, -Z_CLIP, Z_CLIP)


def _f_p_z(f: np.ndarray, df_num: int, dof: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper-tail p and z of F values (large maps in parts, on threads)."""
    if np.ndim(dof) == 0 and np.ndim(df_num) == 0:
        return elementwise(_f_p_z_part, f, df_num, dof)
    return _f_p_z_part(f, df_num, dof)


def _f_p_z_part(f: np.ndarray, df_num: int, dof: float) -> tuple[np.ndarray, np.ndarray]:
    p = special.fdtrc(df_num, dof, f)
    d1f = df_num * f
    with np.errstate(invalid="ignore", divide="ignore"):
        x_upper = dof / (dof + d1f)
        x_lower = d1f / (d1f + dof)
    upper = np.asarray(p <= 0.5)
    # each tail only where it gives z (the same values as computing both everywhere)
    half_dof = np.broadcast_to(0.5 * np.asarray(dof, dtype=np.float64), upper.shape)
    half_num = np.broadcast_to(0.5 * np.asarray(df_num, dtype=np.float64), upper.shape)
    log_upper = _log_betainc(half_dof[upper], half_num[upper], x_upper[upper])
    log_lower = _log_betainc(half_num[~upper], half_dof[~upper], x_lower[~upper])
    z = np.empty(upper.shape)
    z[upper] = -special.ndtri_exp(log_upper)
    z[~upper] = special.ndtri_exp(log_lower)
    return p, np.clip(z, -Z_CLIP, Z_CLIP)
