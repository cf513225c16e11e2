"""A group level's permutation nulls as chunks of resamples on the study's Dask cluster.

With a scheduler, the study's group level computes every permutation null on the cluster
that fitted its runs: :func:`~glmreport.inference.permutation.permutation_null` prepares the
data and draws the resamples from the seed in this process, as always, then hands the
resampling loop's inputs (:class:`~glmreport.inference.permutation.loop.NullWork`: the
float32 unit-norm residuals, the partitioned design, the whole table of resamples, the
neighbour graph of cluster and TFCE measures) to :class:`ChunkedNulls`, which

1. shares them once with every worker (:meth:`Executor.share
   <glmreport.pipeline.execution.Executor.share>`: ``scatter(..., broadcast=True)`` on Dask);
2. cuts the resamples into about :data:`CHUNKS_PER_THREAD` chunks per worker thread, each
   starting on a batch of the loop (:func:`~glmreport.inference.permutation.loop.chunk_bounds`),
   so that every resample is evaluated by the same products as in one process;
3. runs one task per chunk (:func:`null_chunk`: its argument is the data's handle and the
   chunk's range, a few hundred bytes), one thread each;
4. puts the chunks' maxima back in resample order and releases the data on the workers.

The observed maps (resample 0, the observed TFCE map) are computed in this process. The
null maxima, and so every p-value, threshold, map and table, are bit for bit those of the
in-process computation (on workers with the same NumPy and BLAS, which the executor checks
for NumPy). A failed chunk stops the run like a failed run fit, named ``permutation chunk
<i> of <n> (resamples <a>-<b>)``. Without a scheduler the nulls are computed in this process
on a thread pool, as before: a local process pool would need a copy of the data per worker.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config.specs import RunConfig
from .execution import Executor, Shared, make_executor
from .prepared import Log, quiet

if TYPE_CHECKING:  # the permutation package is imported when a null is computed
    from ..inference.permutation.loop import NullMaxima, NullRunner, NullWork

#: Chunks of resamples per worker thread of the cluster: enough to balance the load (TFCE
#: maps take uneven times), few enough that a task's overhead stays small.
CHUNKS_PER_THREAD = 4


@dataclass(frozen=True, slots=True)
class NullChunk:
    """The argument of one chunk task: the shared data's handle and a range of resamples."""

    work: Shared
    start: int
    stop: int


def null_chunk(task: NullChunk) -> NullMaxima:
    """Task: the null maxima of one chunk of resamples, on one thread."""
    from ..inference.permutation.loop import null_maxima

    return null_maxima(task.work.value(), task.start, task.stop, n_jobs=1)


class ChunkedNulls:
    """A :data:`~glmreport.inference.permutation.loop.NullRunner` running chunks on an executor.

    Parameters
    ----------
    executor : Executor
        One that shares data (:class:`~glmreport.pipeline.execution.DaskExecutor`, or
        :class:`~glmreport.pipeline.execution.SerialExecutor` in tests).
    progress : bool
        A progress bar over resamples on stderr.
    log : callable
    """

    def __init__(self, executor: Executor, *, progress: bool = False, log: Log = quiet) -> None:
        self.executor = executor
        self.progress = progress
        self.log = log

    def bounds(self, work: NullWork) -> list[tuple[int, int]]:
        """The chunks of ``work``'s resamples."""
        from ..inference.permutation.loop import chunk_bounds

        return chunk_bounds(work, CHUNKS_PER_THREAD * max(1, self.executor.jobs))

    def __call__(self, work: NullWork) -> NullMaxima:
        from ..inference.permutation.loop import join_maxima

        bounds = self.bounds(work)
        count = len(bounds)
        names = [
            f"permutation chunk {i + 1} of {count} (resamples {a}-{b - 1})"
            for i, (a, b) in enumerate(bounds)
        ]
        self.log(
            f"{work.n_perm} resamples in {count} chunks "
            f"({work.nbytes / 2**20:.1f} MiB of data shared once with the workers)"
        )
        with self.executor.sharing(work) as handle, _bar(work.n_perm, self.progress) as bar:

            def advance(_: int, part: NullMaxima) -> None:
                if bar is not None:
                    bar.update(part.stop - part.start)

            parts = self.executor.map(
                null_chunk,
                [NullChunk(handle, a, b) for a, b in bounds],
                desc="permutation chunk",
                names=names,
                on_result=advance,
            )
        return join_maxima(work, parts)


@contextlib.contextmanager
def cluster_nulls(
    config: RunConfig, scheduler: str | None, *, progress: bool = False, log: Log = quiet
) -> Iterator[NullRunner | None]:
    """The runner of a study's permutation nulls: the cluster at ``scheduler``, or None.

    None (the nulls computed in this process) without a scheduler or without a permutation
    entry; else a connection to the scheduler, closed (never the cluster) on exit.
    """
    if scheduler is None or not any(c.method == "permutation" for c in config.corrections):
        yield None
        return
    with make_executor(scheduler=scheduler) as executor:
        yield ChunkedNulls(executor, progress=progress, log=log)


def _bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc="permutations", unit="perm", leave=False, file=sys.stderr)
