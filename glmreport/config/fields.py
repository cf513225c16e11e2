"""The small typed readers every config section is checked with.

Each reader takes the raw YAML value and its YAML path (``contrasts[2].t``) and returns the
value as the type the specs want, or raises :class:`~glmreport.errors.ConfigError` saying
where, what was expected and what was given (:func:`given`: the kind of value and a capped
repr, never an unbounded user value). The readers (``_str``, ``_number`` ...) are this
package's own; the section modules (:mod:`.model`, :mod:`.contrasts`, :mod:`.atlases` ...)
import them.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, suggest

#: Longest name (contrasts, runs, maps, atlases), in characters.
MAX_NAME_CHARS = 100


def _type_name(value: Any) -> str:
    """The YAML kind of a value in words (``a mapping``, ``nothing (null)`` ...)."""
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


def short(text: Any, limit: int = 60) -> str:
    """``str(text)`` cut to ``limit`` characters for messages (never an unbounded value)."""
    text = text if isinstance(text, str) else _REPR.repr(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def given(value: Any) -> str:
    """What the user gave, for messages: its type and a capped repr (``a string ('abc')``)."""
    return f"{_type_name(value)} ({short(_REPR.repr(value))})"


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    """A mapping with string keys."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"expected a mapping of keys to values, got {given(value)}", path=path)
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"keys must be strings, got {given(key)}", path=path)
    return value


def _at(path: str, key: str) -> str:
    """YAML path of ``key`` under ``path``, the key cut for messages."""
    key = short(key, 40)
    return f"{path}.{key}" if path else key


def _check_keys(
    value: Mapping[str, Any],
    path: str,
    allowed: tuple[str, ...] | list[str],
    required: tuple[str, ...] = (),
) -> None:
    """Refuse unknown keys (suggesting the nearest) and missing required ones."""
    for key in value:
        if key not in allowed:
            raise ConfigError(
                f"unknown key '{short(key, 40)}'; expected one of: {', '.join(allowed)}."
                + suggest(key[:100], allowed),
                path=_at(path, key),
            )
    for key in required:
        if key not in value:
            raise ConfigError(f"missing required key '{key}'", path=path or None)


def _str(value: Any, path: str, *, choices: tuple[str, ...] | None = None) -> str:
    """A non-empty string, one of ``choices`` when given (suggesting the nearest)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"expected a non-empty string, got {given(value)}", path=path)
    if choices is not None and value not in choices:
        raise ConfigError(
            f"expected one of {', '.join(choices)}, got '{short(value)}'."
            + suggest(value[:100], choices),
            path=path,
        )
    return value


def _name(value: Any, path: str) -> str:
    """A name (contrast, run, map, atlas) of at most :data:`MAX_NAME_CHARS` characters."""
    text = _str(value, path)
    if len(text) > MAX_NAME_CHARS:
        raise ConfigError(
            f"a name has at most {MAX_NAME_CHARS} characters, got {len(text):,} "
            f"('{short(text, 40)}')",
            path=path,
        )
    return text


def _bool(value: Any, path: str) -> bool:
    """``true`` or ``false`` (not 0/1, not "yes")."""
    if not isinstance(value, bool):
        raise ConfigError(f"expected true or false, got {given(value)}", path=path)
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
    """A finite number (not a boolean) within the given bounds, as float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"expected a number, got {given(value)}", path=path)
    try:
        value = float(value)
    except OverflowError:
        raise ConfigError(f"expected a number, got {given(value)} (too large)", path=path) from None
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
    """An integer (not a boolean, not 1.0) within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"expected an integer, got {given(value)}", path=path)
    if low is not None and value < low:
        raise ConfigError(f"expected an integer >= {low}, got {short(value, 30)}", path=path)
    if high is not None and value > high:
        raise ConfigError(f"expected an integer <= {high:,}, got {short(value, 30)}", path=path)
    return int(value)


def _alpha(value: Any, path: str) -> float:
    """A probability strictly between 0 and 1."""
    return _number(value, path, low=0.0, high=1.0, low_open=True, high_open=True)


def _list(
    value: Any, path: str, *, allow_scalar: bool = False, most: int | None = None
) -> list[Any]:
    """A list of at most ``most`` entries (a lone scalar as one entry if ``allow_scalar``)."""
    if allow_scalar and value is not None and not isinstance(value, list | Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"expected a list, got {given(value)}", path=path)
    if most is not None and len(value) > most:
        raise ConfigError(f"at most {most} entries are allowed, got {len(value)}", path=path)
    return value


def _str_list(value: Any, path: str) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple."""
    items = _list(value, path, allow_scalar=True)
    return tuple(_str(v, f"{path}[{i}]") for i, v in enumerate(items))


def _path(value: Any, path: str, base: Path) -> Path:
    """A path, ``~`` expanded, relative paths taken from ``base`` (the config's folder)."""
    text = _str(value, path)
    p = Path(text).expanduser()
    return p if p.is_absolute() else (base / p)


def _unique(names: list[str], path: str) -> None:
    """Refuse a repeated name, naming the entry that repeats it."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(
                f"duplicate name '{short(name)}'; names must be unique", path=f"{path}[{i}]"
            )
        seen.add(name)
