"""Random fields and their expected Euler characteristic: the voxel level of RFT inference.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from ...errors import InferenceError
from ...glm.distributions import norm_isf
from ...glm.results import ContrastResult
from ..scales import stat_to_z, z_to_stat

__all__ = [
    "EPS",
    "FOUR_LN2",
    "RandomField",
    "dims",
    "ec_densities",
    "expected_clusters",
    "expected_ec",
    "height_threshold_fwe",
    "p_fwe_voxel",
]

FOUR_LN2 = 4.0 * math.log(2.0)
EPS = float(np.finfo(np.float64).eps)


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
            raise InferenceError(f"kind must be 'Z', 't' or 'F'; got {self.kind!r}.")
        if self.kind in ("t", "F") and not self.dof > 0:
            raise InferenceError(f"dof must be positive; got {self.dof!r}.")
        if self.kind == "F" and not math.isfinite(self.dof):
            raise InferenceError("an F field needs finite error degrees of freedom.")

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
        z = float(norm_isf(p))
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
    if kind == "Z" or (kind == "t" and not math.isfinite(float(dof))):
        return _ec_z(u)
    if kind == "t":
        return _ec_t(u, float(dof))
    if kind == "F":
        return _ec_f(u, float(df_num), float(dof))
    raise InferenceError(f"kind must be 'Z', 't' or 'F'; got {kind!r}.")


_TWO_PI = 2.0 * math.pi


def _ec_z(u: np.ndarray) -> np.ndarray:
    a = FOUR_LN2
    out = np.empty((4, *u.shape))
    g = np.exp(-0.5 * u * u)
    out[0] = special.ndtr(-u)
    out[1] = math.sqrt(a) / _TWO_PI * g
    out[2] = a / _TWO_PI**1.5 * u * g
    out[3] = a**1.5 / _TWO_PI**2 * (u * u - 1.0) * g
    return out


def _ec_t(u: np.ndarray, v: float) -> np.ndarray:
    a = FOUR_LN2
    out = np.empty((4, *u.shape))
    c = np.exp(-0.5 * (v - 1.0) * np.log1p(u * u / v))
    ratio = math.exp(special.gammaln((v + 1.0) / 2.0) - special.gammaln(v / 2.0))
    out[0] = special.stdtr(v, -u)
    out[1] = math.sqrt(a) / _TWO_PI * c
    out[2] = a / _TWO_PI**1.5 * ratio / math.sqrt(v / 2.0) * u * c
    out[3] = a**1.5 / _TWO_PI**2 * ((v - 1.0) * u * u / v - 1.0) * c
    return out


def _ec_f(u: np.ndarray, k: float, v: float) -> np.ndarray:
    out = np.empty((4, *u.shape))
    pos = u > 0
    x = np.where(pos, k * np.where(pos, u, 1.0) / v, 1.0)
    logx = np.log(x)
    log_s = -0.5 * (v + k - 2.0) * np.log1p(x)
    lg = special.gammaln(v / 2.0) + special.gammaln(k / 2.0)
    b = FOUR_LN2 / _TWO_PI

    def term(d: int) -> np.ndarray:
        """``Γ((ν+k-d)/2)/G x^{(k-d)/2} s`` of density ``d``."""
        return np.exp(special.gammaln((v + k - d) / 2.0) - lg + 0.5 * (k - d) * logx + log_s)

    rho1 = math.sqrt(b) * math.sqrt(2.0) * term(1)
    rho2 = b * term(2) * ((v - 1.0) * x - (k - 1.0))
    rho3 = (
        b**1.5
        / math.sqrt(2.0)
        * term(3)
        * ((v - 1.0) * (v - 2.0) * x * x - (2.0 * v * k - v - k - 1.0) * x + (k - 1.0) * (k - 2.0))
    )
    out[0] = np.where(pos, special.fdtrc(k, v, np.where(pos, u, 0.0)), 1.0)
    out[1] = np.where(pos, rho1, 0.0)
    out[2] = np.where(pos, rho2, 0.0)
    out[3] = np.where(pos, rho3, 0.0)
    return out


def dims(resels: np.ndarray) -> int:
    """Number of resel counts up to the last non-zero one (``D + 1``; 4 for a volume)."""
    nz = np.flatnonzero(np.asarray(resels, dtype=np.float64) != 0)
    return int(nz[-1]) + 1 if nz.size else 1


def _clipped_ec(u: np.ndarray | float, resels: np.ndarray, field: RandomField) -> np.ndarray:
    """``max(ρ_d(u), eps)`` for d < D, shape (D, ...)."""
    d = dims(resels)
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
    d = dims(resels)
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
    from scipy.optimize import brentq  # imported here: scipy.optimize is slow to import

    u_rft = float(brentq(g, lo, hi, xtol=1e-12, rtol=1e-12)) if g(lo) > 0 else lo
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
    d = dims(resels)
    rho = _clipped_ec(u, resels, field)
    ec = float(resels[:d] @ rho)
    ek = float(rho[0] / rho[d - 1]) if d > 1 else math.inf
    return ec, ek
