"""The design checks of the report: its view model, read from ``summary.json`` ``qc``.

Collinearity (VIF) and efficiency of each design, the design's correlation matrix, each input's
distance from the group, the p-value histograms of the contrasts and the mask's coverage of the
template brain. Everything is read and drawn; nothing is computed but the heights of the
histograms' reference lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .. import figures
from ..outputs.summary import DesignCorrelation, QualityChecks, Summary
from .context import figure_item
from .filters import fmt_int, fmt_num, fmt_percent, fmt_stat
from .model import FigureItem, TocEntry

#: VIF above which a column is marked (a common rule of thumb; 10 is also used).
HIGH_VIF = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignView:
    """The checks of one design matrix (the model's, or one run's at the first level).

    Attributes
    ----------
    title : str
    correlation : FigureItem or None
    vif : tuple of (str, str, bool)
        Column, formatted VIF, whether it is high (> :data:`HIGH_VIF` or infinite).
    efficiency : tuple of (str, str)
        Contrast, formatted efficiency.
    note : str
        What a blank correlation cell means.
    """

    title: str
    correlation: FigureItem | None
    vif: tuple[tuple[str, str, bool], ...]
    efficiency: tuple[tuple[str, str], ...]
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignChecksView:
    """The "Design checks" section.

    Attributes
    ----------
    designs : tuple of DesignView
    outliers : FigureItem or None
        Each input's robust z (second level).
    flagged : tuple of str
        The flagged inputs, with their z.
    threshold : str
        The flag threshold, formatted.
    p_values : FigureItem or None
        One p-value histogram per contrast.
    pi0 : tuple of (str, str, str)
        Contrast, which p values, Storey's π0 formatted.
    coverage : tuple of (str, str)
        Mask coverage facts (empty when not checked).
    notes : tuple of str
        What was not checked, and why.
    """

    designs: tuple[DesignView, ...]
    outliers: FigureItem | None
    flagged: tuple[str, ...]
    threshold: str
    p_values: FigureItem | None
    pi0: tuple[tuple[str, str, str], ...]
    coverage: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


def design_checks_view(summary: Summary, dpi: float) -> DesignChecksView | None:
    """The section's view model (None for a results folder written without checks)."""
    qc = summary.qc
    if qc is None:
        return None
    designs = []
    if qc.correlation is not None or qc.vif:
        designs.append(_design_view("Model design", qc.vif, qc.efficiency, qc.correlation, dpi=dpi))
    for name, run in qc.runs.items():
        designs.append(
            _design_view(f"Run {name}", run.vif, run.efficiency, run.correlation, dpi=dpi)
        )
    outliers, flagged = _outliers(summary, qc, dpi)
    p_fig, pi0 = _p_values(qc, dpi)
    return DesignChecksView(
        designs=tuple(designs),
        outliers=outliers,
        flagged=flagged,
        threshold=fmt_num(qc.outlier_threshold),
        p_values=p_fig,
        pi0=pi0,
        coverage=_coverage(qc),
        notes=qc.notes,
    )


def _design_view(
    title: str,
    vif: Mapping[str, float | None],
    efficiency: Mapping[str, float | None],
    correlation: DesignCorrelation | None,
    *,
    dpi: float,
) -> DesignView:
    figure = None
    if correlation is not None and len(correlation.columns) > 1:
        matrix = np.array(
            [[np.nan if v is None else v for v in row] for row in correlation.matrix], dtype=float
        )
        png = figures.plot_correlation_matrix(matrix, correlation.columns, dpi=dpi)
        figure = figure_item(
            png,
            f"Correlation between the columns of the design ({title.lower()})",
            "Pearson correlation between the design's columns over its rows.",
        )
    rows = tuple(
        (
            name,
            "\u221e" if value is None else fmt_num(round(value, 3)),
            value is None or value > HIGH_VIF,
        )
        for name, value in vif.items()
    )
    eff = tuple(
        (name, "not estimable" if value is None else fmt_num(value))
        for name, value in efficiency.items()
    )
    note = correlation.note if correlation is not None else ""
    return DesignView(title=title, correlation=figure, vif=rows, efficiency=eff, note=note)


