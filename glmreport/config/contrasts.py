"""The ``contrasts`` section: t and F contrasts as expressions, weights or matrices, and
conjunctions of t contrasts.

Only the form is checked here (one of ``t``, ``F``, ``weights`` or ``conjunction``; numbers
where weights are given; bounded expression length). Expressions are parsed against the
design's columns by :mod:`glmreport.glm.contrasts`, never evaluated. A conjunction names at
least two distinct t contrasts of the same config (not conjunctions themselves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, suggest
from .fields import _at, _check_keys, _list, _mapping, _name, _number, _unique, given, short
from .specs import ContrastSpec

#: Most contrasts in one config; longest contrast expression, in characters.
MAX_CONTRASTS = 200
MAX_EXPRESSION_CHARS = 10_000

CONTRAST_KEYS = ("name", "t", "F", "weights", "conjunction")
#: Most components of one conjunction.
MAX_CONJUNCTION = 10


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
        kinds = [k for k in ("t", "F", "weights", "conjunction") if k in raw]
        if len(kinds) != 1:
            raise ConfigError(
                "give exactly one of 't' (an expression), 'F' (a list of expressions or a "
                f"matrix), 'weights' or 'conjunction' (t contrasts); got "
                f"{', '.join(kinds) or 'none'}",
                path=where,
            )
        kind = kinds[0]
        name = _name(raw["name"], f"{where}.name")
        if kind == "conjunction":
            out.append(_conjunction(name, raw["conjunction"], where))
            continue
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
    _check_conjunctions(out)
    return tuple(out)


def _conjunction(name: str, value: Any, where: str) -> ContrastSpec:
    """``{name: ..., conjunction: [A, B, ...]}``: the names of two or more t contrasts."""
    at = f"{where}.conjunction"
    items = _list(value, at, most=MAX_CONJUNCTION)
    names = tuple(_name(v, f"{at}[{j}]") for j, v in enumerate(items))
    if len(set(names)) < 2:
        raise ConfigError(
            f"a conjunction joins at least two different t contrasts, got {len(set(names))}",
            path=at,
        )
    _unique(list(names), at)
    return ContrastSpec(
        name=name, stat_type="t", definition=list(names), where=at, conjunction=names
    )


def _check_conjunctions(specs: list[ContrastSpec]) -> None:
    """Every component of a conjunction is a t contrast defined in the config."""
    kinds = {c.name: c for c in specs}
    for spec in specs:
        for j, part in enumerate(spec.conjunction):
            other = kinds.get(part)
            problem = None
            if other is None:
                problem = f"no contrast is named '{short(part)}'" + suggest(part, list(kinds))
            elif other.conjunction:
                problem = f"'{short(part)}' is itself a conjunction; list its components instead"
            elif other.stat_type != "t":
                problem = f"'{short(part)}' is an F contrast; a conjunction joins t contrasts"
            if problem:
                raise ConfigError(problem, path=f"{spec.where}[{j}]")


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
