"""JSON Schema (draft 2020-12) generated from the frozen dataclasses of a contract.

``glmreport schema summary`` prints :func:`summary_schema`. The schema is derived from the
same type hints that :mod:`glmreport.outputs.codec` checks, so the two cannot disagree: every
dataclass becomes a ``$defs`` entry (its docstring's first line and the numpydoc
``Attributes`` entries become descriptions), every key without :data:`OMIT_DEFAULT` is
required, and no other key is allowed (except in a :data:`FLATTEN` object).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from .codec import fields_of, marker
from .markers import JSON, RELPATH
from .summary_types import SCHEMA_VERSION, Summary

DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: A relative path: not absolute, no ``..`` component, no NUL.
RELPATH_PATTERN = r"^(?![/\\])(?![A-Za-z]:)(?!(.*[/\\])?\.\.([/\\]|$))[^\x00]+$"
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def summary_schema() -> dict[str, Any]:
    """The JSON Schema of ``summary.json`` (this version's layout)."""
    schema = json_schema(Summary)
    schema["title"] = "glmreport summary.json"
    schema["description"] = (
        f"The results folder's contract, schema_version {SCHEMA_VERSION}. Paths are relative "
        "to the results folder."
    )
    # model.first / second / maps: exactly the part of model.level
    parts = ("first", "second", "maps")
    schema["$defs"]["Model"]["allOf"] = [
        {
            "if": {"properties": {"level": {"const": level}}},
            "then": {
                "properties": {
                    part: {"not": {"type": "null"}} if part == level else {"type": "null"}
                    for part in parts
                }
            },
        }
        for level in parts
    ]
    return schema


def json_schema(root: type) -> dict[str, Any]:
    """A draft 2020-12 schema whose root is the dataclass ``root``.

    Parameters
    ----------
    root : type
        A frozen dataclass of the contract.

    Returns
    -------
    dict
        ``{"$schema", "$ref", "$defs"}``, JSON-serialisable.
    """
    defs: dict[str, Any] = {}
    _object(root, defs)
    return {"$schema": DRAFT, "$ref": f"#/$defs/{root.__name__}", "$defs": defs}


def _object(cls: type, defs: dict[str, Any]) -> dict[str, str]:
    name = cls.__name__
    if name not in defs:
        defs[name] = {}  # placeholder: a recursive reference finds it
        docs = attribute_docs(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        extra: Any = False
        for f in fields_of(cls):
            if f.flatten:
                extra = _mapping_items(f.hint, defs)
                continue
            prop = type_schema(f.hint, defs)
            if f.name in docs:
                prop = {"description": docs[f.name], **prop}
            properties[f.name] = prop
            if not f.optional:
                required.append(f.name)
        defs[name] = {
            "type": "object",
            "description": _first_line(cls),
            "properties": properties,
            "required": required,
            "additionalProperties": extra,
        }
    return {"$ref": f"#/$defs/{name}"}


def _mapping_items(hint: Any, defs: dict[str, Any]) -> Any:
    return type_schema(typing.get_args(hint)[1], defs)


def type_schema(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of one type hint (``defs`` collects the dataclasses it refers to)."""
    kind = marker(hint)
    if kind == RELPATH:
        return {"type": "string", "pattern": RELPATH_PATTERN}
    if kind == JSON:
        return {}
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [type_schema(a, defs) for a in typing.get_args(hint)]}
    if origin is typing.Literal:
        values = list(typing.get_args(hint))
        return {"const": values[0]} if len(values) == 1 else {"enum": values}
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": type_schema(args[0], defs)}
        return {
            "type": "array",
            "prefixItems": [type_schema(a, defs) for a in args],
            "items": False,
            "minItems": len(args),
        }
    if origin in (Mapping, dict):
        return {"type": "object", "additionalProperties": _mapping_items(hint, defs)}
    if dataclasses.is_dataclass(hint):
        return _object(hint, defs)
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    raise TypeError(f"no JSON Schema for the type {hint!r}")


def _first_line(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


_ENTRY = re.compile(r"^(\w+(?:, \w+)*) : (.*)$")


def attribute_docs(cls: type) -> dict[str, str]:
    """Field descriptions from the numpydoc ``Attributes`` section of a class docstring.

    ``a, b : float`` followed by indented lines gives both ``a`` and ``b`` that text; an entry
    without text is described by its type line when that lists the values (``{'t', 'F'}``).
    """
    doc = inspect.getdoc(cls) or ""
    _, found, section = doc.partition("Attributes\n----------\n")
    entries: list[tuple[list[str], str, list[str]]] = []
    for line in section.splitlines() if found else ():
        match = _ENTRY.match(line)
        if match:
            entries.append((match.group(1).split(", "), match.group(2).strip(), []))
        elif line.startswith(" ") and entries:
            entries[-1][2].append(line.strip())
        elif line.strip():
            break
    return {
        name: " ".join(text) or typed
        for names, typed, text in entries
        if text or "{" in typed
        for name in names
    }
