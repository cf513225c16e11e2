"""Small volumes (``svc``) on the data grid: a sphere or the non-zero voxels of a mask image.

A sphere holds the voxels whose centres lie within ``radius_mm`` of ``center_mm`` (world
coordinates, distance ``<=`` the radius, as SPM's spherical volume); a mask image is read as
the analysis mask is (non-zero voxels, nearest neighbour onto the data grid). The region is
the part of either inside the analysis mask; an empty one is an error naming the entry.
"""

from __future__ import annotations

import numpy as np
from nibabel.affines import apply_affine

from ..config.specs import SvcSpec
from ..errors import ConfigError, GlmReportError
from .masking import mask_from_file

__all__ = ["small_volume", "sphere_mask"]


def sphere_mask(
    center_mm: tuple[float, float, float], radius_mm: float, shape: tuple[int, ...], affine
) -> np.ndarray:
    """The voxels of a grid whose centres lie within ``radius_mm`` of ``center_mm``.

    Parameters
    ----------
    center_mm : 3 floats
        World coordinates (mm).
    radius_mm : float
    shape : 3 ints
        Grid shape.
    affine : (4, 4) ndarray
        Voxel-to-world affine of the grid.

    Returns
    -------
    (X, Y, Z) ndarray of bool
    """
    ijk = np.indices(tuple(shape[:3])).reshape(3, -1).T
    xyz = apply_affine(np.asarray(affine, dtype=np.float64), ijk)
    inside = np.sum((xyz - np.asarray(center_mm, dtype=np.float64)) ** 2, axis=1)
    return (inside <= float(radius_mm) ** 2).reshape(tuple(shape[:3]))


def small_volume(svc: SvcSpec, *, mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """The in-mask voxels of a small volume.

    Parameters
    ----------
    svc : SvcSpec
    mask : (X, Y, Z) ndarray of bool
        The analysis mask.
    affine : (4, 4) ndarray
        Voxel-to-world affine of the data grid.

    Returns
    -------
    (v,) ndarray of bool
        Over the analysis mask's voxels (C order), True inside the region.

    Raises
    ------
    ConfigError
        The region has no voxel in the analysis mask (or the mask image cannot be read),
        naming the entry (``svc.where``).
    """
    mask = np.asarray(mask, dtype=bool)
    if svc.mask is not None:
        try:
            region = mask_from_file(svc.mask, mask.shape, affine)
        except GlmReportError as exc:
            raise ConfigError(f"the small-volume mask: {exc}", path=svc.where) from None
    else:
        region = sphere_mask(svc.center_mm, svc.radius_mm, mask.shape, affine)  # type: ignore[arg-type]
    if not region.any():
        raise ConfigError(
            f"the small volume ({svc.describe()}) contains no voxel of the data grid",
            path=svc.where,
        )
    inside = region[mask]
    if not inside.any():
        raise ConfigError(
            f"the small volume ({svc.describe()}, {int(region.sum())} voxels) lies outside the "
            "analysis mask: no voxel in common",
            path=svc.where,
        )
    return inside
