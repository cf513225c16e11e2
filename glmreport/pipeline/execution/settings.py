"""The settings of an execution: ``--jobs``, ``--scheduler`` and the connection timeout."""

from __future__ import annotations

import math
import re

import numpy as np

from ...errors import GlmReportError
from ...resources import usable_cores
from .failures import cap

DEFAULT_TIMEOUT = 10.0  # seconds to reach a Dask scheduler
MAX_JOBS = 1024
MAX_ADDRESS = 255
_ADDRESS = re.compile(
    r"(?:(?P<scheme>tcp|tls)://)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)"
    r":(?P<port>[0-9]{1,5})"
)


class ExecutionSettingError(GlmReportError, ValueError):
    """``--jobs``, ``--scheduler`` or the connection timeout has an unusable value."""


def default_jobs() -> int:
    """Cores this process may run on (its CPU affinity where the system reports it)."""
    return usable_cores()


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


def _show(value: object) -> str:
    """A capped repr of a setting for messages."""
    return cap(repr(value), 60)
