"""Non-sphericity correction of a within-subject ANOVA: estimate, whiten, fit.

The second-level ``anova`` design with a subject column has one cell-mean column per
combination of the within-subject factors' levels and one column per subject (nuisance). With
``model.nonsphericity: true`` its error covariance is modelled as SPM does (see
:mod:`glmreport.glm.nonsphericity`): one variance per cell and one covariance per pair of cells
within subject, estimated by ReML from the voxels pooled by the omnibus F (every in-mask voxel
when fewer than 1000 pass), then the model is refitted on whitened data. t and F contrasts of
the whitened fit are computed as usual; their degrees of freedom are the whitened model's
(``n - rank`` when the whitening is exact, as SPM).

What is reported: the covariance between the cells on the scale of ``V`` -- with subject
columns only its within-subject part (``C' S C`` for contrasts ``C`` of the cells) is
identified, a common covariance added to every entry changes no test -- and the
Greenhouse-Geisser epsilon of all the cells and, for several factors, of each main effect and
interaction (Greenhouse & Geisser 1959), a diagnostic of how far from spherical the errors are.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DesignError
from .covariance import greenhouse_geisser, variance_components
from .nonsphericity import NonSphericity, estimate_nonsphericity, fit_whitened, whitening_matrix
from .reml import residual_basis
from .results import DesignMatrix, GLMFit

__all__ = ["WithinSubjectFit", "effect_contrasts", "fit_within_subject"]

#: The key of the epsilon of every cell contrast in :attr:`WithinSubjectFit.epsilons`.
ALL_CELLS = "all cells"


@dataclass(frozen=True, slots=True, kw_only=True)
class WithinSubjectFit:
    """A within-subject ANOVA fitted on whitened data.

    Attributes
    ----------
    fit : GLMFit
        The whitened fit (``noise_model == "nonsphericity"``); contrasts use it unchanged.
    estimate : NonSphericity
        The error covariance estimate.
    epsilons : dict of str to float
        Greenhouse-Geisser epsilon of the estimated covariance: ``"all cells"`` and, with
        several factors, each main effect (``"A"``) and interaction (``"A x B"``).
    """

    fit: GLMFit
    estimate: NonSphericity
    epsilons: dict[str, float]

    def summary(self) -> dict[str, Any]:
        """JSON-ready fields for ``summary.json`` (``model.second.nonsphericity``)."""
        est = self.estimate
        return {
            "levels": list(est.levels),
            "covariance": [[float(x) for x in row] for row in est.level_covariance],
            "epsilon_gg": float(est.epsilon_gg),
            "epsilon_by_effect": {k: float(v) for k, v in self.epsilons.items() if k != ALL_CELLS},
            "dof": float(self.fit.dof),
            "n_voxels_pooled": int(est.n_voxels_pooled),
            "selection": est.selection,
            "iterations": int(est.iterations),
            "converged": bool(est.converged),
            "hyperparameters": {k: float(v) for k, v in est.hyperparameters.items()},
        }


def fit_within_subject(
    data: np.ndarray,
    design: DesignMatrix,
    *,
    cells: Sequence[str],
    subjects: Sequence[str],
    factors: Mapping[str, Sequence[str]] | None = None,
) -> WithinSubjectFit:
    """Estimate the error covariance of a within-subject design and fit it whitened.

    Parameters
    ----------
    data : (n, v) ndarray
        One row per input, one column per in-mask voxel.
    design : DesignMatrix
        Its ``nuisance`` columns are the subject columns (the omnibus F's reduced model).
    cells : (n,) sequence of str
        The cell of each row (the within-subject level).
    subjects : (n,) sequence of str
        The subject of each row.
    factors : mapping of str to (n,) sequence of str, optional
        Each within-subject factor's level of each row, for the epsilon of every effect
        (several factors only).

    Returns
    -------
    WithinSubjectFit

    Raises
    ------
    DesignError
        Fewer than 3 cells (2 cells within subject are always spherical), a subject with two
        inputs in one cell, or an estimate that cannot be made.
    """
    if len(set(cells)) < 3:
        raise DesignError(
            f"non-sphericity correction needs at least 3 within-subject cells; this design has "
            f"{len(set(cells))}: with 2 the only within-subject difference is always spherical "
            "(epsilon = 1). Leave model.nonsphericity out."
        )
    components = variance_components(list(cells), list(subjects))
    nuisance = [design.columns.index(c) for c in design.nuisance]
    estimate = estimate_nonsphericity(data, design.matrix, components, nuisance=nuisance)
    whitened = fit_whitened(
        data, design.matrix, whitening_matrix(estimate.V), covariance=estimate.V
    )
    fit = GLMFit(
        design=design,
        betas=whitened.betas,
        sigma2=whitened.sigma2,
        dof=whitened.dof,
        cov_unscaled=whitened.cov_unscaled,
        groups=None,
        noise_model=whitened.noise_model,
    )
    epsilons = {ALL_CELLS: float(estimate.epsilon_gg)}
    if factors is not None and len(factors) > 1:
        for name, contrasts in effect_contrasts(cells, factors, estimate.levels).items():
            epsilons[name] = greenhouse_geisser(estimate.level_covariance, contrasts)
    return WithinSubjectFit(fit=fit, estimate=estimate, epsilons=epsilons)


def effect_contrasts(
    cells: Sequence[str], factors: Mapping[str, Sequence[str]], levels: Sequence[str]
) -> dict[str, np.ndarray]:
    """Contrasts over the cells spanning each main effect and interaction of the factors.

    Parameters
    ----------
    cells : (n,) sequence of str
        The cell of each row.
    factors : mapping of str to (n,) sequence of str
        Each factor's level of each row.
    levels : sequence of str
        The cells in the order of the rows of the returned matrices.

    Returns
    -------
    dict of str to (k, r) ndarray
        ``"A"``, ``"B"``, ``"A x B"`` ...: for effect ``S``, the row of a cell is the Kronecker
        product over the factors of its level's row of an orthonormal basis of the centred
        contrasts (factors in ``S``) or 1 (the others).
    """
    names = list(factors)
    sorted_levels = {f: sorted(set(map(str, factors[f]))) for f in names}
    cell_levels: dict[str, tuple[str, ...]] = {}
    for i, cell in enumerate(cells):
        cell_levels.setdefault(str(cell), tuple(str(factors[f][i]) for f in names))
    bases = {f: residual_basis(np.ones((len(sorted_levels[f]), 1))) for f in names}
    out: dict[str, np.ndarray] = {}
    for size in range(1, len(names) + 1):
        for effect in itertools.combinations(names, size):
            rows = []
            for cell in levels:
                row = np.ones(1)
                for f, value in zip(names, cell_levels[cell], strict=True):
                    part = bases[f][sorted_levels[f].index(value)] if f in effect else np.ones(1)
                    row = np.kron(row, part)
                rows.append(row)
            out[" x ".join(effect)] = np.array(rows)
    return out
