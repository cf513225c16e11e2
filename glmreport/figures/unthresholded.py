"""More than the survivors: the unthresholded map, faint, with the survivors outlined.

One row of axial slices: every in-mask voxel of the z map is tinted with the figures' colour
ramps, its opacity growing with |z| up to the lowest threshold shown and capped at
:data:`MAX_ALPHA` (so the anatomy stays visible and nothing looks "significant" by colour
alone); each correction's surviving voxels are outlined (:data:`.mosaic.CONTOUR_STYLES`, one
style per correction). No statistic is computed here: maps and thresholds arrive as numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import contourpy
import numpy as np

from .brain import _SIDE_MARKS, _complete, _mm_label
from .display import Background, orient
from .mosaic import ColorScale, Panel, colorize, compose
from .png import Png
from .style import DEFAULT_DPI, WHITE

__all__ = ["MAX_ALPHA", "plot_unthresholded", "survivor_outlines"]

#: Largest opacity of the tint (reached at the ``full_at`` |z|).
MAX_ALPHA = 0.55


def survivor_outlines(mask2d: np.ndarray) -> tuple[np.ndarray, ...]:
    """Outlines of a 2D survivor mask (oriented for display), as (column, row) polylines.

    The contour at 0.5 of the mask, i.e. around the centres of the edge voxels; a single
    voxel gives a small diamond.
    """
    padded = np.pad(np.asarray(mask2d, dtype=float), 1)
    if not padded.any():
        return ()
    lines = contourpy.contour_generator(z=padded, line_type="Separate").lines(0.5)
    return tuple(np.asarray(line, dtype=float) - 1.0 for line in lines if len(line) > 1)


def tint(
    gray: np.ndarray, brain: np.ndarray, values: np.ndarray, scale: ColorScale, full_at: float
) -> np.ndarray:
    """Anatomy (2D uint8) with the map's colours blended over it (opacity grows with |z|)."""
    rgb = np.repeat(gray[..., None].astype(np.float32), 3, axis=2)
    rgb[~brain & (gray < 8)] = WHITE
    finite = np.isfinite(values)
    shown = np.where(finite, values, 0.0)
    color, _ = colorize(shown, scale)
    alpha = MAX_ALPHA * np.clip(np.abs(shown) / max(full_at, 1e-6), 0.0, 1.0)
    alpha = np.where(finite & (shown != 0), alpha, 0.0)[..., None]
    return np.rint(rgb * (1 - alpha) + color.astype(np.float32) * alpha).astype(np.uint8)


def plot_unthresholded(
    values: np.ndarray,
    background: Background,
    *,
    survivors: Sequence[np.ndarray],
    cuts: Sequence[float],
    vmax: float,
    full_at: float,
    width_in: float = 7.0,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """Axial slices of the unthresholded map, faint, with each set of survivors outlined.

    Parameters
    ----------
    values : (X, Y, Z) ndarray
        The unthresholded z map on the background grid; NaN (or 0) where it has no value.
    background : Background
    survivors : sequence of (X, Y, Z) ndarray of bool
        One survivor mask per correction, on the background grid, outlined in the order of
        :data:`.mosaic.CONTOUR_STYLES`.
    cuts : sequence of float
        Axial slice positions (mm).
    vmax : float
        |z| at the top of the colour ramps.
    full_at : float
        |z| from which the tint is at its largest opacity (e.g. the lowest threshold).
    """
    scale = ColorScale(threshold=0.0, vmax=vmax, two_sided=True, mark_threshold=False)
    masks = [np.asarray(m, dtype=bool) for m in survivors]
    panels = []
    for mm in cuts:
        point = np.zeros(3)
        point[2] = mm
        index = int(background.to_index(_complete(point, background, 2))[2])
        real_mm = float(background.affine[2, 2] * index + background.affine[2, 3])
        image = tint(
            orient(background.gray[:, :, index]),
            orient(background.brain[:, :, index]),
            orient(values[:, :, index]),
            scale,
            full_at,
        )
        panels.append(
            Panel(
                image=image,
                label=_mm_label(2, real_mm),
                marks=_SIDE_MARKS["axial"] if not panels else ("", ""),
                contours=tuple(survivor_outlines(orient(m[:, :, index])) for m in masks),
            )
        )
    return compose([panels], width_in=width_in, dpi=dpi, colorbar=scale, gap=3, max_height_in=1.7)
