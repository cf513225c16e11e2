"""Task failures: what went wrong in a task, and the exceptions that report it.

An exception inside a task never escapes the worker as such: it comes back as a
:class:`TaskFailure` (its type, message and traceback text), named after the task. A
:class:`~glmreport.errors.GlmReportError` raised by a task means its input is at fault
(:class:`TaskError`, exit 2); any other exception is a bug (:class:`TaskInternalError`,
reported with the task's traceback); a dead worker is :class:`WorkerLostError`.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from ..errors import GlmReportError

FailureKind = Literal["input", "internal", "worker"]

_MESSAGE_CAP = 1000
_TRACEBACK_CAP = 20_000


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


class Caught(NamedTuple):
    """An exception caught where the task ran, in a form every executor can send back."""

    kind: FailureKind
    error_type: str
    message: str
    traceback: str

    def named(self, task: str) -> TaskFailure:
        """The failure of task ``task``."""
        return TaskFailure(
            task=task,
            kind=self.kind,
            error_type=self.error_type,
            message=self.message,
            traceback=self.traceback,
        )


class Done(NamedTuple):
    """One finished task: its value, or its failure and, in this process, the exception."""

    index: int
    value: Any
    failure: TaskFailure | None
    cause: BaseException | None = None


def cap(text: str, limit: int, *, tail: bool = False) -> str:
    """``text`` cut to ``limit`` characters (its end kept when ``tail``)."""
    if len(text) <= limit:
        return text
    return "..." + text[-limit:] if tail else text[:limit] + "..."


def catch(exc: BaseException, kind: FailureKind | None = None) -> Caught:
    """The exception as type name, capped message and traceback text."""
    cls = type(exc)
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    text = "".join(traceback.format_exception(cls, exc, exc.__traceback__))
    return Caught(
        kind=kind or ("input" if isinstance(exc, GlmReportError) else "internal"),
        error_type=name,
        message=cap(str(exc).strip(), _MESSAGE_CAP),
        traceback=cap(text, _TRACEBACK_CAP, tail=True),
    )


def raise_failure(done: Done) -> None:
    """Raise the exception reporting a failed task, its traceback chained as the cause."""
    assert done.failure is not None
    cause = done.cause or RemoteTraceback(done.failure.traceback)
    raise done.failure.exception() from cause
