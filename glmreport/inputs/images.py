"""Reading NIfTI inputs, and their checksums.

Images are checked against size bounds from their header before any voxel is read, and
unreadable or truncated files are :class:`~glmreport.errors.InputError` naming the file.
"""

from __future__ import annotations

import io
import math
import os
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.arrayproxy import ArrayProxy

from ..errors import InputError
from . import prefetch

#: Most voxels in one 3D volume (2^28: 1 GiB as float32; a 0.5 mm whole brain has ~6e7).
MAX_VOLUME_VOXELS = 1 << 28
#: Most volumes in a 4D image (a first-level run: 100 000 scans is over 8 hours at TR 0.3 s).
MAX_VOLUMES = 100_000
#: Most bytes of image data held at once: the (n, X, Y, Z) float32 stack of existing maps, or
#: the (n, voxels) float32 in-mask data of second-level inputs (read one image at a time; a
#: first-level run is read one volume at a time and its in-mask series has its own bound).
MAX_IMAGE_BYTES = 16 << 30
_READ_ERRORS = (OSError, EOFError, zlib.error, ValueError)


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
        data = np.asarray(_in_memory(img.dataobj), dtype=dtype)
    except _READ_ERRORS as exc:
        raise InputError(
            f"{img.get_filename() or 'an image'}: the image data cannot be read "
            f"({type(exc).__name__}: {str(exc)[:200]}); the file is truncated or corrupt"
        ) from None
    return data[..., 0] if data.ndim == 4 else data


def _in_memory(proxy: Any) -> Any:
    """``proxy`` reading the inflated bytes :mod:`~glmreport.inputs.prefetch` holds for its
    file (the same values through the same nibabel code), or ``proxy`` itself."""
    if not isinstance(proxy, ArrayProxy) or not isinstance(proxy.file_like, str | os.PathLike):
        return proxy
    data = prefetch.inflated(proxy.file_like) if str(proxy.file_like).endswith(".gz") else None
    if data is None:
        return proxy
    spec = (proxy.shape, proxy.dtype, proxy.offset, proxy.slope, proxy.inter)
    return ArrayProxy(io.BytesIO(data), spec, order=proxy.order)


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
    imgs, shape, affine = open_on_one_grid(paths)
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
            raise InputError(no_finite_value(p))
    return data, affine


def no_finite_value(path: str | Path) -> str:
    """The message for an input without any finite value."""
    return f"{path} contains no finite value (all NaN or infinite)"


def open_on_one_grid(
    paths: Sequence[str | Path],
) -> tuple[list[nib.Nifti1Image], tuple[int, ...], np.ndarray]:
    """Open (headers only) several 3D maps that must share one grid.

    Returns
    -------
    imgs : list of Nifti1Image
    shape : tuple of 3 int
    affine : (4, 4) ndarray

    Raises
    ------
    InputError
        Listing every file whose shape or affine differs from the first one's.
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
    return imgs, tuple(int(s) for s in shape), np.asarray(affine, dtype=float)


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (as read ahead by :mod:`~glmreport.inputs.prefetch` when
    it read the file, unchanged since)."""
    known = prefetch.digest(path)
    return known if known is not None else prefetch.file_sha256(path)
