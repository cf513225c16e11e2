"""Atlases loaded for labelling: :func:`load_atlases` turns specs into :class:`LoadedAtlas`.

An :class:`~glmreport.config.specs.AtlasSpec` (built by the config) says where an atlas comes
from; :mod:`.sources` finds its files (a file, FSL, the registry or TemplateFlow) and this
module reads the image, matches it with its label names and states how its template relates
to the data's. An atlas that cannot be fetched (TemplateFlow file absent from the local cache
and no network, FSL not installed) comes back with ``status="missing"`` and a message saying
how to get it: the run goes on. Malformed inputs (unknown name, missing file, labels that
disagree with the image) raise :class:`~glmreport.errors.AtlasError`.

Label codes
-----------
Every atlas is reduced to integer *codes* with names: ``0`` is "no label". For a
deterministic atlas the code is the voxel value. For a probabilistic atlas (one volume per
label) code ``j + 1`` is volume ``j``. Looking atlases up at world coordinates is
:mod:`.sampling`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..config.atlas_registry import atlas_error
from ..config.specs import AtlasSpec
from ..errors import AtlasError
from .atlas_images import (
    AtlasImageError,
    as_codes,
    deterministic_names,
    load_atlas_image,
    present_codes,
    prob_scale,
    probabilistic_names,
)
from .label_files import parse_fsl_xml, read_label_file
from .sources import Located, locate
from .templateflow import DEFAULT_TIMEOUT_S

__all__ = ["LoadedAtlas", "atlas_notes", "load_atlases"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedAtlas:
    """An atlas ready for labelling, or a record of why it is unavailable.

    Attributes
    ----------
    name : str
        Column name (``spec.name``).
    spec : AtlasSpec
    status : {'ok', 'missing'}
    message : str
        For ``missing``: what could not be fetched and how to get it. Empty when ``ok``.
    kind : {'deterministic', 'probabilistic'} or None
    data : ndarray or None
        ``(X, Y, Z)`` integer codes (deterministic) or ``(X, Y, Z, n_labels)`` probabilities
        in the file's own units (probabilistic; multiply by ``prob_scale`` for 0-1).
    affine : (4, 4) ndarray or None
        Voxel -> world (mm) of ``data``.
    names : dict of int -> str
        Code -> label name; code 0 is "no label" and never listed.
    prob_scale : float
        1.0 for 0-1 probabilities, 0.01 for percentages.
    title : str
        Human-readable description of the atlas and where it came from.
    image_path, labels_path : Path or None
    space : str or None
        Template the atlas is defined in.
    space_note : str
        Note on the data/atlas space relation (mismatch or unknown); empty when they agree.
    citation, doi, licence : str
    cache : dict
        Resampled atlases keyed by grid (filled by :func:`.sampling.resample_atlas`).
    """

    name: str
    spec: AtlasSpec
    status: Literal["ok", "missing"]
    message: str = ""
    kind: Literal["deterministic", "probabilistic"] | None = None
    data: np.ndarray | None = None
    affine: np.ndarray | None = None
    names: dict[int, str] = field(default_factory=dict)
    prob_scale: float = 1.0
    title: str = ""
    image_path: Path | None = None
    labels_path: Path | None = None
    space: str | None = None
    space_note: str = ""
    citation: str = ""
    doi: str = ""
    licence: str = ""
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the atlas was loaded and can label."""
        return self.status == "ok"

    @property
    def n_labels(self) -> int:
        """Number of named labels (codes > 0)."""
        return sum(1 for code in self.names if code > 0)

    def describe(self) -> dict[str, Any]:
        """Same as :meth:`summary` (the ``atlases`` entry of ``summary.json``)."""
        return self.summary()

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable record for ``summary.json`` ``atlases`` and the report."""
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "title": self.title,
            "kind": self.kind,
            "source": self.spec.source,
            "image": str(self.image_path) if self.image_path else None,
            "labels": str(self.labels_path) if self.labels_path else None,
            "n_labels": self.n_labels,
            "citation": self.citation,
            "doi": self.doi,
            "licence": self.licence,
            "space": self.space,
            "space_note": self.space_note,
        }


def _space_note(name: str, atlas_space: str | None, data_space: str | None) -> str:
    """How the atlas's template relates to the data's (empty when they are the same)."""
    if atlas_space is None and data_space is None:
        return (
            f"Atlas '{name}': neither the data's nor the atlas's template is stated; labels "
            "assume both are in the same space."
        )
    if atlas_space is None:
        return (
            f"Atlas '{name}': its template is not stated; labels assume it is in the data's "
            f"space ({data_space})."
        )
    if data_space is None:
        return (
            f"Atlas '{name}' is in {atlas_space}; the data's space is not stated, so labels "
            f"assume the data are in {atlas_space}."
        )
    if atlas_space.strip().lower() != data_space.strip().lower():
        return (
            f"Atlas '{name}' is defined in {atlas_space} but the data are in {data_space}; "
            "labels were looked up at the same world (mm) coordinates without a transform "
            "between the templates, so labels near region borders may be off by a few mm."
        )
    return ""


def _missing(
    spec: AtlasSpec, message: str, located: Located, *, data_space: str | None
) -> LoadedAtlas:
    """The record of an atlas that could not be had, with how to get it."""
    space = located.space
    return LoadedAtlas(
        name=spec.name,
        spec=spec,
        status="missing",
        message=message,
        title=located.title,
        space=space,
        space_note=_space_note(spec.name, space, data_space) if space else "",
        citation=located.citation,
        doi=located.doi,
        licence=located.licence,
    )


def _build(spec: AtlasSpec, located: Located, *, data_space: str | None) -> LoadedAtlas:
    """Read the located image and match it with its label names."""
    image, labels, kind = located.image, located.labels, located.kind
    data, affine = load_atlas_image(image, spec)
    if kind == "auto":
        kind = "probabilistic" if data.ndim == 4 else "deterministic"
    if kind == "deterministic" and data.ndim != 3:
        raise atlas_error(
            spec,
            f"atlas image {image} is 4D ({data.shape[3]} volumes) but kind is deterministic; "
            "use kind: probabilistic (or auto) for one probability volume per label.",
        )
    if kind == "probabilistic" and data.ndim != 4:
        raise atlas_error(
            spec,
            f"atlas image {image} is 3D but kind is probabilistic; a probabilistic atlas has "
            "one volume per label (4D).",
        )
    raw_names, xml_type = located.names, ""
    if raw_names is None and labels is not None:
        raw_names, xml_type = _read_names(labels, spec)
    if kind == "probabilistic":
        n_volumes = data.shape[3]
        if raw_names is None:
            names = {j + 1: f"label {j + 1}" for j in range(n_volumes)}
        else:
            names = probabilistic_names(n_volumes, raw_names, image, labels, spec)
        scale = prob_scale(data, image, spec)
        stored = data
    else:
        stored = as_codes(data, image, spec)
        if raw_names is None:
            present = present_codes(stored)
            names = {int(v): f"label {int(v)}" for v in present if v > 0}
        else:
            if xml_type == "probabilistic":  # FSL max-prob summary image: index + 1
                raw_names = {k + 1: v for k, v in raw_names.items()}
            names = deterministic_names(stored, raw_names, image, labels, spec)
        scale = 1.0
    return LoadedAtlas(
        name=spec.name,
        spec=spec,
        status="ok",
        kind=kind,
        data=stored,
        affine=affine,
        names=names,
        prob_scale=scale,
        title=located.title,
        image_path=image,
        labels_path=labels,
        space=located.space,
        space_note=_space_note(spec.name, located.space, data_space),
        citation=located.citation,
        doi=located.doi,
        licence=located.licence,
    )


def _read_names(labels: Path, spec: AtlasSpec) -> tuple[dict[int, str], str]:
    """Names from a label file, and the FSL XML's type when it is one (else ``""``)."""
    try:
        if labels.name.lower().endswith(".xml"):
            xml = parse_fsl_xml(labels)
            return xml.labels, xml.type
        return read_label_file(labels), ""
    except AtlasError as exc:
        raise atlas_error(spec, str(exc)) from None


