"""Non-sphericity correction for second-level designs with within-subject structure.

A within-subject design (a paired or ``anova`` design with subject columns) fitted by ordinary
least squares assumes independent errors of one variance. Inputs of one subject in different
conditions are usually correlated and the conditions may differ in variance; the F test of a
within-subject effect is then liberal. As SPM does (Friston et al. 2002; Glaser & Friston
2007), the error covariance ``Cov(e) = sigma_v^2 V`` (one scale per voxel, ``V`` shared) is
modelled as ``V = sum_k lambda_k Q_k``, ``lambda`` is estimated once by restricted maximum
likelihood (ReML) from data pooled over voxels, and the model is refitted on whitened data.
The components are built in :mod:`glmreport.glm.covariance`, ReML is
:mod:`glmreport.glm.reml` and the whitened fit :mod:`glmreport.glm.whitening`; this module
re-exports what a caller needs::

    components = variance_components(levels, subjects)
    ns = estimate_nonsphericity(data, X, components, nuisance=subject_column_indices)
    fit = fit_whitened(data, X, whitening_matrix(ns.V), covariance=ns.V)

Choices
-------
Components (:func:`~glmreport.glm.covariance.variance_components`)
    SPM's options for a factor: unequal variance (``var(a)``: the diagonal indicator of level
    ``a``'s rows) and dependence (``cov(a,b)``: 1 where a row of level ``a`` and a row of level
    ``b`` belong to the same subject). Several within-subject factors (a 3 x 3 design) are
    handled as SPM's factorial design with the cells as the factor: the cell of each row is its
    level, and the covariance between all cells is free.
Voxels pooled
    As SPM's ``spm_est_non_sphericity``: voxels whose omnibus F of the effects of interest (the
    design against its nuisance columns, i.e. the subject columns) passes ``p < 0.001``. Two
    departures, measured on the null simulation of issue 14 (16 subjects x 3 levels, variances
    1/1/6, correlation .8, 100 000 voxels, true epsilon .543; see the reference tests):

    - SPM computes that F once, under i.i.d. errors. On non-spherical data it favours voxels
      whose residuals are small, and a small non-spherical Gaussian residual vector points in a
      more isotropic direction than a large one: the estimate is biased towards sphericity
      (SPM's single pass: epsilon .576, the t contrast a - c rejecting at 7.2 % for 5 %). Here
      the F is recomputed in the whitened model under the current ``V`` at every pass (the
      first pass is SPM's); at the fixed point the whitened residual directions are independent
      of the selection (epsilon .544, 5.0 %). The selection is frozen the first time it repeats
      (a fixed point, or a cycle of sets differing by voxels at the threshold).
    - SPM falls back to every in-mask voxel only when none passes, so on null data it pools the
      ~0.1 % that pass by chance and the estimate's sampling error shows (about 100 voxels: the
      t contrast at 4.2-5.9 % over 12 simulations; all voxels: 4.9-5.1 %). Here every in-mask
      voxel with non-zero residuals is pooled when fewer than ``min_voxels`` (1000) pass.
      ``selection`` says which.
Scaling
    Each pooled voxel is divided by its residual mean square, so that every voxel weighs the
    same whatever its scale. SPM uses the i.i.d. residual mean square, which biases ``V``
    towards sphericity by O(1/dof) (every voxel pooled, one pass: epsilon .549, the t contrast
    at 5.5 %; 8 % too large a variance in a cell-means design); here it is the whitened one
    under the current ``V``, ``z' S^-1 z / m``. Iterating (pool, ReML, re-scale) is a
    minorise-maximise algorithm for the exact restricted likelihood of ``V`` with a free scale
    per voxel, ``-1/2 sum_v [log|S| + m log(z_v' S^-1 z_v)]`` (Tyler 1987); it stops when the
    selection is frozen and ``S / tr(S)`` changes by less than ``tol``. ``reweight=False``
    stops after SPM's single pass.
Estimation (:mod:`glmreport.glm.reml`)
    Fisher scoring of the restricted likelihood on the linear scale of ``lambda`` (covariances
    can be negative, so no log scale), steps halved to keep ``K'VK`` positive definite and the
    likelihood increasing, converged when the Fisher-scoring decrement is below 1e-10.
    With subject columns the between-subject variance is absorbed by the design and not
    identified; it is set so that ``V`` is closest to a multiple of the identity, which changes
    no within-subject estimate, variance or statistic (Rao 1967). ``V`` is scaled to trace n.
Whitening rather than a Greenhouse-Geisser correction
    Whitening with ``W = V^(-1/2)`` (SPM) gives generalised least-squares estimates and exact
    t and F tests of any contrast when ``V`` is right, with the Satterthwaite effective degrees
    of freedom (``n - rank`` when ``W`` whitens ``V``). The Greenhouse-Geisser correction
    (Greenhouse & Geisser 1959) only rescales the degrees of freedom of one F test on
    unweighted estimates and is conservative; its ``epsilon`` of the estimated covariance is
    reported as a diagnostic of how far from spherical the errors are.

References
----------
Friston, K. J., Glaser, D. E., Henson, R. N. A., Kiebel, S., Phillips, C. & Ashburner, J.
(2002). Classical and Bayesian inference in neuroimaging: applications. NeuroImage, 16,
484-512. Glaser, D. & Friston, K. J. (2007). Variance components. In Statistical Parametric
Mapping: The Analysis of Functional Brain Images (ch. 9). Academic Press. Greenhouse, S. W. &
Geisser, S. (1959). On methods in the analysis of profile data. Psychometrika, 24, 95-112.
Rao, C. R. (1967). Least squares theory using an estimated dispersion matrix. Proc. 5th
Berkeley Symp., 1, 355-372. Tyler, D. E. (1987). A distribution-free M-estimator of
multivariate scatter. Annals of Statistics, 15, 234-251.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg

from ..errors import DesignError
from .covariance import Component, greenhouse_geisser, level_covariance, variance_components
from .distributions import f_isf
from .reml import (
    check_design,
    component_stack,
    fisher_scoring,
    reduce_components,
    residual_basis,
    settle_unidentified,
    spherical_start,
)
from .whitening import (
    WhitenedFit,
    effective_dof,
    fit_whitened,
    single_blas_thread,
    whitening_matrix,
)

__all__ = [
    "Component",
    "NonSphericity",
    "WhitenedFit",
    "effective_dof",
    "estimate_nonsphericity",
    "fit_whitened",
    "greenhouse_geisser",
    "level_covariance",
    "select_voxels",
    "variance_components",
    "whitening_matrix",
]

#: Omnibus F threshold of the voxels pooled for the estimate (SPM's ``UFp`` default).
DEFAULT_ALPHA = 0.001
#: Fewer voxels passing the omnibus F than this: every in-mask voxel is pooled instead.
MIN_VOXELS = 1000
#: ``selection`` when every in-mask voxel is pooled.
SELECT_ALL = "all in-mask voxels"
#: A voxel whose residual sum of squares is below this fraction of its sum of squares is fitted
#: exactly (e.g. constant): it is never pooled.
EXACT_FIT_RTOL = 1e-20


@dataclass(frozen=True, slots=True, kw_only=True)
class NonSphericity:
    """Error covariance estimated by ReML, pooled over voxels.

    Attributes
    ----------
    V : (n, n) ndarray
        ``sum_k hyperparameters[k] Q_k``: symmetric, positive definite, trace ``n``.
    hyperparameters : dict of str to float
        ``lambda_k`` by component name, on the scale of ``V``.
    components : tuple of str
        Component names, in order.
    levels : tuple of str
        Levels (cells) of the within-subject factor.
    level_covariance : (k, k) ndarray
        Covariance of one subject's inputs across the levels, on the scale of ``V``. With subject
        columns in the design only its within-subject part ``C' cov C`` (``C`` the contrasts of
        the levels) is estimated; the rest is set as described in the module notes.
    epsilon_gg : float
        Greenhouse-Geisser epsilon of ``level_covariance`` over all levels, in [1/(k-1), 1].
    n_voxels_pooled : int
    selection : str
        ``"omnibus F p<0.001"`` or ``"all in-mask voxels"``.
    iterations : int
        Passes (pool, ReML, re-scale); 1 for SPM's single pass.
    scoring_iterations : int
        Fisher-scoring steps over all passes.
    converged : bool
    log_likelihood : float
        Restricted log-likelihood per voxel of the last pass (up to a constant).
    """

    V: np.ndarray
    hyperparameters: dict[str, float]
    components: tuple[str, ...]
    levels: tuple[str, ...]
    level_covariance: np.ndarray
    epsilon_gg: float
    n_voxels_pooled: int
    selection: str
    iterations: int
    scoring_iterations: int
    converged: bool
    log_likelihood: float

    def summary(self) -> dict[str, Any]:
        """JSON-ready fields for a results summary (floats, lists and strings only)."""
        return {
            "levels": list(self.levels),
            "covariance": [[float(x) for x in row] for row in self.level_covariance],
            "hyperparameters": {k: float(v) for k, v in self.hyperparameters.items()},
            "epsilon_gg": float(self.epsilon_gg),
            "n_voxels_pooled": int(self.n_voxels_pooled),
            "selection": self.selection,
            "iterations": int(self.iterations),
            "converged": bool(self.converged),
        }


@dataclass(frozen=True, slots=True)
class _Spaces:
    """Residual spaces of the design (``K``) and of its nuisance columns (``K0``), K = K0 H."""

    k0: np.ndarray  # (n, m0)
    h: np.ndarray  # (m0, m)
    q: int  # numerator degrees of freedom of the omnibus F
    f_crit: float  # inf: no test, pool every voxel
    min_voxels: int  # fewer passing: pool every voxel


def _spaces(x: np.ndarray, nuisance: Sequence[int], alpha: float, min_voxels: int) -> _Spaces:
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1]; got {alpha!r}.")
    if min_voxels < 1:
        raise ValueError(f"min_voxels must be >= 1; got {min_voxels!r}.")
    cols = [int(i) for i in nuisance]
    if any(not 0 <= i < x.shape[1] for i in cols):
        raise DesignError(f"nuisance column indices must be in [0, {x.shape[1]}).")
    k = residual_basis(x)
    k0 = residual_basis(x[:, cols]) if cols else np.eye(x.shape[0])
    q = k0.shape[1] - k.shape[1]
    f_crit = float(f_isf(alpha, q, k.shape[1])) if q > 0 and alpha < 1.0 else math.inf
    return _Spaces(k0=k0, h=k0.T @ k, q=q, f_crit=f_crit, min_voxels=int(min_voxels))


def _pass(
    y: np.ndarray,
    sp: _Spaces,
    s0: np.ndarray | None,
    size: int,
    frozen: tuple[np.ndarray, bool] | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """One pass over the data under ``S0 = K0'VK0`` (identity if None).

    Returns the pooled moment ``mean m z z' / (z' S^-1 z)`` (``z = K'y``, ``S = H'S0H``) of the
    voxels whose whitened omnibus F passes (of every voxel with residuals when fewer than
    ``min_voxels`` do), the mask of the pooled voxels and whether it is the F selection.
    ``frozen`` (mask, by F) pools a given selection instead.
    """
    m = sp.h.shape[1]
    s0 = np.eye(sp.h.shape[0]) if s0 is None else s0
    f0, f = linalg.cho_factor(s0, lower=True), linalg.cho_factor(sp.h.T @ s0 @ sp.h, lower=True)
    sums = [np.zeros((m, m)), np.zeros((m, m))]  # passed, all with residuals
    passed = np.zeros(y.shape[1], dtype=bool)
    nonzero = np.zeros(y.shape[1], dtype=bool)
    for start in range(0, y.shape[1], size):
        block = np.asarray(y[:, start : start + size], dtype=np.float64)
        if not np.all(np.isfinite(block)):
            raise DesignError("the data contain missing or infinite values.")
        z0 = sp.k0.T @ block
        z = sp.h.T @ z0
        rss = np.einsum("iv,iv->v", z, linalg.cho_solve(f, z))
        ok = np.einsum("iv,iv->v", z, z) > EXACT_FIT_RTOL * np.einsum("iv,iv->v", block, block)
        with np.errstate(divide="ignore", invalid="ignore"):
            rss0 = np.einsum("iv,iv->v", z0, linalg.cho_solve(f0, z0))
            if frozen is None:
                hit = ok & (((rss0 - rss) / max(sp.q, 1)) / (rss / m) > sp.f_crit)
            else:
                hit = ok & frozen[0][start : start + size]
            zs = z * np.where(ok, m / rss, 0.0)
        sums[0] += zs[:, hit] @ z[:, hit].T
        sums[1] += zs @ z.T
        passed[start : start + size], nonzero[start : start + size] = hit, ok
    if not nonzero.any():
        raise DesignError("every voxel is fitted exactly: no residuals to estimate the covariance.")
    if frozen is not None:
        chosen = (passed, sums[0], frozen[1])
    else:
        enough = np.count_nonzero(passed) >= sp.min_voxels
        chosen = (passed, sums[0], True) if enough else (nonzero, sums[1], False)
    moment = chosen[1] / np.count_nonzero(chosen[0])
    return 0.5 * (moment + moment.T), chosen[0], chosen[2]


def select_voxels(
    data: np.ndarray,
    x: np.ndarray,
    *,
    nuisance: Sequence[int] = (),
    alpha: float = DEFAULT_ALPHA,
    min_voxels: int = MIN_VOXELS,
    covariance: np.ndarray | None = None,
    chunk_size: int | None = None,
) -> tuple[np.ndarray, str, np.ndarray]:
    """Voxels pooled for the estimate and their pooled second moment.

    The omnibus F compares the design with its ``nuisance`` columns alone (SPM's "effects of
    interest"): ``F = [(RSS0 - RSS) / q] / [RSS / (n - r)]``, ``q = rank(X) - rank(X0)``, with
    residual sums of squares whitened under ``covariance`` (i.i.d. when None, as SPM).

    Parameters
    ----------
    data : (n, v) ndarray
    x : (n, p) ndarray
    nuisance : sequence of int
        Column indices of ``x`` forming the reduced model (the subject columns).
    alpha : float
        In (0, 1]; 1 pools every voxel with residuals.
    min_voxels : int
        Fewer voxels passing than this: every voxel with residuals is pooled.
    covariance : (n, n) ndarray, optional
        ``V`` of the whitened F and of each voxel's residual mean square.
    chunk_size : int, optional

    Returns
    -------
    selected : (v,) ndarray of bool
    selection : str
        ``"omnibus F p<{alpha:g}"``, or ``"all in-mask voxels"`` when fewer than ``min_voxels``
        pass, when ``alpha`` is 1 or when the design has nothing beyond its nuisance columns.
    second_moment : (n, n) ndarray
        ``K B K'``, ``B`` the pooled scaled moment of ``z = K'y`` (``K z``: the residuals).
    """
    x = check_design(x)
    y = np.asarray(data)
    if y.ndim != 2 or y.shape[0] != x.shape[0]:
        raise DesignError(
            f"data must be 2D with one row per design row ({x.shape[0]}); got shape {y.shape}."
        )
    sp = _spaces(x, nuisance, alpha, min_voxels)
    s0 = None if covariance is None else sp.k0.T @ np.asarray(covariance, float) @ sp.k0
    with single_blas_thread():
        b, selected, by_f = _pass(y, sp, s0, _chunk_size(x.shape[0], chunk_size))
    k = sp.k0 @ sp.h
    return selected, f"omnibus F p<{alpha:g}" if by_f else SELECT_ALL, k @ b @ k.T


def _chunk_size(n: int, chunk_size: int | None) -> int:
    size = chunk_size if chunk_size is not None else max(64, (512 * 1024) // max(n, 1))
    if size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {size}.")
    return int(size)


@dataclass(frozen=True, slots=True)
class _Loop:
    lam: np.ndarray
    log_likelihood: float
    selected: np.ndarray
    by_f: bool
    passes: int
    steps: int
    converged: bool


def _iterate(y: np.ndarray, q: np.ndarray, sp: _Spaces, *, reweight: bool, **opts: Any) -> _Loop:
    """Pool, estimate, re-select and re-scale under the new ``V`` until nothing changes.

    The selection is frozen the first time it repeats one seen before (a fixed point, or a
    cycle of sets that differ by voxels at the threshold); then only the scaling iterates.
    """
    k = sp.k0 @ sp.h
    a, a0 = reduce_components(q, k), reduce_components(q, sp.k0)
    lam, s0, s_old, steps = spherical_start(q), None, None, 0
    seen: set[bytes] = set()
    frozen: tuple[np.ndarray, bool] | None = None
    for it in range(1, opts["max_iter"] + 1):
        b, selected, by_f = _pass(y, sp, s0, opts["size"], frozen)
        result = fisher_scoring(a, b, lam)
        lam, steps = settle_unidentified(result.hyperparameters, q, a), steps + result.iterations
        s0 = np.tensordot(lam, a0, axes=1)
        if not _positive_definite(s0):
            raise _not_positive_definite(np.linalg.eigvalsh(s0)[0])
        s_now = np.tensordot(lam, a, axes=1)
        s_now = s_now / np.trace(s_now)
        settled = frozen is not None and (
            np.linalg.norm(s_now - s_old) <= opts["tol"] * np.linalg.norm(s_old)
        )
        if settled or not reweight:
            return _Loop(lam, result.log_likelihood, selected, by_f, it, steps, result.converged)
        key = np.packbits(selected).tobytes()
        if frozen is None and key in seen:
            frozen = (selected, by_f)
        seen.add(key)
        s_old = s_now
    return _Loop(lam, result.log_likelihood, selected, by_f, opts["max_iter"], steps, False)


def _positive_definite(s: np.ndarray) -> bool:
    eig = np.linalg.eigvalsh(0.5 * (s + s.T))
    return bool(eig[0] > 1e-10 * eig[-1] > 0)


def _not_positive_definite(smallest: float) -> DesignError:
    return DesignError(
        f"the estimated error covariance is not positive definite (smallest eigenvalue "
        f"{smallest:.3g}): these components cannot all be estimated from these data. Use fewer "
        "components, or no non-sphericity correction."
    )


def estimate_nonsphericity(
    data: np.ndarray,
    x: np.ndarray,
    components: Sequence[Component],
    *,
    nuisance: Sequence[int] = (),
    alpha: float = DEFAULT_ALPHA,
    min_voxels: int = MIN_VOXELS,
    reweight: bool = True,
    max_iter: int = 100,
    tol: float = 1e-8,
    chunk_size: int | None = None,
) -> NonSphericity:
    """Estimate the error covariance ``V`` by ReML pooled over voxels (see the module notes).

    Parameters
    ----------
    data : (n, v) ndarray
        One row per input, one column per in-mask voxel.
    x : (n, p) ndarray
        The design (may be rank-deficient, e.g. cell means and subject columns).
    components : sequence of Component
        From :func:`variance_components`.
    nuisance : sequence of int
        Columns of ``x`` outside the effects of interest (the subject columns).
    alpha : float
        Omnibus F threshold of the pooled voxels (SPM: 0.001); 1 pools every voxel.
    min_voxels : int
        Fewer voxels passing than this (at a pass): every voxel with residuals is pooled.
    reweight : bool
        Re-select and re-scale under the estimated ``V`` until it settles (default); ``False``
        stops after SPM's single i.i.d. pass.
    max_iter : int
        Largest number of passes.
    tol : float
        Passes stop when the selection is unchanged and ``K'VK / tr(K'VK)`` changes by less
        than ``tol`` (relative Frobenius norm).
    chunk_size : int, optional
        Voxels per block (default: about 4 MiB of float64).

    Returns
    -------
    NonSphericity

    Raises
    ------
    DesignError
        Bad shapes or values, no residual degrees of freedom, nothing to pool, or an estimate
        that is not positive definite.
    """
    x = check_design(x)
    n = x.shape[0]
    y = np.asarray(data)
    if y.ndim != 2 or y.shape[0] != n:
        raise DesignError(
            f"data must be 2D with one row per design row ({n}); got shape {y.shape}."
        )
    comps = tuple(components)
    if not comps or not all(isinstance(c, Component) for c in comps):
        raise DesignError("components must be a non-empty sequence of Component.")
    q = component_stack(comps, n)
    sp = _spaces(x, nuisance, alpha, min_voxels)
    with single_blas_thread():
        loop = _iterate(
            y, q, sp, reweight=reweight, max_iter=max_iter, tol=tol, size=_chunk_size(n, chunk_size)
        )
    v = np.tensordot(loop.lam, q, axes=1)
    scale = n / float(np.trace(v))
    lam, v = loop.lam * scale, v * scale
    if not _positive_definite(v):
        raise _not_positive_definite(np.linalg.eigvalsh(v)[0])
    levels, cov = level_covariance(comps, lam)
    return NonSphericity(
        V=v,
        hyperparameters={c.name: float(h) for c, h in zip(comps, lam, strict=True)},
        components=tuple(c.name for c in comps),
        levels=levels,
        level_covariance=cov,
        epsilon_gg=greenhouse_geisser(cov) if len(levels) > 1 else 1.0,
        n_voxels_pooled=int(np.count_nonzero(loop.selected)),
        selection=f"omnibus F p<{alpha:g}" if loop.by_f else SELECT_ALL,
        iterations=loop.passes,
        scoring_iterations=loop.steps,
        converged=loop.converged,
        log_likelihood=loop.log_likelihood,
    )
