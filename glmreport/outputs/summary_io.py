"""The one writer and the one reader of ``summary.json``.

:func:`write_summary` writes a :class:`~glmreport.outputs.summary_types.Summary` (checked
against the contract first, then written atomically); :func:`read_summary` reads one back,
trusting nothing in the file: its size is bounded, its structure and every type are checked
(a missing, renamed or mistyped key is an :class:`InputError` naming the key path and the file)
and every path it names must resolve inside the folder
(:func:`glmreport.outputs.safety.resolve_inside`), so that a report never embeds a file from
elsewhere.

Versions: the file's ``schema_version`` is :data:`SCHEMA_VERSION`. A file without one was
written by glmreport 0.1 (version 1) and is upgraded on reading by :func:`upgrade_v1` (model
parts moved under ``model.first`` / ``second`` / ``maps``, map keys renamed to their BIDS
``stat-`` labels, missing map keys and report files set to null). A later version is refused.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import InputError
from .codec import Source, decode, encode
from .layout import SUMMARY, stat_label
from .summary_types import SCHEMA_VERSION, Summary
from .write import write_json

SUMMARY_MAX_BYTES = 256 * 1024 * 1024
_LEVEL_PARTS = ("first", "second", "maps")
_FIRST_KEYS = (
    "n_scans",
    "t_r",
    "slice_time_ref",
    "hrf",
    "drift",
    "ar1",
    "signal_scaling",
    "fixed_effects",
    "design_notes",
    "runs",
)
_SECOND_KEYS = ("rank", "nonsphericity")


def summary_from_json(
    data: Any, *, file: str, folder: Path | None = None, internal: bool = False
) -> Summary:
    """Check decoded JSON against the contract and build the :class:`Summary`.

    Parameters
    ----------
    data : object
        ``json.loads`` of a summary.
    file : str
        The file named in messages.
    folder : Path, optional
        The results folder: every path must resolve inside it (None: form only).
    internal : bool
        ``data`` was made by glmreport itself (the writer): a mismatch is a bug, raised as
        TypeError rather than as an input error.

    Raises
    ------
    InputError
        Naming ``file`` and the key path.
    TypeError
        With ``internal``, when the writer's data do not fit the contract.
    """
    if internal:
        try:
            return summary_from_json(data, file=file, folder=folder)
        except InputError as exc:
            raise TypeError(f"the summary does not fit the results contract: {exc}") from None
    src = Source(file=file, folder=folder)
    if not isinstance(data, Mapping):
        decode(Summary, data, "the top level", src)  # raises: not an object
    version = data.get("schema_version", 1)
    if version == 1 and type(version) is int:
        data = upgrade_v1(data)
    elif not (version == SCHEMA_VERSION and type(version) is int):
        shown = json.dumps(version)[:40] if not isinstance(version, Mapping | list) else "?"
        raise InputError(
            f"{file}: schema_version {shown} is not one this glmreport ({__version__}) reads "
            f"(1 or {SCHEMA_VERSION}); it was written by another version: render it with the "
            "glmreport that wrote it, or upgrade glmreport"
        )
    summary = decode(Summary, data, "the top level", src)
    _check_levels(summary, src)
    return summary


def _check_levels(summary: Summary, src: Source) -> None:
    """``model.first`` / ``second`` / ``maps``: exactly the part of ``model.level``."""
    model = summary.model
    for part in _LEVEL_PARTS:
        given = getattr(model, part) is not None
        if given != (part == model.level):
            state = "is missing" if not given else "is given"
            raise src.fail(f"model.{part}", f"{state} but model.level is {json.dumps(model.level)}")


def summary_to_json(summary: Summary) -> dict[str, Any]:
    """The summary as plain JSON, checked against the contract first (form, not files).

    Raises
    ------
    TypeError
        When the summary does not fit the contract (a bug in the writer, not a user error).
    """
    data = encode(summary)
    summary_from_json(data, file=SUMMARY, internal=True)
    return data


def write_summary(folder: str | Path, summary: Summary, *, checked: bool = False) -> Path:
    """Write ``summary.json`` into a results folder (atomically: a whole file or none).

    Parameters
    ----------
    folder : str or Path
    summary : Summary
    checked : bool
        ``summary`` was just built by :func:`summary_from_json` from the writer's own data,
        so its encoding is not checked against the contract a second time.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(folder) / SUMMARY
    write_json(path, encode(summary) if checked else summary_to_json(summary))
    return path


