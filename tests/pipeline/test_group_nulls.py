"""A group level's permutation nulls as chunks of resamples: in this process and on a real Dask
``LocalCluster`` (127.0.0.1, module-scoped), identical to the in-process null bit for bit.

The data goes to the workers once (scattered with ``broadcast=True``) and is released after;
a task's argument is a handle and a range; a failing chunk is named in the error; a study run
with a scheduler writes the same numbers, maps and tables as one run in this process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from fixtures.group_data import smooth_noise

from glmreport.inference.permutation import (
    NullSettings,
    cluster_forming_threshold,
    permutation_null,
)
from glmreport.inference.permutation.loop import NullWork
from glmreport.pipeline.execution import (
    DaskExecutor,
    LocalExecutor,
    SchedulerUnreachableError,
    SerialExecutor,
    Shared,
    SharedDataError,
    TaskInternalError,
    WorkerLostError,
)
from glmreport.pipeline.group_nulls import ChunkedNulls, NullChunk, null_chunk

NULLS = ("max_stat", "max_size", "max_mass", "max_tfce", "stat", "tfce", "resamples")
N = 12


def _inputs(tfce: bool):
    data, mask = smooth_noise(N, 5)
    data = data + 0.25
    if tfce:
        settings = NullSettings(
            n_perm=200,
            seed=9,
            two_sided=True,
            tfce=True,
            cluster_threshold=cluster_forming_threshold(0.01, "t", N - 1, two_sided=True),
        )
    else:
        settings = NullSettings(n_perm=1100, seed=9)
    return data, np.ones((N, 1)), [[1.0]], settings, mask


def _assert_same_null(a, b) -> None:
    for attr in NULLS:
        x, y = getattr(a, attr), getattr(b, attr)
        assert (x is None) == (y is None), attr
        if x is not None:
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y, err_msg=attr)


class _Caught(Exception):
    """Carries the NullWork out of permutation_null."""


def _work_of(data, x, w, settings, mask) -> NullWork:
    """The NullWork that permutation_null hands its runner."""

    def capture(work: NullWork):
        raise _Caught(work)

    with pytest.raises(_Caught) as caught:
        permutation_null(data, x, w, settings, mask=mask, runner=capture)
    return caught.value.args[0]


def _corrupt(row: int, entry: object = "x"):
    """A runner wrapper: resample ``row`` cannot be read (a chunk task fails on it)."""

    def wrap(runner):
        def run(work: NullWork):
            bad = work.resamples.astype(object)
            bad[row, 0] = entry
            return runner(dataclasses.replace(work, resamples=bad))

        return run

    return wrap


# ----------------------------------------------------------------------------- in this process


@pytest.mark.parametrize("tfce", [False, True])
def test_serial_chunks_equal_the_in_process_null(tfce: bool):
    data, x, w, settings, mask = _inputs(tfce)
    here = permutation_null(data, x, w, settings, mask=mask)
    said: list[str] = []
    with SerialExecutor() as executor:
        runner = ChunkedNulls(executor, log=said.append)
        there = permutation_null(data, x, w, settings, mask=mask, runner=runner)
        assert not executor._shared  # released
    _assert_same_null(here, there)
    chunks = 4 if tfce else 3  # 4 per thread: 200 maps in batches of 32, 1100 in 256
    assert len(said) == 1
    assert re.fullmatch(
        rf"{settings.n_perm} resamples in {chunks} chunks \(0\.[0-9] MiB of data shared once "
        r"with the workers\)",
        said[0],
    )


def test_shared_handles_in_this_process():
    with SerialExecutor() as executor:
        values = np.arange(5.0)
        handle = executor.share(values)
        assert handle.value() is values and handle.nbytes == 40
        assert len(pickle.dumps(handle)) < 200
        executor.release(handle)
        with pytest.raises(SharedDataError, match="is not available in this process"):
            handle.value()
        kept = executor.share([1, 2])
    with pytest.raises(SharedDataError):  # closing releases what is still shared
        kept.value()
    with pytest.raises(NotImplementedError, match="LocalExecutor shares no data"):
        LocalExecutor(jobs=2).share(values)


def test_a_failing_chunk_is_named():
    data, x, w, settings, mask = _inputs(False)
    with SerialExecutor() as executor:
        runner = _corrupt(600)(ChunkedNulls(executor))
        with pytest.raises(TaskInternalError) as caught:
            permutation_null(data, x, w, settings, mask=mask, runner=runner)
        assert not executor._shared
    assert str(caught.value).startswith(
        "internal error in task permutation chunk 2 of 3 (resamples 512-1023): ValueError:"
    )


# ----------------------------------------------------------------------------- on a cluster


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as local:
        yield local


@pytest.fixture(scope="module")
def dask(cluster):
    with DaskExecutor(cluster.scheduler_address, timeout=10) as executor:
        yield executor


@pytest.fixture(scope="module")
def client(cluster):
    import distributed

    with distributed.Client(cluster.scheduler_address, set_as_default=False) as watcher:
        yield watcher


def _held(client, key: str) -> set[str]:
    """The workers holding ``key``."""
    return set(client.who_has().get(key, ()))


@pytest.mark.slow
@pytest.mark.parametrize("tfce", [False, True])
def test_cluster_chunks_equal_the_in_process_null(dask, tfce: bool):
    data, x, w, settings, mask = _inputs(tfce)
    here = permutation_null(data, x, w, settings, mask=mask)
    there = permutation_null(data, x, w, settings, mask=mask, runner=ChunkedNulls(dask))
    _assert_same_null(here, there)
    assert not dask._shared


@pytest.mark.slow
def test_data_goes_to_every_worker_once_and_is_released(dask, client, cluster):
    data, x, w, settings, mask = _inputs(True)
    work = _work_of(data, x, w, settings, mask)
    bounds = ChunkedNulls(dask).bounds(work)
    assert len(bounds) == 7  # 4 chunks per thread, 2 threads, 200 resamples in batches of 32
    handle = dask.share(work)
    try:
        assert isinstance(handle, Shared) and handle.nbytes == work.nbytes
        assert _held(client, handle.key) == set(cluster.scheduler_info["workers"])
        tasks = [NullChunk(handle, a, b) for a, b in bounds]
        assert max(len(pickle.dumps(t)) for t in tasks) < 300  # a handle and a range
        parts = dask.map(null_chunk, tasks)
    finally:
        dask.release(handle)
    assert [(p.start, p.stop) for p in parts] == bounds
    deadline = time.monotonic() + 10
    while _held(client, handle.key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _held(client, handle.key)


@pytest.mark.slow
def test_a_failing_chunk_on_the_cluster_is_named(dask):
    data, x, w, settings, mask = _inputs(True)
    runner = _corrupt(70)(ChunkedNulls(dask))
    with pytest.raises(TaskInternalError) as caught:
        permutation_null(data, x, w, settings, mask=mask, runner=runner)
    assert str(caught.value).startswith(
        "internal error in task permutation chunk 3 of 7 (resamples 64-95): ValueError:"
    )
    assert "could not convert string to float" in str(caught.value)
    assert not dask._shared


class Fatal:
    """A resample entry that kills the worker process reading it."""

    def __float__(self) -> float:
        os._exit(3)


@pytest.mark.slow
def test_a_worker_lost_in_a_chunk_is_named():
    distributed = pytest.importorskip("distributed")
    import dask

    data, x, w, settings, mask = _inputs(True)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as doomed,
        DaskExecutor(doomed.scheduler_address, timeout=10) as executor,
    ):
        runner = _corrupt(70, Fatal())(ChunkedNulls(executor))
        with pytest.raises(WorkerLostError) as caught:
            permutation_null(data, x, w, settings, mask=mask, runner=runner)
        assert not executor._shared
    # the chunks queued on the dead worker are lost with it: the first reported is named
    assert re.match(
        r"task permutation chunk [1-7] of 7 \(resamples [0-9]+-[0-9]+\) was lost: "
        r"distributed\.scheduler\.KilledWorker: ",
        str(caught.value),
    )


def test_a_cluster_without_workers_is_a_clear_error():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as empty:
        with DaskExecutor(empty.scheduler_address, timeout=1) as executor:
            with pytest.raises(SchedulerUnreachableError) as caught:
                executor.share(np.zeros(4))
            assert not executor._shared
    address = re.escape(empty.scheduler_address)
    assert re.fullmatch(
        rf"could not send 0\.0 MiB of data to the workers of the Dask scheduler at {address} "
        rf"within 1 s \(No valid workers found\); check that workers are connected "
        rf"\(`dask worker {address}`\)",
        str(caught.value),
    )


# ----------------------------------------------------------------------------- a study

CONFIG = """\
title: Faces
model:
  level: study
  bids: bids
  task: faces
  space: MNI152NLin2009cAsym
  first_level:
    smoothing_fwhm: 6
    confounds: ["trans_?", "rot_?"]
  group:
    covariates: [age]
