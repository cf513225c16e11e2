"""Hostile inputs of ``glmreport diff A B``: folders that are missing or not results folders,
corrupt summaries, paths and links leading out of a folder, missing, corrupt or oversized
files, bad tolerances.

Every case asserts exit 2, one line naming what is wrong, and that nothing under the temporary
tree was created, changed or removed (diff only reads).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport.cli import main

AFFINE = np.diag([4.0, 4.0, 4.0, 1.0])
CONFIG = """\
title: hostile diff
model:
  inputs: inputs.tsv
  design: one-sample
contrasts:
  - {name: effect, t: intercept}
corrections:
  - {method: uncorrected, alpha: 0.05}
  - {method: permutation, n_perm: 20, seed: 1}
report: {formats: []}
"""


def cli(*args) -> int:
    return main([str(a) for a in args])


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root (links not followed) with its kind, size and modification time."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            st = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            found[str(path.relative_to(root))] = (kind, st.st_size, st.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real results folder of a tiny study (copied by the tests that change it)."""
    root = tmp_path_factory.mktemp("diff-hostile")
    rng = np.random.default_rng(0)
    rows = ["path"]
    for i in range(8):
        volume = (rng.standard_normal((6, 6, 6)) + 0.8).astype(np.float32)
        nib.save(nib.Nifti1Image(volume, AFFINE), root / f"sub-{i}.nii.gz")
        rows.append(f"sub-{i}.nii.gz")
    (root / "inputs.tsv").write_text("\n".join(rows) + "\n")
    (root / "analysis.yaml").write_text(CONFIG)
    assert cli("run", root / "analysis.yaml", "--out", root / "results", "-q") == 0
    return root / "results"


def refused(capsys, tmp_path: Path, a: Path, b: Path, *messages: str, extra=()) -> None:
    """diff exits 2 with one line holding every message, in both orders, and reads only."""
    before = snapshot(tmp_path)
    for first, second in ((a, b), (b, a)):
        assert cli("diff", first, second, *extra) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1, captured.err
        for message in messages:
            assert message in captured.err, captured.err
    assert snapshot(tmp_path) == before


def copy(finished: Path, tmp_path: Path) -> tuple[Path, dict]:
    folder = tmp_path / "b"
    shutil.copytree(finished, folder, symlinks=True)
    return folder, json.loads((folder / "summary.json").read_text())


def save(folder: Path, summary: dict) -> None:
    (folder / "summary.json").write_text(json.dumps(summary))


def outside_map(tmp_path: Path) -> Path:
    path = tmp_path / "outside.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((6, 6, 6), np.float32), AFFINE), path)
    return path


def test_missing_and_foreign_folders(finished: Path, tmp_path: Path, capsys):
    refused(capsys, tmp_path, finished, tmp_path / "nowhere", "nowhere does not exist")
    (tmp_path / "empty").mkdir()
    refused(
        capsys, tmp_path, finished, tmp_path / "empty", "empty/summary.json not found: expected"
    )
    (tmp_path / "file").write_text("x")
    refused(capsys, tmp_path, finished, tmp_path / "file", "file is not a folder; expected")


def _set_n_voxels(summary: dict, value) -> str:
    summary["contrasts"][0]["corrections"][0]["n_voxels"] = value
    return json.dumps(summary)


CORRUPT = {
    "truncated": (lambda text: text[: len(text) // 2], "is not valid JSON"),
    "list": (lambda text: "[1, 2]", "the top level must be an object, got a list"),
    "nested": (lambda text: "[" * 100_000 + "]" * 100_000, "is not valid JSON"),
    "binary": (lambda text: "\udcff", "is not valid JSON"),
    "no-contrasts": (
        lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "contrasts"}),
        "missing key 'contrasts'",
    ),
    "mistyped": (
        lambda text: _set_n_voxels(json.loads(text), "many"),
        "contrasts[0].corrections[0].n_voxels must be an integer, got a string",
    ),
    "version": (
        lambda text: text.replace('"schema_version": 2', '"schema_version": 99', 1),
        "schema_version 99 is not one this glmreport",
    ),
}


