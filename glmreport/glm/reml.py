"""Restricted maximum likelihood (ReML) of covariance components, by Fisher scoring.

The errors of ``y = X beta + e`` have covariance ``V = sum_k lambda_k Q_k`` with known
components ``Q_k``. With ``K`` an orthonormal basis of the residual space (``K'X = 0``), the
projected data ``z = K'y`` have mean 0 and covariance ``S = K'VK = sum_k lambda_k A_k``,
``A_k = K'Q_k K``. The restricted log-likelihood of the pooled second moment ``B`` (the mean of
``y y'`` over voxels; only ``K'BK`` matters, so data or residuals give the same) is, per voxel,

    l(lambda) = -1/2 [log|S| + tr(S^-1 K'BK)]

which equals the usual ``-1/2 [log|V| + log|X'V^-1 X| + tr(P B)]`` up to a constant and holds for
rank-deficient ``X`` (Harville 1977). Its gradient and expected information are

    g_k = -1/2 [tr(S^-1 A_k) - tr(S^-1 A_k S^-1 K'BK)],   I_kl = 1/2 tr(S^-1 A_k S^-1 A_l).

:func:`reml` takes Fisher-scoring steps ``I^+ g`` on the linear scale of ``lambda`` (SPM's
``spm_reml`` step without its hyperpriors; covariance components may be negative, so they are
not log-transformed). Each step is halved until ``S`` stays positive definite and ``l`` does not
decrease, so the iteration climbs monotonically inside the region where ``l`` is finite; it stops
when the Fisher-scoring decrement ``g' I^+ g`` falls below ``tol`` (the predicted gain is half of
it). Directions of ``lambda`` that leave ``S`` unchanged (``sum_k t_k A_k = 0``: the design
absorbs them, e.g. the between-subject variance when subject columns are modelled) carry no
information; the pseudo-inverse keeps them at their starting values and
:func:`settle_unidentified` then fixes them by a stated rule.

References: Harville, D. A. (1977). JASA, 72, 320-338. Friston, K. J. et al. (2002). Classical and
Bayesian inference in neuroimaging: theory. NeuroImage, 16, 465-483 (ReML by Fisher scoring).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg

from ..errors import DesignError

#: Relative size below which a singular value counts as zero (ranks, unidentified directions).
RANK_RTOL = 1e-10


@dataclass(frozen=True, slots=True, kw_only=True)
class RemlResult:
    """Outcome of :func:`reml` on one pooled second moment.

    Attributes
    ----------
    hyperparameters : (K,) ndarray
    log_likelihood : float
        Restricted log-likelihood per voxel at the optimum (up to a constant).
    iterations : int
        Fisher-scoring steps taken.
    converged : bool
    """

    hyperparameters: np.ndarray
    log_likelihood: float
    iterations: int
    converged: bool


def check_design(x: Any, n: int | None = None) -> np.ndarray:
    """The design as a finite float64 (n, p) array, else :class:`DesignError`."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or (n is not None and x.shape[0] != n):
        raise DesignError(
            f"the design matrix must have one row per input ({n}); got shape {x.shape}."
        )
    if not np.all(np.isfinite(x)):
        raise DesignError("the design matrix contains missing or infinite values.")
    return x


