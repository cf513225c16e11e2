"""FSL's standard atlases (``$FSLDIR/data/atlases``): finding one and choosing its image.

An FSL atlas is an XML file (title, type, images, label names) beside its images. A
probabilistic atlas has a 4D image (one volume per label) and a 3D max-probability summary
whose values are the label index + 1; a label atlas has a 3D image of indices. Without FSL
the atlas is "missing" (with how to get it), not an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np

from ..config.atlas_registry import atlas_error
from ..config.specs import AtlasSpec
from ..errors import AtlasError, suggest
from .label_files import FslXml, parse_fsl_xml

#: Space assumed for FSL's standard atlases ($FSLDIR/data/atlases): FSL's MNI152 template.
FSL_SPACE = "MNI152NLin6Asym"
#: Voxel size (mm) preferred when an FSL atlas XML lists several images.
FSL_PREFERRED_MM = 2.0
#: How an FSL atlas is cited, and its licence.
FSL_CITATION = (
    "{title}, distributed with FSL; cite the references in the FSL atlas documentation "
    "(https://fsl.fmrib.ox.ac.uk/fsl/fslwiki/Atlases)."
)
FSL_LICENCE = "FSL licence (see $FSLDIR/LICENCE)"


@dataclass(frozen=True, slots=True, kw_only=True)
class FslAtlas:
    """The image of an FSL atlas to read, and the names of its values.

    Attributes
    ----------
    image : Path
        4D probabilities (``kind == 'probabilistic'``), or 3D codes: the label image of a label
        atlas, the max-probability summary of a probabilistic one.
    names : dict of int -> str
        Label names keyed as ``image`` holds them (the XML index; + 1 for a summary image).
    kind : {'deterministic', 'probabilistic'}
    xml : Path
    title : str
    """

    image: Path
    names: dict[int, str]
    kind: Literal["deterministic", "probabilistic"]
    xml: Path
    title: str


def resolve_fsl(spec: AtlasSpec) -> FslAtlas | str:
    """Find the FSL atlas of ``spec`` and the image to read for its ``kind``.

    Returns
    -------
    FslAtlas or str
        The atlas, or (FSL not installed) the message of a missing atlas.

    Raises
    ------
    AtlasError
        Unknown atlas name (with a suggestion), unreadable XML, a statistic atlas, a
        probabilistic kind asked of a label atlas, no image on disk.
    """
    folder = _fsl_atlases_dir()
    name = spec.fsl or ""
    if folder is None:
        fsldir = os.environ.get("FSLDIR")
        why = "FSLDIR is not set" if not fsldir else f"FSLDIR={fsldir} has no data/atlases folder"
        return (
            f"Atlas '{spec.name}' (FSL atlas {name}) is unavailable: {why}. Install FSL and "
            "set FSLDIR to its folder, or use the TemplateFlow copy (e.g. "
            "harvard-oxford-cortical)."
        )
    xml = _read_xml(folder, name, spec)
    image, summary = _pick_fsl_images(xml, spec)
    probabilistic_xml = xml.type == "probabilistic"
    kind = spec.kind
    if kind == "auto":
        kind = "probabilistic" if probabilistic_xml else "deterministic"
    if kind == "probabilistic":
        if not probabilistic_xml:
            raise atlas_error(
                spec,
                f"FSL atlas {xml.path.name} is a label atlas (type '{xml.type}'); it has no "
                "probability volumes. Use kind: deterministic or auto.",
            )
        return FslAtlas(image=image, names=xml.labels, kind=kind, xml=xml.path, title=xml.title)
    # Probabilistic XML: the summary (max-prob) image holds index + 1. Label XML: the index.
    if probabilistic_xml and summary is None:
        raise atlas_error(spec, f"FSL atlas XML {xml.path} has no <summaryimagefile>.")
    offset = 1 if probabilistic_xml else 0
    return FslAtlas(
        image=summary if probabilistic_xml else image,
        names={index + offset: label for index, label in xml.labels.items()},
        kind="deterministic",
        xml=xml.path,
        title=xml.title,
    )


def _read_xml(folder: Path, name: str, spec: AtlasSpec) -> FslXml:
    """The XML of atlas ``name`` (exact, else case-insensitive match) in ``folder``."""
    available = sorted(p.stem for p in folder.glob("*.xml"))
    match = [s for s in available if s == name] or [
        s for s in available if s.lower() == name.lower()
    ]
    if not match:
        raise atlas_error(
            spec,
            f"no FSL atlas '{name}' in {folder}.{suggest(name, available)} Available: "
            f"{', '.join(available) or 'none'}.",
        )
    try:
        xml = parse_fsl_xml(folder / f"{match[0]}.xml")
    except AtlasError as exc:
        raise atlas_error(spec, str(exc)) from None
    if xml.type not in ("probabilistic", "label"):
        raise atlas_error(
            spec,
            f"FSL atlas {xml.path.name} has type '{xml.type}'; only probabilistic and label "
            "atlases can name regions.",
        )
    return xml


def _fsl_atlases_dir() -> Path | None:
    """``$FSLDIR/data/atlases`` when FSLDIR is set and holds it."""
    fsldir = os.environ.get("FSLDIR")
    if not fsldir:
        return None
    folder = Path(fsldir) / "data" / "atlases"
    return folder if folder.is_dir() else None


def _pick_fsl_images(xml: FslXml, spec: AtlasSpec) -> tuple[Path, Path | None]:
    """The listed (image, summary image) whose voxel size is nearest :data:`FSL_PREFERRED_MM`."""
    if not xml.images:
        raise atlas_error(spec, f"FSL atlas XML {xml.path} lists no <images>.")
    best: tuple[float, int] | None = None
    for i, (image, _) in enumerate(xml.images):
        if not image.is_file():
            continue
        try:
            zooms = nib.load(str(image)).header.get_zooms()[:3]
        except Exception:  # noqa: BLE001 - unreadable candidates are skipped
            continue
        score = (abs(float(np.mean(zooms)) - FSL_PREFERRED_MM), i)
        if best is None or score < best:
            best = score
    if best is None:
        listed = ", ".join(str(img) for img, _ in xml.images)
        raise atlas_error(spec, f"FSL atlas XML {xml.path}: none of its images exists ({listed}).")
    return xml.images[best[1]]
