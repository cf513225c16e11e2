"""Typed values <-> JSON for the frozen dataclasses of the results contract.

:func:`decode` checks a JSON value against a type hint and builds the typed value; every
mismatch is a :class:`~glmreport.errors.InputError` naming the file and the key path
(``contrasts[0].corrections[1].threshold_z``). :func:`encode` turns a typed value back into
plain JSON. The hints understood are those of ``summary_types``: ``str``, ``int``, ``float``,
``bool``, ``None``, ``X | None``, ``Literal``, ``tuple[X, ...]``, fixed ``tuple[X, Y, Z]``,
``Mapping[str, X]``, nested dataclasses, :data:`RelPath` and :data:`JSONValue`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .markers import FLATTEN, JSON, OMIT_DEFAULT, RELPATH
from .safety import resolve_inside

_REPR_MAX = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where a value being decoded comes from.

    Attributes
    ----------
    file : str
        The file named in messages.
    folder : Path or None
        The results folder: every :data:`RelPath` must resolve inside it (None: the paths
        are checked for form only, as when the writer checks what it is about to write).
    """

    file: str
    folder: Path | None = None

    def fail(self, where: str, message: str) -> InputError:
        return InputError(f"{self.file}: {where} {message}")


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A dataclass field as the codec sees it."""

    name: str
    hint: Any
    flatten: bool
    optional: bool
    default: Any


@cache
def fields_of(cls: type) -> tuple[FieldInfo, ...]:
    """The fields of a contract dataclass with their resolved type hints."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        out.append(
            FieldInfo(
                name=f.name,
                hint=hints[f.name],
                flatten=bool(f.metadata.get(FLATTEN)),
                optional=bool(f.metadata.get(OMIT_DEFAULT)),
                default=default,
            )
        )
    return tuple(out)


def marker(hint: Any) -> str | None:
    """:data:`RELPATH` or :data:`JSON` for an annotated hint, else None."""
    if typing.get_origin(hint) is typing.Annotated:
        return next((m for m in hint.__metadata__ if m in (RELPATH, JSON)), None)
    return None


