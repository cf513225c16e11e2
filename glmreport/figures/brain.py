"""Report figures: maps, matrices and tables in, PNG images out.

Matplotlib (Agg canvas, no pyplot) only. Nothing here computes a statistic: maps arrive
already thresholded, thresholds arrive as numbers read from ``summary.json`` and are only
drawn. The display work done here is resampling maps onto the background grid, taking
maximum-intensity projections and slices, and mapping values to colours.

Brain views are drawn as one mosaic image per figure: panels are composed with numpy and laid
under a figure that holds only text and lines, which renders in a few tens of milliseconds.
Views follow the neurological convention: the subject's left is on the left. Figures never
go through pyplot, so no figure stays registered anywhere once its PNG is encoded.

Orientation of the 2D panels (``_orient``): sagittal panels show anterior to the right,
coronal and axial panels show left to the left, superior (or anterior) at the top.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import contourpy
import nibabel as nib
import numpy as np
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.transforms import Affine2D, IdentityTransform
from PIL import Image
from scipy import ndimage

from ..resources import template_image

#: Resolution of every figure; good enough for print at the width of an A4 text column.
DEFAULT_DPI = 120

#: Colours (shared with the report's CSS): positive red to yellow, negative blue to cyan.
POSITIVE_COLORS = ("#7f0000", "#d7301f", "#fc8d59", "#fdd94d")
NEGATIVE_COLORS = ("#08306b", "#2166ac", "#4393c3", "#8fd3f0")
POSITIVE_CMAP = LinearSegmentedColormap.from_list("glmreport_pos", POSITIVE_COLORS)
NEGATIVE_CMAP = LinearSegmentedColormap.from_list("glmreport_neg", NEGATIVE_COLORS)

_WHITE = np.array([255, 255, 255], dtype=np.uint8)
_SILHOUETTE = np.array([243, 244, 246], dtype=np.uint8)
_OUTLINE = "#8a8f98"
_TEXT = "#2b2f36"
_MUTED = "#6b7280"
_FONT = 7.5
_VIEWS = ("sagittal", "coronal", "axial")
_AXIS_OF_VIEW = {"sagittal": 0, "coronal": 1, "axial": 2, "x": 0, "y": 1, "z": 2}
_VIEW_OF_AXIS = ("sagittal", "coronal", "axial")
_IDENTITY = IdentityTransform()
_SIDE_MARKS = {"sagittal": ("P", "A"), "coronal": ("L", "R"), "axial": ("L", "R")}


# --------------------------------------------------------------------------------------------
# Encoded images
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Png:
    """An encoded PNG image ready to embed.

    Attributes
    ----------
    data : bytes
        PNG file content (RGB, no text metadata).
    width, height : int
        Size in pixels.
    dpi : float
        Pixels per inch the figure was rendered at.
    """

    data: bytes
    width: int
    height: int
    dpi: float

    @property
    def data_uri(self) -> str:
        """``data:image/png;base64,...`` for an ``<img src>``."""
        return "data:image/png;base64," + base64.b64encode(self.data).decode("ascii")

    @property
    def width_in(self) -> float:
        """Natural width in inches."""
        return self.width / self.dpi


def _encode(
    fig: Figure,
    dpi: float,
    underlays: Sequence[tuple[np.ndarray, int, int]] = (),
    *,
    photo: bool = False,
) -> Png:
    """Draw ``fig`` on an Agg canvas and encode it as a PNG without metadata.

    Parameters
    ----------
    fig : Figure
    dpi : float
    underlays : sequence of ((h, w, 3) uint8 ndarray, left, top)
        RGB images placed under the figure's artists at pixel offsets from the top-left
        corner. The figure is then drawn on a transparent background and blended on top,
        which is much faster than matplotlib's image pipeline for pre-composed images.
    photo : bool
        Brain figure: quantise to the fixed brain palette, visually lossless for anatomy and
        colour ramps at half the size of RGB. Otherwise (plots) keep RGB, which compresses
        well for flat colours and keeps the white background exact.
    """
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    if underlays:
        fig.patch.set_alpha(0.0)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    if underlays:
        base = np.empty(rgba.shape[:2] + (3,), dtype=np.uint8)
        base[:] = _WHITE
        for image, left, top in underlays:
            h = min(image.shape[0], base.shape[0] - top)
            w = min(image.shape[1], base.shape[1] - left)
            base[top : top + h, left : left + w] = image[:h, :w]
        alpha = rgba[..., 3:4].astype(np.uint16)
        blend = rgba[..., :3] * alpha + base * (255 - alpha) + 127
        rgb = (blend // 255).astype(np.uint8)
    else:
        rgb = np.ascontiguousarray(rgba[..., :3])
    # No metadata chunks: nothing in the file names a program or a web address.
    image = Image.fromarray(rgb)
    if photo:
        index = np.array(image.quantize(palette=_PALETTE, dither=Image.Dither.NONE))
        # Pillow matches colours at reduced precision; keep the page-white background exact.
        index[(rgb == 255).all(axis=-1)] = _PALETTE_WHITE
        image = Image.fromarray(index)  # "L"; putpalette makes it "P"
        image.putpalette(_PALETTE.getpalette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    height, width = rgb.shape[:2]
    return Png(data=buffer.getvalue(), width=int(width), height=int(height), dpi=float(dpi))


# --------------------------------------------------------------------------------------------
# Display grid and background
# --------------------------------------------------------------------------------------------


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


def _orient(a2d: np.ndarray) -> np.ndarray:
    """2D array indexed (horizontal, vertical) -> image rows top-down, columns left-right."""
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
    target_shape = tuple(int(s) for s in target_shape)
    vox = np.linalg.inv(affine) @ target_affine  # target voxel -> source voxel
    linear, offset = vox[:3, :3], vox[:3, 3]
    if np.allclose(linear, np.eye(3)) and np.allclose(offset, np.rint(offset), atol=1e-3):
        # Same voxels, shifted by whole voxels: copy the overlapping block.
        shift = np.rint(offset).astype(int)
        out = np.zeros(target_shape, dtype=np.float32)
        src = [
            slice(max(s, 0), min(s + n, m))
            for s, n, m in zip(shift, target_shape, data.shape, strict=True)
        ]
        dst = [slice(sl.start - s, sl.stop - s) for sl, s in zip(src, shift, strict=True)]
        if all(sl.stop > sl.start for sl in src):
            out[tuple(dst)] = data[tuple(src)]
        return out
    return ndimage.affine_transform(
        data, linear, offset=offset, output_shape=target_shape, order=order, cval=0.0
    ).astype(np.float32)


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
    outlines = tuple(_outline(_orient(brain.any(axis=axis))) for axis in range(3))
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


# --------------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------------


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


def _lut(cmap: LinearSegmentedColormap) -> np.ndarray:
    return (cmap(np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)


_POS_LUT = _lut(POSITIVE_CMAP)
_NEG_LUT = _lut(NEGATIVE_CMAP)
_CROSS = "#1b9e77"


def _brain_palette() -> Image.Image:
    """Fixed 256-colour palette of the brain figures: grays, both ramps, crosshair greens.

    Quantising to it keeps anatomy smooth (144 gray levels) at half the size of RGB.
    """
    colors = [(g, g, g) for g in np.linspace(0, 255, 144).round().astype(int)]
    colors += [tuple(c) for c in _POS_LUT[::5]] + [tuple(c) for c in _NEG_LUT[::6]]
    green = np.array(to_rgb(_CROSS)) * 255
    for a in np.linspace(0.5, 1.0, 6):
        for g in (90, 160, 230):
            colors.append(tuple((green * a + g * (1 - a)).round().astype(int)))
    flat = [int(v) for c in colors[:256] for v in c]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + [0] * (768 - len(flat)))
    return palette


_PALETTE = _brain_palette()
_PALETTE_WHITE = 143  # index of (255, 255, 255): the last of the 144 grays


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
    rgb = np.where((values >= 0)[..., None], _POS_LUT[index], _NEG_LUT[index])
    return rgb.astype(np.uint8), values != 0


# --------------------------------------------------------------------------------------------
# Mosaic rendering
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Panel:
    image: np.ndarray  # (h, w, 3) uint8
    label: str = ""  # centred above the panel
    caption: str = ""  # left-aligned above the panel (may run over the next panels)
    marks: tuple[str, str] = ("", "")  # small letters in the top corners (L/R, P/A)
    lines: tuple[np.ndarray, ...] = ()  # (n, 2) (column, row) in panel pixel coordinates
    cross: tuple[float, float] | None = None  # (column, row)


def _compose(
    rows: Sequence[Sequence[_Panel]],
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
    resized to the output pixels once and laid under the figure by :func:`_encode`; labels,
    outlines and crosshairs are figure-level artists placed in canvas coordinates. No Axes
    are created, which keeps a brain figure to a few tens of milliseconds.

    Parameters
    ----------
    rows : sequence of sequence of _Panel
    width_in : float
        Total figure width in inches (colour bar included).
    dpi : float
    colorbar : ColorScale or None
    gap : int
        Canvas pixels between panels.
    group, group_gap : int
        After every ``group`` panels in a row, leave ``group_gap`` instead of ``gap``.
    photo : bool
        Encode with the fixed brain palette (see :func:`_encode`).
    max_height_in : float, optional
        Cap on the height of the panels; the figure gets narrower than ``width_in`` when a
        few large panels would otherwise be taller.
    """

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
    band = int(math.ceil(_FONT * dpi / 72 * 1.7 / scale)) if has_text else 0
    height_cv = sum(heights) + band * len(rows) + gap * (len(rows) - 1)
    canvas = np.empty((height_cv, width_cv, 3), dtype=np.uint8)
    canvas[:] = _WHITE
    texts: list[tuple[float, float, str, str, str, str]] = []  # x, y, text, ha, va, kind
    segments: list[np.ndarray] = []
    crosses: list[np.ndarray] = []
    top = 0
    for r, row in enumerate(rows):
        top += band
        left = (width_cv - row_widths[r]) // 2
        for i, panel in enumerate(row):
            h, w = panel.image.shape[:2]
            y0 = top + (heights[r] - h) // 2
            canvas[y0 : y0 + h, left : left + w] = panel.image
            if panel.label:
                texts.append(
                    (left + w / 2, top - band * 0.42, panel.label, "center", "center", "label")
                )
            if panel.caption:
                texts.append((left, top - band * 0.42, panel.caption, "left", "center", "label"))
            for mark, x, ha in (
                (panel.marks[0], left + 1.0, "left"),
                (panel.marks[1], left + w - 1.0, "right"),
            ):
                if mark:
                    texts.append((x, y0 + 0.5, mark, ha, "top", "mark"))
            for line in panel.lines:
                segments.append(line + np.array([left + 0.5, y0 + 0.5]))
            if panel.cross is not None:
                cx, cy = panel.cross[0] + left + 0.5, panel.cross[1] + y0 + 0.5
                crosses.append(np.array([[left, cy], [left + w, cy]]))
                crosses.append(np.array([[cx, y0], [cx, y0 + h]]))
            left += w + gap_after(i)
        top += heights[r] + gap
    out_h = max(int(round(height_cv * scale)), 1)
    fig_h = max(out_h, int(round(1.15 * dpi)) if colorbar is not None else 0)
    y_off = (fig_h - out_h) // 2
    fig = Figure(figsize=((out_w + cbar_px) / dpi, fig_h / dpi), dpi=dpi, facecolor="white")
    resized = np.asarray(Image.fromarray(canvas).resize((out_w, out_h), Image.Resampling.BILINEAR))
    underlays = [(resized, 0, fig_h - y_off - out_h)]
    # Canvas (column, row) -> display pixels (origin bottom-left).
    to_px = Affine2D().scale(scale, -scale).translate(0, y_off + out_h)
    if segments:
        fig.add_artist(LineCollection(segments, colors=_OUTLINE, linewidths=0.7, transform=to_px))
    if crosses:
        fig.add_artist(
            LineCollection(crosses, colors=_CROSS, linewidths=0.5, alpha=0.8, transform=to_px)
        )
    for x, y, text, ha, va, kind in texts:
        fig.text(
            x,
            y,
            text,
            ha=ha,
            va=va,
            transform=to_px,
            fontsize=_FONT if kind == "label" else _FONT - 1.5,
            color=_TEXT if kind == "label" else _MUTED,
        )
    if colorbar is not None:
        underlays.append(
            _draw_colorbar(fig, colorbar, left_px=out_w + int(0.1 * dpi), height_px=fig_h, dpi=dpi)
        )
    return _encode(fig, dpi, underlays, photo=photo)


