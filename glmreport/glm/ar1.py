"""First-level GLM fit with an AR(1) noise model, streamed over blocks of voxels.

Method (the one of nilearn 0.14 ``run_glm(noise_model="ar1", bins=100)``):

1. **OLS fit** of every voxel, ``B = pinv(X) Y``, residuals ``E = Y - X B``.
2. **AR(1) coefficient** per voxel, Yule-Walker on the residuals: with ``m`` the grand mean
   of all residuals (every voxel and scan; ~0 when the design has a constant) and
   ``e = E - m``,

   ``rho = [sum_t e_t e_{t+1} / (n - 1)] / [sum_t e_t^2 / n]``

   i.e. the lag-1 autocovariance is divided by ``n - 1`` (its number of terms), the
   variance by ``n``: nilearn's bias adjustment (the ``method='adjusted'`` of statsmodels'
   ``yule_walker``). Voxels whose residuals are exactly zero get ``rho = 0`` (nilearn would
   give NaN).
3. **Quantisation**: ``rho_q = trunc(rho * bins) / bins`` (truncation toward zero, precision
   ``1 / bins`` = 0.01 for the default 100 bins); voxels with equal ``rho_q`` form one group.
4. **Prewhitened refit** per group: ``W y = (y_1, y_2 - rho_q y_1, ..., y_n - rho_q y_{n-1})``
   (the first scan is kept unscaled, as in nilearn), ``B = pinv(W X) W y``, residual variance
   ``sigma2 = |W y - W X B|^2 / dof`` with ``dof = n - rank(X)``, and per group
   ``cov_unscaled[g] = pinv(W X) pinv(W X)' = pinv((W X)'(W X))``.

Computation. The data are never copied whole: each block of ``chunk_size`` voxels is cast to
float64, fitted and reduced to per-voxel sums (pass 1: ``sum e``, ``sum e^2``,
``sum e_t e_{t+1}``, ``e_1 + e_n``, from which the grand-mean-centred quantities of step 2
follow exactly) or to betas and residual variance (pass 2), so a float32 memmap of a large run
is read twice and never held in float64. Pass 2 visits voxels sorted by group and uses
``B = [pinv(W X) W] y`` (the whitening folded into one p x n matrix per group) and
``|W e|^2 = sum e_t^2 - 2 rho sum e_t e_{t-1} + rho^2 (sum e_t^2 - e_n^2)`` with
``e = y - X B``, so whitened copies of the data are never formed. BLAS is limited to one
thread during the fit when ``threadpoolctl`` is available, and the blocks of each pass are
fitted on up to two threads (:func:`~glmreport.glm.threads.for_each_block`).
"""

from __future__ import annotations

import numpy as np

from ..config.vocabulary import NOISE_MODELS
from ..errors import DesignError
from ..resources import single_blas_thread
from .ols import EXACT_FIT_RTOL, fit_ols
from .results import DesignMatrix, GLMFit
from .threads import for_each_block

#: Float64 values held per block array when ``chunk_size`` is not given (4 MiB: a block and
#: its residuals stay in cache-sized pieces, and memory beyond the data stays small).
_BLOCK_VALUES = 512 * 1024
#: Bytes of whitened designs whose pseudo-inverses are taken in one call (the call holds
#: about five times this).
PINV_STACK_BYTES = 8 << 20


