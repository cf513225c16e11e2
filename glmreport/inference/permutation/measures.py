"""What the permutation nulls measure, and how an observed score is judged against them.

Each resampled map gives its maximum statistic, the size and mass of its largest
supra-threshold cluster (positive and negative clusters separately two-sided; mass = sum of
``|stat| - threshold``) and its largest ``|TFCE|``. A score ``s`` has FWE p-value ``#{null >=
s} / n_perm`` (>= 1 / n_perm) and survives when ``p < alpha`` (strict), i.e. when ``s`` exceeds
the critical value, the ``ceil(alpha * n_perm)``-th largest null value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...config.vocabulary import StatType
from ...glm.distributions import f_isf, t_isf
from ..scales import check_probability
from ..tfce import NeighbourGraph, connected_components, tfce_max

__all__ = [
    "cluster_forming_threshold",
    "cluster_measures",
    "critical_value",
    "fwe_p_values",
    "map_maxima",
]


def cluster_forming_threshold(
    p: float, stat_type: StatType, dof: float, df_num: int = 1, *, two_sided: bool = False
) -> float:
    """Statistic threshold of an uncorrected cluster-forming ``p``.

    Parameters
    ----------
    p : float
        Cluster-forming p-value in (0, 1) (split between both tails for a two-sided t test).
    stat_type : {'t', 'F'}
    dof : float
    df_num : int
    two_sided : bool

    Returns
    -------
    float
        ``t.isf(p / 2, dof)`` two-sided, ``t.isf(p, dof)`` one-sided,
        ``f.isf(p, df_num, dof)`` for F (nilearn's convention for t).
    """
    p = check_probability(p, "cluster_forming_p")
    if stat_type == "t":
        return float(t_isf(p / 2 if two_sided else p, dof))
    return float(f_isf(p, df_num, dof))


def cluster_measures(
    stat: np.ndarray, threshold: float, graph: NeighbourGraph, two_sided: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Supra-threshold clusters of one map.

    Returns
    -------
    voxels : (s,) int64 in-mask indices; labels : (s,) component of each;
    sizes : (n,) float64; masses : (n,) float64.
    """
    score = np.abs(stat) if two_sided else stat
    voxels = np.flatnonzero(score > threshold)
    if voxels.size == 0:
        empty = np.zeros(0)
        return voxels, voxels, empty, empty
    vals = stat[voxels]
    labels, n = connected_components(voxels, graph, sign=vals if two_sided else None)
    sizes = np.bincount(labels, minlength=n).astype(np.float64)
    excess = (np.abs(vals) if two_sided else vals).astype(np.float64) - threshold
    masses = np.bincount(labels, weights=excess, minlength=n)
    return voxels, labels, sizes, masses


def map_maxima(
    stat_map: np.ndarray,
    graph: NeighbourGraph,
    threshold: float | None,
    tfce_kw: dict[str, Any] | None,
    two_sided: bool,
) -> tuple[float, float, float]:
    """Largest cluster size, cluster mass and ``|TFCE|`` of one map (0 where not asked)."""
    size = mass = tf = 0.0
    if threshold is not None:
        _, _, sizes, masses = cluster_measures(stat_map, threshold, graph, two_sided)
        if sizes.size:
            size = float(sizes.max())
            mass = float(masses.max())
    if tfce_kw is not None:
        tf = tfce_max(stat_map, graph, two_sided=two_sided, **tfce_kw)
    return size, mass, tf


def fwe_p_values(scores: np.ndarray, null: np.ndarray) -> np.ndarray:
    """FWE-corrected p-values of scores against a max-statistic null.

    Parameters
    ----------
    scores : (v,) ndarray
        Observed scores (``|t|`` two-sided, cluster sizes, ...).
    null : (n_perm,) ndarray
        Null maxima, the observed maximum included.

    Returns
    -------
    (v,) ndarray
        ``#{null >= score} / n_perm``, at least ``1 / n_perm`` for scores up to the observed
        maximum.
    """
    null = np.sort(np.asarray(null, dtype=np.float64))
    scores = np.asarray(scores, dtype=np.float64)
    count = null.size - np.searchsorted(null, scores, side="left")
    return count / null.size


def _allowed_exceedances(alpha: float, n: int) -> int:
    """Largest count ``c`` of null values >= a score with ``c / n < alpha``."""
    m = float(alpha) * n
    nearest = round(m)
    if abs(m - nearest) < 1e-9 * max(1.0, m):
        return max(int(nearest) - 1, 0)
    return int(math.floor(m))


def critical_value(null: np.ndarray, alpha: float) -> float:
    """Critical value of a max-statistic null at level ``alpha``.

    Parameters
    ----------
    null : (n_perm,) ndarray
    alpha : float

    Returns
    -------
    float
        The ``ceil(alpha * n_perm)``-th largest null value: a score is significant
        (``p < alpha``) exactly when it is larger than this value. When ``n_perm <= 1 /
        alpha`` this is the largest null value, which nothing exceeds.
    """
    desc = -np.sort(-np.asarray(null, dtype=np.float64))
    k = _allowed_exceedances(alpha, desc.size)
    return float(desc[min(k, desc.size - 1)])