def _load_one(
    spec: AtlasSpec, *, data_space: str | None, download: bool, timeout_s: float
) -> LoadedAtlas:
    located = locate(spec, download=download, timeout_s=timeout_s)
    if located.image is None:
        return _missing(spec, located.message, located, data_space=data_space)
    try:
        return _build(spec, located, data_space=data_space)
    except AtlasImageError as exc:
        if not located.refetch_hint or exc.path != located.image:
            raise
        # A cached TemplateFlow file cut short by an interrupted download.
        message = (
            f"Atlas '{spec.name}': the cached file {located.image} is damaged ({exc}). Delete "
            "it and fetch it again. " + located.refetch_hint
        )
        return _missing(spec, message, located, data_space=data_space)


def load_atlases(
    specs: Iterable[AtlasSpec],
    *,
    data_space: str | None,
    download: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[LoadedAtlas]:
    """Load every atlas entry, marking the ones that cannot be fetched as missing.

    Parameters
    ----------
    specs : iterable of AtlasSpec
    data_space : str or None
        Template the statistic maps are in (e.g. ``MNI152NLin2009cAsym``); compared with each
        atlas's template and stated in ``space_note``.
    download : bool
        Allow TemplateFlow to download files absent from its cache.
    timeout_s : float
        Seconds after which a TemplateFlow download is abandoned (atlas marked missing).

    Returns
    -------
    list of LoadedAtlas
        One per spec, in order: ``status="ok"``, or ``"missing"`` with a message saying what
        could not be fetched and how to fetch it.

    Raises
    ------
    AtlasError
        Duplicate names, unknown registry or FSL name, missing or unreadable image or label
        file, labels that disagree with the image.
    """
    specs = list(specs)
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            other = seen[spec.name] or "an earlier entry"
            raise atlas_error(
                spec,
                f"atlas name '{spec.name}' is used twice (also at {other}); give each entry "
                "a distinct 'name'.",
            )
        seen[spec.name] = spec.where
    return [
        _load_one(spec, data_space=data_space, download=download, timeout_s=timeout_s)
        for spec in specs
    ]


def atlas_notes(atlases: Iterable[LoadedAtlas]) -> list[str]:
    """Notes to show under the tables and in the report.

    The message of every missing atlas (what could not be fetched and how to fetch it) and
    the space note of every loaded atlas whose template differs from the data's or is unknown.
    """
    notes: list[str] = []
    for atlas in atlases:
        note = atlas.space_note if atlas.ok else atlas.message
        if note and note not in notes:
            notes.append(note)
    return notes
