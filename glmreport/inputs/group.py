"""Second-level inputs read one image at a time into in-mask rows (memory ~ n x mask voxels).

Each image is read, checked, smoothed on its own and kept only at the voxels that can still
be in the analysis mask, so a run never holds the (n, X, Y, Z) stack of its inputs: the peak
memory is the (n, v) float32 in-mask data plus one volume per reading thread. The mask and the
values are those of :func:`~glmreport.inputs.images.load_images`, then
:func:`~glmreport.inputs.masking.build_mask`, then :func:`~glmreport.inputs.smoothing.smooth`
of the whole stack: the rules only need, per voxel, whether it is finite (and non-zero) in
every image before smoothing, and smoothing treats each volume on its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .images import MAX_IMAGE_BYTES, image_data, no_finite_value, open_on_one_grid
from .masking import AUTO_MASK_RULE, FILE_MASK_RULE, FINITE_RULE, check_mask, mask_from_file
from .smoothing import smooth, voxel_box


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupData:
    """Second-level inputs on the analysis mask.

    Attributes
    ----------
    data : (n, v) ndarray of float32
        Smoothed (if asked) in-mask values, one row per input.
    mask : (X, Y, Z) ndarray of bool
    info : dict
        ``source``, ``rule`` and ``n_voxels`` of the mask, for summary.json.
    affine : (4, 4) ndarray
    """

    data: np.ndarray
    mask: np.ndarray
    info: dict[str, Any]
    affine: np.ndarray


def read_group_inputs(
    paths: Sequence[str | Path], mask_spec: str | Path, *, fwhm_mm: float = 0.0
) -> GroupData:
    """Read 3D maps on one grid into (n, v) in-mask rows, smoothing each as it is read.

    Parameters
    ----------
    paths : sequence of str or Path
        The inputs, all on one grid.
    mask_spec : 'auto' or path
        ``model.mask``: ``auto`` keeps the voxels finite and non-zero in every input; a mask
        file's non-zero voxels are kept where every input is finite (both before smoothing).
    fwhm_mm : float
        Gaussian smoothing of each input (0: none).

    Raises
    ------
    InputError
        Inputs on different grids, an input without a finite value, an empty mask, or more
        in-mask data than :data:`~glmreport.inputs.images.MAX_IMAGE_BYTES`.
    """
    imgs, shape, affine = open_on_one_grid(paths)
    auto = mask_spec == "auto"
    first = None
    if auto:  # the mask lies within the first image's finite, non-zero voxels
        first = _read(imgs[0], paths[0])
        candidates = np.isfinite(first) & (first != 0)
    else:
        candidates = mask_from_file(mask_spec, shape, affine)
    index = np.flatnonzero(candidates)
    needed = len(imgs) * index.size * 4
    if needed > MAX_IMAGE_BYTES:
        raise InputError(
            f"{len(imgs)} inputs with {index.size:,} voxels each in the mask need "
            f"{needed / 2**30:.1f} GiB as float32; at most {MAX_IMAGE_BYTES >> 30} GiB are read"
        )
    data = np.empty((len(imgs), index.size), dtype=np.float32)
    keep = np.ones(index.size, dtype=bool)
    box = voxel_box(candidates)  # only these voxels' smoothed values are kept
    lock = threading.Lock()

    def one(i: int) -> None:
        volume = first if i == 0 and first is not None else _read(imgs[i], paths[i])
        flat = volume.reshape(-1)
        values = flat[index]
        ok = np.isfinite(values) & (values != 0) if auto else np.isfinite(values)
        with lock:
            keep[:] &= ok
        smooth(volume, affine, fwhm_mm, within=box)
        data[i] = flat[index]

    # decompression and filtering release the GIL: inputs are read on a thread pool
    with ThreadPoolExecutor(max_workers=min(len(imgs), os.cpu_count() or 1)) as pool:
        list(pool.map(one, range(len(imgs))))
    first = None
    mask = np.zeros(shape, dtype=bool)
    mask.reshape(-1)[index[keep]] = True
    if auto:
        info: dict[str, Any] = {"source": "auto", "rule": AUTO_MASK_RULE}
    else:
        if not mask.any():
            raise InputError(
                f"the mask {mask_spec} does not overlap the inputs' finite voxels (no voxel in "
                "common)"
            )
        info = {"source": str(mask_spec), "rule": FILE_MASK_RULE + FINITE_RULE}
    check_mask(mask, source=info["source"])
    info["n_voxels"] = int(mask.sum())
    return GroupData(data=_compact(data, keep), mask=mask, info=info, affine=affine)


def _read(img: Any, path: str | Path) -> np.ndarray:
    volume = np.ascontiguousarray(image_data(img), dtype=np.float32)
    if not np.isfinite(volume).any():
        raise InputError(no_finite_value(path))
    return volume


def _compact(data: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``data[:, keep]`` made in the same buffer, row by row (no second (n, v) array)."""
    if keep.all():
        return data
    n, k = data.shape[0], int(keep.sum())
    flat = data.reshape(-1)
    for i in range(n):
        flat[i * k : (i + 1) * k] = data[i, keep]  # row i moves down: its source is read first
    return flat[: n * k].reshape(n, k)
