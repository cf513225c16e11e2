"""Blocks of voxels computed on up to two threads of the main process.

NumPy and SciPy's ufuncs release the GIL while they loop over an array, so independent blocks
of voxels run in parallel on threads. Each block writes only its own voxels, so the values do
not depend on the number of threads. Inside a worker process or a thread of a pool (which
already keep the cores busy), blocks run in turn.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..resources import block_threads, usable_cores

#: Threads that compute blocks of voxels at once; BLAS runs one thread inside each.
FIT_THREADS = min(2, usable_cores())

#: Fewest values per thread for :func:`elementwise` to use threads (below, the hand-off costs
#: more than it saves).
MIN_VALUES_PER_THREAD = 20_000


def _workers(n_blocks: int) -> int:
    return block_threads(n_blocks, FIT_THREADS)


def for_each_block(fn: Callable[[int], None], starts: Sequence[int]) -> None:
    """Call ``fn(start)`` for every block start, on up to :data:`FIT_THREADS` threads.

    The first exception raised by a block is re-raised.
    """
    workers = _workers(len(starts))
    if workers <= 1:
        for start in starts:
            fn(start)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="glmreport-fit") as pool:
        for _ in pool.map(fn, starts):
            pass


def elementwise(
    fn: Callable[..., tuple[np.ndarray, ...]], values: np.ndarray, *args: object
) -> tuple[np.ndarray, ...]:
    """``fn(values, *args)`` for a function of each element alone, on parts of ``values``.

    Parameters
    ----------
    fn : callable
        Returns a tuple of arrays of ``values``' shape, each element depending only on the
        same element of ``values`` (and on ``args``, which are passed whole).
    values : ndarray
        Split along its first axis into :data:`FIT_THREADS` parts of at least
        :data:`MIN_VALUES_PER_THREAD` values, computed on threads.

    Returns
    -------
    tuple of ndarray
        The same arrays as one call of ``fn(values, *args)``.
    """
    values = np.asarray(values)
    parts = min(_workers(FIT_THREADS), values.size // MIN_VALUES_PER_THREAD)
    if parts <= 1 or values.ndim == 0:
        return fn(values, *args)
    bounds = np.linspace(0, len(values), parts + 1).astype(int)
    pieces = [values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    # each part runs in a copy of the caller's context (NumPy's errstate lives there)
    contexts = [contextvars.copy_context() for _ in pieces]
    with ThreadPoolExecutor(max_workers=parts, thread_name_prefix="glmreport-ufunc") as pool:
        results = list(pool.map(lambda c, p: c.run(fn, p, *args), contexts, pieces))
    return tuple(np.concatenate(outs) for outs in zip(*results, strict=True))
