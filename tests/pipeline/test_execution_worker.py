"""What runs in a worker: one BLAS thread, failures caught, versions reported."""

from __future__ import annotations

import os

from threadpoolctl import threadpool_info, threadpool_limits

from glmreport.pipeline.execution.worker import call_task, environment, init_worker


def _double(x: int) -> int:
    return 2 * x


def _fail(x: int) -> int:
    raise RuntimeError(f"no {x}")


def test_call_task_returns_the_value_or_the_caught_failure():
    assert call_task(_double, 21) == (42, None)
    value, caught = call_task(_fail, 3)
    assert value is None and caught.kind == "internal" and caught.message == "no 3"


def test_init_worker_limits_blas_to_one_thread(monkeypatch):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "4")
    with threadpool_limits(limits=None):  # the test process gets its thread counts back
        init_worker()
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["OMP_NUM_THREADS"] == "1"
    assert blas and all(n == 1 for n in blas)


def test_environment_names_the_versions_workers_must_share():
    env = environment()
    assert set(env) == {"glmreport", "python", "numpy"}
    assert env["python"].count(".") == 1
