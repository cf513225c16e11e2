"""Figure style: colour ramps, the brain palette, shortened labels."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from glmreport.figures.style import (
    NEG_LUT,
    NEGATIVE_COLORS,
    PALETTE,
    PALETTE_WHITE,
    POS_LUT,
    POSITIVE_COLORS,
    shorten,
)
from glmreport.resources import templates_dir


def test_ramps_run_from_the_first_to_the_last_colour():
    for lut, colors in ((POS_LUT, POSITIVE_COLORS), (NEG_LUT, NEGATIVE_COLORS)):
        assert lut.shape == (256, 3) and lut.dtype == np.uint8
        np.testing.assert_array_equal(lut[0], np.round(np.array(to_rgb(colors[0])) * 255))
        np.testing.assert_array_equal(lut[-1], np.round(np.array(to_rgb(colors[-1])) * 255))


def test_palette_holds_white_at_its_index():
    flat = PALETTE.getpalette()
    assert len(flat) == 768
    assert flat[3 * PALETTE_WHITE : 3 * PALETTE_WHITE + 3] == [255, 255, 255]
    assert flat[:3] == [0, 0, 0]  # the darkest gray first


def test_shorten_cuts_with_an_ellipsis():
    assert shorten("short") == "short"
    long = "a rather long column name that gets shortened"
    assert shorten(long) == long[:27] + "\u2026" and len(shorten(long, 10)) == 10


def test_one_coordinate_format_for_figures_tables_and_viewer() -> None:
    from glmreport.figures.brain import _mm
    from glmreport.figures.style import fmt_mm
    from glmreport.report.filters import fmt_coord

    cases = {21.5: "21.5", -54.5: "\u221254.5", -24.5: "\u221224.5", 22.0: "22", -0.04: "0"}
    for value, text in cases.items():
        assert fmt_mm(value) == _mm(value) == fmt_coord(value) == text
    # The viewer's formatCoord applies the same rule (tests/report/test_viewer.py reads it).
    script = (templates_dir() / "viewer.js").read_text(encoding="utf-8")
    assert "whole mm when whole, else one decimal" in script
