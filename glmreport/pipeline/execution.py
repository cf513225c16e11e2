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
- :class:`LocalExecutor`: a process pool started with ``forkserver`` (or ``spawn``), never
  ``fork``, one BLAS thread per worker.
- :class:`DaskExecutor`: a Dask distributed cluster that the user started; closing the
  executor closes the client and never shuts the cluster down.

An exception inside a task never escapes the worker as such: it comes back as a
:class:`TaskFailure` (its type, message and traceback text), named after the task. With
:func:`run_tasks` the caller chooses to stop at the first failure or to skip failed tasks.
A :class:`~glmreport.errors.GlmReportError` raised by a task means its input is at fault
(:class:`TaskError`, exit 2); any other exception is a bug (:class:`TaskInternalError`,
reported with the task's traceback).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import multiprocessing
import os
import pickle
import re
import sys
import traceback
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, Literal, NamedTuple, TypeVar

import numpy as np

from ..errors import GlmReportError

T = TypeVar("T")
R = TypeVar("R")

OnError = Literal["raise", "skip"]
FailureKind = Literal["input", "internal", "worker"]

DEFAULT_TIMEOUT = 10.0  # seconds to reach a Dask scheduler
MAX_JOBS = 1024
MAX_TASK_BYTES = 1 << 20  # pickled argument of one task: paths and settings, not arrays
MAX_ADDRESS = 255
_MESSAGE_CAP = 1000
_TRACEBACK_CAP = 20_000
_NAME_CAP = 80
_BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_ADDRESS = re.compile(
    r"(?:(?P<scheme>tcp|tls)://)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)"
    r":(?P<port>[0-9]{1,5})"
)
_DASK_HINT = "--scheduler needs the Dask client: pip install 'glmreport[dask]'"


# --------------------------------------------------------------------------- errors


class ExecutionSettingError(GlmReportError, ValueError):
    """``--jobs``, ``--scheduler`` or the connection timeout has an unusable value."""


class DaskMissingError(GlmReportError, ImportError):
    """A scheduler address was given but the Dask client is not installed."""


class SchedulerUnreachableError(GlmReportError, ConnectionError):
    """The Dask scheduler did not answer within the timeout."""


class WorkerEnvironmentError(GlmReportError, RuntimeError):
    """A Dask worker cannot run the tasks as this process would (no glmreport, other versions)."""


class _TaskFailureMixin:
    failure: TaskFailure

    def _init(self, failure: TaskFailure) -> str:
        self.failure = failure
        return failure.describe()

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.failure,)

    @property
    def task(self) -> str:
        """Name of the task that failed."""
        return self.failure.task

    @property
    def traceback_text(self) -> str:
        """Traceback of the exception inside the task (for ``--verbose``)."""
        return self.failure.traceback


class TaskError(_TaskFailureMixin, GlmReportError, RuntimeError):
    """A task stopped on a bad input: it raised a :class:`GlmReportError` (its message, named)."""

    def __init__(self, failure: TaskFailure) -> None:
        super().__init__(self._init(failure))


class WorkerLostError(_TaskFailureMixin, GlmReportError, RuntimeError):
    """The process running a task died (killed, out of memory) or the cluster dropped it."""

    def __init__(self, failure: TaskFailure) -> None:
        super().__init__(self._init(failure))


class TaskInternalError(_TaskFailureMixin, RuntimeError):
    """A task stopped on an unexpected exception: a bug, reported with the task's traceback."""

    def __init__(self, failure: TaskFailure) -> None:
        super().__init__(self._init(failure))


