"""TemplateFlow's local index read from file names, for listing what is cached without pybids.

``templateflow``'s ``ls`` builds a pybids index of the whole TemplateFlow home (several seconds
of CPU in every new process) to answer a query. A query on a template's files is answered here
by applying TemplateFlow's own entity patterns (its ``conf/config.json``, as pybids applies
them: a regular-expression search of each file's path) to the files under ``tpl-<template>``,
with pybids' query rules: a None value means the entity is absent, a list means any of its
values, entities with an ``int`` dtype compare as numbers, unnamed entities do not filter.
The files TemplateFlow's indexer ignores are skipped. Only ``glmreport atlases list`` uses it;
runs and downloads go through ``templateflow`` itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

#: Files TemplateFlow's indexer ignores (``templateflow.conf.cache``), on paths below the home.
IGNORE = (re.compile(r"scripts/"), re.compile(r"/\."), re.compile(r"^\."))


@cache
def _entities() -> dict[str, tuple[re.Pattern[str], str | None]]:
    """TemplateFlow's entities: name -> (pattern, dtype)."""
    from importlib import resources

    text = resources.files("templateflow.conf").joinpath("config.json").read_text("utf-8")
    return {
        e["name"]: (re.compile(e["pattern"]), e.get("dtype"))
        for e in json.loads(text)["entities"]
        if e.get("pattern")
    }


def _value(value: Any, dtype: str | None) -> Any:
    return int(value) if dtype == "int" else str(value)


def _extension(value: Any) -> Any:
    """A leading dot, as ``templateflow.client._normalize_ext``."""
    if not value:
        return value
    if isinstance(value, str):
        return value if value.startswith(".") else f".{value}"
    return [_extension(v) for v in value]


def _matches(path: str, query: dict[str, Any]) -> bool:
    entities = _entities()
    for name, wanted in query.items():
        pattern, dtype = entities[name]
        found = pattern.search(path)
        if wanted is None:
            if found is not None:
                return False
            continue
        if found is None:
            return False
        value = _value(found.group(1), dtype)
        several = isinstance(wanted, Sequence) and not isinstance(wanted, str)
        if value not in [_value(w, dtype) for w in (wanted if several else [wanted])]:
            return False
    return True


def cached_listing(root: Path, template: str, **kwargs: Any) -> list[Path] | None:
    """The files ``client.ls(template, **kwargs)`` lists in the home ``root``, sorted.

    None when this cannot answer as TemplateFlow would: the home is missing or empty (there
    TemplateFlow first unpacks its skeleton), or the query names an entity TemplateFlow does
    not define.
    """
    root = Path(root)
    if not root.is_dir() or not any(root.iterdir()):
        return None
    query = {"template": template, **kwargs}
    if "extension" in query:
        query["extension"] = _extension(query["extension"])
    try:
        if not set(query) <= set(_entities()):
            return None
    except (OSError, ValueError, KeyError, ImportError, re.error):  # templateflow's config
        return None
    folder = root / f"tpl-{template}"
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            below = path.relative_to(root).as_posix()
            if any(p.search(below) for p in IGNORE):
                continue
            if _matches(str(path), query):
                found.append(path)
    return sorted(found)
