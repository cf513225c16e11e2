"""BIDS file names and the inheritance principle, without pybids.

A BIDS file name is ``<key>-<label>_<key>-<label>..._<suffix><extension>``: entities (letters
and digits on both sides of the dash, each key at most once), then a suffix (letters and
digits), then an extension starting at the first dot (``.nii.gz``, ``.tsv``, ``.json``).
Known entities come in the order of the BIDS schema (:data:`ENTITY_ORDER`); a name whose known
entities are out of that order is still parsed (``BidsName.ordered`` is False) so that callers
can say so instead of silently skipping the file. Unknown keys (derivative tools define some,
e.g. ``stat-``) are kept where they are.

The inheritance principle (BIDS 1.9, "The Inheritance Principle"): a metadata file applies to
a data file when it lies in the data file's folder or in one of its parent folders up to the
dataset root, has the same suffix, and its entities are a subset of the data file's. JSON
files merge from the top down (a deeper file's keys override); for other files (e.g.
``events.tsv``) the deepest applicable file is used. BIDS forbids two applicable files at
one level; where that happens the one with the most entities is taken if it is unique, and
an error is raised otherwise.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError

#: Entity keys in the order of the BIDS schema (``rules.entities``, schema 0.x / BIDS 1.9).
ENTITY_ORDER = (
    "sub",
    "tpl",
    "ses",
    "cohort",
    "sample",
    "task",
    "tracksys",
    "acq",
    "nuc",
    "voi",
    "ce",
    "trc",
    "stain",
    "rec",
    "dir",
    "run",
    "mod",
    "echo",
    "flip",
    "inv",
    "mt",
    "part",
    "proc",
    "hemi",
    "space",
    "split",
    "recording",
    "chunk",
    "atlas",
    "seg",
    "scale",
    "res",
    "den",
    "label",
    "desc",
)
_RANK = {key: i for i, key in enumerate(ENTITY_ORDER)}
_PAIR = re.compile(r"([a-zA-Z0-9]+)-([a-zA-Z0-9]+)")
_SUFFIX = re.compile(r"([a-zA-Z0-9]+)((?:\.[a-zA-Z0-9]+)*)")
#: Longest file name parsed (longer names are not BIDS names here).
MAX_NAME = 255


@dataclass(frozen=True, slots=True, kw_only=True)
class BidsName:
    """A parsed BIDS file name.

    Attributes
    ----------
    entities : tuple of (str, str)
        ``(key, label)`` pairs in file order.
    suffix : str
        E.g. ``bold``, ``events``, ``mask``, ``timeseries``.
    extension : str
        From the first dot, e.g. ``.nii.gz`` (empty if none).
    ordered : bool
        Whether the known entities follow :data:`ENTITY_ORDER`.
    """

    entities: tuple[tuple[str, str], ...]
    suffix: str
    extension: str
    ordered: bool = True

    def get(self, key: str, default: str | None = None) -> str | None:
        """The label of entity ``key`` (``default`` if absent)."""
        return next((label for k, label in self.entities if k == key), default)

    def as_dict(self) -> dict[str, str]:
        """Entities as a dict."""
        return dict(self.entities)

    def without(self, *keys: str) -> tuple[tuple[str, str], ...]:
        """The entities except ``keys``, in file order."""
        return tuple((k, v) for k, v in self.entities if k not in keys)


def parse_bids_name(name: str | Path) -> BidsName | None:
    """Parse a BIDS file name; ``None`` if it is not one.

    Parameters
    ----------
    name : str or Path
        A file name (a path's folders are ignored).

    Returns
    -------
    BidsName or None
        ``None`` for names without a suffix, with a part that is not ``key-label``, with a
        repeated key, or longer than :data:`MAX_NAME`.

    Examples
    --------
    >>> n = parse_bids_name("sub-01_task-faces_run-1_desc-preproc_bold.nii.gz")
    >>> n.get("run"), n.suffix, n.extension
    ('1', 'bold', '.nii.gz')
    """
    text = Path(name).name
    if not text or len(text) > MAX_NAME:
        return None
    *pairs, last = text.split("_")
    match = _SUFFIX.fullmatch(last)
    if not pairs or match is None:
        return None
    entities = []
    for part in pairs:
        pair = _PAIR.fullmatch(part)
        if pair is None:
            return None
        entities.append((pair.group(1), pair.group(2)))
    keys = [k for k, _ in entities]
    if len(set(keys)) != len(keys):
        return None
    ranks = [_RANK[k] for k in keys if k in _RANK]
    return BidsName(
        entities=tuple(entities),
        suffix=match.group(1),
        extension=match.group(2),
        ordered=ranks == sorted(ranks),
    )


def is_subset(entities: Iterable[tuple[str, str]], of: Mapping[str, str]) -> bool:
    """Whether every ``(key, label)`` of ``entities`` is in ``of``."""
    return all(of.get(k) == v for k, v in entities)


def _levels(root: Path, folder: Path) -> list[Path]:
    """``root`` and each folder from it down to ``folder`` (which must lie inside ``root``)."""
    rel = folder.relative_to(root)
    levels = [root]
    for part in rel.parts:
        levels.append(levels[-1] / part)
    return levels


#: A folder listing: ``(parsed name, path)`` of the BIDS-named files in a folder.
Listing = list[tuple[BidsName, Path]]
#: Something that lists a folder, e.g. a cached :func:`list_bids_files`.
Lister = Callable[[Path], Listing]


def list_bids_files(folder: Path) -> Listing:
    """The BIDS-named regular files of one folder (not recursive), sorted by name.

    A missing or unreadable folder gives an empty list.
    """
    out = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                parsed = parse_bids_name(entry.name)
                if parsed is not None and entry.is_file():
                    out.append((parsed, Path(entry.path)))
    except OSError:
        return []
    return sorted(out, key=lambda item: item[1].name)


def applicable_files(
    root: Path,
    folder: Path,
    entities: Mapping[str, str],
    *,
    suffix: str,
    extension: str,
    lister: Lister = list_bids_files,
) -> list[Path]:
    """Metadata files that apply to a data file, from the root down (inheritance principle).

    Parameters
    ----------
    root : Path
        Dataset root (the search never leaves it).
    folder : Path
        The data file's folder, inside ``root`` (it need not exist: a derivative run's raw
        folder may be absent).
    entities : mapping
        The data file's entities.
    suffix, extension : str
        Of the metadata files sought, e.g. ``"bold"``, ``".json"``.
    lister : callable
        Lists a folder (e.g. a cached :func:`list_bids_files`).

    Returns
    -------
    list of Path
        At most one file per level, shallowest first.

    Raises
    ------
    InputError
        Two applicable files at one level with the same number of entities.
    """
    found = []
    for level in _levels(root, folder):
        candidates = [
            (len(parsed.entities), path)
            for parsed, path in lister(level)
            if parsed.suffix == suffix
            and parsed.extension == extension
            and is_subset(parsed.entities, entities)
        ]
        if not candidates:
            continue
        candidates.sort(key=lambda c: (-c[0], c[1].name))
        if len(candidates) > 1 and candidates[0][0] == candidates[1][0]:
            names = ", ".join(c[1].name[:80] for c in candidates[:3])
            raise InputError(
                f"{_where(level, root)}: several *_{suffix}{extension} files apply to the same "
                f"run at this level ({names}); BIDS allows one per level"
            )
        found.append(candidates[0][1])
    return found


def _where(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root)
    except ValueError:
        return str(path)[-120:]
    return str(rel) if str(rel) != "." else "dataset root"


def read_json_object(path: Path, *, max_bytes: int = 1 << 22) -> dict[str, Any]:
    """Read a JSON sidecar that must hold an object (at most ``max_bytes``)."""
    where = str(path)[-160:]
    try:
        if path.stat().st_size > max_bytes:
            raise InputError(f"{where}: JSON sidecar larger than {max_bytes} bytes")
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read JSON sidecar {where}: {str(exc)[:160]}") from None
    if not isinstance(value, dict):
        raise InputError(f"{where}: a JSON sidecar must hold an object, got {type(value).__name__}")
    return value


def merged_metadata(files: Iterable[Path]) -> tuple[dict[str, Any], dict[str, Path]]:
    """Merge JSON sidecars shallowest first (deeper keys override).

    Returns
    -------
    metadata : dict
    sources : dict of str to Path
        The file each key's value came from.
    """
    metadata: dict[str, Any] = {}
    sources: dict[str, Path] = {}
    for path in files:
        for key, value in read_json_object(path).items():
            metadata[key] = value
            sources[key] = path
    return metadata, sources


# ---------------------------------------------------------------------------------------------
# messages and ordering


def listed(items: Iterable[object], limit: int = 10, width: int = 40) -> str:
    """``a, b, c`` with each item cut to ``width`` and at most ``limit`` items shown."""
    items = [str(i) for i in items]
    shown = ", ".join(i if len(i) <= width else i[: width - 3] + "..." for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def relative(path: Path, root: Path, width: int = 160) -> str:
    """``path`` relative to ``root`` when inside it, cut to its last ``width`` characters."""
    try:
        text = str(path.relative_to(root))
    except ValueError:
        text = str(path)
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def natural_key(label: str | None) -> tuple:
    """Sort key putting ``2`` before ``10`` and None first."""
    if label is None:
        return ()
    return tuple(
        (0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.findall(r"\d+|\D+", label)
    )