contrasts:
  - {name: faces, t: face}
corrections:
  - {method: permutation, n_perm: 300, seed: 4, cluster_forming_p: 0.05, tfce: true}
report: {formats: []}
"""


def _files(folder: Path) -> dict[str, bytes | np.ndarray]:
    """Every map's voxels and every other file's bytes, but summary.json (compared apart)."""
    out: dict[str, bytes | np.ndarray] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if path.name == "summary.json":
            continue
        if name.endswith(".nii.gz"):
            out[name] = np.asarray(nib.load(path).dataobj)
        else:
            out[name] = path.read_bytes()
    return out


@pytest.mark.slow
def test_study_on_a_cluster_writes_the_numbers_of_a_serial_run(tmp_path: Path, cluster):
    from glmreport.config.load import load_config
    from glmreport.datasets.study import write_study
    from glmreport.pipeline import run

    write_study(tmp_path / "bids", n_subjects=6, n_runs=1, n_scans=30, shape=(8, 10, 8))
    (tmp_path / "study.yaml").write_text(CONFIG)
    config = load_config(tmp_path / "study.yaml")
    serial = run(config, out=tmp_path / "serial", jobs=1)
    said: list[str] = []
    dask = run(config, out=tmp_path / "dask", scheduler=cluster.scheduler_address, log=said.append)
    assert any("resamples in" in s and "chunks" in s for s in said), said
    expected, got = _files(serial), _files(dask)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got[name], value, err_msg=name)
        else:
            assert got[name] == value, name
    summaries = [json.loads((f / "summary.json").read_text()) for f in (serial, dask)]
    assert summaries[0]["contrasts"] == summaries[1]["contrasts"]
    corrections = summaries[0]["contrasts"][0]["corrections"]
    routes = {c.get("route") or c["desc"] for c in corrections}
    assert {"permMaxT", "permClusterSize", "permClusterMass", "permTFCE"} <= routes
