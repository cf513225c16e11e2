"""World-coordinate resampling: the one way a volume moves from one voxel grid to another.

Every grid is a shape and a voxel-to-world (mm) affine. A target voxel centre is mapped to
the source grid's voxel coordinates (``inv(source_affine) @ target_affine``) and the source
is read there, in one of two ways:

- **nearest** (labels, masks, thresholded maps): the source voxel whose extent holds the
  point, index ``floor(x + 0.5)``; a point exactly half-way between two centres goes to the
  higher index (with a tolerance of :data:`HALF_WAY_TOLERANCE` voxel, so rounding noise in
  the affines cannot split ties either way). A point outside every source voxel (beyond the
  grid's outer voxel faces) reads ``fill`` (0).
- **linear** (values: probabilities, anatomy): trilinear interpolation between the eight
  neighbouring centres (:func:`scipy.ndimage.map_coordinates`, ``order=1``), the source
  taken as 0 beyond its outer centres (``mode='grid-constant'``), so values fade to 0
  across the outermost half voxel and are 0 further out.

Grids that differ only by a whole-voxel shift (same voxel axes and sizes; the shift within
1e-3 voxel of an integer) are copied block-wise, which gives the same values as both rules.
Whole grids are resampled one target slice at a time (memory grows with a slice, not with
the volume), except by the nearest rule on an axis-aligned map (each target axis read from
one source axis, as between MNI grids of different voxel sizes), which is gathered axis by
axis in one step (a temporary the size of the target volume).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage

#: Voxels added before rounding to the nearest index: exact halves (and halves off by
#: rounding noise) go to the higher index.
HALF_WAY_TOLERANCE = 1e-6
#: Largest distance (voxels) from an integer of a shift still copied block-wise.
SHIFT_TOLERANCE = 1e-3


def voxel_transform(source_affine: np.ndarray, target_affine: np.ndarray) -> np.ndarray:
    """The 4 x 4 map from target voxel indices to source voxel coordinates.

    Parameters
    ----------
    source_affine, target_affine : (4, 4) ndarray
        Voxel-to-world affines of the grid read from and of the grid written to.

    Returns
    -------
    (4, 4) ndarray
        ``inv(source_affine) @ target_affine``.
    """
    return np.linalg.inv(np.asarray(source_affine, dtype=float)) @ np.asarray(
        target_affine, dtype=float
    )


def apply_transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4 x 4 affine to points.

    Parameters
    ----------
    matrix : (4, 4) ndarray
    points : (n, 3) ndarray

    Returns
    -------
    (n, 3) ndarray of float
    """
    matrix = np.asarray(matrix, dtype=float)
    return np.asarray(points, dtype=float) @ matrix[:3, :3].T + matrix[:3, 3]


