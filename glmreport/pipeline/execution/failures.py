"""Task failures (defined in :mod:`glmreport.tasks.failures`, which worker processes import
without the pipeline)."""

from __future__ import annotations

from ...tasks.failures import (
    Caught,
    Done,
    FailureKind,
    RemoteTraceback,
    TaskError,
    TaskFailure,
    TaskInternalError,
    WorkerLostError,
    cap,
    catch,
    raise_failure,
)

__all__ = [
    "Caught",
    "Done",
    "FailureKind",
    "RemoteTraceback",
    "TaskError",
    "TaskFailure",
    "TaskInternalError",
    "WorkerLostError",
    "cap",
    "catch",
    "raise_failure",
]
