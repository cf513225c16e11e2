"""Shareable paths and texts: relative to the config's folder, by name elsewhere, capped."""

from __future__ import annotations

import hashlib
from pathlib import Path

from glmreport.outputs.shareable import (
    cap_text,
    cap_title,
    scrub,
    share_command,
    share_inputs,
    share_path,
)


def test_paths_and_commands(tmp_path: Path):
    base = tmp_path / "project"
    assert share_path(base / "data" / "a.nii.gz", base) == ("data/a.nii.gz", True)
    assert share_path(tmp_path / "else" / "b.nii.gz", base) == ("b.nii.gz", False)
    assert share_path("rel/c.nii.gz", base) == ("rel/c.nii.gz", True)
    rows = share_inputs([{"path": str(tmp_path / "x.nii.gz"), "age": 3}], base)
    assert rows == [{"path": "x.nii.gz", "age": 3, "outside_config_folder": True}]
    command = share_command(["glmreport", "run", str(base / "a.yaml"), f"--out={base}/r"], base)
    assert command == "glmreport run a.yaml --out=r"
    assert scrub({"k": f"see {base}/data/x for", "n": 1}, base) == {"k": "see data/x for", "n": 1}


def test_caps():
    title = "T" * 400
    digest = hashlib.sha256(title.encode()).hexdigest()
    assert cap_title(title) == "T" * 300 + f" \u2026 (truncated; 400 bytes, SHA-256 {digest})"
    assert cap_title("short") == "short"
    text = cap_text("\u00e9" * 10, limit=5)
    assert text.startswith("\u00e9\u00e9\n") and "(truncated; 20 bytes" in text


def test_paths_through_symbolic_links_and_no_resolving_when_plain(tmp_path: Path, monkeypatch):
    from glmreport.outputs import shareable

    real = tmp_path / "real"
    (real / "data").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert share_path(real / "data" / "a.nii.gz", link) == ("data/a.nii.gz", True)
    assert share_path(link / "data" / "a.nii.gz", real) == ("data/a.nii.gz", True)
    assert share_path(link, real) == (".", True)
    assert share_path(tmp_path / "other" / "b.nii.gz", link) == ("b.nii.gz", False)

    def no_resolving(path):
        raise AssertionError(f"{path} resolved though the plain paths tell")

    monkeypatch.setattr(shareable, "_resolved", no_resolving)
    assert share_path(real / "data" / "a.nii.gz", real) == ("data/a.nii.gz", True)
    assert share_path(real, real) == (".", True)
