"""Frozen results of the model: the design matrix, the fit and the contrasts.

Arrays are stored over the voxels inside the analysis mask (``v`` = number of in-mask
voxels, in C order of the 3D mask) unless a field says it is 3D.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config.vocabulary import StatType


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignMatrix:
    """A design matrix whose named columns are the contract with contrasts.

    Attributes
    ----------
    matrix : (n_rows, n_columns) ndarray of float64
    columns : tuple of str
        Column names, unique.
    description : str
        Human-readable model name, e.g. ``"one-sample t-test"``.
    row_labels : tuple of str
        One label per row (input file name or subject/condition), may be empty.
    nuisance : tuple of str
        Columns of no interest (e.g. subject means in a paired or ANOVA design).
    """

    matrix: np.ndarray
    columns: tuple[str, ...]
    description: str = ""
    row_labels: tuple[str, ...] = ()
    nuisance: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]

    def to_frame(self) -> pd.DataFrame:
        """Return the matrix as a DataFrame with named columns."""
        return pd.DataFrame(self.matrix, columns=list(self.columns))


@dataclass(frozen=True, slots=True, kw_only=True)
class GLMFit:
    """Least-squares fit of a design to the in-mask data.

    Attributes
    ----------
    design : DesignMatrix
    betas : (n_columns, v) ndarray
    sigma2 : (v,) ndarray
        Residual variance, RSS / dof.
    dof : float
        Residual degrees of freedom.
    cov_unscaled : (n_groups, n_columns, n_columns) ndarray
        ``pinv(X'X)`` (prewhitened X for AR models) for each voxel group.
    groups : (v,) ndarray of int or None
        Index into ``cov_unscaled`` for each voxel; ``None`` means every voxel uses group 0.
    noise_model : str
        ``"ols"`` or ``"ar1"``.
    """

    design: DesignMatrix
    betas: np.ndarray
    sigma2: np.ndarray
    dof: float
    cov_unscaled: np.ndarray
    groups: np.ndarray | None = None
    noise_model: str = "ols"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastEstimate:
    """A contrast's effect and its covariance at every in-mask voxel, without statistics.

    What a fixed-effects combination needs from each run (see
    :func:`glmreport.glm.fixed_effects.fixed_effects`): the fields of :class:`ContrastResult`
    less ``stat``, ``p``, ``z``, ``df_num`` and ``conjunction``, with the same meaning.

    Attributes
    ----------
    name : str
    label : str
    stat_type : {'t', 'F'}
    weights : (q, n_columns) ndarray
    columns : tuple of str
    effect : (q, v) ndarray
    variance : (q, q, v) ndarray
    dof : float
    """

    name: str
    label: str
    stat_type: StatType
    weights: np.ndarray
    columns: tuple[str, ...]
    effect: np.ndarray
    variance: np.ndarray
    dof: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastResult:
    """One t or F contrast evaluated at every in-mask voxel.

    Attributes
    ----------
    name : str
        As written by the user.
    label : str
        File-name-safe label (letters and digits only, camelCase), unique within a run.
    stat_type : {'t', 'F'}
    weights : (q, n_columns) ndarray
        Exactly the design's width; q == 1 for t.
    columns : tuple of str
        Design column names the weights are aligned to.
    effect : (q, v) ndarray
    variance : (q, q, v) ndarray
        Covariance of the effect estimate.
    stat : (v,) ndarray
        t or F value.
    p : (v,) ndarray
        One-sided p for t (H1: effect > 0), upper-tail p for F.
    z : (v,) ndarray
        Equivalent standard normal deviate of ``p`` (finite up to |z| >= 30).
    dof : float
        Denominator (error) degrees of freedom.
    df_num : int
        Numerator degrees of freedom (rank of the weights for F, 1 for t).
    conjunction : tuple of str
        A conjunction of t contrasts: their names (``weights``, ``effect`` and ``variance`` are
        then those of the components, one row each, and ``stat``, ``p`` and ``z`` the minimum
        statistic, see :mod:`glmreport.glm.conjunction`); empty for an ordinary contrast.
    """

    name: str
    label: str
    stat_type: StatType
    weights: np.ndarray
    columns: tuple[str, ...]
    effect: np.ndarray
    variance: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    z: np.ndarray
    dof: float
    df_num: int = 1
    conjunction: tuple[str, ...] = ()
