"""The display grid: the anatomical :class:`Background` and maps put onto it.

Every brain figure is drawn on one axis-aligned RAS grid with isotropic voxels (the
background's), cropped to the brain; maps are resampled onto it nearest-neighbour through
:mod:`glmreport.inputs.resample`. No statistic is computed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import contourpy
import nibabel as nib
import numpy as np

from ..inputs.resample import resample_linear, resample_nearest
from ..resources import template_image


@dataclass(frozen=True, slots=True, kw_only=True)
class Background:
    """The anatomical grid every brain figure is drawn on.

    An axis-aligned RAS grid with isotropic voxels, cropped to the brain with a small margin.

    Attributes
    ----------
    gray : (X, Y, Z) ndarray of uint8
        Background intensity, 0 (dark) to 255, already windowed for display.
    brain : (X, Y, Z) ndarray of bool
        Brain mask on the same grid (used for the glass-brain outline).
    affine : (4, 4) ndarray
        Voxel-to-world (mm) affine; diagonal with positive voxel sizes.
    outlines : tuple of 3 tuples of (n, 2) ndarray
        Outline of the brain's projection for the sagittal, coronal and axial panels, in
        panel pixel coordinates (column, row) of the oriented 2D arrays.
    """

    gray: np.ndarray
    brain: np.ndarray
    affine: np.ndarray
    outlines: tuple[tuple[np.ndarray, ...], ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.gray.shape  # type: ignore[return-value]

    @property
    def voxel_size(self) -> float:
        return float(self.affine[0, 0])

    def to_world(self, ijk: np.ndarray) -> np.ndarray:
        """Voxel indices ``(..., 3)`` to world mm ``(..., 3)``."""
        return nib.affines.apply_affine(self.affine, ijk)

    def to_index(self, xyz: Sequence[float] | np.ndarray) -> np.ndarray:
        """World mm ``(..., 3)`` to the nearest voxel indices, clipped to the grid."""
        ijk = nib.affines.apply_affine(np.linalg.inv(self.affine), np.asarray(xyz, float))
        ijk = np.rint(ijk).astype(int)
        return np.clip(ijk, 0, np.array(self.shape) - 1)


def orient(a2d: np.ndarray) -> np.ndarray:
    """2D array indexed (horizontal, vertical) -> image rows top-down, columns left-right.

    Sagittal panels show anterior to the right; coronal and axial panels show the subject's
    left on the left (neurological convention), superior (or anterior) at the top.
    """
    return a2d.T[::-1]


def _ras_grid(affine: np.ndarray, shape: Sequence[int]) -> tuple[np.ndarray, tuple[int, ...]]:
    """An axis-aligned RAS grid with isotropic voxels covering the image's bounding box."""
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    linear = affine[:3, :3]
    if np.allclose(linear, np.diag(np.diag(linear))) and np.all(np.diag(linear) > 0):
        if np.allclose(zooms, zooms[0]):
            return affine, tuple(int(s) for s in shape)
    step = float(zooms.min())
    corners = np.array(
        [
            [i, j, k]
            for i in (0, shape[0] - 1)
            for j in (0, shape[1] - 1)
            for k in (0, shape[2] - 1)
        ],
        dtype=float,
    )
    world = nib.affines.apply_affine(affine, corners)
    low, high = world.min(axis=0), world.max(axis=0)
    new_shape = tuple(int(n) for n in np.floor((high - low) / step + 1e-6).astype(int) + 1)
    new_affine = np.eye(4)
    new_affine[:3, :3] = np.eye(3) * step
    new_affine[:3, 3] = low
    return new_affine, new_shape


