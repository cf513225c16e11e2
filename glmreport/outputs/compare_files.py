"""The files of two results folders compared value by value: maps, tables, arrays.

Each function takes two files already resolved inside their folders
(:func:`glmreport.outputs.safety.resolve_inside`) and returns what differs, in words (an empty
list when they are equal). Numbers are equal when ``|a - b| <= tolerance`` (absolute); NaN
equals NaN and infinities equal themselves. A file that cannot be read (missing, truncated,
not what its name says, larger than the bounds here) is an :class:`InputError` naming it: a
results folder that is broken is bad input, not a difference.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from ..errors import InputError
from ..inputs.images import check_image_size

#: Largest table read (bytes): a run writes a few kilobytes.
MAX_TABLE_BYTES = 256 * 1024 * 1024
#: Largest sum of the uncompressed sizes of an ``.npz`` file's arrays (bytes).
MAX_ARRAYS_BYTES = 2 * 1024 * 1024 * 1024
_SHOW = 100
_READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile)


def show(value: Any) -> str:
    """A value as printed in a difference: short, one line."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


def number(value: float) -> str:
    """A difference as printed: 4 significant digits."""
    return f"{value:.4g}"


def _exists(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"{path} not found: summary.json names it but the folder lacks it")


# ---------------------------------------------------------------------------------------------
# numbers


