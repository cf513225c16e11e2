"""Running a batch of tasks under a failure policy, and choosing the executor.

With :func:`run_tasks` the caller chooses to stop at the first failure or to skip failed
tasks; :func:`make_executor` turns ``--jobs`` and ``--scheduler`` into an executor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from .cluster import DaskExecutor
from .executors import Executor, LocalExecutor, SerialExecutor, task_names
from .failures import TaskFailure, raise_failure
from .settings import DEFAULT_TIMEOUT, check_jobs, default_jobs

T = TypeVar("T")
R = TypeVar("R")

OnError = Literal["raise", "skip"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResults(Generic[R]):
    """Outcome of :func:`run_tasks`.

    Attributes
    ----------
    results : dict
        Task name -> result of every task that finished, in input order.
    failures : dict
        Task name -> :class:`TaskFailure` of every task that failed, in input order.
    """

    results: dict[str, R]
    failures: dict[str, TaskFailure]

    @property
    def failed(self) -> dict[str, str]:
        """Task name -> one-line error message naming the task."""
        return {name: failure.describe() for name, failure in self.failures.items()}


def run_tasks(
    executor: Executor,
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    names: Sequence[str],
    on_error: OnError = "raise",
    desc: str = "task",
    on_result: Callable[[str, R], None] | None = None,
    on_failure: Callable[[TaskFailure], None] | None = None,
) -> TaskResults[R]:
    """Run one task per item under a failure policy.

    Parameters
    ----------
    executor : Executor
    fn : callable
        Top-level function of one picklable argument.
    items : iterable
        One argument per task.
    names : sequence of str
        A unique name per task (e.g. ``sub-01 run-2``), used in errors and as result keys.
    on_error : {'raise', 'skip'}
        ``raise``: the first failure cancels the tasks not started and raises
        :class:`TaskError` (a bad input: its message), :class:`TaskInternalError` (a bug:
        ``internal error in task <name>: <type>: <message>``) or :class:`WorkerLostError`;
        the task's traceback is chained as the cause. ``skip``: failures are collected and
        the other tasks continue.
    desc : str
        What the tasks are (the Dask key prefix).
    on_result, on_failure : callable, optional
        Called as each task finishes: ``on_result(name, result)`` or ``on_failure(failure)``.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    items = list(items)
    keys = list(names)
    labels = task_names(desc, keys, len(items))
    values: dict[int, Any] = {}
    failures: dict[int, TaskFailure] = {}
    with contextlib.closing(executor._outcomes(fn, items, labels, desc)) as outcomes:
        for done in outcomes:
            if done.failure is None:
                values[done.index] = done.value
                if on_result is not None:
                    on_result(keys[done.index], done.value)
                continue
            if on_error == "raise":
                raise_failure(done)
            failures[done.index] = done.failure
            if on_failure is not None:
                on_failure(done.failure)
    return TaskResults(
        results={keys[i]: values[i] for i in sorted(values)},
        failures={keys[i]: failures[i] for i in sorted(failures)},
    )


def make_executor(
    jobs: int | None = None,
    scheduler: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    help_while_starting: bool = False,
) -> Executor:
    """The executor for ``--jobs`` and ``--scheduler``: a scheduler wins over ``jobs``.

    Parameters
    ----------
    jobs : int, optional
        Local worker processes; default the cores available; 1 runs in this process.
    scheduler : str, optional
        Address of a running Dask scheduler.
    timeout : float
        Seconds to wait for the scheduler.
    help_while_starting : bool
        A local pool: this process runs tasks too until the first worker is ready
        (:class:`LocalExecutor`).

    Raises
    ------
    ExecutionSettingError, DaskMissingError, SchedulerUnreachableError, WorkerEnvironmentError
    """
    if scheduler is not None:
        return DaskExecutor(scheduler, timeout=timeout)
    count = default_jobs() if jobs is None else check_jobs(jobs)
    if count == 1:
        return SerialExecutor()
    return LocalExecutor(count, help_while_starting=help_while_starting)
