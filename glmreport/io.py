"""Reading inputs (NIfTI, TSV/CSV) and writing the results folder atomically.

Tables follow BIDS: ``n/a`` and empty cells are missing values. Images are checked against
size bounds from their header before any voxel is read, and unreadable or truncated files are
:class:`~glmreport.errors.InputError` naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import glob as globmod
import hashlib
import json
import math
import os
import re
import shutil
import signal
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from . import safety
from .errors import GlmReportError, InputError, OutputError

NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: Cells read as missing values (BIDS writes ``n/a``).
MISSING_CELLS = ("n/a", "")
#: Most voxels in one 3D volume (2^28: 1 GiB as float32; a 0.5 mm whole brain has ~6e7).
MAX_VOLUME_VOXELS = 1 << 28
#: Most volumes in a 4D image (a first-level run: 100 000 scans is over 8 hours at TR 0.3 s).
MAX_VOLUMES = 100_000
#: Most bytes of image data held at once: the (n, X, Y, Z) float32 stack of second-level inputs
#: (a first-level run is read one volume at a time; its in-mask series has its own bound).
MAX_IMAGE_BYTES = 16 << 30
_READ_ERRORS = (OSError, EOFError, zlib.error, ValueError)
_ENTITY = re.compile(r"(?:^|_)([a-zA-Z0-9]+)-([a-zA-Z0-9]+)")
_FOLDER_ENTITY = re.compile(r"([a-zA-Z0-9]+)-([a-zA-Z0-9]+)")


# ---------------------------------------------------------------------------------------------
# tables


def read_table(path: Path, *, what: str = "table") -> pd.DataFrame:
    """Read a TSV or CSV file (chosen by extension; ``.tsv``/``.txt`` are tab separated).

    Parameters
    ----------
    path : Path
    what : str
        What the file is, for error messages (e.g. ``"inputs table"``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        table = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, na_values=list(MISSING_CELLS)
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read {what} {path}: {exc}") from None
    if table.shape[1] == 1 and sep == "\t" and "," in table.columns[0]:
        raise InputError(
            f"{what} {path} looks comma-separated but has a tab-separated extension; "
            "name it .csv or separate columns with tabs"
        )
    return _numeric_columns(table)


_IDENTIFIER = re.compile(r"^[+-]?0\d")


def _numeric_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Turn columns whose every non-missing cell parses as a number into floats.

    Missing cells (``n/a``, empty) stay missing (NaN) and do not decide the type; columns with
    any other text stay text. Codes with leading zeros (``01``, ``007``) are identifiers and
    stay text. Numbers may be written ``1e-3``, ``1E+2``, ``.5``.
    """
    out = table.copy()
    for col in out.columns:
        if col == "path":
            continue
        present = out[col].notna().to_numpy()
        if not present.any():
            continue
        text = out[col][present].astype(str)
        if text.str.match(_IDENTIFIER).any():
            continue
        converted = pd.to_numeric(text, errors="coerce")
        if converted.notna().all():
            values = np.full(len(out), np.nan)
            values[present] = converted.to_numpy(dtype=float)
            out[col] = values
    return out


def bids_entities(path: str | Path) -> dict[str, str]:
    """Parse BIDS ``key-value`` entities from a file name.

    ``sub-01_task-x_desc-faces_effect.nii.gz`` gives
    ``{'sub': '01', 'task': 'x', 'desc': 'faces'}``.
    Folder names of the form ``key-value`` (``sub-01/``) count too; the file name wins.
    """
    path = Path(path)
    name = path.name
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    found = {}
    for part in path.parts[:-1]:
        match = _FOLDER_ENTITY.fullmatch(part)
        if match:
            found[match.group(1)] = match.group(2)
    found.update(_ENTITY.findall(name))
    return found


def read_inputs_table(spec: Any) -> pd.DataFrame:
    """Build the inputs table (one row per image, absolute ``path`` column first).

    Parameters
    ----------
    spec : glmreport.config.InputsSpec
    """
    if spec.kind == "table":
        table = read_table(spec.table, what="inputs table")
        if "path" not in table.columns:
            raise InputError(
                f"inputs table {spec.table} has no 'path' column; its columns are: "
                f"{', '.join(map(str, table.columns))}"
            )
        _check_paths(table, f"inputs table {spec.table}")
        base = Path(spec.table).parent
        table["path"] = [str(p if Path(p).is_absolute() else base / p) for p in table["path"]]
    elif spec.kind == "list":
        rows = [
            {k: (None if str(v) in MISSING_CELLS else str(v)) for k, v in r.items()}
            for r in spec.rows
        ]
        table = _numeric_columns(pd.DataFrame(rows))
        _check_paths(table, "model.inputs")
    else:
        pattern = (
            spec.pattern if Path(spec.pattern).is_absolute() else str(spec.base_dir / spec.pattern)
        )
        paths = sorted(globmod.glob(pattern, recursive=True))
        if not paths:
            raise InputError(f"model.inputs.glob: no file matches {pattern}")
        # BIDS entities are labels: they stay text (missing where a file lacks one)
        table = pd.DataFrame([{"path": p, **bids_entities(p)} for p in paths])
    if table.empty:
        raise InputError("the inputs table has no rows")
    cols = ["path"] + [c for c in table.columns if c != "path"]
    return table[cols].reset_index(drop=True)


def _check_paths(table: pd.DataFrame, where: str) -> None:
    missing = np.flatnonzero(table["path"].isna().to_numpy()) if "path" in table else []
    if len(missing):
        raise InputError(f"{where}: row {int(missing[0]) + 1} has no path (n/a or empty)")


def file_digests(paths: Sequence[str | Path], *, what: str = "input") -> list[str]:
    """SHA-256 of every file, refusing the same file listed twice.

    Parameters
    ----------
    paths : sequence of str or Path
    what : str
        What the files are, for messages (``"input"``, ``"BOLD run"``).

    Returns
    -------
    list of str
        Hex digests, in the order of ``paths``.

    Raises
    ------
    InputError
        A file is missing, or two entries are the same file (same path after resolving
        links) or have identical content (same SHA-256), naming both.
    """
    seen: dict[str, int] = {}
    for i, p in enumerate(paths):
        _check_nifti_name(Path(p))
        real = os.path.realpath(p)
        if real in seen:
            j = seen[real]
            raise InputError(
                f"{what} {j + 1} ({paths[j]}) and {what} {i + 1} ({p}) are the same file; "
                "list each input once"
            )
        seen[real] = i
    digests = [sha256(p) for p in paths]
    first: dict[str, int] = {}
    for i, digest in enumerate(digests):
        if digest in first:
            j = first[digest]
            raise InputError(
                f"{what} {j + 1} ({paths[j]}) and {what} {i + 1} ({paths[i]}) have identical "
                f"content (SHA-256 {digest[:12]}...); list each input once"
            )
        first[digest] = i
    return digests


# ---------------------------------------------------------------------------------------------
# images


def _check_nifti_name(path: Path) -> None:
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if not path.is_file():
        raise InputError(f"input is not a file: {path}")


def load_image(path: str | Path, *, allow_4d: bool = False) -> nib.Nifti1Image:
    """Load a NIfTI header (data stay on disk) and check it is an image.

    Parameters
    ----------
    path : str or Path
    allow_4d : bool
        Accept several volumes (first-level BOLD runs). Otherwise a 4D image must hold
        exactly one volume.
    """
    path = Path(path)
    _check_nifti_name(path)
    try:
        img = nib.load(path)
    except Exception as exc:  # nibabel raises many types for non-images
        raise InputError(
            f"{path} is not a readable NIfTI image ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise InputError(f"{path} is a {type(img).__name__}, expected a NIfTI image")
    if img.ndim == 4 and not allow_4d and img.shape[3] != 1:
        raise InputError(
            f"{path} is 4D with {img.shape[3]} volumes; a second-level input must be one 3D map "
            "(or 4D with a single volume)"
        )
    if img.ndim not in (3, 4) or (allow_4d and img.ndim != 4):
        expected = "4D (x, y, z, time)" if allow_4d else "3D"
        raise InputError(f"{path} has shape {img.shape}; expected a {expected} image")
    check_image_size(img, path)
    return img


def check_image_size(img: nib.Nifti1Image, path: str | Path) -> None:
    """Check an image's header against the size bounds and the file, before reading data.

    Raises
    ------
    InputError
        A volume of more than :data:`MAX_VOLUME_VOXELS` voxels, more than
        :data:`MAX_VOLUMES` volumes, or (uncompressed ``.nii``) a file shorter than its header
        says.
    """
    shape = tuple(int(s) for s in img.shape)
    volume = math.prod(shape[:3])
    total = math.prod(shape)
    if volume > MAX_VOLUME_VOXELS or total // max(volume, 1) > MAX_VOLUMES:
        raise InputError(
            f"{path}: the header describes an image of shape {shape} ({volume:,} voxels per "
            f"volume); at most {MAX_VOLUME_VOXELS:,} voxels per volume and {MAX_VOLUMES:,} "
            "volumes are read (a corrupt header?)"
        )
    proxy = img.dataobj
    offset = getattr(proxy, "offset", None)
    if str(path).endswith(".nii") and offset is not None:
        expected = int(offset) + total * img.get_data_dtype().itemsize
        actual = Path(path).stat().st_size
        if actual < expected:
            raise InputError(
                f"{path}: the header describes {total:,} voxels of "
                f"{img.get_data_dtype()} ({expected:,} bytes with the header) but the file has "
                f"{actual:,} bytes; it is truncated or its header is corrupt"
            )


def image_data(img: nib.Nifti1Image, *, dtype: Any = np.float32) -> np.ndarray:
    """Return a 3D image's data (a single-volume 4D image is squeezed).

    Raises
    ------
    InputError
        The data cannot be read (truncated or corrupt file), naming the file.
    """
    try:
        data = np.asarray(img.dataobj, dtype=dtype)
    except _READ_ERRORS as exc:
        raise InputError(
            f"{img.get_filename() or 'an image'}: the image data cannot be read "
            f"({type(exc).__name__}: {str(exc)[:200]}); the file is truncated or corrupt"
        ) from None
    return data[..., 0] if data.ndim == 4 else data


def load_images(paths: Sequence[str | Path]) -> tuple[np.ndarray, np.ndarray]:
    """Load several 3D maps that must share one grid.

    Returns
    -------
    data : (n, X, Y, Z) ndarray of float32
    affine : (4, 4) ndarray

    Raises
    ------
    InputError
        Listing every file whose shape or affine differs from the first one's, or that is
        entirely non-finite.
    """
    imgs = [load_image(p) for p in paths]
    ref = imgs[0]
    shape, affine = ref.shape[:3], ref.affine
    bad = []
    for p, img in zip(paths, imgs, strict=True):
        same_affine = np.allclose(img.affine, affine, atol=1e-4)
        if img.shape[:3] != shape or not same_affine:
            bad.append(
                f"{p} (shape {img.shape[:3]}, affine {'same' if same_affine else 'different'})"
            )
    if bad:
        raise InputError(
            f"inputs must share shape and affine with the first input {paths[0]} (shape {shape}); "
            f"these differ and are not resampled silently: "
            + "; ".join(bad[:10])
            + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        )
    needed = len(imgs) * math.prod(shape) * 4
    if needed > MAX_IMAGE_BYTES:
        raise InputError(
            f"{len(imgs)} inputs of shape {tuple(shape)} need {needed / 2**30:.1f} GiB as float32; "
            f"at most {MAX_IMAGE_BYTES >> 30} GiB are read"
        )
    data = np.empty((len(imgs), *shape), dtype=np.float32)

    def read(i: int) -> bool:
        data[i] = image_data(imgs[i])
        return bool(np.isfinite(data[i]).any())

    # decompression releases the GIL: read the files on a thread pool
    with ThreadPoolExecutor(max_workers=min(len(imgs), os.cpu_count() or 1)) as pool:
        finite = list(pool.map(read, range(len(imgs))))
    for p, ok in zip(paths, finite, strict=True):
        if not ok:
            raise InputError(f"{p} contains no finite value (all NaN or infinite)")
    return data, np.asarray(affine, dtype=float)


def sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# writing


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


def write_json(path: Path, obj: Any) -> None:
    """Write JSON (UTF-8, indented) with non-finite numbers as null.

    The file is written under a temporary name and moved in place, so a full disk never
    leaves half a file where a whole one was.
    """
    path = Path(path)
    text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, "utf-8")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_tsv(path: Path, table: pd.DataFrame) -> None:
    """Write a table as TSV with ``n/a`` for missing values (BIDS convention)."""
    table.to_csv(path, sep="\t", index=False, na_rep="n/a", float_format="%.6g")


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> None:
    """Write a float32 (or uint8 for boolean data) NIfTI image with sform/qform set."""
    data = np.asarray(data)
    data = data.astype(np.uint8) if data.dtype == bool else data.astype(np.float32)
    img = nib.Nifti1Image(data, affine)
    img.header.set_sform(affine, 1)
    img.header.set_qform(affine, 1)
    img.header.set_xyzt_units(xyz="mm")
    nib.save(img, path)


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
    safety.check_target(out, overwrite=overwrite, protected=protected)
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

    Before any work, the target is checked (:func:`glmreport.safety.check_target`): an existing
    folder is refused unless ``overwrite``, and even then replaced only when glmreport wrote it
    and it holds none of the ``protected`` files. The parent gets a lock file
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
    safety.check_target(out, overwrite=overwrite, protected=protected)
    created = _make_parents(out.parent)
    try:
        with safety.output_lock(out):
            safety.check_target(out, overwrite=overwrite, protected=protected)
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
