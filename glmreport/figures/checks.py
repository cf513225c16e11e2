"""Figures of the design checks: the design's correlation matrix, each input's distance from
the group, the p-value histograms of the contrasts, and a run's framewise displacement.

Every number arrives computed (``summary.json`` ``qc``); these functions only draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import LinearSegmentedColormap

from .png import Png, encode
from .style import DEFAULT_DPI, FONT, MUTED, NEGATIVE_COLORS, POSITIVE_COLORS, TEXT, shorten

#: Correlations from -1 (blue) through 0 (white) to +1 (red), the report's two ramps.
CORRELATION_CMAP = LinearSegmentedColormap.from_list(
    "glmreport_corr",
    (NEGATIVE_COLORS[0], NEGATIVE_COLORS[1], "#ffffff", *POSITIVE_COLORS[:2][::-1]),
)
#: Colour of undefined cells (a constant column) and of unflagged points.
BLANK = "#eef0f3"
POINT = "#6b7a8f"
FLAG = POSITIVE_COLORS[1]
#: Columns beyond which the correlation cells are not written out.
MAX_ANNOTATED = 14


def plot_correlation_matrix(
    matrix: np.ndarray, columns: Sequence[str], *, dpi: float = DEFAULT_DPI
) -> Png:
    """The correlation between a design's columns as a heat map (NaN cells blank).

    Parameters
    ----------
    matrix : (p, p) ndarray
        Correlations in [-1, 1]; NaN for undefined ones.
    columns : sequence of str
        The p column names.
    """
    m = np.asarray(matrix, dtype=float)
    p = len(columns)
    cell = 0.34 if p <= MAX_ANNOTATED else max(0.09, 4.8 / p)
    label_in = min(1.6, 0.3 + 0.055 * max((len(shorten(c, 24)) for c in columns), default=1))
    side = p * cell
    width, height = label_in + side + 0.75, label_in * 0.55 + side + 0.25
    fig = _figure(width, height, dpi)
    ax = fig.add_axes((label_in / width, 0.15 / height, side / width, side / height))
    cmap = CORRELATION_CMAP.with_extremes(bad=BLANK)
    image = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    names = [shorten(c, 24) for c in columns]
    ticks = range(p) if p <= 40 else range(0, p, math.ceil(p / 40))
    ax.set_xticks(list(ticks), [names[i] for i in ticks], rotation=60, ha="left")
    ax.set_yticks(list(ticks), [names[i] for i in ticks])
    ax.xaxis.tick_top()
    ax.tick_params(labelsize=FONT - 1, length=0, colors=TEXT)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if p <= MAX_ANNOTATED:
        for (i, j), value in np.ndenumerate(m):
            if np.isfinite(value) and i != j:
                color = "white" if abs(value) > 0.6 else TEXT
                text = f"{round(value, 2) + 0.0:.2f}".replace("-", "\u2212")
                ax.text(j, i, text, ha="center", va="center", fontsize=FONT - 2, color=color)
    bar = fig.add_axes(
        ((label_in + side + 0.15) / width, 0.15 / height, 0.1 / width, side / height)
    )
    fig.colorbar(image, cax=bar, ticks=[-1, 0, 1])
    bar.tick_params(labelsize=FONT - 1, length=2, colors=TEXT)
    bar.set_yticklabels(["\u22121", "0", "1"])
    return encode(fig, dpi)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputPoint:
    """One input on the outlier plot.

    Attributes
    ----------
    label : str
        Shown next to a flagged point.
    robust_z : float or None
        Its modified z-score (None: not plotted).
    flagged : bool
    """

    label: str
    robust_z: float | None
    flagged: bool


def plot_input_outliers(
    points: Sequence[InputPoint], *, threshold: float, dpi: float = DEFAULT_DPI
) -> Png:
    """Each input's robust z (distance from the group), flag lines at ``±threshold``."""
    n = len(points)
    width, height = min(7.0, 2.4 + 0.09 * n), 2.2
    fig = _figure(width, height, dpi)
    ax = fig.add_axes((0.6 / width, 0.45 / height, (width - 0.8) / width, 1.55 / height))
    xs = np.arange(1, n + 1)
    zs = np.array([np.nan if p.robust_z is None else p.robust_z for p in points], dtype=float)
    flagged = np.array([p.flagged for p in points], dtype=bool)
    top = max(threshold * 1.25, float(np.nanmax(np.abs(zs))) * 1.1 if np.isfinite(zs).any() else 0)
    ax.axhspan(-threshold, threshold, color=BLANK, linewidth=0)
    for sign in (-1, 1):
        ax.axhline(sign * threshold, color=MUTED, linewidth=0.8, linestyle="--")
    ax.axhline(0, color=MUTED, linewidth=0.5)
    ax.scatter(xs[~flagged], zs[~flagged], s=14, color=POINT, linewidths=0, zorder=3)
    ax.scatter(xs[flagged], zs[flagged], s=22, color=FLAG, linewidths=0, zorder=4)
    for x, z, point in zip(xs, zs, points, strict=True):
        if point.flagged and np.isfinite(z):
            ax.annotate(
                shorten(point.label, 30),
                (x, z),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize=FONT - 1.5,
                color=FLAG,
                va="center",
            )
    ax.set_xlim(0.3, n + 0.7)
    ax.set_ylim(-top, top)
    if n <= 40:
        ax.set_xticks(xs)
    _style(ax, "input", "robust z")
    return encode(fig, dpi)


