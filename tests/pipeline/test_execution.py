"""The execution layer: serial, local process pool and a real Dask LocalCluster agree.

The task functions are top-level in this module so that worker processes (pool and Dask)
import them by name; the Dask cluster is module-scoped and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import os
import pickle
import re
import socket
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pytest

from glmreport.errors import GlmReportError, InputError
from glmreport.pipeline.execution import (
    MAX_JOBS,
    DaskExecutor,
    DaskMissingError,
    ExecutionSettingError,
    LocalExecutor,
    SchedulerUnreachableError,
    SerialExecutor,
    TaskError,
    TaskInternalError,
    ThreadExecutor,
    WorkerLostError,
    check_address,
    default_jobs,
    make_executor,
    run_tasks,
)

NAMES = [f"sub-{i:02d}" for i in range(6)]


# ----------------------------------------------------------------------------- tasks


def seeded_fit(seed: int) -> dict[str, np.ndarray]:
    """A small seeded least-squares fit: the kind of numbers a run fit returns."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((120, 8))
    y = x @ rng.standard_normal((8, 30)) + rng.standard_normal((120, 30))
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    return {"beta": beta, "sigma2": (resid**2).sum(axis=0) / (120 - 8), "seed": np.array(seed)}


def slow_first(index: int) -> int:
    """Early tasks finish last, so completion order differs from input order."""
    time.sleep(0.03 * (6 - index))
    return index * 10


def failing(index: int) -> int:
    """Task 2 has a bad input, task 3 has a bug, the others succeed."""
    if index == 2:
        raise InputError("events file sub-02_events.tsv is missing")
    if index == 3:
        return index // 0
    return index


def mark_then_sleep(item: tuple[str, int]) -> int:
    """Leave a file to show the task ran; task 0 fails at once, the others take a while."""
    folder, index = item
    Path(folder, f"{index}.ran").touch()
    if index == 0:
        raise InputError("bad input in the first task")
    time.sleep(0.2)
    return index


def blas_threads(_: int) -> list[int]:
    """BLAS thread counts inside a task."""
    from threadpoolctl import threadpool_info

    return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})


def current_key(_: int) -> object:
    """The Dask key of the task running this function."""
    from distributed import get_worker

    return get_worker().get_current_task()


def process_id(_: int) -> int:
    return os.getpid()


def signal_state(_: int) -> tuple[bool, int]:
    """Whether SIGTERM has its default action here, and the signal asked for on the parent's
    death (Linux ``prctl(PR_GET_PDEATHSIG)``; 0 elsewhere)."""
    import ctypes
    import signal

    default = signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    if not sys.platform.startswith("linux"):
        return default, 0
    value = ctypes.c_int(0)
    ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # 2: PR_GET_PDEATHSIG
    return default, value.value


def die(_: int) -> int:
    """Kill the worker process running the task."""
    os._exit(3)


def scaled(factor: int, value: int) -> int:
    return factor * value


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # None would still bind the HTTP server to 8787
    ) as local:
        yield local


@pytest.fixture(scope="module")
def executors(cluster):
    serial, pool, threads = SerialExecutor(), LocalExecutor(jobs=2), ThreadExecutor(jobs=2)
    dask = DaskExecutor(cluster.scheduler_address, timeout=10)
    yield {"serial": serial, "local": pool, "threads": threads, "dask": dask}
    for executor in (serial, pool, threads, dask):
        executor.close()


@pytest.fixture(params=["serial", "local", "threads", "dask"])
def executor(request, executors):
    return executors[request.param]


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------- results


def test_results_identical_across_executors(executors):
    seeds = [11, 7, 2024, 3, 99]
    expected = [seeded_fit(s) for s in seeds]
    for name, executor in executors.items():
        results = executor.map(seeded_fit, seeds, desc="fit")
        assert len(results) == len(seeds), name
        for got, want in zip(results, expected, strict=True):
            assert int(got["seed"]) == int(want["seed"]), name  # input order kept
            np.testing.assert_array_equal(got["beta"], want["beta"], err_msg=name)
            np.testing.assert_array_equal(got["sigma2"], want["sigma2"], err_msg=name)


