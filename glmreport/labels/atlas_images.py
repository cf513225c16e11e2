"""Atlas images: reading them, and checking their values against the label names.

A deterministic atlas is a 3D image of integer codes (0 = no label); a probabilistic atlas is a
4D image with one probability volume per label, in 0-1 or in percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from ..config.atlas_registry import atlas_error
from ..config.specs import AtlasSpec
from ..errors import AtlasError
from .label_files import is_background


class AtlasImageError(AtlasError):
    """An atlas image that cannot be read as NIfTI (e.g. a download cut short).

    Attributes
    ----------
    path : Path
        The unreadable file.
    """

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)


def load_atlas_image(path: Path, spec: AtlasSpec) -> tuple[np.ndarray, np.ndarray]:
    """The image's data (3D, or 4D with one volume per label) and its affine.

    Raises
    ------
    AtlasImageError
        The file is not readable as NIfTI.
    AtlasError
        Missing file, wrong number of dimensions, singular affine.
    """
    if not path.is_file():
        raise atlas_error(spec, f"atlas image {path} does not exist.")
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types for bad files
        message = atlas_error(spec, f"atlas image {path} cannot be read as NIfTI ({exc}).")
        raise AtlasImageError(str(message), path=path) from exc
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim not in (3, 4):
        raise atlas_error(
            spec,
            f"atlas image {path} has shape {data.shape}; expected 3D labels or 4D "
            "probabilities (one volume per label).",
        )
    affine = np.asarray(img.affine, dtype=float)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise atlas_error(spec, f"atlas image {path} has an invalid (singular) affine.")
    return data, affine


def as_codes(data: np.ndarray, path: Path, spec: AtlasSpec) -> np.ndarray:
    """A deterministic atlas's values as int64 codes (whole, non-negative numbers only)."""
    if np.issubdtype(data.dtype, np.integer):
        codes = data.astype(np.int64, copy=False)
    else:
        if not np.all(np.isfinite(data)) or not np.array_equal(data, np.rint(data)):
            raise atlas_error(
                spec,
                f"atlas image {path} is 3D but holds non-integer values; a deterministic "
                "atlas needs integer labels (give a 4D image for probabilities).",
            )
        codes = np.rint(data).astype(np.int64)
    if codes.min(initial=0) < 0:
        raise atlas_error(spec, f"atlas image {path} holds negative label values.")
    return codes


def prob_scale(data: np.ndarray, path: Path, spec: AtlasSpec) -> float:
    """1.0 for probabilities in 0-1, 0.01 for percentages in 0-100."""
    vmin = float(data.min())
    vmax = float(data.max())
    if not (np.isfinite(vmin) and np.isfinite(vmax)) or vmin < -1e-6:
        raise atlas_error(spec, f"probabilistic atlas {path} holds negative or non-finite values.")
    if vmax <= 1.0 + 1e-6:
        return 1.0
    if vmax <= 100.0 + 1e-3:
        return 0.01
    raise atlas_error(
        spec,
        f"probabilistic atlas {path} has values up to {vmax:g}; expected probabilities in "
        "0-1 or percentages in 0-100.",
    )


def _few(values: Sequence[int], n: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:n])
    return shown + (f" (and {len(values) - n} more)" if len(values) > n else "")


def present_codes(codes: np.ndarray) -> np.ndarray:
    """The distinct values of non-negative integer codes, increasing (``np.unique``): counted
    by value when the largest is small, which takes a fraction of a sort's time."""
    codes = np.asarray(codes)
    small = codes.size and np.issubdtype(codes.dtype, np.integer) and codes.min() >= 0
    if small and codes.max() < 1 << 20:
        return np.flatnonzero(np.bincount(codes.ravel())).astype(codes.dtype)
    return np.unique(codes)


def deterministic_names(
    codes: np.ndarray, names: dict[int, str], image: Path, labels: Path, spec: AtlasSpec
) -> dict[int, str]:
    """The names of the codes > 0; every value in the image must have one."""
    present = present_codes(codes)
    present = present[present > 0]
    unnamed = [int(v) for v in present if int(v) not in names]
    if unnamed:
        raise atlas_error(
            spec,
            f"atlas {image} and labels {labels} disagree: {len(unnamed)} value(s) in the image "
            f"have no name: {_few(unnamed)}. The label file must list every value (index) "
            "used in the image.",
        )
    return {k: v for k, v in names.items() if k > 0}


def probabilistic_names(
    n_volumes: int, names: dict[int, str], image: Path, labels: Path, spec: AtlasSpec
) -> dict[int, str]:
    """Map volume j to the j-th label (sorted by index; a leading background row dropped)."""
    ordered = sorted(names.items())
    if len(ordered) == n_volumes + 1 and (ordered[0][0] == 0 or is_background(ordered[0][1])):
        ordered = ordered[1:]
    if len(ordered) != n_volumes:
        raise atlas_error(
            spec,
            f"atlas {image} and labels {labels} disagree: the image has {n_volumes} volumes "
            f"(one per label) but the label file names {len(ordered)} labels.",
        )
    return {j + 1: name for j, (_, name) in enumerate(ordered)}
