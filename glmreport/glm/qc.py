"""Quality checks of a design, its contrasts, its inputs and its mask.

Pure functions of arrays (no result class is imported): a caller passes
``design.matrix`` (n, p) and ``design.columns``, a contrast's ``weights`` (q, p), the inputs'
in-mask data (n, v), a contrast's p values (v,), and masks with their affines.

- :func:`vif`: variance inflation factor of each non-constant column (as statsmodels'
  ``variance_inflation_factor``);
- :func:`efficiency`: ``1 / c (X'X)⁺ c'`` of a contrast (F: the A-optimality generalisation);
- :func:`design_correlation`: correlation between the design's columns;
- :func:`input_outliers`: each input's distance from the group (studentised residuals) with a
  robust z-score and a flag;
- :func:`p_value_histogram`: histogram of a contrast's p values and Storey's π0;
- :func:`mask_coverage`: how much of a template brain the analysis mask covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import ContrastError, DesignError, InputError
from ..inputs.resample import resample_nearest

#: Relative tolerance of the estimability check ``c pinv(X) X == c`` (as the contrasts').
ESTIMABLE_RTOL = 1e-8
#: A voxel whose residual sum of squares is at most this fraction of its sum of squares is
#: fitted exactly (as the OLS fit's rule); it carries no residual information.
EXACT_FIT_RTOL = 1e-20
#: Modified z-score beyond which an input is flagged (Iglewicz & Hoaglin 1993).
OUTLIER_Z = 3.5
#: Largest number of histogram bins.
MAX_BINS = 1000


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
    x = _design(design_matrix, columns)
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
    x = _design(design_matrix, columns)
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
    x = _design(design_matrix, None)
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
# inputs


def input_outliers(
    data: np.ndarray,
    design_matrix: np.ndarray,
    *,
    threshold: float = OUTLIER_Z,
    chunk_size: int = 50_000,
) -> pd.DataFrame:
    """Distance of each input from the group: mean squared studentised residual, robust z.

    The design is fitted by least squares at every voxel; input i's residual at voxel k is
    studentised, ``s_ik = r_ik / (σ̂_k sqrt(1 - h_i))`` with ``σ̂_k² = RSS_k / (n - rank X)``
    and ``h_i`` the input's leverage (diagonal of the hat matrix), so that ``E[s_ik²] = 1``
    for every input under the model. The **measure** is the mean of ``s_ik²`` over the
    voxels with residual variance (exactly fitted voxels left out): about 1 for a typical
    input, large for an input far from what the design predicts for it (a noisy map, a
    shifted or misregistered one), small for an unusually flat one. Inputs are compared with
    the modified z-score of Iglewicz & Hoaglin (1993) computed on ``log(measure)`` (a ratio
    of variances: half as far from typical is as far as twice),
    ``0.6745 (x_i - median(x)) / MAD(x)``, and **flagged** when ``|z| > threshold`` (3.5, their
    recommendation). The z is relative to the spread between this study's inputs, not to the
    sampling error of the measure, so inputs that differ naturally in noise are not flagged.
    When MAD is 0, the mean absolute deviation times ``sqrt(pi / 2)`` replaces ``1.4826 MAD``.

    False flags: the MAD of a few values is noisy, so on clean data (i.i.d. Gaussian inputs,
    2e4 simulated studies each) about 1.7 % of inputs are flagged for n = 10, 0.64 % for
    n = 20, 0.27 % for n = 40 and 0.13 % for n = 80, i.e. about one clean study in ten shows
    one flagged input whatever n: a flag asks for a look at the input, it does not reject it.

    Parameters
    ----------
    data : (n, v) ndarray
        In-mask data, one row per input (the values the design is fitted to).
    design_matrix : (n, p) ndarray
        E.g. ``fit.design.matrix``.
    threshold : float
        Flag inputs with ``|robust_z| >`` this.
    chunk_size : int
        Voxels processed at once (memory bound).

    Returns
    -------
    DataFrame
        One row per input, in input order: ``input`` (0-based index), ``leverage`` (h_i),
        ``measure`` (mean squared studentised residual), ``robust_z``, ``flagged`` (bool).
        An input of leverage 1 (fitted exactly, e.g. the only member of a group) has no
        residual: measure and z are NaN, never flagged; with fewer than 3 finite measures
        every z is NaN.

    Raises
    ------
    DesignError
        Shapes that do not match, or no residual degrees of freedom.
    """
    y = np.asarray(data)
    x = _design(design_matrix, None)
    if y.ndim != 2 or y.shape[0] != x.shape[0]:
        raise DesignError(
            f"data of shape {y.shape} for a design of {x.shape[0]} rows; expected "
            "(n_inputs, n_voxels) with one row per design row."
        )
    n = x.shape[0]
    dof = n - int(np.linalg.matrix_rank(x))
    if dof <= 0:
        raise DesignError(f"{n} inputs, design rank {n - dof}: no residual degrees of freedom.")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}.")
    hat = x @ np.linalg.pinv(x)
    leverage = np.clip(np.diag(hat), 0.0, 1.0)
    resid_op = np.eye(n) - hat
    total = np.zeros(n)
    n_used = 0
    for start in range(0, y.shape[1], chunk_size):
        block = np.asarray(y[:, start : start + chunk_size], dtype=np.float64)
        r = resid_op @ block
        rss = np.einsum("ij,ij->j", r, r)
        keep = rss > EXACT_FIT_RTOL * np.einsum("ij,ij->j", block, block)
        total += np.sum(r[:, keep] ** 2 / (rss[keep] / dof), axis=1)
        n_used += int(keep.sum())
    fitted = leverage > 1.0 - 1e-10
    with np.errstate(invalid="ignore", divide="ignore"):
        measure = np.where(fitted | (n_used == 0), np.nan, total / max(n_used, 1) / (1 - leverage))
    z = robust_z(np.log(measure))
    return pd.DataFrame(
        {
            "input": np.arange(n),
            "leverage": leverage,
            "measure": measure,
            "robust_z": z,
            "flagged": np.abs(np.nan_to_num(z, nan=0.0)) > threshold,
        }
    )


def robust_z(values: np.ndarray) -> np.ndarray:
    """Modified z-scores ``0.6745 (x - median) / MAD`` (Iglewicz & Hoaglin 1993).

    Parameters
    ----------
    values : (n,) ndarray
        NaN values are ignored and get NaN.

    Returns
    -------
    (n,) ndarray
        NaN everywhere when fewer than 3 values are finite; when MAD is 0 the scale is
        ``sqrt(pi / 2)`` times the mean absolute deviation from the median, and 0 everywhere
        when that is 0 too.
    """
    x = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(x)
    out = np.full(x.shape, np.nan)
    if ok.sum() < 3:
        return out
    med = np.median(x[ok])
    dev = np.abs(x[ok] - med)
    mad = np.median(dev)
    if mad > 0:
        out[ok] = 0.6744897501960817 * (x[ok] - med) / mad
        return out
    mean_ad = dev.mean()
    out[ok] = 0.0 if mean_ad == 0 else (x[ok] - med) / (np.sqrt(np.pi / 2) * mean_ad)
    return out


# --------------------------------------------------------------------------------------------
# p values


@dataclass(frozen=True, slots=True, kw_only=True)
class PValueHistogram:
    """Histogram of a contrast's p values over the mask, with Storey's π0.

    Attributes
    ----------
    counts : (bins,) ndarray of int64
    edges : (bins + 1,) ndarray of float64
        From 0 to 1.
    pi0 : float
        Estimated proportion of true null voxels, ``#{p > λ} / ((1 - λ) m)`` capped at 1:
        about 1 without signal, lower the more voxels carry an effect. NaN when ``m == 0``.
    lambda_ : float
        Storey's λ.
    n : int
        Number of (finite) p values, m.
    """

    counts: np.ndarray
    edges: np.ndarray
    pi0: float
    lambda_: float
    n: int


def p_value_histogram(p: np.ndarray, bins: int = 20, *, lambda_: float = 0.5) -> PValueHistogram:
    """Histogram of p values and Storey's estimate of the null proportion π0.

    ``π0 = min(1, #{p > λ} / ((1 - λ) m))`` with λ = 0.5 (Storey 2002; Storey & Tibshirani
    2003): null p values are uniform, so the bins above λ hold about ``π0 m (1 - λ)`` of them.
    Its standard error under the null is about ``sqrt(λ / ((1 - λ) m))`` (1/sqrt(m) for
    λ = 0.5). Pass p values whose null distribution is uniform and whose effects are small:
    two-sided p for a t contrast (one-sided p of an effect in the other direction sit near 1
    and push π0 to 1).

    Parameters
    ----------
    p : (v,) ndarray
        p values in [0, 1]; NaN are ignored.
    bins : int
        Number of equal bins on [0, 1], 1..``MAX_BINS``.
    lambda_ : float
        In [0, 1).

    Returns
    -------
    PValueHistogram

    Raises
    ------
    ValueError
        p values outside [0, 1], or bins / λ out of range.
    """
    p = np.asarray(p, dtype=np.float64).ravel()
    p = p[~np.isnan(p)]
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"p values must lie in [0, 1]; got {p.min():.3g}..{p.max():.3g}.")
    if not (isinstance(bins, int | np.integer) and 1 <= bins <= MAX_BINS):
        raise ValueError(f"bins must be an integer in 1..{MAX_BINS}; got {bins!r:.40}.")
    if not (0.0 <= lambda_ < 1.0):
        raise ValueError(f"lambda_ must lie in [0, 1); got {lambda_!r:.40}.")
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    counts, _ = np.histogram(p, bins=edges)
    m = int(p.size)
    pi0 = min(1.0, float(np.sum(p > lambda_)) / ((1.0 - lambda_) * m)) if m else float("nan")
    return PValueHistogram(
        counts=counts.astype(np.int64), edges=edges, pi0=pi0, lambda_=float(lambda_), n=m
    )


# --------------------------------------------------------------------------------------------
# mask


@dataclass(frozen=True, slots=True, kw_only=True)
class MaskCoverage:
    """How the analysis mask covers a template brain mask.

    Attributes
    ----------
    fraction_covered : float
        Fraction of the template's brain voxels (on the template grid) whose nearest analysis
        voxel is in the mask, i.e. the fraction of the template brain's volume analysed.
    n_template_voxels : int
        Brain voxels of the template (template grid).
    n_mask_voxels : int
        Voxels of the analysis mask (analysis grid).
    n_outside : int
        Analysis-mask voxels whose nearest template voxel is not brain (or outside the
        template's field of view).
    fraction_outside : float
        ``n_outside / n_mask_voxels`` (NaN for an empty mask).
    """

    fraction_covered: float
    n_template_voxels: int
    n_mask_voxels: int
    n_outside: int
    fraction_outside: float


def mask_coverage(
    mask: np.ndarray,
    affine: np.ndarray,
    template_mask: np.ndarray,
    template_affine: np.ndarray,
) -> MaskCoverage:
    """Coverage of a template brain by the analysis mask, by nearest neighbour in world space.

    Each question is answered on the grid it is about: the covered fraction on the template
    grid (the analysis mask resampled to it), so that it is a fraction of the template brain's
    volume even when the two grids differ in voxel size or the analysis field of view cuts the
    template; the voxels outside the template on the analysis grid (the template resampled to
    it).

    Parameters
    ----------
    mask : (X, Y, Z) ndarray of bool
        Analysis mask.
    affine : (4, 4) ndarray
        Its voxel-to-world (mm) affine.
    template_mask : (X', Y', Z') ndarray of bool
        Template brain mask.
    template_affine : (4, 4) ndarray

    Returns
    -------
    MaskCoverage

    Raises
    ------
    InputError
        A mask that is not 3D, an affine that is not an invertible finite 4 x 4 matrix, or an
        empty template mask.
    """
    m = _mask3d(mask, "mask")
    t = _mask3d(template_mask, "template mask")
    a = _affine(affine, "mask")
    ta = _affine(template_affine, "template mask")
    n_template = int(t.sum())
    if n_template == 0:
        raise InputError("the template mask is empty; expected its brain voxels set.")
    mask_on_template = resample_nearest(m, a, t.shape, ta, fill=False)
    template_on_mask = resample_nearest(t, ta, m.shape, a, fill=False)
    n_mask = int(m.sum())
    n_outside = int(np.sum(m & ~template_on_mask))
    return MaskCoverage(
        fraction_covered=float(np.sum(t & mask_on_template)) / n_template,
        n_template_voxels=n_template,
        n_mask_voxels=n_mask,
        n_outside=n_outside,
        fraction_outside=n_outside / n_mask if n_mask else float("nan"),
    )


# --------------------------------------------------------------------------------------------
# argument checks


def _design(design_matrix: np.ndarray, columns: tuple[str, ...] | list[str] | None) -> np.ndarray:
    x = np.asarray(design_matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise DesignError(f"a design matrix must be 2D (n, p) with p >= 1; got shape {x.shape}.")
    if columns is not None and len(columns) != x.shape[1]:
        raise DesignError(f"{len(columns)} column names for a design of {x.shape[1]} columns.")
    if not np.all(np.isfinite(x)):
        raise DesignError("the design matrix contains missing or infinite values.")
    return x


def _mask3d(mask: np.ndarray, what: str) -> np.ndarray:
    out = np.asarray(mask)
    if out.ndim != 3:
        raise InputError(f"the {what} must be a 3D image; got shape {out.shape}.")
    return out.astype(bool)


def _affine(affine: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4) or not np.all(np.isfinite(a)) or abs(np.linalg.det(a[:3, :3])) < 1e-12:
        raise InputError(f"the {what}'s affine must be an invertible finite 4 x 4 matrix.")
    return a