def array_differences(a: np.ndarray, b: np.ndarray, tolerance: float, *, unit: str) -> list[str]:
    """What differs between two arrays of one shape, NaN-aware.

    Parameters
    ----------
    a, b : ndarray
        Same shape.
    tolerance : float
        Largest absolute difference taken as equal.
    unit : str
        What one element is, in messages (``voxels``, ``rows``, ``values``).

    Returns
    -------
    list of str
        Empty when equal; else ``max |A - B| = ...`` with the count above the tolerance, and
        the count of elements that are NaN in one array only.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    one_nan = int(np.count_nonzero(nan_a != nan_b))
    both = ~(nan_a | nan_b)
    with np.errstate(invalid="ignore", over="ignore"):
        same = a[both] == b[both]  # equal infinities too
        gap = np.where(same, 0.0, np.abs(a[both] - b[both]))
    gap = np.where(np.isnan(gap), np.inf, gap)  # inf - inf: opposite infinities
    out = []
    over = int(np.count_nonzero(gap > tolerance))
    if over:
        verb = "differs" if over == 1 else "differ"
        out.append(
            f"max |A - B| = {number(float(gap.max()))} ({over} of {a.size} {unit} {verb} by "
            f"more than {tolerance:g})"
        )
    if one_nan:
        out.append(f"NaN in one and not the other in {one_nan} of {a.size} {unit}")
    return out


def values_differ(a: Any, b: Any, tolerance: float) -> bool:
    """Whether two JSON values differ: numbers beyond ``tolerance`` (integers exactly)."""
    if _is_number(a) and _is_number(b):
        if isinstance(a, int) and isinstance(b, int):
            return a != b
        if math.isnan(a) or math.isnan(b):
            return not (math.isnan(a) and math.isnan(b))
        return a != b and not abs(a - b) <= tolerance
    return type(a) is not type(b) or a != b


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# maps


def read_map(path: Path) -> nib.Nifti1Image:
    """A NIfTI map of a results folder, its header checked against the size bounds."""
    _exists(path)
    try:
        img = nib.load(path)
    except Exception as exc:  # nibabel raises many types for non-images
        raise InputError(
            f"{path} is not a readable NIfTI image ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise InputError(f"{path} is a {type(img).__name__}, expected a NIfTI image")
    check_image_size(img, path)
    return img


def _map_data(img: nib.Nifti1Image, path: Path) -> np.ndarray:
    try:
        return np.asarray(img.dataobj, dtype=np.float64)
    except _READ_ERRORS as exc:
        raise InputError(
            f"{path}: the image data cannot be read ({type(exc).__name__}: {str(exc)[:200]}); "
            "the file is truncated or corrupt"
        ) from None


def compare_maps(a: Path, b: Path, tolerance: float) -> list[str]:
    """What differs between two NIfTI maps: grid shape, affine, then the voxel values.

    A different grid is a difference (the voxels are then not compared), never an error.
    """
    img_a, img_b = read_map(a), read_map(b)
    shape_a, shape_b = tuple(img_a.shape), tuple(img_b.shape)
    if shape_a != shape_b:
        return [f"grid shape {shape_a} vs {shape_b} (voxels not compared)"]
    out = []
    affine_gap = float(np.max(np.abs(img_a.affine - img_b.affine)))
    if not affine_gap <= tolerance:
        out.append(f"affine differs (max |A - B| = {number(affine_gap)})")
    out.extend(
        array_differences(_map_data(img_a, a), _map_data(img_b, b), tolerance, unit="voxels")
    )
    return out


# ---------------------------------------------------------------------------------------------
# tables


def read_result_table(path: Path) -> pd.DataFrame:
    """A TSV table of a results folder, every cell as text (``n/a`` as missing)."""
    _exists(path)
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise InputError(
            f"{path} is {size} bytes; a table larger than {MAX_TABLE_BYTES} is not read"
        )
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=["n/a"])
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty; expected a TSV table with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise InputError(f"cannot read the table {path}: {str(exc)[:200]}") from None


def _numeric(column: pd.Series) -> np.ndarray | None:
    """The column as numbers, or None when a cell is not a number."""
    values = pd.to_numeric(column, errors="coerce")
    if (values.isna() & column.notna()).any():
        return None
    return values.to_numpy(dtype=np.float64)


def _column_differences(name: str, a: pd.Series, b: pd.Series, tolerance: float) -> list[str]:
    num_a, num_b = _numeric(a), _numeric(b)
    if num_a is not None and num_b is not None:
        return [
            f"column {name!r}: {d}" for d in array_differences(num_a, num_b, tolerance, unit="rows")
        ]
    text_a = a.fillna("n/a").astype(str).to_numpy()
    text_b = b.fillna("n/a").astype(str).to_numpy()
    rows = np.flatnonzero(text_a != text_b)
    if not rows.size:
        return []
    first = int(rows[0])
    return [
        f"column {name!r}: {rows.size} of {len(text_a)} rows "
        f"{'differs' if rows.size == 1 else 'differ'} (row {first + 1}: "
        f"{show(text_a[first])} vs {show(text_b[first])})"
    ]


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


def compare_tables(a: Path, b: Path, tolerance: float) -> list[str]:
    """What differs between two TSV tables: columns, row counts, then cell by cell.

    Rows are compared in order (a run writes them sorted); numeric columns within
    ``tolerance``, other columns as text.
    """
    ta, tb = read_result_table(a), read_result_table(b)
    out = []
    cols_a, cols_b = list(ta.columns), list(tb.columns)
    if cols_a != cols_b:
        only_a = [c for c in cols_a if c not in cols_b]
        only_b = [c for c in cols_b if c not in cols_a]
        what = []
        what += [f"only in A: {show(', '.join(only_a))}"] if only_a else []
        what += [f"only in B: {show(', '.join(only_b))}"] if only_b else []
        out.append("columns differ" + (f" ({'; '.join(what)})" if what else " (order)"))
    if len(ta) != len(tb):
        out.append(f"{_rows(len(ta))} vs {_rows(len(tb))} (cells not compared)")
        return out
    for name in (c for c in cols_a if c in cols_b):
        out.extend(_column_differences(name, ta[name], tb[name], tolerance))
    return out


# ---------------------------------------------------------------------------------------------
# arrays (.npz)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    _exists(path)
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
        if total > MAX_ARRAYS_BYTES:
            raise InputError(
                f"{path} holds {total} bytes of arrays; more than {MAX_ARRAYS_BYTES} are not read"
            )
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in sorted(arrays.files)}
    except InputError:
        raise
    except _READ_ERRORS as exc:
        raise InputError(
            f"cannot read the arrays {path} ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _is_numeric(array: np.ndarray) -> bool:
    return array.dtype.kind in "biuf"


def compare_arrays(a: Path, b: Path, tolerance: float) -> list[str]:
    """What differs between two ``.npz`` files: the names, shapes and values of the arrays."""
    arr_a, arr_b = _read_arrays(a), _read_arrays(b)
    out = []
    for name in sorted(set(arr_a) | set(arr_b)):
        if name not in arr_b or name not in arr_a:
            out.append(f"array {name!r} only in {'A' if name in arr_a else 'B'}")
        elif arr_a[name].shape != arr_b[name].shape:
            out.append(f"array {name!r}: shape {arr_a[name].shape} vs {arr_b[name].shape}")
        elif not (_is_numeric(arr_a[name]) and _is_numeric(arr_b[name])):
            if not np.array_equal(arr_a[name], arr_b[name]):
                out.append(f"array {name!r}: values differ")
        else:
            diffs = array_differences(arr_a[name], arr_b[name], tolerance, unit="values")
            out.extend(f"array {name!r}: {d}" for d in diffs)
    return out