def residual_basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal basis ``K`` (n, n - rank) of the residual space of ``x`` (``K' x = 0``).

    Raises
    ------
    DesignError
        The design leaves no residual degrees of freedom.
    """
    x = check_design(x)
    u, s, _ = np.linalg.svd(x, full_matrices=True)
    rank = int(np.sum(s > RANK_RTOL * max(x.shape) * (s[0] if s.size else 0.0)))
    if rank >= x.shape[0]:
        raise DesignError(
            f"{x.shape[0]} inputs, design rank {rank}: no residual degrees of freedom to "
            "estimate the error covariance."
        )
    return u[:, rank:]


def component_stack(components: Sequence[Any], n: int) -> np.ndarray:
    """(K, n, n) float64 stack of component matrices (objects with ``.matrix`` or arrays)."""
    q = np.asarray([getattr(c, "matrix", c) for c in components], dtype=np.float64)
    if q.ndim != 3 or q.shape[0] == 0 or q.shape[1:] != (n, n) or not np.all(np.isfinite(q)):
        raise DesignError(f"components must be a non-empty list of finite ({n}, {n}) matrices.")
    if not np.array_equal(q, np.swapaxes(q, 1, 2)):
        raise DesignError("every covariance component must be symmetric.")
    return q


def reduce_components(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``K' Q_j K`` for every component: (K, m, m)."""
    return np.einsum("ni,jnm,mk->jik", k, q, k, optimize=True)


def log_likelihood(lam: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """``-1/2 [log|S| + tr(S^-1 b)]`` with ``S = sum_k lam_k a_k``; ``-inf`` if S is not PD."""
    s = np.tensordot(lam, a, axes=1)
    try:
        factor = linalg.cho_factor(s, lower=True)
    except linalg.LinAlgError:
        return -math.inf
    logdet = 2.0 * np.sum(np.log(np.diag(factor[0])))
    return float(-0.5 * (logdet + np.trace(linalg.cho_solve(factor, b))))


def fisher_scoring(
    a: np.ndarray, b: np.ndarray, start: np.ndarray, *, max_iter: int = 256, tol: float = 1e-10
) -> RemlResult:
    """Maximise :func:`log_likelihood` over ``lam`` from ``start`` (see the module notes).

    Parameters
    ----------
    a : (K, m, m) ndarray
        Reduced components ``K'Q_k K``.
    b : (m, m) ndarray
        Reduced pooled second moment ``K'BK``.
    start : (K,) ndarray
        Must give a positive definite ``S``.
    max_iter : int
    tol : float
        Stop when ``g' I^+ g < tol``.
    """
    lam = np.asarray(start, dtype=np.float64).copy()
    current = log_likelihood(lam, a, b)
    if not math.isfinite(current):
        raise DesignError("the starting covariance of the ReML estimate is not positive definite.")
    for it in range(max_iter + 1):
        s_inv = np.linalg.inv(np.tensordot(lam, a, axes=1))
        sa = s_inv @ a  # S^-1 A_k
        grad = -0.5 * (np.einsum("kii->k", sa) - np.einsum("kij,ij->k", a, s_inv @ b @ s_inv))
        info = 0.5 * np.einsum("kij,lji->kl", sa, sa)
        step = np.linalg.pinv(info, rcond=RANK_RTOL, hermitian=True) @ grad
        if float(grad @ step) < tol:
            return RemlResult(hyperparameters=lam, log_likelihood=current, iterations=it,
                              converged=True)  # fmt: skip
        if it == max_iter:
            break
        size, trial = 1.0, -math.inf
        for _ in range(60):
            trial = log_likelihood(lam + size * step, a, b)
            if trial >= current - 1e-13 * abs(current):
                break
            size /= 2.0
        if not math.isfinite(trial) or trial < current - 1e-13 * abs(current):
            break
        lam, current = lam + size * step, trial
    return RemlResult(hyperparameters=lam, log_likelihood=current, iterations=it,
                      converged=False)  # fmt: skip


def spherical_start(q: np.ndarray, sigma2: float = 1.0) -> np.ndarray:
    """Hyperparameters closest (least squares) to ``V = sigma2 I``."""
    gram = np.einsum("kij,lij->kl", q, q)
    return np.linalg.lstsq(gram, sigma2 * np.einsum("kii->k", q), rcond=None)[0]


def settle_unidentified(lam: np.ndarray, q: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Move ``lam`` along unidentified directions so that ``V`` is closest to ``s I``.

    The directions ``t`` with ``sum_k t_k A_k = 0`` change neither the restricted likelihood
    nor (Rao 1967) any estimate or variance of an effect orthogonal to what the design absorbs.
    Among them the one minimising ``||V - s I||_F`` is taken, ``s`` the mean eigenvalue of
    ``S = K'VK``: a spherical ``S`` then gives ``V = s I``.

    Parameters
    ----------
    lam : (K,) ndarray
    q : (K, n, n) ndarray
    a : (K, m, m) ndarray
        ``K'Q_k K``.

    Returns
    -------
    (K,) ndarray
    """
    g = a.reshape(a.shape[0], -1).T  # (m * m, K)
    _, sv, vt = np.linalg.svd(g, full_matrices=g.shape[0] < g.shape[1])
    rank = int(np.sum(sv > RANK_RTOL * sv[0]))
    null = vt[rank:].T  # (K, d)
    if null.shape[1] == 0:
        return lam
    s = float(np.trace(np.tensordot(lam, a, axes=1))) / a.shape[1]
    gram = np.einsum("kij,lij->kl", q, q)
    lhs = null.T @ gram @ null
    rhs = null.T @ (s * np.einsum("kii->k", q) - gram @ lam)
    return lam + null @ np.linalg.lstsq(lhs, rhs, rcond=None)[0]


def _reduced(
    second_moment: np.ndarray, x: np.ndarray, components: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = check_design(x)
    n = x.shape[0]
    b = np.asarray(second_moment, dtype=np.float64)
    if b.shape != (n, n) or not np.all(np.isfinite(b)):
        raise DesignError(f"the second moment must be a finite ({n}, {n}) matrix.")
    k = residual_basis(x)
    q = component_stack(components, n)
    bk = k.T @ b @ k
    return q, reduce_components(q, k), 0.5 * (bk + bk.T)


def reml(
    second_moment: np.ndarray,
    x: np.ndarray,
    components: Sequence[Any],
    *,
    start: np.ndarray | None = None,
    max_iter: int = 256,
    tol: float = 1e-10,
) -> RemlResult:
    """ReML hyperparameters of ``V = sum_k lambda_k Q_k`` for one pooled second moment.

    Parameters
    ----------
    second_moment : (n, n) ndarray
        Pooled ``<y y'>`` over voxels (data or residuals).
    x : (n, p) ndarray
        Design; may be rank-deficient.
    components : sequence of (n, n) ndarray or objects with ``.matrix``
    start : (K,) ndarray, optional
        Default: the ``lambda`` of ``V = sigma^2 I``, ``sigma^2`` the mean residual variance.
    max_iter : int
    tol : float
        Convergence when the Fisher-scoring decrement ``g' I^+ g`` is below ``tol``.

    Returns
    -------
    RemlResult
        ``hyperparameters`` as estimated (unidentified directions at their start values).
    """
    q, a, b = _reduced(second_moment, x, components)
    if start is None:
        start = spherical_start(q, float(np.trace(b)) / b.shape[0])
    return fisher_scoring(a, b, np.asarray(start), max_iter=max_iter, tol=tol)


def restricted_log_likelihood(
    hyperparameters: np.ndarray,
    second_moment: np.ndarray,
    x: np.ndarray,
    components: Sequence[Any],
) -> float:
    """Restricted log-likelihood per voxel, ``-1/2 [log|K'VK| + tr((K'VK)^-1 K'BK)]``.

    ``-inf`` where ``K'VK`` is not positive definite; arguments as for :func:`reml`.
    """
    _, a, b = _reduced(second_moment, x, components)
    return log_likelihood(np.asarray(hyperparameters, dtype=np.float64), a, b)
