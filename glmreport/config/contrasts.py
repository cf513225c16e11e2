"""The ``contrasts`` section: t and F contrasts as expressions, weights or matrices.

Only the form is checked here (one of ``t``, ``F`` or ``weights``; numbers where weights are
given; bounded expression length). Expressions are parsed against the design's columns by
:mod:`glmreport.glm.contrasts`, never evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .fields import _at, _check_keys, _list, _mapping, _name, _number, _unique, given
from .specs import ContrastSpec

#: Most contrasts in one config; longest contrast expression, in characters.
MAX_CONTRASTS = 200
MAX_EXPRESSION_CHARS = 10_000

CONTRAST_KEYS = ("name", "t", "F", "weights")


def _contrasts(value: Any) -> tuple[ContrastSpec, ...]:
    """The ``contrasts`` list: at least one, names unique."""
    items = _list(value, "contrasts", most=MAX_CONTRASTS)
    if not items:
        raise ConfigError("expected at least one contrast", path="contrasts")
    out = []
    for i, item in enumerate(items):
        where = f"contrasts[{i}]"
        raw = _mapping(item, where)
        _check_keys(raw, where, CONTRAST_KEYS, required=("name",))
        kinds = [k for k in ("t", "F", "weights") if k in raw]
        if len(kinds) != 1:
            raise ConfigError(
                "give exactly one of 't' (an expression), 'F' (a list of expressions or a "
                f"matrix) or 'weights'; got {', '.join(kinds) or 'none'}",
                path=where,
            )
        kind = kinds[0]
        name = _name(raw["name"], f"{where}.name")
        definition = raw[kind]
        at = f"{where}.{kind}"
        if kind == "t":
            if not isinstance(definition, str | Mapping | list) or isinstance(definition, bool):
                raise ConfigError(
                    "expected an expression over design columns (e.g. 'a - b'), a mapping "
                    f"{{column: weight}} or a vector, got {given(definition)}",
                    path=at,
                )
            stat_type = "t"
        elif kind == "F":
            if not isinstance(definition, list | Mapping) or not definition:
                raise ConfigError(
                    "expected a list of expressions (one per row) or a matrix, got "
                    f"{given(definition)}",
                    path=at,
                )
            stat_type = "F"
        else:
            is_matrix = (
                isinstance(definition, list)
                and definition
                and all(isinstance(r, list) for r in definition)
            )
            stat_type = "F" if is_matrix and len(definition) > 1 else "t"
            if isinstance(definition, list) and is_matrix and len(definition) == 1:
                definition = definition[0]
        _check_definition(definition, at)
        out.append(
            ContrastSpec(
                name=name,
                stat_type=stat_type,
                definition=_plain(definition),
                where=at,
            )
        )
    _unique([c.name for c in out], "contrasts")
    return tuple(out)


def _plain(value: Any) -> Any:
    """Plain dicts and lists (YAML mappings may be other Mapping types)."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_definition(value: Any, path: str) -> None:
    """Weights are numbers and expressions bounded in length (parsed later, never evaluated)."""
    if isinstance(value, str):
        if len(value) > MAX_EXPRESSION_CHARS:
            raise ConfigError(
                f"an expression has at most {MAX_EXPRESSION_CHARS:,} characters, got "
                f"{len(value):,}",
                path=path,
            )
        return
    if isinstance(value, Mapping):
        for key, w in value.items():
            _number(w, _at(path, str(key)))
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                _check_definition(item, f"{path}[{i}]")
                continue
            if isinstance(item, list):
                for j, w in enumerate(item):
                    _number(w, f"{path}[{i}][{j}]")
            elif isinstance(item, Mapping):
                _check_definition(item, f"{path}[{i}]")
            else:
                _number(item, f"{path}[{i}]")
        return
    raise ConfigError(f"expected an expression, mapping or list, got {given(value)}", path=path)
