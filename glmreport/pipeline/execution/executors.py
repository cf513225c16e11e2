"""Executors in this process and on a local process pool.

Every executor runs the same function on the same argument with BLAS limited to one thread,
and hands the results back in input order, so the results are identical whichever executor
ran them.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import pickle
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Literal, TypeVar

from ...tasks.shared import Shared, drop_here, keep_here, new_key, size_of
from .failures import Done, TaskError, TaskInternalError, WorkerLostError, cap, catch, raise_failure
from .settings import check_jobs, default_jobs
from .worker import blas_controller, call_task, init_worker

T = TypeVar("T")
R = TypeVar("R")

MAX_TASK_BYTES = 1 << 20  # pickled argument of one task: paths and settings, not arrays
_NAME_CAP = 80


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
        labels = task_names(desc, names, len(items))
        with contextlib.closing(self._outcomes(fn, items, labels, desc)) as outcomes:
            for done in outcomes:
                if done.failure is not None:
                    raise_failure(done)
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
    ) -> Iterator[Done]:
        """Yield every task once as it finishes; closing the iterator cancels the rest."""

    def share(self, value: Any) -> Shared:
        """Send ``value`` once to every worker; a task reads it with ``handle.value()``.

        Tasks carry the small :class:`~.shared.Shared` handle in their argument instead of
        the data. The value stays shared until :meth:`release` or :meth:`close`.

        Raises
        ------
        NotImplementedError
            This executor's workers cannot receive shared data (:class:`LocalExecutor`).
        """
        raise NotImplementedError(
            f"{type(self).__name__} shares no data with its workers; run work on shared "
            "data in this process or on a Dask cluster"
        )

    def release(self, handle: Shared) -> None:  # noqa: B027 - nothing to release by default
        """Stop sharing the data of ``handle`` (nothing if it is not shared)."""

    @contextlib.contextmanager
    def sharing(self, value: Any) -> Iterator[Shared]:
        """:meth:`share` ``value`` for the duration of a ``with`` block."""
        handle = self.share(value)
        try:
            yield handle
        finally:
            self.release(handle)

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
        self._shared: set[str] = set()

    def share(self, value: Any) -> Shared:
        """Keep ``value`` in this process for the tasks (no copy)."""
        handle = Shared(new_key(value), size_of(value))
        keep_here(handle.key, value)
        self._shared.add(handle.key)
        return handle

    def release(self, handle: Shared) -> None:
        """Forget the value of ``handle``."""
        self._shared.discard(handle.key)
        drop_here(handle.key)

    def close(self) -> None:
        """Forget every value still shared."""
        for key in list(self._shared):
            self.release(Shared(key))

    def _outcomes(
        self, fn: Callable[[T], R], items: list[T], names: list[str], desc: str
    ) -> Iterator[Done]:
        check_picklable(fn, items, names, MAX_TASK_BYTES)
        for index, item in enumerate(items):
            yield run_here(fn, item, index, names[index])


def _start_workers(pool: futures.ProcessPoolExecutor, count: int) -> None:
    """Make ``pool`` start its ``count`` workers (by giving each an empty task)."""
    with contextlib.suppress(BrokenProcessPool, RuntimeError):
        for _ in range(count):
            pool.submit(int)


def run_here(fn: Callable[[T], R], item: T, index: int, name: str) -> Done:
    """Run one task in this process, BLAS limited to one thread; a failure comes back named."""
    try:
        with blas_controller().limit(limits=1, user_api="blas"):
            value = fn(item)
    except Exception as exc:  # noqa: BLE001 - named and handed to the failure policy
        return Done(index, None, catch(exc).named(name), exc)
    return Done(index, value, None)


class LocalExecutor(Executor):
    """A pool of worker processes on this machine.

    Workers start with ``forkserver`` where available, else ``spawn``, with one BLAS thread
    each so that ``jobs`` workers use ``jobs`` cores. The fork server imports the task's module
    once (:func:`preload_modules`) and forks the workers from it, so they do not each import
    the package again. The pool starts on first use (or :meth:`start`) and serves every batch
    until :meth:`close`. At most ``2 * jobs`` tasks are in flight, so results that the
    caller has not consumed yet do not pile up.

    ``start_method="fork"`` forks the workers from this process itself: they start at once,
    with everything this process has imported. A process with threads must not fork (a lock
    held by another thread stays held in the child forever), so ``fork`` is used only on Linux
    while this process runs a single thread (:func:`can_fork`), checked when the workers start;
    otherwise the pool falls back to the default method. Call :meth:`start` before starting
    any thread (a progress bar starts one).

    Parameters
    ----------
    jobs : int, optional
        Worker processes; default the cores this process may use.
    start_method : {'forkserver', 'spawn', 'fork'}, optional
    max_task_bytes : int
        Largest pickled task argument accepted.
    help_while_starting : bool
        While the workers start (the fork server imports numpy, scipy and glmreport: seconds
        on a busy machine), this process runs tasks itself, one at a time, as
        :class:`SerialExecutor` does; then it hands every remaining task to the workers. For
        a batch of short tasks a pool is then not slower than one process. A task that kills
        its process would kill this one: leave it off for such tasks.
    """

    def __init__(
        self,
        jobs: int | None = None,
        *,
        start_method: Literal["forkserver", "spawn", "fork"] | None = None,
        max_task_bytes: int = MAX_TASK_BYTES,
        help_while_starting: bool = False,
    ) -> None:
        self.jobs = default_jobs() if jobs is None else check_jobs(jobs)
        method = start_method or _default_method()
        if method not in ("forkserver", "spawn", "fork"):
            raise ValueError(
                f"start_method must be 'forkserver', 'spawn' or 'fork', got {method!r}"
            )
        self.start_method = method
        self.max_task_bytes = max_task_bytes
        self.help_while_starting = help_while_starting
        self._warm = False
        self._starter: threading.Thread | None = None
        self._pool: futures.ProcessPoolExecutor | None = None

    def start(self) -> LocalExecutor:
        """Start the pool now; forked workers (``start_method="fork"``) start at once.

        Returns
        -------
        LocalExecutor
            This executor.
        """
        if self._pool is not None or self.start_method != "fork":
            return self
        if not can_fork():
            self.start_method = _default_method()
            return self
        pool = self._get_pool()
        try:
            _start_workers(pool, self.jobs)  # fork launches every worker before any thread
        except BaseException:
            self._discard_pool()
            raise
        return self

    def _get_pool(self, fn: Callable[..., Any] | None = None) -> futures.ProcessPoolExecutor:
        if self._pool is None:
            if self.start_method == "fork" and not can_fork():
                self.start_method = _default_method()
            context = multiprocessing.get_context(self.start_method)
            if self.start_method == "forkserver":
                context.set_forkserver_preload(preload_modules(fn))
            self._pool = futures.ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=context, initializer=init_worker
            )
            self._warm = self.start_method == "fork"
        return self._pool

    def _outcomes(
        self, fn: Callable[[T], R], items: list[T], names: list[str], desc: str
    ) -> Iterator[Done]:
        check_picklable(fn, items, names, self.max_task_bytes)
        pool = self._get_pool(fn)
        todo = iter(enumerate(items))
        if self.help_while_starting and not self._warm:
            yield from self._help(pool, fn, todo, names)
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

    def _help(
        self,
        pool: futures.ProcessPoolExecutor,
        fn: Callable[[T], R],
        todo: Iterator[tuple[int, T]],
        names: list[str],
    ) -> Iterator[Done]:
        """Run tasks here, one at a time, while another thread starts the workers.

        Starting a worker blocks until the fork server has imported the task's module, and
        the pool cannot take tasks meanwhile; this process fits instead of waiting.
        """
        if self._starter is None:
            self._starter = threading.Thread(
                target=_start_workers, args=(pool, self.jobs), daemon=True
            )
            self._starter.start()
        while self._starter.is_alive():
            here = next(todo, None)
            if here is None:
                return  # all done here; the workers go on starting for the next batch
            yield run_here(fn, here[1], here[0], names[here[0]])
        self._warm = True

    def _submit(
        self, pool: futures.ProcessPoolExecutor, fn: Callable[[T], R], item: T, name: str
    ) -> futures.Future[Any]:
        try:
            return pool.submit(call_task, fn, item)
        except BrokenProcessPool as exc:
            raise self._lost(name, exc) from exc

    def _done(self, future: futures.Future[Any], index: int, name: str) -> Done:
        """The outcome of a finished future; a dead worker raises whatever the policy."""
        try:
            value, caught = future.result()
        except BrokenProcessPool as exc:
            raise self._lost(name, exc) from exc
        return Done(index, value, None if caught is None else caught.named(name))

    def _lost(
        self, name: str, exc: BrokenProcessPool
    ) -> TaskError | TaskInternalError | WorkerLostError:
        """A worker died: the pool can run nothing more; a new one starts on the next batch."""
        self._discard_pool()
        lost = catch(exc, "worker")._replace(
            message="a worker process died while running it (killed, or out of memory?); "
            "try fewer --jobs"
        )
        return lost.named(name).exception()

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        self._warm, self._starter = False, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Wait for running tasks, cancel queued ones and stop the workers."""
        pool, self._pool = self._pool, None
        starter, self._starter, self._warm = self._starter, None, False
        if starter is not None:
            starter.join()  # the pool cannot shut down while a worker is being started
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _default_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def can_fork() -> bool:
    """Whether worker processes may be forked from this process now.

    On Linux (macOS system libraries, such as the Accelerate BLAS of NumPy's wheels, are not
    safe to use after a fork), with Python 3.10.5 or later (earlier, a fork pool could fork
    workers after starting its own threads), while this process runs one Python thread (no
    lock of another thread can be copied held; native threads of libraries such as
    OpenBLAS's handle a fork themselves).
    """
    return (
        sys.platform.startswith("linux")
        and sys.version_info >= (3, 10, 5)
        and threading.active_count() == 1
    )


def preload_modules(fn: Callable[..., Any] | None) -> list[str]:
    """Modules the fork server imports once, before it forks the workers.

    Without them every worker imports the task's module (and numpy, scipy, pandas with it)
    on its own when the first task arrives; with them the workers are forked with the
    modules already loaded, which halves a pool's start-up on two cores.
    """
    names = ["__main__", "numpy", call_task.__module__]  # glmreport.tasks.worker
    module = getattr(getattr(fn, "func", fn), "__module__", None)
    if module and module != "__main__":
        names.append(module)
    return names


def task_names(desc: str, names: Sequence[str] | None, count: int) -> list[str]:
    """One capped display name per task; given names must be unique strings."""
    if names is None:
        return [f"{desc} {i + 1} of {count}" for i in range(count)]
    names = list(names)
    if len(names) != count or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names must be {count} non-empty strings, one per task")
    if len(set(names)) != count:
        raise ValueError("task names must be unique")
    return [cap(n, _NAME_CAP) for n in names]


def check_picklable(fn: Callable[..., Any], items: list[Any], names: list[str], limit: int) -> None:
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
