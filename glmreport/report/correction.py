"""One correction applied to one contrast, as a report section: its tables, brain figures,
method figures (null distribution, TFCE scores), labelled details and files.

Everything is read from the correction's entry in the summary and the files it names; a
missing file becomes a note under the section, never a failure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import figures
from ..outputs.summary import Correction
from ..resources import templates_dir
from .context import Context, Volume, figure_item, load_volume, read_null, read_tsv
from .filters import MINUS, fmt_detail, fmt_int, fmt_num, labels, no_scheme
from .model import (
    MAX_CLUSTER_ROWS,
    MAX_CUTS,
    MAX_PEAK_ROWS,
    MAX_THUMBNAILS,
    AriLevel,
    Badge,
    CorrectionSection,
    Detail,
    FigureItem,
)
from .tables import TableSpec, ari_stat_levels, num, table, whole

Peak = tuple[tuple[float, float, float], str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastInfo:
    """What a correction section takes from its contrast.

    Attributes
    ----------
    name, stat_type, stat_label : str
    badges : mapping of str to Badge
        The contrast's corrections by ``desc`` (for ``survives`` cells).
    vmax : float
        Top of the contrast's colour scale (shared by its corrections).
    """

    name: str
    stat_type: str
    stat_label: str
    badges: Mapping[str, Badge]
    vmax: float


def correction_section(
    entry: Correction,
    volume: Volume | None,
    *,
    anchor: str,
    short: str,
    contrast: ContrastInfo,
    ctx: Context,
) -> CorrectionSection:
    """The section of one correction (``volume``: its thresholded map, when found)."""
    notes: list[str] = []
    table_notes, caveats = _atlas_notes(entry, ctx)
    clusters_path = ctx.path(entry.clusters_table, "clusters_table")
    peaks_path = ctx.path(entry.peaks_table, "peaks_table")
    clusters_frame, peaks_frame = read_tsv(clusters_path), read_tsv(peaks_path)
    missing = tuple(a.name for a in ctx.atlases if a.status != "ok")
    if clusters_frame is None:
        notes.append(f"clusters table {entry.clusters_table} not found.")
    spec = TableSpec(
        stat_type=contrast.stat_type,
        stat_label=contrast.stat_label,
        method=entry.method,
        two_sided=entry.two_sided,
        extras=entry.extras,
        badges=contrast.badges,
        unit=ctx.effect_unit,
    )
    clusters = table(
        clusters_frame,
        entry.clusters_table,
        spec,
        max_rows=MAX_CLUSTER_ROWS,
        part="clusters",
        notes=table_notes,
        raw=_bytes(clusters_path),
        drop=missing,
    )
    peaks = table(
        peaks_frame,
        entry.peaks_table,
        spec,
        max_rows=MAX_PEAK_ROWS,
        part="peaks",
        raw=_bytes(peaks_path),
        drop=missing,
    )
    if volume is None:
        notes.append(f"thresholded map {entry.map} not found.")
    brain = _brain_figures(entry, volume, clusters_frame, contrast, ctx)
    extra_figures = _method_figures(entry, contrast, ctx, notes)
    return CorrectionSection(
        anchor=anchor,
        method=entry.method,
        desc=entry.desc,
        title=entry.title,
        short=short,
        alpha=entry.alpha,
        two_sided=entry.two_sided,
        threshold_z=entry.threshold_z,
        threshold_stat=entry.threshold_stat,
        threshold_scale=entry.threshold_scale,
        cluster_extent=entry.cluster_extent,
        n_voxels=entry.n_voxels,
        n_clusters=entry.n_clusters,
        params=tuple(entry.params.items()),
        extras=tuple(entry.extras.items()),
        details=details(entry, stat_type=contrast.stat_type),
        glass_brain=brain.get("glass"),
        slices=brain.get("slices"),
        thumbnails=brain.get("thumbnails"),
        extra_figures=extra_figures,
        clusters=clusters,
        peaks=peaks,
        partial=partial(entry.method),
        notes=tuple(notes),
        atlas_caveats=tuple(dict.fromkeys(caveats)),
        ari_levels=ari_levels(entry),
        files=files(entry),
    )


def _bytes(path) -> bytes | None:
    """A file's content (None when it is not there)."""
    return path.read_bytes() if path is not None and path.is_file() else None