def _draw_colorbar(
    fig: Figure, scale: ColorScale, *, left_px: int, height_px: int, dpi: float
) -> tuple[np.ndarray, int, int]:
    """Vertical colour bar with the threshold marked; range ``[-vmax, vmax]`` if two-sided.

    Draws the frame, marks and labels on ``fig`` and returns the bar itself as an underlay
    ``(image, left, top)`` for :func:`_encode`.
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
    fig.add_artist(LineCollection(frame, colors=_MUTED, linewidths=0.5, transform=_IDENTITY))
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
    min_gap = _FONT * dpi / 72 * 1.1
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
            fontsize=_FONT - 1,
            color=_TEXT,
            transform=_IDENTITY,
        )
    fig.text(
        left_px + bar_w / 2,
        bottom + bar_h + 4,
        scale.label,
        ha="center",
        va="bottom",
        fontsize=_FONT,
        color=_TEXT,
        transform=_IDENTITY,
    )
    return bar, left_px, height_px - bottom - bar_h


def _tick(value: float) -> str:
    """Colour-bar label: 2 decimals for z-like values, whole numbers from 100 on."""
    text = f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return text.replace("-", "\u2212")


def _slice_panel(
    values: np.ndarray, background: Background, axis: int, index: int, scale: ColorScale
) -> np.ndarray:
    """Background slice with the coloured map on top, oriented for display."""
    take = [slice(None)] * 3
    take[axis] = index
    gray = _orient(background.gray[tuple(take)])
    brain = _orient(background.brain[tuple(take)])
    rgb = np.repeat(gray[..., None], 3, axis=2)
    rgb[~brain & (gray < 8)] = _WHITE
    color, shown = colorize(_orient(values[tuple(take)]), scale)
    rgb[shown] = color[shown]
    return rgb


def _mm(value: float) -> str:
    """A coordinate in whole mm, with a true minus sign and no negative zero."""
    return str(int(round(float(value)))).replace("-", "\u2212")


def _mm_label(axis: int, mm: float) -> str:
    return f"{'xyz'[axis]} = {_mm(mm)}"


# --------------------------------------------------------------------------------------------
# Brain figures
# --------------------------------------------------------------------------------------------


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
        pos = _orient(values.max(axis=axis, initial=0.0).clip(min=0))
        neg = _orient(values.min(axis=axis, initial=0.0).clip(max=0))
        mip = np.where(pos >= -neg, pos, neg)
        silhouette = _orient(background.brain.any(axis=axis))
        rgb = np.empty(mip.shape + (3,), dtype=np.uint8)
        rgb[:] = _WHITE
        rgb[silhouette] = _SILHOUETTE
        color, shown = colorize(mip, scale)
        rgb[shown] = color[shown]
        panels.append(_Panel(image=rgb, marks=_SIDE_MARKS[view], lines=background.outlines[axis]))
    return _compose([panels], width_in=width_in, dpi=dpi, colorbar=scale, gap=4, max_height_in=2.6)


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
            _Panel(
                image=_slice_panel(values, background, ax_index, index, scale),
                label=_mm_label(ax_index, real_mm),
                marks=_SIDE_MARKS[view] if not panels else ("", ""),
            )
        )
    return _compose([panels], width_in=width_in, dpi=dpi, colorbar=scale, gap=3, max_height_in=1.7)


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
    return _compose([panels], width_in=width_in, dpi=dpi, colorbar=scale, gap=4, max_height_in=2.6)


def _ortho_panels(
    values: np.ndarray,
    background: Background,
    scale: ColorScale,
    ijk: np.ndarray,
    *,
    window_mm: float | None,
) -> list[_Panel]:
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
            _Panel(
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
    out[:] = _WHITE
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
    rows: list[list[_Panel]] = []
    for start in range(0, len(peaks_mm), per_row):
        row: list[_Panel] = []
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
    return _compose(
        rows,
        width_in=width_in,
        dpi=dpi,
        colorbar=scale,
        gap=3,
        group=3,
        group_gap=14,
        max_height_in=1.3 * len(rows),
    )


# --------------------------------------------------------------------------------------------
# Matrices and histograms
# --------------------------------------------------------------------------------------------


def _short(text: str, n: int = 28) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "\u2026"


@dataclass(frozen=True, slots=True, kw_only=True)
class MatrixLayout:
    """Horizontal geometry shared by the design matrix and the contrast figures.

    Attributes
    ----------
    n_columns : int
    column_in : float
        Width of one design column in inches.
    left_in, right_in : float
        Margins in inches.
    label_in : float
        Height reserved above the matrix for the rotated column names.
    """

    n_columns: int
    column_in: float
    left_in: float
    right_in: float
    label_in: float

    @property
    def width_in(self) -> float:
        return self.left_in + self.n_columns * self.column_in + self.right_in

    @property
    def font_size(self) -> float:
        """Points of the column names."""
        return _FONT if self.column_in >= 0.16 else _FONT - 1.5

    @property
    def label_step(self) -> int:
        """Name every k-th column: a rotated name needs ~1.3 font heights of column width."""
        return max(1, math.ceil(1.3 * self.font_size / 72 / self.column_in))


def matrix_layout(columns: Sequence[str], *, max_width_in: float = 7.0) -> MatrixLayout:
    """Geometry for a design with these column names.

    Parameters
    ----------
    columns : sequence of str
    max_width_in : float
    """
    n = max(len(columns), 1)
    left, right = 0.55, 0.25
    # Wide designs keep the figure's width: columns get narrower and only some are named.
    column_in = float(np.clip((max_width_in - left - right) / n, 0.02, 0.55))
    longest = max((len(_short(c)) for c in columns), default=4)
    label_in = 0.15 + longest * 0.055 * math.sin(math.radians(55))
    return MatrixLayout(
        n_columns=n, column_in=column_in, left_in=left, right_in=right, label_in=label_in
    )


def _column_labels(ax, columns: Sequence[str], layout: MatrixLayout) -> None:
    """Rotated column names above the matrix; every k-th name when columns are narrow."""
    fontsize = layout.font_size
    shown = np.arange(0, len(columns), layout.label_step)
    ax.set_xticks(shown)
    ax.set_xticklabels(
        [_short(columns[i]) for i in shown],
        rotation=55,
        ha="left",
        rotation_mode="anchor",
        fontsize=fontsize,
        color=_TEXT,
    )
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0, pad=2)


def plot_design_matrix(
    matrix: np.ndarray,
    columns: Sequence[str],
    *,
    layout: MatrixLayout | None = None,
    row_label: str = "row",
    dpi: float = DEFAULT_DPI,
) -> Png:
    """The design matrix, each column scaled to its maximum absolute value for display.

    Parameters
    ----------
    matrix : (n_rows, n_columns) ndarray
    columns : sequence of str
        Column names, drawn above the matrix (every k-th one when the columns are narrow).
    layout : MatrixLayout, optional
        Share it with :func:`plot_contrast_matrix` so the columns line up.
    row_label : str
        What a row is (``"row"``, ``"image"``, ``"scan"``); rows are numbered from 1.
    """
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    layout = layout or matrix_layout(columns)
    peak = np.nanmax(np.abs(matrix), axis=0)
    shown = matrix / np.where(peak > 0, peak, 1.0)
    n_rows = matrix.shape[0]
    body_in = float(np.clip(n_rows * 0.11, 1.4, 3.6))
    height = layout.label_in + body_in + 0.15
    fig = Figure(figsize=(layout.width_in, height), dpi=dpi, facecolor="white")
    ax = fig.add_axes(
        (
            layout.left_in / layout.width_in,
            0.15 / height,
            layout.n_columns * layout.column_in / layout.width_in,
            body_in / height,
        )
    )
    ax.imshow(shown, aspect="auto", cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    _column_labels(ax, columns, layout)
    # Rows numbered from 1: every row up to 20, then about 8 round numbers (plus row 1).
    if n_rows <= 20:
        rows = np.arange(1, n_rows + 1)
    else:
        step = ticker.MaxNLocator(8, integer=True, steps=[1, 2, 2.5, 5, 10]).tick_values(1, n_rows)
        step = max(int(round(step[1] - step[0])), 1) if len(step) > 1 else n_rows
        rows = np.concatenate([[1], np.arange(step, n_rows + 1, step)])
    ax.set_yticks(rows - 1)
    ax.set_yticklabels([str(r) for r in rows], fontsize=_FONT - 1.5)
    ax.tick_params(axis="y", length=2, colors=_MUTED)
    ax.set_ylabel(row_label, fontsize=_FONT - 1, color=_MUTED)
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_color(_MUTED)
    return _encode(fig, dpi)


def plot_contrast_matrix(
    weights: np.ndarray,
    columns: Sequence[str],
    *,
    layout: MatrixLayout | None = None,
    dpi: float = DEFAULT_DPI,
    column_labels: bool = True,
) -> Png:
    """Contrast weights, one row per contrast row, aligned with the design's columns.

    Parameters
    ----------
    weights : (q, n_columns) ndarray
    columns : sequence of str
    layout : MatrixLayout, optional
        The design matrix's layout, so the columns line up.
    column_labels : bool
        Draw the column names above the weights.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    layout = layout or matrix_layout(columns)
    q = weights.shape[0]
    row_in = 0.22
    label_in = layout.label_in if column_labels else 0.05
    height = label_in + q * row_in + 0.08
    fig = Figure(figsize=(layout.width_in, height), dpi=dpi, facecolor="white")
    ax = fig.add_axes(
        (
            layout.left_in / layout.width_in,
            0.04 / height,
            layout.n_columns * layout.column_in / layout.width_in,
            q * row_in / height,
        )
    )
    vmax = float(np.nanmax(np.abs(weights))) or 1.0
    # Softened ramp: the largest weight is a mid red/blue, so its label stays readable.
    ax.imshow(
        weights,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-1.6 * vmax,
        vmax=1.6 * vmax,
        interpolation="nearest",
    )
    if layout.column_in >= 0.3:
        for (r, c), w in np.ndenumerate(weights):
            if w != 0:
                ax.text(c, r, f"{w:g}", ha="center", va="center", fontsize=_FONT - 1, color=_TEXT)
    if column_labels:
        _column_labels(ax, columns, layout)
    else:
        ax.set_xticks([])
    ax.set_yticks(np.arange(q))
    ax.set_yticklabels([str(i + 1) for i in range(q)] if q > 1 else [""], fontsize=_FONT - 1.5)
    ax.tick_params(axis="y", length=0, colors=_MUTED)
    ax.set_xticks(np.arange(-0.5, layout.n_columns, 1), minor=True)
    ax.grid(which="minor", axis="x", color="white", linewidth=min(0.8, layout.column_in * 72 * 0.1))
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_color(_MUTED)
    return _encode(fig, dpi)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdLine:
    """A threshold to mark on a histogram.

    Attributes
    ----------
    value : float
        On the histogram's scale.
    label : str
    two_sided : bool
        Also mark ``-value``.
    """

    value: float
    label: str
    two_sided: bool = False


