"""Distributions: the histogram of a statistic map and a permutation null distribution.

Thresholds and critical values arrive as numbers read from the results and are only drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

from .png import Png, encode
from .style import DEFAULT_DPI, FONT, MUTED, TEXT, shorten


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdLine:
    """A threshold to mark on a histogram.

    Attributes
    ----------
    value : float
        On the histogram's scale.
    label : str
    two_sided : bool
        Also mark ``-value``.
    """

    value: float
    label: str
    two_sided: bool = False


_LINE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


def plot_histogram(
    values: np.ndarray,
    *,
    thresholds: Sequence[ThresholdLine] = (),
    xlabel: str = "z",
    bins: int = 120,
    width_in: float = 7.0,
    height_in: float = 2.1,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """Histogram of in-mask values (log counts) with threshold lines.

    Parameters
    ----------
    values : (v,) ndarray
        In-mask statistic values; non-finite values are ignored.
    thresholds : sequence of ThresholdLine
    xlabel : str
    """
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    n_lines = len(thresholds)
    longest = max((len(shorten(line.label, 64)) for line in thresholds), default=0)
    entry_in = 0.42 + longest * 0.052 * FONT / 7.5  # line handle + text at legend size
    ncol = int(min(max(n_lines, 1), 3, max(1, (width_in - 0.2) // entry_in)))
    legend_in = 0.2 * math.ceil(n_lines / ncol) if n_lines else 0.0
    height = height_in + legend_in
    fig = Figure(figsize=(width_in, height), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0.075, 0.42 / height, 0.9, (height - 0.55 - legend_in) / height))
    if values.size:
        span = [float(values.min()), float(values.max())]
        for line in thresholds:
            low = -line.value if line.two_sided else line.value
            span = [min(span[0], low), max(span[1], line.value)]
        counts, edges = np.histogram(values, bins=bins, range=(span[0] - 0.1, span[1] + 0.1))
        ax.stairs(counts, edges, fill=True, color="#9aa5b1", linewidth=0)
        ax.set_yscale("log")
        ax.set_ylim(0.7, max(counts.max(), 1) * 2.0)
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, numticks=6))
        ax.yaxis.set_minor_locator(ticker.NullLocator())
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_count_label))
    for k, line in enumerate(thresholds):
        color = _LINE_COLORS[k % len(_LINE_COLORS)]
        ax.axvline(line.value, color=color, linewidth=1.0, label=shorten(line.label, 64))
        if line.two_sided:
            ax.axvline(-line.value, color=color, linewidth=1.0, linestyle="--")
    _style_axes(ax, xlabel, "voxels")
    if thresholds:
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0.0, 1.02),
            ncol=ncol,
            fontsize=FONT - 1,
            frameon=False,
            handlelength=1.4,
            borderaxespad=0,
            columnspacing=1.2,
        )
    return encode(fig, dpi)


def _count_label(value: float, _position: int | None = None) -> str:
    """Plain tick labels for log counts (1, 10, 100, 1k ...), no mathtext."""
    if value < 1000:
        return f"{value:g}"
    if value < 1e6:
        return f"{value / 1000:g}k"
    return f"{value / 1e6:g}M"


def plot_null_distribution(
    null: np.ndarray,
    *,
    observed: float | None = None,
    critical: float | None = None,
    xlabel: str = "maximum statistic",
    bins: int = 60,
    width_in: float = 5.0,
    height_in: float = 2.0,
    dpi: float = DEFAULT_DPI,
) -> Png:
    """Histogram of a permutation null distribution with the observed and critical values.

    Parameters
    ----------
    null : (n_permutations,) ndarray
    observed : float, optional
        Observed value of the same statistic (e.g. the largest observed maximum).
    critical : float, optional
        Critical value read from the results (not computed here).
    xlabel : str
        What the null is a distribution of.
    """
    null = np.asarray(null, dtype=float).ravel()
    null = null[np.isfinite(null)]
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0.11, 0.24, 0.86, 0.64))
    if null.size:
        low, high = float(null.min()), float(null.max())
        for v in (observed, critical):
            if v is not None and np.isfinite(v):
                low, high = min(low, v), max(high, v)
        pad = 0.03 * (high - low or 1.0)
        counts, edges = np.histogram(null, bins=bins, range=(low - pad, high + pad))
        ax.stairs(counts, edges, fill=True, color="#9aa5b1", linewidth=0)
    if critical is not None and np.isfinite(critical) and null.size:
        ax.axvspan(critical, ax.get_xlim()[1], color="#d62728", alpha=0.07, linewidth=0)
    if critical is not None and np.isfinite(critical):
        ax.axvline(
            critical,
            color="#d62728",
            linewidth=1.1,
            linestyle="--",
            label=f"critical {_label_number(critical)}",
        )
    if observed is not None and np.isfinite(observed):
        ax.axvline(
            observed, color="#1f77b4", linewidth=1.3, label=f"observed {_label_number(observed)}"
        )
    _style_axes(ax, xlabel, "permutations")
    if critical is not None or observed is not None:
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=2,
            fontsize=FONT - 1,
            frameon=False,
            borderaxespad=0.2,
        )
    return encode(fig, dpi)


def _label_number(value: float) -> str:
    """3 significant digits, whole numbers from 1000 on (no exponent)."""
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return text.replace("-", "\u2212")


def _style_axes(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=FONT, color=TEXT, labelpad=2)
    ax.set_ylabel(ylabel, fontsize=FONT, color=TEXT, labelpad=2)
    ax.tick_params(labelsize=FONT - 1, length=2, colors=TEXT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(0.6)
        ax.spines[side].set_color(MUTED)
