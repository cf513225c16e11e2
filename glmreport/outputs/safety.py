"""What glmreport may replace, lock and read back: the rules of the README's Safety section.

- A folder is replaced (``--overwrite``) only when glmreport wrote it: it holds ``summary.json``
  and a ``dataset_description.json`` whose ``GeneratedBy`` names glmreport (an empty folder holds
  nothing to lose). Even then it is never the filesystem root, the home folder or one of its
  ancestors, the current folder or one of its ancestors, a mount point, or a folder holding the
  config or an input.
- One run at a time writes a given results folder: a lock file beside it.
- Every path read back from a results folder resolves inside it.
"""

from __future__ import annotations

import contextlib
import glob as globmod
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import InputError, OutputError
from .derivative import generated_by
from .layout import DESCRIPTION, SUMMARY

try:  # POSIX: a kernel lock, released when its process dies (no stale locks after a kill)
    import fcntl
except ImportError:  # pragma: no cover - other platforms fall back to an exclusive create
    fcntl = None  # type: ignore[assignment]

DEMO_MARKER = ".glmreport-demo"
_MARKER_MAX_BYTES = 1 << 20
_GLOB_MAX = 100_000
_REPR_MAX = 80


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_MAX else text[: _REPR_MAX - 3] + "..."


# ---------------------------------------------------------------------------------------------
# markers


def demo_marker() -> dict[str, Any]:
    """Content of the ``.glmreport-demo`` file that marks a demo folder."""
    return {
        "Name": "glmreport demo",
        "GeneratedBy": generated_by(),
        "Description": "synthetic dataset written by 'glmreport demo'; "
        "'glmreport demo --overwrite' replaces this folder",
    }


