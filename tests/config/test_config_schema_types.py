"""Schema building blocks: JSON types and defaults read from the spec dataclasses."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from glmreport.config.schema_types import _json_type, from_spec, obj, only
from glmreport.config.specs import ClusterOptions, ModelConfig, RunConfig, RunSpec


def test_json_types_of_annotations():
    assert _json_type(str) == {"type": "string"} and _json_type(Path) == {"type": "string"}
    assert _json_type(float | None) == {"type": ["number", "null"]}
    assert _json_type(tuple[int, ...]) == {"type": "array", "items": {"type": "integer"}}
    assert _json_type(tuple[str, ...] | None) == {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
    }
    assert _json_type(Literal["a", "b"]) == {"enum": ["a", "b"]}


def test_from_spec_reads_type_and_default():
    assert from_spec(ModelConfig, "hrf", "d") == {
        "type": "string",
        "description": "d",
        "default": "glover",
    }
    assert from_spec(ModelConfig, "fir_delays", "d")["default"] == [0]
    assert from_spec(ClusterOptions, "connectivity", "d")["type"] == "integer"
    assert from_spec(RunConfig, "two_sided", "d")["default"] is False
    assert "default" not in from_spec(RunSpec, "bold", "d")  # required: no default


def test_only_keeps_the_reader_keys_in_order():
    assert list(only({"b": 1, "a": 2, "c": 3}, ("a", "b"))) == ["a", "b"]
    with pytest.raises(KeyError):
        only({"a": 1}, ("a", "new_key"))
    schema = obj({"a": {}}, required=("a",), title="t")
    assert schema == {
        "type": "object",
        "properties": {"a": {}},
        "additionalProperties": False,
        "required": ["a"],
        "title": "t",
    }
