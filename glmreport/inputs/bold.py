"""BOLD runs read one volume at a time: the temporal mean and the in-mask time series."""

from __future__ import annotations

import io
import itertools
import os
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from nibabel.arrayproxy import ArrayProxy
from nibabel.openers import ImageOpener

from ..errors import InputError
from . import prefetch

_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, ValueError)

try:  # optional: ISA-L inflates gzip about 2.5x faster than zlib (the same bytes)
    from isal import igzip, isal_zlib
except ImportError:  # pragma: no cover - depends on the environment
    igzip = None
else:
    _READ_ERRORS += (isal_zlib.error,)


#: Largest stack of scaled float32 volumes handed to ``run_timeseries``'s ``stack_fn``.
STACK_BYTES = 64 << 20

#: Largest in-mask time series of one run held in memory (scans x in-mask voxels, float32).
MAX_TIMESERIES_BYTES = 16 << 30


def _volumes(
    img, *, source: str, keep: bool = False
) -> tuple[tuple[int, ...], float, float, Iterator[np.ndarray]]:
    """Shape, scaling and a one-pass iterator over the stored (unscaled) volumes of a 4D image.

    Each item is one scan flattened x-fastest (NIfTI order). A NIfTI file is read
    sequentially, one volume at a time, so neither a compressed nor an uncompressed run is
    ever held whole in memory (unless :mod:`~glmreport.inputs.prefetch` inflated it ahead:
    then its bytes are read, and released unless ``keep``); other images are read through
    ``numpy.asarray``.
    """
    proxy = img.dataobj
    shape = tuple(int(s) for s in img.shape)
    if len(shape) != 4:
        raise InputError(f"{source}: a BOLD run must be 4D (x, y, z, time); got shape {shape}.")
    n_vox = int(np.prod(shape[:3]))
    n = shape[3]
    if isinstance(proxy, ArrayProxy) and getattr(proxy, "order", "F") == "F":
        slope, inter = float(proxy.slope), float(proxy.inter)
        dtype = np.dtype(proxy.dtype)
        size = n_vox * dtype.itemsize

        def stream() -> Iterator[np.ndarray]:
            t = 0
            try:
                with _open(proxy.file_like, keep=keep) as fobj:
                    fobj.seek(proxy.offset)
                    for t in range(n):
                        buf = fobj.read(size)
                        if len(buf) != size:
                            raise InputError(f"{source}: file ends after {t} of {n} volumes.")
                        yield np.frombuffer(buf, dtype=dtype)
            except InputError:
                raise
            except _READ_ERRORS as exc:
                raise _unreadable(source, exc, f"volume {t + 1} of {n}") from None

        return shape, slope, inter, stream()
    try:
        data = np.asarray(proxy)
    except _READ_ERRORS as exc:
        raise _unreadable(source, exc, "the data") from None
    return shape, 1.0, 0.0, (data[..., t].ravel(order="F") for t in range(n))


def _open(file_like: Any, *, keep: bool = False) -> Any:
    """An image file opened for reading, gzip decompressed by ``isal`` where it is installed.

    A ``.gz`` path whose inflated bytes :mod:`~glmreport.inputs.prefetch` holds is read from
    them (released unless ``keep``); else through ``isal.igzip`` when the optional ``isal``
    package is importable (the bytes are the same, the decompression about 2.5 times
    faster); anything else through nibabel's ``ImageOpener``.
    """
    if isinstance(file_like, str | os.PathLike) and str(file_like).endswith(".gz"):
        if (data := prefetch.inflated(file_like, keep=keep)) is not None:
            return io.BytesIO(data)
        if igzip is not None:
            return igzip.open(file_like, "rb")
    return ImageOpener(file_like)


class ReadCancelled(Exception):
    """A run's reading was stopped through its ``cancel`` event."""


