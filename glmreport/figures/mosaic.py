"""Mosaics: brain panels composed into one image, with labels, lines and a colour bar.

Panels are composed with numpy (one canvas pixel per voxel), resized once, and laid under a
figure that holds only text and lines, which renders in a few tens of milliseconds. Also the
mapping of map values to colours (:class:`ColorScale`, :func:`colorize`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.transforms import Affine2D, IdentityTransform
from PIL import Image

from .png import Png, encode
from .style import CROSS, FONT, MUTED, NEG_LUT, OUTLINE, POS_LUT, TEXT, WHITE

_IDENTITY = IdentityTransform()


@dataclass(frozen=True, slots=True, kw_only=True)
class ColorScale:
    """How map values become colours.

    Attributes
    ----------
    threshold : float or None
        Lowest |value| of the colour ramps (the correction's z threshold); ``None`` = 0.
    vmax : float
        |value| at the top of the ramps.
    two_sided : bool
        Whether negative values are part of the display (blue ramp, two-sided colour bar).
    label : str
        Colour-bar label, e.g. ``"z"``.
    marks : tuple of float
        Further values to mark on the colour bar (e.g. a critical value), drawn dashed.
    mark_threshold : bool
        Mark ``threshold`` on the colour bar (solid); off when it is only a display floor.
    """

    threshold: float | None
    vmax: float
    two_sided: bool
    label: str = "z"
    marks: tuple[float, ...] = ()
    mark_threshold: bool = True

    @property
    def low(self) -> float:
        return float(self.threshold) if self.threshold is not None else 0.0

    @property
    def high(self) -> float:
        return max(float(self.vmax), self.low + 1e-6)


def colorize(values: np.ndarray, scale: ColorScale) -> tuple[np.ndarray, np.ndarray]:
    """Colours of map values.

    Parameters
    ----------
    values : (...) ndarray
        Thresholded map values; zero means "not shown".
    scale : ColorScale

    Returns
    -------
    rgb : (..., 3) ndarray of uint8
    shown : (...) ndarray of bool
        Non-zero, finite values.
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0)
    frac = (np.abs(values) - scale.low) / (scale.high - scale.low)
    index = np.clip(np.rint(frac * 255), 0, 255).astype(np.intp)
    rgb = np.where((values >= 0)[..., None], POS_LUT[index], NEG_LUT[index])
    return rgb.astype(np.uint8), values != 0


@dataclass(slots=True)
class Panel:
    """One panel of a mosaic and what is drawn over it.

    Attributes
    ----------
    image : (h, w, 3) ndarray of uint8
    label : str
        Centred above the panel.
    caption : str
        Left-aligned above the panel (may run over the next panels).
    marks : (str, str)
        Small letters in the top corners (L/R, P/A).
    lines : tuple of (n, 2) ndarray
        Polylines, (column, row) in panel pixel coordinates.
    cross : (float, float) or None
        Crosshair centre (column, row).
    contours : tuple of tuple of (n, 2) ndarray
        Outlines drawn over the panel, one group per style of :data:`CONTOUR_STYLES`
        (group k in style k), (column, row) in panel pixel coordinates.
    """

    image: np.ndarray
    label: str = ""
    caption: str = ""
    marks: tuple[str, str] = ("", "")
    lines: tuple[np.ndarray, ...] = ()
    cross: tuple[float, float] | None = None
    contours: tuple[tuple[np.ndarray, ...], ...] = ()


