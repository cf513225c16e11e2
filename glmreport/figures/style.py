"""The look shared by every figure: colours, colour ramps, fonts and the brain palette.

Positive values are drawn red to yellow, negative ones blue to cyan (the report's CSS uses the
same colours); text is a dark gray at 7.5 pt. Brain figures are quantised to one fixed
256-colour palette (:data:`PALETTE`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from PIL import Image

#: Resolution of every figure; good enough for print at the width of an A4 text column.
DEFAULT_DPI = 120

#: Colours (shared with the report's CSS): positive red to yellow, negative blue to cyan.
POSITIVE_COLORS = ("#7f0000", "#d7301f", "#fc8d59", "#fdd94d")
NEGATIVE_COLORS = ("#08306b", "#2166ac", "#4393c3", "#8fd3f0")
POSITIVE_CMAP = LinearSegmentedColormap.from_list("glmreport_pos", POSITIVE_COLORS)
NEGATIVE_CMAP = LinearSegmentedColormap.from_list("glmreport_neg", NEGATIVE_COLORS)

#: Page white, the brain's silhouette in glass brains, outlines, text, secondary text.
WHITE = np.array([255, 255, 255], dtype=np.uint8)
SILHOUETTE = np.array([243, 244, 246], dtype=np.uint8)
OUTLINE = "#8a8f98"
TEXT = "#2b2f36"
MUTED = "#6b7280"
#: Crosshair colour.
CROSS = "#1b9e77"
#: Font size (points) of labels.
FONT = 7.5


def _lut(cmap: LinearSegmentedColormap) -> np.ndarray:
    return (cmap(np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)


#: The colour ramps as (256, 3) uint8 lookup tables.
POS_LUT = _lut(POSITIVE_CMAP)
NEG_LUT = _lut(NEGATIVE_CMAP)


def brain_palette() -> Image.Image:
    """Fixed 256-colour palette of the brain figures: grays, both ramps, crosshair greens.

    Quantising to it keeps anatomy smooth (144 gray levels) at half the size of RGB.
    """
    colors = [(g, g, g) for g in np.linspace(0, 255, 144).round().astype(int)]
    colors += [tuple(c) for c in POS_LUT[::5]] + [tuple(c) for c in NEG_LUT[::6]]
    green = np.array(to_rgb(CROSS)) * 255
    for a in np.linspace(0.5, 1.0, 6):
        for g in (90, 160, 230):
            colors.append(tuple((green * a + g * (1 - a)).round().astype(int)))
    flat = [int(v) for c in colors[:256] for v in c]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + [0] * (768 - len(flat)))
    return palette


PALETTE = brain_palette()
PALETTE_WHITE = 143  # index of (255, 255, 255): the last of the 144 grays


def shorten(text: str, n: int = 28) -> str:
    """``text`` cut to ``n`` characters with an ellipsis (column names, legend entries)."""
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def fmt_mm(value: float) -> str:
    """A world coordinate in mm, as every table, caption, figure and the viewer print it.

    Whole mm when the coordinate is whole, else one decimal (voxel centres of a grid whose
    origin lies half-way, such as the 2 mm MNI152NLin2009cAsym grid at ``-96.5``, stay
    exact: rounding them to whole mm would move them by half a millimetre and round ties
    differently on either side of zero); a true minus sign and no negative zero.
    """
    v = round(float(value), 1) + 0.0
    text = f"{v:.0f}" if v == int(v) else f"{v:.1f}"
    return text.replace("-", "\u2212")
