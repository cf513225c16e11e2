"""Input files read on a thread while the program starts: their checksums and inflated bytes.

A run spends its first second importing NumPy, SciPy, pandas and nibabel, on one core, holding
the GIL. Hashing a file (:mod:`hashlib`) and inflating a gzip (:mod:`zlib`, ISA-L) release it,
so the command line hands the files a run reads first to :func:`start` before that import, and
one thread reads each of them once, hashes it and, within :data:`MAX_HELD_BYTES`, inflates it.

Readers then ask :func:`digest` and :func:`inflated` for a path. They get the result only when
the file is unchanged since it was read (same size, modification and change times, inode and
device); in
every other case (not planned, not read yet and not queued, changed, too large, not a single
complete gzip member, unreadable) they get ``None`` and read the file themselves, so a bad file
is reported by the usual reader with the usual message. What is read ahead is never anything
the run would not read anyway, and nothing is written.

This module imports only the standard library (and ISA-L when installed): it is imported
before NumPy.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .tables import MISSING_CELLS

try:  # optional: ISA-L inflates gzip about 2.5x faster than zlib (the same bytes)
    from isal import isal_zlib as _inflater
except ImportError:  # pragma: no cover - depends on the environment
    _inflater = zlib

#: Most inflated bytes held at once (a 64 x 64 x 36 run of 220 float32 scans is 124 MiB; a 2 mm
#: float32 map 3.4 MiB).
MAX_HELD_BYTES = 256 << 20
#: Read size while hashing (large: each block hands the GIL back to the importing thread once).
_CHUNK = 16 << 20
#: gzip (31) or zlib (15) headers, detected (+32).
_AUTO_HEADER = 47


@dataclass(frozen=True, slots=True)
class Want:
    """One file to read ahead: hash it, and inflate it if ``inflate`` (a ``.gz`` file)."""

    path: str | os.PathLike
    inflate: bool = False


@dataclass(slots=True, eq=False)
class _Entry:
    want: Want
    hashed: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    signature: tuple[int, ...] | None = None
    digest: str | None = None
    data: bytes | None = None

    def finish(self) -> None:
        self.hashed.set()
        self.done.set()


def _signature(path: str | os.PathLike) -> tuple[int, ...]:
    """What changes when a file is written: its size, times (the change time cannot be set
    back, as the modification time can), inode and device."""
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _key(path: str | os.PathLike) -> str:
    return os.path.realpath(path)


class Prefetch:
    """Reads files on one thread, in the order given; see the module's description.

    Parameters
    ----------
    wants : iterable of Want
    budget : int
        Most inflated bytes held at once; a file that would pass it is only hashed.
    """

    def __init__(self, wants: Iterable[Want], *, budget: int = MAX_HELD_BYTES) -> None:
        self._entries: dict[str, _Entry] = {}
        for want in wants:
            self._entries.setdefault(_key(want.path), _Entry(want))
        self._budget = budget
        self._held = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._work, name="glmreport-prefetch", daemon=True)

    def start(self) -> Prefetch:
        """Start reading; returns ``self``."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the file being read, drop everything held, wake every waiting reader."""
        self._stopped.set()
        with self._lock:
            for entry in self._entries.values():
                entry.data = None
                entry.finish()
            self._held = 0

    def _work(self) -> None:
        """Hash every file first (the run checks its inputs before reading any), then inflate.

        However the thread ends, every entry ends finished, so no reader waits for ever.
        """
        entries = list(self._entries.values())
        try:
            for step in (self._hash, self._inflate):
                for entry in entries:
                    if self._stopped.is_set():
                        return
                    try:
                        step(entry)
                    except Exception:  # noqa: BLE001 - the run's own reader reports the file
                        entry.signature = entry.digest = entry.data = None
                        entry.finish()
        finally:
            for entry in entries:
                entry.finish()

    def _hash(self, entry: _Entry) -> None:
        path = entry.want.path
        before = _signature(path)
        digest = file_sha256(path)
        if _signature(path) == before:  # else changed while read: the run hashes it itself
            entry.signature, entry.digest = before, digest
        entry.hashed.set()
        if not entry.want.inflate or entry.signature is None:
            entry.done.set()

    def _inflate(self, entry: _Entry) -> None:
        if entry.done.is_set():
            return
        path = entry.want.path
        with self._lock:
            room = self._budget - self._held
        data = None
        if entry.signature[0] <= room:
            with open(path, "rb") as fh:
                data = _inflate(fh.read(), limit=room)
        with self._lock:
            if data is not None and not self._stopped.is_set():
                if _signature(path) == entry.signature:  # the bytes that were hashed
                    self._held += len(data)
                    entry.data = data
        entry.done.set()

    def _entry(self, path: str | os.PathLike, *, inflated: bool) -> _Entry | None:
        """The entry of ``path``, hashed (and inflated if asked) and unchanged, or None.

        Waits for it when it is planned and not read yet.
        """
        entry = self._entries.get(_key(path))
        if entry is None:
            return None
        (entry.done if inflated else entry.hashed).wait()
        try:
            if entry.signature is None or _signature(path) != entry.signature:
                return None
        except OSError:
            return None
        return entry

    def digest(self, path: str | os.PathLike) -> str | None:
        """Hex SHA-256 of ``path`` as read ahead, or None."""
        entry = self._entry(path, inflated=False)
        return None if entry is None else entry.digest

    def inflated(self, path: str | os.PathLike, *, keep: bool = False) -> bytes | None:
        """The inflated bytes of ``path``, or None; released unless ``keep`` (read again)."""
        entry = self._entry(path, inflated=True)
        if entry is None:
            return None
        with self._lock:
            data = entry.data
            if not keep and data is not None:
                entry.data = None
                self._held -= len(data)
        return data


