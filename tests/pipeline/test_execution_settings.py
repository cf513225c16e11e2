"""--jobs, --scheduler and the connection timeout."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.pipeline.execution.settings import (
    MAX_JOBS,
    ExecutionSettingError,
    check_address,
    check_jobs,
    check_timeout,
    default_jobs,
)


def test_jobs():
    assert check_jobs(4) == 4 and check_jobs(np.int64(2)) == 2 and default_jobs() >= 1
    for bad in (0, MAX_JOBS + 1, True, 2.0, "2"):
        with pytest.raises(ExecutionSettingError, match="--jobs must be a whole number"):
            check_jobs(bad)


def test_timeout():
    assert check_timeout(5) == 5.0 and check_timeout(600) == 600.0
    for bad in (0, -1, 601, True, "5", float("nan")):
        with pytest.raises(ExecutionSettingError, match="timeout"):
            check_timeout(bad)


def test_addresses_are_completed_or_refused():
    assert check_address("localhost:8786") == "tcp://localhost:8786"
    assert check_address("tls://10.0.0.1:9000") == "tls://10.0.0.1:9000"
    assert check_address("[::1]:8786") == "tcp://[::1]:8786"
    for bad in ("localhost", "http://h:1", "h:0", "h:70000", "a" * 300 + ":1", 8786):
        with pytest.raises(ExecutionSettingError, match="is not valid"):
            check_address(bad)