@pytest.mark.parametrize("case", list(CORRUPT), ids=list(CORRUPT))
def test_corrupt_summary(finished: Path, tmp_path: Path, capsys, case):
    damage, message = CORRUPT[case]
    folder, _ = copy(finished, tmp_path)
    text = (folder / "summary.json").read_text()
    (folder / "summary.json").write_bytes(damage(text).encode("utf-8", "surrogateescape"))
    refused(capsys, tmp_path, finished, folder, str(folder / "summary.json"), message)


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
        lambda s, f, t: s["contrasts"][0]["corrections"][0].update(peaks_table="../../x.tsv"),
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
        lambda s, f, t: s["contrasts"][0]["maps"].update(z=str(outside_map(t))),
        "is an absolute path",
    ),
    "link-map": (
        "contrasts[0].corrections[0].map",
        lambda s, f, t: s["contrasts"][0]["corrections"][0].update(
            map=_link(f, "maps/evil.nii.gz", outside_map(t))
        ),
        "is a link that leads outside",
    ),
    "link-folder": (
        "contrasts[0].maps.p",
        lambda s, f, t: s["contrasts"][0]["maps"].update(
            p=_link(f, "elsewhere", t) + "/outside.nii.gz"
        ),
        "is a link that leads outside",
    ),
    "arrays": (
        "contrasts[0].corrections[1].arrays",
        lambda s, f, t: s["contrasts"][0]["corrections"][1].update(arrays="/tmp/x.npz"),
        "is an absolute path",
    ),
    "mask": ("mask", lambda s, f, t: s.update(mask="../outside.nii.gz"), "'..'"),
    "design": ("design_matrix", lambda s, f, t: s.update(design_matrix=7), "got 7"),
}


@pytest.mark.parametrize("case", list(OUTSIDE), ids=list(OUTSIDE))
def test_reads_only_inside_each_folder(finished: Path, tmp_path: Path, capsys, case):
    key, change, message = OUTSIDE[case]
    outside_map(tmp_path)
    folder, summary = copy(finished, tmp_path)
    change(summary, folder, tmp_path)
    save(folder, summary)
    refused(capsys, tmp_path, finished, folder, f"summary.json: {key}: ", message)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-40])  # the header is whole, the voxels are cut


def _pickled_arrays(path: Path) -> None:
    np.savez(path, null=np.array([{"a": 1}], dtype=object))


def _big_header(path: Path) -> None:
    img = nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), AFFINE)
    img.header.set_data_shape((2048, 2048, 2048))
    raw = img.header.binaryblock + b"\0" * 4
    path.write_bytes(gzip.compress(raw))


BROKEN = {
    "missing-map": (
        ("contrasts", 0, "maps", "z"),
        lambda p: p.unlink(),
        "not found: summary.json names it but the folder lacks it",
    ),
    "truncated-map": (("contrasts", 0, "maps", "stat"), _truncate, "truncated or corrupt"),
    "garbage-map": (
        ("contrasts", 0, "maps", "effect"),
        lambda p: p.write_bytes(b"not an image at all"),
        "is not a readable NIfTI image",
    ),
    "huge-header": (("mask",), _big_header, "at most 268,435,456 voxels per volume"),
    "map-is-folder": (
        ("contrasts", 0, "maps", "p"),
        lambda p: (p.unlink(), p.mkdir()),
        "not found: summary.json names it",
    ),
    "empty-table": (
        ("contrasts", 0, "corrections", 0, "peaks_table"),
        lambda p: p.write_bytes(b""),
        "is empty; expected a TSV table",
    ),
    "binary-table": (
        ("design_matrix",),
        lambda p: p.write_bytes(b"\xff\xfe\x00garbage\n\xff"),
        "cannot read the table",
    ),
    "pickled-arrays": (
        ("contrasts", 0, "corrections", 1, "arrays"),
        _pickled_arrays,
        "cannot read the arrays",
    ),
    "not-a-zip": (
        ("contrasts", 0, "corrections", 1, "arrays"),
        lambda p: p.write_bytes(b"PK nonsense"),
        "cannot read the arrays",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_files_are_bad_input(finished: Path, tmp_path: Path, capsys, case):
    keys, damage, message = BROKEN[case]
    folder, summary = copy(finished, tmp_path)
    rel = summary
    for key in keys:
        rel = rel[key]
    damage(folder / rel)
    refused(capsys, tmp_path, finished, folder, rel, message)


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "abc", ""])
def test_bad_tolerance(finished: Path, tmp_path: Path, capsys, value):
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as exc:
        cli("diff", finished, finished, "--tolerance", value)
    assert exc.value.code == 2
    assert "argument --tolerance: " in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_link_inside_the_folder_is_followed(finished: Path, tmp_path: Path, capsys):
    """A map that is a link to another file of the same folder is read (and compared)."""
    folder, summary = copy(finished, tmp_path)
    z = summary["contrasts"][0]["maps"]["z"]
    (folder / z).unlink()
    (folder / z).symlink_to(folder / summary["contrasts"][0]["maps"]["stat"])
    assert cli("diff", finished, folder) == 3
    assert "  map z: max |A - B| = " in capsys.readouterr().out
