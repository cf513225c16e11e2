"""Encoded figures: :class:`Png` and :func:`encode` (Agg canvas -> PNG bytes, no metadata).

Figures are drawn on an Agg canvas, never through pyplot, so no figure stays registered
anywhere once its PNG is encoded.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from .style import PALETTE, PALETTE_WHITE, WHITE


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


def encode(
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
        base[:] = WHITE
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
        index = np.array(image.quantize(palette=PALETTE, dither=Image.Dither.NONE))
        # Pillow matches colours at reduced precision; keep the page-white background exact.
        index[(rgb == 255).all(axis=-1)] = PALETTE_WHITE
        image = Image.fromarray(index)  # "L"; putpalette makes it "P"
        image.putpalette(PALETTE.getpalette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    height, width = rgb.shape[:2]
    return Png(data=buffer.getvalue(), width=int(width), height=int(height), dpi=float(dpi))


def read_png(path: Path, dpi: float) -> Png:
    """A PNG file written earlier (by :func:`encode`), to embed as it is.

    Parameters
    ----------
    path : Path
    dpi : float
        Pixels per inch it was rendered at (the file records none).
    """
    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        if image.format != "PNG":
            raise ValueError(f"{Path(path).name} is not a PNG file")
        width, height = image.size
    return Png(data=data, width=int(width), height=int(height), dpi=float(dpi))
