"""Stage 7, figures: arrays -> PNG with matplotlib only; no statistic is computed here.

``style`` holds the colours and fonts, ``png`` the encoding the report embeds, ``display`` the
anatomical background grid maps are put onto, ``mosaic`` the composition of brain panels and
colour bars, ``brain`` the glass brains, slices and cluster thumbnails, ``matrices`` the design
and contrast matrices, ``distributions`` histograms and null distributions, ``checks`` the
design checks (correlation matrix, input outliers, p-value histograms). The names below are the
contract with the report.
"""

from __future__ import annotations

from .brain import (
    plot_cluster_thumbnails,
    plot_glass_brain,
    plot_map_glass_brain,
    plot_ortho,
    plot_slices,
    slice_cuts,
)
from .checks import (
    InputPoint,
    PHistogram,
    plot_correlation_matrix,
    plot_framewise_displacement,
    plot_input_outliers,
    plot_p_histograms,
)
from .display import Background, load_background, resample, to_display
from .distributions import ThresholdLine, plot_histogram, plot_null_distribution
from .matrices import MatrixLayout, matrix_layout, plot_contrast_matrix, plot_design_matrix
from .mosaic import CONTOUR_STYLES, ColorScale, colorize
from .png import Png, read_png
from .style import (
    DEFAULT_DPI,
    NEGATIVE_CMAP,
    NEGATIVE_COLORS,
    POSITIVE_CMAP,
    POSITIVE_COLORS,
)
from .unthresholded import plot_unthresholded

__all__ = [
    "InputPoint",
    "PHistogram",
    "plot_correlation_matrix",
    "plot_framewise_displacement",
    "plot_map_glass_brain",
    "read_png",
    "plot_input_outliers",
    "plot_p_histograms",
    "Background",
    "colorize",
    "CONTOUR_STYLES",
    "ColorScale",
    "DEFAULT_DPI",
    "load_background",
    "matrix_layout",
    "MatrixLayout",
    "NEGATIVE_CMAP",
    "NEGATIVE_COLORS",
    "plot_cluster_thumbnails",
    "plot_contrast_matrix",
    "plot_design_matrix",
    "plot_glass_brain",
    "plot_histogram",
    "plot_null_distribution",
    "plot_ortho",
    "plot_slices",
    "plot_unthresholded",
    "Png",
    "POSITIVE_CMAP",
    "POSITIVE_COLORS",
    "resample",
    "slice_cuts",
    "ThresholdLine",
    "to_display",
]
