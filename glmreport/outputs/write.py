"""Writing the results folder: JSON, TSV and NIfTI files, atomic files and the staged, atomic
folder (the one atomic writer of glmreport: the report's files go through it too)."""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nibabel as nib
import numpy as np

from ..errors import GlmReportError, OutputError
from .safety import check_target, output_lock

try:  # optional: ISA-L deflates about three times faster than zlib, to the same size
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - depends on the environment
    _isal_zlib = None

if TYPE_CHECKING:
    import pandas as pd


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats (-> None) for JSON."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Write a file under a temporary name beside it and move it in place.

    A reader (or a full disk) never sees half a file where a whole one was: ``path`` holds
    either its old content or all of the new one.

    Parameters
    ----------
    path : Path
        The file to write.
    write : callable
        Writes the content to the temporary path it is given.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        As raised while writing (the temporary file is removed).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def write_json(path: Path, obj: Any) -> None:
    """Write JSON (UTF-8, indented) with non-finite numbers as null, atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False) + "\n"
    atomic_write(Path(path), lambda tmp: tmp.write_text(text, "utf-8"))


#: Format of floating-point cells in TSV files.
FLOAT_FORMAT = "%.6g"
#: Characters that make the csv writer quote a header cell.
_QUOTED = frozenset('\t\n\r"')


def write_tsv(path: Path, table: pd.DataFrame) -> None:
    """Write a table as TSV with ``n/a`` for missing values (BIDS convention).

    A table of float64 columns only (a design matrix) is formatted here, the same text as
    pandas' ``to_csv`` with ``float_format="%.6g"`` in a tenth of the time; any other table
    by pandas.
    """
    text = _float_tsv(table)
    if text is None:
        text = table.to_csv(sep="\t", index=False, na_rep="n/a", float_format=FLOAT_FORMAT)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _float_tsv(table: pd.DataFrame) -> str | None:
    """The TSV text of an all-float64 table with plain text column names, or None."""
    header = list(table.columns)
    if table.columns.nlevels != 1 or not header:
        return None
    if any(not isinstance(name, str) or not name or _QUOTED.intersection(name) for name in header):
        return None  # pandas quotes, formats or stacks such labels
    if any(dtype != np.float64 for dtype in table.dtypes):
        return None
    values = table.to_numpy()
    lines = ["\t".join(header)]
    if np.isnan(values).any():
        for row in values.tolist():
            lines.append("\t".join("n/a" if x != x else FLOAT_FORMAT % x for x in row))
    else:  # one format operation per row
        row_format = "\t".join([FLOAT_FORMAT] * len(header))
        lines += [row_format % tuple(row) for row in values.tolist()]
    return "\n".join(lines) + "\n"


def write_nifti(
    path: Path, data: np.ndarray, affine: np.ndarray, *, dtype: Any | None = None
) -> None:
    """Write a float32 (or uint8 for boolean data, or ``dtype``) NIfTI image with sform/qform
    set.

    The header is nibabel's (:func:`nifti_header`, made once per grid, data type and affine);
    the file is that header and the data in Fortran order, the bytes ``nibabel.save`` writes
    (tested), assembled in one buffer and, for ``.nii.gz``, deflated by :func:`gzip_bytes`.
    """
    data = np.asarray(data)
    if dtype is None:
        dtype = np.uint8 if data.dtype == bool else np.float32
    dtype = np.dtype(dtype)
    header = nifti_header(data.shape, dtype, affine)
    raw = bytearray(len(header) + data.size * dtype.itemsize)
    raw[: len(header)] = header
    body = np.frombuffer(raw, dtype=dtype, offset=len(header)).reshape(data.shape, order="F")
    body[...] = data
    del body  # the buffer's only view
    if str(path).endswith(".gz"):
        raw = gzip_bytes(raw)
    Path(path).write_bytes(raw)


def nifti_header(shape: tuple[int, ...], dtype: Any, affine: np.ndarray) -> bytes:
    """The bytes before the data of a NIfTI-1 file (``.nii``) as ``nibabel.save`` writes it
    for data of this shape and type (no scaling), sform and qform ``affine`` (code 1), mm."""
    affine = np.asarray(affine, dtype=np.float64)
    return _nifti_header(tuple(int(n) for n in shape), np.dtype(dtype).str, affine.tobytes())


@functools.lru_cache(maxsize=64)
def _nifti_header(shape: tuple[int, ...], dtype: str, affine: bytes) -> bytes:
    matrix = np.frombuffer(affine, dtype=np.float64).reshape(4, 4)
    img = nib.Nifti1Image(np.zeros(shape, dtype=dtype), matrix)
    img.header.set_sform(matrix, 1)
    img.header.set_qform(matrix, 1)
    img.header.set_xyzt_units(xyz="mm")
    stream = io.BytesIO()
    img.to_stream(stream)  # nibabel's own header, as it saves this image, then the zeros
    written = stream.getvalue()
    return written[: len(written) - math.prod(shape) * np.dtype(dtype).itemsize]


def gzip_bytes(raw: bytes | memoryview) -> bytes:
    """``raw`` as one gzip member (a valid ``.gz`` file, no name, modification time 0).

    Deflated by ISA-L at its level 1 where the optional ``isal`` package is installed (about
    three times faster than zlib, as small), else by zlib's run-length deflate (``Z_RLE``: a
    statistical map is mostly runs of zeros around noisy float32 values, which it compresses
    as well as gzip's level 1 in less time). The bytes read back are the same either way.
    The compression releases the GIL, so maps are written on threads.
    """
    if _isal_zlib is not None:
        packer = _isal_zlib.compressobj(1, _isal_zlib.DEFLATED, 31)  # 31: gzip container
    else:
        packer = zlib.compressobj(1, zlib.DEFLATED, 31, 8, zlib.Z_RLE)
    return packer.compress(raw) + packer.flush()


# errno -> what it means for the results folder
_WRITE_FAULTS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file exceeds the size allowed",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


_ALWAYS_OUTPUT = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def output_fault(exc: BaseException, out: Path, stage: Path) -> OutputError | None:
    """The OutputError for an OSError met while writing ``stage`` (None: not a write fault).

    A full disk or quota is always the output's fault; a read-only or forbidden location only
    when the file concerned is in the staging folder (an unreadable input stays an input error).
    """
    if not isinstance(exc, OSError) or isinstance(exc, GlmReportError):
        return None
    if exc.errno not in _WRITE_FAULTS:
        return None
    name = exc.filename
    inside = name is None or Path(os.path.abspath(name)).is_relative_to(stage)
    if exc.errno not in _ALWAYS_OUTPUT and not inside:
        return None
    return OutputError(
        f"cannot write the results folder {out}: {_WRITE_FAULTS[exc.errno]} "
        f"({exc.strerror or exc}); nothing was written there"
    )


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created (deepest last)."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    created = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            _remove_created(created)
            raise OutputError(f"cannot create the folder {path}: {exc.strerror}") from None
        created.append(path)
    return created


def _remove_created(created: list[Path]) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):
            path.rmdir()  # only while still empty


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM/SIGHUP for a few renames (main thread, POSIX only)."""
    sigs = {signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)}
    can = (
        hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    )
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, sigs) if can else None
    try:
        yield
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _move_into_place(stage: Path, out: Path, *, overwrite: bool, protected) -> None:
    appeared = OutputError(
        f"{out} appeared while this run was writing; it was left as it is and this run's "
        "results were discarded; choose another folder with --out"
    )
    if os.path.lexists(out) and not overwrite:
        raise appeared
    check_target(out, overwrite=overwrite, protected=protected)
    with _signals_deferred():
        if not os.path.lexists(out):
            try:
                os.rename(stage, out)  # fails when a non-empty folder or a file took its place
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                    raise appeared from None
                raise
            return
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
        try:
            os.rename(stage, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_output(
    out: Path, *, overwrite: bool, protected: Mapping[Path, str] | None = None
) -> Iterator[Path]:
    """Build a results folder in a hidden staging folder and move it in place at the end.

    Before any work, the target is checked (:func:`glmreport.outputs.safety.check_target`): an
    existing folder is refused unless ``overwrite``, and even then replaced only when glmreport
    wrote it and it holds none of the ``protected`` files. The parent gets a lock file
    (``.NAME.lock``) so that a second run to the same folder is refused at once. A failed or
    interrupted run removes the staging folder (``.NAME.partial-PID``), the lock and any parent
    folder it created; a full or read-only location is an :class:`OutputError`. At the end the
    checks run again under the lock: a folder that appeared meanwhile is never replaced
    silently.

    Parameters
    ----------
    out : Path
        Final results folder.
    overwrite : bool
    protected : mapping of Path -> str, optional
        Files the run reads, with what they are. Read again at the final move, so a caller may
        add the inputs it read meanwhile.
    """
    out = Path(out).resolve()
    protected = {} if protected is None else protected
    check_target(out, overwrite=overwrite, protected=protected)
    created = _make_parents(out.parent)
    try:
        with output_lock(out):
            check_target(out, overwrite=overwrite, protected=protected)
            stage = out.parent / f".{out.name}.partial-{os.getpid()}"
            try:
                if os.path.lexists(stage):
                    shutil.rmtree(stage)
                stage.mkdir()
            except OSError as exc:
                raise OutputError(f"cannot create {stage}: {exc.strerror}") from None
            try:
                yield stage
                _move_into_place(stage, out, overwrite=overwrite, protected=protected)
            except BaseException as exc:
                shutil.rmtree(stage, ignore_errors=True)
                fault = output_fault(exc, out, stage)
                if fault is not None:
                    raise fault from None
                raise
    except BaseException:
        _remove_created(created)
        raise