def names_glmreport(path: Path) -> bool:
    """Whether ``path`` is a JSON file (not a link) whose ``GeneratedBy`` names glmreport."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _MARKER_MAX_BYTES:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    entries = data.get("GeneratedBy") if isinstance(data, dict) else None
    return isinstance(entries, list) and any(
        isinstance(e, dict) and e.get("Name") == "glmreport" for e in entries
    )


def not_ours(folder: Path) -> str | None:
    """Why ``folder`` is not a results folder written by glmreport; None when it is."""
    missing = []
    if not (folder / SUMMARY).is_file():
        missing.append(f"no {SUMMARY}")
    if not names_glmreport(folder / DESCRIPTION):
        missing.append(f"no {DESCRIPTION} naming glmreport")
    return " and ".join(missing) or None


# ---------------------------------------------------------------------------------------------
# places never replaced


def _variants(path: Path) -> list[Path]:
    """The path as written (made absolute, ``..`` folded), then with its links resolved."""
    out = [Path(os.path.abspath(path))]
    with contextlib.suppress(OSError, RuntimeError):
        resolved = Path(path).resolve()
        if resolved != out[0]:
            out.append(resolved)
    return out


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None


def forbidden(target: Path, protected: Mapping[Path, str] = {}) -> str | None:  # noqa: B006
    """Why ``target`` (an absolute, resolved folder) may never be replaced; None if it may.

    Parameters
    ----------
    target : Path
    protected : mapping of Path -> str
        Files the run reads, with what they are (``"the config"``, ``"the input"``): a folder
        holding one of them is never replaced.
    """
    if target == Path(target.anchor):
        return "is the root of the file system"
    home = _home()
    if home is not None and (home == target or home.is_relative_to(target)):
        return "is your home folder" if home == target else f"contains your home folder {home}"
    for path, what in protected.items():
        for variant in _variants(path):
            if variant == target or variant.is_relative_to(target):
                return f"holds {what} {variant}"
    try:
        cwd: Path | None = Path.cwd().resolve()
    except OSError:  # the current folder was deleted
        cwd = None
    if cwd is not None and (cwd == target or cwd.is_relative_to(target)):
        return "is the current folder" if cwd == target else "contains the current folder"
    if os.path.ismount(target):
        return "is a mount point"
    return None


def _is_empty(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError as exc:
        raise OutputError(f"cannot read the output folder {folder}: {exc.strerror}") from None


def _check_parent(target: Path) -> None:
    """The nearest existing ancestor of a new ``target`` is a folder we can write in."""
    parent = target.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(
            f"cannot create the output folder {target}: {parent} exists and is not a folder"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot create the output folder {target}: {parent} is not writable "
            "(permission denied); choose another folder with --out"
        )


def check_target(
    target: Path,
    *,
    overwrite: bool,
    protected: Mapping[Path, str] = {},  # noqa: B006
) -> None:
    """Refuse an output folder that must not be written or replaced; creates nothing.

    Parameters
    ----------
    target : Path
        The results folder, absolute and resolved.
    overwrite : bool
        Whether an existing folder may be replaced (when glmreport wrote it).
    protected : mapping of Path -> str
        Files the run reads (see :func:`forbidden`).

    Raises
    ------
    OutputError
        Naming the folder and what was found there.
    """
    if not os.path.lexists(target):
        _check_parent(target)
        return
    if not target.is_dir():
        raise OutputError(
            f"--out {target} exists and is not a folder; name a folder (a new one, or one "
            "that glmreport wrote, with --overwrite)"
        )
    why = forbidden(target, protected)
    if why:
        raise OutputError(
            f"{target} {why}; refusing to replace it; choose another folder with --out"
        )
    if _is_empty(target):
        if overwrite:
            return
        why_not = None
    else:
        why_not = not_ours(target)
    if why_not:
        raise OutputError(
            f"{target} exists and was not written by glmreport ({why_not}); refusing to "
            "replace it; choose another folder with --out"
        )
    if not overwrite:
        raise OutputError(
            f"output folder {target} already exists; pass --overwrite to replace it or "
            "choose another folder with --out"
        )


def check_demo_folder(folder: Path, *, overwrite: bool) -> bool:
    """Whether the demo folder must be emptied first; raises when it may not be used.

    A demo folder is written only when it is new or empty, or, with ``overwrite``, when an
    earlier ``glmreport demo`` wrote it (it holds ``.glmreport-demo``).
    """
    if not os.path.lexists(folder):
        _check_parent(folder)
        return False
    if not folder.is_dir():
        raise OutputError(f"demo folder {folder} exists and is not a folder")
    if _is_empty(folder):
        return False
    why = forbidden(folder)
    if why:
        raise OutputError(f"demo folder {folder} {why}; refusing to replace it")
    if not names_glmreport(folder / DEMO_MARKER):
        raise OutputError(
            f"{folder} exists and was not written by glmreport demo (no {DEMO_MARKER} naming "
            "glmreport); refusing to replace it; choose another folder with --out"
        )
    if not overwrite:
        raise OutputError(f"demo folder {folder} exists and is not empty; pass --overwrite")
    return True


# ---------------------------------------------------------------------------------------------
# what a run reads


def _glob_base(base: Path, pattern: str) -> Path:
    path = Path(pattern) if Path(pattern).is_absolute() else base / pattern
    parts = []
    for part in path.parts:
        if globmod.has_magic(part):
            break
        parts.append(part)
    return Path(*parts)


def _table_paths(table: Path) -> list[Path]:
    """The ``path`` column of an inputs table (nothing when it cannot be read: the run's own
    reading reports that)."""
    import csv

    try:
        with open(table, encoding="utf-8", newline="") as fh:
            sep = "," if table.suffix.lower() == ".csv" else "\t"
            rows = csv.DictReader(fh, delimiter=sep)
            paths = []
            for i, row in enumerate(rows):
                if i >= _GLOB_MAX:
                    break
                value = (row.get("path") or "").strip()
                if value:
                    paths.append(Path(value) if Path(value).is_absolute() else table.parent / value)
            return paths
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def protected_paths(config: Any) -> dict[Path, str]:
    """Every file a run-config reads, with what it is, for :func:`check_target`.

    Parameters
    ----------
    config : glmreport.config.specs.RunConfig
    """
    found: dict[Path, str] = {}

    def add(path: Any, what: str) -> None:
        if path is not None and str(path) not in ("", "auto"):
            found.setdefault(Path(path), what)

    add(config.source, "the config")
    model = config.model
    spec = model.inputs
    if spec is not None and spec.kind == "table":
        add(spec.table, "the inputs table")
        for path in _table_paths(Path(spec.table)):
            add(path, "the input")
    elif spec is not None and spec.kind == "list":
        for row in spec.rows:
            add(row.get("path"), "the input")
    elif spec is not None and spec.pattern:
        add(_glob_base(Path(spec.base_dir), spec.pattern), "the inputs of the glob")
    add(model.design_matrix, "the design matrix")
    add(getattr(model, "participants", None), "participants.tsv")
    add(model.mask, "the mask")
    for run in model.runs:
        for kind in ("bold", "events", "confounds", "design"):
            add(getattr(run, kind), f"the {kind} file of run {run.name}")
    for item in model.maps:
        add(item.path, "the map")
    for atlas in config.atlases:
        add(getattr(atlas, "file", None), "the atlas")
        add(getattr(atlas, "labels", None), "the atlas labels")
    for correction in config.corrections:
        svc = getattr(correction.params, "svc", None)
        add(getattr(svc, "mask", None), "the small-volume mask")
    return found


# ---------------------------------------------------------------------------------------------
# one writer per results folder


def lock_path(target: Path) -> Path:
    """The lock file of a results folder: ``.<name>.lock`` beside it."""
    return target.parent / f".{target.name}.lock"


def _busy(target: Path, holder: str) -> OutputError:
    by = f" (process {holder})" if holder.isdigit() else ""
    return OutputError(
        f"another glmreport run{by} is writing {target}; wait for it to finish or choose "
        "another folder with --out"
    )


def _open_lock(path: Path, target: Path, flags: int) -> int:
    try:
        return os.open(
            path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o644
        )
    except FileExistsError:
        raise _busy(target, "") from None
    except OSError as exc:
        raise OutputError(
            f"cannot write in {path.parent} ({exc.strerror}); choose another folder with --out"
        ) from None


def _acquire(path: Path, target: Path) -> int:
    if fcntl is None:  # pragma: no cover
        return _open_lock(path, target, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    for _ in range(5):
        fd = _open_lock(path, target, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise _busy(target, holder) from None
        # the previous holder may have removed the file between our open and our lock
        try:
            current = os.stat(path, follow_symlinks=False)
            mine = os.fstat(fd)
            same = (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino)
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            return fd
        os.close(fd)
    raise _busy(target, "")


#: Descriptors of the locks this process holds. A process forked from it (a study's workers)
#: closes its copies at once: a lock is released only when every copy is closed, so a worker
#: outliving a killed run would otherwise keep its folder locked.
_HELD_LOCKS: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _HELD_LOCKS:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


@contextmanager
def output_lock(target: Path) -> Iterator[Path]:
    """Hold the lock of a results folder; a second holder gets an OutputError at once.

    Processes forked while it is held do not hold it.
    """
    path = lock_path(target)
    fd = _acquire(path, target)
    _HELD_LOCKS.add(fd)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # still locked: a waiting run then retries on a fresh file
        _HELD_LOCKS.discard(fd)
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# reading a results folder back


def resolve_inside(folder: Path, rel: Any, *, what: str) -> Path:
    """The file that ``rel`` (a path from ``summary.json``) names inside a results folder.

    Parameters
    ----------
    folder : Path
        The results folder.
    rel : str
        A relative path in POSIX or native form.
    what : str
        The summary key it came from, for the message (``contrasts[0].maps.z``).

    Raises
    ------
    InputError
        When ``rel`` is not a string, is absolute, has a ``..`` component, or resolves (through
        a symbolic link) outside the folder.
    """
    where = f"{Path(folder) / SUMMARY}: {what}"
    if not isinstance(rel, str) or not rel:
        raise InputError(f"{where}: expected a relative path (a string), got {_short(rel)}")
    if "\0" in rel:
        raise InputError(f"{where}: the path {_short(rel)} holds a NUL character")
    given = Path(rel)
    if given.is_absolute() or given.anchor or rel.startswith(("/", "\\")):
        raise InputError(
            f"{where}: {_short(rel)} is an absolute path; a results folder is read only inside "
            "itself (paths relative to it)"
        )
    if ".." in rel.replace("\\", "/").split("/"):
        raise InputError(
            f"{where}: {_short(rel)} has a '..' component; a results folder is read only inside "
            "itself"
        )
    root = Path(folder).resolve()
    try:
        resolved = (root / given).resolve()
    except (OSError, RuntimeError) as exc:
        raise InputError(f"{where}: cannot resolve {_short(rel)} ({exc})") from None
    if not resolved.is_relative_to(root):
        raise InputError(
            f"{where}: {_short(rel)} is a link that leads outside the results folder (to "
            f"{resolved}); a results folder is read only inside itself"
        )
    return resolved