def read_summary(folder: str | Path) -> Summary:
    """Load and check ``summary.json`` of a results folder.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    Summary
        Its structure and types checked and every path in it inside ``folder``.

    Raises
    ------
    InputError
        When the folder or file is missing or too large, the file is not JSON, a key is
        missing or has the wrong type, the version is unknown, or a path leaves the folder.
    """
    folder = Path(folder)
    path = folder / SUMMARY
    if not folder.is_dir():
        raise InputError(f"results folder {folder} does not exist")
    if not path.is_file():
        raise InputError(
            f"{path} not found: expected the results folder of a 'glmreport run' "
            "(it holds summary.json, maps/ and tables/)"
        )
    return summary_from_json(_load_json(path), file=str(path), folder=folder)


def _load_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > SUMMARY_MAX_BYTES:
            raise InputError(
                f"{path} is {size} bytes; a summary larger than {SUMMARY_MAX_BYTES} bytes is "
                "not read"
            )
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{path} is not valid JSON: nested too deeply") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def upgrade_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A version-1 summary (glmreport 0.1, no ``schema_version``) in the version-2 layout.

    What changed: the level-specific model keys moved under ``model.first`` /
    ``model.second`` / ``model.maps``; correction map keys became BIDS ``stat-`` labels
    (``logp_fwe`` -> ``logpFWE``); a contrast's missing maps (existing statistical maps have
    no effect or variance) and report files are null; ``route`` defaults to ``desc``. The paths
    are kept as they are (the files keep their version-1 names). Anything else that does not
    fit fails as in a version-2 file.
    """
    out = copy.deepcopy(dict(data))
    out.pop("schema_version", None)
    out = {"schema_version": SCHEMA_VERSION, **out}
    model = out.get("model")
    if isinstance(model, dict):
        out["model"] = nest_model(model)
    for contrast in out.get("contrasts") or []:
        if isinstance(contrast, dict):
            _upgrade_contrast(contrast)
    report = out.get("report")
    if isinstance(report, dict):
        out["report"] = {fmt: report.get(fmt) for fmt in ("html", "pdf")}
    return out


def nest_model(model: dict[str, Any]) -> dict[str, Any]:
    """A model description with its level-specific keys moved under ``first`` / ``second`` /
    ``maps`` (the layout of version 1, and of the pipeline's flat description, made nested).

    Modifies and returns ``model``.
    """
    level = model.get("level")
    first = {k: model.pop(k) for k in _FIRST_KEYS if k in model}
    second = {k: model.pop(k) for k in _SECOND_KEYS if k in model}
    maps = model.pop("maps", None)
    model["first"] = first if level == "first" else None
    model["second"] = second if level == "second" else None
    model["maps"] = maps if level == "maps" else None
    return model


def _upgrade_contrast(contrast: dict[str, Any]) -> None:
    maps = contrast.get("maps")
    if isinstance(maps, dict):
        for key in ("effect", "variance"):
            maps.setdefault(key, None)
    contrast.setdefault("notes", [])
    for entry in contrast.get("corrections") or []:
        if not isinstance(entry, dict):
            continue
        entry.setdefault("route", entry.get("desc"))
        extra = entry.get("maps")
        if isinstance(extra, dict):
            entry["maps"] = {_label_of(k): v for k, v in extra.items()}


def _label_of(key: Any) -> Any:
    try:
        return stat_label(key) if isinstance(key, str) else key
    except ValueError:
        return key
