"""The small typed readers of config values, shared by the config's section parsers.

Each reader takes the raw YAML value and its YAML path (``corrections[1].alpha``) and returns
the value checked, or raises :class:`~glmreport.errors.ConfigError` naming the path, what was
expected and what was given (capped: never an unbounded user value).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, suggest


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 2, 50, 50, 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def _short(text: Any, limit: int = 60) -> str:
    """``str(text)`` cut to ``limit`` characters for messages (never an unbounded value)."""
    text = text if isinstance(text, str) else _REPR.repr(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _given(value: Any) -> str:
    return f"{_type_name(value)} ({_short(_REPR.repr(value))})"


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"expected a mapping of keys to values, got {_given(value)}", path=path)
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"keys must be strings, got {_given(key)}", path=path)
    return value


def _at(path: str, key: str) -> str:
    """YAML path of ``key`` under ``path``, the key cut for messages."""
    key = _short(key, 40)
    return f"{path}.{key}" if path else key


def _check_keys(
    value: Mapping[str, Any],
    path: str,
    allowed: tuple[str, ...] | list[str],
    required: tuple[str, ...] = (),
) -> None:
    for key in value:
        if key not in allowed:
            raise ConfigError(
                f"unknown key '{_short(key, 40)}'; expected one of: {', '.join(allowed)}."
                + suggest(key[:100], allowed),
                path=_at(path, key),
            )
    for key in required:
        if key not in value:
            raise ConfigError(f"missing required key '{key}'", path=path or None)


def _str(value: Any, path: str, *, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"expected a non-empty string, got {_given(value)}", path=path)
    if choices is not None and value not in choices:
        raise ConfigError(
            f"expected one of {', '.join(choices)}, got '{_short(value)}'."
            + suggest(value[:100], choices),
            path=path,
        )
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"expected true or false, got {_given(value)}", path=path)
    return value


def _number(
    value: Any,
    path: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"expected a number, got {_given(value)}", path=path)
    try:
        value = float(value)
    except OverflowError:
        raise ConfigError(
            f"expected a number, got {_given(value)} (too large)", path=path
        ) from None
    if not math.isfinite(value):
        raise ConfigError(f"expected a finite number, got {value}", path=path)
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        raise ConfigError(f"expected a number {bound}, got {value:g}", path=path)
    if high is not None and (value > high or (high_open and value == high)):
        bound = f"< {high:g}" if high_open else f"<= {high:g}"
        raise ConfigError(f"expected a number {bound}, got {value:g}", path=path)
    return value


def _int(value: Any, path: str, *, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"expected an integer, got {_given(value)}", path=path)
    if low is not None and value < low:
        raise ConfigError(f"expected an integer >= {low}, got {_short(value, 30)}", path=path)
    if high is not None and value > high:
        raise ConfigError(f"expected an integer <= {high:,}, got {_short(value, 30)}", path=path)
    return int(value)


def _list(
    value: Any, path: str, *, allow_scalar: bool = False, most: int | None = None
) -> list[Any]:
    if allow_scalar and value is not None and not isinstance(value, list | Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"expected a list, got {_given(value)}", path=path)
    if most is not None and len(value) > most:
        raise ConfigError(f"at most {most} entries are allowed, got {len(value)}", path=path)
    return value


def _str_list(value: Any, path: str) -> tuple[str, ...]:
    items = _list(value, path, allow_scalar=True)
    return tuple(_str(v, f"{path}[{i}]") for i, v in enumerate(items))