class RemoteTraceback(Exception):
    """Traceback text of an exception raised in a worker, chained as the cause of a task error."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------- failures


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskFailure:
    """What went wrong in one task.

    Attributes
    ----------
    task : str
        Name of the task (capped).
    kind : {'input', 'internal', 'worker'}
        ``input``: the task raised a :class:`GlmReportError`; ``internal``: any other
        exception (a bug); ``worker``: the process running it died or the cluster dropped it.
    error_type : str
        Qualified name of the exception's class.
    message : str
        The exception's message (capped).
    traceback : str
        Traceback text from where the task ran (capped, last lines kept).
    """

    task: str
    kind: FailureKind
    error_type: str
    message: str
    traceback: str

    def describe(self) -> str:
        """One line naming the task: the message for an input error, else the exception."""
        if self.kind == "input":
            return f"{self.task}: {self.message}"
        detail = f"{self.error_type}: {self.message}" if self.message else self.error_type
        if self.kind == "worker":
            return f"task {self.task} was lost: {detail}"
        return f"internal error in task {self.task}: {detail}"

    def exception(self) -> TaskError | TaskInternalError | WorkerLostError:
        """The exception that reports this failure to the caller."""
        kinds = {"input": TaskError, "internal": TaskInternalError, "worker": WorkerLostError}
        return kinds[self.kind](self)


class _Caught(NamedTuple):
    """An exception caught where the task ran, in a form every executor can send back."""

    kind: FailureKind
    error_type: str
    message: str
    traceback: str

    def named(self, task: str) -> TaskFailure:
        return TaskFailure(
            task=task,
            kind=self.kind,
            error_type=self.error_type,
            message=self.message,
            traceback=self.traceback,
        )


class _Done(NamedTuple):
    """One finished task: its value, or its failure and, in this process, the exception."""

    index: int
    value: Any
    failure: TaskFailure | None
    cause: BaseException | None = None


def _cap(text: str, limit: int, *, tail: bool = False) -> str:
    if len(text) <= limit:
        return text
    return "..." + text[-limit:] if tail else text[:limit] + "..."


def _catch(exc: BaseException, kind: FailureKind | None = None) -> _Caught:
    cls = type(exc)
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    text = "".join(traceback.format_exception(cls, exc, exc.__traceback__))
    return _Caught(
        kind=kind or ("input" if isinstance(exc, GlmReportError) else "internal"),
        error_type=name,
        message=_cap(str(exc).strip(), _MESSAGE_CAP),
        traceback=_cap(text, _TRACEBACK_CAP, tail=True),
    )


def _raise(done: _Done) -> None:
    assert done.failure is not None
    cause = done.cause or RemoteTraceback(done.failure.traceback)
    raise done.failure.exception() from cause


# --------------------------------------------------------------------------- in the worker

_CONTROLLER: list[Any] = []  # [(number of loaded modules, ThreadpoolController)]


def _blas_controller() -> Any:
    """A threadpoolctl controller, rescanned whenever modules were imported since the last scan."""
    from threadpoolctl import ThreadpoolController

    count = len(sys.modules)
    if not _CONTROLLER or _CONTROLLER[0][0] != count:
        _CONTROLLER[:] = [(count, ThreadpoolController())]
    return _CONTROLLER[0][1]


def _init_worker() -> None:
    """Pool worker initializer: one BLAS/OpenMP thread in this process, whatever loads later."""
    for name in _BLAS_ENV:
        os.environ[name] = "1"
    _blas_controller().limit(limits=1, user_api="blas")


def _call(fn: Callable[[T], R], item: T) -> tuple[R | None, _Caught | None]:
    """Run one task in a worker process; exceptions come back as a :class:`_Caught`.

    BLAS is limited to one thread for the process and not restored: a worker process only
    runs tasks, and a Dask worker may run several at once in threads.
    """
    try:
        _blas_controller().limit(limits=1, user_api="blas")
        return fn(item), None
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, named
        return None, _catch(exc)


def _environment() -> dict[str, str | None]:
    """Versions that must agree between this process and every Dask worker."""
    import importlib.metadata

    try:
        version: str | None = importlib.metadata.version("glmreport")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {
        "glmreport": version,
        "python": "{}.{}".format(*sys.version_info[:2]),
        "numpy": np.__version__,
    }


# --------------------------------------------------------------------------- executors


class Executor(ABC):
    """Runs a function over items, one task per item, and returns results in input order.

    Attributes
    ----------
    jobs : int
        How many tasks may run at once.
    """

    jobs: int

    def as_completed(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        desc: str = "task",
        names: Sequence[str] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """Yield ``(index, result)`` for every item once, as tasks finish.

        The caller may drop each result once consumed, so memory stays bounded by the tasks
        in flight. The first failure raises (:class:`TaskError`, :class:`TaskInternalError`
        or :class:`WorkerLostError`) and cancels the tasks not yet started.

        Parameters
        ----------
        fn : callable
            Top-level function of one picklable argument.
        items : iterable
            One argument per task: file paths and settings, not arrays.
        desc : str
            What the tasks are (names tasks in errors and on a Dask dashboard).
        names : sequence of str, optional
            One name per task for errors; default ``"<desc> <i> of <n>"``.
        """
        items = list(items)
        labels = _task_names(desc, names, len(items))
        with contextlib.closing(self._outcomes(fn, items, labels, desc)) as outcomes:
            for done in outcomes:
                if done.failure is not None:
                    _raise(done)
                yield done.index, done.value

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        desc: str = "task",
        names: Sequence[str] | None = None,
        on_result: Callable[[int, R], None] | None = None,
    ) -> list[R]:
        """Results of ``fn`` over ``items`` in input order (see :meth:`as_completed`).

        ``on_result(index, result)`` is called as each task finishes (progress bars).
        """
        items = list(items)
        results: list[Any] = [None] * len(items)
        for index, value in self.as_completed(fn, items, desc=desc, names=names):
            results[index] = value
            if on_result is not None:
                on_result(index, value)
        return results

    @abstractmethod
    def _outcomes(
        self, fn: Callable[[T], R], items: list[T], names: list[str], desc: str
    ) -> Iterator[_Done]:
        """Yield every task once as it finishes; closing the iterator cancels the rest."""

    def close(self) -> None:  # noqa: B027 - nothing to release unless a subclass holds something
        """Release the executor's processes or connection (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs tasks one after the other in this process, BLAS limited to one thread per task."""

    def __init__(self) -> None:
        self.jobs = 1

    def _outcomes(
        self, fn: Callable[[T], R], items: list[T], names: list[str], desc: str
    ) -> Iterator[_Done]:
        _check_picklable(fn, items, names, MAX_TASK_BYTES)
        for index, item in enumerate(items):
            try:
                with _blas_controller().limit(limits=1, user_api="blas"):
                    value = fn(item)
            except Exception as exc:  # noqa: BLE001 - named and handed to the failure policy
                yield _Done(index, None, _catch(exc).named(names[index]), exc)
                continue
            yield _Done(index, value, None)


