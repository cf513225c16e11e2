"""The checking codec of the results contract: typed values <-> JSON, on small dataclasses."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from glmreport.errors import InputError
from glmreport.outputs.codec import Source, decode, describe, encode
from glmreport.outputs.markers import FLATTEN, OMIT_DEFAULT, JSONValue, RelPath


@dataclass(frozen=True, slots=True, kw_only=True)
class Inner:
    """Inner."""

    path: RelPath
    kind: Literal["a", "b"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outer:
    """Outer."""

    n: int
    x: float
    name: str | None
    size: tuple[int, int]
    items: tuple[Inner, ...]
    table: Mapping[str, float]
    extra: Mapping[str, JSONValue]
    flag: bool = field(default=False, metadata={OMIT_DEFAULT: True})
    rest: Mapping[str, JSONValue] = field(default_factory=dict, metadata={FLATTEN: True})


SRC = Source(file="f.json")
GOOD = {
    "n": 3,
    "x": 2,
    "name": None,
    "size": [4, 5],
    "items": [{"path": "maps/a.nii.gz", "kind": "b"}],
    "table": {"q": 0.5},
    "extra": {"any": [1, {"thing": None}]},
    "user": "column",
}


def test_decode_builds_the_typed_value():
    value = decode(Outer, GOOD, "the top level", SRC)
    assert value == Outer(
        n=3,
        x=2.0,
        name=None,
        size=(4, 5),
        items=(Inner(path="maps/a.nii.gz", kind="b"),),
        table={"q": 0.5},
        extra={"any": [1, {"thing": None}]},
        rest={"user": "column"},
    )
    assert isinstance(value.x, float) and value.flag is False
    assert encode(value) == {**GOOD, "x": 2.0}  # the flag keeps its default: not written
    assert encode(dataclasses.replace(value, flag=True))["flag"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n": 2.0}, "f.json: n must be an integer, got 2.0"),
        ({"x": "1"}, "f.json: x must be a number, got a string"),
        ({"x": False}, "f.json: x must be a number, got false"),
        ({"name": 3}, "f.json: name must be a string or null, got 3"),
        ({"size": [1, 2, 3]}, "size must be a list of 2, got a list of 3"),
        ({"items": {"path": "a"}}, "items must be a list, got an object"),
        ({"items": [{"path": "a", "kind": "c"}]}, 'items[0].kind must be one of "a", "b"'),
        ({"items": [{"path": "", "kind": "a"}]}, "items[0].path must be a relative path"),
        ({"items": [{"kind": "a"}]}, "missing key 'path' in items[0]"),
        ({"table": {"q": None}}, "table.q must be a number, got null"),
    ],
)
def test_decode_names_the_key(change, message):
    with pytest.raises(InputError) as info:
        decode(Outer, {**GOOD, **change}, "the top level", SRC)
    assert message in str(info.value)


def test_paths_resolve_inside_the_folder(tmp_path: Path):
    src = Source(file="f.json", folder=tmp_path)
    bad = {**GOOD, "items": [{"path": "../x", "kind": "a"}]}
    with pytest.raises(InputError, match=r"items\[0\]\.path: '\.\./x' has a '\.\.' component"):
        decode(Outer, bad, "the top level", src)
    assert decode(Outer, GOOD, "the top level", src).items[0].path == "maps/a.nii.gz"


def test_missing_key_beside_an_unknown_one():
    inner = {"kind": "a", "file": "maps/a.nii.gz"}
    with pytest.raises(InputError, match=r"missing key 'path' in x \(it has the unknown key"):
        decode(Inner, inner, "x", SRC)
    with pytest.raises(InputError, match="x has unknown key.*'more'; expected the keys kind, path"):
        decode(Inner, {"kind": "a", "path": "p", "more": 1}, "x", SRC)


def test_encode_plain_json():
    assert encode({"a": (1, np.float32(2.5), np.int64(3)), "b": math.inf}) == {
        "a": [1, 2.5, 3],
        "b": None,
    }
    assert encode(np.arange(3)) == [0, 1, 2] and encode(Path("a/b")) == "a/b"
    assert describe(tuple[int, ...]) == "a list" and describe(str | None) == "a string or null"
