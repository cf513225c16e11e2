"""Stage 7, figures: arrays -> PNG with matplotlib only; no statistic is computed here.

``brain`` holds the glass brains, slices, cluster thumbnails, design and contrast matrices,
histograms and null distributions, and the PNG encoding the report embeds.
"""

from __future__ import annotations

from .brain import (
    DEFAULT_DPI,
    NEGATIVE_COLORS,
    POSITIVE_COLORS,
    Background,
    ColorScale,
    MatrixLayout,
    Png,
    ThresholdLine,
    colorize,
    load_background,
    matrix_layout,
    plot_cluster_thumbnails,
    plot_contrast_matrix,
    plot_design_matrix,
    plot_glass_brain,
    plot_histogram,
    plot_null_distribution,
    plot_ortho,
    plot_slices,
    resample,
    slice_cuts,
    to_display,
)

__all__ = [
    "Background",
    "colorize",
    "ColorScale",
    "DEFAULT_DPI",
    "load_background",
    "matrix_layout",
    "MatrixLayout",
    "NEGATIVE_COLORS",
    "plot_cluster_thumbnails",
    "plot_contrast_matrix",
    "plot_design_matrix",
    "plot_glass_brain",
    "plot_histogram",
    "plot_null_distribution",
    "plot_ortho",
    "plot_slices",
    "Png",
    "POSITIVE_COLORS",
    "resample",
    "slice_cuts",
    "ThresholdLine",
    "to_display",
]