class LocalExecutor(Executor):
    """A pool of worker processes on this machine.

    Workers start with ``forkserver`` where available, else ``spawn`` (never ``fork``: the
    parent's threads and BLAS state must not be copied), with one BLAS thread each so that
    ``jobs`` workers use ``jobs`` cores. The pool starts on first use and serves every batch
    until :meth:`close`. At most ``2 * jobs`` tasks are in flight, so results that the
    caller has not consumed yet do not pile up.

    Parameters
    ----------
    jobs : int, optional
        Worker processes; default the cores this process may use.
    start_method : {'forkserver', 'spawn'}, optional
    max_task_bytes : int
        Largest pickled task argument accepted.
    """

    def __init__(
        self,
        jobs: int | None = None,
        *,
        start_method: Literal["forkserver", "spawn"] | None = None,
        max_task_bytes: int = MAX_TASK_BYTES,
    ) -> None:
        self.jobs = default_jobs() if jobs is None else check_jobs(jobs)
        methods = multiprocessing.get_all_start_methods()
        method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        if method not in ("forkserver", "spawn"):
            raise ValueError(f"start_method must be 'forkserver' or 'spawn', got {method!r}")
        self.start_method = method
        self.max_task_bytes = max_task_bytes
        self._pool: futures.ProcessPoolExecutor | None = None

    def _get_pool(self) -> futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = futures.ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_init_worker,
            )
        return self._pool

    def _outcomes(
        self, fn: Callable[[T], R], items: list[T], names: list[str], desc: str
    ) -> Iterator[_Done]:
        _check_picklable(fn, items, names, self.max_task_bytes)
        pool = self._get_pool()
        todo = iter(enumerate(items))
        pending: dict[futures.Future[Any], int] = {}
        try:
            while True:
                for index, item in itertools.islice(todo, 2 * self.jobs - len(pending)):
                    pending[self._submit(pool, fn, item, names[index])] = index
                if not pending:
                    return
                finished, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                for future in sorted(finished, key=pending.__getitem__):
                    index = pending.pop(future)
                    yield self._done(future, index, names[index])
        finally:
            for future in pending:
                future.cancel()

    def _submit(
        self, pool: futures.ProcessPoolExecutor, fn: Callable[[T], R], item: T, name: str
    ) -> futures.Future[Any]:
        try:
            return pool.submit(_call, fn, item)
        except BrokenProcessPool as exc:
            raise self._lost(name, exc) from exc

    def _done(self, future: futures.Future[Any], index: int, name: str) -> _Done:
        """The outcome of a finished future; a dead worker raises whatever the policy."""
        try:
            value, caught = future.result()
        except BrokenProcessPool as exc:
            raise self._lost(name, exc) from exc
        return _Done(index, value, None if caught is None else caught.named(name))

    def _lost(
        self, name: str, exc: BrokenProcessPool
    ) -> TaskError | TaskInternalError | WorkerLostError:
        """A worker died: the pool can run nothing more; a new one starts on the next batch."""
        self._discard_pool()
        lost = _catch(exc, "worker")._replace(
            message="a worker process died while running it (killed, or out of memory?); "
            "try fewer --jobs"
        )
        return lost.named(name).exception()

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Wait for running tasks, cancel queued ones and stop the workers."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster that the user started.

    Every task is submitted with ``pure=False`` under the key ``(<desc>-<batch>, index)``:
    readable on the dashboard, fixed by the task's position, and unique to this batch so that
    two runs sharing a scheduler never share a task. Results wait on the workers until
    fetched, in one request per batch of tasks finished since the last fetch, and are released
    on the cluster as soon as they are handed over. Closing the executor closes the client;
    the cluster keeps running.

    Parameters
    ----------
    address : str
        ``tcp://host:port``, ``tls://host:port`` or ``host:port``.
    timeout : float
        Seconds to wait for the scheduler before :class:`SchedulerUnreachableError`.
    check_workers : bool
        Check that the connected workers run the same glmreport, Python and NumPy versions.
    max_task_bytes : int
        Largest pickled task argument accepted.
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        check_workers: bool = True,
        max_task_bytes: int = MAX_TASK_BYTES,
    ) -> None:
        self.address = check_address(address)
        self.max_task_bytes = max_task_bytes
        self._client = _connect(self.address, check_timeout(timeout))
        try:
            if check_workers:
                _check_workers(self._client)
            self.jobs = max(1, sum(self._client.nthreads().values()))
        except BaseException:
            self._client.close()
            raise

    def _outcomes(
        self, fn: Callable[[T], R], items: list[T], names: list[str], desc: str
    ) -> Iterator[_Done]:
        from distributed import as_completed

        _check_picklable(fn, items, names, self.max_task_bytes)
        prefix = f"glmreport-{_slug(desc)}-{uuid.uuid4().hex[:12]}"
        keys = [(prefix, index) for index in range(len(items))]
        submitted = self._client.map(functools.partial(_call, fn), items, key=keys, pure=False)
        pending = {future.key: (future, index) for index, future in enumerate(submitted)}
        finished = as_completed(submitted, loop=self._client.loop)
        del submitted  # from here on, a result is released as soon as it was handed over
        try:
            for batch in finished.batches():
                yield from self._fetch(batch, pending, names)
        finally:
            if pending:
                self._client.cancel([future for future, _ in pending.values()])

    def _fetch(
        self, batch: list[Any], pending: dict[Any, tuple[Any, int]], names: list[str]
    ) -> Iterator[_Done]:
        """Outcomes of a batch of finished futures, their results gathered in one request."""
        ready = [future for future in batch if future.status == "finished"]
        try:
            values = self._client.gather(ready) if ready else []
        except Exception:  # noqa: BLE001 - lost meanwhile: fetch one by one below
            ready, values = [], []
        outcomes = {future.key: value for future, value in zip(ready, values, strict=True)}
        for future in batch:
            index = pending.pop(future.key)[1]
            if future.key in outcomes:
                value, caught = outcomes.pop(future.key)
                yield _Done(index, value, None if caught is None else caught.named(names[index]))
            else:
                yield _dask_done(future, index, names[index])
            future.release()

    def close(self) -> None:
        """Close the client (never the cluster)."""
        self._client.close()