@dataclass(frozen=True, slots=True, kw_only=True)
class PHistogram:
    """One contrast's p-value histogram.

    Attributes
    ----------
    title : str
    counts : sequence of int
        Voxels in equal bins over [0, 1].
    null_level : float or None
        Height a bin would have under ``pi0`` (drawn as a line; None: not drawn).
    uniform_level : float or None
        Height of a bin if every voxel were null (drawn dotted).
    """

    title: str
    counts: Sequence[int]
    null_level: float | None = None
    uniform_level: float | None = None


def plot_p_histograms(
    panels: Sequence[PHistogram], *, per_row: int = 3, dpi: float = DEFAULT_DPI
) -> Png:
    """Small multiples of p-value histograms, one panel per contrast."""
    n = max(len(panels), 1)
    cols = min(per_row, n)
    rows = math.ceil(n / cols)
    panel_w, panel_h = 2.3, 1.55
    width, height = cols * panel_w + 0.2, rows * panel_h + 0.1
    fig = _figure(width, height, dpi)
    for k, panel in enumerate(panels):
        r, c = divmod(k, cols)
        left = (0.1 + c * panel_w + 0.45) / width
        bottom = (height - (r + 1) * panel_h + 0.4) / height
        ax = fig.add_axes((left, bottom, (panel_w - 0.6) / width, (panel_h - 0.7) / height))
        counts = np.asarray(panel.counts, dtype=float)
        edges = np.linspace(0.0, 1.0, counts.size + 1)
        ax.stairs(counts, edges, fill=True, color="#9aa5b1", linewidth=0)
        if panel.uniform_level is not None:
            ax.axhline(panel.uniform_level, color=MUTED, linewidth=0.8, linestyle=":")
        if panel.null_level is not None:
            ax.axhline(panel.null_level, color=FLAG, linewidth=0.9, linestyle="--")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(float(counts.max()) if counts.size else 1.0, 1.0) * 1.12)
        ax.set_title(shorten(panel.title, 34), fontsize=FONT - 0.5, color=TEXT, pad=3)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        _style(ax, "p", "voxels" if c == 0 else "")
    return encode(fig, dpi)


def _figure(width: float, height: float, dpi: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi, facecolor="white")


def _style(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=FONT, color=TEXT, labelpad=2)
    ax.set_ylabel(ylabel, fontsize=FONT, color=TEXT, labelpad=2)
    ax.tick_params(labelsize=FONT - 1, length=2, colors=TEXT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(0.6)
        ax.spines[side].set_color(MUTED)


def plot_framewise_displacement(
    fd: np.ndarray, *, threshold: float | None = None, dpi: float = DEFAULT_DPI
) -> Png:
    """A run's framewise displacement (mm) by scan, the scrubbing threshold dashed.

    Parameters
    ----------
    fd : (n_scans,) ndarray
        Framewise displacement of each scan (NaN: not drawn).
    threshold : float, optional
        Scans above it were given a spike regressor; they are marked.
    dpi : float
    """
    fd = np.asarray(fd, dtype=float)
    width, height = 6.0, 1.8
    fig = _figure(width, height, dpi)
    ax = fig.add_axes((0.6 / width, 0.45 / height, (width - 0.8) / width, 1.2 / height))
    scans = np.arange(1, fd.size + 1)
    ax.plot(scans, fd, color=POINT, linewidth=0.8)
    finite = fd[np.isfinite(fd)]
    top = float(finite.max()) if finite.size else 0.0
    if threshold is not None:
        ax.axhline(threshold, color=FLAG, linewidth=0.8, linestyle="--")
        over = np.nan_to_num(fd, nan=-np.inf) > threshold
        ax.scatter(scans[over], fd[over], s=10, color=FLAG, linewidths=0, zorder=3)
        top = max(top, threshold)
    ax.set_xlim(0.5, max(fd.size, 1) + 0.5)
    ax.set_ylim(0.0, max(top * 1.12, 0.1))
    _style(ax, "scan", "FD (mm)")
    return encode(fig, dpi)