def _atlas_notes(entry: Correction, ctx: Context) -> tuple[list[str], list[str]]:
    """(notes printed under the tables, atlases whose space note applies).

    A note that repeats an atlas's space note (shown once in the summary) becomes a short
    pointer; the message of an unavailable atlas (shown once in the summary, its column left
    out of the tables) is not repeated; other notes are printed under the tables.
    """
    space_notes = {a.space_note: a.name for a in ctx.atlases if a.space_note}
    unavailable = {a.message for a in ctx.atlases if a.status != "ok"}
    table_notes: list[str] = []
    caveats: list[str] = []
    raw = entry.extras.get("atlas_notes") or []
    for note in [raw] if isinstance(raw, str) else raw:
        note = no_scheme(note)
        if note in unavailable:
            continue
        if note in space_notes:
            caveats.append(space_notes[note])
        elif note and note not in table_notes:
            table_notes.append(note)
    return table_notes, caveats


def _brain_figures(
    entry: Correction,
    volume: Volume | None,
    clusters: pd.DataFrame | None,
    contrast: ContrastInfo,
    ctx: Context,
) -> dict[str, FigureItem]:
    """Glass brain, axial slices and cluster thumbnails of the surviving voxels."""
    if volume is None or not np.any(volume[0]):
        return {}
    what = f"{contrast.name}, {entry.title}"
    shown = figures.to_display(volume[0], volume[1], ctx.background)
    low = entry.threshold_z
    if low is None:
        # No voxel-height threshold (TFCE): the colour ramp starts at the weakest voxel shown.
        nonzero = np.abs(shown[shown != 0])
        low = float(np.floor(nonzero.min() * 100) / 100) if nonzero.size else None
    scale = figures.ColorScale(
        threshold=low, vmax=contrast.vmax, two_sided=entry.two_sided or bool((shown < 0).any())
    )
    out = {
        "glass": figure_item(
            figures.plot_glass_brain(shown, ctx.background, scale=scale, dpi=ctx.dpi),
            alt=f"Glass brain of {what}",
        )
    }
    peaks = cluster_peaks(clusters)
    cuts = figures.slice_cuts([p[2] for p, _ in peaks], ctx.background, max_cuts=MAX_CUTS)
    out["slices"] = figure_item(
        figures.plot_slices(shown, ctx.background, scale=scale, cuts=cuts, axis="z", dpi=ctx.dpi),
        alt=f"Axial slices of {what}",
    )
    if peaks:
        chosen = peaks[:MAX_THUMBNAILS]
        out["thumbnails"] = figure_item(
            figures.plot_cluster_thumbnails(
                shown,
                ctx.background,
                scale=scale,
                peaks_mm=[p for p, _ in chosen],
                labels=[lab for _, lab in chosen],
                dpi=ctx.dpi,
            ),
            alt=f"Cluster thumbnails of {what}",
        )
    return out


def _method_figures(
    entry: Correction, contrast: ContrastInfo, ctx: Context, notes: list[str]
) -> dict[str, FigureItem]:
    """``null`` (a permutation null distribution) and ``tfce`` (glass brain of its scores)."""
    out: dict[str, FigureItem] = {}
    what = f"{contrast.name}, {entry.title}"
    arrays = ctx.path(entry.arrays, "arrays")
    if arrays is not None and not arrays.is_file():
        notes.append(f"arrays file {entry.arrays} not found.")
    elif arrays is not None:
        null = read_null(arrays)
        if null is not None:
            extras = entry.extras
            out["null"] = figure_item(
                figures.plot_null_distribution(
                    null,
                    observed=num(extras.get("observed_max")),
                    critical=num(extras.get("critical_value")),
                    xlabel=str(extras.get("null_label") or "maximum statistic"),
                    dpi=ctx.dpi,
                ),
                alt=f"Permutation null distribution of {what}",
            )
    tfce = entry.maps.get("tfce") if entry.method == "permutation" else None
    volume = load_volume(ctx.path(tfce, "maps.tfce")) if tfce else None
    if volume is not None and np.any(volume[0]):
        out["tfce"] = _tfce_figure(volume, num(entry.extras.get("critical_value")), contrast, ctx)
    return out


def _tfce_figure(
    volume: Volume, critical: float | None, contrast: ContrastInfo, ctx: Context
) -> FigureItem:
    shown = figures.to_display(np.nan_to_num(volume[0]), volume[1], ctx.background)
    top = float(np.abs(shown).max())
    # Display floor: half the critical value (a quarter of the maximum without one), so
    # the projection shows where the scores are high rather than the whole brain.
    floor = 0.5 * critical if critical is not None else 0.25 * top
    shown = np.where(np.abs(shown) >= floor, shown, 0.0)
    scale = figures.ColorScale(
        threshold=floor,
        vmax=top,
        two_sided=bool((shown < 0).any()),
        label="TFCE",
        marks=(critical,) if critical is not None else (),
        mark_threshold=False,
    )
    return figure_item(
        figures.plot_glass_brain(shown, ctx.background, scale=scale, dpi=ctx.dpi),
        alt=f"Glass brain of the TFCE scores of {contrast.name}",
        caption=fmt_num(floor),
    )


