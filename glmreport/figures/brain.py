"""Brain figures: glass brains, slice rows, orthogonal views and cluster thumbnails.

Maps arrive already thresholded and on the background grid (:func:`.display.to_display`);
thresholds arrive as numbers read from ``summary.json`` and are only drawn. Views follow the
neurological convention: the subject's left is on the left (see :func:`.display.orient`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .display import Background, orient, to_display
from .mosaic import ColorScale, Panel, colorize, compose
from .png import Png
from .style import (
    DEFAULT_DPI,
    NEGATIVE_CMAP,
    NEGATIVE_COLORS,
    POSITIVE_CMAP,
    POSITIVE_COLORS,
    SILHOUETTE,
    WHITE,
    fmt_mm,
)

__all__ = [
    "NEGATIVE_CMAP",
    "NEGATIVE_COLORS",
    "POSITIVE_CMAP",
    "POSITIVE_COLORS",
    "plot_cluster_thumbnails",
    "plot_glass_brain",
    "plot_map_glass_brain",
    "plot_ortho",
    "plot_slices",
    "slice_cuts",
]

_VIEWS = ("sagittal", "coronal", "axial")
_AXIS_OF_VIEW = {"sagittal": 0, "coronal": 1, "axial": 2, "x": 0, "y": 1, "z": 2}
_VIEW_OF_AXIS = ("sagittal", "coronal", "axial")
_SIDE_MARKS = {"sagittal": ("P", "A"), "coronal": ("L", "R"), "axial": ("L", "R")}


def plot_glass_brain(
    values: np.ndarray,
    background: Background,
    *,
    scale: ColorScale,
    width_in: float = 7.0,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """Maximum-intensity projections in sagittal, coronal and axial views.

    Positive values are projected with their maximum, negative ones with their minimum;
    where both project onto one pixel the larger magnitude is shown. The brain's outline
    comes from the background's mask.

    Parameters
    ----------
    values : (X, Y, Z) ndarray
        Thresholded map on the background grid (see :func:`to_display`); 0 = not shown.
    background : Background
    scale : ColorScale
    width_in : float
        Figure width in inches.
    dpi : float
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    panels = []
    for axis, view in enumerate(_VIEWS):
        pos = orient(values.max(axis=axis, initial=0.0).clip(min=0))
        neg = orient(values.min(axis=axis, initial=0.0).clip(max=0))
        mip = np.where(pos >= -neg, pos, neg)
        silhouette = orient(background.brain.any(axis=axis))
        rgb = np.empty(mip.shape + (3,), dtype=np.uint8)
        rgb[:] = WHITE
        rgb[silhouette] = SILHOUETTE
        color, shown = colorize(mip, scale)
        rgb[shown] = color[shown]
        panels.append(Panel(image=rgb, marks=_SIDE_MARKS[view], lines=background.outlines[axis]))
    return compose([panels], width_in=width_in, dpi=dpi, colorbar=scale, gap=4, max_height_in=2.6)


def slice_cuts(
    peaks_mm: Sequence[float],
    background: Background,
    *,
    axis: int = 2,
    max_cuts: int = 7,
    min_spacing_mm: float = 6.0,
) -> list[float]:
    """Choose slice positions (mm) from cluster peak coordinates.

    Takes peaks in the order given (most significant first), skips those within
    ``min_spacing_mm`` of one already chosen, and returns up to ``max_cuts`` sorted positions.
    Without peaks, spreads ``max_cuts`` cuts evenly through the brain.

    Parameters
    ----------
    peaks_mm : sequence of float
        Peak coordinates along ``axis`` in mm.
    background : Background
    axis : {0, 1, 2}
    """
    chosen: list[float] = []
    for value in peaks_mm:
        if value is None or not np.isfinite(value):
            continue
        if all(abs(value - c) >= min_spacing_mm for c in chosen):
            chosen.append(float(value))
        if len(chosen) == max_cuts:
            break
    if not chosen:
        extent = np.flatnonzero(background.brain.any(axis=tuple(a for a in range(3) if a != axis)))
        if not len(extent):
            extent = np.arange(background.shape[axis])
        idx = np.linspace(extent[0], extent[-1], max_cuts + 2)[1:-1]
        chosen = [
            float(background.affine[axis, axis] * i + background.affine[axis, 3]) for i in idx
        ]
    return sorted(chosen)


