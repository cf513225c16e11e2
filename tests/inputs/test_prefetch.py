"""Input files read ahead during start-up: the same digests and values, or nothing."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport.config.specs import InputsSpec
from glmreport.errors import InputError
from glmreport.inputs import prefetch
from glmreport.inputs.bold import run_mean_image, run_timeseries
from glmreport.inputs.group import read_group_inputs
from glmreport.inputs.images import image_data, load_image, sha256
from glmreport.inputs.prefetch import Prefetch, Want


@pytest.fixture(autouse=True)
def _no_read_ahead_left():
    yield
    prefetch.stop()


def _run(path: Path, seed: int = 0, shape=(6, 5, 4, 12), **header) -> np.ndarray:
    data = np.random.default_rng(seed).normal(1000, 50, shape).astype(np.float32)
    img = nib.Nifti1Image(np.round(data).astype(np.int16), np.eye(4))
    img.header.set_slope_inter(header.get("slope", 0.5), header.get("inter", 10.0))
    nib.save(img, path)
    return data


def _wait(active: Prefetch) -> None:
    for entry in active._entries.values():
        assert entry.done.wait(30)


def test_digests_and_inflated_bytes_equal_the_files(tmp_path):
    gz, plain = tmp_path / "a_bold.nii.gz", tmp_path / "b_bold.nii"
    _run(gz)
    _run(plain, seed=1)
    active = Prefetch([Want(gz, inflate=True), Want(plain)]).start()
    _wait(active)
    for path in (gz, plain):
        assert active.digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert active.inflated(gz, keep=True) == gzip.decompress(gz.read_bytes())
    assert active.inflated(gz) == gzip.decompress(gz.read_bytes())  # taken: released
    assert active.inflated(gz) is None and active._held == 0
    assert active.inflated(plain) is None  # not inflated: read by the reader
    assert active.digest(tmp_path / "other.nii.gz") is None  # not planned: no wait


def test_readers_give_the_same_values_with_and_without_read_ahead(tmp_path):
    """Bit-identical: time series, temporal mean, 3D maps and checksums."""
    run = tmp_path / "run_bold.nii.gz"
    _run(run)
    maps = [tmp_path / f"sub-0{i}_map.nii.gz" for i in range(3)]
    for i, p in enumerate(maps):
        _run(p, seed=5 + i, shape=(6, 5, 4), slope=2.0, inter=-1.0)
    mask = np.zeros((6, 5, 4), bool)
    mask[1:5, 1:4, :3] = True

    def read_all():
        img = load_image(run, allow_4d=True)
        group = read_group_inputs(maps, "auto", fwhm_mm=4.0)
        return (
            run_mean_image(img),
            run_timeseries(img, mask),
            image_data(load_image(maps[0])),
            group.data,
            group.mask,
            [sha256(p) for p in [run, *maps]],
        )

    expected = read_all()
    active = prefetch.start([Want(p, inflate=True) for p in [run, *maps]])
    _wait(active)
    got = read_all()
    for a, b in zip(got, expected, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b
    assert all(e.data is None for e in active._entries.values())  # each taken once read


def test_a_file_changed_after_it_was_read_ahead_is_read_again(tmp_path):
    """Rewritten in place at the same size, its modification time set back: still noticed."""
    path = tmp_path / "run_bold.nii.gz"
    _run(path)
    stored = gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=0, mtime=0)
    path.write_bytes(stored)  # stored blocks: the file's size depends only on the data's
    active = prefetch.start([Want(path, inflate=True)])
    _wait(active)
    before = path.stat()
    other = tmp_path / "other_bold.nii.gz"
    data = _run(other, seed=9)
    path.write_bytes(gzip.compress(gzip.decompress(other.read_bytes()), compresslevel=0, mtime=0))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_ino == before.st_ino
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert active.digest(path) is None and active.inflated(path) is None
    assert sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    y = run_timeseries(nib.load(path), np.ones((6, 5, 4), bool))
    np.testing.assert_allclose(y[3], (np.round(data[..., 3]) * 0.5 + 10).ravel(), rtol=1e-6)


def test_the_byte_budget_bounds_what_is_held(tmp_path):
    """A file over the budget is hashed only; so is a small gzip inflating past it (a bomb)."""
    run = tmp_path / "run_bold.nii.gz"
    _run(run)
    size = len(gzip.decompress(run.read_bytes()))
    bomb = tmp_path / "bomb.nii.gz"
    bomb.write_bytes(gzip.compress(bytes(64 << 20)))
    active = Prefetch([Want(run, inflate=True), Want(bomb, inflate=True)], budget=size - 1)
    _wait(active.start())
    assert active.digest(run) == hashlib.sha256(run.read_bytes()).hexdigest()
    assert active.inflated(run) is None and active.inflated(bomb) is None
    assert active._held == 0
    both = Prefetch([Want(run, inflate=True), Want(bomb, inflate=True)], budget=size + 100)
    _wait(both.start())
    assert both._held == size  # the second file no longer fits
    assert both.inflated(bomb) is None and len(both.inflated(run)) == size


@pytest.mark.parametrize("damage", ["truncated", "trailing bytes", "two members"])
def test_a_damaged_gzip_is_left_to_the_reader(tmp_path, damage):
    """Not inflated ahead: the run's reader reads the file and reports it as it always did."""
    path = tmp_path / "run_bold.nii.gz"
    _run(path)
    raw = path.read_bytes()
    damaged = {
        "truncated": raw[: len(raw) // 2],
        "trailing bytes": raw + b"junk",
        "two members": raw + gzip.compress(b"x"),
    }[damage]
    path.write_bytes(damaged)
    active = prefetch.start([Want(path, inflate=True)])
    _wait(active)
    assert active.inflated(path, keep=True) is None
    assert active.digest(path) == hashlib.sha256(damaged).hexdigest()
    if damage == "truncated":
        with pytest.raises(InputError, match="truncated or corrupt"):
            run_timeseries(nib.load(path), np.ones((6, 5, 4), bool), source=str(path))


def test_stop_drops_the_bytes_and_wakes_waiting_readers(tmp_path):
    path = tmp_path / "run_bold.nii.gz"
    _run(path)
    active = Prefetch([Want(path, inflate=True)])  # never started: a reader would wait
    got = []
    reader = threading.Thread(target=lambda: got.append(active.inflated(path)))
    reader.start()
    active.stop()
    reader.join(10)
    assert not reader.is_alive() and got == [None]


def test_plan_lists_first_and_second_level_inputs(tmp_path):
    from glmreport.config.specs import ModelConfig, RunSpec

    class Config:
        def __init__(self, model):
            self.model = model

    runs = (RunSpec(name="r1", bold=tmp_path / "r1.nii.gz"), RunSpec(name="r2", bold="r2.nii"))
    wants = prefetch.plan(Config(ModelConfig(level="first", runs=runs)))
    assert wants == [Want(tmp_path / "r1.nii.gz", inflate=True), Want(Path("r2.nii"))]
    maps = [tmp_path / "maps" / f"sub-0{i}.nii.gz" for i in range(2)]
    maps[0].parent.mkdir()
    for p in maps:
        p.write_bytes(b"")
    table = tmp_path / "inputs.tsv"
    table.write_text(
        "path\tage\nmaps/sub-00.nii.gz\t30\n"
        + f"{maps[1]}\t40\nmissing.nii\t50\nn/a\t60\n maps/sub-00.nii.gz\t70\n"
    )  # a missing path and one with a space (the run refuses both) are not read ahead
    specs = [
        InputsSpec(kind="table", table=table, base_dir=tmp_path),
        InputsSpec(kind="list", rows=tuple({"path": str(p)} for p in maps)),
        InputsSpec(kind="glob", pattern="maps/*.nii.gz", base_dir=tmp_path),
    ]
    for spec in specs:
        wants = prefetch.plan(Config(ModelConfig(level="second", inputs=spec)))
        assert [Path(w.path).resolve() for w in wants] == [p.resolve() for p in maps]
        assert all(w.inflate for w in wants)
    assert prefetch.plan(Config(ModelConfig(level="maps"))) == []


def test_a_run_from_the_command_line_leaves_no_read_ahead(tmp_path, monkeypatch):
    """The CLI starts the read-ahead before its imports and stops it, also when a run fails."""
    from test_cli import CONFIG, write_dataset

    from glmreport.cli import main

    write_dataset(tmp_path, n=6)
    (tmp_path / "analysis.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    started = []
    real_start = prefetch.start
    monkeypatch.setattr(prefetch, "start", lambda wants: started.append(real_start(wants)))
    assert main(["run", "analysis.yaml", "--out", "res", "-q"]) == 0
    assert len(started) == 1 and len(started[0]._entries) == 6
    assert prefetch._active is None and started[0]._stopped.is_set()
    (tmp_path / "sub-03.nii.gz").write_bytes(b"not a gzip")
    assert main(["run", "analysis.yaml", "--out", "res2", "-q"]) == 2
    assert prefetch._active is None and not (tmp_path / "res2").exists()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_failing_read_ahead_leaves_no_reader_waiting(tmp_path, monkeypatch):
    """An error in the thread itself (not a file's) still finishes every entry."""
    paths = [tmp_path / f"r{i}_bold.nii.gz" for i in range(2)]
    for p in paths:
        _run(p)

    def broken(self, entry):
        raise SystemExit("the thread ends here")

    monkeypatch.setattr(Prefetch, "_hash", broken)
    active = Prefetch([Want(p, inflate=True) for p in paths]).start()
    active._thread.join(10)
    assert active.digest(paths[1]) is None and active.inflated(paths[0]) is None
    assert sha256(paths[1]) == hashlib.sha256(paths[1].read_bytes()).hexdigest()