def default_chunk_size(n_scans: int) -> int:
    """Voxels per block so that one float64 block of ``n_scans`` rows is about 4 MiB."""
    return max(64, _BLOCK_VALUES // max(int(n_scans), 1))


def ar1_from_residuals(residuals: np.ndarray) -> np.ndarray:
    """Yule-Walker AR(1) coefficient of each column of ``residuals`` (step 2 of the module).

    Parameters
    ----------
    residuals : (n, v) ndarray

    Returns
    -------
    rho : (v,) ndarray
    """
    e = np.asarray(residuals, dtype=np.float64)
    e = e - e.mean()
    n = e.shape[0]
    r0 = np.einsum("tv,tv->v", e, e) / n
    r1 = np.einsum("tv,tv->v", e[:-1], e[1:]) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = r1 / r0
    return np.where(r0 > 0, rho, 0.0)


def quantize_ar1(rho: np.ndarray, bins: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Bin AR(1) coefficients to ``trunc(rho * bins) / bins``.

    Parameters
    ----------
    rho : (v,) ndarray
    bins : int
        Number of bins per unit of rho (precision ``1 / bins``).

    Returns
    -------
    values : (n_groups,) ndarray
        The distinct quantised coefficients, increasing.
    groups : (v,) ndarray of intp
        Index into ``values`` for each voxel.
    """
    if int(bins) < 1:
        raise DesignError(f"bins must be a positive integer; got {bins}.")
    codes = np.trunc(np.asarray(rho, dtype=np.float64) * int(bins)).astype(np.int64)
    uniq, groups = np.unique(codes, return_inverse=True)
    return uniq * 1.0 / int(bins), groups.astype(np.intp)


def whiten_ar1(x: np.ndarray, rho: float | np.ndarray) -> np.ndarray:
    """AR(1) prewhitening ``w_1 = x_1``, ``w_t = x_t - rho x_{t-1}`` along axis 0.

    Parameters
    ----------
    x : (n, ...) ndarray
    rho : float or (...) ndarray
        Broadcast against ``x[0]`` (one coefficient per column allowed).

    Returns
    -------
    (n, ...) ndarray of float64
    """
    x = np.asarray(x, dtype=np.float64)
    out = x.copy()
    out[1:] -= rho * x[:-1]
    return out


def _read_columns(Y: np.ndarray, cols: np.ndarray | slice) -> np.ndarray:
    """Columns of ``Y`` as a C-ordered float64 block."""
    return np.array(Y[:, cols], dtype=np.float64, order="C")


def estimate_ar1(Y: np.ndarray, x: np.ndarray, *, chunk_size: int | None = None) -> np.ndarray:
    """AR(1) coefficient of each voxel's OLS residuals (steps 1-2 of the module docstring).

    Streams over voxel blocks, keeping per-voxel sums only; the grand mean of all residuals
    is subtracted exactly from those sums afterwards.

    Parameters
    ----------
    Y : (n_scans, v) ndarray or memmap
    x : (n_scans, p) ndarray
        Design matrix.
    chunk_size : int or None
        Voxels per block.

    Returns
    -------
    rho : (v,) ndarray
        0 where the residuals are exactly zero.
    """
    n, v = Y.shape
    chunk = default_chunk_size(n) if chunk_size is None else int(chunk_size)
    x = np.asarray(x, dtype=np.float64)
    pinv = np.linalg.pinv(x)
    s1 = np.empty(v)  # sum_t e_t
    s2 = np.empty(v)  # sum_t e_t^2
    lag = np.empty(v)  # sum_t e_t e_{t+1}
    ends = np.empty(v)  # e_1 + e_n

    def block(start: int) -> None:
        sl = slice(start, min(start + chunk, v))
        resid = _read_columns(Y, sl)
        resid -= x @ (pinv @ resid)
        s1[sl] = resid.sum(axis=0)
        s2[sl] = np.einsum("tv,tv->v", resid, resid)
        lag[sl] = np.einsum("tv,tv->v", resid[:-1], resid[1:])
        ends[sl] = resid[0] + resid[-1]

    with single_blas_thread():
        for_each_block(block, range(0, v, chunk))
    m = s1.sum() / (n * v) if v else 0.0
    # sums of (e - m) expanded in terms of the sums of e
    r0 = (s2 - 2 * m * s1 + n * m * m) / n
    r1 = (lag - m * (2 * s1 - ends) + (n - 1) * m * m) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r0 > 0, r1 / r0, 0.0)


def group_solvers(x: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per AR(1) group: ``A = pinv(W X) W`` (betas = A y) and ``cov = pinv(W X) pinv(W X)'``.

    The groups' whitened designs are pseudo-inverted in stacks, one ``pinv`` call per stack
    of at most :data:`PINV_STACK_BYTES` (the same LAPACK call per matrix as one group at a
    time, so the same numbers, with less overhead per group).

    Parameters
    ----------
    x : (n, p) ndarray
        Design matrix.
    values : (g,) ndarray
        The groups' AR(1) coefficients.

    Returns
    -------
    solve : (g, p, n) ndarray
    cov : (g, p, p) ndarray
    """
    x = np.asarray(x, dtype=np.float64)
    n, p = x.shape
    solve = np.empty((values.size, p, n))
    cov = np.empty((values.size, p, p))
    step = max(1, PINV_STACK_BYTES // max(1, 8 * n * p))
    for lo in range(0, values.size, step):
        r = values[lo : lo + step, None, None]
        whitened = np.empty((r.shape[0], n, p))
        whitened[:] = x
        whitened[:, 1:] -= r * x[:-1]  # whiten_ar1 of each group's coefficient
        wpinv = np.linalg.pinv(whitened)
        cov[lo : lo + step] = wpinv @ wpinv.transpose(0, 2, 1)
        stack = solve[lo : lo + step]
        stack[:] = wpinv
        stack[:, :, :-1] -= r * wpinv[:, :, 1:]
    return solve, cov


def _prewhitened_fit(
    Y: np.ndarray, x: np.ndarray, values: np.ndarray, groups: np.ndarray, chunk: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 4 of the module docstring: betas (p, v), whitened RSS (v,), cov (g, p, p)."""
    n, v = Y.shape
    p = x.shape[1]
    solve, cov = group_solvers(x, values)

    # voxels visited in group order, so each group is one or a few matrix products
    betas = np.empty((p, v))
    rss = np.empty(v)
    visit = np.argsort(groups, kind="stable")

    def fit_block(start: int) -> None:
        idx = visit[start : start + chunk]
        block = _read_columns(Y, idx)
        total = np.einsum("tv,tv->v", block, block)
        g_block = groups[idx]
        cuts = np.flatnonzero(np.diff(g_block)) + 1
        b = np.empty((p, idx.size))
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, idx.size], strict=True):
            b[:, lo:hi] = solve[g_block[lo]] @ block[:, lo:hi]
        resid = block
        resid -= x @ b
        # whitened residual w_1 = e_1, w_t = e_t - r e_(t-1):
        # |w|^2 = sum e_t^2 - 2 r sum e_t e_(t-1) + r^2 (sum e_t^2 - e_n^2)
        r = values[g_block]
        s2 = np.einsum("tv,tv->v", resid, resid)
        lag = np.einsum("tv,tv->v", resid[:-1], resid[1:])
        w_rss = np.maximum(s2 - 2 * r * lag + r * r * (s2 - resid[-1] ** 2), 0.0)
        w_rss[w_rss <= EXACT_FIT_RTOL * total] = 0.0
        betas[:, idx] = b
        rss[idx] = w_rss

    for_each_block(fit_block, range(0, v, chunk))
    return betas, rss, cov


def fit_first_level(
    Y: np.ndarray,
    design: DesignMatrix,
    *,
    noise_model: str = "ar1",
    bins: int = 100,
    chunk_size: int | None = None,
) -> GLMFit:
    """Fit one run's GLM with OLS or AR(1) noise, block by block over voxels.

    Parameters
    ----------
    Y : (n_scans, v) ndarray or memmap
        BOLD time series of the in-mask voxels, any float dtype (float32 is read block-wise
        and cast to float64 per block). No scaling is applied (nilearn's default
        ``signal_scaling=0`` converts to percent signal change; scale beforehand if wanted).
    design : DesignMatrix
        ``matrix`` (n_scans, p).
    noise_model : {'ar1', 'ols'}
    bins : int
        AR(1) quantisation: ``trunc(rho * bins) / bins``.
    chunk_size : int or None
        Voxels per block; default keeps each float64 block near 4 MiB.

    Returns
    -------
    GLMFit
        ``betas`` (p, v); ``sigma2`` (v,); ``dof = n - rank(X)``; for ``ar1``
        ``cov_unscaled`` (n_groups, p, p) and ``groups`` (v,) indexing it, for ``ols``
        ``cov_unscaled`` (1, p, p) and ``groups`` None. Voxels fitted exactly (e.g. constant
        time series) get ``sigma2 = 0``.

    Raises
    ------
    DesignError
        Unknown noise model, row count of the design differs from the number of scans, or
        no residual degrees of freedom.
    """
    if noise_model not in NOISE_MODELS:
        raise DesignError(
            f"unknown noise_model {noise_model!r}; expected one of {', '.join(NOISE_MODELS)}."
        )
    if Y.ndim != 2:
        raise DesignError(f"Y must be 2D (n_scans, n_voxels); got shape {Y.shape}.")
    n, v = Y.shape
    x = np.asarray(design.matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != n:
        raise DesignError(
            f"the design matrix has {x.shape[0]} rows but the run has {n} scans; it needs "
            "exactly one row per scan."
        )
    chunk = default_chunk_size(n) if chunk_size is None else int(chunk_size)
    if chunk < 1:
        raise DesignError(f"chunk_size must be >= 1; got {chunk_size}.")
    if noise_model == "ols":
        with single_blas_thread():
            return fit_ols(Y, design, chunk_size=chunk)
    if not np.all(np.isfinite(x)):
        raise DesignError("the design matrix contains missing or infinite values.")
    rank = int(np.linalg.matrix_rank(x))
    dof = n - rank
    if dof <= 1:
        raise DesignError(
            f"{n} scans, design rank {rank}: too few residual degrees of freedom for an AR(1) "
            "model. Remove design columns or use more scans."
        )

    rho = estimate_ar1(Y, x, chunk_size=chunk)
    values, groups = quantize_ar1(rho, bins)
    with single_blas_thread():
        betas, rss, cov = _prewhitened_fit(Y, x, values, groups, chunk)
    return GLMFit(
        design=design,
        betas=betas,
        sigma2=rss / dof,
        dof=float(dof),
        cov_unscaled=cov,
        groups=groups,
        noise_model="ar1",
    )
