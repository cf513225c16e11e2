"""Gaussian smoothing of volumes (isotropic FWHM in mm)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage

from .masking import voxel_sizes


def fwhm_to_sigma(fwhm_mm: float, affine: np.ndarray) -> np.ndarray:
    """Per-axis Gaussian sigma in voxels for an isotropic FWHM in mm (anisotropic voxels ok)."""
    return fwhm_mm / np.sqrt(8 * np.log(2)) / voxel_sizes(affine)


def smooth(volumes: np.ndarray, affine: np.ndarray, fwhm_mm: float) -> np.ndarray:
    """Gaussian smoothing of whole volumes, in place where possible.

    Non-finite values are set to 0 first; each axis is filtered separately
    (``scipy.ndimage.gaussian_filter1d``, ``mode='reflect'``, truncated at 4 sigma). Several
    volumes are smoothed on a thread pool (the filter releases the GIL).

    Parameters
    ----------
    volumes : (n, X, Y, Z) or (X, Y, Z) ndarray of float
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

    def one(volume: np.ndarray) -> None:
        for axis, sigma in enumerate(sigmas):
            ndimage.gaussian_filter1d(volume, sigma, axis=axis, output=volume)

    if volumes.ndim == 3:
        one(volumes)
        return volumes
    workers = min(len(volumes), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        list(pool.map(one, volumes))
    return volumes
