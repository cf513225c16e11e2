"""Hostile use of the output side: what --out may replace, locks, signals, write faults,
reading a results folder back, and what a shareable summary/report may contain.

Every case asserts the exit code, the message, and that nothing was created or deleted
(a snapshot of the temporary tree before and after). Destructive cases run in tmp_path only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport.cli import main
from glmreport.config.load import load_config
from glmreport.errors import OutputError
from glmreport.outputs.safety import (
    DEMO_MARKER,
    check_demo_folder,
    check_target,
    demo_marker,
    not_ours,
)
from glmreport.outputs.write import staged_output
from glmreport.pipeline.run import run

REPO = Path(__file__).resolve().parents[2]
AFFINE = np.diag([4.0, 4.0, 4.0, 1.0])
AFFINE[:3, 3] = -16.0

CONFIG = """\
title: hostile outputs
model:
  inputs: inputs.tsv
  design: one-sample
contrasts:
  - {name: effect, t: intercept}
corrections:
  - {method: uncorrected, alpha: 0.05}
report: {formats: []}
"""

# Long enough to be stopped while it runs (TFCE over many permutations), small on disk.
SLOW_CONFIG = """\
title: slow
model:
  inputs: inputs.tsv
  design: one-sample
contrasts:
  - {name: effect, t: intercept}
corrections:
  - {method: permutation, n_perm: 50000, tfce: true, seed: 1}
report: {formats: []}
"""


def write_study(root: Path, *, n: int = 12, shape=(8, 8, 8), config: str = CONFIG) -> Path:
    """n random maps under root/data, inputs.tsv and analysis.yaml; returns the config."""
    data = root / "data"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        volume = (rng.standard_normal(shape) + 0.8).astype(np.float32)
        nib.save(nib.Nifti1Image(volume, AFFINE), data / f"sub-{i + 1:02d}.nii.gz")
        rows.append(f"data/sub-{i + 1:02d}.nii.gz\t{i + 1:02d}")
    (root / "inputs.tsv").write_text("path\tsubject\n" + "\n".join(rows) + "\n")
    (root / "analysis.yaml").write_text(config)
    return root / "analysis.yaml"


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root (links not followed): kind, and size and modification time of
    files (a folder's own time changes whenever an entry comes and goes)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            st = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            size, mtime = (st.st_size, st.st_mtime_ns) if kind == "file" else (0, 0)
            found[str(path.relative_to(root))] = (kind, size, mtime)
    return found


def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture()
def study(tmp_path: Path) -> Path:
    """tmp_path/project with data/, inputs.tsv and analysis.yaml; returns the project."""
    write_study(tmp_path / "project")
    return tmp_path / "project"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real results folder (copied by the tests that change it)."""
    root = tmp_path_factory.mktemp("finished")
    config = write_study(root)
    assert cli("run", config, "--out", root / "results", "-q") == 0
    return root / "results"


def expect_refused(capsys, args, message: str | tuple[str, ...], tree: Path) -> None:
    """The command exits 2 with ``message`` (or one of them) and leaves ``tree`` as it was."""
    before = snapshot(tree)
    assert cli(*args) == 2
    err = capsys.readouterr().err
    messages = (message,) if isinstance(message, str) else message
    assert any(m in err for m in messages), err
    assert err.count("\n") == 1  # one line
    assert snapshot(tree) == before


# ---------------------------------------------------------------------------------------------
# what --overwrite may replace


def test_foreign_folder_is_never_replaced(study: Path, capsys):
    docs = study.parent / "mydocs"
    docs.mkdir()
    (docs / "thesis.txt").write_text("three years of work")
    args = ("run", study / "analysis.yaml", "--out", docs, "-q", "--overwrite")
    expect_refused(
        capsys,
        args,
        f"{docs} exists and was not written by glmreport (no summary.json and no "
        "dataset_description.json naming glmreport); refusing to replace it",
        study.parent,
    )


@pytest.mark.parametrize("overwrite", [True, False])
def test_config_folder_as_out(study: Path, capsys, monkeypatch, overwrite):
    monkeypatch.chdir(study)
    args = ["run", "analysis.yaml", "--out", ".", "-q"] + (["--overwrite"] if overwrite else [])
    expect_refused(capsys, args, f"{study} holds the config {study / 'analysis.yaml'}", study)


