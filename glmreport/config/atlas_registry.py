"""The atlas registry (``atlases/registry.json``): friendly names -> atlas specs.

The config resolves a registry name to an :class:`~glmreport.config.specs.AtlasSpec` here;
the labels stage reads the same registry to fetch and load the atlas.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from ..errors import AtlasError, suggest
from ..resources import atlases_dir
from .specs import AtlasSpec


def atlas_error(spec: AtlasSpec | None, message: str) -> AtlasError:
    """An :class:`AtlasError` prefixed with the YAML path of the atlas entry (if any)."""
    where = spec.where if spec is not None else ""
    return AtlasError(f"{where}: {message}" if where else message)


@cache
def registry_document() -> dict[str, Any]:
    """The whole ``atlases/registry.json`` (atlases and the TemplateFlow citation), read once."""
    path = atlases_dir() / "registry.json"
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def registry() -> dict[str, dict[str, Any]]:
    """Named atlases from ``atlases/registry.json``, keyed by friendly name.

    Returns
    -------
    dict of str -> dict
        Each entry has ``title``, ``kind``, ``space``, ``templateflow`` (template, atlas,
        desc, resolution, suffix), ``citation`` (``text``, ``doi``), ``licence``, ``url``.
    """
    return registry_document()["atlases"]


def registry_keys() -> tuple[str, ...]:
    """The friendly names the registry knows, in registry order."""
    return tuple(registry())


def registry_entry(key: str, spec: AtlasSpec | None = None) -> dict[str, Any]:
    """The registry entry of ``key``; an unknown key is an :class:`AtlasError` (with a hint)."""
    entries = registry()
    if key not in entries:
        raise atlas_error(
            spec,
            f"unknown atlas '{key}'.{suggest(key, entries)} Known atlases: "
            f"{', '.join(entries)}; or give {{templateflow: {{template, atlas, desc, "
            "resolution}}, {file: ..., labels: ...} or {fsl: ...}.",
        )
    return entries[key]


def registry_spec(key: str, *, name: str | None = None, where: str = "") -> AtlasSpec:
    """Build the spec of a registry atlas, checking the key.

    Parameters
    ----------
    key : str
        Friendly name, e.g. ``harvard-oxford-cortical``.
    name : str, optional
        Column name; defaults to ``key``.
    where : str
        YAML path for messages.

    Raises
    ------
    AtlasError
        Unknown key (with a suggestion).
    """
    spec = AtlasSpec(name=name or key, source="registry", registry_key=key, where=where)
    registry_entry(key, spec)
    return spec
