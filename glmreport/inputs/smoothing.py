"""Gaussian smoothing of volumes (isotropic FWHM in mm)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage

from ..resources import block_threads, usable_cores
from .masking import voxel_sizes

#: Stacks of at least this many values are filtered on a thread pool, in blocks of volumes.
THREADED_SIZE = 1 << 22


def fwhm_to_sigma(fwhm_mm: float, affine: np.ndarray) -> np.ndarray:
    """Per-axis Gaussian sigma in voxels for an isotropic FWHM in mm (anisotropic voxels ok)."""
    return fwhm_mm / np.sqrt(8 * np.log(2)) / voxel_sizes(affine)


def smooth(volumes: np.ndarray, affine: np.ndarray, fwhm_mm: float) -> np.ndarray:
    """Gaussian smoothing of whole volumes, in place where possible.

    Non-finite values are set to 0 first; each axis is filtered separately
    (``scipy.ndimage.gaussian_filter1d``, ``mode='reflect'``, truncated at 4 sigma), x then y
    then z. A stack of volumes is filtered with one call per axis (every line of a volume is
    filtered as it would be alone, so the numbers are those of one volume at a time); a
    large stack is split over a thread pool (the filter releases the GIL), except in a worker
    process or a pool's thread, whose peers already keep the cores busy
    (:func:`glmreport.resources.block_threads`).

    Parameters
    ----------
    volumes : (n, X, Y, Z) or (X, Y, Z) ndarray of float
        Any memory layout (a stack read from NIfTI volumes is best passed as the
        ``(n, X, Y, Z)`` transpose of a C-ordered ``(n, Z, Y, X)`` array).
    affine : (4, 4) ndarray
    fwhm_mm : float
        0 means no smoothing.
    """
    if not fwhm_mm:
        return volumes
    volumes = np.asarray(volumes)
    bad = ~np.isfinite(volumes)
    if bad.any():
        volumes[bad] = 0.0
    sigmas = fwhm_to_sigma(fwhm_mm, affine)
    first = volumes.ndim - 3  # the x axis

    def filter_axes(block: np.ndarray) -> None:
        for axis, sigma in enumerate(sigmas):
            ndimage.gaussian_filter1d(block, sigma, axis=first + axis, output=block)

    workers = block_threads(len(volumes), usable_cores())
    if volumes.ndim == 3 or volumes.size < THREADED_SIZE or workers < 2:
        filter_axes(volumes)
        return volumes
    bounds = np.linspace(0, len(volumes), workers + 1).astype(int)
    blocks = [volumes[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    with ThreadPoolExecutor(max_workers=max(len(blocks), 1)) as pool:
        list(pool.map(filter_axes, blocks))
    return volumes