def test_data_folder_as_out(study: Path, capsys):
    args = ("run", study / "analysis.yaml", "--out", study / "data", "-q", "--overwrite")
    expect_refused(capsys, args, "holds the input", study.parent)


def test_ancestor_of_config_as_out(study: Path, capsys):
    args = ("run", study / "analysis.yaml", "--out", study.parent, "-q", "--overwrite")
    expect_refused(capsys, args, f"{study.parent} holds the config", study.parent)


def test_link_to_config_folder_as_out(study: Path, capsys):
    link = study.parent / "link"
    link.symlink_to(study, target_is_directory=True)
    args = ("run", study / "analysis.yaml", "--out", link, "-q", "--overwrite")
    expect_refused(capsys, args, "holds the config", study.parent)


def test_earlier_results_are_replaced(study: Path, capsys):
    out = study / "results"
    assert cli("run", study / "analysis.yaml", "--out", out, "-q") == 0
    first = json.loads((out / "summary.json").read_text())
    expect_refused(
        capsys,
        ("run", study / "analysis.yaml", "--out", out, "-q"),
        f"output folder {out} already exists; pass --overwrite",
        study.parent,
    )
    time.sleep(1.1)  # "started" is recorded to the second
    assert cli("run", study / "analysis.yaml", "--out", out, "-q", "--overwrite") == 0
    second = json.loads((out / "summary.json").read_text())
    assert second["provenance"]["started"] != first["provenance"]["started"]
    assert not_ours(out) is None
    assert not list(study.glob(".results.*"))  # no lock, no stage, no old copy


def test_results_folder_holding_an_input(study: Path, finished: Path, capsys):
    out = study / "results"
    shutil.copytree(finished, out)
    shutil.copy(study / "data" / "sub-01.nii.gz", out / "sub-01.nii.gz")
    table = (study / "inputs.tsv").read_text()
    (study / "inputs.tsv").write_text(table.replace("data/sub-01", "results/sub-01"))
    args = ("run", study / "analysis.yaml", "--out", out, "-q", "--overwrite")
    expect_refused(capsys, args, f"{out} holds the input {out / 'sub-01.nii.gz'}", study.parent)


@pytest.mark.parametrize(
    "description, why",
    [
        (None, "no dataset_description.json naming glmreport"),
        ({"Name": "x", "GeneratedBy": [{"Name": "fMRIPrep"}]}, "no dataset_description.json"),
        ("{not json", "no dataset_description.json"),
    ],
    ids=["older-version", "other-tool", "corrupt-marker"],
)
def test_summary_alone_does_not_make_a_folder_ours(study: Path, capsys, description, why):
    out = study.parent / "old"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    if description is not None:
        text = description if isinstance(description, str) else json.dumps(description)
        (out / "dataset_description.json").write_text(text)
    args = ("run", study / "analysis.yaml", "--out", out, "-q", "--overwrite")
    expect_refused(capsys, args, f"was not written by glmreport ({why}", study.parent)


def test_home_folder_is_never_replaced(study: Path, finished: Path, capsys, monkeypatch):
    home = study.parent / "home"
    shutil.copytree(finished, home)  # even one that looks like a results folder
    monkeypatch.setenv("HOME", str(home))
    args = ("run", study / "analysis.yaml", "--out", home, "-q", "--overwrite")
    expect_refused(capsys, args, f"{home} is your home folder; refusing", study.parent)


def test_folder_holding_the_current_folder(study: Path, finished: Path, capsys, monkeypatch):
    out = study.parent / "results"
    shutil.copytree(finished, out)
    monkeypatch.chdir(out / "maps")
    args = ("run", study / "analysis.yaml", "--out", out, "-q", "--overwrite")
    expect_refused(capsys, args, f"{out} contains the current folder", study.parent)


@pytest.mark.skipif(not os.path.ismount("/proc"), reason="/proc is not a mount point here")
def test_mount_point(study: Path, capsys):
    args = ("run", study / "analysis.yaml", "--out", "/proc", "-q", "--overwrite")
    expect_refused(capsys, args, "/proc is a mount point; refusing to replace it", study.parent)


