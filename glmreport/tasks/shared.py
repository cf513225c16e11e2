"""Data sent once to every worker, and the small handle that tasks carry instead.

A task's argument stays small (paths, settings, ranges); data that every task of a batch reads
(a group's residuals, its resamples) is shared once with :meth:`Executor.share
<glmreport.pipeline.execution.Executor.share>`, which returns a :class:`Shared` handle. The
task puts the handle in its argument and calls :meth:`Shared.value` where it runs.

- :class:`~glmreport.pipeline.execution.SerialExecutor` keeps the value in this process.
- :class:`~glmreport.pipeline.execution.DaskExecutor` scatters it to every worker
  (``broadcast=True``) and makes every task of its batches depend on it, so a worker holds
  one copy whatever the number of tasks, and a worker that joins later gets it from a peer.
- :class:`~glmreport.pipeline.execution.LocalExecutor` shares nothing: its pool workers would
  each need their own copy; callers keep such work in this process (threads).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_HERE: dict[str, Any] = {}  # values shared by executors running tasks in this process
_BOUND = threading.local()  # values a Dask task received with its argument, while it runs


class SharedDataError(RuntimeError):
    """A task asked for shared data its process does not have (released, or never sent)."""


@dataclass(frozen=True, slots=True)
class Shared:
    """Handle of data shared with every worker (see :mod:`glmreport.tasks.shared`).

    Attributes
    ----------
    key : str
        Unique name of the data (its Dask key on a cluster).
    nbytes : int
        Size of the data's arrays, for messages (0 when unknown).
    """

    key: str
    nbytes: int = 0

    def value(self) -> Any:
        """The shared data, where the task runs.

        Raises
        ------
        SharedDataError
            The data is not available in this process: it was released, or the executor
            that runs the task does not share data.
        """
        bound = getattr(_BOUND, "values", None) or {}
        if self.key in bound:
            return bound[self.key]
        try:
            return _HERE[self.key]
        except KeyError:
            raise SharedDataError(
                f"shared data {self.key} is not available in this process (released, or "
                "the executor that ran this task shares no data with its workers)"
            ) from None


def new_key(value: Any) -> str:
    """A unique key naming ``value`` (its type, then random hex)."""
    return f"glmreport-shared-{type(value).__name__}-{uuid.uuid4().hex[:16]}"


def keep_here(key: str, value: Any) -> None:
    """Share ``value`` under ``key`` with tasks that run in this process."""
    _HERE[key] = value


def drop_here(key: str) -> None:
    """Forget a value shared in this process (nothing if absent)."""
    _HERE.pop(key, None)


@contextlib.contextmanager
def bound(values: Mapping[str, Any] | None) -> Iterator[None]:
    """Make ``values`` (key -> shared data) visible to :meth:`Shared.value` in this thread."""
    if not values:
        yield
        return
    previous = getattr(_BOUND, "values", None)
    _BOUND.values = {**(previous or {}), **values}
    try:
        yield
    finally:
        _BOUND.values = previous


def size_of(value: Any) -> int:
    """``value.nbytes`` when it says, else 0."""
    try:
        return max(0, int(getattr(value, "nbytes", 0) or 0))
    except (TypeError, ValueError):
        return 0