def plot_slices(
    values: np.ndarray,
    background: Background,
    *,
    scale: ColorScale,
    cuts: Sequence[float],
    axis: int | str = "z",
    width_in: float = 7.0,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """A row of slices through the background with the map on top.

    Parameters
    ----------
    values : (X, Y, Z) ndarray
        Thresholded map on the background grid.
    background : Background
    scale : ColorScale
    cuts : sequence of float
        Slice positions in world mm along ``axis`` (see :func:`slice_cuts`).
    axis : {'x', 'y', 'z'} or {0, 1, 2}
        Sagittal, coronal or axial slices.
    """
    ax_index = _AXIS_OF_VIEW[axis] if isinstance(axis, str) else int(axis)
    view = _VIEW_OF_AXIS[ax_index]
    panels = []
    for mm in cuts:
        point = np.zeros(3)
        point[ax_index] = mm
        index = int(background.to_index(_complete(point, background, ax_index))[ax_index])
        real_mm = float(
            background.affine[ax_index, ax_index] * index + background.affine[ax_index, 3]
        )
        panels.append(
            Panel(
                image=_slice_panel(values, background, ax_index, index, scale),
                label=_mm_label(ax_index, real_mm),
                marks=_SIDE_MARKS[view] if not panels else ("", ""),
            )
        )
    return compose([panels], width_in=width_in, dpi=dpi, colorbar=scale, gap=3, max_height_in=1.7)


def _complete(point: np.ndarray, background: Background, axis: int) -> np.ndarray:
    """Fill the coordinates other than ``axis`` with the grid centre (for index lookups)."""
    centre = background.to_world((np.array(background.shape) - 1) / 2.0)
    out = centre.copy()
    out[axis] = point[axis]
    return out


def plot_ortho(
    values: np.ndarray,
    background: Background,
    *,
    scale: ColorScale,
    point_mm: Sequence[float],
    width_in: float = 7.0,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """Sagittal, coronal and axial slices through one point, with a crosshair.

    Parameters
    ----------
    values : (X, Y, Z) ndarray
        Thresholded map on the background grid.
    background : Background
    scale : ColorScale
    point_mm : (3,) sequence of float
        MNI (world) coordinates of the cut.
    """
    ijk = background.to_index(point_mm)
    panels = _ortho_panels(values, background, scale, ijk, window_mm=None)
    return compose([panels], width_in=width_in, dpi=dpi, colorbar=scale, gap=4, max_height_in=2.6)


def _ortho_panels(
    values: np.ndarray,
    background: Background,
    scale: ColorScale,
    ijk: np.ndarray,
    *,
    window_mm: float | None,
) -> list[Panel]:
    xyz = background.to_world(ijk)
    panels = []
    for axis, view in enumerate(_VIEWS):
        image = _slice_panel(values, background, axis, int(ijk[axis]), scale)
        h_axis, v_axis = [a for a in range(3) if a != axis]
        # Panel pixel of the point: column = horizontal index, row = flipped vertical index.
        col, row = float(ijk[h_axis]), float(background.shape[v_axis] - 1 - ijk[v_axis])
        if window_mm is not None:
            half = int(round(window_mm / 2 / background.voxel_size))
            image, col, row = _crop(image, int(col), int(row), half)
        panels.append(
            Panel(
                image=image,
                label=_mm_label(axis, float(xyz[axis])),
                marks=_SIDE_MARKS[view],
                cross=(col, row),
            )
        )
    return panels


def _crop(image: np.ndarray, col: int, row: int, half: int) -> tuple[np.ndarray, float, float]:
    """A (2*half+1) square window of ``image`` centred on (col, row), padded with white."""
    size = 2 * half + 1
    out = np.empty((size, size, 3), dtype=np.uint8)
    out[:] = WHITE
    r0, c0 = row - half, col - half
    rs = slice(max(r0, 0), min(r0 + size, image.shape[0]))
    cs = slice(max(c0, 0), min(c0 + size, image.shape[1]))
    out[rs.start - r0 : rs.stop - r0, cs.start - c0 : cs.stop - c0] = image[rs, cs]
    return out, float(half), float(half)


def plot_cluster_thumbnails(
    values: np.ndarray,
    background: Background,
    *,
    scale: ColorScale,
    peaks_mm: Sequence[Sequence[float]],
    labels: Sequence[str],
    per_row: int = 2,
    window_mm: float = 80.0,
    width_in: float = 7.0,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """Zoomed orthogonal views centred on each cluster's peak, in one image.

    Parameters
    ----------
    values : (X, Y, Z) ndarray
        Thresholded map on the background grid.
    background : Background
    scale : ColorScale
    peaks_mm : (n_clusters, 3) sequence
        Peak coordinates in world mm.
    labels : sequence of str
        One caption per cluster (e.g. ``"1 (+) 532 voxels"``).
    per_row : int
        Clusters per row.
    window_mm : float
        Width of each zoomed panel in mm.
    """
    rows: list[list[Panel]] = []
    for start in range(0, len(peaks_mm), per_row):
        row: list[Panel] = []
        for point, label in zip(
            peaks_mm[start : start + per_row], labels[start : start + per_row], strict=False
        ):
            ijk = background.to_index(point)
            panels = _ortho_panels(values, background, scale, ijk, window_mm=window_mm)
            xyz = background.to_world(ijk)
            for panel in panels:
                panel.label = ""
                if rows or row:
                    panel.marks = ("", "")
            panels[0].caption = f"{label}  ({', '.join(_mm(v) for v in xyz)})"
            row.extend(panels)
        rows.append(row)
    return compose(
        rows,
        width_in=width_in,
        dpi=dpi,
        colorbar=scale,
        gap=3,
        group=3,
        group_gap=14,
        max_height_in=1.3 * len(rows),
    )


def _slice_panel(
    values: np.ndarray, background: Background, axis: int, index: int, scale: ColorScale
) -> np.ndarray:
    """Background slice with the coloured map on top, oriented for display."""
    take = [slice(None)] * 3
    take[axis] = index
    gray = orient(background.gray[tuple(take)])
    brain = orient(background.brain[tuple(take)])
    rgb = np.repeat(gray[..., None], 3, axis=2)
    rgb[~brain & (gray < 8)] = WHITE
    color, shown = colorize(orient(values[tuple(take)]), scale)
    rgb[shown] = color[shown]
    return rgb


def _mm(value: float) -> str:
    """A coordinate in mm, formatted as everywhere in the report (:func:`.style.fmt_mm`)."""
    return fmt_mm(value)


def _mm_label(axis: int, mm: float) -> str:
    return f"{'xyz'[axis]} = {_mm(mm)}"


def plot_map_glass_brain(
    values: np.ndarray,
    affine: np.ndarray,
    background: Background,
    *,
    threshold: float,
    width_in: float = 7.0,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """The glass brain of a map on its own grid, shown where ``|value| >= threshold``.

    The colour scale runs from ``threshold`` to the map's largest shown magnitude (at least
    ``threshold + 1``), two-sided when negative values are shown.

    Parameters
    ----------
    values : (X, Y, Z) ndarray
        The map (NaN: not shown).
    affine : (4, 4) ndarray
        Its voxel-to-mm affine.
    background : Background
    threshold : float
        Display threshold on the map's scale (e.g. z).
    width_in, dpi : float
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    shown = to_display(np.where(np.abs(values) >= threshold, values, 0.0), affine, background)
    vmax = float(max(np.abs(shown).max(initial=0.0), threshold + 1.0))
    scale = ColorScale(threshold=threshold, vmax=vmax, two_sided=bool((shown < 0).any()))
    return plot_glass_brain(shown, background, scale=scale, width_in=width_in, dpi=dpi)
