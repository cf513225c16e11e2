"""Where an atlas comes from: its image, labels, kind, space and citation, per source.

:func:`locate` turns an :class:`~glmreport.config.specs.AtlasSpec` into a :class:`Located`
record for :mod:`.atlas` to load: a file atlas as given, an FSL atlas found under
``$FSLDIR`` (:mod:`.fsl`), a registry or TemplateFlow atlas fetched into the TemplateFlow
cache (:mod:`.templateflow`). What cannot be had (no network, FSL not installed) comes back
with ``image=None`` and a message saying how to get it: the run goes on without that atlas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.atlas_registry import atlas_error, registry_document, registry_entry
from ..config.specs import AtlasKind, AtlasSpec
from ..config.vocabulary import ATLAS_SOURCES
from ..errors import suggest
from .fsl import FSL_CITATION, FSL_LICENCE, FSL_SPACE, resolve_fsl
from .templateflow import fetch_hint, resolve_templateflow, tf_suffixes

#: A registry name, or one of the sources an atlas mapping may give.
SOURCES = ("registry", *ATLAS_SOURCES)


@dataclass(frozen=True, slots=True, kw_only=True)
class Located:
    """An atlas's files and description, or why it is missing.

    Attributes
    ----------
    image : Path or None
        The image to read; ``None`` when the atlas is missing (see ``message``).
    message : str
        Missing atlas: what could not be fetched and how to get it.
    labels : Path or None
        Label file (TSV, XML, lookup table), or the FSL XML the ``names`` come from.
    names : dict of int -> str or None
        Names already keyed as the image holds them (FSL atlases); ``None``: read ``labels``.
    kind : {'auto', 'deterministic', 'probabilistic'}
    space : str or None
        Template the atlas is defined in.
    title, citation, doi, licence : str
    refetch_hint : str
        TemplateFlow atlases: how to fetch the image again should the cached copy be damaged.
    """

    image: Path | None
    message: str = ""
    labels: Path | None = None
    names: dict[int, str] | None = None
    kind: AtlasKind = "auto"
    space: str | None = None
    title: str = ""
    citation: str = ""
    doi: str = ""
    licence: str = ""
    refetch_hint: str = ""


def locate(spec: AtlasSpec, *, download: bool, timeout_s: float) -> Located:
    """Find the files of one atlas entry (downloading TemplateFlow files when allowed).

    Raises
    ------
    AtlasError
        Unknown source or registry name, a file atlas without an existing image or label
        file, a malformed TemplateFlow entry, an ambiguous TemplateFlow query.
    """
    if spec.source == "file":
        return _file(spec)
    if spec.source == "fsl":
        return _fsl(spec)
    if spec.source not in ("registry", "templateflow"):
        raise atlas_error(
            spec,
            f"unknown atlas source '{spec.source}'.{suggest(spec.source, SOURCES)} "
            f"Expected one of {', '.join(SOURCES)}.",
        )
    tf, registry_key, described = _templateflow_source(spec)
    resolved = resolve_templateflow(
        spec, tf, registry_key=registry_key, download=download, timeout_s=timeout_s
    )
    if isinstance(resolved, str):
        return Located(image=None, message=resolved, **described)
    image, tf_labels, _ = resolved
    labels = Path(spec.labels).expanduser() if spec.labels is not None else tf_labels
    if labels is not None and not labels.is_file():
        raise atlas_error(spec, f"label file {labels} does not exist.")
    hint = fetch_hint(tf, tf_suffixes(tf, described["kind"])[0], registry_key)
    return Located(image=image, labels=labels, refetch_hint=hint, **described)


def _file(spec: AtlasSpec) -> Located:
    if spec.file is None:
        raise atlas_error(spec, "a file atlas needs 'file: <image.nii.gz>'.")
    image = Path(spec.file).expanduser()
    if not image.is_file():
        raise atlas_error(spec, f"atlas image {image} does not exist.")
    labels = Path(spec.labels).expanduser() if spec.labels is not None else None
    if labels is not None and not labels.is_file():
        raise atlas_error(spec, f"label file {labels} does not exist.")
    return Located(
        image=image,
        labels=labels,
        kind=spec.kind,
        space=spec.space,
        title=f"{spec.name} (file {image.name})",
    )


def _fsl(spec: AtlasSpec) -> Located:
    resolved = resolve_fsl(spec)
    if isinstance(resolved, str):
        return Located(image=None, message=resolved, space=FSL_SPACE)
    return Located(
        image=resolved.image,
        labels=resolved.xml,
        names=resolved.names,
        kind=resolved.kind,
        space=FSL_SPACE,
        title=f"{resolved.title} (FSL, {resolved.xml})",
        citation=FSL_CITATION.format(title=resolved.title),
        licence=FSL_LICENCE,
    )


def _templateflow_source(spec: AtlasSpec) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """The TemplateFlow query, the registry key and the description of a registry or
    TemplateFlow atlas (``kind``, ``space``, ``title``, ``citation``, ``doi``, ``licence``)."""
    if spec.source == "registry":
        key = spec.registry_key or spec.name
        entry = registry_entry(key, spec)
        tf = dict(entry["templateflow"])
        citation = entry.get("citation", {})
        return (
            tf,
            key,
            {
                "kind": spec.kind if spec.kind != "auto" else entry.get("kind", "auto"),
                "space": entry.get("space") or tf["template"],
                "title": f"{entry.get('title', key)} (TemplateFlow {tf['template']})",
                "citation": citation.get("text", ""),
                "doi": citation.get("doi", ""),
                "licence": entry.get("licence", ""),
            },
        )
    tf = dict(spec.templateflow or {})
    missing_keys = [k for k in ("template", "atlas") if not tf.get(k)]
    if missing_keys:
        raise atlas_error(
            spec,
            f"templateflow atlas lacks {', '.join(missing_keys)}; expected "
            "{template, atlas, desc, resolution}.",
        )
    tf_cite = registry_document().get("templateflow_citation", {})
    title = f"TemplateFlow {tf['template']} atlas-{tf['atlas']}" + (
        f" desc-{tf['desc']}" if tf.get("desc") else ""
    )
    return (
        tf,
        None,
        {
            "kind": spec.kind,
            "space": str(tf["template"]),
            "title": title,
            "citation": f"Atlas '{tf['atlas']}' from TemplateFlow; cite its original "
            f"publication and TemplateFlow: {tf_cite.get('text', '')}",
            "doi": tf_cite.get("doi", ""),
            "licence": "see the template's LICENSE in TEMPLATEFLOW_HOME",
        },
    )