def resample(
    data: np.ndarray,
    affine: np.ndarray,
    target_affine: np.ndarray,
    target_shape: Sequence[int],
    *,
    order: int = 0,
) -> np.ndarray:
    """Resample a volume onto another grid through world coordinates (display only).

    The package's one resampling (:mod:`glmreport.inputs.resample`): nearest neighbour or
    trilinear, zero outside ``data``'s field of view.

    Parameters
    ----------
    data : (X, Y, Z) ndarray
    affine : (4, 4) ndarray
        Voxel-to-world affine of ``data``.
    target_affine : (4, 4) ndarray
    target_shape : tuple of 3 int
    order : {0, 1}
        0 (nearest) for thresholded maps and masks, 1 (trilinear) for anatomy.

    Returns
    -------
    (X', Y', Z') ndarray of float32
        Zero outside ``data``'s field of view.
    """
    data = np.asarray(data, dtype=np.float32)
    if order == 0:
        out = resample_nearest(data, affine, target_shape, target_affine, fill=0.0)
    elif order == 1:
        out = resample_linear(data, affine, target_shape, target_affine)
    else:
        raise ValueError(f"order must be 0 (nearest) or 1 (trilinear), got {order!r}")
    return out.astype(np.float32, copy=False)


def _outline(mip: np.ndarray) -> tuple[np.ndarray, ...]:
    """Contours at 0.5 of an oriented 2D mask projection, as (column, row) pixel centres."""
    padded = np.pad(mip.astype(float), 1)
    lines = contourpy.contour_generator(z=padded, line_type="Separate").lines(0.5)
    return tuple(np.asarray(line, dtype=float) - 1.0 for line in lines if len(line) > 8)


@lru_cache(maxsize=4)
def load_background(t1: str | None = None, mask: str | None = None) -> Background:
    """Load (and cache) the anatomical background.

    Parameters
    ----------
    t1 : str, optional
        Path of a T1-weighted image; defaults to the bundled MNI152NLin2009cAsym 2 mm template.
    mask : str, optional
        Path of its brain mask; defaults to the bundled template mask when ``t1`` is the
        default, else to ``t1 > 0``.
    """
    t1_path = Path(t1) if t1 else template_image("T1w")
    t1_img = nib.load(t1_path)
    t1_data = np.asarray(t1_img.dataobj, dtype=np.float32)
    if t1_data.ndim > 3:
        t1_data = t1_data[..., 0]
    if mask:
        mask_img = nib.load(mask)
    elif t1 is None:
        mask_img = nib.load(template_image("mask"))
    else:
        mask_img = None
    affine, shape = _ras_grid(t1_img.affine, t1_data.shape)
    gray = resample(t1_data, t1_img.affine, affine, shape, order=1)
    if mask_img is not None:
        brain = resample(np.asarray(mask_img.dataobj), mask_img.affine, affine, shape) > 0.5
    else:
        brain = gray > 0
    # Crop to the brain with a margin of 4 mm.
    idx = np.argwhere(brain)
    if len(idx):
        margin = int(math.ceil(4.0 / affine[0, 0]))
        low = np.maximum(idx.min(axis=0) - margin, 0)
        high = np.minimum(idx.max(axis=0) + margin + 1, np.array(shape))
        crop = tuple(slice(a, b) for a, b in zip(low, high, strict=True))
        gray, brain = gray[crop], brain[crop]
        shifted = affine.copy()
        shifted[:3, 3] = nib.affines.apply_affine(affine, low)
        affine = shifted
    inside = gray[brain] if brain.any() else gray[gray > 0]
    top = float(np.percentile(inside, 99.5)) if inside.size else 1.0
    gray8 = np.clip(gray / (top or 1.0) * 255.0, 0, 255).astype(np.uint8)
    outlines = tuple(_outline(orient(brain.any(axis=axis))) for axis in range(3))
    return Background(gray=gray8, brain=brain, affine=affine, outlines=outlines)


def to_display(data: np.ndarray, affine: np.ndarray, background: Background) -> np.ndarray:
    """Put a (thresholded) map onto the background grid, nearest-neighbour.

    Parameters
    ----------
    data : (X, Y, Z) ndarray
    affine : (4, 4) ndarray
    background : Background

    Returns
    -------
    (X', Y', Z') ndarray of float32
    """
    return resample(data, affine, background.affine, background.shape, order=0)