def test_root_is_never_a_target():
    with pytest.raises(OutputError, match="is the root of the file system"):
        check_target(Path("/"), overwrite=True)


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_out_names_a_file(study: Path, capsys, where):
    out = study / "inputs.tsv" if where == "file" else study / "inputs.tsv" / "results"
    message = "exists and is not a folder" if where == "file" else "is not a folder"
    expect_refused(capsys, ("run", study / "analysis.yaml", "--out", out, "-q"), message, study)


# ---------------------------------------------------------------------------------------------
# the demo folder


def test_demo_refuses_a_foreign_folder(tmp_path: Path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("mine")
    for extra in ([], ["--overwrite"]):
        expect_refused(
            capsys,
            ("demo", "--out", docs, "-q", "--no-pdf", *extra),
            f"{docs} exists and was not written by glmreport demo (no .glmreport-demo",
            tmp_path,
        )


def test_demo_folder_marker(tmp_path: Path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "demo.yaml").write_text("title: x\n")
    (folder / DEMO_MARKER).write_text(json.dumps(demo_marker()))
    assert check_demo_folder(folder, overwrite=True) is True
    with pytest.raises(OutputError, match="exists and is not empty; pass --overwrite"):
        check_demo_folder(folder, overwrite=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_demo_folder(empty, overwrite=False) is False


# ---------------------------------------------------------------------------------------------
# the final move, locks, write faults


@pytest.mark.parametrize("content", ["file", "empty"])
def test_folder_that_appears_meanwhile_is_kept(tmp_path: Path, content):
    out = tmp_path / "results"
    with pytest.raises(OutputError, match="appeared while this run was writing"):
        with staged_output(out, overwrite=False) as stage:
            (stage / "summary.json").write_text("{}")
            out.mkdir()  # another program writes there meanwhile
            if content == "file":
                (out / "theirs.txt").write_text("theirs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    assert [p.name for p in out.iterdir()] == (["theirs.txt"] if content == "file" else [])


def test_failed_run_removes_the_folders_it_created(study: Path, capsys):
    (study / "data" / "sub-03.nii.gz").write_bytes(b"not an image")
    out = study.parent / "new" / "deeper" / "results"
    expect_refused(
        capsys, ("run", study / "analysis.yaml", "--out", out, "-q"), "sub-03", study.parent
    )


def test_unwritable_location(study: Path, capsys):
    locked = study.parent / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        probe = locked / "probe"
        try:
            probe.mkdir()
        except PermissionError:
            pass
        else:
            probe.rmdir()
            pytest.skip("running with privileges that ignore folder permissions (root)")
        args = ("run", study / "analysis.yaml", "--out", locked / "results", "-q")
        expect_refused(capsys, args, "is not writable (permission denied)", study.parent)
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc")
def test_location_where_nothing_can_be_created(study: Path, capsys):
    args = ("run", study / "analysis.yaml", "--out", "/proc/glmreport-results", "-q")
    # root may pass the permission check, and then cannot create the lock file there
    expected = ("cannot write in /proc (", "/proc is not writable (permission denied)")
    expect_refused(capsys, args, expected, study.parent)


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    return env


def test_write_fault_is_exit_2(study: Path):
    """A file-size limit makes writing the summary fail (EFBIG, handled like a full disk)."""
    import resource

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    before = snapshot(study.parent)
    cmd = [sys.executable, "-m", "glmreport", "run", str(study / "analysis.yaml"), "-q"]
    proc = subprocess.run(
        cmd, env=_env(), capture_output=True, text=True, timeout=120, preexec_fn=limit
    )
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write the results folder {study / 'results'}" in proc.stderr
    assert "exceeds the size allowed" in proc.stderr
    assert snapshot(study.parent) == before


def _start(config: Path, out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "glmreport", "run", str(config), "--out", str(out), "-q"]
    return subprocess.Popen(
        [*cmd, *extra], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_stage(proc: subprocess.Popen, out: Path, timeout: float = 60.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(out.parent.glob(f".{out.name}.partial-{proc.pid}"))
        if found:
            return found[0]
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it started writing: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run did not start writing in time")


@pytest.fixture()
def slow_study(tmp_path: Path) -> Path:
    return write_study(tmp_path / "project", n=20, shape=(12, 12, 12), config=SLOW_CONFIG)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_signal_cleans_up(slow_study: Path, signum):
    root = slow_study.parent.parent
    before = snapshot(root)
    out = root / "out" / "results"
    proc = _start(slow_study, out)
    try:
        _wait_for_stage(proc, out)
        assert (out.parent / ".results.lock").exists()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    name = signal.Signals(signum).name
    assert f"glmreport: stopped by {name}; no partial output was left behind" in err
    assert snapshot(root) == before  # no stage, no lock, no parent folder left


def test_concurrent_run_to_the_same_folder(slow_study: Path, capsys):
    """A run in another process holds the folder: a second run (here, in this process) is
    refused at once, even with --overwrite, and the first goes on untouched."""
    root = slow_study.parent.parent
    before = snapshot(root)
    out = root / "results"
    first = _start(slow_study, out)
    try:
        stage = _wait_for_stage(first, out)
        inside = snapshot(root)
        assert cli("run", slow_study, "--out", out, "-q", "--overwrite") == 2
        err = capsys.readouterr().err
        assert f"another glmreport run (process {first.pid}) is writing {out}" in err, err
        assert stage.is_dir() and first.poll() is None
        assert {k for k in snapshot(root) if not k.startswith(stage.name)} == {
            k for k in inside if not k.startswith(stage.name)
        }
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 143
    assert snapshot(root) == before


def test_main_restores_signal_handlers(study: Path, capsys):
    previous = signal.getsignal(signal.SIGTERM)
    assert cli("run", study / "missing.yaml", "-q") == 2
    assert signal.getsignal(signal.SIGTERM) is previous
    capsys.readouterr()


# ---------------------------------------------------------------------------------------------
# reading a results folder back


def _tamper(finished: Path, tmp_path: Path, change) -> Path:
    folder = tmp_path / "results"
    shutil.copytree(finished, folder)
    summary = json.loads((folder / "summary.json").read_text())
    change(summary, folder, tmp_path)
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def _outside_map(tmp_path: Path) -> Path:
    path = tmp_path / "outside.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.float32), AFFINE), path)
    return path


def _link(folder: Path, rel: str, target: Path) -> str:
    (folder / rel).symlink_to(target)
    return rel


OUTSIDE = {
    "absolute-table": (
        "contrasts[0].corrections[0].clusters_table",
        lambda s, f, t: s["contrasts"][0]["corrections"][0].update(clusters_table="/etc/passwd"),
        "is an absolute path",
    ),
    "dotdot-table": (
        "contrasts[0].corrections[0].peaks_table",
        lambda s, f, t: s["contrasts"][0]["corrections"][0].update(peaks_table="../../x"),
        "has a '..' component",
    ),
    "link-table": (
        "contrasts[0].corrections[0].clusters_table",
        lambda s, f, t: s["contrasts"][0]["corrections"][0].update(
            clusters_table=_link(f, "tables/evil.tsv", Path("/etc/passwd"))
        ),
        "is a link that leads outside the results folder",
    ),
    "absolute-map": (
        "contrasts[0].maps.z",
        lambda s, f, t: s["contrasts"][0]["maps"].update(z=str(_outside_map(t))),
        "is an absolute path",
    ),
    "link-map": (
        "contrasts[0].corrections[0].map",
        lambda s, f, t: s["contrasts"][0]["corrections"][0].update(
            map=_link(f, "maps/evil.nii.gz", _outside_map(t))
        ),
        "is a link that leads outside",
    ),
    "mask": ("mask", lambda s, f, t: s.update(mask="../outside.nii.gz"), "'..'"),
    "background": (
        "background",
        lambda s, f, t: s.update(background=str(_outside_map(t))),
        "is an absolute path",
    ),
    "design": ("design_matrix", lambda s, f, t: s.update(design_matrix=7), "got 7"),
}


@pytest.mark.parametrize("case", list(OUTSIDE), ids=list(OUTSIDE))
def test_report_reads_only_inside_the_folder(finished: Path, tmp_path: Path, capsys, case):
    key, change, message = OUTSIDE[case]
    folder = _tamper(finished, tmp_path, change)
    expect_refused(capsys, ("report", folder, "-q"), f"summary.json: {key}: ", tmp_path)
    expect_refused(capsys, ("report", folder, "-q"), message, tmp_path)
    assert not (folder / "report.html").exists()


CORRUPT = {
    "truncated": (lambda text: text[: len(text) // 2], "is not valid JSON"),
    "list": (lambda text: "[1, 2]", "the top level must be an object, got a list"),
    "no-contrasts": (
        lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "contrasts"}),
        "missing key 'contrasts'",
    ),
    "contrasts-text": (
        lambda text: json.dumps({**json.loads(text), "contrasts": "effect"}),
        "contrasts must be a list, got a string",
    ),
    "nested": (lambda text: "[" * 100_000 + "]" * 100_000, "is not valid JSON"),
    "binary": (lambda text: "\udcff", "is not valid JSON"),
}


@pytest.mark.parametrize("case", list(CORRUPT), ids=list(CORRUPT))
def test_corrupt_summary(finished: Path, tmp_path: Path, capsys, case):
    damage, message = CORRUPT[case]
    folder = tmp_path / "results"
    shutil.copytree(finished, folder)
    text = (folder / "summary.json").read_text()
    (folder / "summary.json").write_bytes(damage(text).encode("utf-8", "surrogateescape"))
    expect_refused(capsys, ("report", folder, "-q"), f"{folder / 'summary.json'}", tmp_path)
    expect_refused(capsys, ("report", folder, "-q"), message, tmp_path)


# ---------------------------------------------------------------------------------------------
# shareable by default


def test_no_local_path_in_summary_or_report(study: Path, tmp_path: Path, monkeypatch):
    config = study / "analysis.yaml"
    config.write_text(CONFIG.replace("formats: []", "formats: [html]"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(study / "data" / "sub-12.nii.gz", elsewhere / "sub-12.nii.gz")
    table = (study / "inputs.tsv").read_text()
    (study / "inputs.tsv").write_text(
        table.replace("data/sub-12.nii.gz", str(elsewhere / "sub-12.nii.gz"))
    )
    monkeypatch.chdir(tmp_path)
    assert cli("run", config.resolve(), "--out", study / "results", "-q") == 0
    summary_text = (study / "results" / "summary.json").read_text()
    report_text = (study / "results" / "report.html").read_text()
    for text in (summary_text, report_text):
        assert str(tmp_path) not in text
        assert str(Path.home()) + "/" not in text
        assert ".partial-" not in text
    summary = json.loads(summary_text)
    assert summary["config_file"] == "analysis.yaml"
    assert summary["inputs"][0]["path"] == "data/sub-01.nii.gz"
    assert "outside_config_folder" not in summary["inputs"][0]
    assert summary["inputs"][11]["path"] == "sub-12.nii.gz"
    assert summary["inputs"][11]["outside_config_folder"] is True
    provenance = summary["provenance"]
    assert provenance["results_folder"] == "results"
    assert provenance["command"] == "glmreport run analysis.yaml --out results -q"
    assert "<code>results</code>" in report_text
    assert "sub-12.nii.gz (outside the config&#39;s folder)" in report_text


def test_long_title_and_config_are_capped(study: Path):
    config = load_config(study / "analysis.yaml")
    title = "T" * 1_000_000
    text = config.text + "# " + "x" * 1_000_000 + "\n"
    report = dataclasses.replace(config.report, formats=("html",))
    config = dataclasses.replace(config, title=title, text=text, report=report)
    out = run(config, out=study / "results")
    html = (out / "report.html").stat().st_size
    assert html < 3_000_000
    summary = json.loads((out / "summary.json").read_text())
    digest = hashlib.sha256(title.encode()).hexdigest()
    assert summary["title"] == "T" * 300 + f" \u2026 (truncated; 1000000 bytes, SHA-256 {digest})"
    assert len(summary["config_text"].encode()) < 65 * 1024
    assert "(truncated; " in summary["config_text"]
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["Name"] == summary["title"]
    assert description["GeneratedBy"][0]["Name"] == "glmreport"
