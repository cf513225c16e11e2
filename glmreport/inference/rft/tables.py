"""Cluster-, set- and peak-level RFT inference and SPM's table columns and footer.

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

The one Benjamini-Hochberg procedure of the package (:func:`~..thresholds.bh_rejections`,
:func:`~..thresholds.bh_adjusted`) gives the q-values and the FDRc extent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from ...glm.distributions import poisson_sf
from ..clusters import label_in_mask
from ..connectivity import structure
from ..context import InferenceContext
from ..scales import z_to_stat
from ..thresholds import bh_adjusted, bh_rejections, fdr_threshold
from .fields import EPS, RandomField, dims, expected_clusters, expected_ec, p_fwe_voxel
from .smoothness import Smoothness

__all__ = [
    "RFT_CLUSTER_COLUMNS",
    "RFT_PEAK_COLUMNS",
    "cluster_p_values",
    "critical_cluster_size",
    "set_level_p",
]

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
    d_space = dims(resels) - 1
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
    return float(poisson_sf(c - 1, mean))


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
    d_space = dims(smooth.resels) - 1
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
    d_space = dims(smooth.resels) - 1
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
# FDR


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
    k = bh_rejections(p_family, alpha)
    return float(np.sort(np.asarray(p_family, dtype=np.float64))[k - 1]) if k else 0.0


# --------------------------------------------------------------------------------------------
# tables


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Families:
    """All clusters and local maxima of an excursion set (the FDR families)."""

    cluster_sizes: np.ndarray  # (n_clusters,) voxels
    maxima_heights: np.ndarray  # (n_maxima,)


def families(setup: Setup, formed: np.ndarray, ctx: InferenceContext) -> Families:
    """Clusters (per sign) and local maxima (3x3x3, ties kept) of the excursion set."""
    groups = (
        [formed] if setup.sign is None else [formed & (setup.sign > 0), formed & (setup.sign < 0)]
    )
    sizes: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    heights: list[np.ndarray] = [np.zeros(0)]
    neighbours = structure(ctx.connectivity)
    for group in groups:
        if not group.any():
            continue
        lab, n = label_in_mask(group, ctx.mask, neighbours)
        sizes.append(np.bincount(lab, minlength=n + 1)[1:])
        values = np.full(ctx.mask.shape, -np.inf)
        values[ctx.mask] = np.where(group, setup.height, -np.inf)
        top = ndimage.maximum_filter(values, size=3, mode="constant", cval=-np.inf)
        is_max = (values >= top) & np.isfinite(values)
        heights.append(values[is_max])
    return Families(cluster_sizes=np.concatenate(sizes), maxima_heights=np.concatenate(heights))


def add_columns(
    setup: Setup,
    u: float,
    fam: Families,
    clusters: pd.DataFrame,
    peaks: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the SPM cluster- and peak-level columns to tables of clusters formed above ``u``."""
    smooth, field = setup.smooth, setup.field
    eu = float(expected_ec(u, smooth.resels, field))
    c_ps, c_adj = bh_adjusted(
        cluster_p_values(fam.cluster_sizes * setup.v2r, u, smooth.resels, field)[1]
    )
    p_ps, p_adj = bh_adjusted(
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


def footer(setup: Setup, u: float, k_vox: int, n_clusters: int, fam: Families) -> dict[str, Any]:
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
