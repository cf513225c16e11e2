"""What runs in a worker process: one BLAS thread, the task, and the versions to compare.

BLAS is limited to one thread for the process and not restored: a worker process only runs
tasks, and a Dask worker may run several at once in threads.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from ..resources import blas_controller
from .failures import Caught, catch
from .shared import bound

T = TypeVar("T")
R = TypeVar("R")

_BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def init_worker() -> None:
    """Pool worker initializer: one BLAS/OpenMP thread in this process, whatever loads later;
    the default action for SIGTERM and SIGHUP (a worker forked from ``glmreport run`` would
    otherwise keep the command's handlers, which end the run as if it had been stopped); on
    Linux, SIGTERM when the process that started it dies, so no worker outlives a killed run.
    """
    for name in _BLAS_ENV:
        os.environ[name] = "1"
    blas_controller().limit(limits=1, user_api="blas")
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        _end_with_parent()


def _end_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent process dies (``prctl(PR_SET_PDEATHSIG)``)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        pass


def call_task(
    fn: Callable[[T], R], item: T, shared: Mapping[str, Any] | None = None
) -> tuple[R | None, Caught | None]:
    """Run one task in a worker process; exceptions come back as a :class:`Caught`.

    ``shared`` (key -> data, resolved by Dask from the executor's shared futures) is what the
    task's :class:`~.shared.Shared` handles return while it runs.
    """
    try:
        blas_controller().limit(limits=1, user_api="blas")
        with bound(shared):
            return fn(item), None
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, named
        return None, catch(exc)


def environment() -> dict[str, str | None]:
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