def _dask_done(future: Any, index: int, name: str) -> _Done:
    """The outcome of a finished Dask future; errors here come from the cluster, not the task."""
    try:
        value, caught = future.result()
    except Exception as exc:  # noqa: BLE001 - worker deaths, cancellations, deserialisation
        lost = type(exc).__name__ in ("KilledWorker", "CancelledError", "FutureCancelledError")
        return _Done(index, None, _catch(exc, "worker" if lost else "internal").named(name), exc)
    return _Done(index, value, None if caught is None else caught.named(name))


# --------------------------------------------------------------------------- policy


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
    labels = _task_names(desc, keys, len(items))
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
                _raise(done)
            failures[done.index] = done.failure
            if on_failure is not None:
                on_failure(done.failure)
    return TaskResults(
        results={keys[i]: values[i] for i in sorted(values)},
        failures={keys[i]: failures[i] for i in sorted(failures)},
    )


# --------------------------------------------------------------------------- settings


def default_jobs() -> int:
    """Cores this process may run on (its CPU affinity where the system reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_jobs(jobs: object) -> int:
    """``jobs`` as a worker count from 1 to :data:`MAX_JOBS` (else ExecutionSettingError)."""
    if (
        isinstance(jobs, bool)
        or not isinstance(jobs, int | np.integer)
        or not 1 <= jobs <= MAX_JOBS
    ):
        raise ExecutionSettingError(
            f"--jobs must be a whole number from 1 to {MAX_JOBS}, got {_show(jobs)}"
        )
    return int(jobs)


def check_timeout(timeout: object) -> float:
    """A connection timeout in seconds, from over 0 to 600."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        value = math.nan
    else:
        value = float(timeout)
    if not 0 < value <= 600:
        raise ExecutionSettingError(
            f"the scheduler timeout must be a number of seconds from over 0 to 600, "
            f"got {_show(timeout)}"
        )
    return value