def _vif_text(value: float | None) -> str:
    return "\u221e" if value is None else fmt_num(round(value, 3))


def _outliers(
    summary: Summary, qc: QualityChecks, dpi: float
) -> tuple[FigureItem | None, tuple[str, ...]]:
    if not qc.outliers:
        return None, ()
    names = [r.path for r in summary.inputs]

    def name_of(i: int) -> str:
        return names[i] if 0 <= i < len(names) else f"input {i + 1}"

    points = [
        figures.InputPoint(label=name_of(o.input), robust_z=o.robust_z, flagged=o.flagged)
        for o in qc.outliers
    ]
    png = figures.plot_input_outliers(points, threshold=qc.outlier_threshold, dpi=dpi)
    item = figure_item(
        png,
        "Each input's distance from the group (robust z)",
        "Robust z of each input's mean squared studentised residual (its distance from what "
        f"the design predicts for it), in input order; beyond \u00b1{fmt_num(qc.outlier_threshold)}"
        " (dashed) an input is flagged for a look.",
    )
    flagged = tuple(
        f"{name_of(o.input)} (z = {fmt_stat(o.robust_z)})" for o in qc.outliers if o.flagged
    )
    return item, flagged


def _p_values(
    qc: QualityChecks, dpi: float
) -> tuple[FigureItem | None, tuple[tuple[str, str, str], ...]]:
    if not qc.p_values:
        return None, ()
    panels = []
    rows = []
    for name, hist in qc.p_values.items():
        bins = max(len(hist.counts), 1)
        uniform = hist.n / bins if hist.n else None
        null = None if hist.pi0 is None or uniform is None else hist.pi0 * uniform
        panels.append(
            figures.PHistogram(
                title=name, counts=hist.counts, null_level=null, uniform_level=uniform
            )
        )
        rows.append((name, hist.sided, "\u2014" if hist.pi0 is None else f"{hist.pi0:.3f}"))
    png = figures.plot_p_histograms(panels, dpi=dpi)
    item = figure_item(
        png,
        "Histograms of the contrasts' uncorrected p values",
        "Uncorrected p values over the mask (two-sided for t contrasts). Without any effect they "
        "are flat at the dotted line; an effect piles voxels up near 0. Dashed: the height "
        "Storey's \u03c00 (the estimated share of null voxels) gives the flat part.",
    )
    return item, tuple(rows)


def _coverage(qc: QualityChecks) -> tuple[tuple[str, str], ...]:
    cov = qc.mask_coverage
    if cov is None:
        return ()
    outside = fmt_int(cov.n_outside)
    if cov.fraction_outside is not None:
        outside += f" ({fmt_percent(cov.fraction_outside)})"
    return (
        ("Template", cov.template),
        ("Template brain inside the mask", fmt_percent(cov.fraction_covered)),
        ("Mask voxels", fmt_int(cov.n_mask_voxels)),
        ("Mask voxels outside the template brain", outside),
    )


def flagged_warning(view: DesignChecksView | None) -> Sequence[str]:
    """A warning line for the summary when inputs were flagged."""
    if view is None or not view.flagged:
        return ()
    return (f"Inputs far from the group (design checks): {', '.join(view.flagged)}.",)


def with_checks_entry(
    toc: Sequence[TocEntry], view: DesignChecksView | None
) -> tuple[TocEntry, ...]:
    """The table of contents with "Design checks" after "Design" (when there are checks)."""
    entries = list(toc)
    if view is not None:
        at = next((i + 1 for i, e in enumerate(entries) if e.anchor == "design"), len(entries))
        entries.insert(at, TocEntry(anchor="design-checks", title="Design checks", level=1))
    return tuple(entries)
