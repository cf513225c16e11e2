"""Quality checks of the inputs, a contrast's p values and the mask.

Pure functions of arrays (no result class is imported): a caller passes the inputs' in-mask
data (n, v) with ``design.matrix`` (n, p), a contrast's p values (v,), and masks with their
affines. The design's own checks (collinearity, efficiency) are in :mod:`.design_qc`.

- :func:`input_outliers`: each input's distance from the group (studentised residuals) with a
  robust z-score and a flag;
- :func:`p_value_histogram`: histogram of a contrast's p values and Storey's π0;
- :func:`mask_coverage`: how much of a template brain the analysis mask covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DesignError, InputError
from ..inputs.resample import resample_nearest
from .design_qc import design_array
from .ols import EXACT_FIT_RTOL

#: Modified z-score beyond which an input is flagged (Iglewicz & Hoaglin 1993).
OUTLIER_Z = 3.5
#: Largest number of histogram bins.
MAX_BINS = 1000


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
    x = design_array(design_matrix, None)
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