#: Line styles of contour groups (colour, width in points, dash pattern): solid black, dashed
#: dark green, dotted purple; a group beyond the list takes the last style.
CONTOUR_STYLES = (
    ("#111111", 0.9, "solid"),
    ("#1b7837", 0.9, (0, (3, 1.5))),
    ("#762a83", 1.0, (0, (1, 1))),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Layout:
    """Where the panels go on the canvas and how the canvas maps to output pixels."""

    gaps: tuple[tuple[int, ...], ...]  # canvas pixels after each panel of each row
    row_widths: tuple[int, ...]
    heights: tuple[int, ...]  # of each row
    band: int  # canvas pixels above each row for its labels
    scale: float  # output pixels per canvas pixel
    out_w: int
    cbar_px: int

    @property
    def width_cv(self) -> int:
        return max(self.row_widths)

    def height_cv(self, gap: int) -> int:
        return sum(self.heights) + self.band * len(self.heights) + gap * (len(self.heights) - 1)


def compose(
    rows: Sequence[Sequence[Panel]],
    *,
    width_in: float,
    dpi: float,
    colorbar: ColorScale | None,
    gap: int,
    group: int = 0,
    group_gap: int = 0,
    photo: bool = True,
    max_height_in: float | None = None,
) -> Png:
    """Compose rows of panels into one image, add labels and lines, and render it.

    The panels are pasted into one RGB canvas (one canvas pixel per voxel), the canvas is
    resized to the output pixels once and laid under the figure by :func:`.png.encode`;
    labels, outlines and crosshairs are figure-level artists placed in canvas coordinates. No
    Axes are created, which keeps a brain figure to a few tens of milliseconds.

    Parameters
    ----------
    rows : sequence of sequence of Panel
    width_in : float
        Total figure width in inches (colour bar included).
    dpi : float
    colorbar : ColorScale or None
    gap : int
        Canvas pixels between panels.
    group, group_gap : int
        After every ``group`` panels in a row, leave ``group_gap`` instead of ``gap``.
    photo : bool
        Encode with the fixed brain palette (see :func:`.png.encode`).
    max_height_in : float, optional
        Cap on the height of the panels; the figure gets narrower than ``width_in`` when a
        few large panels would otherwise be taller.
    """
    layout = _layout(
        rows,
        width_in=width_in,
        dpi=dpi,
        colorbar=colorbar,
        gap=gap,
        group=group,
        group_gap=group_gap,
        max_height_in=max_height_in,
    )
    canvas, texts, segments, crosses, contours = _paste(rows, layout, gap)
    out_w, scale = layout.out_w, layout.scale
    out_h = max(int(round(canvas.shape[0] * scale)), 1)
    fig_h = max(out_h, int(round(1.15 * dpi)) if colorbar is not None else 0)
    y_off = (fig_h - out_h) // 2
    fig = Figure(figsize=((out_w + layout.cbar_px) / dpi, fig_h / dpi), dpi=dpi, facecolor="white")
    resized = np.asarray(Image.fromarray(canvas).resize((out_w, out_h), Image.Resampling.BILINEAR))
    underlays = [(resized, 0, fig_h - y_off - out_h)]
    # Canvas (column, row) -> display pixels (origin bottom-left).
    to_px = Affine2D().scale(scale, -scale).translate(0, y_off + out_h)
    _draw_overlays(fig, to_px, texts, segments, crosses)
    _draw_contours(fig, to_px, contours)
    if colorbar is not None:
        underlays.append(
            _draw_colorbar(fig, colorbar, left_px=out_w + int(0.1 * dpi), height_px=fig_h, dpi=dpi)
        )
    return encode(fig, dpi, underlays, photo=photo)


def _layout(
    rows: Sequence[Sequence[Panel]],
    *,
    width_in: float,
    dpi: float,
    colorbar: ColorScale | None,
    gap: int,
    group: int,
    group_gap: int,
    max_height_in: float | None,
) -> _Layout:
    def gap_after(i: int) -> int:
        return group_gap if group and (i + 1) % group == 0 else gap

    cbar_px = int(round(0.8 * dpi)) if colorbar is not None else 0
    row_widths = [
        sum(p.image.shape[1] + gap_after(i) for i, p in enumerate(row)) - gap_after(len(row) - 1)
        for row in rows
    ]
    width_cv = max(row_widths)
    out_w = int(round(width_in * dpi)) - cbar_px
    scale = out_w / width_cv  # output pixels per canvas pixel
    has_text = any(p.label or p.caption for row in rows for p in row)
    heights = [max(p.image.shape[0] for p in row) for row in rows]
    if max_height_in is not None and sum(heights) * scale > max_height_in * dpi:
        scale = max_height_in * dpi / sum(heights)
        out_w = int(round(width_cv * scale))
    band = int(math.ceil(FONT * dpi / 72 * 1.7 / scale)) if has_text else 0
    return _Layout(
        gaps=tuple(tuple(gap_after(i) for i in range(len(row))) for row in rows),
        row_widths=tuple(row_widths),
        heights=tuple(heights),
        band=band,
        scale=scale,
        out_w=out_w,
        cbar_px=cbar_px,
    )


#: A text placed on a mosaic: x, y (canvas), text, horizontal and vertical alignment, kind.
_Text = tuple[float, float, str, str, str, str]


def _paste(
    rows: Sequence[Sequence[Panel]], layout: _Layout, gap: int
) -> tuple[np.ndarray, list[_Text], list[np.ndarray], list[np.ndarray], dict[int, list]]:
    """The canvas with every panel pasted, and the texts, outlines and crosshair lines."""
    band, heights = layout.band, layout.heights
    canvas = np.empty((layout.height_cv(gap), layout.width_cv, 3), dtype=np.uint8)
    canvas[:] = WHITE
    texts: list[_Text] = []
    segments: list[np.ndarray] = []
    crosses: list[np.ndarray] = []
    contours: dict[int, list[np.ndarray]] = {}
    top = 0
    for r, row in enumerate(rows):
        top += band
        left = (layout.width_cv - layout.row_widths[r]) // 2
        for i, panel in enumerate(row):
            h, w = panel.image.shape[:2]
            y0 = top + (heights[r] - h) // 2
            canvas[y0 : y0 + h, left : left + w] = panel.image
            texts.extend(_panel_texts(panel, left, y0, top - band * 0.42))
            for line in panel.lines:
                segments.append(line + np.array([left + 0.5, y0 + 0.5]))
            for k, group in enumerate(panel.contours):
                style = min(k, len(CONTOUR_STYLES) - 1)
                shifted = [line + np.array([left + 0.5, y0 + 0.5]) for line in group]
                contours.setdefault(style, []).extend(shifted)
            if panel.cross is not None:
                cx, cy = panel.cross[0] + left + 0.5, panel.cross[1] + y0 + 0.5
                crosses.append(np.array([[left, cy], [left + w, cy]]))
                crosses.append(np.array([[cx, y0], [cx, y0 + h]]))
            left += w + layout.gaps[r][i]
        top += heights[r] + gap
    return canvas, texts, segments, crosses, contours


def _draw_contours(fig: Figure, to_px: Affine2D, contours: dict[int, list[np.ndarray]]) -> None:
    """Contour groups in their styles (:data:`CONTOUR_STYLES`), the first on top."""
    for style in sorted(contours, reverse=True):
        color, width, dashes = CONTOUR_STYLES[style]
        fig.add_artist(
            LineCollection(
                contours[style],
                colors=color,
                linewidths=width,
                linestyles=dashes,
                transform=to_px,
            )
        )


def _panel_texts(panel: Panel, left: int, y0: int, label_y: float) -> list[_Text]:
    """The label, caption and corner marks of a panel pasted at (left, y0)."""
    w = panel.image.shape[1]
    texts: list[_Text] = []
    if panel.label:
        texts.append((left + w / 2, label_y, panel.label, "center", "center", "label"))
    if panel.caption:
        texts.append((left, label_y, panel.caption, "left", "center", "label"))
    for mark, x, ha in (
        (panel.marks[0], left + 1.0, "left"),
        (panel.marks[1], left + w - 1.0, "right"),
    ):
        if mark:
            texts.append((x, y0 + 0.5, mark, ha, "top", "mark"))
    return texts


def _draw_overlays(
    fig: Figure,
    to_px: Affine2D,
    texts: list[_Text],
    segments: list[np.ndarray],
    crosses: list[np.ndarray],
) -> None:
    """Outlines, crosshairs and texts as figure artists in canvas coordinates."""
    if segments:
        fig.add_artist(LineCollection(segments, colors=OUTLINE, linewidths=0.7, transform=to_px))
    if crosses:
        fig.add_artist(
            LineCollection(crosses, colors=CROSS, linewidths=0.5, alpha=0.8, transform=to_px)
        )
    for x, y, text, ha, va, kind in texts:
        fig.text(
            x,
            y,
            text,
            ha=ha,
            va=va,
            transform=to_px,
            fontsize=FONT if kind == "label" else FONT - 1.5,
            color=TEXT if kind == "label" else MUTED,
        )


def _draw_colorbar(
    fig: Figure, scale: ColorScale, *, left_px: int, height_px: int, dpi: float
) -> tuple[np.ndarray, int, int]:
    """Vertical colour bar with the threshold marked; range ``[-vmax, vmax]`` if two-sided.

    Draws the frame, marks and labels on ``fig`` and returns the bar itself as an underlay
    ``(image, left, top)`` for :func:`.png.encode`.
    """
    bar_h = int(min(height_px - 0.4 * dpi, 2.2 * dpi))
    bar_w = max(int(0.12 * dpi), 6)
    bottom = (height_px - bar_h) // 2 - int(0.04 * dpi)
    low, high = scale.low, scale.high
    vmin = -high if scale.two_sided else 0.0
    values = np.linspace(high, vmin, bar_h)  # top to bottom
    rgb, _ = colorize(values, scale)
    rgb[np.abs(values) < low] = 236
    bar = np.repeat(rgb[:, None, :], bar_w, axis=1)

    def y_of(v: float) -> float:
        return bottom + (v - vmin) / (high - vmin) * bar_h

    frame = [
        np.array(
            [
                [left_px, bottom],
                [left_px + bar_w, bottom],
                [left_px + bar_w, bottom + bar_h],
                [left_px, bottom + bar_h],
                [left_px, bottom],
            ],
            dtype=float,
        )
    ]
    fig.add_artist(LineCollection(frame, colors=MUTED, linewidths=0.5, transform=_IDENTITY))
    marks = [low, -low] if (scale.two_sided and low > 0) else ([low] if low > 0 else [])
    if not scale.mark_threshold:
        marks = []
    if marks:
        lines = [np.array([[left_px - 2, y_of(v)], [left_px + bar_w + 2, y_of(v)]]) for v in marks]
        fig.add_artist(LineCollection(lines, colors="black", linewidths=1.1, transform=_IDENTITY))
    extra = [float(v) for v in scale.marks if np.isfinite(v) and vmin <= v <= high]
    if scale.two_sided:
        extra += [-v for v in extra if vmin <= -v <= high and v > 0]
    if extra:
        lines = [np.array([[left_px - 3, y_of(v)], [left_px + bar_w + 3, y_of(v)]]) for v in extra]
        fig.add_artist(
            LineCollection(
                lines, colors="black", linewidths=0.9, linestyles=(0, (2, 1)), transform=_IDENTITY
            )
        )
    # Threshold and mark labels first; a label too close to one already placed is left out.
    candidates = [low] + extra + [high] + ([-low, -high] if scale.two_sided else [])
    min_gap = FONT * dpi / 72 * 1.1
    ticks: list[float] = []
    for v in candidates:
        if all(abs(y_of(v) - y_of(t)) >= min_gap for t in ticks):
            ticks.append(v)
    for v in sorted(ticks):
        fig.text(
            left_px + bar_w + 4,
            y_of(v),
            _tick(v),
            ha="left",
            va="center",
            fontsize=FONT - 1,
            color=TEXT,
            transform=_IDENTITY,
        )
    fig.text(
        left_px + bar_w / 2,
        bottom + bar_h + 4,
        scale.label,
        ha="center",
        va="bottom",
        fontsize=FONT,
        color=TEXT,
        transform=_IDENTITY,
    )
    return bar, left_px, height_px - bottom - bar_h


def _tick(value: float) -> str:
    """Colour-bar label: 2 decimals for z-like values, whole numbers from 100 on."""
    text = f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return text.replace("-", "\u2212")