def _until(cancel: threading.Event, volumes: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    for vol in volumes:
        if cancel.is_set():
            raise ReadCancelled
        yield vol


def _unreadable(source: str, exc: BaseException, what: str) -> InputError:
    return InputError(
        f"{source}: {what} cannot be read ({type(exc).__name__}: {str(exc)[:200]}); the file "
        "is truncated or corrupt."
    )


def run_mean_image(img, *, source: str = "BOLD run") -> np.ndarray:
    """Temporal mean of a 4D BOLD image, read one volume at a time.

    Parameters
    ----------
    img : nibabel image
        4D (X, Y, Z, n_scans).
    source : str
        For messages (e.g. the file path).

    Returns
    -------
    mean : (X, Y, Z) ndarray of float64
        Non-finite voxel means are set to 0.
    """
    shape, slope, inter, volumes = _volumes(img, source=source, keep=True)
    total = np.zeros(int(np.prod(shape[:3])))
    for vol in volumes:
        total += vol
    mean = (total / shape[3] * slope + inter).reshape(shape[:3], order="F")
    return np.nan_to_num(mean, nan=0.0, posinf=0.0, neginf=0.0)


def run_timeseries(
    img,
    mask: np.ndarray,
    *,
    source: str = "BOLD run",
    volume_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    stack_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """In-mask time series of a 4D BOLD image as float32, read one volume at a time.

    Parameters
    ----------
    img : nibabel image
        4D (X, Y, Z, n_scans) on the grid of ``mask``.
    mask : (X, Y, Z) ndarray of bool
    source : str
        For messages (e.g. the file path).
    volume_fn : callable or None
        Applied to each scaled (X, Y, Z) float32 volume before masking, e.g. spatial
        smoothing; must return an array of the same shape.
    stack_fn : callable or None
        Instead of ``volume_fn``: applied to stacks of consecutive scaled volumes,
        ``(k, X, Y, Z)`` float32 views of C-ordered ``(k, Z, Y, X)`` arrays of at most
        :data:`STACK_BYTES`, in place or returning an array of the same shape (one call per
        stack instead of one per volume: the same numbers, less overhead).
    cancel : threading.Event or None
        Checked before each volume is read: once set, reading stops with
        :class:`ReadCancelled` (a read on another thread that is no longer wanted).

    Returns
    -------
    Y : (n_scans, v) ndarray of float32, C-ordered
        Columns in C order of the mask (``volume[mask]``), scaled by the header's
        slope/intercept. The only full-size allocation is ``Y`` itself.

    Raises
    ------
    InputError
        Shape mismatch, more than :data:`MAX_TIMESERIES_BYTES` of in-mask data, an unreadable
        volume, or non-finite values inside the mask.
    ReadCancelled
        ``cancel`` was set.
    """
    if volume_fn is not None and stack_fn is not None:
        raise ValueError("give volume_fn or stack_fn, not both")
    shape, slope, inter, volumes = _volumes(img, source=source)
    if cancel is not None:
        volumes = _until(cancel, volumes)
    if shape[:3] != mask.shape:
        raise InputError(
            f"{source}: shape {shape} does not match the mask {mask.shape} (expected a 4D "
            "image on the mask's grid)."
        )
    flat = np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F")  # mask's C order
    needed = shape[3] * flat.size * 4
    if needed > MAX_TIMESERIES_BYTES:
        raise InputError(
            f"{source}: {shape[3]:,} scans x {flat.size:,} in-mask voxels need "
            f"{needed / 2**30:.1f} GiB; at most {MAX_TIMESERIES_BYTES >> 30} GiB are held "
            "(use a tighter mask or a coarser grid)."
        )
    data = np.empty((shape[3], flat.size), dtype=np.float32)
    if volume_fn is None and stack_fn is None:
        for t, vol in enumerate(volumes):
            data[t] = vol.take(flat)
        if slope != 1.0:
            data *= np.float32(slope)
        if inter != 0.0:
            data += np.float32(inter)
    elif stack_fn is not None:
        _read_stacks(volumes, data, flat, shape, slope, inter, stack_fn)
    else:
        for t, vol in enumerate(volumes):
            scaled = vol.astype(np.float32) * np.float32(slope) + np.float32(inter)
            data[t] = np.asarray(volume_fn(scaled.reshape(shape[:3], order="F")))[mask]
    bad = ~np.isfinite(data).all(axis=0)
    if bad.any():
        raise InputError(
            f"{source}: {int(bad.sum())} in-mask voxels have missing or infinite values; "
            "exclude them with the mask."
        )
    return data


def _read_stacks(
    volumes: Iterator[np.ndarray],
    data: np.ndarray,
    flat: np.ndarray,
    shape: tuple[int, ...],
    slope: float,
    inter: float,
    stack_fn: Callable[[np.ndarray], np.ndarray],
) -> None:
    """Fill ``data`` (scans x in-mask voxels) from stacks of scaled volumes passed through
    ``stack_fn``; ``flat`` indexes the in-mask voxels of a volume in file (x-fastest) order."""
    n, n_vox = shape[3], int(np.prod(shape[:3]))
    per = max(1, min(n, STACK_BYTES // (4 * n_vox)))
    stack = np.empty((per, *shape[2::-1]), dtype=np.float32)  # (k, Z, Y, X): volumes as read
    rows = stack.reshape(per, n_vox)
    start = 0
    while start < n:
        k = 0
        for vol in itertools.islice(volumes, min(per, n - start)):
            rows[k] = vol  # cast to float32 as a volume's astype(float32)
            k += 1
        block = rows[:k]
        if slope != 1.0:
            block *= np.float32(slope)
        if inter != 0.0:
            block += np.float32(inter)
        out = stack_fn(stack[:k].transpose(0, 3, 2, 1))  # (k, X, Y, Z) view
        out = np.asarray(out).transpose(0, 3, 2, 1).reshape(k, n_vox)
        np.take(out, flat, axis=1, out=data[start : start + k])
        start += k