def ari_levels(entry: Correction) -> tuple[AriLevel, ...]:
    """ARI only: the cluster-forming thresholds and their cluster counts."""
    if entry.method != "ari":
        return ()
    formed = entry.extras.get("n_clusters_formed") or []
    positive = entry.extras.get("n_clusters_tdp_positive") or []
    return tuple(
        AriLevel(
            threshold_z=z,
            threshold_stat=stat,
            n_clusters_formed=whole(formed[i]) if i < len(formed) else None,
            n_clusters_tdp_positive=whole(positive[i]) if i < len(positive) else None,
        )
        for i, (z, stat) in enumerate(ari_stat_levels(entry.extras))
    )


def files(entry: Correction) -> tuple[tuple[str, str], ...]:
    """(what, relative path) of the correction's files."""
    out = [
        ("thresholded z map", entry.map),
        ("clusters", entry.clusters_table),
        ("peaks", entry.peaks_table),
    ]
    out += [(f"map {key}", rel) for key, rel in entry.maps.items()]
    out.append(("cluster index map", entry.cluster_map))
    out.append(("arrays", entry.arrays))
    return tuple((what, rel) for what, rel in out if rel)


def partial(method: str) -> str | None:
    """The method's own template block (``corrections/<method>.html.j2``), if it has one."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", method or ""):
        return None
    rel = f"corrections/{method}.html.j2"
    return rel if (templates_dir() / rel).is_file() else None


def cluster_peaks(frame: pd.DataFrame | None) -> list[Peak]:
    """Peak coordinates and captions of the clusters to draw, most significant first.

    Positive and negative clusters alternate (each in table order, i.e. by decreasing
    |peak z|), so a two-sided result shows both signs in its slices and thumbnails.
    """
    if frame is None or not len(frame) or not {"peak_x", "peak_y", "peak_z"} <= set(frame):
        return []
    by_sign: dict[str, list[Peak]] = {}
    for _, row in frame.iterrows():
        xyz = (num(row["peak_x"]), num(row["peak_y"]), num(row["peak_z"]))
        if any(v is None for v in xyz):
            continue
        sign = row.get("sign", "")
        sign = sign if isinstance(sign, str) else ""
        size = whole(row.get("size_voxels"))
        caption = f"#{row.get('cluster_id', '?')}" + (
            f" ({sign.replace('-', MINUS)})" if sign else ""
        )
        if size is not None:
            caption += f" {fmt_int(size)} vox"
        by_sign.setdefault(sign, []).append((xyz, caption))  # type: ignore[arg-type]
    lists = list(by_sign.values())
    out = []
    for k in range(max((len(v) for v in lists), default=0)):
        out.extend(v[k] for v in lists if k < len(v))
    return out


def _value_kind(value: Any) -> str:
    """Format of a detail that ``templates/labels.yaml`` does not name."""
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "yesno"
    return "num"


def details(entry: Correction, *, stat_type: str) -> tuple[Detail, ...]:
    """Parameters, then extras, labelled and formatted (``templates/labels.yaml``).

    Hidden keys, keys shown by the method's own block, keys for other routes of the method
    and missing values are left out; an extra repeats a parameter of the same key in place.
    """
    spec = labels()["details"]
    consumed = labels()["partial_keys"].get(entry.method) or []
    out: dict[str, Detail] = {}
    for source, values in (("params", entry.params), ("extras", entry.extras)):
        for key, value in values.items():
            if source == "extras" and (consumed == "*" or key in consumed):
                continue
            info = spec.get(key) or {}
            if info.get("hide") or (info.get("only") and entry.route not in info["only"]):
                continue
            if _empty(value):
                continue
            label = str(info.get("label") or key.replace("_", " ").capitalize())
            out[key] = Detail(
                key=key,
                label=label.format(stat=stat_type),
                value=fmt_detail(value, info.get("kind") or _value_kind(value)),
                unit=str(info.get("unit") or ""),
            )
    return tuple(out.values())


def _empty(value: Any) -> bool:
    if value is None or (isinstance(value, str | list | tuple | dict) and not value):
        return True
    return isinstance(value, str) and not value.strip()
