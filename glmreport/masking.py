"""Masks, smoothing, and conversion between images and (n_images, n_voxels) arrays."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from nibabel.affines import apply_affine
from scipy import ndimage

from .errors import InputError

AUTO_MASK_RULE = "voxels that are finite and non-zero in every input image (before smoothing)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Masker:
    """A boolean mask on a voxel grid; converts volumes to in-mask vectors and back.

    Attributes
    ----------
    mask : (X, Y, Z) ndarray of bool
    affine : (4, 4) ndarray
    """

    mask: np.ndarray
    affine: np.ndarray

    @property
    def n_voxels(self) -> int:
        return int(self.mask.sum())

    @property
    def voxel_size(self) -> np.ndarray:
        """Voxel edge lengths in mm, (3,)."""
        return voxel_sizes(self.affine)

    def transform(self, volumes: np.ndarray) -> np.ndarray:
        """(n, X, Y, Z) or (X, Y, Z) -> (n, v) or (v,)."""
        if volumes.ndim == 3:
            return volumes[self.mask]
        return volumes[:, self.mask]

    def inverse(self, values: np.ndarray, *, fill: float = 0.0) -> np.ndarray:
        """(v,) -> (X, Y, Z) or (k, v) -> (X, Y, Z, k), ``fill`` outside the mask."""
        values = np.asarray(values)
        if values.ndim == 1:
            out = np.full(
                self.mask.shape, fill, dtype=values.dtype if values.dtype != bool else bool
            )
            out[self.mask] = values
            return out
        out = np.full((*self.mask.shape, values.shape[0]), fill, dtype=values.dtype)
        out[self.mask] = values.T
        return out


def voxel_sizes(affine: np.ndarray) -> np.ndarray:
    """Voxel edge lengths (mm) from an affine's column norms."""
    return np.sqrt(np.sum(np.asarray(affine)[:3, :3] ** 2, axis=0))


def auto_mask(volumes: np.ndarray) -> np.ndarray:
    """The default analysis mask: finite and non-zero in every image.

    Parameters
    ----------
    volumes : (n, X, Y, Z) ndarray

    Returns
    -------
    (X, Y, Z) ndarray of bool
    """
    mask = np.ones(volumes.shape[1:], dtype=bool)
    for vol in volumes:
        mask &= np.isfinite(vol) & (vol != 0)
    return mask


def resample_mask(
    mask: np.ndarray, mask_affine: np.ndarray, shape: tuple[int, ...], affine: np.ndarray
) -> np.ndarray:
    """Resample a mask onto another grid with nearest-neighbour lookup in world space."""
    if mask.shape == tuple(shape) and np.allclose(mask_affine, affine, atol=1e-4):
        return mask.astype(bool)
    ijk = np.indices(shape, dtype=float).reshape(3, -1).T
    src = apply_affine(np.linalg.inv(mask_affine) @ affine, ijk)
    values = ndimage.map_coordinates(
        mask.astype(np.uint8), src.T, order=0, mode="constant", cval=0, prefilter=False
    )
    return values.reshape(shape).astype(bool)


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


def check_mask(mask: np.ndarray, *, source: str) -> None:
    """Refuse an empty analysis mask with a message naming where it came from."""
    if not mask.any():
        raise InputError(
            f"the analysis mask ({source}) contains no voxel: check that the inputs overlap the "
            "mask and are non-zero and finite there"
        )