def is_optional(hint: Any) -> bool:
    """Whether ``hint`` is ``X | None``."""
    return _is_union(hint) and type(None) in typing.get_args(hint)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _got(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a string"
    text = json.dumps(value) if isinstance(value, bool | int | float) or value is None else None
    text = text if text is not None else type(value).__name__
    return text if len(text) <= _REPR_MAX else text[: _REPR_MAX - 3] + "..."


def describe(hint: Any) -> str:
    """What a value of ``hint`` looks like, in words (for messages)."""
    kind = marker(hint)
    if kind == RELPATH:
        return "a relative path (a string)"
    if kind == JSON:
        return "any JSON value"
    if _is_union(hint):
        return " or ".join(describe(a) for a in typing.get_args(hint))
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(json.dumps(a) for a in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        fixed = len(args) != 2 or args[1] is not Ellipsis
        return f"a list of {len(args)}" if fixed else "a list"
    if origin in (Mapping, dict) or dataclasses.is_dataclass(hint):
        return "an object"
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return names.get(hint) or ("null" if hint is type(None) else str(hint))


def decode(hint: Any, value: Any, where: str, src: Source) -> Any:
    """``value`` (decoded JSON) checked against ``hint`` and built into the typed value.

    Raises
    ------
    InputError
        ``<file>: <where> must be <expected>, got <value>``, or from
        :func:`glmreport.outputs.safety.resolve_inside` for a path leaving the folder.
    """
    kind = marker(hint)
    if kind == RELPATH:
        if src.folder is not None:
            resolve_inside(src.folder, value, what=where)
        elif not isinstance(value, str) or not value:
            raise src.fail(where, f"must be a relative path (a string), got {_got(value)}")
        return value
    if kind == JSON:
        return value
    if _is_union(hint):
        return _decode_union(hint, value, where, src)
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in typing.get_args(hint)):
            return value
    elif origin is tuple:
        return _decode_tuple(hint, value, where, src)
    elif origin in (Mapping, dict):
        if isinstance(value, Mapping):
            item = typing.get_args(hint)[1]
            return {str(k): decode(item, v, f"{where}.{k}", src) for k, v in value.items()}
    elif dataclasses.is_dataclass(hint):
        return _decode_object(hint, value, where, src)
    elif _scalar_ok(hint, value):
        return float(value) if hint is float else value
    raise src.fail(where, f"must be {describe(hint)}, got {_got(value)}")


def _scalar_ok(hint: Any, value: Any) -> bool:
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is type(None):
        return value is None
    return isinstance(hint, type) and isinstance(value, hint)


def _decode_union(hint: Any, value: Any, where: str, src: Source) -> Any:
    args = typing.get_args(hint)
    if value is None and type(None) in args:
        return None
    others = [a for a in args if a is not type(None)]
    if len(others) != 1:
        raise TypeError(f"unsupported union {hint} in the results contract")
    inner = others[0]
    plain = inner in (str, int, float, bool) and marker(inner) is None
    if value is None or (plain and not _scalar_ok(inner, value)):
        raise src.fail(where, f"must be {describe(hint)}, got {_got(value)}")
    return decode(inner, value, where, src)


def _decode_tuple(hint: Any, value: Any, where: str, src: Source) -> tuple:
    args = typing.get_args(hint)
    if not isinstance(value, list | tuple):
        raise src.fail(where, f"must be {describe(hint)}, got {_got(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(decode(args[0], v, f"{where}[{i}]", src) for i, v in enumerate(value))
    if len(value) != len(args):
        raise src.fail(where, f"must be {describe(hint)}, got a list of {len(value)}")
    return tuple(
        decode(a, v, f"{where}[{i}]", src) for i, (a, v) in enumerate(zip(args, value, strict=True))
    )


def _key_path(where: str, key: str) -> str:
    return key if where == "the top level" else f"{where}.{key}"


def _decode_object(cls: type, value: Any, where: str, src: Source) -> Any:
    if not isinstance(value, Mapping):
        raise src.fail(where, f"must be an object, got {_got(value)}")
    fields = fields_of(cls)
    known = {f.name for f in fields if not f.flatten}
    rest = {k: v for k, v in value.items() if k not in known}
    flat = next((f for f in fields if f.flatten), None)
    unknown = ", ".join(repr(str(k))[:_REPR_MAX] for k in list(rest)[:5]) if not flat else ""
    missing = [f.name for f in fields if not (f.flatten or f.optional or f.name in value)]
    if missing:
        found = f" (it has the unknown key(s) {unknown})" if unknown else ""
        raise InputError(f"{src.file}: missing key '{missing[0]}' in {where}{found}")
    if unknown:
        allowed = ", ".join(sorted(known))
        raise src.fail(where, f"has unknown key(s) {unknown}; expected the keys {allowed}")
    kwargs: dict[str, Any] = {}
    for f in fields:
        if f.flatten:
            kwargs[f.name] = decode(f.hint, rest, where, src)
        elif f.name in value:
            kwargs[f.name] = decode(f.hint, value[f.name], _key_path(where, f.name), src)
    return cls(**kwargs)


def encode(value: Any) -> Any:
    """A typed value as plain JSON (objects, lists, numbers, strings, null).

    Non-finite numbers become null (JSON has none), tuples lists, dataclasses objects in field
    order (a :data:`FLATTEN` field's keys merged in; an :data:`OMIT_DEFAULT` field left out
    while it has its default).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields_of(type(value)):
            item = getattr(value, f.name)
            if f.flatten:
                out.update({k: v for k, v in encode(item).items() if k not in out})
            elif not (f.optional and item == f.default):
                out[f.name] = encode(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, np.ndarray | np.generic):
        return encode(value.tolist())
    return value
