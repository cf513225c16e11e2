"""Permutation null distributions of max-T, cluster size, cluster mass and TFCE.

For every resample the null distribution records the maximum over voxels of the statistic
(``|t|`` two-sided), of the cluster size and mass of the supra-threshold clusters and of
``|TFCE|`` (:mod:`.measures`). The resample 0 entries are the observed maxima (from the
float64 statistic).

Speed: voxel chunks of a few thousand columns keep the GEMM output (:mod:`.products`) in
cache; the chunks are shared by a thread pool with BLAS restricted to one thread inside it
(when ``threadpoolctl`` is installed); cluster labelling and TFCE of each resampled map run in
the same pool (numpy and scipy release the GIL in their array loops). Results are stored by
resample index and maxima are exact, so the nulls are identical for any number of workers.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ...config.vocabulary import StatType
from ...errors import DesignError, InferenceError
from ..tfce import NeighbourGraph, neighbour_graph, tfce
from .measures import map_maxima
from .partition import PermutationModel, Scheme, partition_design
from .products import (
    Prepared,
    chunk_maxima,
    coefficients,
    monotone_max,
    prepare,
    stat_from_products,
)
from .resamples import make_resamples

__all__ = ["NullSettings", "PermutationNull", "permutation_null"]

#: Voxels per chunk of the batched products (the float32 GEMM output stays in cache).
VOXEL_CHUNK = 2048
#: Resamples per batch.
BATCH = 256
#: Resamples per batch when whole statistic maps are needed (clusters, TFCE).
MAP_BATCH = 32


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
# the resampling loop


@dataclass(frozen=True, slots=True, kw_only=True)
class _Job:
    """One null computation: the model, its prepared data and what to record."""

    model: PermutationModel
    prepared: Prepared
    settings: NullSettings
    two_sided: bool
    graph: NeighbourGraph | None
    chunks: list[tuple[int, int]]
    max_stat: np.ndarray
    max_size: np.ndarray | None
    max_mass: np.ndarray | None
    max_tfce: np.ndarray | None

    @property
    def n_voxels(self) -> int:
        return int(self.prepared.stat.size)


def _threadpool_limits() -> Any:
    """Context manager limiting BLAS to one thread (None without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return None
    return threadpool_limits(limits=1, user_api="blas")


def _n_workers(n_jobs: int | None) -> int:
    if n_jobs is not None and n_jobs > 0:
        return int(n_jobs)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return max(os.cpu_count() or 1, 1)


@contextlib.contextmanager
def _pool(n_jobs: int | None) -> Iterator[tuple[ThreadPoolExecutor, int]]:
    """A thread pool and its size: all workers with single-threaded BLAS, else one."""
    limiter = _threadpool_limits()
    workers = _n_workers(n_jobs) if limiter is not None else 1
    with (
        limiter if limiter is not None else contextlib.nullcontext(),
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        yield pool, workers


def _progress(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="perm", leave=False, file=sys.stderr)


def _max_t_batches(
    job: _Job, resamples: np.ndarray, pool: ThreadPoolExecutor, workers: int, bar: Any
) -> None:
    """Fill ``job.max_stat`` batch by batch, voxel chunks shared by the workers."""
    model = job.model
    monotone = model.basis.shape[1] == model.df_num
    groups = [g for g in (job.chunks[i::workers] for i in range(workers)) if g]
    for start in range(0, resamples.shape[0], BATCH):
        stop = min(start + BATCH, resamples.shape[0])
        b = stop - start
        coef = coefficients(model, resamples[start:stop])
        parts = list(
            pool.map(
                lambda grp, coef=coef, b=b: chunk_maxima(
                    job.prepared.resid, model, coef, b, job.two_sided, grp
                ),
                groups,
            )
        )
        best = np.maximum.reduce(parts)
        job.max_stat[start:stop] = monotone_max(best, model, job.two_sided) if monotone else best
        if bar is not None:
            bar.update(b)


def _map_batches(job: _Job, resamples: np.ndarray, pool: ThreadPoolExecutor, bar: Any) -> None:
    """Fill every null batch by batch from whole resampled maps (clusters, TFCE)."""
    model, chunks = job.model, job.chunks
    maps = np.empty((MAP_BATCH, job.n_voxels), dtype=np.float32)
    chunk_max = np.empty((len(chunks), MAP_BATCH), dtype=np.float32)

    def fill(ci: int, coef: np.ndarray, b: int) -> None:
        s0, s1 = chunks[ci]
        s = stat_from_products(coef @ job.prepared.resid[:, s0:s1], model, b)
        maps[:b, s0:s1] = s
        chunk_max[ci, :b] = (np.abs(s) if job.two_sided else s).max(axis=1)

    task = partial(
        map_maxima,
        graph=job.graph,
        threshold=job.settings.cluster_threshold,
        tfce_kw=job.settings.tfce_kw,
        two_sided=job.two_sided,
    )
    for start in range(0, resamples.shape[0], MAP_BATCH):
        stop = min(start + MAP_BATCH, resamples.shape[0])
        b = stop - start
        coef = coefficients(model, resamples[start:stop])
        list(pool.map(lambda ci, coef=coef, b=b: fill(ci, coef, b), range(len(chunks))))
        job.max_stat[start:stop] = chunk_max[:, :b].max(axis=0)
        for i, (size, mass, tf) in enumerate(pool.map(task, maps[:b])):
            if job.max_size is not None and job.max_mass is not None:
                job.max_size[start + i] = size
                job.max_mass[start + i] = mass
            if job.max_tfce is not None:
                job.max_tfce[start + i] = tf
        if bar is not None:
            bar.update(b)


def _observed(job: _Job) -> np.ndarray | None:
    """Set the resample 0 entries from the float64 observed map; the observed TFCE map."""
    observed, v = job.prepared.stat, job.n_voxels
    score = np.abs(observed) if job.two_sided else observed
    job.max_stat[0] = float(score.max()) if v else 0.0
    if job.graph is None:
        return None
    threshold = job.settings.cluster_threshold
    size0, mass0, _ = map_maxima(observed, job.graph, threshold, None, job.two_sided)
    if job.max_size is not None and job.max_mass is not None:
        job.max_size[0] = size0
        job.max_mass[0] = mass0
    if job.max_tfce is None:
        return None
    obs_tfce = tfce(observed, job.graph, two_sided=job.two_sided, **(job.settings.tfce_kw or {}))
    job.max_tfce[0] = float(np.abs(obs_tfce).max()) if v else 0.0
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
    m, v = resamples.shape[0], y.shape[1]
    clusters = settings.cluster_threshold is not None
    job = _Job(
        model=model,
        prepared=prepare(y, model),
        settings=settings,
        two_sided=two_sided,
        graph=graph,
        chunks=[(s, min(s + VOXEL_CHUNK, v)) for s in range(0, v, VOXEL_CHUNK)],
        max_stat=np.empty(m),
        max_size=np.zeros(m) if clusters else None,
        max_mass=np.zeros(m) if clusters else None,
        max_tfce=np.zeros(m) if settings.tfce else None,
    )
    with (
        _pool(settings.n_jobs) as (pool, workers),
        _progress(m, settings.progress, "permutations") as bar,
    ):
        if graph is None:
            _max_t_batches(job, resamples, pool, workers, bar)
        else:
            _map_batches(job, resamples, pool, bar)
    obs_tfce = _observed(job)
    return PermutationNull(
        stat=job.prepared.stat,
        stat_type=model.stat_type,
        two_sided=two_sided,
        dof=model.dof,
        df_num=model.df_num,
        scheme=model.scheme,
        exact=exact,
        n_perm=m,
        resamples=resamples,
        max_stat=job.max_stat,
        cluster_threshold=None if not clusters else float(settings.cluster_threshold),
        max_size=job.max_size,
        max_mass=job.max_mass,
        tfce=obs_tfce,
        max_tfce=job.max_tfce,
    )