def check_address(address: object) -> str:
    """A Dask scheduler address, ``host:port`` completed to ``tcp://host:port``.

    Raises
    ------
    ExecutionSettingError
        Not a string of at most 255 characters of the form ``tcp://host:port``,
        ``tls://host:port`` or ``host:port`` with a port from 1 to 65535.
    """
    match = (
        _ADDRESS.fullmatch(address)
        if isinstance(address, str) and len(address) <= MAX_ADDRESS
        else None
    )
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ExecutionSettingError(
            f"scheduler address {_show(address)} is not valid; expected tcp://host:port, "
            "tls://host:port or host:port (the address `dask scheduler` prints; port 8786 "
            "by default)"
        )
    return f"{match['scheme'] or 'tcp'}://{match['host']}:{int(match['port'])}"


def make_executor(
    jobs: int | None = None, scheduler: str | None = None, *, timeout: float = DEFAULT_TIMEOUT
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

    Raises
    ------
    ExecutionSettingError, DaskMissingError, SchedulerUnreachableError, WorkerEnvironmentError
    """
    if scheduler is not None:
        return DaskExecutor(scheduler, timeout=timeout)
    count = default_jobs() if jobs is None else check_jobs(jobs)
    return SerialExecutor() if count == 1 else LocalExecutor(count)


# --------------------------------------------------------------------------- helpers


def _show(value: object) -> str:
    return _cap(repr(value), 60)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "task"


def _task_names(desc: str, names: Sequence[str] | None, count: int) -> list[str]:
    """One capped display name per task; given names must be unique strings."""
    if names is None:
        return [f"{desc} {i + 1} of {count}" for i in range(count)]
    names = list(names)
    if len(names) != count or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names must be {count} non-empty strings, one per task")
    if len(set(names)) != count:
        raise ValueError("task names must be unique")
    return [_cap(n, _NAME_CAP) for n in names]


def _check_picklable(
    fn: Callable[..., Any], items: list[Any], names: list[str], limit: int
) -> None:
    """Tasks go to other processes: a top-level function and small picklable arguments."""
    try:
        pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(
            f"task function {fn!r} cannot be sent to a worker process (use a top-level "
            f"function, or functools.partial of one): {exc}"
        ) from exc
    for name, item in zip(names, items, strict=True):
        try:
            size = len(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise TypeError(f"the argument of task {name} cannot be pickled: {exc}") from exc
        if size > limit:
            raise ValueError(
                f"the argument of task {name} takes {size} bytes pickled (limit {limit}); "
                "send file paths and settings, not arrays"
            )


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise DaskMissingError(_DASK_HINT) from exc
    return distributed


def _connect(address: str, timeout: float) -> Any:
    """A client of the scheduler at ``address``, or an error naming it within ``timeout``."""
    distributed = _import_distributed()
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachableError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ("
            f"{_cap(str(exc), 200)}); start one with `dask scheduler` and workers with "
            f"`dask worker {address}`, or check the address"
        ) from exc


def _check_workers(client: Any) -> None:
    """Every connected worker imports glmreport with the versions of this process."""
    here = _environment()
    answers = client.run(_environment, on_error="return")
    for worker, there in sorted(answers.items()):
        if isinstance(there, BaseException):
            raise WorkerEnvironmentError(
                f"Dask worker {_cap(worker, 80)} cannot run glmreport's tasks "
                f"({type(there).__name__}: {_cap(str(there), 200)}); install glmreport "
                f"{here['glmreport']} on every worker"
            )
        diff = [f"{k} {there.get(k)} (here {v})" for k, v in here.items() if there.get(k) != v]
        if diff:
            raise WorkerEnvironmentError(
                f"Dask worker {_cap(worker, 80)} has {', '.join(diff)}; every worker needs the "
                "same glmreport, Python and NumPy as this process for identical results"
            )
