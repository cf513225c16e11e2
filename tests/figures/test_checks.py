"""Figures of the design checks: correlation matrix, input outliers, p-value histograms."""

from __future__ import annotations

import io

import numpy as np
from fixtures.figure_images import DPI
from PIL import Image

from glmreport.figures.checks import (
    BLANK,
    CORRELATION_CMAP,
    InputPoint,
    PHistogram,
    plot_correlation_matrix,
    plot_input_outliers,
    plot_p_histograms,
)


def _rgb(png) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png.data)).convert("RGB"))


def test_correlation_matrix_blank_for_constant_columns():
    m = np.array([[np.nan, np.nan, np.nan], [np.nan, 1.0, -0.8], [np.nan, -0.8, 1.0]])
    png = plot_correlation_matrix(m, ["intercept", "age", "score"], dpi=DPI)
    pixels = _rgb(png).reshape(-1, 3)
    blank = np.array([int(BLANK[i : i + 2], 16) for i in (1, 3, 5)])
    assert np.any(np.all(pixels == blank, axis=1))  # the intercept's cells
    red = (np.array(CORRELATION_CMAP(1.0)[:3]) * 255).round()
    assert np.any(np.all(np.abs(pixels - red) <= 2, axis=1))  # the diagonal
    # many columns: smaller cells, no text, still one image
    big = plot_correlation_matrix(np.eye(60), [f"c{i}" for i in range(60)], dpi=DPI)
    assert big.width > 0 and big.height < 8 * DPI


def test_outliers_and_p_histograms():
    points = [
        InputPoint(label=f"sub-{i}", robust_z=z, flagged=abs(z) > 3.5)
        for i, z in enumerate([0.1, -1.0, 5.2, 0.4, -0.3])
    ]
    points.append(InputPoint(label="exact", robust_z=None, flagged=False))
    png = plot_input_outliers(points, threshold=3.5, dpi=DPI)
    assert png.width > 0 and png.height == round(2.2 * DPI)
    panels = [
        PHistogram(title=f"c{i}", counts=[50] + [10] * 19, null_level=9.0, uniform_level=12.0)
        for i in range(4)
    ]
    grid = plot_p_histograms(panels, dpi=DPI)
    one = plot_p_histograms(panels[:1], dpi=DPI)
    assert grid.height > one.height and grid.width > one.width  # 2 rows of 3, 1 panel


def test_framewise_displacement_marks_the_scans_over_the_threshold():
    from glmreport.figures.checks import FLAG, plot_framewise_displacement

    fd = np.r_[np.nan, np.full(40, 0.1), 0.9, np.full(20, 0.15)]
    flag = np.array([int(FLAG[i : i + 2], 16) for i in (1, 3, 5)])

    def flagged_pixels(png) -> int:
        return int((np.abs(_rgb(png).astype(int) - flag).max(axis=-1) <= 40).sum())

    plain = plot_framewise_displacement(fd, dpi=DPI)
    marked = plot_framewise_displacement(fd, threshold=0.5, dpi=DPI)
    assert plain.width == marked.width == 6 * DPI and plain.height == round(1.8 * DPI)
    assert flagged_pixels(plain) == 0  # no threshold: nothing in the flag colour
    none_over = plot_framewise_displacement(np.r_[np.nan, np.full(61, 0.1)], threshold=0.5, dpi=DPI)
    assert flagged_pixels(none_over) > 100  # the dashed threshold line
    assert flagged_pixels(marked) > flagged_pixels(none_over) + 5  # and the scan over it
