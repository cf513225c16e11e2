"""Design and contrast matrices share their column geometry."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.figure_images import DPI

from glmreport.figures.matrices import matrix_layout, plot_contrast_matrix, plot_design_matrix


def test_design_and_contrast_columns_line_up():
    columns = ["intercept", "age", "a rather long column name that gets shortened"]
    layout = matrix_layout(columns)
    design = np.column_stack([np.ones(16), np.linspace(-1, 1, 16), np.tile([1.0, -1.0], 8)])
    png_design = plot_design_matrix(design, columns, layout=layout, dpi=DPI)
    png_contrast = plot_contrast_matrix([[0, 1, 0], [0, 0, 1]], columns, layout=layout, dpi=DPI)
    assert png_design.width == png_contrast.width == round(layout.width_in * DPI)
    bare = plot_contrast_matrix([[0, 1, 0]], columns, layout=layout, dpi=DPI, column_labels=False)
    assert bare.width == png_contrast.width and bare.height < png_contrast.height


def test_wide_designs_keep_their_width_and_thin_their_labels():
    narrow = matrix_layout(["intercept", "age"])
    assert narrow.label_step == 1
    columns = [f"cond_{i:02d}" for i in range(20)] + [f"sub-{i:03d}" for i in range(80)]
    wide = matrix_layout(columns)
    assert wide.width_in == pytest.approx(7.0)  # 100 columns still fit the text width
    assert wide.label_step >= 2  # every other name (or fewer) stays legible
    rng = np.random.default_rng(0)
    design = np.zeros((300, 100))
    design[np.arange(300), rng.integers(0, 20, 300)] = 1.0
    design[np.arange(300), 20 + np.arange(300) % 80] = 1.0
    png = plot_design_matrix(design, columns, layout=wide, row_label="image", dpi=DPI)
    assert png.width == round(7.0 * DPI)
    assert png.height < 5.0 * DPI  # 300 rows do not make a tall figure
    contrast = plot_contrast_matrix(np.eye(2, 100), columns, layout=wide, dpi=DPI)
    assert contrast.width == png.width
