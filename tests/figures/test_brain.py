"""Brain figures: glass brains, slices, thumbnails and orthogonal views."""

from __future__ import annotations

import numpy as np
from fixtures.figure_images import DPI, blob_volume, count_color, rgb_of

from glmreport.figures.brain import (
    NEGATIVE_COLORS,
    POSITIVE_COLORS,
    _crop,
    plot_cluster_thumbnails,
    plot_glass_brain,
    plot_ortho,
    plot_slices,
    slice_cuts,
)
from glmreport.figures.mosaic import ColorScale


def test_glass_brain_draws_positive_and_negative_colours(background):
    vol = blob_volume(background, [(-38, -22, 56), (2, -84, 6)], [6.0, -6.0])
    scale = ColorScale(threshold=3.1, vmax=6.0, two_sided=True)
    png = plot_glass_brain(vol, background, scale=scale, width_in=7.0, dpi=DPI)
    assert png.width == 7 * DPI
    assert 1.2 * DPI < png.height < 3.5 * DPI
    rgb = rgb_of(png)
    top_pos, top_neg = POSITIVE_COLORS[-1], NEGATIVE_COLORS[-1]
    # Both blobs visible in the three projections (plus the colour bar's ends).
    assert count_color(rgb, top_pos, 25) > 100
    assert count_color(rgb, top_neg, 25) > 100

    only_pos = np.clip(vol, 0, None)
    one_sided = ColorScale(threshold=3.1, vmax=6.0, two_sided=False)
    rgb = rgb_of(plot_glass_brain(only_pos, background, scale=one_sided, dpi=DPI))
    assert count_color(rgb, top_pos, 25) > 100
    for blue in NEGATIVE_COLORS:
        assert count_color(rgb, blue, 12) == 0


def test_figures_draw_what_they_are_given_and_threshold_nothing(background):
    # Values below the stated threshold are still drawn (at the bottom of the ramp): the
    # figure only shows a map that was thresholded upstream.
    vol = blob_volume(background, [(-38, -22, 56)], [2.0])
    scale = ColorScale(threshold=5.0, vmax=8.0, two_sided=False)
    brain_part = slice(0, 7 * DPI - int(0.8 * DPI))  # leave out the colour bar
    rgb = rgb_of(plot_glass_brain(vol, background, scale=scale, dpi=DPI))
    assert count_color(rgb[:, brain_part], POSITIVE_COLORS[0], 20) > 50
    empty = np.zeros(background.shape, np.float32)
    rgb = rgb_of(plot_glass_brain(empty, background, scale=scale, dpi=DPI))
    assert count_color(rgb[:, brain_part], POSITIVE_COLORS[0], 20) == 0


def test_slices_thumbnails_and_ortho_sizes(background):
    vol = blob_volume(background, [(-38, -22, 56), (40, -20, 54)], [6.0, 4.0])
    scale = ColorScale(threshold=3.1, vmax=6.0, two_sided=False)
    cuts = slice_cuts([56.0, 54.0, -10.0, 60.0], background, max_cuts=5)
    # Peaks in table order; 54 and 60 are within 6 mm of 56, which came first.
    assert cuts == [-10.0, 56.0]
    row = plot_slices(vol, background, scale=scale, cuts=cuts, axis="z", width_in=6.0, dpi=DPI)
    # Two cuts: panels capped in height, so the figure is narrower than asked.
    assert row.width < 6 * DPI and row.height < 2.2 * DPI
    thumbs = plot_cluster_thumbnails(
        vol,
        background,
        scale=scale,
        peaks_mm=[(-38, -22, 56), (40, -20, 54), (0, 0, 0)],
        labels=["#1 (+)", "#2 (+)", "#3 (+)"],
        dpi=DPI,
    )
    assert thumbs.width == 7 * DPI
    assert thumbs.height > 2 * DPI  # two rows of clusters
    ortho = plot_ortho(vol, background, scale=scale, point_mm=(-38, -22, 56), dpi=DPI)
    assert ortho.width <= 7 * DPI
    assert count_color(rgb_of(ortho), POSITIVE_COLORS[-1], 30) > 20
    # Without peaks, cuts are spread through the brain.
    spread = slice_cuts([], background, max_cuts=4)
    assert len(spread) == 4 and spread == sorted(spread)


def test_crop_pads_with_white_around_the_edge():
    image = np.zeros((5, 5, 3), dtype=np.uint8)
    out, col, row = _crop(image, 0, 0, 2)
    assert out.shape == (5, 5, 3) and (col, row) == (2.0, 2.0)
    assert (out[:2] == 255).all() and (out[2:, 2:] == 0).all()


def test_map_glass_brain_thresholds_a_map_on_its_own_grid(background):
    """A map on the background's own grid: below the threshold nothing is drawn, at or above
    it the figure equals the glass brain of the thresholded map."""
    from glmreport.figures.brain import plot_map_glass_brain
    from glmreport.figures.display import to_display

    vol = blob_volume(background, [(-38, -22, 56), (2, -84, 6)], [5.0, 2.0])
    vol[0, 0, 0] = np.nan
    png = plot_map_glass_brain(vol, background.affine, background, threshold=3.09, dpi=DPI)
    shown = to_display(
        np.where(np.nan_to_num(vol) >= 3.09, np.nan_to_num(vol), 0), background.affine, background
    )
    expected = plot_glass_brain(
        shown, background, scale=ColorScale(threshold=3.09, vmax=5.0, two_sided=False), dpi=DPI
    )
    assert png.data == expected.data
    weak = plot_map_glass_brain(
        np.clip(vol, None, 3.0), background.affine, background, threshold=3.09, dpi=DPI
    )
    brain_part = slice(0, 7 * DPI - int(0.8 * DPI))  # leave out the colour bar
    assert count_color(rgb_of(weak)[:, brain_part], POSITIVE_COLORS[0], 20) == 0
