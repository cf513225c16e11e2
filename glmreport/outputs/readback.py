"""Read a results folder's ``summary.json`` back, trusting nothing in it.

The file may be truncated, edited by hand or crafted: its structure is checked (an object, a
list of contrasts, each with its maps and corrections) and every path it names must resolve
inside the folder (:func:`glmreport.outputs.safety.resolve_inside`), so that a report never embeds a
file from elsewhere. Any violation is an :class:`InputError` naming the file and the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from .safety import SUMMARY, resolve_inside

SUMMARY_MAX_BYTES = 256 * 1024 * 1024
_OBJECTS = ("model", "provenance", "inference")
_LISTS = ("inputs", "atlases")


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string"}.get(
        type(value), type(value).__name__
    )


def _expect(value: Any, kind: type, where: str, path: Path) -> None:
    if not isinstance(value, kind):
        expected = "an object" if kind is dict else "a list"
        raise InputError(f"{path}: {where} must be {expected}, got {_type(value)}")


def summary_paths(summary: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every (key, path) pair of files a summary names inside its folder."""
    for key in ("mask", "background", "design_matrix"):
        if summary.get(key) is not None:
            yield key, summary[key]
    model = summary.get("model") or {}
    for i, run in enumerate(model.get("runs") or []):
        if isinstance(run, Mapping) and run.get("design_matrix") is not None:
            yield f"model.runs[{i}].design_matrix", run["design_matrix"]
    for i, contrast in enumerate(summary.get("contrasts") or []):
        for name, rel in (contrast.get("maps") or {}).items():
            if rel is not None:
                yield f"contrasts[{i}].maps.{name}", rel
        for j, entry in enumerate(contrast.get("corrections") or []):
            where = f"contrasts[{i}].corrections[{j}]"
            for key in ("map", "clusters_table", "peaks_table", "arrays"):
                if entry.get(key) is not None:
                    yield f"{where}.{key}", entry[key]
            for name, rel in (entry.get("maps") or {}).items():
                if rel is not None:
                    yield f"{where}.maps.{name}", rel


def _check_structure(summary: Any, path: Path) -> None:
    _expect(summary, dict, "the top level", path)
    if "contrasts" not in summary:
        raise InputError(f"{path}: missing key 'contrasts' (the list of contrasts)")
    for key in _OBJECTS:
        if summary.get(key) is not None:
            _expect(summary[key], dict, key, path)
    for key in _LISTS:
        if summary.get(key) is not None:
            _expect(summary[key], list, key, path)
    runs = (summary.get("model") or {}).get("runs")
    if runs is not None:
        _expect(runs, list, "model.runs", path)
    _expect(summary["contrasts"], list, "contrasts", path)
    for i, contrast in enumerate(summary["contrasts"]):
        _expect(contrast, dict, f"contrasts[{i}]", path)
        if contrast.get("maps") is not None:
            _expect(contrast["maps"], dict, f"contrasts[{i}].maps", path)
        if contrast.get("corrections") is not None:
            _expect(contrast["corrections"], list, f"contrasts[{i}].corrections", path)
        for j, entry in enumerate(contrast.get("corrections") or []):
            where = f"contrasts[{i}].corrections[{j}]"
            _expect(entry, dict, where, path)
            if entry.get("maps") is not None:
                _expect(entry["maps"], dict, f"{where}.maps", path)


def read_summary(folder: str | Path) -> dict[str, Any]:
    """Load and check ``summary.json`` of a results folder.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    dict
        The summary, its structure checked and every path in it inside ``folder``.

    Raises
    ------
    InputError
        When the folder or file is missing, the file is not JSON, a key has the wrong type,
        ``contrasts`` is missing, or a path leaves the folder.
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
    try:
        size = path.stat().st_size
        if size > SUMMARY_MAX_BYTES:
            raise InputError(
                f"{path} is {size} bytes; a summary larger than {SUMMARY_MAX_BYTES} bytes is "
                "not read"
            )
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{path} is not valid JSON: nested too deeply") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    _check_structure(summary, path)
    for key, rel in summary_paths(summary):
        resolve_inside(folder, rel, what=key)
    return summary
