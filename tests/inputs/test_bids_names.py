"""BIDS file names, sidecars, and the helpers of study discovery's messages."""

from __future__ import annotations

import json

import pytest

from glmreport.errors import InputError
from glmreport.inputs.bids_names import (
    is_subset,
    listed,
    merged_metadata,
    natural_key,
    parse_bids_name,
    read_json_object,
    relative,
)


def test_parsed_names_answer_entity_questions():
    name = parse_bids_name("sub-01_ses-a_task-faces_run-2_desc-preproc_bold.nii.gz")
    assert name.get("run") == "2" and name.get("echo", "none") == "none"
    assert name.without("desc", "ses") == (("sub", "01"), ("task", "faces"), ("run", "2"))
    assert is_subset([("sub", "01"), ("task", "faces")], name.as_dict())
    assert not is_subset([("run", "1")], name.as_dict())
    assert parse_bids_name("sub-01_sub-02_bold.nii") is None  # a repeated key
    assert parse_bids_name("x" * 300 + "_bold.nii") is None


def test_sidecars_merge_shallowest_first(tmp_path):
    top = tmp_path / "task-faces_bold.json"
    top.write_text(json.dumps({"RepetitionTime": 2.0, "TaskName": "faces"}))
    deep = tmp_path / "sub-01_task-faces_bold.json"
    deep.write_text(json.dumps({"RepetitionTime": 2.5}))
    metadata, sources = merged_metadata([top, deep])
    assert metadata == {"RepetitionTime": 2.5, "TaskName": "faces"}
    assert sources == {"RepetitionTime": deep, "TaskName": top}
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="must hold an object, got list"):
        read_json_object(tmp_path / "list.json")
    with pytest.raises(InputError, match="larger than 10 bytes"):
        read_json_object(top, max_bytes=10)


def test_message_helpers(tmp_path):
    assert listed(["a", "b", "c"], limit=2) == "a, b and 1 more"
    assert listed(["x" * 50], width=10) == "xxxxxxx..."
    assert relative(tmp_path / "sub-01" / "f.nii", tmp_path) == "sub-01/f.nii"
    assert relative(tmp_path / ("y" * 200), tmp_path, width=20).startswith("...")
    assert sorted(["10", "2", None, "1b", "1a"], key=natural_key) == [None, "1a", "1b", "2", "10"]
