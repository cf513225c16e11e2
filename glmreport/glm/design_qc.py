"""Quality checks of a design and its contrasts: collinearity and efficiency.

Pure functions of arrays: a caller passes ``design.matrix`` (n, p), ``design.columns`` and a
contrast's ``weights`` (q, p).

- :func:`vif`: variance inflation factor of each non-constant column (as statsmodels'
  ``variance_inflation_factor``);
- :func:`design_correlation`: correlation between the design's columns;
- :func:`efficiency`: ``1 / c (X'X)⁺ c'`` of a contrast (F: the A-optimality generalisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ContrastError, DesignError
from .contrasts import ESTIMABLE_RTOL

__all__ = ["DesignCorrelation", "design_array", "design_correlation", "efficiency", "vif"]


# --------------------------------------------------------------------------------------------
# collinearity


def vif(
    design_matrix: np.ndarray, columns: tuple[str, ...] | list[str], *, standardize: bool = False
) -> dict[str, float]:
    """Variance inflation factor of every non-constant column of a design.

    ``VIF_j = 1 / (1 - R²_j)``, with ``R²_j`` the R² of the least-squares regression of
    column j on all the other columns, the constant column included when there is one. This
    is statsmodels' ``variance_inflation_factor(X, j)`` (statsmodels <= 0.14, and
    ``standardize=False`` from 0.15), including its choice of R²: centred when the other
    columns contain a constant (a column of one non-zero value, or an implicit one: a
    combination of columns equal to a constant), uncentred otherwise. ``VIF_j`` is then the
    variance of β̂_j relative to its variance were column j orthogonal to the others
    (orthogonal to the others' mean-centred space when they contain the constant), so a
    pure cell-means design (one indicator per group, no intercept) gets VIF 1 for each.

    Parameters
    ----------
    design_matrix : (n, p) ndarray
    columns : sequence of str
        The p column names.
    standardize : bool
        Standardise the columns to mean 0 and SD 1 first (statsmodels >= 0.15's default).
        That implicitly adds the constant to every regression, which changes nothing for a
        design with an intercept but makes the indicators of a cell-means design, or the
        subject columns of a paired design, look perfectly collinear (their centred values
        are); it is therefore off by default.

    Returns
    -------
    dict of str -> float
        VIF of each non-constant column (a column whose values are all equal, such as the
        intercept, has none), in column order. ``inf`` where the column is a linear
        combination of the others (the design is rank-deficient and β̂_j is not estimable;
        statsmodels returns a huge number or ``inf`` there); 1.0 for a single column.

    Raises
    ------
    DesignError
        Wrong shape, names that do not match, or non-finite values.
    """
    x = design_array(design_matrix, columns)
    constant = np.ptp(x, axis=0) == 0 if len(x) else np.ones(x.shape[1], dtype=bool)
    work = x.copy()
    if standardize:
        std, mean = x.std(axis=0), x.mean(axis=0)
        safe = std > 1e-10  # statsmodels' rule
        work[:, safe] = (x[:, safe] - mean[safe]) / std[safe]
    out: dict[str, float] = {}
    for j, name in enumerate(columns):
        if not constant[j]:
            out[str(name)] = _vif_one(work, j)
    return out


def _vif_one(x: np.ndarray, j: int) -> float:
    """VIF of column j of x (statsmodels' OLS R² convention)."""
    target = x[:, j]
    others = np.delete(x, j, axis=1)
    if others.shape[1] == 0:
        return 1.0
    rank_others = np.linalg.matrix_rank(others)
    if np.linalg.matrix_rank(np.column_stack([others, target])) == rank_others:
        return float("inf")
    resid = target - others @ (np.linalg.pinv(others) @ target)
    ssr = float(resid @ resid)
    if _has_constant(others, rank_others):
        centred = target - target.mean()
        tss = float(centred @ centred)
    else:
        tss = float(target @ target)
    r2 = 1.0 - ssr / tss
    return float(1.0 / (1.0 - r2))


def _has_constant(x: np.ndarray, rank: int) -> bool:
    """statsmodels' constant detection: a non-zero constant column, or an implicit one."""
    const = np.flatnonzero(np.ptp(x, axis=0) == 0)
    if any(x[:, k].mean() != 0 for k in const):
        return True
    augmented = np.column_stack([np.ones(len(x)), x])
    return bool(np.linalg.matrix_rank(augmented) == rank)


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignCorrelation:
    """Pearson correlation between the columns of a design.

    Attributes
    ----------
    columns : tuple of str
        The p column names.
    matrix : (p, p) ndarray of float64
        ``matrix[i, j]`` = correlation of columns i and j over the inputs; NaN in the row and
        column of a constant column (the intercept), whose correlation is undefined.
    constant : tuple of str
        Names of the constant columns.
    note : str
        What NaN means, for a figure caption ("" when no column is constant).
    """

    columns: tuple[str, ...]
    matrix: np.ndarray
    constant: tuple[str, ...]
    note: str


def design_correlation(
    design_matrix: np.ndarray, columns: tuple[str, ...] | list[str]
) -> DesignCorrelation:
    """Correlation matrix of the design's columns, constant columns marked.

    Parameters
    ----------
    design_matrix : (n, p) ndarray
    columns : sequence of str

    Returns
    -------
    DesignCorrelation
        The diagonal is 1 for non-constant columns; rows and columns of constant columns are
        NaN.

    Raises
    ------
    DesignError
        Wrong shape, names that do not match, or non-finite values.
    """
    x = design_array(design_matrix, columns)
    centred = x - x.mean(axis=0)
    norm = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    constant = (np.ptp(x, axis=0) == 0) | (norm == 0) if len(x) else np.ones(x.shape[1], bool)
    safe = np.where(constant, 1.0, norm)
    unit = centred / safe
    corr = np.clip(unit.T @ unit, -1.0, 1.0)
    corr[constant, :] = np.nan
    corr[:, constant] = np.nan
    np.fill_diagonal(corr, np.where(constant, np.nan, 1.0))
    names = tuple(str(c) for c in np.asarray(columns, dtype=object)[constant])
    note = f"{', '.join(names)}: constant, no correlation (shown blank)." if names else ""
    return DesignCorrelation(
        columns=tuple(str(c) for c in columns), matrix=corr, constant=names, note=note
    )


# --------------------------------------------------------------------------------------------
# contrast efficiency


def efficiency(
    design_matrix: np.ndarray,
    weights: np.ndarray,
    *,
    criterion: Literal["A", "D"] = "A",
) -> float:
    """Efficiency of a contrast on a design (Dale 1999; Friston et al. 1999).

    t contrast ``c`` (one row): ``1 / (c (X'X)⁺ c')``, the inverse of the variance of ``c β̂``
    in units of the error variance σ²: doubling it halves the contrast's variance. F contrast
    (q rows ``C``), ``criterion``:

    ``"A"`` (default)
        ``q / trace(C (X'X)⁺ C')``: the inverse of the mean variance factor of the rows
        (A-optimality; Atkinson & Donev 1992), equal to the t definition for one row.
    ``"D"``
        ``det(C (X'X)⁺ C')^(-1/q)``: the inverse geometric mean of the eigenvalues
        (D-optimality), invariant to rotations of the rows; needs linearly independent rows.

    The value scales with the design's and the weights' units (1 / (weights × column unit)²),
    so compare efficiencies of contrasts on the same columns, or of designs for one contrast.

    Parameters
    ----------
    design_matrix : (n, p) ndarray
    weights : (p,) or (q, p) ndarray
    criterion : {'A', 'D'}
        Only matters for q > 1.

    Returns
    -------
    float
        > 0.

    Raises
    ------
    ContrastError
        Weights of the wrong width, a contrast that is not estimable (its variance is
        infinite: no row of the design determines it), or dependent rows under ``"D"``.
    """
    x = design_array(design_matrix, None)
    c = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if c.ndim != 2 or c.shape[1] != x.shape[1] or not np.all(np.isfinite(c)):
        raise ContrastError(
            f"contrast weights of shape {np.shape(weights)} for a design of {x.shape[1]} "
            "columns; expected finite weights of that width."
        )
    pinv = np.linalg.pinv(x)
    err = np.linalg.norm(c @ pinv @ x - c, axis=1)
    if np.any(err > ESTIMABLE_RTOL * np.maximum(np.linalg.norm(c, axis=1), 1e-300)):
        raise ContrastError("the contrast is not estimable on this design: efficiency 0.")
    m = c @ (pinv @ pinv.T) @ c.T  # pinv(X) pinv(X)' == pinv(X'X)
    m = 0.5 * (m + m.T)
    q = c.shape[0]
    if criterion == "A":
        return float(q / np.trace(m))
    if criterion == "D":
        if np.linalg.matrix_rank(c) < q:
            raise ContrastError("D-efficiency needs linearly independent contrast rows.")
        _sign, logdet = np.linalg.slogdet(m)
        return float(np.exp(-logdet / q))
    raise ValueError(f"criterion must be 'A' or 'D'; got {criterion!r:.20}.")


# --------------------------------------------------------------------------------------------
# argument checks


def design_array(
    design_matrix: np.ndarray, columns: tuple[str, ...] | list[str] | None
) -> np.ndarray:
    """The design as a finite float (n, p) array, ``p >= 1``, with ``columns`` of its width.

    Raises
    ------
    DesignError
    """
    x = np.asarray(design_matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise DesignError(f"a design matrix must be 2D (n, p) with p >= 1; got shape {x.shape}.")
    if columns is not None and len(columns) != x.shape[1]:
        raise DesignError(f"{len(columns)} column names for a design of {x.shape[1]} columns.")
    if not np.all(np.isfinite(x)):
        raise DesignError("the design matrix contains missing or infinite values.")
    return x
