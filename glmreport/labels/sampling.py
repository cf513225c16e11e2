"""Looking atlases up in world coordinates (through :mod:`glmreport.inputs.resample`).

Grid voxel -> world (data affine) -> atlas voxel (inverse atlas affine). Labels take the
nearest atlas voxel (a point exactly half-way goes to the higher index), probabilities are
interpolated trilinearly; outside the atlas field of view every code is 0 and every
probability 0 (fading to 0 across the atlas's outermost half voxel).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..inputs.resample import (
    apply_transform,
    sample_linear,
    sample_nearest,
    voxel_transform,
    world_to_voxels,
)
from .atlas import LoadedAtlas

__all__ = ["ResampledAtlas", "resample_atlas", "sample_atlas"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResampledAtlas:
    """An atlas sampled at the in-mask voxels of one grid.

    Attributes
    ----------
    codes : (v,) ndarray of int
        Label code per in-mask voxel (probabilistic: code of the most probable label, 0 where
        every probability is 0 or outside the atlas).
    max_prob : (v,) ndarray of float32 or None
        Probabilistic atlases: probability (0-1) of that most probable label.
    """

    codes: np.ndarray
    max_prob: np.ndarray | None = None


def _require_ok(atlas: LoadedAtlas) -> None:
    if not atlas.ok or atlas.data is None or atlas.affine is None:
        raise ValueError(f"atlas '{atlas.name}' is {atlas.status}: {atlas.message}")


def sample_atlas(atlas: LoadedAtlas, xyz: np.ndarray) -> np.ndarray:
    """Look up an atlas at world coordinates.

    Parameters
    ----------
    atlas : LoadedAtlas
        Must be ``ok``.
    xyz : (n, 3) ndarray
        World coordinates in mm.

    Returns
    -------
    (n,) ndarray of int or (n, n_labels) ndarray of float
        Deterministic: code of the nearest atlas voxel (0 outside the atlas). Probabilistic:
        trilinearly interpolated probability (0-1) of each label (column ``j`` = code
        ``j + 1``).
    """
    _require_ok(atlas)
    xyz = np.atleast_2d(np.asarray(xyz, dtype=float))
    ijk = world_to_voxels(atlas.affine, xyz)
    if atlas.kind == "deterministic":
        return sample_nearest(atlas.data, ijk)
    n_labels = atlas.data.shape[3]
    out = np.empty((len(xyz), n_labels))
    for j in range(n_labels):
        out[:, j] = sample_linear(atlas.data[..., j], ijk)
    return out * atlas.prob_scale


def _grid_key(mask: np.ndarray, affine: np.ndarray) -> tuple[Any, ...]:
    digest = hashlib.sha1(np.packbits(mask.astype(bool), axis=None).tobytes()).hexdigest()
    return (mask.shape, np.round(np.asarray(affine, dtype=float), 9).tobytes(), digest)


def resample_atlas(atlas: LoadedAtlas, *, mask: np.ndarray, affine: np.ndarray) -> ResampledAtlas:
    """Sample an atlas at the in-mask voxel centres of a grid (cached per grid).

    Parameters
    ----------
    atlas : LoadedAtlas
        Must be ``ok``.
    mask : (X, Y, Z) ndarray of bool
    affine : (4, 4) ndarray
        Voxel -> world of the grid.

    Returns
    -------
    ResampledAtlas
        ``codes`` (v,) in the order of ``volume[mask]``; for probabilistic atlases the code
        of the most probable label and ``max_prob`` its probability (0-1).
    """
    _require_ok(atlas)
    mask = np.asarray(mask, dtype=bool)
    key = _grid_key(mask, affine)
    hit = atlas.cache.get(key)
    if hit is not None:
        return hit
    ijk_grid = np.argwhere(mask).astype(float)  # C order == volume[mask]
    ijk = apply_transform(voxel_transform(atlas.affine, affine), ijk_grid)
    if atlas.kind == "deterministic":
        result = ResampledAtlas(codes=sample_nearest(atlas.data, ijk))
    else:
        best = np.zeros(len(ijk))
        codes = np.zeros(len(ijk), dtype=np.int64)
        for j in range(atlas.data.shape[3]):
            prob = sample_linear(atlas.data[..., j], ijk)
            better = prob > best
            best[better] = prob[better]
            codes[better] = j + 1
        result = ResampledAtlas(codes=codes, max_prob=(best * atlas.prob_scale).astype(np.float32))
    atlas.cache[key] = result
    return result
