"""Building blocks of the config schema: JSON types from the spec dataclasses, and shorthands.

:func:`from_spec` reads a key's JSON type and default from the frozen spec field it is read
into (``ModelConfig.hrf`` is a string defaulting to ``glover``); :func:`only` keeps exactly
the keys a section reader allows, so the schema and the reader cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from .fields import MAX_NAME_CHARS

#: A JSON Schema (or a part of one).
JSON = dict[str, Any]


def text(description: str, **extra: Any) -> JSON:
    """A non-empty string."""
    return {"type": "string", "minLength": 1, "description": description, **extra}


def name_(description: str) -> JSON:
    """A name (contrast, run, map, atlas), at most :data:`MAX_NAME_CHARS` characters."""
    return text(description, maxLength=MAX_NAME_CHARS)


def path_(description: str) -> JSON:
    """A file path (relative to the config's folder)."""
    return text(description + " Relative paths are taken from the config file's folder.")


def strings(description: str) -> JSON:
    """One string or a list of strings."""
    return {
        "description": description,
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    }


def probability(description: str) -> JSON:
    """A number strictly between 0 and 1."""
    return {
        "type": "number",
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 1,
        "description": description,
    }


def only(properties: JSON, keys: tuple[str, ...] | list[str]) -> JSON:
    """The schemas of exactly the keys the reader allows, in its order.

    A key the reader gained without a schema here is a ``KeyError`` (and a failing test).
    """
    return {key: properties[key] for key in keys}


def obj(properties: JSON, *, required: tuple[str, ...] = (), **extra: Any) -> JSON:
    """A mapping with exactly these keys allowed (``required`` ones needed)."""
    out: JSON = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return {**out, **extra}


def _json_type(hint: Any) -> JSON:
    """The JSON type of a spec field's annotation (str, float, int, bool, Path, tuples, None)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = [_json_type(a) for a in args]
        names = [k["type"] for k in kinds if "type" in k and "items" not in k]
        if len(names) == len(kinds):
            return {"type": list(dict.fromkeys(names))}
        return {"anyOf": kinds}
    if typing.get_origin(hint) is tuple:
        return {"type": "array", "items": _json_type(args[0])}
    if typing.get_origin(hint) is typing.Literal:
        return {"enum": list(args)}
    simple = {str: "string", Path: "string", float: "number", int: "integer", bool: "boolean"}
    if hint is type(None):
        return {"type": "null"}
    return {"type": simple[hint]}


def _default(value: Any) -> Any:
    """A spec default as JSON (paths as text, tuples as lists)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_default(v) for v in value]
    return value


def from_spec(spec: type, field: str, description: str) -> JSON:
    """The type and default of a key read into the dataclass field ``spec.field``."""
    hints = typing.get_type_hints(spec)
    info = {f.name: f for f in dataclasses.fields(spec)}[field]
    out: JSON = {**_json_type(hints[field]), "description": description}
    if info.default is not dataclasses.MISSING:
        out["default"] = _default(info.default)
    elif info.default_factory is not dataclasses.MISSING:
        out["default"] = _default(info.default_factory())
    return out


def spec_properties(spec: type, texts: dict[str, str], keys: tuple[str, ...]) -> JSON:
    """``_from_spec`` for the keys read straight into same-named fields of ``spec``."""
    return {key: from_spec(spec, key, texts[key]) for key in keys}
