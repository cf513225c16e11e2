"""Tasks on a Dask distributed cluster that the user started.

Closing the executor closes the client and never shuts the cluster down.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ...errors import GlmReportError
from ...tasks.shared import Shared, size_of
from .executors import MAX_TASK_BYTES, Executor, check_picklable
from .failures import Done, cap, catch
from .settings import DEFAULT_TIMEOUT, check_address, check_timeout
from .worker import call_task, environment

T = TypeVar("T")
R = TypeVar("R")

_DASK_HINT = "--scheduler needs the Dask client: pip install 'glmreport[dask]'"


class DaskMissingError(GlmReportError, ImportError):
    """A scheduler address was given but the Dask client is not installed."""


class SchedulerUnreachableError(GlmReportError, ConnectionError):
    """The Dask scheduler did not answer within the timeout."""


class WorkerEnvironmentError(GlmReportError, RuntimeError):
    """A Dask worker cannot run the tasks as this process would (no glmreport, other versions)."""


class DaskExecutor(Executor):
    """Tasks on a Dask distributed cluster that the user started.

    Every task is submitted with ``pure=False`` under the key ``(<desc>-<batch>, index)``:
    readable on the dashboard, fixed by the task's position, and unique to this batch so that
    two runs sharing a scheduler never share a task. Data shared with :meth:`share` is
    scattered once to every worker (``broadcast=True``) and every task of later batches
    depends on it, so Dask hands each task the worker's copy. Results wait on the workers until
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
        self._shared: dict[str, Any] = {}  # key -> future of data on every worker
        self.timeout = check_timeout(timeout)
        self._client = _connect(self.address, self.timeout)
        try:
            if check_workers:
                _check_workers(self._client)
            self.jobs = max(1, sum(self._client.nthreads().values()))
        except BaseException:
            self._client.close()
            raise

    def _outcomes(
        self, fn: Callable[[T], R], items: list[T], names: list[str], desc: str
    ) -> Iterator[Done]:
        from distributed import as_completed

        check_picklable(fn, items, names, self.max_task_bytes)
        prefix = f"glmreport-{_slug(desc)}-{uuid.uuid4().hex[:12]}"
        keys = [(prefix, index) for index in range(len(items))]
        extra = {"shared": dict(self._shared)} if self._shared else {}
        submitted = self._client.map(
            functools.partial(call_task, fn), items, key=keys, pure=False, **extra
        )
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
    ) -> Iterator[Done]:
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
                yield Done(index, value, None if caught is None else caught.named(names[index]))
            else:
                yield _dask_done(future, index, names[index])
            future.release()

    def share(self, value: Any) -> Shared:
        """Scatter ``value`` to every worker once (``broadcast=True``).

        See :mod:`glmreport.tasks.shared`.

        Raises
        ------
        SchedulerUnreachableError
            No worker took the data within the timeout (none connected?).
        """
        try:
            [future] = self._client.scatter(
                [value], broadcast=True, hash=False, timeout=self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachableError(
                f"could not send {size_of(value) / 2**20:.1f} MiB of data to the workers of the "
                f"Dask scheduler at {self.address} within {self.timeout:g} s ("
                f"{cap(str(exc), 200)}); check that workers are connected (`dask worker "
                f"{self.address}`)"
            ) from exc
        self._shared[future.key] = future
        return Shared(str(future.key), size_of(value))

    def release(self, handle: Shared) -> None:
        """Release the workers' copies of the data of ``handle``."""
        future = self._shared.pop(handle.key, None)
        if future is not None:
            future.release()

    def close(self) -> None:
        """Release the shared data and close the client (never the cluster)."""
        for key in list(self._shared):
            self.release(Shared(key))
        self._client.close()


def _dask_done(future: Any, index: int, name: str) -> Done:
    """The outcome of a finished Dask future; errors here come from the cluster, not the task."""
    try:
        value, caught = future.result()
    except Exception as exc:  # noqa: BLE001 - worker deaths, cancellations, deserialisation
        lost = type(exc).__name__ in ("KilledWorker", "CancelledError", "FutureCancelledError")
        return Done(index, None, catch(exc, "worker" if lost else "internal").named(name), exc)
    return Done(index, value, None if caught is None else caught.named(name))


def _slug(text: str) -> str:
    """``text`` as a Dask key part: letters, digits and dashes."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "task"


def _import_distributed() -> Any:
    """The ``distributed`` package, or :class:`DaskMissingError` saying how to install it."""
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
            f"{cap(str(exc), 200)}); start one with `dask scheduler` and workers with "
            f"`dask worker {address}`, or check the address"
        ) from exc


def _check_workers(client: Any) -> None:
    """Every connected worker imports glmreport with the versions of this process."""
    here = environment()
    answers = client.run(environment, on_error="return")
    for worker, there in sorted(answers.items()):
        if isinstance(there, BaseException):
            raise WorkerEnvironmentError(
                f"Dask worker {cap(worker, 80)} cannot run glmreport's tasks "
                f"({type(there).__name__}: {cap(str(there), 200)}); install glmreport "
                f"{here['glmreport']} on every worker"
            )
        diff = [f"{k} {there.get(k)} (here {v})" for k, v in here.items() if there.get(k) != v]
        if diff:
            raise WorkerEnvironmentError(
                f"Dask worker {cap(worker, 80)} has {', '.join(diff)}; every worker needs the "
                "same glmreport, Python and NumPy as this process for identical results"
            )