def test_map_keeps_input_order_and_reports_each_result(executor):
    seen: list[tuple[int, int]] = []
    results = executor.map(slow_first, range(6), on_result=lambda i, r: seen.append((i, r)))
    assert results == [0, 10, 20, 30, 40, 50]
    assert sorted(seen) == [(i, 10 * i) for i in range(6)]


def test_as_completed_yields_every_index_once(executor):
    pairs = list(executor.as_completed(slow_first, range(6)))
    assert sorted(i for i, _ in pairs) == list(range(6))
    assert all(value == 10 * index for index, value in pairs)


def test_partial_of_a_top_level_function_is_a_task(executor):
    assert executor.map(functools.partial(scaled, 3), [1, 2, 5]) == [3, 6, 15]


def test_blas_runs_one_thread_inside_every_task(executor):
    assert executor.map(blas_threads, range(2)) == [[1], [1]]


def test_dask_keys_name_the_batch_and_the_position(executors):
    first = executors["dask"].map(current_key, range(3), desc="run fit")
    second = executors["dask"].map(current_key, range(2), desc="run fit")
    assert [index for _, index in first] == [0, 1, 2]
    prefixes = {prefix for prefix, _ in first}
    assert len(prefixes) == 1
    assert re.fullmatch(r"glmreport-run-fit-[0-9a-f]{12}", prefixes.pop())
    assert {prefix for prefix, _ in second}.isdisjoint(prefix for prefix, _ in first)


# ----------------------------------------------------------------------------- failures


def test_raise_policy_names_a_task_with_a_bad_input(executor):
    with pytest.raises(TaskError) as info:
        run_tasks(executor, failing, [0, 1, 2], names=NAMES[:3], on_error="raise")
    assert str(info.value) == "sub-02: events file sub-02_events.tsv is missing"
    assert isinstance(info.value, GlmReportError)
    assert info.value.task == "sub-02"
    assert info.value.failure.error_type == "glmreport.errors.InputError"
    assert "in failing" in info.value.traceback_text  # the task's own frame, for --verbose


def test_raise_policy_reports_a_bug_as_an_internal_error(executor):
    with pytest.raises(TaskInternalError) as info:
        run_tasks(executor, failing, [0, 1, 3], names=NAMES[:3], on_error="raise")
    assert str(info.value) == (
        "internal error in task sub-02: ZeroDivisionError: integer division or modulo by zero"
    )
    assert not isinstance(info.value, GlmReportError)
    assert "index // 0" in info.value.traceback_text
    chained = "".join(traceback.format_exception(info.value))
    assert "index // 0" in chained  # the task's traceback is chained as the cause


def test_map_names_tasks_by_position_by_default(executor):
    with pytest.raises(TaskError, match=r"^fit 3 of 3: events file sub-02_events\.tsv"):
        executor.map(failing, range(3), desc="fit")


def test_skip_policy_collects_failures_and_continues(executor):
    done: list[str] = []
    outcome = run_tasks(
        executor,
        failing,
        range(6),
        names=NAMES,
        on_error="skip",
        on_result=lambda name, _: done.append(name),
    )
    assert outcome.results == {"sub-00": 0, "sub-01": 1, "sub-04": 4, "sub-05": 5}
    assert list(outcome.results) == ["sub-00", "sub-01", "sub-04", "sub-05"]  # input order
    assert sorted(done) == ["sub-00", "sub-01", "sub-04", "sub-05"]
    assert outcome.failed == {
        "sub-02": "sub-02: events file sub-02_events.tsv is missing",
        "sub-03": "internal error in task sub-03: ZeroDivisionError: "
        "integer division or modulo by zero",
    }
    assert [f.kind for f in outcome.failures.values()] == ["input", "internal"]
    assert "index // 0" in outcome.failures["sub-03"].traceback


def test_first_failure_cancels_the_tasks_not_started(executor, tmp_path):
    items = [(str(tmp_path), i) for i in range(24)]
    with pytest.raises(TaskError, match="^t0: bad input in the first task$"):
        run_tasks(executor, mark_then_sleep, items, names=[f"t{i}" for i in range(24)])
    time.sleep(0.5)  # let tasks that were already running finish
    ran = len(list(tmp_path.glob("*.ran")))
    assert 1 <= ran < 12
    if isinstance(executor, SerialExecutor):
        assert ran == 1


