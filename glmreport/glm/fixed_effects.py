"""Fixed-effects combination of one contrast over several runs of a subject.

Each run ``i`` gives, at every voxel, an effect ``e_i`` (q-vector), its covariance ``V_i``
(q x q) and error degrees of freedom ``dof_i``. The combined contrast has
``dof = sum_i dof_i`` (as nilearn's ``compute_fixed_effects``) and:

precision-weighted (default)
    ``P_i = V_i^-1``, ``V = (sum_i P_i)^-1``, ``e = V sum_i P_i e_i``. For a t contrast this
    is ``e = sum(e_i / v_i) / sum(1 / v_i)``, ``v = 1 / sum(1 / v_i)`` (nilearn
    ``compute_fixed_effects(precision_weighted=True)``).
unweighted
    ``e = mean_i e_i``, ``V = sum_i V_i / k**2`` for ``k`` runs (what nilearn's
    ``FirstLevelModel.compute_contrast`` does for a t contrast over several runs).

The statistic is ``t = e / sqrt(v)`` for t, and for F the Wald statistic of the combined
effect, ``F = e' V^-1 e / q`` with ``(q, dof)`` degrees of freedom. (nilearn's F fixed effects
instead averages each run's whitened effect and residual variance; it warns that this is an
approximation. The Wald form above uses each run's full covariance and is exact for
independent Gaussian runs with known covariances.) p is one-sided (effect > 0) for t and the
upper tail for F; z comes from ``log p`` so it stays finite for very strong effects.
A run whose variance is zero at a voxel (constant data there) gets zero weight at that voxel
in the precision-weighted combination (nilearn clamps it to 1e-16, which gives it all the
weight); voxels with zero variance in every run get stat 0, p 1, z 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special

from ..errors import ContrastError
from . import distributions as dist
from .pvalues import Z_CLIP, z_from_logp
from .results import ContrastEstimate, ContrastResult
from .threads import elementwise

#: Variances below this are treated as zero (as nilearn's ``tiny``).
TINY_VARIANCE = 1e-16


def fixed_effects(
    results: Sequence[ContrastResult | ContrastEstimate],
    *,
    name: str,
    label: str,
    precision_weighted: bool = True,
    run_names: Sequence[str] | None = None,
) -> ContrastResult:
    """Combine one contrast computed on several runs (same voxels) by fixed effects.

    Parameters
    ----------
    results : sequence of ContrastResult or ContrastEstimate
        One per run, all t or all F with the same number of rows and voxels (only their
        effects, covariances and degrees of freedom are used).
    name, label : str
        Name and file-name label of the combined contrast.
    precision_weighted : bool
        Inverse-covariance weighting (default) or plain averaging; see the module docstring.
    run_names : sequence of str or None
        Used to name the columns when the runs' designs differ (default ``run-1``, ...).

    Returns
    -------
    ContrastResult
        ``effect`` (q, v), ``variance`` (q, q, v), ``stat``, ``p``, ``z`` (v,),
        ``dof = sum dof_i``, ``df_num = q`` for F. ``weights``/``columns`` are the runs'
        when all runs share them; otherwise the runs' weights side by side over columns named
        ``<run>:<column>``.

    Raises
    ------
    ContrastError
        No results, or results that disagree on statistic type, rows or voxel count.
    """
    results = list(results)
    if not results:
        raise ContrastError(f"contrast '{name}': no runs to combine.")
    first = results[0]
    for i, r in enumerate(results[1:], start=2):
        if r.stat_type != first.stat_type or r.effect.shape != first.effect.shape:
            raise ContrastError(
                f"contrast '{name}': run {i} gives a {r.stat_type} contrast with effect shape "
                f"{r.effect.shape} but run 1 gives {first.stat_type} with {first.effect.shape}; "
                "fixed effects need the same contrast on the same voxels in every run."
            )
    q, v = first.effect.shape
    effects = np.stack([np.asarray(r.effect, dtype=np.float64) for r in results])  # (k, q, v)
    covs = np.stack([np.asarray(r.variance, dtype=np.float64) for r in results])  # (k, q, q, v)
    dof = float(sum(r.dof for r in results))
    weights, columns = _combined_weights(results, run_names)
    combine = _combine_one_row if q == 1 else _combine_rows
    effect, variance, precision, valid = combine(effects, covs, precision_weighted)
    stat = np.zeros(v)
    if first.stat_type == "t":
        stat[valid] = effect[0, valid] / np.sqrt(variance[0, 0, valid])
        p, z = elementwise(_t_p_and_z, stat, dof)
        df_num = 1
    else:
        df_num = q
        e = effect[:, valid].T
        stat[valid] = np.maximum(np.einsum("vi,vij,vj->v", e, precision[valid], e), 0.0) / q
        p, z = elementwise(_f_p_and_z, stat, q, dof)
    z = np.clip(z, -Z_CLIP, Z_CLIP)
    p[~valid] = 1.0
    z[~valid] = 0.0
    return ContrastResult(
        name=name,
        label=label,
        stat_type=first.stat_type,
        weights=weights,
        columns=columns,
        effect=effect,
        variance=variance,
        stat=stat,
        p=p,
        z=z,
        dof=dof,
        df_num=df_num,
    )


def _combine_one_row(
    effects: np.ndarray, covs: np.ndarray, precision_weighted: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Combined effect (1, v), variance (1, 1, v), its inverse (v, 1, 1) and valid voxels."""
    k = effects.shape[0]
    var_i = covs[:, 0, 0]  # (k, v)
    valid = np.any(var_i > TINY_VARIANCE, axis=0)
    if precision_weighted:
        # a run with zero variance at a voxel (constant data there) carries no information
        prec = np.where(var_i > TINY_VARIANCE, 1.0 / np.maximum(var_i, TINY_VARIANCE), 0.0)
        total = prec.sum(axis=0)
        var = np.where(valid, 1.0 / np.where(valid, total, 1.0), 0.0)
        eff = var * np.sum(effects[:, 0] * prec, axis=0)
    else:
        var = np.sum(covs[:, 0, 0], axis=0) / k**2
        eff = effects[:, 0].mean(axis=0)
    precision = np.where(var > 0, 1.0 / np.where(var > 0, var, 1.0), 0.0)
    return eff[None], var[None, None], precision[:, None, None], valid