_LINE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


def plot_histogram(
    values: np.ndarray,
    *,
    thresholds: Sequence[ThresholdLine] = (),
    xlabel: str = "z",
    bins: int = 120,
    width_in: float = 7.0,
    height_in: float = 2.1,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """Histogram of in-mask values (log counts) with threshold lines.

    Parameters
    ----------
    values : (v,) ndarray
        In-mask statistic values; non-finite values are ignored.
    thresholds : sequence of ThresholdLine
    xlabel : str
    """
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    n_lines = len(thresholds)
    longest = max((len(_short(line.label, 64)) for line in thresholds), default=0)
    entry_in = 0.42 + longest * 0.052 * _FONT / 7.5  # line handle + text at legend size
    ncol = int(min(max(n_lines, 1), 3, max(1, (width_in - 0.2) // entry_in)))
    legend_in = 0.2 * math.ceil(n_lines / ncol) if n_lines else 0.0
    height = height_in + legend_in
    fig = Figure(figsize=(width_in, height), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0.075, 0.42 / height, 0.9, (height - 0.55 - legend_in) / height))
    if values.size:
        span = [float(values.min()), float(values.max())]
        for line in thresholds:
            low = -line.value if line.two_sided else line.value
            span = [min(span[0], low), max(span[1], line.value)]
        counts, edges = np.histogram(values, bins=bins, range=(span[0] - 0.1, span[1] + 0.1))
        ax.stairs(counts, edges, fill=True, color="#9aa5b1", linewidth=0)
        ax.set_yscale("log")
        ax.set_ylim(0.7, max(counts.max(), 1) * 2.0)
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, numticks=6))
        ax.yaxis.set_minor_locator(ticker.NullLocator())
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_count_label))
    for k, line in enumerate(thresholds):
        color = _LINE_COLORS[k % len(_LINE_COLORS)]
        ax.axvline(line.value, color=color, linewidth=1.0, label=_short(line.label, 64))
        if line.two_sided:
            ax.axvline(-line.value, color=color, linewidth=1.0, linestyle="--")
    _style_axes(ax, xlabel, "voxels")
    if thresholds:
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0.0, 1.02),
            ncol=ncol,
            fontsize=_FONT - 1,
            frameon=False,
            handlelength=1.4,
            borderaxespad=0,
            columnspacing=1.2,
        )
    return _encode(fig, dpi)


