"""Ordinary least-squares fit of a design to in-mask data.

Every voxel shares the design, so the pseudo-inverse is computed once and applied to the data
in blocks of voxels: the float64 work arrays of a block hold at most about
:data:`CHUNK_VALUES` values (fewer voxels per block for more inputs), whatever the mask size and
the number of inputs.
Rank-deficient designs (e.g. an ANOVA with cell means and subject means) are fitted with the
minimum-norm solution; the residual degrees of freedom are ``n - rank(X)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DesignError
from .results import DesignMatrix, GLMFit

#: A voxel whose residual sum of squares is below this fraction of its sum of squares is an
#: exact fit at double precision (e.g. a constant voxel); its residual variance is set to 0.
EXACT_FIT_RTOL = 1e-20
#: Values (inputs x voxels) of one block of the fit: 4e6 float64 are 32 MB per work array.
CHUNK_VALUES = 4_000_000
#: Most voxels in one block (the block of a small study).
MAX_CHUNK = 100_000


def default_chunk(n_inputs: int) -> int:
    """Voxels per block for ``n_inputs`` rows: ``MAX_CHUNK``, fewer when rows are many."""
    return max(1_000, min(MAX_CHUNK, CHUNK_VALUES // max(n_inputs, 1)))


def fit_ols(data: np.ndarray, design: DesignMatrix, *, chunk_size: int | None = None) -> GLMFit:
    """Fit ``data = X @ betas + noise`` by ordinary least squares at every voxel.

    Parameters
    ----------
    data : (n, v) ndarray
        One row per input image, one column per in-mask voxel.
    design : DesignMatrix
        ``matrix`` of shape (n, p).
    chunk_size : int, optional
        Number of voxels processed at once (default :func:`default_chunk` of the inputs).

    Returns
    -------
    GLMFit
        ``betas`` (p, v), ``sigma2`` (v,) = RSS / dof, ``dof`` = n - rank(X),
        ``cov_unscaled`` (1, p, p) = pinv(X'X), ``groups`` None, ``noise_model`` "ols".
        Voxels fitted exactly (RSS below ``EXACT_FIT_RTOL`` times the voxel's sum of squares,
        e.g. constant data) get ``sigma2`` = 0.

    Raises
    ------
    DesignError
        The data and design row counts differ, or the design leaves no residual degrees of
        freedom.
    """
    x = np.asarray(design.matrix, dtype=np.float64)
    y = np.asarray(data)
    if y.ndim != 2:
        raise DesignError(f"data must be 2D (n_inputs, n_voxels); got shape {y.shape}.")
    n, v = y.shape
    if x.ndim != 2 or x.shape[0] != n:
        raise DesignError(
            f"the design matrix has {x.shape[0]} rows but there are {n} inputs; it needs "
            "exactly one row per input."
        )
    if not np.all(np.isfinite(x)):
        raise DesignError("the design matrix contains missing or infinite values.")
    rank = int(np.linalg.matrix_rank(x)) if x.size else 0
    dof = n - rank
    if dof <= 0:
        raise DesignError(
            f"{n} inputs, design rank {rank}: no residual degrees of freedom to estimate the "
            f"variance. Add inputs or remove design columns ({len(design.columns)} columns: "
            f"{list(design.columns)})."
        )
    if chunk_size is None:
        chunk_size = default_chunk(n)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}.")
    pinv = np.linalg.pinv(x)  # (p, n)
    cov_unscaled = pinv @ pinv.T  # == pinv(X'X)
    p = x.shape[1]
    betas = np.empty((p, v), dtype=np.float64)
    rss = np.empty(v, dtype=np.float64)
    for start in range(0, v, chunk_size):
        stop = min(start + chunk_size, v)
        block = np.asarray(y[:, start:stop], dtype=np.float64)
        b = pinv @ block
        resid = block - x @ b
        r = np.einsum("ij,ij->j", resid, resid)
        total = np.einsum("ij,ij->j", block, block)
        r[r <= EXACT_FIT_RTOL * total] = 0.0
        betas[:, start:stop] = b
        rss[start:stop] = r
    return GLMFit(
        design=design,
        betas=betas,
        sigma2=rss / dof,
        dof=float(dof),
        cov_unscaled=cov_unscaled[np.newaxis],
        groups=None,
        noise_model="ols",
    )


def residuals(data: np.ndarray, fit: GLMFit) -> np.ndarray:
    """Residuals of an OLS fit.

    Parameters
    ----------
    data : (n, v) ndarray
        The data the model was fitted to.
    fit : GLMFit

    Returns
    -------
    (n, v) ndarray of float64
        ``data - X @ betas``.
    """
    x = np.asarray(fit.design.matrix, dtype=np.float64)
    y = np.asarray(data, dtype=np.float64)
    if y.shape != (x.shape[0], fit.betas.shape[1]):
        raise DesignError(
            f"data of shape {y.shape} do not match the fit ({x.shape[0]} inputs, "
            f"{fit.betas.shape[1]} voxels)."
        )
    return y - x @ fit.betas