def world_to_voxels(affine: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    """World coordinates (mm) to fractional voxel coordinates of a grid.

    Parameters
    ----------
    affine : (4, 4) ndarray
        Voxel-to-world affine of the grid.
    xyz : (n, 3) ndarray
        Points in mm.

    Returns
    -------
    (n, 3) ndarray of float
    """
    return apply_transform(np.linalg.inv(np.asarray(affine, dtype=float)), xyz)


def nearest_index(ijk: np.ndarray) -> np.ndarray:
    """Index of the voxel holding each point (half-way goes to the higher index).

    Parameters
    ----------
    ijk : (n, 3) ndarray
        Fractional voxel coordinates.

    Returns
    -------
    (n, 3) ndarray of int64
    """
    return np.floor(np.asarray(ijk, dtype=float) + 0.5 + HALF_WAY_TOLERANCE).astype(np.int64)


def sample_nearest(data: np.ndarray, ijk: np.ndarray, *, fill: object = 0) -> np.ndarray:
    """Values of the voxels holding each point; ``fill`` outside the grid.

    Parameters
    ----------
    data : (X, Y, Z) ndarray
        Source volume (labels, a mask ...).
    ijk : (n, 3) ndarray
        Fractional voxel coordinates in ``data``'s grid.
    fill : scalar
        Value of points outside the grid.

    Returns
    -------
    (n,) ndarray of ``data.dtype``
    """
    idx = nearest_index(ijk)
    inside = np.all((idx >= 0) & (idx < np.asarray(data.shape[:3])), axis=1)
    out = np.full(len(idx), fill, dtype=data.dtype)
    sel = idx[inside]
    out[inside] = data[sel[:, 0], sel[:, 1], sel[:, 2]]
    return out


def sample_linear(volume: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of a volume at points, fading to 0 beyond its outer centres.

    Parameters
    ----------
    volume : (X, Y, Z) ndarray
    ijk : (n, 3) ndarray
        Fractional voxel coordinates in ``volume``'s grid.

    Returns
    -------
    (n,) ndarray of float64
    """
    return ndimage.map_coordinates(
        volume,
        np.asarray(ijk, dtype=float).T,
        order=1,
        mode="grid-constant",
        cval=0.0,
        prefilter=False,
        output=np.float64,
    )


def resample_nearest(
    data: np.ndarray,
    affine: np.ndarray,
    target_shape: Sequence[int],
    target_affine: np.ndarray,
    *,
    fill: object = 0,
) -> np.ndarray:
    """A volume on another grid, nearest neighbour in world space.

    Parameters
    ----------
    data : (X, Y, Z) ndarray
    affine : (4, 4) ndarray
        Voxel-to-world affine of ``data``.
    target_shape : sequence of 3 int
    target_affine : (4, 4) ndarray
    fill : scalar
        Value of target voxels outside ``data``'s grid.

    Returns
    -------
    (X', Y', Z') ndarray of ``data.dtype``
    """
    data = _volume(data)
    to_source = voxel_transform(affine, target_affine)
    if whole_voxel_shift(to_source) is None and _axis_aligned(to_source):
        return _nearest_axis_by_axis(data, to_source, target_shape, fill)
    return _resample(
        data,
        to_source,
        target_shape,
        lambda ijk: sample_nearest(data, ijk, fill=fill),
        dtype=data.dtype,
        fill=fill,
    )


def _axis_aligned(to_source: np.ndarray) -> bool:
    """Each target voxel axis maps onto one source axis alone (a diagonal linear part)."""
    linear = np.asarray(to_source[:3, :3])
    return bool(np.all(linear[~np.eye(3, dtype=bool)] == 0.0))


def _nearest_axis_by_axis(
    data: np.ndarray, to_source: np.ndarray, target_shape: Sequence[int], fill: object
) -> np.ndarray:
    """:func:`resample_nearest` for an axis-aligned map, one axis at a time.

    A source index then depends on one target index alone: each axis's indices are computed
    once, with the arithmetic of :func:`apply_transform` (the other axes' terms are exact
    zeros), and the volume is gathered in one step: the same values as point by point.
    """
    shape = tuple(int(n) for n in target_shape)
    out = np.full(shape, fill, dtype=data.dtype)
    targets, sources = [], []
    for axis in range(3):
        coords = np.arange(shape[axis], dtype=np.float64) * float(to_source[axis, axis])
        index = nearest_index(coords + float(to_source[axis, 3]))
        inside = (index >= 0) & (index < data.shape[axis])
        targets.append(np.flatnonzero(inside))
        sources.append(index[inside])
    if all(t.size for t in targets):
        out[np.ix_(*targets)] = data[np.ix_(*sources)]
    return out


def resample_linear(
    data: np.ndarray,
    affine: np.ndarray,
    target_shape: Sequence[int],
    target_affine: np.ndarray,
) -> np.ndarray:
    """A volume on another grid, trilinear in world space (0 outside ``data``'s grid).

    Parameters
    ----------
    data : (X, Y, Z) ndarray
    affine : (4, 4) ndarray
        Voxel-to-world affine of ``data``.
    target_shape : sequence of 3 int
    target_affine : (4, 4) ndarray

    Returns
    -------
    (X', Y', Z') ndarray of float64
    """
    data = _volume(data)
    return _resample(
        data,
        voxel_transform(affine, target_affine),
        target_shape,
        lambda ijk: sample_linear(data, ijk),
        dtype=np.dtype(np.float64),
        fill=0.0,
    )


def _volume(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data)
    if data.ndim != 3:
        raise ValueError(f"expected a 3D volume, got shape {data.shape}")
    return data


def _resample(
    data: np.ndarray,
    to_source: np.ndarray,
    target_shape: Sequence[int],
    read: Callable[[np.ndarray], np.ndarray],
    *,
    dtype: np.dtype,
    fill: object,
) -> np.ndarray:
    """Fill the target grid slice by slice with ``read(source voxel coordinates)``."""
    shape = tuple(int(s) for s in target_shape)
    shift = whole_voxel_shift(to_source)
    if shift is not None:
        return _shifted_copy(data.astype(dtype, copy=False), shift, shape, fill)
    out = np.empty(shape, dtype=dtype)
    ii, jj = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    plane = np.column_stack([ii.ravel(), jj.ravel(), np.zeros(ii.size)]).astype(np.float64)
    for k in range(shape[2]):
        plane[:, 2] = k
        out[:, :, k] = read(apply_transform(to_source, plane)).reshape(shape[0], shape[1])
    return out


def whole_voxel_shift(to_source: np.ndarray) -> np.ndarray | None:
    """The integer shift when a target-to-source voxel map is one, else ``None``.

    Parameters
    ----------
    to_source : (4, 4) ndarray
        Target voxel -> source voxel (see :func:`voxel_transform`).

    Returns
    -------
    (3,) ndarray of int or None
    """
    linear, offset = to_source[:3, :3], to_source[:3, 3]
    if np.allclose(linear, np.eye(3)) and np.allclose(
        offset, np.rint(offset), atol=SHIFT_TOLERANCE
    ):
        return np.rint(offset).astype(int)
    return None


def _shifted_copy(
    data: np.ndarray, shift: np.ndarray, shape: tuple[int, ...], fill: object
) -> np.ndarray:
    """Copy the block the two grids share (target voxel ``t`` reads source ``t + shift``)."""
    out = np.full(shape, fill, dtype=data.dtype)
    src = [
        slice(max(s, 0), min(s + n, m)) for s, n, m in zip(shift, shape, data.shape, strict=True)
    ]
    dst = [slice(sl.start - s, sl.stop - s) for sl, s in zip(src, shift, strict=True)]
    if all(sl.stop > sl.start for sl in src):
        out[tuple(dst)] = data[tuple(src)]
    return out
