"""The batched products of permutation inference: every resample's statistic from one GEMM.

Freedman-Lane: fit the reduced model, ``R_z = (I - H_z) Y``; for a permutation (or sign flip)
``P`` build ``Y* = P R_z + H_z Y`` (permuted reduced-model residuals plus the fitted nuisance)
and refit the full model to ``Y*``. Because ``Q_x`` and the residual-forming matrix annihilate
``H_z Y``, the refit needs only ``Q' P R_z``: with unit-norm columns ``R = R_z / ||R_z||``,
``u = Q_x' P R`` and ``RSS = 1 - ||Q' P R||^2``, and ``t = u sqrt(dof / RSS)`` (r = 1) or
``F = (||u||^2 / r) / (RSS / dof)``. ``Q' P R = (P' Q)' R``, so a block of ``b`` resamples is
one matrix product of the stacked, row-permuted (or row-signed) bases ``(b * k, n)`` with ``R``
(n, voxels) -- a single GEMM per voxel chunk, in float32 (the observed statistic is computed
separately in float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...glm.ols import EXACT_FIT_RTOL
from .partition import PermutationModel

#: Smallest residual sum of squares (of unit-norm data) in the float32 null statistics.
_RSS_FLOOR = 1e-6


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """Unit-norm reduced-model residuals and the observed statistic.

    Attributes
    ----------
    resid : (n, v) ndarray of float32
        Unit-norm columns (0 for degenerate voxels).
    stat : (v,) ndarray of float64
        Observed t or F (0 where the data are fitted exactly).
    """

    resid: np.ndarray
    stat: np.ndarray


def prepare(data: np.ndarray, model: PermutationModel, chunk: int = 65536) -> Prepared:
    """Reduced-model residuals (unit norm, float32) and the observed statistic (float64)."""
    y_all = np.asarray(data)
    n, v = y_all.shape
    q_x = model.effect_basis
    q_z = model.nuisance_basis
    resid = np.empty((n, v), dtype=np.float32)
    stat = np.zeros(v)
    for start in range(0, v, chunk):
        stop = min(start + chunk, v)
        y = np.asarray(y_all[:, start:stop], dtype=np.float64)
        finite = np.all(np.isfinite(y), axis=0)
        y = np.where(finite, y, 0.0)
        r = y - q_z @ (q_z.T @ y) if q_z.shape[1] else y
        u = q_x.T @ r  # (r, c)
        e = r - q_x @ u
        rss = np.einsum("ij,ij->j", e, e)
        total = np.einsum("ij,ij->j", y, y)
        ss = np.einsum("ij,ij->j", r, r)
        ok = finite & (rss > EXACT_FIT_RTOL * total) & (ss > 0)
        sigma2 = np.where(ok, rss, 1.0) / model.dof
        if model.stat_type == "t":
            s = u[0] / np.sqrt(sigma2)
        else:
            s = np.einsum("ij,ij->j", u, u) / model.df_num / sigma2
        stat[start:stop] = np.where(ok, s, 0.0)
        norm = np.sqrt(np.where(ok, ss, 1.0))
        resid[:, start:stop] = np.where(ok, r / norm, 0.0)
    return Prepared(resid=resid, stat=stat)


def coefficients(model: PermutationModel, resamples: np.ndarray) -> np.ndarray:
    """Stacked resampled bases, (b * k, n) float32: rows of ``(P' Q)'`` for each resample."""
    basis = model.basis  # (n, k)
    b, n = resamples.shape
    k = basis.shape[1]
    if model.scheme == "sign-flip":
        w = resamples.astype(np.float64)[:, :, None] * basis[None, :, :]
    else:
        inverse = np.argsort(resamples, axis=1)
        w = basis[inverse]  # (b, n, k): design row paired with each data row
    return np.ascontiguousarray(np.swapaxes(w, 1, 2).reshape(b * k, n), dtype=np.float32)


def stat_from_products(g: np.ndarray, model: PermutationModel, b: int) -> np.ndarray:
    """(b, c) statistic from the products ``g`` (b * k, c) of unit-norm residuals."""
    k = g.shape[0] // b
    g3 = g.reshape(b, k, -1)
    ssq = np.einsum("bkc,bkc->bc", g3, g3)
    rss = np.maximum(1.0 - ssq, _RSS_FLOOR, dtype=np.float32)
    scale = np.float32(model.dof)
    if model.stat_type == "t":
        return g3[:, 0, :] * np.sqrt(scale / rss)
    r = model.df_num
    num = ssq if k == r else np.einsum("bkc,bkc->bc", g3[:, :r], g3[:, :r])
    return num * (scale / np.float32(r)) / rss


def monotone_max(values: np.ndarray, model: PermutationModel, two_sided: bool) -> np.ndarray:
    """Statistic maxima from the maxima of ``u`` (t) or ``||u||^2`` (F), no nuisance."""
    x = np.asarray(values, dtype=np.float64)
    dof = model.dof
    if model.stat_type == "t":
        x = np.clip(x, -1.0, 1.0)
        rss = np.maximum(1.0 - x * x, _RSS_FLOOR)
        return x * np.sqrt(dof / rss)
    x = np.clip(x, 0.0, 1.0)
    return x / model.df_num * dof / np.maximum(1.0 - x, _RSS_FLOOR)


def chunk_maxima(
    resid: np.ndarray,
    model: PermutationModel,
    coef: np.ndarray,
    b: int,
    two_sided: bool,
    chunks: list[tuple[int, int]],
) -> np.ndarray:
    """Maximum statistic (or its monotone proxy) over the given voxel chunks, per resample."""
    k = model.basis.shape[1]
    monotone = k == model.df_num
    best = np.full(b, -np.inf, dtype=np.float32)
    for start, stop in chunks:
        g = coef @ resid[:, start:stop]
        if monotone and model.stat_type == "t":
            hi = g.max(axis=1)
            if two_sided:
                hi = np.maximum(hi, -g.min(axis=1))
        elif monotone:
            g3 = g.reshape(b, k, -1)
            hi = np.einsum("bkc,bkc->bc", g3, g3).max(axis=1)
        else:
            s = stat_from_products(g, model, b)
            hi = (np.abs(s) if two_sided and model.stat_type == "t" else s).max(axis=1)
        np.maximum(best, hi, out=best)
    return best
