"""Make summary.json and the report shareable: no local absolute path, bounded user text.

Paths are shown relative to the config's folder (POSIX style); a file elsewhere (a TemplateFlow
atlas, an input in another tree) by its name only, so that no user name, home folder or
temporary folder travels with a report. The title and the embedded config are capped; a longer
text is cut and ends with its size and SHA-256, so it can still be matched to its source.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TITLE_MAX_CHARS = 300
CONFIG_TEXT_MAX_BYTES = 64 * 1024

# An absolute POSIX path of two components or more, not inside a word or a URL.
_ABSOLUTE = re.compile(r"(?<![\w.:/~@-])/(?:[^\s/'\"<>|:;,()\[\]{}]+/)+[^\s/'\"<>|:;,()\[\]{}]*")


def share_path(path: str | Path, base: Path) -> tuple[str, bool]:
    """A path as a shareable text.

    Parameters
    ----------
    path : str or Path
    base : Path
        The config's folder.

    Returns
    -------
    text : str
        Relative to ``base`` (POSIX style) when the file is inside it, else its name.
    inside : bool
    """
    given = Path(path)
    if not given.is_absolute():
        return given.as_posix(), True
    absolute, root = Path(os.path.abspath(given)), Path(os.path.abspath(base))
    inside = _inside(absolute, root)
    if inside is None:  # symbolic links resolved only when the plain paths do not tell
        inside = _inside(_resolved(absolute), _resolved(root))
    return (given.name, False) if inside is None else (inside, True)


def _inside(path: Path, folder: Path) -> str | None:
    """``path`` relative to ``folder`` (POSIX style; ``.`` for the folder), else None."""
    if path == folder:
        return "."
    if path.is_relative_to(folder):
        return path.relative_to(folder).as_posix()
    return None


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def scrub_text(text: str, base: Path) -> str:
    """Replace every absolute path inside a text by its shareable form."""
    return _ABSOLUTE.sub(lambda m: share_path(m.group(0), base)[0], text)


def scrub(value: Any, base: Path) -> Any:
    """Apply :func:`scrub_text` to every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return scrub_text(value, base) if "/" in value else value
    if isinstance(value, Mapping):
        return {scrub(k, base): scrub(v, base) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, base) for v in value]
    if isinstance(value, Path):
        return share_path(value, base)[0]
    return value


def share_inputs(rows: Sequence[Mapping[str, Any]], base: Path) -> list[dict[str, Any]]:
    """Input records with ``path`` relative to the config's folder.

    A file outside that folder is named by its file name and marked
    ``"outside_config_folder": true``.
    """
    out = []
    for row in rows:
        record = dict(scrub(dict(row), base))
        if row.get("path"):
            text, inside = share_path(str(row["path"]), base)
            record["path"] = text
            if not inside:
                record["outside_config_folder"] = True
        out.append(record)
    return out


def share_command(command: str | Sequence[str] | None, base: Path) -> str | None:
    """A command line with its absolute paths made shareable (``--out=/x/y`` included)."""
    if command is None:
        return None
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            return scrub_text(command, base)
    else:
        words = [str(w) for w in command]
    shared = []
    for word in words:
        option, sep, value = word.partition("=") if word.startswith("-") else ("", "", word)
        if value.startswith("/"):
            value = share_path(value, base)[0]
        shared.append(f"{option}{sep}{value}")
    return " ".join(shlex.quote(w) for w in shared)


def _digest_note(data: bytes) -> str:
    return f"\u2026 (truncated; {len(data)} bytes, SHA-256 {hashlib.sha256(data).hexdigest()})"


def cap_title(title: str, limit: int = TITLE_MAX_CHARS) -> str:
    """The title, cut to ``limit`` characters with a note when longer."""
    title = str(title)
    if len(title) <= limit:
        return title
    return title[:limit] + " " + _digest_note(title.encode("utf-8"))


def cap_text(text: str, limit: int = CONFIG_TEXT_MAX_BYTES) -> str:
    """A text cut to ``limit`` UTF-8 bytes (at a character boundary) with a note when longer."""
    text = str(text)
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", errors="ignore")
    return kept + "\n" + _digest_note(data)
