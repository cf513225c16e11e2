"""The ``atlases`` section: registry names, TemplateFlow queries, files and FSL atlases.

A registry name becomes its spec at once (an unknown name suggests the nearest); a mapping
gives exactly one source. Nothing is fetched or read here: :mod:`glmreport.labels` does that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import AtlasError, ConfigError
from .atlas_registry import registry_spec
from .fields import _check_keys, _int, _list, _mapping, _name, _path, _str, _unique, short
from .specs import AtlasSpec
from .vocabulary import ATLAS_SOURCES

#: Most atlases in one config.
MAX_ATLASES = 16


def _atlases(value: Any, base: Path) -> tuple[AtlasSpec, ...]:
    """The ``atlases`` list (a single entry may stand alone), names unique."""
    if value is None:
        return ()
    items = _list(value, "atlases", allow_scalar=True, most=MAX_ATLASES)
    out = [_atlas(item, f"atlases[{i}]", base) for i, item in enumerate(items)]
    _unique([a.name for a in out], "atlases")
    return tuple(out)


def _atlas(value: Any, where: str, base: Path) -> AtlasSpec:
    """One atlas entry: a registry name or a mapping with one source."""
    if isinstance(value, str):
        try:
            return registry_spec(value, where=where)
        except AtlasError as exc:
            raise ConfigError(short(str(exc).removeprefix(f"{where}: "), 400), path=where) from None
    raw = _mapping(value, where)
    sources = [k for k in ATLAS_SOURCES if k in raw]
    if len(sources) != 1:
        raise ConfigError(
            "an atlas entry is a registry name (e.g. harvard-oxford-cortical) or a mapping with "
            f"exactly one of {', '.join(ATLAS_SOURCES)}",
            path=where,
        )
    source = sources[0]
    kind = _str(
        raw.get("kind", "auto"), f"{where}.kind", choices=("auto", "deterministic", "probabilistic")
    )
    if source == "templateflow":
        return _templateflow_atlas(raw, where, kind)
    if source == "file":
        return _file_atlas(raw, where, kind, base)
    _check_keys(raw, where, ("fsl", "name", "kind"))
    key = _str(raw["fsl"], f"{where}.fsl")
    name = _name(raw["name"], f"{where}.name") if "name" in raw else key
    return AtlasSpec(name=name, source="fsl", fsl=key, kind=kind, where=where)


def _templateflow_atlas(raw: Any, where: str, kind: Any) -> AtlasSpec:
    """``{templateflow: {template, atlas, desc, resolution}}``; the name defaults to the atlas."""
    _check_keys(raw, where, ("templateflow", "name", "kind"))
    tf = _mapping(raw["templateflow"], f"{where}.templateflow")
    _check_keys(
        tf,
        f"{where}.templateflow",
        ("template", "atlas", "desc", "resolution"),
        required=("template", "atlas"),
    )
    query = {
        "template": _str(tf["template"], f"{where}.templateflow.template"),
        "atlas": _str(tf["atlas"], f"{where}.templateflow.atlas"),
        "desc": None
        if tf.get("desc") is None
        else _str(str(tf["desc"]), f"{where}.templateflow.desc"),
        "resolution": None
        if tf.get("resolution") is None
        else _int(tf["resolution"], f"{where}.templateflow.resolution", low=1),
    }
    name = (
        _name(raw["name"], f"{where}.name")
        if "name" in raw
        else f"{query['atlas']}" + (f"-{query['desc']}" if query["desc"] else "")
    )
    return AtlasSpec(name=name, source="templateflow", templateflow=query, kind=kind, where=where)


def _file_atlas(raw: Any, where: str, kind: Any, base: Path) -> AtlasSpec:
    """``{file: image, labels: table}``; the name defaults to the file's name."""
    _check_keys(raw, where, ("file", "labels", "name", "kind", "space"))
    file = _path(raw["file"], f"{where}.file", base)
    labels = _path(raw["labels"], f"{where}.labels", base) if "labels" in raw else None
    name = _name(raw["name"], f"{where}.name") if "name" in raw else file.name.split(".")[0]
    space = _str(raw["space"], f"{where}.space") if raw.get("space") is not None else None
    return AtlasSpec(
        name=name, source="file", file=file, labels=labels, kind=kind, space=space, where=where
    )