def _combine_rows(
    effects: np.ndarray, covs: np.ndarray, precision_weighted: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Combined effect (q, v), covariance (q, q, v), its inverse (v, q, q) and valid voxels."""
    k = effects.shape[0]
    c = np.ascontiguousarray(np.moveaxis(covs, -1, 1))  # (k, v, q, q): fast batched inverses
    c = 0.5 * (c + np.swapaxes(c, -1, -2))
    if precision_weighted:
        prec = _inverse(c)  # (k, v, q, q)
        total = prec.sum(axis=0)  # (v, q, q)
        cov_v = _inverse(total)
        weighted = np.einsum("kvij,kjv->vi", prec, effects)
        eff_v = np.einsum("vij,vj->vi", cov_v, weighted)
    else:
        cov_v = c.sum(axis=0) / k**2
        total = _inverse(cov_v)
        eff_v = effects.mean(axis=0).T
    valid = np.trace(cov_v, axis1=1, axis2=2) > TINY_VARIANCE
    return eff_v.T, np.moveaxis(cov_v, 0, -1), total, valid


def _p_and_z(
    stat: np.ndarray, upper: np.ndarray, lower: np.ndarray, tails: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """Upper-tail p and its z; log ``tails`` (upper, lower) where a tail underflows double."""
    with np.errstate(divide="ignore"):
        log_upper, log_lower = np.log(upper), np.log(lower)
    tiny = upper < 1e-300
    if tiny.any():
        log_upper[tiny] = tails[0](stat[tiny])
    tiny = lower < 1e-300
    if tiny.any():
        log_lower[tiny] = tails[1](stat[tiny])
    return upper, z_from_logp(log_upper, log1mp=log_lower)


def _t_p_and_z(stat: np.ndarray, dof: float) -> tuple[np.ndarray, np.ndarray]:
    return _p_and_z(stat, special.stdtr(dof, -stat), special.stdtr(dof, stat), _t_tails(dof))


def _f_p_and_z(stat: np.ndarray, q: int, dof: float) -> tuple[np.ndarray, np.ndarray]:
    return _p_and_z(stat, special.fdtrc(q, dof, stat), special.fdtr(q, dof, stat), _f_tails(q, dof))


def _t_tails(dof: float) -> tuple:
    return (lambda x: dist.t_logsf(x, dof)), (lambda x: dist.t_logcdf(x, dof))


def _f_tails(q: int, dof: float) -> tuple:
    return (lambda x: dist.f_logsf(x, q, dof)), (lambda x: dist.f_logcdf(x, q, dof))


def _inverse(m: np.ndarray) -> np.ndarray:
    """Inverse of a stack of symmetric matrices; pseudo-inverse if any of them is singular."""
    try:
        with np.errstate(all="ignore"):
            inv = np.linalg.inv(m)
        if np.all(np.isfinite(inv)):
            return inv
    except np.linalg.LinAlgError:
        pass
    return np.linalg.pinv(m, hermitian=True)


def _combined_weights(
    results: list[ContrastResult | ContrastEstimate], run_names: Sequence[str] | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    first = results[0]
    same = all(
        tuple(r.columns) == tuple(first.columns)
        and np.shape(r.weights) == np.shape(first.weights)
        and np.allclose(r.weights, first.weights)
        for r in results
    )
    if same:
        return np.asarray(first.weights, dtype=np.float64), tuple(first.columns)
    names = (
        list(run_names) if run_names is not None else [f"run-{i + 1}" for i in range(len(results))]
    )
    if len(names) != len(results):
        raise ContrastError(f"{len(names)} run names for {len(results)} runs.")
    weights = np.hstack([np.atleast_2d(r.weights) for r in results])
    columns = tuple(
        f"{run}:{col}" for run, r in zip(names, results, strict=True) for col in r.columns
    )
    return weights, columns
