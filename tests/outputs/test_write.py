"""Writing the results folder: atomic staging and JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from glmreport.errors import OutputError
from glmreport.outputs.derivative import dataset_description
from glmreport.outputs.write import staged_output, write_json


def test_staged_output_is_atomic(tmp_path):
    out = tmp_path / "results"
    with pytest.raises(RuntimeError):
        with staged_output(out, overwrite=False) as stage:
            (stage / "summary.json").write_text("{}")
            raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    with staged_output(out, overwrite=False) as stage:
        (stage / "summary.json").write_text("{}")
    assert (out / "summary.json").exists()
    # not marked as written by glmreport: never replaced
    with pytest.raises(OutputError, match="no dataset_description.json naming glmreport"):
        with staged_output(out, overwrite=True):
            pass
    write_json(out / "dataset_description.json", dataset_description("t"))
    with pytest.raises(OutputError, match="already exists; pass --overwrite"):
        with staged_output(out, overwrite=False):
            pass
    with staged_output(out, overwrite=True) as stage:
        (stage / "new.txt").write_text("x")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no lock, stage or copy


def test_json_non_finite_to_null(tmp_path):
    write_json(tmp_path / "a.json", {"x": float("inf"), "y": np.float32(1.5), "z": np.arange(2)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": None, "y": 1.5, "z": [0, 1]}
