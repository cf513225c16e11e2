"""Permutation null distributions of max-T, cluster size, cluster mass and TFCE.

For every resample the null distribution records the maximum over voxels of the statistic
(``|t|`` two-sided), of the cluster size and mass of the supra-threshold clusters and of
``|TFCE|`` (:mod:`.measures`). The resample 0 entries are the observed maxima (from the
float64 statistic).

:func:`permutation_null` prepares the data, draws the resamples from the seed and runs the
resampling loop (:mod:`.loop`) in this process, on a thread pool; given a ``runner`` it hands
the loop's inputs (:class:`~.loop.NullWork`) to it instead (the pipeline's runner cuts them
into chunks of resamples for a cluster's workers). Results are stored by resample index and
maxima are exact, so the nulls are identical for any number of threads, chunks or workers.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...config.vocabulary import StatType
from ...errors import DesignError, InferenceError
from ..tfce import NeighbourGraph, neighbour_graph, tfce
from .loop import NullMaxima, NullRunner, NullWork, join_maxima, null_maxima
from .measures import map_maxima
from .partition import Scheme, partition_design
from .products import prepare
from .resamples import make_resamples

__all__ = ["NullSettings", "PermutationNull", "permutation_null"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NullSettings:
    """What :func:`permutation_null` computes, besides the data.

    Attributes
    ----------
    n_perm : int
        Number of resamples, the identity included (fewer when all distinct resamples are
        enumerated, see :func:`~.resamples.make_resamples`).
    seed : int
        Seed of the random resamples.
    two_sided : bool
        t only: maxima of ``|t|``, clusters of both signs, two-sided TFCE.
    stat_type : {'t', 'F'} or None
        Default: t for one contrast row, F otherwise.
    cluster_threshold : float or None
        Cluster-forming threshold in statistic units (``|stat| >`` it two-sided); None for no
        cluster nulls. See :func:`cluster_forming_threshold`.
    tfce : bool
        Whether to compute the TFCE map and null.
    tfce_E, tfce_H, tfce_dh
        TFCE parameters (see :func:`glmreport.inference.tfce.tfce`).
    connectivity : {6, 18, 26}
        Neighbourhood of clusters and TFCE.
    n_jobs : int or None
        Worker threads (default: all available cores). Results do not depend on it.
    progress : bool
        Show a tqdm progress bar on stderr.
    """

    n_perm: int = 10000
    seed: int = 0
    two_sided: bool = False
    stat_type: StatType | None = None
    cluster_threshold: float | None = None
    tfce: bool = False
    tfce_E: float = 0.5
    tfce_H: float = 2.0
    tfce_dh: float | str = "auto"
    connectivity: int = 26
    n_jobs: int | None = None
    progress: bool = False

    @property
    def needs_maps(self) -> bool:
        """Whether whole resampled maps are needed (cluster or TFCE nulls)."""
        return self.cluster_threshold is not None or self.tfce

    @property
    def tfce_kw(self) -> dict[str, Any] | None:
        """Keyword arguments of :func:`~glmreport.inference.tfce.tfce`, or None without TFCE."""
        return {"E": self.tfce_E, "H": self.tfce_H, "dh": self.tfce_dh} if self.tfce else None


@dataclass(frozen=True, slots=True, kw_only=True)
class PermutationNull:
    """Observed statistics and their permutation null distributions.

    Attributes
    ----------
    stat : (v,) ndarray of float64
        Observed t or F (0 where the data are fitted exactly).
    stat_type : {'t', 'F'}
    two_sided : bool
    dof : float
    df_num : int
    scheme : {'sign-flip', 'freedman-lane'}
    exact : bool
        Whether all distinct resamples were enumerated.
    n_perm : int
        Number of resamples evaluated, the identity included.
    resamples : (n_perm, n) ndarray
        Sign flips (int8) or permutations (int32), see :func:`~.resamples.make_resamples`.
    max_stat : (n_perm,) ndarray
        Maximum over voxels of the statistic (``|t|`` two-sided) for each resample;
        entry 0 is the observed maximum.
    cluster_threshold : float or None
        Cluster-forming threshold in statistic units (``|t| >`` it two-sided).
    max_size, max_mass : (n_perm,) ndarray or None
        Largest cluster size (voxels) and mass for each resample.
    tfce : (v,) ndarray or None
        Observed TFCE map (negative for negative t two-sided).
    max_tfce : (n_perm,) ndarray or None
        Largest ``|TFCE|`` for each resample.
    """

    stat: np.ndarray
    stat_type: StatType
    two_sided: bool
    dof: float
    df_num: int
    scheme: Scheme
    exact: bool
    n_perm: int
    resamples: np.ndarray
    max_stat: np.ndarray
    cluster_threshold: float | None = None
    max_size: np.ndarray | None = None
    max_mass: np.ndarray | None = None
    tfce: np.ndarray | None = None
    max_tfce: np.ndarray | None = None


# --------------------------------------------------------------------------------------------
# the observed maps


def _progress(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="perm", leave=False, file=sys.stderr)


def _observed(
    work: NullWork, stat: np.ndarray, maxima: NullMaxima, settings: NullSettings
) -> np.ndarray | None:
    """Set the resample 0 entries from the float64 observed map; the observed TFCE map."""
    v = stat.size
    score = np.abs(stat) if work.two_sided else stat
    maxima.max_stat[0] = float(score.max()) if v else 0.0
    if work.graph is None:
        return None
    size0, mass0, _ = map_maxima(stat, work.graph, work.cluster_threshold, None, work.two_sided)
    if maxima.max_size is not None and maxima.max_mass is not None:
        maxima.max_size[0] = size0
        maxima.max_mass[0] = mass0
    if maxima.max_tfce is None:
        return None
    obs_tfce = tfce(stat, work.graph, two_sided=work.two_sided, **(settings.tfce_kw or {}))
    maxima.max_tfce[0] = float(np.abs(obs_tfce).max()) if v else 0.0
    return obs_tfce


def _checked(
    data: np.ndarray, design_matrix: np.ndarray, mask: np.ndarray | None, settings: NullSettings
) -> tuple[np.ndarray, np.ndarray, NeighbourGraph | None]:
    """The data and design as arrays, and the neighbour graph when maps are needed."""
    y = np.asarray(data)
    if y.ndim != 2:
        raise InferenceError(f"data must be 2D (n_inputs, n_voxels); got shape {y.shape}.")
    x = np.asarray(design_matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise DesignError(
            f"the design has {x.shape[0] if x.ndim == 2 else '?'} rows but there are "
            f"{y.shape[0]} inputs."
        )
    if not settings.needs_maps:
        return y, x, None
    if mask is None:
        raise InferenceError("mask is needed for cluster or TFCE inference.")
    graph = neighbour_graph(mask, settings.connectivity)
    if graph.n_voxels != y.shape[1]:
        raise InferenceError(f"mask has {graph.n_voxels} voxels but data has {y.shape[1]} columns.")
    return y, x, graph


def permutation_null(
    data: np.ndarray,
    design_matrix: np.ndarray,
    weights: np.ndarray,
    settings: NullSettings | None = None,
    *,
    blocks: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    runner: NullRunner | None = None,
) -> PermutationNull:
    """Observed statistic and max-statistic null distributions by sign flipping/permutation.

    Parameters
    ----------
    data : (n, v) ndarray
        One row per input image, one column per in-mask voxel.
    design_matrix : (n, p) ndarray
    weights : (q, p) ndarray
        Contrast (one row for t).
    settings : NullSettings, optional
        Number of resamples, seed, sidedness, cluster and TFCE nulls, workers (default:
        ``NullSettings()``, max-T only).
    blocks : (n,) array or None
        Exchangeability blocks (permutations stay within blocks).
    mask : (X, Y, Z) ndarray of bool or None
        Needed for cluster and TFCE nulls (voxels are ``volume[mask]``).
    runner : callable or None
        Computes the null maxima of a :class:`~.loop.NullWork` elsewhere (e.g. as chunks of
        resamples on a cluster; see :func:`~.loop.chunk_bounds`); None runs the loop here
        (``settings.n_jobs`` threads). The values are the same either way.

    Returns
    -------
    PermutationNull

    Raises
    ------
    DesignError
        The design's rows do not match the data's.
    InferenceError
        Cluster or TFCE nulls without a mask of the data's voxels.
    """
    settings = settings or NullSettings()
    y, x, graph = _checked(data, design_matrix, mask, settings)
    model = partition_design(x, weights, stat_type=settings.stat_type)
    two_sided = bool(settings.two_sided) and model.stat_type == "t"
    resamples, exact = make_resamples(
        model.scheme,
        model.n,
        settings.n_perm,
        seed=settings.seed,
        blocks=blocks,
        row_labels=model.row_labels,
    )
    prepared = prepare(y, model)
    work = NullWork(
        model=model,
        resid=prepared.resid,
        resamples=resamples,
        two_sided=two_sided,
        graph=graph,
        cluster_threshold=settings.cluster_threshold,
        tfce_kw=settings.tfce_kw,
    )
    if runner is None:
        with _progress(work.n_perm, settings.progress, "permutations") as bar:
            maxima = null_maxima(work, n_jobs=settings.n_jobs, bar=bar)
    else:
        maxima = join_maxima(work, [runner(work)])
    obs_tfce = _observed(work, prepared.stat, maxima, settings)
    clusters = settings.cluster_threshold is not None
    return PermutationNull(
        stat=prepared.stat,
        stat_type=model.stat_type,
        two_sided=two_sided,
        dof=model.dof,
        df_num=model.df_num,
        scheme=model.scheme,
        exact=exact,
        n_perm=work.n_perm,
        resamples=resamples,
        max_stat=maxima.max_stat,
        cluster_threshold=None if not clusters else float(settings.cluster_threshold),
        max_size=maxima.max_size,
        max_mass=maxima.max_mass,
        tfce=obs_tfce,
        max_tfce=maxima.max_tfce,
    )
