"""An executor on threads of this process, for batches of short tasks.

Starting worker processes (a fresh interpreter importing numpy, scipy and the task's module)
costs about a second of a core; a batch of short tasks, such as the run fits of a small
study, is done sooner on threads of this process. The tasks' heavy parts (reading compressed
volumes, filtering, BLAS) release the GIL, so ``jobs`` threads use up to ``jobs`` cores.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any, TypeVar

from .executors import MAX_TASK_BYTES, Executor, check_picklable
from .failures import Done, catch
from .settings import check_jobs, default_jobs
from .worker import blas_controller

T = TypeVar("T")
R = TypeVar("R")


def _call(fn: Callable[[T], R], item: T, index: int, name: str) -> Done:
    try:
        value = fn(item)
    except Exception as exc:  # noqa: BLE001 - named and handed to the failure policy
        return Done(index, None, catch(exc).named(name), exc)
    return Done(index, value, None)


class ThreadExecutor(Executor):
    """Runs tasks on ``jobs`` threads of this process, BLAS limited to one thread.

    The tasks are those of the other executors (a top-level function and a small picklable
    argument, checked the same way), so a batch gives the same results on any executor.
    BLAS is limited to one thread for the whole process while a batch runs (the limit is
    process-wide), at most ``2 * jobs`` tasks are in flight, and results come back as tasks
    finish, as with :class:`~.executors.LocalExecutor`.

    Parameters
    ----------
    jobs : int, optional
        Threads; default the cores this process may use.
    """

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = default_jobs() if jobs is None else check_jobs(jobs)

    def _outcomes(
        self, fn: Callable[[T], R], items: list[T], names: list[str], desc: str
    ) -> Iterator[Done]:
        check_picklable(fn, items, names, MAX_TASK_BYTES)
        todo = iter(enumerate(items))
        pending: dict[futures.Future[Any], int] = {}
        pool = futures.ThreadPoolExecutor(self.jobs, thread_name_prefix="glmreport-task")
        try:
            with blas_controller().limit(limits=1, user_api="blas"):
                while True:
                    for index, item in itertools.islice(todo, 2 * self.jobs - len(pending)):
                        pending[pool.submit(_call, fn, item, index, names[index])] = index
                    if not pending:
                        return
                    finished, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                    for future in sorted(finished, key=pending.__getitem__):
                        del pending[future]
                        yield future.result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)
