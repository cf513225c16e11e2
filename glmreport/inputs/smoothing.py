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


def smooth(
    volumes: np.ndarray,
    affine: np.ndarray,
    fwhm_mm: float,
    *,
    within: tuple[slice, ...] | None = None,
) -> np.ndarray:
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
    within : tuple of 3 slices, optional
        The box (x, y, z) of the only voxels whose values are wanted (a mask's box, see
        :func:`voxel_box`). The filters then run on that box widened by their radius on each
        side (or to the volume's edge): along an axis a filter reads no farther than its
        radius, so the voxels of the box get exactly the values the whole volume's filtering
        gives them, and the voxels outside it are left partly filtered.
    """
    if not fwhm_mm:
        return volumes
    volumes = np.asarray(volumes)
    sigmas = fwhm_to_sigma(fwhm_mm, affine)
    first = volumes.ndim - 3  # the x axis
    whole = volumes
    if within is not None:
        volumes = volumes[(Ellipsis, *_widened(within, volumes.shape[first:], sigmas))]
    bad = ~np.isfinite(volumes)
    if bad.any():
        volumes[bad] = 0.0

    def filter_axes(block: np.ndarray) -> None:
        for axis, sigma in enumerate(sigmas):
            ndimage.gaussian_filter1d(
                block, sigma, axis=first + axis, output=block, truncate=TRUNCATE
            )

    workers = block_threads(len(volumes), usable_cores())
    if volumes.ndim == 3 or volumes.size < THREADED_SIZE or workers < 2:
        filter_axes(volumes)
        return whole
    bounds = np.linspace(0, len(volumes), workers + 1).astype(int)
    blocks = [volumes[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    with ThreadPoolExecutor(max_workers=max(len(blocks), 1)) as pool:
        list(pool.map(filter_axes, blocks))
    return whole


#: ``scipy.ndimage.gaussian_filter1d``'s kernel: radius ``int(TRUNCATE * sigma + 0.5)``.
TRUNCATE = 4.0


def _widened(
    box: tuple[slice, ...], shape: tuple[int, ...], sigmas: np.ndarray
) -> tuple[slice, ...]:
    """``box`` widened on each side by the Gaussian kernel's radius along each axis."""
    out = []
    for part, n, sigma in zip(box, shape, sigmas, strict=True):
        radius = int(TRUNCATE * float(sigma) + 0.5)
        start, stop, _ = part.indices(n)
        out.append(slice(max(0, start - radius), min(n, stop + radius)))
    return tuple(out)


def voxel_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """The smallest box holding the voxels of a 3D boolean ``mask`` (None if it has none)."""
    box = []
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=others))
        if not hit.size:
            return None
        box.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return tuple(box)
