"""Reading summary.json from disk: every file-level fault is an InputError naming the file.

The contract's keys and types (round trip, schema, changed keys, version 1) are tested in
test_summary.py; this module covers the file handling of glmreport.outputs.summary_io.
"""

from __future__ import annotations

import json

import pytest
from fixtures import summaries

from glmreport.errors import InputError
from glmreport.outputs import summary_io
from glmreport.outputs.summary_io import read_summary, summary_to_json, write_summary


def test_written_summary_reads_back_equal(tmp_path):
    typed = summaries.summary()
    path = write_summary(tmp_path, typed)
    assert path == tmp_path / "summary.json"
    assert read_summary(tmp_path) == typed
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk == summary_to_json(typed)
    assert on_disk["schema_version"] == 2
    assert not list(tmp_path.glob(".*"))  # no staging file left beside it


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON"),
        (b"[]", "summary.json"),
    ],
)
def test_corrupt_files_are_input_errors(tmp_path, content, message):
    (tmp_path / "summary.json").write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_summary(tmp_path)
    assert str(tmp_path / "summary.json") in str(info.value)


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_summary(tmp_path / "absent")
    with pytest.raises(InputError, match="summary.json not found: expected the results folder"):
        read_summary(tmp_path)


def test_an_oversized_summary_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(summary_io, "SUMMARY_MAX_BYTES", 10)
    (tmp_path / "summary.json").write_text('{"title": "0123456789"}', encoding="utf-8")
    with pytest.raises(InputError, match="a summary larger than 10 bytes is not read"):
        read_summary(tmp_path)
