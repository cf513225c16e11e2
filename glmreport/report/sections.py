"""Contrast sections of the report: the contrast's weights, its z histogram with every
correction's threshold, its correction sections and the clusters x corrections matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import figures
from ..outputs.summary import Contrast
from .context import Context, Volume, figure_item, load_volume, slug
from .correction import ContrastInfo, correction_section
from .crosstab_model import CrossRow, CrossTable
from .filters import fmt_num, fmt_stat, is_missing, short_name
from .model import (
    MAX_CROSS_ROWS,
    Atlas,
    Badge,
    Cell,
    ContrastSection,
    CorrectionSection,
    FigureItem,
)
from .tables import num, whole
from .viewer_view import contrast_payload, display_z


def stat_label(stat_type: str, dof: float | None, df_num: int) -> str:
    """``t(15)`` or ``F(2, 13)`` (``?`` for unknown degrees of freedom)."""
    d = fmt_num(dof) if dof is not None else "?"
    return f"F({df_num}, {d})" if stat_type == "F" else f"t({d})"


def short_names(contrast: Contrast) -> list[str]:
    """Short names of the contrast's corrections; a name used twice gives way to the desc."""
    shorts = [short_name(k.method, k.route) for k in contrast.corrections]
    repeated = {s for s in shorts if shorts.count(s) > 1}
    return [
        k.desc if s in repeated else s for k, s in zip(contrast.corrections, shorts, strict=True)
    ]


def contrast_section(
    contrast: Contrast, index: int, ctx: Context, design_columns: Sequence[str]
) -> ContrastSection:
    """The section of one contrast and all its corrections."""
    dof, df_num = contrast.dof, contrast.df_num
    label = stat_label(contrast.stat_type, dof, df_num)
    anchor = f"c{index + 1}-{slug(contrast.label)}"
    columns = contrast.columns or tuple(design_columns)
    weights = np.atleast_2d(np.asarray(contrast.weights or [[]], dtype=float))
    notes = list(contrast.notes)
    matrix, matrix_plain = _matrices(contrast.name, weights, columns, ctx)

    z_volume = load_volume(ctx.path(contrast.maps.z, "maps.z"))
    z_values = None if z_volume is None else ctx.in_mask(*z_volume)
    if z_values is None:
        notes.append("z map not found; no histogram.")
    thresholded = [load_volume(ctx.path(k.map, "corrections.map")) for k in contrast.corrections]
    shorts = short_names(contrast)
    info = ContrastInfo(
        name=contrast.name,
        stat_type=contrast.stat_type,
        stat_label=label,
        badges={
            k.desc: Badge(short=s, title=k.title or s, desc=k.desc)
            for k, s in zip(contrast.corrections, shorts, strict=True)
        },
        vmax=_vmax(thresholded, z_values),
    )
    corrections = [
        correction_section(
            k, vol, anchor=f"{anchor}-{slug(k.desc)}", short=s, contrast=info, ctx=ctx
        )
        for k, vol, s in zip(contrast.corrections, thresholded, shorts, strict=True)
    ]
    viewer = overview = None
    if z_volume is not None:
        z_shown = display_z(z_volume, ctx, ctx.display_mask)
        entries = [
            (k.title, vol, k.threshold_z)
            for k, vol in zip(contrast.corrections, thresholded, strict=True)
        ]
        if ctx.viewer is not None:
            viewer = contrast_payload(
                ctx.viewer,
                title=contrast.name,
                z=z_shown,
                corrections=entries,
                vmax=info.vmax,
                ctx=ctx,
            )
        overview = overview_figure(contrast.name, z_shown, entries, info.vmax, ctx)
    histogram = None
    if z_values is not None:
        histogram = figure_item(
            figures.plot_histogram(
                z_values,
                thresholds=threshold_lines(corrections),
                xlabel="z (in-mask voxels)",
                dpi=ctx.dpi,
            ),
            alt=f"Histogram of z values of contrast {contrast.name} with the correction thresholds",
        )
    return ContrastSection(
        anchor=anchor,
        name=contrast.name,
        label=contrast.label,
        stat_type=contrast.stat_type,
        stat_label=label,
        dof=dof,
        df_num=df_num,
        weights=tuple(tuple(float(w) for w in row) for row in weights) if weights.size else (),
        columns=columns,
        matrix=matrix,
        matrix_plain=matrix_plain,
        histogram=histogram,
        corrections=tuple(corrections),
        crosstab=crosstab(corrections, ctx.atlases),
        notes=tuple(notes),
        conjunction=contrast.conjunction,
        viewer=viewer,
        overview=overview,
    )


#: Axial slices of the unthresholded figure (fewer than a correction's: larger panels).
MAX_OVERVIEW_CUTS = 5


def overview_figure(
    name: str,
    z_shown: np.ndarray,
    corrections: Sequence[tuple[str, Volume | None, float | None]],
    vmax: float,
    ctx: Context,
) -> FigureItem:
    """The unthresholded z map, faint, with each correction's survivors outlined.

    Slices go through the strongest surviving voxels (the strongest voxels when nothing
    survives); the tint is fullest from the lowest threshold on.
    """
    survivors = [
        figures.to_display(np.nan_to_num(vol[0]) != 0, vol[1], ctx.background) > 0
        for _, vol, _ in corrections
        if vol is not None
    ]
    absz = np.nan_to_num(np.abs(z_shown), nan=0.0)
    union = np.logical_or.reduce(survivors) if survivors else np.zeros(absz.shape, bool)
    pick = union if union.any() else absz > 0
    order = np.argsort(-absz[pick], kind="stable")[:2000]
    z_mm = ctx.background.to_world(np.argwhere(pick)[order])[:, 2] if order.size else []
    cuts = figures.slice_cuts(list(z_mm), ctx.background, max_cuts=MAX_OVERVIEW_CUTS)
    thresholds = [t for _, _, t in corrections if t is not None]
    png = figures.plot_unthresholded(
        z_shown,
        ctx.background,
        survivors=survivors,
        cuts=cuts,
        vmax=vmax,
        full_at=min(thresholds) if thresholds else 3.09,
        dpi=ctx.dpi,
    )
    return figure_item(png, alt=f"Unthresholded z map of {name} with the survivors outlined")


