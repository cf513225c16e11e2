"""The replace, lock and read-back rules of glmreport.outputs.safety, function by function.

The end-to-end behaviour (``run --overwrite`` on hostile folders) is in tests/hostile/; these
tests pin each rule on its own so that a regression names the rule that broke.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from glmreport.errors import InputError, OutputError
from glmreport.outputs.derivative import generated_by
from glmreport.outputs.layout import DESCRIPTION, SUMMARY
from glmreport.outputs.safety import (
    DEMO_MARKER,
    check_demo_folder,
    check_target,
    demo_marker,
    forbidden,
    lock_path,
    names_glmreport,
    not_ours,
    output_lock,
    resolve_inside,
)


def _results_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / SUMMARY).write_text("{}", encoding="utf-8")
    (folder / DESCRIPTION).write_text(json.dumps({"GeneratedBy": generated_by()}), "utf-8")
    return folder


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"GeneratedBy": [{"Name": "glmreport", "Version": "0"}]}, True),
        ({"GeneratedBy": [{"Name": "fMRIPrep"}, {"Name": "glmreport"}]}, True),
        ({"GeneratedBy": [{"Name": "fMRIPrep"}]}, False),
        ({"GeneratedBy": {"Name": "glmreport"}}, False),  # BIDS: a list, not an object
        ({"Name": "glmreport"}, False),
        (["glmreport"], False),
    ],
)
def test_names_glmreport_reads_generated_by(tmp_path, content, expected):
    path = tmp_path / DESCRIPTION
    path.write_text(json.dumps(content), encoding="utf-8")
    assert names_glmreport(path) is expected


def test_names_glmreport_refuses_links_corrupt_and_missing_files(tmp_path):
    real = tmp_path / "real.json"
    real.write_text(json.dumps({"GeneratedBy": generated_by()}), encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json", encoding="utf-8")
    assert names_glmreport(real)
    assert not names_glmreport(link)
    assert not names_glmreport(corrupt)
    assert not names_glmreport(tmp_path / "absent.json")


def test_not_ours_names_what_is_missing(tmp_path):
    ours = _results_folder(tmp_path / "ours")
    assert not_ours(ours) is None
    (ours / SUMMARY).unlink()
    assert not_ours(ours) == f"no {SUMMARY}"
    docs = tmp_path / "docs"
    docs.mkdir()
    assert not_ours(docs) == f"no {SUMMARY} and no {DESCRIPTION} naming glmreport"


def test_forbidden_protects_root_home_cwd_and_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home" / "user"))
    (tmp_path / "home" / "user").mkdir(parents=True)
    assert forbidden(Path("/")) == "is the root of the file system"
    assert forbidden((tmp_path / "home").resolve()) == (
        f"contains your home folder {(tmp_path / 'home' / 'user').resolve()}"
    )
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    config = work / "run.yaml"
    config.write_text("", encoding="utf-8")
    monkeypatch.chdir(work / "data")
    assert forbidden(work.resolve() / "data") == "is the current folder"
    monkeypatch.chdir(tmp_path)
    why = forbidden(work.resolve(), {config: "the config"})
    assert why == f"holds the config {config.resolve()}"
    assert forbidden((work / "out").resolve(), {config: "the config"}) is None


def test_check_target_rules(tmp_path):
    new = tmp_path / "new" / "results"
    check_target(new, overwrite=False)  # a new folder below a new parent: allowed
    assert not new.exists() and not new.parent.exists()  # and nothing was created

    ours = _results_folder(tmp_path / "ours")
    with pytest.raises(OutputError, match="already exists; pass --overwrite"):
        check_target(ours, overwrite=False)
    check_target(ours, overwrite=True)

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputError, match="was not written by glmreport"):
        check_target(docs, overwrite=True)
    assert (docs / "thesis.txt").read_text(encoding="utf-8") == "keep me"

    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_target(a_file, overwrite=True)

    empty = tmp_path / "empty"
    empty.mkdir()
    check_target(empty, overwrite=True)
    with pytest.raises(OutputError, match="already exists"):
        check_target(empty, overwrite=False)


def test_check_target_refuses_a_folder_that_holds_an_input(tmp_path):
    ours = _results_folder(tmp_path / "ours")
    data = ours / "maps.nii.gz"
    data.write_bytes(b"")
    with pytest.raises(OutputError, match="holds the input"):
        check_target(ours.resolve(), overwrite=True, protected={data: "the input"})


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_target_refuses_an_unwritable_parent(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_target(parent / "results", overwrite=False)
    finally:
        parent.chmod(0o700)


def test_demo_folder_needs_its_marker(tmp_path):
    folder = tmp_path / "demo"
    assert check_demo_folder(folder, overwrite=False) is False
    folder.mkdir()
    assert check_demo_folder(folder, overwrite=False) is False  # empty
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match=f"no {DEMO_MARKER} naming glmreport"):
        check_demo_folder(folder, overwrite=True)
    (folder / DEMO_MARKER).write_text(json.dumps(demo_marker()), encoding="utf-8")
    with pytest.raises(OutputError, match="pass --overwrite"):
        check_demo_folder(folder, overwrite=False)
    assert check_demo_folder(folder, overwrite=True) is True


def test_output_lock_is_exclusive_and_released(tmp_path):
    target = tmp_path / "results"
    with output_lock(target) as path:
        assert path == lock_path(target) == tmp_path / ".results.lock"
        assert path.read_text(encoding="ascii").strip() == str(os.getpid())
        with pytest.raises(OutputError, match=rf"another glmreport run \(process {os.getpid()}\)"):
            with output_lock(target):
                pass
    assert not path.exists()
    with output_lock(target):  # free again
        pass


def test_resolve_inside_accepts_relative_paths_only(tmp_path):
    folder = _results_folder(tmp_path / "results")
    (folder / "maps").mkdir()
    (folder / "maps" / "z.nii.gz").write_bytes(b"")
    assert resolve_inside(folder, "maps/z.nii.gz", what="m") == (folder / "maps/z.nii.gz").resolve()
    for bad, message in [
        ("/etc/passwd", "is an absolute path"),
        ("../../etc/passwd", "has a '..' component"),
        ("maps/../../x", "has a '..' component"),
        ("", "expected a relative path"),
        (7, "expected a relative path"),
        ("a\0b", "NUL character"),
    ]:
        with pytest.raises(InputError, match=message):
            resolve_inside(folder, bad, what="contrasts[0].maps.z")


def test_resolve_inside_refuses_a_link_leading_outside(tmp_path):
    folder = _results_folder(tmp_path / "results")
    secret = tmp_path / "secret.txt"
    secret.write_text("x", encoding="utf-8")
    (folder / "leak.tsv").symlink_to(secret)
    with pytest.raises(InputError, match=r"summary.json: tables\[0\]: .* leads outside"):
        resolve_inside(folder, "leak.tsv", what="tables[0]")


HOLD_AND_FORK = """
import os, sys, time
from pathlib import Path
from glmreport.outputs.safety import output_lock
with output_lock(Path(sys.argv[1])):
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="no fork on this platform")
def test_a_killed_run_leaves_no_lock_behind_in_the_processes_it_forked(tmp_path):
    """A study's workers are forked while the lock is held: they drop their copy at once, so
    when the run is killed (its lock file left behind) the folder is free for the next run."""
    import signal
    import subprocess
    import sys

    target = tmp_path / "results"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_FORK, str(target)], stdout=subprocess.PIPE, text=True
    )
    child = int(holder.stdout.readline())
    try:
        holder.kill()  # SIGKILL: no clean-up, the lock file stays
        holder.wait(timeout=30)
        assert lock_path(target).exists()
        os.kill(child, 0)  # the forked child is still alive
        with output_lock(target):
            pass
    finally:
        os.kill(child, signal.SIGKILL)
        holder.stdout.close()