def _count_label(value: float, _position: int | None = None) -> str:
    """Plain tick labels for log counts (1, 10, 100, 1k ...), no mathtext."""
    if value < 1000:
        return f"{value:g}"
    if value < 1e6:
        return f"{value / 1000:g}k"
    return f"{value / 1e6:g}M"


def plot_null_distribution(
    null: np.ndarray,
    *,
    observed: float | None = None,
    critical: float | None = None,
    xlabel: str = "maximum statistic",
    bins: int = 60,
    width_in: float = 5.0,
    height_in: float = 2.0,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """Histogram of a permutation null distribution with the observed and critical values.

    Parameters
    ----------
    null : (n_permutations,) ndarray
    observed : float, optional
        Observed value of the same statistic (e.g. the largest observed maximum).
    critical : float, optional
        Critical value read from the results (not computed here).
    xlabel : str
        What the null is a distribution of.
    """
    null = np.asarray(null, dtype=float).ravel()
    null = null[np.isfinite(null)]
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0.11, 0.24, 0.86, 0.64))
    if null.size:
        low, high = float(null.min()), float(null.max())
        for v in (observed, critical):
            if v is not None and np.isfinite(v):
                low, high = min(low, v), max(high, v)
        pad = 0.03 * (high - low or 1.0)
        counts, edges = np.histogram(null, bins=bins, range=(low - pad, high + pad))
        ax.stairs(counts, edges, fill=True, color="#9aa5b1", linewidth=0)
    if critical is not None and np.isfinite(critical) and null.size:
        ax.axvspan(critical, ax.get_xlim()[1], color="#d62728", alpha=0.07, linewidth=0)
    if critical is not None and np.isfinite(critical):
        ax.axvline(
            critical,
            color="#d62728",
            linewidth=1.1,
            linestyle="--",
            label=f"critical {_label_number(critical)}",
        )
    if observed is not None and np.isfinite(observed):
        ax.axvline(
            observed, color="#1f77b4", linewidth=1.3, label=f"observed {_label_number(observed)}"
        )
    _style_axes(ax, xlabel, "permutations")
    if critical is not None or observed is not None:
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=2,
            fontsize=_FONT - 1,
            frameon=False,
            borderaxespad=0.2,
        )
    return _encode(fig, dpi)


def _label_number(value: float) -> str:
    """3 significant digits, whole numbers from 1000 on (no exponent)."""
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return text.replace("-", "\u2212")


def _style_axes(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=_FONT, color=_TEXT, labelpad=2)
    ax.set_ylabel(ylabel, fontsize=_FONT, color=_TEXT, labelpad=2)
    ax.tick_params(labelsize=_FONT - 1, length=2, colors=_TEXT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(0.6)
        ax.spines[side].set_color(_MUTED)


__all__ = [
    "DEFAULT_DPI",
    "Background",
    "ColorScale",
    "MatrixLayout",
    "Png",
    "ThresholdLine",
    "colorize",
    "load_background",
    "matrix_layout",
    "plot_cluster_thumbnails",
    "plot_contrast_matrix",
    "plot_design_matrix",
    "plot_glass_brain",
    "plot_histogram",
    "plot_null_distribution",
    "plot_ortho",
    "plot_slices",
    "resample",
    "slice_cuts",
    "to_display",
]