def test_task_errors_survive_pickling():
    with pytest.raises(TaskError) as info:
        run_tasks(SerialExecutor(), failing, [2], names=["sub-02"])
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.task == "sub-02"


def test_dead_worker_process_is_reported_and_the_pool_restarts():
    with LocalExecutor(jobs=1) as pool:
        with pytest.raises(WorkerLostError, match="^task w1 was lost: .*died while running it"):
            run_tasks(pool, die, [0], names=["w1"], on_error="skip")
        assert pool.map(functools.partial(scaled, 2), [4]) == [8]


# ----------------------------------------------------------------------------- task contract


def test_tasks_must_be_top_level_functions_of_small_arguments(executor):
    with pytest.raises(TypeError, match="top-level function"):
        executor.map(lambda v: v, [1])
    with pytest.raises(ValueError, match="not arrays"):
        executor.map(np.sum, [np.zeros(300_000)])
    with pytest.raises(ValueError, match="unique"):
        run_tasks(executor, failing, [0, 1], names=["a", "a"])
    with pytest.raises(ValueError, match="'raise' or 'skip'"):
        run_tasks(executor, failing, [0], names=["a"], on_error="ignore")


# ----------------------------------------------------------------------------- settings


def test_make_executor_picks_the_engine(cluster):
    with make_executor(1) as one:
        assert isinstance(one, SerialExecutor)
    with make_executor(3) as three:
        assert isinstance(three, LocalExecutor) and three.jobs == 3
    with make_executor(None) as default:
        assert default.jobs == default_jobs() == len(os.sched_getaffinity(0))
    with make_executor(2, cluster.scheduler_address) as remote:  # the scheduler wins
        assert isinstance(remote, DaskExecutor) and remote.jobs == 2
        assert remote.map(failing, [0, 1]) == [0, 1]


@pytest.mark.parametrize("jobs", [0, -1, MAX_JOBS + 1, True, 2.5, "2"])
def test_bad_jobs_is_an_input_error(jobs):
    with pytest.raises(ExecutionSettingError, match="^--jobs must be a whole number"):
        make_executor(jobs)


def test_closing_the_executor_leaves_the_cluster_running(cluster):
    DaskExecutor(cluster.scheduler_address).close()
    assert len(cluster.scheduler_info["workers"]) == 2
    with DaskExecutor(cluster.scheduler_address) as again:
        assert again.map(slow_first, [5]) == [50]


def test_unreachable_scheduler_fails_within_the_timeout():
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(SchedulerUnreachableError) as info:
        make_executor(scheduler=address, timeout=1.5)
    assert time.monotonic() - start < 1.5 + 5
    assert str(info.value).startswith(f"cannot reach the Dask scheduler at {address} within 1.5 s")
    assert isinstance(info.value, ConnectionError) and isinstance(info.value, GlmReportError)


def test_missing_dask_client_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    with pytest.raises(DaskMissingError) as info:
        make_executor(scheduler=f"127.0.0.1:{free_port()}")
    assert str(info.value) == "--scheduler needs the Dask client: pip install 'glmreport[dask]'"


@pytest.mark.parametrize(
    ("address", "normalised"),
    [
        ("127.0.0.1:8786", "tcp://127.0.0.1:8786"),
        ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
        ("tls://scheduler.example.org:8786", "tls://scheduler.example.org:8786"),
        ("[::1]:8786", "tcp://[::1]:8786"),
        ("node-07:08786", "tcp://node-07:8786"),
    ],
)
def test_scheduler_addresses_are_checked_before_connecting(address, normalised):
    assert check_address(address) == normalised


@pytest.mark.parametrize(
    "address",
    [
        "",
        "127.0.0.1",
        "tcp://127.0.0.1",
        "http://127.0.0.1:8786",
        "tcp://127.0.0.1:0",
        "127.0.0.1:65536",
        "host name:8786",
        "tcp://127.0.0.1:8786/path",
        "-host:8786",
        "h" * 300 + ":8786",
        8786,
        b"127.0.0.1:8786",
    ],
)
def test_malformed_scheduler_address_is_an_error(address):
    with pytest.raises(ExecutionSettingError, match="is not valid; expected tcp://host:port") as e:
        make_executor(scheduler=address)
    assert len(str(e.value)) < 300  # the user's value is capped


