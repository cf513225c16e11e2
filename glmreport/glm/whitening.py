"""Whitened (generalised least-squares) fit of a design with a known error covariance.

With ``Cov(e) = sigma^2 V`` and ``W = V^(-1/2)``, the model ``W y = W X beta + W e`` has i.i.d.
errors; least squares on it gives the generalised least-squares estimates. As in SPM
(``spm_spm``), the residual degrees of freedom are the Satterthwaite approximation
``tr(R Vw)^2 / tr(R Vw R Vw)`` with ``R = I - WX pinv(WX)`` and ``Vw = W V W'`` (SPM's
``erdf``): ``n - rank(X)`` when ``W`` whitens ``V`` exactly, fewer when it does not (an
eigenvalue floor, or a ``W`` built from another ``V``). The residual variance is the whitened
residual sum of squares over ``tr(R Vw)``, its expectation divided by ``sigma^2``.

The fields of :class:`WhitenedFit` are those of ``GLMFit`` less ``design``, so the contrast code
runs on it unchanged: ``cov_unscaled = pinv((WX)'(WX))`` carries the whitening.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DesignError
from ..resources import single_blas_thread
from .reml import check_design, residual_basis

#: A voxel whose whitened residual sum of squares is below this fraction of its whitened sum of
#: squares is fitted exactly (e.g. constant); its residual variance is 0 (as ``fit_ols``).
EXACT_FIT_RTOL = 1e-20


@dataclass(frozen=True, slots=True, kw_only=True)
class WhitenedFit:
    """Fit of the whitened model: the fields of ``GLMFit`` except ``design``.

    ``GLMFit(design=design, betas=f.betas, sigma2=f.sigma2, dof=f.dof,
    cov_unscaled=f.cov_unscaled, groups=None, noise_model=f.noise_model)`` is what contrasts use.

    Attributes
    ----------
    betas : (p, v) ndarray
        ``pinv(WX) W y``.
    sigma2 : (v,) ndarray
        Whitened residual sum of squares / ``tr(R Vw)``; 0 for voxels fitted exactly.
    dof : float
        Satterthwaite effective residual degrees of freedom.
    cov_unscaled : (1, p, p) ndarray
        ``pinv((WX)'(WX))``.
    groups : None
        Every voxel shares the whitening.
    noise_model : str
        ``"nonsphericity"``.
    """

    betas: np.ndarray
    sigma2: np.ndarray
    dof: float
    cov_unscaled: np.ndarray
    groups: None = None
    noise_model: str = "nonsphericity"


def whitening_matrix(covariance: np.ndarray, *, floor: float = 1e-10) -> np.ndarray:
    """Symmetric inverse square root ``W = V^(-1/2)``, so that ``W V W' = I``.

    Parameters
    ----------
    covariance : (n, n) ndarray
        Symmetric positive definite ``V``.
    floor : float
        Eigenvalues below ``floor`` times the largest are raised to it (``W V W'`` then differs
        from ``I`` on those directions, which :func:`effective_dof` accounts for).

    Returns
    -------
    (n, n) ndarray
        Symmetric.

    Raises
    ------
    DesignError
        ``V`` is not a finite symmetric matrix with a positive eigenvalue.
    """
    v = np.asarray(covariance, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] != v.shape[1] or v.size == 0 or not np.all(np.isfinite(v)):
        raise DesignError(f"the covariance must be a finite square matrix; got shape {v.shape}.")
    if not np.allclose(v, v.T, rtol=1e-10, atol=1e-12 * float(np.abs(v).max())):
        raise DesignError("the covariance must be symmetric.")
    eig, vec = np.linalg.eigh(0.5 * (v + v.T))
    if not eig[-1] > 0:
        raise DesignError("the covariance has no positive eigenvalue.")
    eig = np.maximum(eig, floor * eig[-1])
    return (vec / np.sqrt(eig)) @ vec.T


def effective_dof(x: np.ndarray, w: np.ndarray, covariance: np.ndarray) -> tuple[float, float]:
    """Satterthwaite residual degrees of freedom of the whitened model (SPM's ``erdf``).

    Parameters
    ----------
    x : (n, p) ndarray
    w : (n, n) ndarray
        Whitening matrix.
    covariance : (n, n) ndarray
        The error covariance ``V`` of the unwhitened model.

    Returns
    -------
    dof : float
        ``tr(R Vw)^2 / tr(R Vw R Vw)``, ``R = I - WX pinv(WX)``, ``Vw = W V W'``.
    tr_rv : float
        ``tr(R Vw)``.
    """
    x = check_design(x)
    n = x.shape[0]
    w = np.asarray(w, dtype=np.float64)
    v = np.asarray(covariance, dtype=np.float64)
    if w.shape != (n, n) or v.shape != (n, n):
        raise DesignError(f"W and V must be ({n}, {n}); got {w.shape} and {v.shape}.")
    xw = w @ x
    rv = (np.eye(n) - xw @ np.linalg.pinv(xw)) @ (w @ v @ w.T)
    tr_rv = float(np.trace(rv))
    return tr_rv**2 / float(np.sum(rv * rv.T)), tr_rv


def _sumsq(a: np.ndarray) -> np.ndarray:
    return np.einsum("iv,iv->v", a, a)


def fit_whitened(
    data: Any,
    x: np.ndarray,
    w: np.ndarray,
    *,
    covariance: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> WhitenedFit:
    """Least-squares fit of ``W y = W X beta + W e`` at every voxel, in blocks of voxels.

    Parameters
    ----------
    data : (n, v) ndarray
        One row per input, one column per in-mask voxel.
    x : (n, p) ndarray
        Design (may be rank-deficient: minimum-norm betas, as ``fit_ols``).
    w : (n, n) ndarray
        Whitening matrix (:func:`whitening_matrix`).
    covariance : (n, n) ndarray, optional
        The ``V`` that ``w`` whitens: degrees of freedom and ``sigma2`` then use
        :func:`effective_dof`. Without it ``W V W' = I`` is taken: ``n - rank(X)``.
    chunk_size : int, optional
        Voxels per block (default: about 4 MiB of float64).

    Returns
    -------
    WhitenedFit

    Raises
    ------
    DesignError
        Shapes disagree, values are not finite, or no residual degrees of freedom remain.
    """
    x = check_design(x)
    n = x.shape[0]
    y = np.asarray(data)
    if y.ndim != 2 or y.shape[0] != n:
        raise DesignError(
            f"data must be 2D with one row per design row ({n}); got shape {y.shape}."
        )
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n, n) or not np.all(np.isfinite(w)):
        raise DesignError(f"the whitening matrix must be a finite ({n}, {n}) matrix.")
    residual_basis(x)  # no residual degrees of freedom: DesignError
    xw = w @ x
    if covariance is None:
        dof = tr_rv = float(n - np.linalg.matrix_rank(xw))
    else:
        dof, tr_rv = effective_dof(x, w, covariance)
    pinv = np.linalg.pinv(xw)
    betas = np.empty((x.shape[1], y.shape[1]))
    rss = np.empty(y.shape[1])
    size = chunk_size if chunk_size is not None else max(64, (512 * 1024) // n)
    if size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {size}.")
    with single_blas_thread():
        for start in range(0, y.shape[1], size):
            block = np.asarray(y[:, start : start + size], dtype=np.float64)
            if not np.all(np.isfinite(block)):
                raise DesignError("the data contain missing or infinite values.")
            yw = w @ block
            b = pinv @ yw
            r = _sumsq(yw - xw @ b)
            r[r <= EXACT_FIT_RTOL * _sumsq(yw)] = 0.0
            betas[:, start : start + size] = b
            rss[start : start + size] = r
    return WhitenedFit(
        betas=betas, sigma2=rss / tr_rv, dof=float(dof), cov_unscaled=(pinv @ pinv.T)[None]
    )
