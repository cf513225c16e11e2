"""Atlas sources (registry, TemplateFlow, FSL, file), loading and resampling.

An :class:`~glmreport.config.specs.AtlasSpec` (built by the config) says where an atlas comes
from;
:func:`load_atlases` turns specs into :class:`LoadedAtlas` objects. An atlas that cannot be
fetched (TemplateFlow file absent from the local cache and no network, FSL not installed)
comes back with ``status="missing"`` and a message saying how to get it: the run goes on.
Malformed inputs (unknown name, missing file, labels that disagree with the image) raise
:class:`~glmreport.errors.AtlasError`.

Label codes
-----------
Every atlas is reduced to integer *codes* with names: ``0`` is "no label". For a
deterministic atlas the code is the voxel value. For a probabilistic atlas (one volume per
label) code ``j + 1`` is volume ``j``.

Resampling
----------
Atlases are looked up in world coordinates: grid voxel -> world (data affine) -> atlas voxel
(inverse atlas affine). Labels use the nearest atlas voxel (ties, exactly half-way, go to the
higher index), probabilities use trilinear interpolation
(:func:`scipy.ndimage.map_coordinates`, ``order=1``); outside the atlas field of view every
code is 0 and every probability 0.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import threading
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nibabel as nib
import numpy as np
from scipy import ndimage

from ..config.atlas_registry import (
    atlas_error,
    registry,
    registry_document,
    registry_entry,
    registry_keys,
)
from ..config.specs import AtlasKind, AtlasSpec
from ..config.vocabulary import ATLAS_SOURCES
from ..errors import AtlasError, suggest

__all__ = [
    "LoadedAtlas",
    "ResampledAtlas",
    "load_atlases",
    "list_atlases",
    "fetch_atlases",
    "read_label_file",
    "sample_atlas",
    "resample_atlas",
    "atlas_notes",
]


#: Space assumed for FSL's standard atlases ($FSLDIR/data/atlases): FSL's MNI152 template.
FSL_SPACE = "MNI152NLin6Asym"
#: Seconds a TemplateFlow download may take during a run before the atlas is declared missing.
DEFAULT_TIMEOUT_S = 30.0
#: Seconds a download may take with ``glmreport atlases fetch``.
FETCH_TIMEOUT_S = 300.0
#: Voxel size (mm) preferred when an FSL atlas XML lists several images.
FSL_PREFERRED_MM = 2.0

_NIFTI_EXTENSIONS = (".nii.gz", ".nii")
_BACKGROUND_NAMES = {"background", "unknown", "unlabeled", "unlabelled", "none", "???", "0"}


# --------------------------------------------------------------------------------------------
# Specs and loaded atlases
# --------------------------------------------------------------------------------------------


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
        Resampled atlases keyed by grid (filled by :func:`resample_atlas`).
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ResampledAtlas:
    """An atlas sampled at the in-mask voxels of one grid.

    Attributes
    ----------
    codes : (v,) ndarray of int
        Label code per in-mask voxel (probabilistic: code of the most probable label, 0 where
        every probability is 0 or outside the atlas).
    max_prob : (v,) ndarray of float32 or None
        Probabilistic atlases: probability (0-1) of that most probable label.
    """

    codes: np.ndarray
    max_prob: np.ndarray | None = None


# --------------------------------------------------------------------------------------------
# TemplateFlow access (imported lazily: TEMPLATEFLOW_HOME is read when templateflow is imported)
# --------------------------------------------------------------------------------------------

_CLIENTS: dict[Path, Any] = {}
_IN_FLIGHT: set[Path] = set()
_LOCK = threading.Lock()


class _TemplateFlowUnavailable(Exception):
    """TemplateFlow cannot serve the query (not cached, no network, import failure)."""


def _tf_client() -> tuple[Any, Path]:
    """TemplateFlow client for the current ``TEMPLATEFLOW_HOME`` and its root folder.

    ``templateflow.api`` is bound to the home set when it was first imported; if the variable
    changed since, a client for the new home is made (templateflow >= 25).
    """
    try:
        with warnings.catch_warnings():
            # A fresh home makes templateflow warn and unpack its bundled index (no network).
            warnings.simplefilter("ignore", ResourceWarning)
            from templateflow import api, conf
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        raise _TemplateFlowUnavailable(
            f"templateflow could not be imported ({type(exc).__name__}: {exc})"
        ) from exc
    api_root = Path(conf.TF_HOME).absolute()
    env_home = os.environ.get("TEMPLATEFLOW_HOME")
    if not env_home or Path(env_home).absolute() == api_root:
        return api, api_root
    root = Path(env_home).absolute()
    with _LOCK:
        client = _CLIENTS.get(root)
        if client is None:
            try:
                from templateflow import TemplateFlowClient
            except ImportError:  # older templateflow: only the import-time home is usable
                return api, api_root
            client = TemplateFlowClient(root=root)
            _CLIENTS[root] = client
    return client, root


def _as_paths(result: Any) -> list[Path]:
    if isinstance(result, (list, tuple)):
        return [Path(p) for p in result]
    return [Path(result)]


def _is_fetched(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _tf_call(query: dict[str, Any]) -> str:
    """The ``api.get`` call reproducing ``query`` (for messages)."""
    args = [repr(query["template"])]
    args += [f"{k}={v!r}" for k, v in query.items() if k != "template"]
    return f"api.get({', '.join(args)})"


def _tf_get(query: dict[str, Any], *, download: bool, timeout_s: float) -> list[Path]:
    """Resolve one TemplateFlow query to local files, downloading only when allowed.

    The local index is listed first (``ls``, no network). When every match is already in the
    cache, ``get`` returns it without network. Otherwise ``get`` runs in a daemon thread and
    is abandoned after ``timeout_s`` seconds, so a hanging connection cannot stall the run.

    Raises
    ------
    _TemplateFlowUnavailable
        With the reason.
    """
    client, root = _tf_client()
    template = query["template"]
    kwargs = {k: v for k, v in query.items() if k != "template"}
    try:
        listed = [Path(p) for p in client.ls(template, **kwargs)]
    except Exception as exc:  # noqa: BLE001 - a broken index must not stop the run
        raise _TemplateFlowUnavailable(
            f"the TemplateFlow index at {root} could not be read ({type(exc).__name__}: {exc})"
        ) from exc
    if not listed:
        raise _TemplateFlowUnavailable(f"no such file in the TemplateFlow index at {root}")
    if all(_is_fetched(p) for p in listed):
        try:
            return _as_paths(client.get(template, **kwargs))
        except Exception:  # noqa: BLE001 - files are there: use them as listed
            return listed
    if not download:
        raise _TemplateFlowUnavailable(
            f"not downloaded into the TemplateFlow cache at {root} (downloads are off)"
        )
    with _LOCK:
        busy = [p for p in listed if p in _IN_FLIGHT]
        if busy:
            raise _TemplateFlowUnavailable(
                f"an earlier download of {busy[0].name} is still running or hung"
            )
        _IN_FLIGHT.update(listed)

    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["paths"] = _as_paths(client.get(template, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            outcome["error"] = exc
        finally:
            with _LOCK:
                _IN_FLIGHT.difference_update(listed)

    worker = threading.Thread(target=work, name="glmreport-templateflow-get", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise _TemplateFlowUnavailable(
            f"the download did not finish within {timeout_s:g} s (no network?); cache at {root}"
        )
    if "error" in outcome:
        exc = outcome["error"]
        text = " ".join(str(exc).split())
        if len(text) > 300:
            text = text[:297] + "..."
        raise _TemplateFlowUnavailable(
            f"it is not in the TemplateFlow cache at {root} and could not be downloaded "
            f"({type(exc).__name__}: {text})"
        )
    paths = outcome.get("paths", [])
    if not paths or not all(_is_fetched(p) for p in paths):
        raise _TemplateFlowUnavailable(f"the download left no usable file in {root}")
    return paths


def _tf_image_query(tf: dict[str, Any], suffix: str) -> dict[str, Any]:
    return {
        "template": tf["template"],
        "resolution": int(tf.get("resolution") or 2),
        "atlas": tf["atlas"],
        "desc": tf.get("desc"),
        "suffix": suffix,
        "extension": list(_NIFTI_EXTENSIONS),
    }


def _tf_label_queries(tf: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    """Candidate queries for the label TSV, most specific first (TSVs often lack ``desc``)."""
    out: list[dict[str, Any]] = []
    for suf in dict.fromkeys((suffix, "dseg")):
        for desc in dict.fromkeys((tf.get("desc"), None)):
            query = {
                "template": tf["template"],
                "atlas": tf["atlas"],
                "desc": desc,
                "suffix": suf,
                "extension": ".tsv",
            }
            if query not in out:
                out.append(query)
    return out


def _fetch_hint(tf: dict[str, Any], suffix: str, registry_key: str | None) -> str:
    query = {k: v for k, v in _tf_image_query(tf, suffix).items() if k != "extension"}
    python = f'python -c "from templateflow import api; {_tf_call(query)}"'
    ways = []
    if registry_key:
        ways.append(f"`glmreport atlases fetch {registry_key}`")
    ways.append(f"`{python}`")
    return (
        f"With network access run {' or '.join(ways)}, or set TEMPLATEFLOW_HOME to a "
        "TemplateFlow folder that already holds it."
    )


def _tf_suffixes(tf: dict[str, Any], kind: AtlasKind) -> list[str]:
    if tf.get("suffix"):
        return [str(tf["suffix"])]
    if kind == "probabilistic":
        return ["probseg"]
    if kind == "deterministic":
        return ["dseg"]
    return ["dseg", "probseg"]


def _resolve_templateflow(
    spec: AtlasSpec,
    tf: dict[str, Any],
    *,
    registry_key: str | None,
    download: bool,
    timeout_s: float,
) -> tuple[Path, Path | None, str] | str:
    """Local image and label paths, or the "missing" message."""
    describe = (
        f"TemplateFlow {tf['template']} atlas-{tf['atlas']}"
        + (f" desc-{tf['desc']}" if tf.get("desc") else "")
        + f" res-{int(tf.get('resolution') or 2):02d}"
    )
    reasons: list[str] = []
    image: Path | None = None
    suffixes = _tf_suffixes(tf, spec.kind)
    for suffix in suffixes:
        try:
            paths = _tf_get(_tf_image_query(tf, suffix), download=download, timeout_s=timeout_s)
        except _TemplateFlowUnavailable as exc:
            reasons.append(str(exc))
            continue
        if len(paths) > 1:
            raise atlas_error(
                spec,
                f"the TemplateFlow query for {describe} matches {len(paths)} files "
                f"({', '.join(p.name for p in paths[:4])}); give desc and resolution exactly.",
            )
        image = paths[0]
        break
    if image is None:
        return (
            f"Atlas '{spec.name}' ({describe} {suffixes[0]}) could not be fetched: "
            f"{reasons[0]}. " + _fetch_hint(tf, suffixes[0], registry_key)
        )
    if spec.labels is not None:
        return image, None, describe
    reasons = []
    for query in _tf_label_queries(tf, suffix):
        try:
            tsv = _tf_get(query, download=download, timeout_s=timeout_s)
        except _TemplateFlowUnavailable as exc:
            reasons.append(str(exc))
            continue
        return image, tsv[0], describe
    return (
        f"Atlas '{spec.name}' ({describe}): its label table (TSV) could not be fetched: "
        f"{reasons[0]}. Give 'labels:' for this entry, or: " + _fetch_hint(tf, suffix, registry_key)
    )


# --------------------------------------------------------------------------------------------
# Label files
# --------------------------------------------------------------------------------------------


def _is_int(token: str) -> bool:
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
        if not _is_int(index):
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
        if not _is_int(token):
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
        if len(tokens) < 2 or not _is_int(tokens[0]):
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
class _FslXml:
    path: Path
    title: str
    type: str  # 'probabilistic', 'label' or 'statistic'
    images: tuple[tuple[Path, Path | None], ...]  # (imagefile, summaryimagefile)
    labels: dict[int, str]  # XML index -> name


def _parse_fsl_xml(path: Path) -> _FslXml:
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
                    _fsl_image_path(path.parent, image),
                    _fsl_image_path(path.parent, summary) if summary else None,
                )
            )
    if kind == "probabalistic":  # spelling found in some FSL XML files
        kind = "probabilistic"
    labels: dict[int, str] = {}
    for elem in data.findall("label"):
        index = elem.get("index")
        if index is None or not _is_int(index.strip()):
            raise AtlasError(f"FSL atlas XML {path}: <label> without an integer index.")
        labels[int(index)] = (elem.text or "").strip()
    if not labels:
        raise AtlasError(f"FSL atlas XML {path} lists no <label> entries.")
    return _FslXml(path=path, title=title, type=kind, images=tuple(images), labels=labels)


def _fsl_image_path(folder: Path, rel: str) -> Path:
    """FSL XML image paths are relative to the XML folder, start with '/', lack extensions."""
    base = folder / rel.lstrip("/")
    if base.is_file():
        return base
    for ext in _NIFTI_EXTENSIONS:
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
        return _parse_fsl_xml(path).labels
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


def _is_background(name: str) -> bool:
    return name.strip().lower() in _BACKGROUND_NAMES


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


def _load_image(path: Path, spec: AtlasSpec) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise atlas_error(spec, f"atlas image {path} does not exist.")
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types for bad files
        raise atlas_error(spec, f"atlas image {path} cannot be read as NIfTI ({exc}).") from exc
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim not in (3, 4):
        raise atlas_error(
            spec,
            f"atlas image {path} has shape {data.shape}; expected 3D labels or 4D "
            "probabilities (one volume per label).",
        )
    affine = np.asarray(img.affine, dtype=float)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise atlas_error(spec, f"atlas image {path} has an invalid (singular) affine.")
    return data, affine


def _as_codes(data: np.ndarray, path: Path, spec: AtlasSpec) -> np.ndarray:
    if np.issubdtype(data.dtype, np.integer):
        codes = data.astype(np.int64, copy=False)
    else:
        if not np.all(np.isfinite(data)) or not np.array_equal(data, np.rint(data)):
            raise atlas_error(
                spec,
                f"atlas image {path} is 3D but holds non-integer values; a deterministic "
                "atlas needs integer labels (give a 4D image for probabilities).",
            )
        codes = np.rint(data).astype(np.int64)
    if codes.min(initial=0) < 0:
        raise atlas_error(spec, f"atlas image {path} holds negative label values.")
    return codes


def _prob_scale(data: np.ndarray, path: Path, spec: AtlasSpec) -> float:
    vmin = float(data.min())
    vmax = float(data.max())
    if not (np.isfinite(vmin) and np.isfinite(vmax)) or vmin < -1e-6:
        raise atlas_error(spec, f"probabilistic atlas {path} holds negative or non-finite values.")
    if vmax <= 1.0 + 1e-6:
        return 1.0
    if vmax <= 100.0 + 1e-3:
        return 0.01
    raise atlas_error(
        spec,
        f"probabilistic atlas {path} has values up to {vmax:g}; expected probabilities in "
        "0-1 or percentages in 0-100.",
    )


def _few(values: Sequence[int], n: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:n])
    return shown + (f" (and {len(values) - n} more)" if len(values) > n else "")


def _deterministic_names(
    codes: np.ndarray, names: dict[int, str], image: Path, labels: Path, spec: AtlasSpec
) -> dict[int, str]:
    present = np.unique(codes)
    present = present[present > 0]
    unnamed = [int(v) for v in present if int(v) not in names]
    if unnamed:
        raise atlas_error(
            spec,
            f"atlas {image} and labels {labels} disagree: {len(unnamed)} value(s) in the image "
            f"have no name: {_few(unnamed)}. The label file must list every value (index) "
            "used in the image.",
        )
    return {k: v for k, v in names.items() if k > 0}


def _probabilistic_names(
    n_volumes: int, names: dict[int, str], image: Path, labels: Path, spec: AtlasSpec
) -> dict[int, str]:
    """Map volume j to the j-th label (sorted by index; a leading background row dropped)."""
    ordered = sorted(names.items())
    if len(ordered) == n_volumes + 1 and (ordered[0][0] == 0 or _is_background(ordered[0][1])):
        ordered = ordered[1:]
    if len(ordered) != n_volumes:
        raise atlas_error(
            spec,
            f"atlas {image} and labels {labels} disagree: the image has {n_volumes} volumes "
            f"(one per label) but the label file names {len(ordered)} labels.",
        )
    return {j + 1: name for j, (_, name) in enumerate(ordered)}


# --------------------------------------------------------------------------------------------
# Space
# --------------------------------------------------------------------------------------------


def _space_note(name: str, atlas_space: str | None, data_space: str | None) -> str:
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


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _fsl_atlases_dir() -> Path | None:
    fsldir = os.environ.get("FSLDIR")
    if not fsldir:
        return None
    folder = Path(fsldir) / "data" / "atlases"
    return folder if folder.is_dir() else None


def _pick_fsl_images(xml: _FslXml, spec: AtlasSpec) -> tuple[Path, Path | None]:
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


def _load_fsl(spec: AtlasSpec, data_space: str | None) -> LoadedAtlas:
    folder = _fsl_atlases_dir()
    name = spec.fsl or ""
    if folder is None:
        fsldir = os.environ.get("FSLDIR")
        why = "FSLDIR is not set" if not fsldir else f"FSLDIR={fsldir} has no data/atlases folder"
        return _missing(
            spec,
            f"Atlas '{spec.name}' (FSL atlas {name}) is unavailable: {why}. Install FSL and "
            "set FSLDIR to its folder, or use the TemplateFlow copy (e.g. "
            "harvard-oxford-cortical).",
            space=FSL_SPACE,
            data_space=data_space,
        )
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
        xml = _parse_fsl_xml(folder / f"{match[0]}.xml")
    except AtlasError as exc:
        raise atlas_error(spec, str(exc)) from None
    if xml.type not in ("probabilistic", "label"):
        raise atlas_error(
            spec,
            f"FSL atlas {xml.path.name} has type '{xml.type}'; only probabilistic and label "
            "atlases can name regions.",
        )
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
        data, affine = _load_image(image, spec)
        if data.ndim != 4:
            raise atlas_error(spec, f"FSL probabilistic atlas image {image} is not 4D.")
        names = _probabilistic_names(data.shape[3], xml.labels, image, xml.path, spec)
        scale = _prob_scale(data, image, spec)
        codes_data = data
    else:
        # Probabilistic XML: summary (max-prob) image holds index + 1. Label XML: index.
        path = summary if probabilistic_xml else image
        if path is None:
            raise atlas_error(spec, f"FSL atlas XML {xml.path} has no <summaryimagefile>.")
        data, affine = _load_image(path, spec)
        if data.ndim != 3:
            raise atlas_error(spec, f"FSL label image {path} is not 3D.")
        offset = 1 if probabilistic_xml else 0
        named = {index + offset: label for index, label in xml.labels.items()}
        codes_data = _as_codes(data, path, spec)
        names = _deterministic_names(codes_data, named, path, xml.path, spec)
        scale = 1.0
        image = path
    return LoadedAtlas(
        name=spec.name,
        spec=spec,
        status="ok",
        kind=kind,
        data=codes_data,
        affine=affine,
        names=names,
        prob_scale=scale,
        title=f"{xml.title} (FSL, {xml.path})",
        image_path=image,
        labels_path=xml.path,
        space=FSL_SPACE,
        space_note=_space_note(spec.name, FSL_SPACE, data_space),
        citation=f"{xml.title}, distributed with FSL; cite the references in the FSL atlas "
        "documentation (https://fsl.fmrib.ox.ac.uk/fsl/fslwiki/Atlases).",
        licence="FSL licence (see $FSLDIR/LICENCE)",
    )


def _missing(
    spec: AtlasSpec,
    message: str,
    *,
    space: str | None,
    data_space: str | None,
    title: str = "",
    citation: str = "",
    doi: str = "",
    licence: str = "",
) -> LoadedAtlas:
    return LoadedAtlas(
        name=spec.name,
        spec=spec,
        status="missing",
        message=message,
        title=title,
        space=space,
        space_note=_space_note(spec.name, space, data_space) if space else "",
        citation=citation,
        doi=doi,
        licence=licence,
    )


def _build(
    spec: AtlasSpec,
    *,
    image: Path,
    labels: Path | None,
    kind: AtlasKind,
    space: str | None,
    data_space: str | None,
    title: str,
    citation: str = "",
    doi: str = "",
    licence: str = "",
) -> LoadedAtlas:
    data, affine = _load_image(image, spec)
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
    raw_names: dict[int, str] | None = None
    xml_type = ""
    if labels is not None:
        try:
            if labels.name.lower().endswith(".xml"):
                xml = _parse_fsl_xml(labels)
                raw_names, xml_type = xml.labels, xml.type
            else:
                raw_names = read_label_file(labels)
        except AtlasError as exc:
            raise atlas_error(spec, str(exc)) from None
    if kind == "probabilistic":
        n_volumes = data.shape[3]
        if raw_names is None:
            names = {j + 1: f"label {j + 1}" for j in range(n_volumes)}
        else:
            names = _probabilistic_names(n_volumes, raw_names, image, labels, spec)
        scale = _prob_scale(data, image, spec)
        stored = data
    else:
        stored = _as_codes(data, image, spec)
        if raw_names is None:
            present = np.unique(stored)
            names = {int(v): f"label {int(v)}" for v in present if v > 0}
        else:
            if xml_type == "probabilistic":  # FSL max-prob summary image: index + 1
                raw_names = {k + 1: v for k, v in raw_names.items()}
            names = _deterministic_names(stored, raw_names, image, labels, spec)
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
        title=title,
        image_path=image,
        labels_path=labels,
        space=space,
        space_note=_space_note(spec.name, space, data_space),
        citation=citation,
        doi=doi,
        licence=licence,
    )


def _load_one(
    spec: AtlasSpec, *, data_space: str | None, download: bool, timeout_s: float
) -> LoadedAtlas:
    if spec.source == "file":
        if spec.file is None:
            raise atlas_error(spec, "a file atlas needs 'file: <image.nii.gz>'.")
        image = Path(spec.file).expanduser()
        if not image.is_file():
            raise atlas_error(spec, f"atlas image {image} does not exist.")
        labels = Path(spec.labels).expanduser() if spec.labels is not None else None
        if labels is not None and not labels.is_file():
            raise atlas_error(spec, f"label file {labels} does not exist.")
        return _build(
            spec,
            image=image,
            labels=labels,
            kind=spec.kind,
            space=spec.space,
            data_space=data_space,
            title=f"{spec.name} (file {image.name})",
            citation="",
        )
    if spec.source == "fsl":
        return _load_fsl(spec, data_space)
    if spec.source == "registry":
        key = spec.registry_key or spec.name
        entry = registry_entry(key, spec)
        tf = dict(entry["templateflow"])
        kind: AtlasKind = spec.kind if spec.kind != "auto" else entry.get("kind", "auto")
        space = entry.get("space") or tf["template"]
        title = f"{entry.get('title', key)} (TemplateFlow {tf['template']})"
        citation = entry.get("citation", {}).get("text", "")
        doi = entry.get("citation", {}).get("doi", "")
        licence = entry.get("licence", "")
        registry_key: str | None = key
    elif spec.source == "templateflow":
        tf = dict(spec.templateflow or {})
        missing_keys = [k for k in ("template", "atlas") if not tf.get(k)]
        if missing_keys:
            raise atlas_error(
                spec,
                f"templateflow atlas lacks {', '.join(missing_keys)}; expected "
                "{template, atlas, desc, resolution}.",
            )
        kind = spec.kind
        space = str(tf["template"])
        title = f"TemplateFlow {tf['template']} atlas-{tf['atlas']}" + (
            f" desc-{tf['desc']}" if tf.get("desc") else ""
        )
        tf_cite = registry_document().get("templateflow_citation", {})
        citation = (
            f"Atlas '{tf['atlas']}' from TemplateFlow; cite its original publication and "
            f"TemplateFlow: {tf_cite.get('text', '')}"
        )
        doi = tf_cite.get("doi", "")
        licence = "see the template's LICENSE in TEMPLATEFLOW_HOME"
        registry_key = None
    else:
        raise atlas_error(
            spec,
            f"unknown atlas source '{spec.source}'.{suggest(spec.source, _SOURCES)} "
            f"Expected one of {', '.join(_SOURCES)}.",
        )
    resolved = _resolve_templateflow(
        spec, tf, registry_key=registry_key, download=download, timeout_s=timeout_s
    )
    if isinstance(resolved, str):
        return _missing(
            spec,
            resolved,
            space=space,
            data_space=data_space,
            title=title,
            citation=citation,
            doi=doi,
            licence=licence,
        )
    image, tf_labels, _ = resolved
    labels = Path(spec.labels).expanduser() if spec.labels is not None else tf_labels
    if labels is not None and not labels.is_file():
        raise atlas_error(spec, f"label file {labels} does not exist.")
    try:
        return _build(
            spec,
            image=image,
            labels=labels,
            kind=kind,
            space=space,
            data_space=data_space,
            title=title,
            citation=citation,
            doi=doi,
            licence=licence,
        )
    except AtlasError as exc:
        if "cannot be read as NIfTI" in str(exc) and str(image) in str(exc):
            # A cached file cut short by an interrupted download.
            return _missing(
                spec,
                f"Atlas '{spec.name}': the cached file {image} is damaged ({exc}). Delete it "
                "and fetch it again. " + _fetch_hint(tf, _tf_suffixes(tf, kind)[0], registry_key),
                space=space,
                data_space=data_space,
                title=title,
                citation=citation,
                doi=doi,
                licence=licence,
            )
        raise


#: A registry name, or one of the sources an atlas mapping may give.
_SOURCES = ("registry", *ATLAS_SOURCES)


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


# --------------------------------------------------------------------------------------------
# CLI support
# --------------------------------------------------------------------------------------------


def _registry_paths(key: str, *, download: bool, timeout_s: float) -> tuple[list[Path], str]:
    """Image and label paths of a registry atlas, and a message."""
    entry = registry()[key]
    tf = entry["templateflow"]
    suffix = tf.get("suffix") or "dseg"
    try:
        image = _tf_get(_tf_image_query(tf, suffix), download=download, timeout_s=timeout_s)
    except _TemplateFlowUnavailable as exc:
        return [], f"image: {exc}"
    reasons = []
    for query in _tf_label_queries(tf, suffix):
        try:
            tsv = _tf_get(query, download=download, timeout_s=timeout_s)
        except _TemplateFlowUnavailable as exc:
            reasons.append(str(exc))
            continue
        return [image[0], tsv[0]], f"available at {image[0]}"
    return [], f"label table: {reasons[-1]}"


def list_atlases() -> list[dict[str, Any]]:
    """Registry atlases and whether each is in the local TemplateFlow cache (no network).

    Returns
    -------
    list of dict
        ``name``, ``title``, ``kind``, ``space``, ``template``, ``atlas``, ``desc``,
        ``resolution``, ``citation``, ``doi``, ``licence``, ``available`` (bool), ``path``
        (image path or None) and ``message``.
    """
    rows = []
    for key, entry in registry().items():
        tf = entry["templateflow"]
        try:
            paths, message = _registry_paths(key, download=False, timeout_s=0.0)
        except _TemplateFlowUnavailable as exc:
            paths, message = [], str(exc)
        rows.append(
            {
                "name": key,
                "title": entry.get("title", ""),
                "kind": entry.get("kind", "auto"),
                "space": entry.get("space", tf["template"]),
                "template": tf["template"],
                "atlas": tf["atlas"],
                "desc": tf.get("desc"),
                "resolution": tf.get("resolution"),
                "citation": entry.get("citation", {}).get("text", ""),
                "doi": entry.get("citation", {}).get("doi", ""),
                "licence": entry.get("licence", ""),
                "available": bool(paths),
                "path": str(paths[0]) if paths else None,
                "message": message
                if paths
                else f"not in the local cache ({message}); run `glmreport atlases fetch {key}`",
            }
        )
    return rows


def fetch_atlases(
    names: Iterable[str], *, timeout_s: float = FETCH_TIMEOUT_S
) -> list[tuple[str, bool, str]]:
    """Download registry atlases into the TemplateFlow cache.

    Parameters
    ----------
    names : iterable of str
        Registry keys; unknown keys are reported (with a suggestion), not raised.
    timeout_s : float
        Seconds allowed per file.

    Returns
    -------
    list of (name, ok, message)
    """
    out = []
    keys = registry_keys()
    for name in names:
        if name not in keys:
            out.append(
                (
                    name,
                    False,
                    f"unknown atlas '{name}'.{suggest(name, keys)} Known: {', '.join(keys)}.",
                )
            )
            continue
        try:
            paths, message = _registry_paths(name, download=True, timeout_s=timeout_s)
        except _TemplateFlowUnavailable as exc:
            paths, message = [], str(exc)
        out.append((name, bool(paths), message))
    return out


# --------------------------------------------------------------------------------------------
# Sampling and resampling
# --------------------------------------------------------------------------------------------


def _world_to_atlas_voxels(atlas: LoadedAtlas, xyz: np.ndarray) -> np.ndarray:
    inverse = np.linalg.inv(atlas.affine)
    return xyz @ inverse[:3, :3].T + inverse[:3, 3]


def _nearest(data: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """Value of the nearest voxel (half-way goes up); 0 outside the image."""
    idx = np.floor(ijk + 0.5 + 1e-6).astype(np.int64)
    shape = np.asarray(data.shape[:3])
    inside = np.all((idx >= 0) & (idx < shape), axis=1)
    out = np.zeros(len(ijk), dtype=np.int64)
    sel = idx[inside]
    out[inside] = data[sel[:, 0], sel[:, 1], sel[:, 2]]
    return out


def _linear(volume: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    return ndimage.map_coordinates(
        volume, ijk.T, order=1, mode="grid-constant", cval=0.0, prefilter=False, output=np.float64
    )


def _require_ok(atlas: LoadedAtlas) -> None:
    if not atlas.ok or atlas.data is None or atlas.affine is None:
        raise ValueError(f"atlas '{atlas.name}' is {atlas.status}: {atlas.message}")


def sample_atlas(atlas: LoadedAtlas, xyz: np.ndarray) -> np.ndarray:
    """Look up an atlas at world coordinates.

    Parameters
    ----------
    atlas : LoadedAtlas
        Must be ``ok``.
    xyz : (n, 3) ndarray
        World coordinates in mm.

    Returns
    -------
    (n,) ndarray of int or (n, n_labels) ndarray of float
        Deterministic: code of the nearest atlas voxel (0 outside the atlas). Probabilistic:
        trilinearly interpolated probability (0-1) of each label (column ``j`` = code
        ``j + 1``).
    """
    _require_ok(atlas)
    xyz = np.atleast_2d(np.asarray(xyz, dtype=float))
    ijk = _world_to_atlas_voxels(atlas, xyz)
    if atlas.kind == "deterministic":
        return _nearest(atlas.data, ijk)
    n_labels = atlas.data.shape[3]
    out = np.empty((len(xyz), n_labels))
    for j in range(n_labels):
        out[:, j] = _linear(atlas.data[..., j], ijk)
    return out * atlas.prob_scale


def _grid_key(mask: np.ndarray, affine: np.ndarray) -> tuple[Any, ...]:
    digest = hashlib.sha1(np.packbits(mask.astype(bool), axis=None).tobytes()).hexdigest()
    return (mask.shape, np.round(np.asarray(affine, dtype=float), 9).tobytes(), digest)


def resample_atlas(atlas: LoadedAtlas, *, mask: np.ndarray, affine: np.ndarray) -> ResampledAtlas:
    """Sample an atlas at the in-mask voxel centres of a grid (cached per grid).

    Parameters
    ----------
    atlas : LoadedAtlas
        Must be ``ok``.
    mask : (X, Y, Z) ndarray of bool
    affine : (4, 4) ndarray
        Voxel -> world of the grid.

    Returns
    -------
    ResampledAtlas
        ``codes`` (v,) in the order of ``volume[mask]``; for probabilistic atlases the code
        of the most probable label and ``max_prob`` its probability (0-1).
    """
    _require_ok(atlas)
    mask = np.asarray(mask, dtype=bool)
    key = _grid_key(mask, affine)
    hit = atlas.cache.get(key)
    if hit is not None:
        return hit
    ijk_grid = np.argwhere(mask).astype(float)  # C order == volume[mask]
    to_atlas = np.linalg.inv(atlas.affine) @ np.asarray(affine, dtype=float)
    ijk = ijk_grid @ to_atlas[:3, :3].T + to_atlas[:3, 3]
    if atlas.kind == "deterministic":
        result = ResampledAtlas(codes=_nearest(atlas.data, ijk))
    else:
        best = np.zeros(len(ijk))
        codes = np.zeros(len(ijk), dtype=np.int64)
        for j in range(atlas.data.shape[3]):
            prob = _linear(atlas.data[..., j], ijk)
            better = prob > best
            best[better] = prob[better]
            codes[better] = j + 1
        result = ResampledAtlas(codes=codes, max_prob=(best * atlas.prob_scale).astype(np.float32))
    atlas.cache[key] = result
    return result
