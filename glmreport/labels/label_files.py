"""Label names of atlases: TSV/CSV tables, FSL atlas XML and text lookup tables.

Every reader returns ``{index: name}`` as written in the file; matching the indices to the
image's values (or volumes) is :mod:`.atlas_images`'s job. An unreadable or malformed file is
an :class:`~glmreport.errors.AtlasError` naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..errors import AtlasError

#: File endings of NIfTI images (FSL XML image paths omit them).
NIFTI_EXTENSIONS = (".nii.gz", ".nii")
#: Label names that mean "no region" (a leading background row of a probabilistic atlas).
BACKGROUND_NAMES = {"background", "unknown", "unlabeled", "unlabelled", "none", "???", "0"}


def is_int(token: str) -> bool:
    """Whether ``token`` is an integer literal."""
    try:
        int(token)
    except ValueError:
        return False
    return True


def _read_delimited(path: Path, text: str, delimiter: str) -> dict[int, str]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = [row for row in reader if row and any(cell.strip() for cell in row)]
    if not rows:
        raise AtlasError(f"label file {path} is empty; expected columns 'index' and 'name'.")
    header = [cell.strip().lower() for cell in rows[0]]
    if "index" not in header or "name" not in header:
        raise AtlasError(
            f"label file {path} has columns {rows[0]}; expected a header with 'index' and "
            f"'name' columns (separated by {'tabs' if delimiter == chr(9) else 'commas'})."
        )
    i_index, i_name = header.index("index"), header.index("name")
    names: dict[int, str] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) <= max(i_index, i_name):
            raise AtlasError(f"label file {path}, row {line_no}: too few columns: {row}.")
        index = row[i_index].strip()
        if not is_int(index):
            raise AtlasError(
                f"label file {path}, row {line_no}: index '{index}' is not an integer."
            )
        if int(index) in names:
            raise AtlasError(f"label file {path}, row {line_no}: index {index} appears twice.")
        names[int(index)] = row[i_name].strip()
    return names


def _trailing_ints(tokens: list[str]) -> int:
    n = 0
    for token in reversed(tokens[1:]):  # the first token is always part of the name
        if not is_int(token):
            break
        n += 1
    return n


def _read_lut(path: Path, text: str) -> dict[int, str]:
    """``index name [r g b [a]]`` lines; the colour width (3 or 4) is decided per file."""
    entries: list[tuple[int, int, list[str]]] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tokens = line.split()
        if len(tokens) < 2 or not is_int(tokens[0]):
            raise AtlasError(
                f"label file {path}, line {line_no}: expected 'index name [r g b [a]]', "
                f"got '{raw.strip()}'."
            )
        entries.append((line_no, int(tokens[0]), tokens[1:]))
    if not entries:
        raise AtlasError(f"label file {path} holds no 'index name' lines.")
    widths = [_trailing_ints(rest) for _, _, rest in entries]
    coloured = [w for w in widths if w >= 3]
    n_colour = min(min(coloured), 4) if coloured else 0
    names: dict[int, str] = {}
    for (line_no, index, rest), width in zip(entries, widths, strict=True):
        cut = n_colour if width >= 3 else 0
        if index in names:
            raise AtlasError(f"label file {path}, line {line_no}: index {index} appears twice.")
        names[index] = " ".join(rest[: len(rest) - cut])
    return names


@dataclass(frozen=True, slots=True, kw_only=True)
class FslXml:
    """What an FSL atlas XML says: title, type, images and label names."""

    path: Path
    title: str
    type: str  # 'probabilistic', 'label' or 'statistic'
    images: tuple[tuple[Path, Path | None], ...]  # (imagefile, summaryimagefile)
    labels: dict[int, str]  # XML index -> name


def parse_fsl_xml(path: Path) -> FslXml:
    """Read an FSL atlas XML (``<header>`` with type, name and images; ``<data>`` labels)."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise AtlasError(f"FSL atlas XML {path} cannot be read: {exc}.") from exc
    header = root.find("header")
    data = root.find("data")
    if data is None:
        raise AtlasError(f"FSL atlas XML {path} has no <data> element with <label> entries.")
    kind = ""
    title = path.stem
    images: list[tuple[Path, Path | None]] = []
    if header is not None:
        kind = (header.findtext("type") or "").strip().lower()
        title = (header.findtext("name") or path.stem).strip()
        for block in header.findall("images"):
            image = (block.findtext("imagefile") or "").strip()
            summary = (block.findtext("summaryimagefile") or "").strip()
            if not image:
                continue
            images.append(
                (
                    fsl_image_path(path.parent, image),
                    fsl_image_path(path.parent, summary) if summary else None,
                )
            )
    if kind == "probabalistic":  # spelling found in some FSL XML files
        kind = "probabilistic"
    labels: dict[int, str] = {}
    for elem in data.findall("label"):
        index = elem.get("index")
        if index is None or not is_int(index.strip()):
            raise AtlasError(f"FSL atlas XML {path}: <label> without an integer index.")
        labels[int(index)] = (elem.text or "").strip()
    if not labels:
        raise AtlasError(f"FSL atlas XML {path} lists no <label> entries.")
    return FslXml(path=path, title=title, type=kind, images=tuple(images), labels=labels)


def fsl_image_path(folder: Path, rel: str) -> Path:
    """FSL XML image paths are relative to the XML folder, start with '/', lack extensions."""
    base = folder / rel.lstrip("/")
    if base.is_file():
        return base
    for ext in NIFTI_EXTENSIONS:
        candidate = base.with_name(base.name + ext)
        if candidate.is_file():
            return candidate
    return base.with_name(base.name + ".nii.gz")


def read_label_file(path: Path | str) -> dict[int, str]:
    """Read label names from a TSV/CSV, an FSL XML or a text lookup table.

    Parameters
    ----------
    path : path-like
        ``.tsv`` / ``.csv``: header with ``index`` and ``name`` (other columns ignored).
        ``.xml``: FSL atlas XML, ``<label index="i">name</label>`` (index as written).
        Anything else: a text lookup table, one ``index name [r g b [a]]`` per line, ``#``
        comments; a ``.txt`` whose first line holds ``index`` and ``name`` is read as a table.

    Returns
    -------
    dict of int -> str
        Index -> name, as written in the file.

    Raises
    ------
    AtlasError
        File missing or unreadable, no index/name columns, non-integer or repeated indices.
    """
    path = Path(path)
    if not path.is_file():
        raise AtlasError(f"label file {path} does not exist.")
    lower = path.name.lower()
    if lower.endswith(".xml"):
        return parse_fsl_xml(path).labels
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AtlasError(
            f"label file {path} cannot be read as text ({exc}); expected a TSV/CSV with "
            "'index' and 'name' columns, an FSL XML or an 'index name' lookup table."
        ) from exc
    if lower.endswith(".tsv"):
        return _read_delimited(path, text, "\t")
    if lower.endswith(".csv"):
        return _read_delimited(path, text, ",")
    first = next((ln for ln in text.splitlines() if ln.strip()), "").lower()
    if "index" in first and "name" in first:
        delimiter = "\t" if "\t" in first else ("," if "," in first else None)
        if delimiter is not None:
            return _read_delimited(path, text, delimiter)
    return _read_lut(path, text)


def is_background(name: str) -> bool:
    """Whether a label name means "no region"."""
    return name.strip().lower() in BACKGROUND_NAMES
