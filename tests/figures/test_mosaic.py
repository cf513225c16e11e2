"""Mosaics: colours of values, panel composition, the colour bar and its labels."""

from __future__ import annotations

import numpy as np
from fixtures.figure_images import DPI, blob_volume, rgb_of

from glmreport.figures.brain import plot_glass_brain
from glmreport.figures.mosaic import ColorScale, Panel, _tick, colorize, compose
from glmreport.figures.style import NEG_LUT, POS_LUT


def test_colorize_ramps_and_blanks():
    scale = ColorScale(threshold=3.0, vmax=7.0, two_sided=True)
    rgb, shown = colorize(np.array([0.0, 3.0, 7.0, -3.0, -7.0, np.nan]), scale)
    assert shown.tolist() == [False, True, True, True, True, False]
    assert tuple(rgb[1]) == tuple(POS_LUT[0])  # threshold: start of the red ramp
    assert tuple(rgb[2]) == tuple(POS_LUT[-1])  # vmax: end of the ramp
    assert tuple(rgb[3]) == tuple(NEG_LUT[0])
    assert tuple(rgb[4]) == tuple(NEG_LUT[-1])


def test_color_scale_bounds():
    assert ColorScale(threshold=None, vmax=5.0, two_sided=False).low == 0.0
    flat = ColorScale(threshold=4.0, vmax=3.0, two_sided=False)
    assert flat.high > flat.low == 4.0  # a map below its threshold still has a ramp


def _panel(h: int, w: int, value: int, **kw) -> Panel:
    return Panel(image=np.full((h, w, 3), value, dtype=np.uint8), **kw)


def test_compose_lays_out_rows_at_the_asked_width():
    rows = [[_panel(20, 30, 0, label="a"), _panel(20, 30, 80)], [_panel(10, 40, 160)]]
    png = compose(rows, width_in=4.0, dpi=DPI, colorbar=None, gap=2, photo=False)
    assert png.width == 4 * DPI
    rgb = rgb_of(png)
    assert (rgb == 0).all(axis=-1).sum() > 100  # the black panel is there
    capped = compose(
        rows, width_in=4.0, dpi=DPI, colorbar=None, gap=2, photo=False, max_height_in=0.5
    )
    assert capped.width < png.width and capped.height < png.height  # narrower and shorter


def test_compose_with_a_colour_bar_adds_its_width():
    scale = ColorScale(threshold=2.0, vmax=5.0, two_sided=True)
    rows = [[_panel(30, 30, 120, cross=(15.0, 15.0), marks=("L", "R"))]]
    png = compose(rows, width_in=3.0, dpi=DPI, colorbar=scale, gap=2)
    assert png.width == 3 * DPI and png.height >= round(1.15 * DPI)


def test_colorbar_marks_and_display_floor(background):
    vol = blob_volume(background, [(-38, -22, 56)], [900.0])
    marked = ColorScale(threshold=300.0, vmax=1000.0, two_sided=False, label="TFCE")
    plain = ColorScale(
        threshold=300.0,
        vmax=1000.0,
        two_sided=False,
        label="TFCE",
        marks=(600.0,),
        mark_threshold=False,
    )
    a = rgb_of(plot_glass_brain(vol, background, scale=marked, dpi=DPI))
    b = rgb_of(plot_glass_brain(vol, background, scale=plain, dpi=DPI))
    assert a.shape == b.shape and not np.array_equal(a, b)
    assert _tick(13797.7) == "13798" and _tick(-3.291) == "\u22123.29"
