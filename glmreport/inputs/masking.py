"""The analysis mask, and conversion between images and (n_images, n_voxels) arrays.

:func:`build_mask` is the one place an analysis mask is made, for every level, from
``model.mask``: a mask file (its non-zero voxels, nearest neighbour onto the data grid through
:mod:`.resample`) or ``auto`` — :func:`auto_mask` for second-level inputs and maps (finite and
non-zero in every image), :func:`compute_epi_mask` of the runs' mean image for first-level
BOLD runs. :class:`Masker` converts volumes to in-mask vectors and back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import InputError
from .bold import run_mean_image
from .images import image_data, load_image
from .resample import resample_nearest

#: ``rule`` of each kind of mask, as summary.json states it.
AUTO_MASK_RULE = "voxels that are finite and non-zero in every input image (before smoothing)"
EPI_MASK_RULE = (
    "EPI mask from the mean of the runs' mean images: threshold at the largest gap of the "
    "intensity histogram between its 20 % and 85 % quantiles, largest connected component, "
    "morphological opening and hole filling"
)
FILE_MASK_RULE = "non-zero voxels of the mask file (nearest-neighbour onto the data grid)"
FINITE_RULE = ", where every input is finite"


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


def mask_from_file(path: str | Path, shape: Sequence[int], affine: np.ndarray) -> np.ndarray:
    """The non-zero voxels of a mask image on the data grid (nearest neighbour).

    Parameters
    ----------
    path : str or Path
        NIfTI mask image, on any grid.
    shape : sequence of 3 int
        Data grid shape.
    affine : (4, 4) ndarray
        Data grid voxel-to-world affine.

    Returns
    -------
    (X, Y, Z) ndarray of bool
        False where the data grid lies outside the mask image.
    """
    img = load_image(path)
    return resample_nearest(image_data(img) != 0, img.affine, shape, affine, fill=False)


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
    spec: str | Path,
    *,
    affine: np.ndarray,
    volumes: np.ndarray | None = None,
    runs: Sequence[tuple[Any, str]] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The analysis mask from ``model.mask`` (``auto`` or a NIfTI file), for every level.

    Parameters
    ----------
    spec : 'auto' or path
        ``model.mask``.
    affine : (4, 4) ndarray
        Voxel-to-world affine of the data grid.
    volumes : (n, X, Y, Z) ndarray, optional
        Second-level inputs or maps: ``auto`` keeps the voxels finite and non-zero in every
        image (:func:`auto_mask`); a mask file is restricted to voxels finite in every image.
    runs : sequence of (4D image, source), optional
        First-level BOLD runs on the data grid (``source`` names the run in messages):
        ``auto`` is the EPI mask of the mean of the runs' mean images
        (:func:`compute_epi_mask`). Exactly one of ``volumes`` and ``runs`` is given.

    Returns
    -------
    mask : (X, Y, Z) ndarray of bool
    info : dict
        ``source``, ``rule`` and ``n_voxels`` for summary.json.

    Raises
    ------
    InputError
        The mask is empty, or a mask file does not overlap the inputs' finite voxels.
    """
    if (volumes is None) == (runs is None):
        raise ValueError("give exactly one of volumes and runs")
    shape = volumes.shape[1:] if volumes is not None else runs[0][0].shape[:3]
    if spec == "auto":
        if volumes is not None:
            mask, rule = auto_mask(volumes), AUTO_MASK_RULE
        else:
            mean = np.mean([run_mean_image(img, source=src) for img, src in runs], axis=0)
            mask, rule = compute_epi_mask(mean), EPI_MASK_RULE
        info: dict[str, Any] = {"source": "auto", "rule": rule}
    else:
        mask, rule = mask_from_file(spec, shape, affine), FILE_MASK_RULE
        if volumes is not None:
            mask &= np.all(np.isfinite(volumes), axis=0)
            rule += FINITE_RULE
            if not mask.any():
                raise InputError(
                    f"the mask {spec} does not overlap the inputs' finite voxels (no voxel in "
                    "common)"
                )
        info = {"source": str(spec), "rule": rule}
    check_mask(mask, source=info["source"])
    info["n_voxels"] = int(mask.sum())
    return mask, info
