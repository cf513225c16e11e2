"""Conversions between the p, z, t and F scales, and the guard of levels.

Every threshold is computed on the z scale and also reported in the contrast's own units
(t or F) with the same p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from ..config.corrections import is_probability
from ..config.specs import CorrectionSpec
from ..errors import InferenceError
from ..glm import distributions as dist
from ..glm.results import ContrastResult


def check_probability(value: float, name: str = "alpha") -> float:
    """Guard of the public statistics functions: ``value`` as a float, in (0, 1).

    The rule is the config's (:func:`glmreport.config.corrections.is_probability`), where
    every entry is validated; this only turns a library caller's out-of-range level into an
    :class:`~glmreport.errors.InferenceError` instead of a silently meaningless threshold.

    Parameters
    ----------
    value : float
        A level (``alpha``) or a cluster-forming p.
    name : str
        Its name, for the message.
    """
    value = float(value)
    if not is_probability(value):
        raise InferenceError(f"{name} must be in (0, 1); got {value!r}.")
    return value


#: log upper tail and log lower tail of a statistic's distribution, as functions of it.
Tails = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]


def _dist(stat_type: str, dof: float, df_num: int) -> Tails:
    if stat_type == "t":
        return (lambda x: dist.t_logsf(x, dof)), (lambda x: dist.t_logcdf(x, dof))
    if stat_type == "F":
        return (
            (lambda x: dist.f_logsf(x, df_num, dof)),
            (lambda x: dist.f_logcdf(x, df_num, dof)),
        )
    raise InferenceError(f"stat_type must be 't' or 'F'; got {stat_type!r}.")


def z_to_stat(z_thr: float, stat_type: str, dof: float, df_num: int = 1) -> float:
    """The t or F value whose upper-tail p equals that of ``z_thr``.

    Parameters
    ----------
    z_thr : float
        Threshold on the z scale (may be infinite).
    stat_type : {'t', 'F'}
    dof : float
        Error degrees of freedom.
    df_num : int
        Numerator degrees of freedom (F only).

    Returns
    -------
    float
        ``t.isf(norm.sf(z_thr), dof)`` or ``f.isf(norm.sf(z_thr), df_num, dof)``, computed
        from log-p where the p-value is too small for the direct inverse; ``inf`` for
        ``z_thr = inf`` and where the t/F tail underflows double precision (``z_thr``
        above about 37.5).
    """
    logsf = _dist(stat_type, dof, df_num)[0]
    z_thr = float(z_thr)
    if math.isnan(z_thr):
        return math.nan
    if z_thr == math.inf:
        return math.inf
    if z_thr == -math.inf:
        return -math.inf if stat_type == "t" else 0.0
    logp = float(dist.norm_logsf(z_thr))
    p = math.exp(logp)
    if stat_type == "t" and p > 1e-250:
        return float(dist.t_isf(p, dof))
    if stat_type == "F" and p > 1e-200:
        # upper tail through the regularised incomplete beta function:
        # sf(x) = I_w(dof / 2, df_num / 2) with w = dof / (dof + df_num x); scipy's f.isf
        # loses precision for p below ~1e-8
        w = float(special.betaincinv(dof / 2, df_num / 2, p))
        if 0.0 < w <= 1.0:
            return dof * (1.0 - w) / (df_num * w)
    return _solve_logsf(logsf, logp)


def _solve_logsf(logsf: Callable[[float], float], logp: float) -> float:
    """Solve ``logsf(x) = logp`` for large x, on a log-x scale.

    Returns ``inf`` when ``logp`` lies beyond the range where scipy's ``logsf`` is finite
    (p below about 1e-320, i.e. z above about 38).
    """

    def g(u: float) -> float:
        return float(logsf(math.exp(u))) - logp

    lo, hi = 0.0, 1.0
    while g(hi) > 0:
        if hi >= 700.0:
            return math.inf
        lo, hi = hi, min(hi * 2, 700.0)
    if not math.isfinite(g(hi)):
        # logsf underflowed at hi: look for a finite point at or below logp in (lo, hi)
        a, b = lo, hi
        for _ in range(200):
            mid = 0.5 * (a + b)
            gm = g(mid)
            if gm > 0:
                a = mid
            elif math.isfinite(gm):
                hi = mid
                break
            else:
                b = mid
        else:
            return math.inf
        lo = a
    from scipy.optimize import brentq  # imported here: scipy.optimize is slow to import

    return math.exp(brentq(g, lo, hi, xtol=1e-14, rtol=1e-15))


def stat_to_z(
    stat: np.ndarray | float, stat_type: str, dof: float, df_num: int = 1
) -> np.ndarray | float:
    """z values with the same upper-tail p as t or F values.

    Parameters
    ----------
    stat : (v,) ndarray or float
        t or F values.
    stat_type : {'t', 'F'}
    dof : float
        Error degrees of freedom.
    df_num : int
        Numerator degrees of freedom (F only).

    Returns
    -------
    (v,) ndarray or float
        ``z = isf(p)`` computed from log-p in both tails, finite well beyond ``|z| = 30``.
    """
    tail_up, tail_low = _dist(stat_type, dof, df_num)
    x = np.asarray(stat, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logsf = tail_up(x)
        logcdf = tail_low(x)
    upper = logsf < math.log(0.5)
    z = np.where(upper, -special.ndtri_exp(np.minimum(logsf, 0.0)), 0.0)
    z = np.where(upper, z, special.ndtri_exp(np.minimum(logcdf, 0.0)))
    z = np.where(np.isnan(x), np.nan, z)
    return float(z) if z.ndim == 0 else z


def resolve_two_sided(contrast: ContrastResult, spec: CorrectionSpec) -> tuple[bool, dict]:
    """Whether a correction is two-sided for this contrast, and the params note if not.

    Parameters
    ----------
    contrast : ContrastResult
    spec : CorrectionSpec

    Returns
    -------
    two_sided : bool
        ``spec.two_sided``, except False for F contrasts and conjunctions.
    note : dict
        ``{"two_sided_ignored": "F contrast"}`` (or ``"conjunction"``) when a two-sided test
        was requested of an F contrast (or of a conjunction: its minimum statistic tests that
        every component is positive; a conjunction of negative effects is one of the negated
        contrasts), otherwise empty.
    """
    if spec.two_sided and contrast.stat_type == "F":
        return False, {"two_sided_ignored": "F contrast"}
    if spec.two_sided and contrast.conjunction:
        return False, {"two_sided_ignored": "conjunction"}
    return bool(spec.two_sided), {}