@pytest.mark.parametrize("timeout", [0, -1, 601, float("nan"), "10", True])
def test_bad_timeout_is_an_error(timeout):
    with pytest.raises(ExecutionSettingError, match="timeout"):
        make_executor(scheduler="127.0.0.1:8786", timeout=timeout)


def test_fork_server_preloads_the_task_module():
    """The fork server imports the task's module once; workers are forked with it loaded."""
    import functools

    from glmreport.pipeline.execution.executors import preload_modules
    from glmreport.tasks.study_fit import fit_run

    names = preload_modules(fit_run)
    assert names[0] == "__main__" and "numpy" in names
    assert "glmreport.tasks.worker" in names
    assert names[-1] == fit_run.__module__ == "glmreport.tasks.study_fit"
    assert preload_modules(functools.partial(fit_run))[-1] == "glmreport.tasks.study_fit"
    assert "__main__" in preload_modules(None) and len(preload_modules(None)) == 3


def test_a_pool_that_helps_while_starting_gives_the_same_results():
    """This process runs tasks while the workers start; every task runs once, in any place."""
    expected = SerialExecutor().map(seeded_fit, range(8))
    with LocalExecutor(jobs=2, help_while_starting=True) as pool:
        with pytest.raises(TaskError, match="^task 3 of 3: events file sub-02_events.tsv"):
            pool.map(failing, range(3))  # run here: the workers are still starting
        found = pool.map(seeded_fit, range(8))
        pool._starter.join()  # the workers are up: nothing runs here now
        places = pool.map(process_id, range(4))
    for a, b in zip(expected, found, strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert os.getpid() not in places


# ----------------------------------------------------------------------- forked workers

FORKED = """
import os, signal, sys, threading
sys.path.insert(0, {tests!r})
from glmreport.pipeline.execution import LocalExecutor, SerialExecutor, can_fork
from pipeline.test_execution import process_id, seeded_fit, signal_state

assert threading.active_count() == 1 and can_fork()
signal.signal(signal.SIGTERM, lambda *_: None)  # as the command line's handler
with LocalExecutor(jobs=2, start_method="fork") as pool:
    pool.start()  # the workers are forked now, before any thread of this process
    assert pool.start_method == "fork" and pool._warm
    found = pool.map(seeded_fit, range(6))
    places = pool.map(process_id, range(4))
    states = pool.map(signal_state, range(2))
assert states == [(True, int(signal.SIGTERM))] * 2, states
expected = SerialExecutor().map(seeded_fit, range(6))
for a, b in zip(expected, found, strict=True):
    assert all((a[k] == b[k]).all() for k in a)
assert os.getpid() not in places
print("forked", len(set(places)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux")
def test_forked_workers_start_at_once_and_give_the_same_results():
    """In a process of one thread (a fresh interpreter), ``fork`` workers run the tasks, with
    SIGTERM's default action and a SIGTERM asked for when their parent dies."""
    import subprocess

    tests = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", FORKED.format(tests=tests)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([tests, *sys.path])},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "forked"


def test_a_process_with_threads_never_forks_its_workers():
    """Another thread could hold a lock that a forked child would keep held forever: with a
    thread running, a ``fork`` pool starts with the default method instead."""
    import threading

    from glmreport.pipeline.execution import can_fork

    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait)
    waiter.start()
    try:
        assert not can_fork()
        expected = SerialExecutor().map(seeded_fit, range(4))
        with LocalExecutor(jobs=2, start_method="fork") as pool:
            pool.start()
            assert pool._pool is None  # nothing forked
            found = pool.map(seeded_fit, range(4))
            assert pool.start_method in ("forkserver", "spawn")
    finally:
        stop.set()
        waiter.join()
    for a, b in zip(expected, found, strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in a)


def test_unknown_start_methods_are_refused():
    with pytest.raises(ValueError, match="'forkserver', 'spawn' or 'fork'"):
        LocalExecutor(jobs=2, start_method="threads")
