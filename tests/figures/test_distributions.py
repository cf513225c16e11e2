"""Histograms of maps and permutation null distributions."""

from __future__ import annotations

import numpy as np
from fixtures.figure_images import DPI

from glmreport.figures.distributions import (
    ThresholdLine,
    _count_label,
    _label_number,
    plot_histogram,
    plot_null_distribution,
)


def test_histogram_and_null_sizes():
    values = np.random.default_rng(0).standard_normal(5000)
    hist = plot_histogram(
        values, thresholds=[ThresholdLine(value=3.1, label="FDR", two_sided=True)], dpi=DPI
    )
    assert hist.width == 7 * DPI
    many = [ThresholdLine(value=float(v), label=f"line {v}") for v in range(1, 8)]
    taller = plot_histogram(values, thresholds=many, dpi=DPI)
    assert taller.height > hist.height  # the legend takes rows
    null = plot_null_distribution(
        np.random.default_rng(1).gumbel(size=500),
        observed=6.0,
        critical=4.2,
        xlabel="maximum |t|",
        dpi=DPI,
    )
    assert null.width == 5 * DPI
    # Empty inputs still give an image.
    assert plot_histogram(np.array([np.nan]), dpi=DPI).width == 7 * DPI
    assert plot_null_distribution(np.array([]), dpi=DPI).width == 5 * DPI


def test_number_labels():
    assert _label_number(10268.09) == "10268" and _label_number(9.034) == "9.03"
    assert _label_number(-0.5) == "\u22120.5"
    assert [_count_label(v) for v in (1, 100, 1000, 25000, 3e6)] == ["1", "100", "1k", "25k", "3M"]
