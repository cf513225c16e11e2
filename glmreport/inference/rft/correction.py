"""Random field theory (RFT): family-wise error control by the expected Euler characteristic.

The statistic map is treated as a lattice sample of a smooth t, F or Gaussian (Z) random field
whose smoothness is estimated from the model residuals (:mod:`.smoothness`).
The numbers follow SPM12 (``spm_ECdensity``, ``spm_P_RF``, ``spm_P``, ``spm_uc``,
``spm_P_peakFDR``, ``spm_P_clusterFDR``, ``spm_list``):

**EC densities** (Worsley et al. 1996, Table II), in resel units, with ``a = 4 ln 2``:

- Z: ``ρ0 = 1 - Φ(u)``; ``ρ1 = a^½ e^{-u²/2} / (2π)``; ``ρ2 = a u e^{-u²/2} / (2π)^{3/2}``;
  ``ρ3 = a^{3/2} (u² - 1) e^{-u²/2} / (2π)²``.
- t (ν dof), ``c = (1 + u²/ν)^{-(ν-1)/2}``: ``ρ0 = P(T > u)``; ``ρ1 = a^½ c / (2π)``;
  ``ρ2 = a Γ((ν+1)/2) / (Γ(ν/2) (ν/2)^½) u c / (2π)^{3/2}``;
  ``ρ3 = a^{3/2} ((ν-1) u²/ν - 1) c / (2π)²``.
- F (k, ν dof), ``x = k u / ν``, ``s = (1 + x)^{-(ν+k-2)/2}``, ``G = Γ(ν/2) Γ(k/2)``:
  ``ρ0 = P(F > u)``; ``ρ1 = (a/2π)^½ 2^½ Γ((ν+k-1)/2)/G x^{(k-1)/2} s``;
  ``ρ2 = (a/2π) Γ((ν+k-2)/2)/G x^{(k-2)/2} s ((ν-1) x - (k-1))``;
  ``ρ3 = (a/2π)^{3/2} 2^{-½} Γ((ν+k-3)/2)/G x^{(k-3)/2} s
  ((ν-1)(ν-2) x² - (2νk - ν - k - 1) x + (k-1)(k-2))``.

**Expected Euler characteristic** of the excursion set above ``u`` in a search volume with
resel counts ``R0..R3``: ``E[χ_u] = Σ_{d=0..D} R_d max(ρ_d(u), eps)`` (SPM floors each density
at machine epsilon), where ``D`` is the highest dimension with a non-zero resel count (3 for
a volume).

**Voxel (peak) level**: ``P_FWE(u) = 1 - exp(-E[χ_u])`` (``spm_P_RF`` with ``c = 1, k = 0``),
and, as ``spm_P``, the smaller of this and the Bonferroni ``n_voxels · P(T > u)``. The FWE
height threshold solves ``1 - exp(-E[χ_u]) = alpha`` (``spm_uc_RF``, here with Brent's method
to 1e-12) and, as ``spm_uc``, takes the smaller of it and the Bonferroni threshold.

**Cluster level** (Friston et al. 1994, SPM's Gaussian form used for Z, t and F fields):
``E[c] = E[χ_u]`` clusters are expected above ``u``, each of ``E[n] = ρ0(u) / ρ_D(u)`` resels
on average; the extent ``N`` of a cluster has ``P(N ≥ n) = exp(-β n^{2/D})`` with
``β = (Γ(D/2 + 1) / E[n])^{2/D}`` (uncorrected cluster p) and
``P_FWE = 1 - exp(-E[c] P(N ≥ n))``. Extents are in resels, ``n = voxels / prod(FWHM)``
(stationary smoothness; SPM's default). **Set level**: the probability of ``c`` or more
clusters of at least ``k`` resels, ``1 - Σ_{i<c} Poisson(i; E[c] exp(-β k^{2/D}))``.

**FDR** (topological, Chumbley et al. 2010, SPM12's default): a cluster's q is the
Benjamini-Hochberg adjusted value of its uncorrected extent p among all clusters formed at the
cluster-forming height (before the extent filter); a peak's q is the BH adjusted value of its
uncorrected peak p ``E[χ_Z] / E[χ_u]`` among all local maxima (3x3x3 neighbourhood) of the
excursion set above ``u``.

**Two-sided t contrasts** test each tail at ``alpha / 2``: corrected p-values (voxel, cluster,
set) are doubled (capped at 1), clusters of negative t are formed below ``-u`` and reported
with ``sign == '-'``, uncorrected peak p are two-sided (``2 P(T > |t|)``) and the FDR families
pool both tails. F contrasts are one-sided (a two-sided request is ignored and noted in
``params``).

Differences from SPM12, all small: uncorrected peak p is the exact ``P(T > t)`` (SPM reports
``1 - exp(-P(T > t))``) and the equivalent Z is the contrast's z; the smoothness estimate
(see :mod:`.smoothness`) is stationary and includes the ``(ν-2)/(ν-1)`` factor; cluster FDR is
also given for F fields (SPM: t fields only).

**Outputs** (:func:`apply_rft`): ``extras`` of both results carry SPM's table footer, for the
clusters of that result (formed above its ``height_threshold_stat``):

- ``field`` (``"T"``, ``"F"`` or ``"Z"``), ``df`` ``[df_num, dof]``, ``dof``, ``two_sided``;
- ``height_threshold_stat`` / ``_z`` / ``_p_unc`` / ``_p_fwe``: the height ``u`` of the
  table (FWE threshold for ``rft``, cluster-forming threshold for ``rftCluster``) in T/F, z,
  uncorrected p and voxel-level FWE p;
- ``extent_threshold_voxels`` (``k``), ``extent_threshold_p_unc`` / ``_p_fwe`` (None if
  ``k = 0``); ``expected_voxels_per_cluster`` ``<k>``; ``expected_number_of_clusters``
  ``<c>``; ``set_level_c``, ``set_level_p``;
- ``fwe_p_stat`` (FWEp: the voxel-level FWE height threshold in T/F), ``fwe_p_rft_stat`` and
  ``fwe_p_bonferroni_stat`` (the two candidates), ``fdr_p_stat`` (FDRp: voxel-wise BH
  threshold in T/F, None when nothing survives), ``fwe_c_voxels`` (FWEc: smallest cluster
  with cluster-level FWE p <= alpha at this height), ``fdr_c_voxels`` (FDRc, None when no
  cluster survives topological FDR), ``peak_fdr`` (``"topological"``);
- smoothness: ``fwhm_mm``, ``fwhm_voxels``, ``voxel_size_mm``, ``resels`` ``[R0..R3]``,
  ``resel_size_voxels``, ``volume_voxels``, ``volume_mm3``, ``smoothness_source``
  (``"residuals"`` or ``"fwhm_mm"``), ``smoothness_dof``, ``smoothness_n_images``;
- ``rftCluster`` only: ``cluster_forming_p``, ``cluster_forming_threshold_stat`` / ``_z``,
  ``n_clusters_formed``.

Non-finite numbers are stored as None.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import ndimage, optimize, special, stats

from ...config.specs import CorrectionSpec
from ...errors import ConfigError
from ...glm.results import ContrastResult
from ..clusters import ClusterSet, apply_extent, find_clusters
from ..context import InferenceContext
from ..results import CorrectionResult
from ..scales import resolve_two_sided, stat_to_z, z_to_stat
from ..thresholds import fdr_threshold, make_correction
from .smoothness import Smoothness, estimate_smoothness, smoothness_from_fwhm

__all__ = [
    "RandomField",
    "apply_rft",
    "cluster_p_values",
    "critical_cluster_size",
    "ec_densities",
    "expected_clusters",
    "expected_ec",
    "height_threshold_fwe",
    "p_fwe_voxel",
    "set_level_p",
    "smoothness_for",
]

FOUR_LN2 = 4.0 * math.log(2.0)
EPS = float(np.finfo(np.float64).eps)
#: Default uncorrected p of the cluster-forming height threshold.
DEFAULT_CLUSTER_FORMING_P = 0.001

#: Extra columns of the clusters table (after CLUSTER_COLUMNS).
RFT_CLUSTER_COLUMNS = (
    "size_resels",
    "p_fwe",
    "q_fdr",
    "p_unc",
    "peak_p_fwe",
    "peak_q_fdr",
    "peak_p_unc",
)
#: Extra columns of the peaks table (after PEAK_COLUMNS).
RFT_PEAK_COLUMNS = ("p_fwe", "q_fdr", "p_unc")


# --------------------------------------------------------------------------------------------
# random fields and EC densities


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomField:
    """The kind of random field a statistic map is a sample of.

    Attributes
    ----------
    kind : {'Z', 't', 'F'}
    dof : float
        Error (denominator) degrees of freedom ν (t and F).
    df_num : int
        Numerator degrees of freedom k (F).
    """

    kind: Literal["Z", "t", "F"]
    dof: float = math.inf
    df_num: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("Z", "t", "F"):
            raise ValueError(f"kind must be 'Z', 't' or 'F'; got {self.kind!r}.")
        if self.kind in ("t", "F") and not self.dof > 0:
            raise ValueError(f"dof must be positive; got {self.dof!r}.")
        if self.kind == "F" and not math.isfinite(self.dof):
            raise ValueError("an F field needs finite error degrees of freedom.")

    @classmethod
    def for_contrast(cls, contrast: ContrastResult) -> RandomField:
        """The field of a contrast's statistic (Z for a t contrast with infinite dof)."""
        dof = float(contrast.dof)
        if contrast.stat_type == "F":
            return cls(kind="F", dof=dof, df_num=int(contrast.df_num))
        if not math.isfinite(dof):
            return cls(kind="Z")
        return cls(kind="t", dof=dof)

    @property
    def label(self) -> str:
        """``"Z"``, ``"T"`` or ``"F"``, as in SPM tables."""
        return {"Z": "Z", "t": "T", "F": "F"}[self.kind]

    @property
    def df(self) -> list[float]:
        """``[df_num, dof]`` as SPM reports it (``[1, inf]`` for Z)."""
        return [float(self.df_num), float(self.dof)]

    def sf(self, u: np.ndarray | float) -> np.ndarray:
        """Upper-tail probability ``P(X > u)`` at each ``u``."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "Z":
            return special.ndtr(-u)
        if self.kind == "t":
            return special.stdtr(self.dof, -u)
        return special.fdtrc(self.df_num, self.dof, np.maximum(u, 0.0))

    def isf(self, p: float) -> float:
        """The value ``u`` with ``P(X > u) = p`` (accurate for tiny p)."""
        z = float(stats.norm.isf(p))
        if self.kind == "Z":
            return z
        return float(z_to_stat(z, self.kind, self.dof, self.df_num))

    def to_z(self, u: np.ndarray | float) -> np.ndarray | float:
        """Equivalent standard normal deviate of ``u`` (same upper-tail p)."""
        if self.kind == "Z":
            return u
        return stat_to_z(u, self.kind, self.dof, self.df_num)

    def ec_densities(self, u: np.ndarray | float) -> np.ndarray:
        """EC densities ``ρ0..ρ3`` (per resel) at each height ``u``; see the module docstring.

        Returns
        -------
        (4, ...) ndarray
            ``out[d]`` has the shape of ``u``.
        """
        return ec_densities(u, self.kind, dof=self.dof, df_num=self.df_num)


def ec_densities(
    u: np.ndarray | float,
    kind: Literal["Z", "t", "F"],
    *,
    dof: float = math.inf,
    df_num: int = 1,
) -> np.ndarray:
    """Euler characteristic densities of Z, t and F fields (Worsley et al. 1996).

    Parameters
    ----------
    u : float or ndarray
        Heights, in the field's own units.
    kind : {'Z', 't', 'F'}
    dof : float
        Error degrees of freedom ν (t and F).
    df_num : int
        Numerator degrees of freedom k (F).

    Returns
    -------
    (4, ...) ndarray
        ``ρ0..ρ3`` in resel units (they include ``(4 ln 2)^{d/2}``), same formulas as SPM's
        ``spm_ECdensity``. For F fields, heights ``u <= 0`` give ``ρ0 = 1`` and
        ``ρ1..ρ3 = 0``.
    """
    u = np.asarray(u, dtype=np.float64)
    out = np.empty((4, *u.shape))
    a = FOUR_LN2
    two_pi = 2.0 * math.pi
    if kind == "Z":
        g = np.exp(-0.5 * u * u)
        out[0] = special.ndtr(-u)
        out[1] = math.sqrt(a) / two_pi * g
        out[2] = a / two_pi**1.5 * u * g
        out[3] = a**1.5 / two_pi**2 * (u * u - 1.0) * g
        return out
    if kind == "t":
        v = float(dof)
        if not math.isfinite(v):
            return ec_densities(u, "Z")
        c = np.exp(-0.5 * (v - 1.0) * np.log1p(u * u / v))
        ratio = math.exp(special.gammaln((v + 1.0) / 2.0) - special.gammaln(v / 2.0))
        out[0] = special.stdtr(v, -u)
        out[1] = math.sqrt(a) / two_pi * c
        out[2] = a / two_pi**1.5 * ratio / math.sqrt(v / 2.0) * u * c
        out[3] = a**1.5 / two_pi**2 * ((v - 1.0) * u * u / v - 1.0) * c
        return out
    if kind == "F":
        k = float(df_num)
        v = float(dof)
        pos = u > 0
        x = np.where(pos, k * np.where(pos, u, 1.0) / v, 1.0)
        logx = np.log(x)
        log_s = -0.5 * (v + k - 2.0) * np.log1p(x)
        lg = special.gammaln(v / 2.0) + special.gammaln(k / 2.0)
        b = a / two_pi
        rho1 = (
            math.sqrt(b)
            * math.sqrt(2.0)
            * np.exp(special.gammaln((v + k - 1.0) / 2.0) - lg + 0.5 * (k - 1.0) * logx + log_s)
        )
        rho2 = (
            b
            * np.exp(special.gammaln((v + k - 2.0) / 2.0) - lg + 0.5 * (k - 2.0) * logx + log_s)
            * ((v - 1.0) * x - (k - 1.0))
        )
        rho3 = (
            b**1.5
            / math.sqrt(2.0)
            * np.exp(special.gammaln((v + k - 3.0) / 2.0) - lg + 0.5 * (k - 3.0) * logx + log_s)
            * (
                (v - 1.0) * (v - 2.0) * x * x
                - (2.0 * v * k - v - k - 1.0) * x
                + (k - 1.0) * (k - 2.0)
            )
        )
        out[0] = np.where(pos, special.fdtrc(k, v, np.where(pos, u, 0.0)), 1.0)
        out[1] = np.where(pos, rho1, 0.0)
        out[2] = np.where(pos, rho2, 0.0)
        out[3] = np.where(pos, rho3, 0.0)
        return out
    raise ValueError(f"kind must be 'Z', 't' or 'F'; got {kind!r}.")


def _dims(resels: np.ndarray) -> int:
    """Number of resel counts up to the last non-zero one (``D + 1``; 4 for a volume)."""
    nz = np.flatnonzero(np.asarray(resels, dtype=np.float64) != 0)
    return int(nz[-1]) + 1 if nz.size else 1


def _clipped_ec(u: np.ndarray | float, resels: np.ndarray, field: RandomField) -> np.ndarray:
    """``max(ρ_d(u), eps)`` for d < D, shape (D, ...)."""
    d = _dims(resels)
    rho = field.ec_densities(u)[:d]
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(rho), np.inf, np.maximum(rho, EPS))


def expected_ec(u: np.ndarray | float, resels: np.ndarray, field: RandomField) -> np.ndarray:
    """Expected Euler characteristic ``Σ_d R_d max(ρ_d(u), eps)`` of the excursion set.

    Parameters
    ----------
    u : float or ndarray
        Heights.
    resels : (4,) array_like
        Resel counts ``R0..R3``.
    field : RandomField

    Returns
    -------
    ndarray
        Shape of ``u``; this is also SPM's expected number of clusters (maxima) above ``u``.
    """
    resels = np.asarray(resels, dtype=np.float64)
    d = _dims(resels)
    rho = _clipped_ec(u, resels, field)
    return np.tensordot(resels[:d], rho, axes=1)


def p_fwe_voxel(
    u: np.ndarray | float,
    resels: np.ndarray,
    field: RandomField,
    *,
    n_voxels: int | None = None,
) -> np.ndarray:
    """Voxel-level FWE-corrected p of heights ``u`` (one tail).

    Parameters
    ----------
    u : float or ndarray
        Heights (t, F or z values).
    resels : (4,) array_like
    field : RandomField
    n_voxels : int, optional
        Search volume in voxels; when given, the Bonferroni p ``n_voxels · P(X > u)`` caps the
        result, as SPM's ``spm_P``.

    Returns
    -------
    ndarray
        ``1 - exp(-E[χ_u])`` (shape of ``u``), in [0, 1].
    """
    ec = expected_ec(u, resels, field)
    p = -np.expm1(-ec)
    if n_voxels is not None:
        p = np.minimum(p, n_voxels * field.sf(u))
    return np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0)


def height_threshold_fwe(
    alpha: float,
    resels: np.ndarray,
    field: RandomField,
    *,
    n_voxels: int | None = None,
) -> dict[str, float]:
    """Height ``u`` with voxel-level ``P_FWE(u) = alpha`` (one tail).

    Parameters
    ----------
    alpha : float
    resels : (4,) array_like
    field : RandomField
    n_voxels : int, optional
        When given, the Bonferroni threshold is also computed and the smaller one is used
        (SPM's ``spm_uc``).

    Returns
    -------
    dict
        ``u`` (the threshold used), ``u_rft`` (random field threshold), ``u_bonferroni``
        (``inf`` when ``n_voxels`` is None).
    """
    resels = np.asarray(resels, dtype=np.float64)
    log_alpha = math.log(alpha)

    def g(u: float) -> float:
        p = float(p_fwe_voxel(u, resels, field))
        return math.log(max(p, 1e-300)) - log_alpha

    # bracket the root: P_FWE decreases from the median upwards (for any search volume of at
    # least one resel the uncorrected threshold already has P_FWE >= alpha)
    lo = field.isf(min(0.5, alpha))
    if g(lo) <= 0:
        lo = field.isf(0.5)
    hi = lo + 1.0
    while g(hi) > 0 and hi < 1e8:
        hi = hi * 2.0 + 1.0
    u_rft = float(optimize.brentq(g, lo, hi, xtol=1e-12, rtol=1e-12)) if g(lo) > 0 else lo
    u_bonf = math.inf
    if n_voxels is not None and n_voxels > 0:
        u_bonf = field.isf(alpha / n_voxels)
    return {"u": min(u_rft, u_bonf), "u_rft": u_rft, "u_bonferroni": u_bonf}


def expected_clusters(u: float, resels: np.ndarray, field: RandomField) -> tuple[float, float]:
    """Expected number of clusters and expected resels per cluster above ``u``.

    Parameters
    ----------
    u : float
        Cluster-forming height.
    resels : (4,) array_like
    field : RandomField

    Returns
    -------
    ec : float
        ``E[c] = Σ_d R_d max(ρ_d(u), eps)``.
    ek : float
        ``E[n] = ρ0(u) / max(ρ_D(u), eps)`` resels (``spm_P_RF``'s ``Ek``).
    """
    resels = np.asarray(resels, dtype=np.float64)
    d = _dims(resels)
    rho = _clipped_ec(u, resels, field)
    ec = float(resels[:d] @ rho)
    ek = float(rho[0] / rho[d - 1]) if d > 1 else math.inf
    return ec, ek


def _beta(ek: float, d_space: int) -> float:
    return (math.gamma(d_space / 2.0 + 1.0) / ek) ** (2.0 / d_space)


def cluster_p_values(
    k_resels: np.ndarray | float,
    u: float,
    resels: np.ndarray,
    field: RandomField,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster-level FWE and uncorrected p of cluster extents at height ``u`` (one tail).

    Parameters
    ----------
    k_resels : float or ndarray
        Cluster extents in resels (voxels / prod(FWHM in voxels)).
    u : float
        Cluster-forming height.
    resels : (4,) array_like
    field : RandomField

    Returns
    -------
    p_fwe, p_unc : ndarray
        ``1 - exp(-E[c] p_unc)`` and ``p_unc = exp(-β k^{2/D})`` (shape of ``k_resels``).
    """
    k = np.asarray(k_resels, dtype=np.float64)
    resels = np.asarray(resels, dtype=np.float64)
    ec, ek = expected_clusters(u, resels, field)
    d_space = _dims(resels) - 1
    if d_space < 1 or not math.isfinite(ek):
        p_unc = np.ones_like(k)
    else:
        p_unc = np.where(k > 0, np.exp(-_beta(ek, d_space) * np.maximum(k, 0) ** (2 / d_space)), 1)
    p_fwe = -np.expm1(-(ec + EPS) * p_unc)
    return p_fwe, p_unc


def set_level_p(
    c: int, k_resels: float, u: float, resels: np.ndarray, field: RandomField, *, tails: int = 1
) -> float:
    """Set-level p: probability of ``c`` or more clusters of at least ``k_resels`` above ``u``.

    Parameters
    ----------
    c : int
        Observed number of clusters.
    k_resels : float
        Extent threshold in resels (0 for none).
    u : float
    resels : (4,) array_like
    field : RandomField
    tails : {1, 2}
        2 counts clusters of both signs (expected number doubled).

    Returns
    -------
    float
        ``1 - PoissonCDF(c - 1; tails · E[c] · P(N ≥ k))`` (1 for ``c = 0``).
    """
    ec, _ = expected_clusters(u, resels, field)
    _, p_k = cluster_p_values(k_resels, u, resels, field) if k_resels > 0 else (None, 1.0)
    mean = tails * (ec + EPS) * float(p_k)
    if c <= 0:
        return 1.0
    return float(stats.poisson.sf(c - 1, mean))


def critical_cluster_size(
    alpha: float, u: float, smooth: Smoothness, field: RandomField, *, tails: int = 1
) -> int:
    """Smallest cluster extent (voxels) with cluster-level ``P_FWE <= alpha`` at height ``u``.

    Parameters
    ----------
    alpha : float
    u : float
        Cluster-forming height.
    smooth : Smoothness
    field : RandomField
    tails : {1, 2}
        2 doubles the corrected p (two-sided t).

    Returns
    -------
    int
        SPM's ``FWEc`` (at least 1).
    """
    v2r = 1.0 / smooth.resel_size_voxels

    def p_of(k_vox: int) -> float:
        p, _ = cluster_p_values(k_vox * v2r, u, smooth.resels, field)
        return min(1.0, tails * float(p))

    ec, ek = expected_clusters(u, smooth.resels, field)
    d_space = _dims(smooth.resels) - 1
    target = -math.log1p(-alpha / tails) / (ec + EPS)
    if target >= 1.0 or d_space < 1 or not math.isfinite(ek):
        k = 1
    else:
        k_res = (-math.log(target) / _beta(ek, d_space)) ** (d_space / 2.0)
        k = max(1, math.ceil(k_res / v2r))
    while k > 1 and p_of(k - 1) <= alpha:
        k -= 1
    while p_of(k) > alpha and k < 10 * max(smooth.n_voxels, 1):
        k += 1
    return int(k)


def _critical_cluster_size_p(
    p_star: float, u: float, smooth: Smoothness, field: RandomField
) -> int:
    """Smallest extent (voxels) whose uncorrected cluster p is <= ``p_star``."""
    v2r = 1.0 / smooth.resel_size_voxels
    _, ek = expected_clusters(u, smooth.resels, field)
    d_space = _dims(smooth.resels) - 1
    if p_star >= 1.0 or d_space < 1 or not math.isfinite(ek):
        return 1
    k = max(1, math.ceil((-math.log(p_star) / _beta(ek, d_space)) ** (d_space / 2.0) / v2r))

    def p_of(k_vox: int) -> float:
        return float(cluster_p_values(k_vox * v2r, u, smooth.resels, field)[1])

    while k > 1 and p_of(k - 1) <= p_star:
        k -= 1
    while p_of(k) > p_star:
        k += 1
    return int(k)


# --------------------------------------------------------------------------------------------
# FDR helpers


def _bh_adjusted(p_family: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted family p-values and their Benjamini-Hochberg adjusted values."""
    ps = np.sort(np.asarray(p_family, dtype=np.float64))
    m = ps.size
    if m == 0:
        return ps, ps
    adj = ps * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    return ps, np.minimum(adj, 1.0)


def _bh_lookup(p: np.ndarray, ps: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """BH q of each ``p`` within the family (``ps`` sorted, ``adj`` its adjusted values)."""
    p = np.asarray(p, dtype=np.float64)
    if ps.size == 0:
        return np.ones_like(p)
    idx = np.searchsorted(ps, p, side="left")
    idx = np.minimum(idx, ps.size - 1)
    return adj[idx]


def _bh_critical(p_family: np.ndarray, alpha: float) -> float:
    """Largest family p rejected by BH at level ``alpha`` (0 when none)."""
    ps = np.sort(np.asarray(p_family, dtype=np.float64))
    m = ps.size
    if m == 0:
        return 0.0
    ok = ps <= alpha * np.arange(1, m + 1) / m
    return float(ps[np.flatnonzero(ok)[-1]]) if ok.any() else 0.0


# --------------------------------------------------------------------------------------------
# smoothness for a run

_SMOOTHNESS_CACHE: dict[str, Any] = {}


def smoothness_for(spec: CorrectionSpec, ctx: InferenceContext) -> Smoothness:
    """The smoothness an ``rft`` entry uses.

    Parameters
    ----------
    spec : CorrectionSpec
        ``params["fwhm_mm"]`` (number or 3 numbers), when present, is used as given, even if
        a fitted model is available.
    ctx : InferenceContext
        Otherwise the smoothness is estimated from ``ctx.data`` and ``ctx.fit`` (cached for
        the last pair of arrays, so several contrasts of one run estimate it once).

    Returns
    -------
    Smoothness

    Raises
    ------
    ConfigError
        No ``fwhm_mm`` and no fitted model (map-only runs).
    """
    fwhm_mm = spec.params.get("fwhm_mm")
    if fwhm_mm is not None:
        try:
            return smoothness_from_fwhm(fwhm_mm, ctx.mask, ctx.affine)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"rft: fwhm_mm must be a positive number or a list of 3 positive numbers "
                f"(FWHM in mm along x, y, z); got {fwhm_mm!r}."
            ) from exc
    if ctx.data is None or ctx.fit is None:
        raise ConfigError(
            "rft needs a fitted model to estimate the smoothness from the residuals, but this "
            "run has no data (map-only inputs). Give the smoothness of the statistic map in "
            "the rft entry, e.g. 'fwhm_mm: 8.0' (or [8.0, 8.0, 8.0])."
        )
    keys = (ctx.data, ctx.fit.betas, ctx.fit.design.matrix, ctx.mask, ctx.affine)
    cached = _SMOOTHNESS_CACHE.get("last")
    if cached is not None:
        refs, value = cached
        if all(r() is k for r, k in zip(refs, keys, strict=True)):
            return value
    value = estimate_smoothness(ctx.data, ctx.fit, ctx.mask, ctx.affine)
    try:
        _SMOOTHNESS_CACHE["last"] = (tuple(weakref.ref(k) for k in keys), value)
    except TypeError:  # not weak-referenceable (e.g. a memmap subclass); skip caching
        _SMOOTHNESS_CACHE.pop("last", None)
    return value


# --------------------------------------------------------------------------------------------
# tables


@dataclass(frozen=True, slots=True, kw_only=True)
class _Setup:
    """What every table of one contrast shares."""

    field: RandomField
    smooth: Smoothness
    two_sided: bool
    alpha: float
    height: np.ndarray  # (v,) |t| two-sided, else t or F (NaN -> -inf)
    sign: np.ndarray | None  # (v,) int8 two-sided, None otherwise
    z: np.ndarray  # (v,)
    u_fwe: dict[str, float]  # height_threshold_fwe() at alpha / tails

    @property
    def tails(self) -> int:
        return 2 if self.two_sided else 1

    @property
    def v2r(self) -> float:
        """Resels per voxel."""
        return 1.0 / self.smooth.resel_size_voxels

    def p_fwe(self, h: np.ndarray | float) -> np.ndarray:
        """Voxel-level FWE p (RFT, capped by Bonferroni; doubled two-sided)."""
        p = p_fwe_voxel(h, self.smooth.resels, self.field, n_voxels=self.smooth.n_voxels)
        return np.minimum(1.0, self.tails * p)

    def p_unc(self, h: np.ndarray | float) -> np.ndarray:
        """Voxel-level uncorrected p (two-sided when the analysis is)."""
        return np.minimum(1.0, self.tails * self.field.sf(h))


def _structure(connectivity: int) -> np.ndarray:
    rank = {6: 1, 18: 2, 26: 3}.get(int(connectivity))
    if rank is None:
        raise ValueError(f"connectivity must be 6, 18 or 26; got {connectivity!r}.")
    return ndimage.generate_binary_structure(3, rank)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Families:
    """All clusters and local maxima of an excursion set (the FDR families)."""

    cluster_sizes: np.ndarray  # (n_clusters,) voxels
    maxima_heights: np.ndarray  # (n_maxima,)


def _families(setup: _Setup, formed: np.ndarray, ctx: InferenceContext) -> _Families:
    """Clusters (per sign) and local maxima (3x3x3, ties kept) of the excursion set."""
    groups = (
        [formed] if setup.sign is None else [formed & (setup.sign > 0), formed & (setup.sign < 0)]
    )
    sizes: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    heights: list[np.ndarray] = [np.zeros(0)]
    vol = np.zeros(ctx.mask.shape, dtype=bool)
    structure = _structure(ctx.connectivity)
    for group in groups:
        if not group.any():
            continue
        vol[ctx.mask] = group
        lab3d, n = ndimage.label(vol, structure=structure)
        sizes.append(np.bincount(lab3d[ctx.mask][group], minlength=n + 1)[1:])
        values = np.full(ctx.mask.shape, -np.inf)
        values[ctx.mask] = np.where(group, setup.height, -np.inf)
        top = ndimage.maximum_filter(values, size=3, mode="constant", cval=-np.inf)
        is_max = (values >= top) & np.isfinite(values)
        heights.append(values[is_max])
    return _Families(cluster_sizes=np.concatenate(sizes), maxima_heights=np.concatenate(heights))


def _add_columns(
    setup: _Setup,
    u: float,
    fam: _Families,
    clusters: pd.DataFrame,
    peaks: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the SPM cluster- and peak-level columns to tables of clusters formed above ``u``."""
    smooth, field = setup.smooth, setup.field
    eu = float(expected_ec(u, smooth.resels, field))
    c_ps, c_adj = _bh_adjusted(
        cluster_p_values(fam.cluster_sizes * setup.v2r, u, smooth.resels, field)[1]
    )
    p_ps, p_adj = _bh_adjusted(
        np.minimum(1.0, expected_ec(fam.maxima_heights, smooth.resels, field) / eu)
    )

    def peak_columns(stat_values: np.ndarray) -> dict[str, np.ndarray]:
        h = np.abs(stat_values) if setup.two_sided else stat_values
        topo = np.minimum(1.0, expected_ec(h, smooth.resels, field) / eu)
        return {
            "p_fwe": setup.p_fwe(h),
            "q_fdr": _bh_lookup(topo, p_ps, p_adj),
            "p_unc": setup.p_unc(h),
        }

    clusters = clusters.copy()
    size_res = clusters["size_voxels"].to_numpy(dtype=np.float64) * setup.v2r
    p_fwe, p_unc = cluster_p_values(size_res, u, smooth.resels, field)
    main = peak_columns(clusters["peak_stat"].to_numpy(dtype=np.float64))
    clusters["size_resels"] = size_res
    clusters["p_fwe"] = np.minimum(1.0, setup.tails * p_fwe)
    clusters["q_fdr"] = _bh_lookup(p_unc, c_ps, c_adj)
    clusters["p_unc"] = p_unc
    for name in RFT_PEAK_COLUMNS:
        clusters[f"peak_{name}"] = main[name]
    peaks = peaks.copy()
    for name, values in peak_columns(peaks["peak_stat"].to_numpy(dtype=np.float64)).items():
        peaks[name] = values
    return clusters, peaks


def _finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _footer(setup: _Setup, u: float, k_vox: int, n_clusters: int, fam: _Families) -> dict[str, Any]:
    """SPM's table footer (and set-level inference) for clusters formed above ``u``."""
    smooth, field, tails = setup.smooth, setup.field, setup.tails
    ec, ek = expected_clusters(u, smooth.resels, field)
    k_res = k_vox * setup.v2r
    p_k_fwe: float | None = None
    p_k_unc = 1.0
    if k_vox > 0:
        pf, pu = cluster_p_values(k_res, u, smooth.resels, field)
        p_k_fwe, p_k_unc = min(1.0, tails * float(pf)), float(pu)
    u_fdr_z = fdr_threshold(setup.z, setup.alpha, two_sided=setup.two_sided)
    u_fdr = u_fdr_z if field.kind == "Z" or not math.isfinite(u_fdr_z) else None
    if u_fdr is None:
        u_fdr = z_to_stat(u_fdr_z, field.kind, field.dof, field.df_num)
    p_star = _bh_critical(
        cluster_p_values(fam.cluster_sizes * setup.v2r, u, smooth.resels, field)[1], setup.alpha
    )
    return {
        "field": field.label,
        "df": [float(field.df_num), _finite_or_none(field.dof)],
        "dof": _finite_or_none(field.dof),
        "two_sided": setup.two_sided,
        "height_threshold_stat": float(u),
        "height_threshold_z": float(field.to_z(u)),
        "height_threshold_p_unc": float(setup.p_unc(u)),
        "height_threshold_p_fwe": float(setup.p_fwe(u)),
        "extent_threshold_voxels": int(k_vox),
        "extent_threshold_p_unc": p_k_unc if k_vox > 0 else None,
        "extent_threshold_p_fwe": p_k_fwe,
        "expected_voxels_per_cluster": float(ek / setup.v2r),
        "expected_number_of_clusters": float(tails * ec * p_k_unc),
        "set_level_c": int(n_clusters),
        "set_level_p": set_level_p(n_clusters, k_res, u, smooth.resels, field, tails=tails),
        "fwe_p_stat": _finite_or_none(setup.u_fwe["u"]),
        "fwe_p_rft_stat": _finite_or_none(setup.u_fwe["u_rft"]),
        "fwe_p_bonferroni_stat": _finite_or_none(setup.u_fwe["u_bonferroni"]),
        "fdr_p_stat": _finite_or_none(u_fdr),
        "fwe_c_voxels": critical_cluster_size(setup.alpha, u, smooth, field, tails=tails),
        "fdr_c_voxels": (
            _critical_cluster_size_p(p_star, u, smooth, field) if p_star > 0 else None
        ),
        "peak_fdr": "topological",
        **smooth.to_dict(),
    }


def _title_suffix(two_sided: bool, k: int) -> str:
    out = ", two-sided" if two_sided else ""
    return out + (f", k \u2265 {k}" if k > 1 else "")


def apply_rft(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Random field theory FWE control at the voxel and cluster level (SPM-style).

    Parameters
    ----------
    contrast : ContrastResult
    spec : CorrectionSpec
        ``alpha``; ``two_sided``; ``cluster_extent`` (SPM's extent threshold ``k``, voxels);
        ``params["cluster_forming_p"]`` (uncorrected, default 0.001);
        ``params["fwhm_mm"]`` (optional smoothness, required for map-only runs).
    ctx : InferenceContext

    Returns
    -------
    list of CorrectionResult
        Two results (routes ``rft`` and ``rftCluster``; each result's ``desc`` is
        ``spec.result_desc(route)``, the route itself for a default-labelled entry):

        - ``rft``: voxel-level FWE. ``surviving`` = voxels above the FWE height
          threshold (``threshold_z`` / ``threshold_stat``), clusters of those voxels (extent
          filter applied) with SPM columns computed at that height;
          ``maps["logp_fwe"]`` = ``-log10`` voxel-level FWE p.
        - ``rftCluster``: cluster-level FWE. Clusters are formed above the
          cluster-forming height (uncorrected ``p < cluster_forming_p``, which is
          ``threshold_z`` / ``threshold_stat``); ``surviving`` = voxels of the clusters with
          cluster-level ``p_fwe <= alpha``, and the tables list those clusters.

        Clusters tables add ``size_resels``, ``p_fwe``, ``q_fdr``, ``p_unc`` (cluster level)
        and ``peak_p_fwe``, ``peak_q_fdr``, ``peak_p_unc`` (main peak); peaks tables add
        ``p_fwe``, ``q_fdr``, ``p_unc`` (peak level). ``peak_stat`` is the T (or F) value and
        ``peak_value`` the equivalent Z. ``extras`` hold SPM's footer (keys listed in the
        module docstring, "Outputs"), including ``set_level_p`` and ``set_level_c``.

    Raises
    ------
    ConfigError
        Map-only run without ``fwhm_mm``, or a bad ``cluster_forming_p`` / ``fwhm_mm``.
    """
    two_sided, note = resolve_two_sided(contrast, spec)
    field = RandomField.for_contrast(contrast)
    smooth = smoothness_for(spec, ctx)
    cfp = float(spec.params.get("cluster_forming_p", DEFAULT_CLUSTER_FORMING_P))
    if not 0.0 < cfp < 1.0:
        raise ConfigError(f"rft: cluster_forming_p must be in (0, 1); got {cfp!r}.")
    alpha = float(spec.alpha)
    tails = 2 if two_sided else 1
    stat = np.asarray(contrast.stat, dtype=np.float64)
    z = np.asarray(contrast.z, dtype=np.float64)
    height = np.abs(stat) if two_sided else stat
    height = np.where(np.isnan(height), -np.inf, height)
    sign = np.where(stat < 0, -1, 1).astype(np.int8) if two_sided else None
    setup = _Setup(
        field=field,
        smooth=smooth,
        two_sided=two_sided,
        alpha=alpha,
        height=height,
        sign=sign,
        z=z,
        u_fwe=height_threshold_fwe(alpha / tails, smooth.resels, field, n_voxels=smooth.n_voxels),
    )
    k = max(int(spec.cluster_extent), 0)
    params = {"cluster_forming_p": cfp, **dict(spec.params), **note}

    def tabulate(selected: np.ndarray) -> ClusterSet:
        return find_clusters(
            z,
            selected,
            mask=ctx.mask,
            affine=ctx.affine,
            stat=stat,
            two_sided=two_sided,
            connectivity=ctx.connectivity,
            min_distance_mm=ctx.peak_min_distance_mm,
            max_subpeaks=ctx.max_subpeaks,
        )

    def build(
        route: str,
        title: str,
        u: float,
        surviving: np.ndarray,
        formed: np.ndarray,
        n_clusters: int | None,
        extras: dict[str, Any],
        maps: dict[str, np.ndarray],
    ) -> CorrectionResult:
        fam = _families(setup, formed, ctx)
        base = make_correction(
            contrast,
            spec,
            ctx,
            method="rft",
            desc=spec.result_desc(route),
            route=route,
            title=title + _title_suffix(two_sided, k),
            threshold_z=float(field.to_z(u)),
            threshold_stat=float(u),
            surviving=surviving,
            two_sided=two_sided,
            cluster_extent=0,
            params=params,
            maps=maps,
        )
        clusters, peaks = _add_columns(setup, u, fam, base.clusters, base.peaks)
        n = len(base.clusters) if n_clusters is None else n_clusters
        footer = {**_footer(setup, u, k, n, fam), **extras}
        return replace(base, clusters=clusters, peaks=peaks, extras=footer, cluster_extent=k)

    # --- voxel level: height above the FWE threshold ---------------------------------------
    u = setup.u_fwe["u"]
    formed = height >= u
    surviving = apply_extent(formed, sign, ctx.mask, k, ctx.connectivity) if k > 1 else formed
    # heights below the median are evaluated at the median (their FWE p is ~1 anyway)
    p_vox = setup.p_fwe(np.maximum(height, field.isf(0.5)))
    voxel = build(
        "rft",
        f"RFT voxel-level FWE p < {alpha:g}",
        u,
        surviving,
        formed,
        None,
        {},
        {"logp_fwe": -np.log10(np.maximum(p_vox, 1e-300))},
    )

    # --- cluster level: clusters above the cluster-forming height -------------------------
    u_c = field.isf(cfp / tails)
    formed_c = height > u_c
    kept = apply_extent(formed_c, sign, ctx.mask, k, ctx.connectivity) if k > 1 else formed_c
    cset = tabulate(kept)
    sizes_res = cset.clusters["size_voxels"].to_numpy(dtype=np.float64) * setup.v2r
    p_clu = np.minimum(1.0, tails * cluster_p_values(sizes_res, u_c, smooth.resels, field)[0])
    good_ids = cset.clusters["cluster_id"].to_numpy()[p_clu <= alpha]
    surviving_c = (cset.labels > 0) & np.isin(cset.labels, good_ids)
    cluster = build(
        "rftCluster",
        f"RFT cluster-level FWE p < {alpha:g} (cluster-forming p < {cfp:g})",
        u_c,
        surviving_c,
        formed_c,
        cset.n_clusters,
        {
            "cluster_forming_p": cfp,
            "cluster_forming_threshold_stat": float(u_c),
            "cluster_forming_threshold_z": float(field.to_z(u_c)),
            "n_clusters_formed": int(cset.n_clusters),
        },
        {},
    )
    return [voxel, cluster]
