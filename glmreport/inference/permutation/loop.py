"""The resampling loop: the null maxima of a range of resamples.

:class:`NullWork` holds everything the loop reads (the unit-norm residuals, the partitioned
model, the whole table of resamples, the neighbour graph of cluster and TFCE measures);
:func:`null_maxima` evaluates the resamples ``start:stop`` of it. The whole range in one call
is what :func:`~.null.permutation_null` does in this process; ranges cut by
:func:`chunk_bounds` can be evaluated anywhere (a cluster's workers) and put back together
with :func:`join_maxima`, with bit for bit the same values.

Why the values do not depend on the cut: resamples are evaluated in batches (:data:`BATCH`
for max-T, :data:`MAP_BATCH` when whole maps are needed), each batch with one matrix product
per voxel chunk; chunk boundaries fall on batch boundaries, so every batch holds the same
resamples and runs the same products as in one call; a maximum over voxel chunks is exact in
any order, and BLAS runs one thread per product in both cases.

Speed: voxel chunks of a few thousand columns keep the GEMM output (:mod:`.products`) in
cache; the chunks are shared by a thread pool with BLAS restricted to one thread inside it
(when ``threadpoolctl`` is installed); cluster labelling and TFCE of each resampled map run in
the same pool (numpy and scipy release the GIL in their array loops).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ...resources import single_blas_thread, usable_cores
from ..tfce import NeighbourGraph
from .measures import map_maxima
from .partition import PermutationModel
from .products import chunk_maxima, coefficients, monotone_max, stat_from_products

__all__ = [
    "BATCH",
    "MAP_BATCH",
    "NullMaxima",
    "NullRunner",
    "NullWork",
    "chunk_bounds",
    "join_maxima",
    "null_maxima",
]

#: Voxels per chunk of the batched products (the float32 GEMM output stays in cache).
VOXEL_CHUNK = 2048
#: Resamples per batch.
BATCH = 256
#: Resamples per batch when whole statistic maps are needed (clusters, TFCE).
MAP_BATCH = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class NullWork:
    """Everything the resampling loop reads (what a cluster's workers receive, once).

    Attributes
    ----------
    model : PermutationModel
    resid : (n, v) ndarray of float32
        Unit-norm reduced-model residuals (:func:`~.products.prepare`).
    resamples : (n_perm, n) ndarray
        The whole table of sign flips (int8) or permutations (int32), drawn from the seed.
    two_sided : bool
    graph : NeighbourGraph or None
        Neighbourhood of the in-mask voxels; None for max-T only.
    cluster_threshold : float or None
        Cluster-forming threshold in statistic units; None for no cluster nulls.
    tfce_kw : dict or None
        Keyword arguments of :func:`~glmreport.inference.tfce.tfce`; None for no TFCE null.
    """

    model: PermutationModel
    resid: np.ndarray
    resamples: np.ndarray
    two_sided: bool
    graph: NeighbourGraph | None = None
    cluster_threshold: float | None = None
    tfce_kw: dict[str, Any] | None = None

    @property
    def n_perm(self) -> int:
        """Number of resamples, the identity included."""
        return int(self.resamples.shape[0])

    @property
    def batch(self) -> int:
        """Resamples per batch: every range starts on a multiple of it."""
        return BATCH if self.graph is None else MAP_BATCH

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays (what sending it costs)."""
        arrays = [self.resid, self.resamples, self.model.basis]
        if self.graph is not None:
            arrays += [self.graph.forward, self.graph.box_index, self.graph.box_mask]
        return int(sum(a.nbytes for a in arrays))


@dataclass(frozen=True, slots=True, kw_only=True)
class NullMaxima:
    """Null maxima of the resamples ``start:start + len(max_stat)`` of a :class:`NullWork`.

    Attributes
    ----------
    start : int
    max_stat : (k,) ndarray of float64
        Maximum statistic (``|t|`` two-sided) of each resample.
    max_size, max_mass : (k,) ndarray of float64 or None
        Largest cluster size and mass (with a cluster-forming threshold).
    max_tfce : (k,) ndarray of float64 or None
        Largest ``|TFCE|`` (with TFCE).
    """

    start: int
    max_stat: np.ndarray
    max_size: np.ndarray | None = None
    max_mass: np.ndarray | None = None
    max_tfce: np.ndarray | None = None

    @property
    def stop(self) -> int:
        return self.start + int(self.max_stat.size)


#: How a null is computed elsewhere: all the maxima of a :class:`NullWork`, resample 0 first.
NullRunner = Callable[[NullWork], NullMaxima]


def chunk_bounds(work: NullWork, n_chunks: int) -> list[tuple[int, int]]:
    """About ``n_chunks`` ranges of resamples covering ``work``, each starting on a batch.

    Parameters
    ----------
    work : NullWork
    n_chunks : int
        Wanted number of ranges (at least 1); fewer when there are fewer batches.

    Returns
    -------
    list of (start, stop)
        Consecutive ranges from 0 to ``work.n_perm``; every ``start`` a multiple of
        ``work.batch``.
    """
    m, batch = work.n_perm, work.batch
    per = math.ceil(m / max(1, int(n_chunks)))
    size = max(batch, math.ceil(per / batch) * batch)
    return [(start, min(start + size, m)) for start in range(0, m, size)]


def join_maxima(work: NullWork, parts: Sequence[NullMaxima]) -> NullMaxima:
    """The maxima of consecutive ranges as one, checked to cover every resample once."""
    parts = sorted(parts, key=lambda p: p.start)
    at = 0
    for part in parts:
        if part.start != at:
            raise ValueError(f"null maxima of resamples {at} to {part.start} are missing")
        at = part.stop
    if at != work.n_perm:
        raise ValueError(f"null maxima cover {at} of {work.n_perm} resamples")

    def cat(name: str) -> np.ndarray | None:
        values = [getattr(p, name) for p in parts]
        return None if not values or values[0] is None else np.concatenate(values)

    return NullMaxima(
        start=0,
        max_stat=np.concatenate([p.max_stat for p in parts]),
        max_size=cat("max_size"),
        max_mass=cat("max_mass"),
        max_tfce=cat("max_tfce"),
    )


def null_maxima(
    work: NullWork,
    start: int = 0,
    stop: int | None = None,
    *,
    n_jobs: int | None = None,
    bar: Any = None,
) -> NullMaxima:
    """Null maxima of the resamples ``start:stop`` of ``work``.

    Parameters
    ----------
    work : NullWork
    start, stop : int
        Range of resamples; ``start`` a multiple of ``work.batch`` (so that the batches, and
        the values, are those of the whole range in one call); default all.
    n_jobs : int or None
        Worker threads (default: all available cores). Results do not depend on it.
    bar : tqdm or None
        Progress bar updated after each batch.
    """
    stop = work.n_perm if stop is None else int(stop)
    if not (0 <= start <= stop <= work.n_perm) or start % work.batch:
        raise ValueError(
            f"resamples {start}:{stop} are not a range of the {work.n_perm} resamples "
            f"starting on a multiple of {work.batch}"
        )
    k = stop - start
    clusters = work.graph is not None and work.cluster_threshold is not None
    out = NullMaxima(
        start=start,
        max_stat=np.empty(k),
        max_size=np.zeros(k) if clusters else None,
        max_mass=np.zeros(k) if clusters else None,
        max_tfce=np.zeros(k) if work.graph is not None and work.tfce_kw is not None else None,
    )
    v = work.resid.shape[1]
    chunks = [(s, min(s + VOXEL_CHUNK, v)) for s in range(0, v, VOXEL_CHUNK)]
    with _pool(n_jobs) as (pool, workers):
        if work.graph is None:
            _max_t_batches(work, out, chunks, pool, workers, bar)
        else:
            _map_batches(work, out, chunks, pool, bar)
    return out


# --------------------------------------------------------------------------------------------
# threads


def _n_workers(n_jobs: int | None) -> int:
    if n_jobs is not None and n_jobs > 0:
        return int(n_jobs)
    return usable_cores()


@contextlib.contextmanager
def _pool(n_jobs: int | None) -> Iterator[tuple[ThreadPoolExecutor, int]]:
    """A thread pool and its size; BLAS runs one thread inside each worker."""
    workers = _n_workers(n_jobs)
    with single_blas_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
        yield pool, workers


# --------------------------------------------------------------------------------------------
# batches


def _max_t_batches(
    work: NullWork,
    out: NullMaxima,
    chunks: list[tuple[int, int]],
    pool: ThreadPoolExecutor,
    workers: int,
    bar: Any,
) -> None:
    """Fill ``out.max_stat`` batch by batch, voxel chunks shared by the workers."""
    model = work.model
    monotone = model.basis.shape[1] == model.df_num
    groups = [g for g in (chunks[i::workers] for i in range(workers)) if g]
    for start in range(out.start, out.stop, BATCH):
        stop = min(start + BATCH, out.stop)
        b = stop - start
        coef = coefficients(model, work.resamples[start:stop])
        parts = list(
            pool.map(
                lambda grp, coef=coef, b=b: chunk_maxima(
                    work.resid, model, coef, b, work.two_sided, grp
                ),
                groups,
            )
        )
        best = np.maximum.reduce(parts)
        at = slice(start - out.start, stop - out.start)
        out.max_stat[at] = monotone_max(best, model, work.two_sided) if monotone else best
        if bar is not None:
            bar.update(b)


def _map_batches(
    work: NullWork,
    out: NullMaxima,
    chunks: list[tuple[int, int]],
    pool: ThreadPoolExecutor,
    bar: Any,
) -> None:
    """Fill every null batch by batch from whole resampled maps (clusters, TFCE)."""
    model = work.model
    maps = np.empty((MAP_BATCH, work.resid.shape[1]), dtype=np.float32)
    chunk_max = np.empty((len(chunks), MAP_BATCH), dtype=np.float32)

    def fill(ci: int, coef: np.ndarray, b: int) -> None:
        s0, s1 = chunks[ci]
        s = stat_from_products(coef @ work.resid[:, s0:s1], model, b)
        maps[:b, s0:s1] = s
        chunk_max[ci, :b] = (np.abs(s) if work.two_sided else s).max(axis=1)

    task = partial(
        map_maxima,
        graph=work.graph,
        threshold=work.cluster_threshold,
        tfce_kw=work.tfce_kw,
        two_sided=work.two_sided,
    )
    for start in range(out.start, out.stop, MAP_BATCH):
        stop = min(start + MAP_BATCH, out.stop)
        b = stop - start
        coef = coefficients(model, work.resamples[start:stop])
        list(pool.map(lambda ci, coef=coef, b=b: fill(ci, coef, b), range(len(chunks))))
        at = start - out.start
        out.max_stat[at : at + b] = chunk_max[:, :b].max(axis=0)
        for i, (size, mass, tf) in enumerate(pool.map(task, maps[:b])):
            if out.max_size is not None and out.max_mass is not None:
                out.max_size[at + i] = size
                out.max_mass[at + i] = mass
            if out.max_tfce is not None:
                out.max_tfce[at + i] = tf
        if bar is not None:
            bar.update(b)
