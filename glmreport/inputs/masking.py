"""The analysis mask, and conversion between images and (n_images, n_voxels) arrays.

``build_mask`` makes the mask of second-level and map inputs (``auto`` or a mask file);
:func:`compute_epi_mask` the automatic mask of first-level runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from nibabel.affines import apply_affine
from scipy import ndimage

from ..errors import InputError
from .images import image_data, load_image

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


def check_mask(mask: np.ndarray, *, source: str) -> None:
    """Refuse an empty analysis mask with a message naming where it came from."""
    if not mask.any():
        raise InputError(
            f"the analysis mask ({source}) contains no voxel: check that the inputs overlap the "
            "mask and are non-zero and finite there"
        )


def compute_epi_mask(
    mean_img_data: np.ndarray,
    *,
    lower_cutoff: float = 0.2,
    upper_cutoff: float = 0.85,
    opening: int = 2,
) -> np.ndarray:
    """Brain mask of an EPI run from its mean image (Nichols' histogram-gap rule).

    The rule, as in nilearn's ``compute_epi_mask``:

    1. non-finite values are set to 0 and all voxel values are sorted;
    2. between the ``lower_cutoff`` and ``upper_cutoff`` fractions of the sorted values, the
       largest jump between consecutive values is found; the threshold is the midpoint of
       that jump (background voxels are dim and numerous, brain voxels bright: the jump
       separates them);
    3. ``mask = mean >= threshold``;
    4. binary erosion (``opening`` iterations), keep the largest 6-connected component,
       dilation (``2 * opening``), erosion (``opening``): removes thin bridges to the scalp
       and smooths the edge;
    5. enclosed holes (ventricles, dark susceptibility spots) are filled.

    Unlike nilearn, the mean image is not smoothed first (nilearn smooths it by 1 mm FWHM,
    which barely changes typical 2-3 mm EPI) and holes are filled.

    Parameters
    ----------
    mean_img_data : (X, Y, Z) ndarray
        Temporal mean of the run (or of all runs).
    lower_cutoff, upper_cutoff : float
        Fractions of the sorted values searched for the gap, ``0 <= lower < upper <= 1``.
    opening : int
        Erosion iterations of the opening (0 = no opening).

    Returns
    -------
    mask : (X, Y, Z) ndarray of bool

    Raises
    ------
    InputError
        The image is constant or the mask comes out empty.
    """
    data = np.nan_to_num(
        np.asarray(mean_img_data, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0
    )
    if data.ndim != 3:
        raise InputError(f"the mean EPI image must be 3D; got shape {data.shape}.")
    if not 0 <= lower_cutoff < upper_cutoff <= 1:
        raise InputError(
            f"need 0 <= lower_cutoff < upper_cutoff <= 1; got {lower_cutoff}, {upper_cutoff}."
        )
    values = np.sort(data, axis=None)
    lo = int(np.floor(lower_cutoff * values.size))
    hi = min(int(np.floor(upper_cutoff * values.size)), values.size - 1)
    if hi <= lo:
        raise InputError("the mean EPI image has too few voxels to compute a mask.")
    gaps = values[lo + 1 : hi + 1] - values[lo:hi]
    i = int(gaps.argmax()) + lo
    if gaps[i - lo] <= 0:
        raise InputError("the mean EPI image is constant: cannot separate brain from background.")
    threshold = 0.5 * (values[i] + values[i + 1])
    mask = data >= threshold
    if opening:
        mask = ndimage.binary_erosion(mask, iterations=int(opening))
    if not mask.any():
        raise InputError(
            "the automatic EPI mask is empty (eroded away); give an explicit mask image."
        )
    labels, n_labels = ndimage.label(mask)
    if n_labels > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        mask = labels == sizes.argmax()
    if opening:
        mask = ndimage.binary_dilation(mask, iterations=2 * int(opening))
        mask = ndimage.binary_erosion(mask, iterations=int(opening))
    return ndimage.binary_fill_holes(mask)


def build_mask(
    spec: str | Path, volumes: np.ndarray, affine: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The analysis mask from ``model.mask`` (``auto`` or a NIfTI file) and the inputs.

    Returns
    -------
    mask : (X, Y, Z) ndarray of bool
    info : dict
        ``source``, ``rule`` and ``n_voxels`` for summary.json.
    """
    if spec == "auto":
        mask = auto_mask(volumes)
        info = {"source": "auto", "rule": AUTO_MASK_RULE}
    else:
        img = load_image(spec)
        given = image_data(img) != 0
        mask = resample_mask(given, img.affine, volumes.shape[1:], affine)
        finite = np.all(np.isfinite(volumes), axis=0)
        mask &= finite
        info = {
            "source": str(spec),
            "rule": "non-zero voxels of the mask file (nearest-neighbour onto the data grid), "
            "where every input is finite",
        }
        if not mask.any():
            raise InputError(
                f"the mask {spec} does not overlap the inputs' finite voxels (no voxel in common)"
            )
    check_mask(mask, source=info["source"])
    info["n_voxels"] = int(mask.sum())
    return mask, info