def _inflate(raw: bytes, *, limit: int) -> bytes | None:
    """``raw`` inflated if it is one complete gzip (or zlib) stream of at most ``limit`` bytes."""
    inflater = _inflater.decompressobj(_AUTO_HEADER)
    data = inflater.decompress(raw, limit + 1)
    if len(data) > limit or not inflater.eof or inflater.unused_data:
        return None
    return data


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in large blocks (the one checksum of inputs)."""
    h = hashlib.sha256()
    buffer = bytearray(min(_CHUNK, max(os.path.getsize(path), 1)))
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(view):
            h.update(view[:n])
    return h.hexdigest()


_active: Prefetch | None = None
_active_lock = threading.Lock()


def start(wants: Sequence[Want], *, budget: int = MAX_HELD_BYTES) -> Prefetch | None:
    """Start reading ``wants`` ahead for this process (stopping an earlier read-ahead).

    Returns
    -------
    Prefetch or None
        None when there is nothing to read.
    """
    global _active
    stop()
    if not wants:
        return None
    with _active_lock:
        _active = Prefetch(wants, budget=budget).start()
        return _active


def stop() -> None:
    """Stop this process's read-ahead, if any, and drop what it holds."""
    global _active
    with _active_lock:
        active, _active = _active, None
    if active is not None:
        active.stop()


def digest(path: str | os.PathLike) -> str | None:
    """Hex SHA-256 of ``path`` read ahead, or None (see :meth:`Prefetch.digest`)."""
    active = _active
    return None if active is None else active.digest(path)


def inflated(path: str | os.PathLike, *, keep: bool = False) -> bytes | None:
    """Inflated bytes of ``path`` read ahead, or None (see :meth:`Prefetch.inflated`)."""
    active = _active
    return None if active is None else active.inflated(path, keep=keep)


def plan(config: Any) -> list[Want]:
    """What a run of ``config`` reads first: its input images, hashed and inflated.

    A first level's BOLD runs, a second level's input maps (listed by an inputs table, list or
    glob), in the order the run reads them; gzipped files are inflated within the budget.
    Other levels read nothing ahead.
    """
    model = config.model
    if model.level == "first":
        return [
            Want(p, inflate=p.name.endswith(".gz")) for p in map(Path, [r.bold for r in model.runs])
        ]
    if model.level == "second" and model.inputs is not None:
        return [Want(p, inflate=p.name.endswith(".gz")) for p in _input_paths(model.inputs)]
    return []


def _input_paths(spec: Any) -> list[Path]:
    """The second-level input paths of an inputs table, list or glob, where they exist."""
    if spec.kind == "table":
        paths = _table_paths(Path(spec.table))
    elif spec.kind == "list":
        paths = [Path(str(r["path"])) for r in spec.rows if r.get("path")]
    elif spec.kind == "glob" and spec.pattern:
        import glob

        pattern = Path(spec.pattern)
        if not pattern.is_absolute():
            pattern = spec.base_dir / pattern
        paths = [Path(p) for p in sorted(glob.glob(str(pattern), recursive=True))]
    else:
        return []
    return [p for p in paths if p.is_file()]


#: Largest inputs table read here for its paths (the run reads and checks it anyway).
_MAX_TABLE_BYTES = 1 << 20


def _table_paths(table: Path) -> list[Path]:
    """The ``path`` column of a TSV/CSV inputs table, relative paths from its folder."""
    import csv

    try:
        if table.stat().st_size > _MAX_TABLE_BYTES:
            return []
        with open(table, newline="", encoding="utf-8") as fh:
            delimiter = "," if table.suffix.lower() == ".csv" else "\t"
            rows = list(csv.DictReader(fh, delimiter=delimiter))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    cells = [row.get("path") for row in rows]  # as the run reads them: not stripped
    paths = [Path(c) for c in cells if c is not None and c not in MISSING_CELLS]
    return [p if p.is_absolute() else table.parent / p for p in paths]