def _matrices(
    name: str, weights: np.ndarray, columns: Sequence[str], ctx: Context
) -> tuple[FigureItem | None, FigureItem | None]:
    """The contrast weights over the design's columns, with column names and without (the
    latter aligned under the design matrix figure)."""
    if not weights.size or weights.shape[1] != len(columns):
        return None, None
    layout = ctx.layout if ctx.layout and ctx.layout.n_columns == len(columns) else None
    matrix = figure_item(
        figures.plot_contrast_matrix(weights, columns, layout=layout, dpi=ctx.dpi),
        alt=f"Weights of contrast {name} over the design columns",
    )
    if layout is None:
        return matrix, None
    plain = figure_item(
        figures.plot_contrast_matrix(
            weights, columns, layout=layout, dpi=ctx.dpi, column_labels=False
        ),
        alt=f"Weights of contrast {name}, aligned with the design matrix above",
    )
    return matrix, plain


def _vmax(thresholded: Sequence, z_values: np.ndarray | None) -> float:
    """Top of one colour scale per contrast, so that its corrections compare at a glance."""
    tops = [float(np.nanmax(np.abs(v[0]))) for v in thresholded if v is not None and v[0].size]
    vmax = max(tops, default=0.0)
    if z_values is not None and z_values.size:
        vmax = max(vmax, float(np.nanmax(np.abs(z_values))))
    return math.ceil(vmax * 10) / 10 if vmax > 0 else 1.0


def threshold_lines(corrections: Sequence[CorrectionSection]) -> list[figures.ThresholdLine]:
    """One line per distinct threshold, labelled with every correction that uses it."""
    groups: dict[tuple[float, bool], list[CorrectionSection]] = {}
    for k in corrections:
        if k.threshold_z is not None:
            groups.setdefault((round(k.threshold_z, 2), k.two_sided), []).append(k)
    lines = []
    for (_, two_sided), members in groups.items():
        value = members[0].threshold_z
        assert value is not None
        names = " \u00b7 ".join(dict.fromkeys(m.short for m in members))
        side = "|z|" if two_sided else "z"
        lines.append(
            figures.ThresholdLine(
                value=value, label=f"{names} ({side} > {fmt_stat(value)})", two_sided=two_sided
            )
        )
    return lines


def crosstab(
    corrections: Sequence[CorrectionSection], atlases: Sequence[Atlas]
) -> CrossTable | None:
    """Clusters of the most lenient correction x every correction: which ones each survives."""
    candidates = [
        k
        for k in corrections
        if k.method != "ari"
        and k.clusters is not None
        and k.clusters.rows
        and any(c.key == "survives" for c in k.clusters.columns)
    ]
    # With two corrections the tables already say it all; the matrix pays off from three.
    if not candidates or len(corrections) < 3:
        return None
    base = max(candidates, key=lambda k: (k.n_voxels or 0, k.n_clusters or 0))
    if not any(k.survives for k in corrections if k is not base):
        return None  # only the most lenient correction finds anything: the summary says so
    table = base.clusters
    assert table is not None
    index = {c.key: i for i, c in enumerate(table.columns)}
    atlas = next((a.name for a in atlases if a.status == "ok" and a.name in index), "")
    # one ARI entry: "ari_tdp"; several: "ari_tdp_<desc>" each, the first one is shown
    tdp_key = next((k for k in index if k == "ari_tdp" or k.startswith("ari_tdp_")), "")
    tdp_header = ""
    if tdp_key:
        which = tdp_key[len("ari_tdp_") :]
        tdp_header = "ARI TDP \u2265" + (f" ({which})" if which else "")

    def cell(row: tuple[Cell, ...], key: str) -> Cell:
        return row[index[key]] if key in index else None

    rows = []
    for row in table.rows[:MAX_CROSS_ROWS]:
        survived = {b.desc for b in cell(row, "survives") or ()}
        label = cell(row, atlas) if atlas else None
        rows.append(
            CrossRow(
                cluster_id=str(cell(row, "cluster_id") or ""),
                sign=str(cell(row, "sign") or ""),
                xyz=(num(cell(row, "peak_x")), num(cell(row, "peak_y")), num(cell(row, "peak_z"))),
                peak_z=num(cell(row, "peak_value")),
                size=whole(cell(row, "size_voxels")),
                label=str(label).split(";")[0].strip() if not is_missing(label) else "",
                marks=tuple(k.desc in survived for k in corrections),
                tdp=num(cell(row, tdp_key)) if tdp_key else None,
            )
        )
    return CrossTable(
        base_title=base.title,
        base_anchor=base.anchor,
        corrections=tuple((k.short, k.title, k.anchor) for k in corrections),
        rows=tuple(rows),
        n_total=table.n_total,
        source=table.source,
        label_header=atlas,
        tdp_header=tdp_header,
    )
