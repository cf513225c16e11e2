"""Design and contrast matrices, drawn with the same column geometry so they line up.

Each design column is scaled to its maximum absolute value for display; contrast weights are
drawn on a softened red-blue ramp with their values written in wide columns.
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
class MatrixLayout:
    """Horizontal geometry shared by the design matrix and the contrast figures.

    Attributes
    ----------
    n_columns : int
    column_in : float
        Width of one design column in inches.
    left_in, right_in : float
        Margins in inches.
    label_in : float
        Height reserved above the matrix for the rotated column names.
    """

    n_columns: int
    column_in: float
    left_in: float
    right_in: float
    label_in: float

    @property
    def width_in(self) -> float:
        return self.left_in + self.n_columns * self.column_in + self.right_in

    @property
    def font_size(self) -> float:
        """Points of the column names."""
        return FONT if self.column_in >= 0.16 else FONT - 1.5

    @property
    def label_step(self) -> int:
        """Name every k-th column: a rotated name needs ~1.3 font heights of column width."""
        return max(1, math.ceil(1.3 * self.font_size / 72 / self.column_in))


def matrix_layout(columns: Sequence[str], *, max_width_in: float = 7.0) -> MatrixLayout:
    """Geometry for a design with these column names.

    Parameters
    ----------
    columns : sequence of str
    max_width_in : float
    """
    n = max(len(columns), 1)
    left, right = 0.55, 0.25
    # Wide designs keep the figure's width: columns get narrower and only some are named.
    column_in = float(np.clip((max_width_in - left - right) / n, 0.02, 0.55))
    longest = max((len(shorten(c)) for c in columns), default=4)
    label_in = 0.15 + longest * 0.055 * math.sin(math.radians(55))
    return MatrixLayout(
        n_columns=n, column_in=column_in, left_in=left, right_in=right, label_in=label_in
    )


def _column_labels(ax, columns: Sequence[str], layout: MatrixLayout) -> None:
    """Rotated column names above the matrix; every k-th name when columns are narrow."""
    fontsize = layout.font_size
    shown = np.arange(0, len(columns), layout.label_step)
    ax.set_xticks(shown)
    ax.set_xticklabels(
        [shorten(columns[i]) for i in shown],
        rotation=55,
        ha="left",
        rotation_mode="anchor",
        fontsize=fontsize,
        color=TEXT,
    )
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0, pad=2)


def plot_design_matrix(
    matrix: np.ndarray,
    columns: Sequence[str],
    *,
    layout: MatrixLayout | None = None,
    row_label: str = "row",
    dpi: float = DEFAULT_DPI,
) -> Png:
    """The design matrix, each column scaled to its maximum absolute value for display.

    Parameters
    ----------
    matrix : (n_rows, n_columns) ndarray
    columns : sequence of str
        Column names, drawn above the matrix (every k-th one when the columns are narrow).
    layout : MatrixLayout, optional
        Share it with :func:`plot_contrast_matrix` so the columns line up.
    row_label : str
        What a row is (``"row"``, ``"image"``, ``"scan"``); rows are numbered from 1.
    """
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    layout = layout or matrix_layout(columns)
    peak = np.nanmax(np.abs(matrix), axis=0)
    shown = matrix / np.where(peak > 0, peak, 1.0)
    n_rows = matrix.shape[0]
    body_in = float(np.clip(n_rows * 0.11, 1.4, 3.6))
    height = layout.label_in + body_in + 0.15
    fig = Figure(figsize=(layout.width_in, height), dpi=dpi, facecolor="white")
    ax = fig.add_axes(
        (
            layout.left_in / layout.width_in,
            0.15 / height,
            layout.n_columns * layout.column_in / layout.width_in,
            body_in / height,
        )
    )
    ax.imshow(shown, aspect="auto", cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    _column_labels(ax, columns, layout)
    # Rows numbered from 1: every row up to 20, then about 8 round numbers (plus row 1).
    if n_rows <= 20:
        rows = np.arange(1, n_rows + 1)
    else:
        step = ticker.MaxNLocator(8, integer=True, steps=[1, 2, 2.5, 5, 10]).tick_values(1, n_rows)
        step = max(int(round(step[1] - step[0])), 1) if len(step) > 1 else n_rows
        rows = np.concatenate([[1], np.arange(step, n_rows + 1, step)])
    ax.set_yticks(rows - 1)
    ax.set_yticklabels([str(r) for r in rows], fontsize=FONT - 1.5)
    ax.tick_params(axis="y", length=2, colors=MUTED)
    ax.set_ylabel(row_label, fontsize=FONT - 1, color=MUTED)
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_color(MUTED)
    return encode(fig, dpi)


def plot_contrast_matrix(
    weights: np.ndarray,
    columns: Sequence[str],
    *,
    layout: MatrixLayout | None = None,
    dpi: float = DEFAULT_DPI,
    column_labels: bool = True,
) -> Png:
    """Contrast weights, one row per contrast row, aligned with the design's columns.

    Parameters
    ----------
    weights : (q, n_columns) ndarray
    columns : sequence of str
    layout : MatrixLayout, optional
        The design matrix's layout, so the columns line up.
    column_labels : bool
        Draw the column names above the weights.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    layout = layout or matrix_layout(columns)
    q = weights.shape[0]
    row_in = 0.22
    label_in = layout.label_in if column_labels else 0.05
    height = label_in + q * row_in + 0.08
    fig = Figure(figsize=(layout.width_in, height), dpi=dpi, facecolor="white")
    ax = fig.add_axes(
        (
            layout.left_in / layout.width_in,
            0.04 / height,
            layout.n_columns * layout.column_in / layout.width_in,
            q * row_in / height,
        )
    )
    vmax = float(np.nanmax(np.abs(weights))) or 1.0
    # Softened ramp: the largest weight is a mid red/blue, so its label stays readable.
    ax.imshow(
        weights,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-1.6 * vmax,
        vmax=1.6 * vmax,
        interpolation="nearest",
    )
    if layout.column_in >= 0.3:
        for (r, c), w in np.ndenumerate(weights):
            if w != 0:
                ax.text(c, r, f"{w:g}", ha="center", va="center", fontsize=FONT - 1, color=TEXT)
    if column_labels:
        _column_labels(ax, columns, layout)
    else:
        ax.set_xticks([])
    ax.set_yticks(np.arange(q))
    ax.set_yticklabels([str(i + 1) for i in range(q)] if q > 1 else [""], fontsize=FONT - 1.5)
    ax.tick_params(axis="y", length=0, colors=MUTED)
    ax.set_xticks(np.arange(-0.5, layout.n_columns, 1), minor=True)
    ax.grid(which="minor", axis="x", color="white", linewidth=min(0.8, layout.column_in * 72 * 0.1))
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_color(MUTED)
    return encode(fig, dpi)
