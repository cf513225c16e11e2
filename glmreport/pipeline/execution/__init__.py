"""Run independent tasks in this process, on a local process pool or on a Dask cluster.

The study pipeline runs one task per first-level run fit and one per chunk of permutations.
A task is a top-level function called with one small picklable argument (file paths and
settings, never arrays; use :func:`functools.partial` of a top-level function for more).
Every executor runs the same function on the same argument with BLAS limited to one thread,
and hands the results back in input order, so the results are identical whichever executor
ran them. Tasks carry their own seeds (the caller derives them); an executor never reorders
output and draws no random number.

- :class:`SerialExecutor`: one task after the other in this process (``jobs=1``; the easiest
  to debug, and what the tests of other modules use).
- :class:`LocalExecutor`: a process pool started with ``forkserver`` (or ``spawn``), one BLAS
  thread per worker; or forked from this process while it runs a single thread
  (``start_method="fork"``, :func:`can_fork`): such workers start at once.
- :class:`ThreadExecutor`: ``jobs`` threads of this process, for batches of short tasks
  (no worker to start; the tasks' heavy parts release the GIL).
- :class:`DaskExecutor`: a Dask distributed cluster that the user started; closing the
  executor closes the client and never shuts the cluster down.

Data that every task of a batch reads (a group level's residuals and resamples) is shared
once with :meth:`Executor.share`, which returns a small :class:`Shared` handle that the tasks
carry in their argument (:mod:`glmreport.tasks.shared`): kept in this process by
:class:`SerialExecutor`, scattered to every worker by :class:`DaskExecutor`;
:class:`LocalExecutor` shares nothing.

An exception inside a task never escapes the worker as such: it comes back as a
:class:`TaskFailure` (its type, message and traceback text), named after the task. With
:func:`run_tasks` the caller chooses to stop at the first failure or to skip failed tasks.
A :class:`~glmreport.errors.GlmReportError` raised by a task means its input is at fault
(:class:`TaskError`, exit 2); any other exception is a bug (:class:`TaskInternalError`,
reported with the task's traceback).
"""

from __future__ import annotations

from ...tasks.shared import Shared, SharedDataError
from .cluster import (
    DaskExecutor,
    DaskMissingError,
    SchedulerUnreachableError,
    WorkerEnvironmentError,
)
from .executors import MAX_TASK_BYTES, Executor, LocalExecutor, SerialExecutor, can_fork
from .failures import RemoteTraceback, TaskError, TaskFailure, TaskInternalError, WorkerLostError
from .settings import (
    DEFAULT_TIMEOUT,
    MAX_JOBS,
    ExecutionSettingError,
    check_address,
    check_jobs,
    check_timeout,
    default_jobs,
)
from .tasks import OnError, TaskResults, make_executor, run_tasks
from .threads import ThreadExecutor

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_JOBS",
    "MAX_TASK_BYTES",
    "DaskExecutor",
    "DaskMissingError",
    "ExecutionSettingError",
    "Executor",
    "LocalExecutor",
    "OnError",
    "RemoteTraceback",
    "SchedulerUnreachableError",
    "SerialExecutor",
    "Shared",
    "SharedDataError",
    "TaskError",
    "TaskFailure",
    "TaskInternalError",
    "TaskResults",
    "ThreadExecutor",
    "WorkerEnvironmentError",
    "WorkerLostError",
    "can_fork",
    "check_address",
    "check_jobs",
    "check_timeout",
    "default_jobs",
    "make_executor",
    "run_tasks",
]
