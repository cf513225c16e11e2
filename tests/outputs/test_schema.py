"""The JSON Schema generator: types -> draft 2020-12, docstrings -> descriptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import jsonschema
import pytest

from glmreport.outputs.markers import FLATTEN, OMIT_DEFAULT, JSONValue, RelPath
from glmreport.outputs.schema import RELPATH_PATTERN, attribute_docs, json_schema, type_schema


@dataclass(frozen=True, slots=True, kw_only=True)
class Leaf:
    """A leaf.

    Attributes
    ----------
    path : RelPath
        Where it is.
    kind : {'a', 'b'}
    """

    path: RelPath
    kind: Literal["a", "b"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Root:
    """The root of a test contract.

    Attributes
    ----------
    x, y : float
        Two numbers.
    leaves : tuple of Leaf
    """

    x: float
    y: float | None
    leaves: tuple[Leaf, ...]
    grid: tuple[int, int, int]
    values: Mapping[str, JSONValue]
    flag: bool = field(default=False, metadata={OMIT_DEFAULT: True})
    rest: Mapping[str, str] = field(default_factory=dict, metadata={FLATTEN: True})


def test_generated_schema():
    schema = json_schema(Root)
    jsonschema.Draft202012Validator.check_schema(schema)
    root = schema["$defs"]["Root"]
    assert (
        schema["$ref"] == "#/$defs/Root" and root["description"] == "The root of a test contract."
    )
    assert root["required"] == ["x", "y", "leaves", "grid", "values"]
    assert root["additionalProperties"] == {"type": "string"}  # the flattened mapping
    assert root["properties"]["x"] == {"description": "Two numbers.", "type": "number"}
    assert (
        root["properties"]["y"]
        == {
            "description": "Two numbers.",
            "anyOf": [{"type": "number"}, {"type": "null"}],
        }
        or "description" not in root["properties"]["y"]
    )
    assert root["properties"]["grid"]["prefixItems"] == [{"type": "integer"}] * 3
    leaf = schema["$defs"]["Leaf"]
    assert leaf["properties"]["kind"] == {"description": "{'a', 'b'}", "enum": ["a", "b"]}
    assert leaf["additionalProperties"] is False
    valid = {
        "x": 1,
        "y": None,
        "leaves": [{"path": "a/b", "kind": "a"}],
        "grid": [1, 2, 3],
        "values": {"k": [1, None]},
        "user": "column",
    }
    jsonschema.validate(valid, schema, cls=jsonschema.Draft202012Validator)
    for bad in (
        {**valid, "grid": [1, 2]},
        {**valid, "leaves": [{"path": "/etc/passwd", "kind": "a"}]},
        {**valid, "leaves": [{"path": "a/../../b", "kind": "a"}]},
        {**valid, "user": 3},
        {k: v for k, v in valid.items() if k != "x"},
    ):
        assert not jsonschema.Draft202012Validator(schema).is_valid(bad), bad


def test_attribute_docs():
    assert attribute_docs(Root) == {"x": "Two numbers.", "y": "Two numbers."}
    assert attribute_docs(Leaf) == {"path": "Where it is.", "kind": "{'a', 'b'}"}


def test_relpath_pattern_and_unknown_types():
    import re

    pattern = re.compile(RELPATH_PATTERN)
    for ok in ("maps/a.nii.gz", "a..b/c", "x"):
        assert pattern.match(ok), ok
    for bad in ("/abs", "..", "a/../b", "C:/x", "\\\\server\\x", ""):
        assert not pattern.match(bad), bad
    with pytest.raises(TypeError, match="no JSON Schema"):
        type_schema(set[int], {})
