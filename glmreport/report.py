"""Results folder -> ReportModel -> one standalone HTML file and a PDF.

``build_report_model`` reads ``summary.json`` and the maps and tables it points to, renders
every figure once (PNG, embedded as ``data:`` URIs) and returns a frozen :class:`ReportModel`,
the only object the Jinja2 templates see. ``render_html`` turns the model into one HTML
document with its CSS and script inline; ``write_report`` writes ``report.html`` and, from
the same document and the print rules of the same stylesheet, ``report.pdf`` (WeasyPrint).

Nothing here computes a statistic: thresholds, counts and table values are read from the
results folder and only formatted. Corrections are rendered generically from their
``summary.json`` entry; a method may add a partial ``templates/corrections/<method>.html.j2``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from . import figures
from .errors import InputError
from .resources import templates_dir

#: Rows shown per table; the rest are in the TSV file the table names.
MAX_CLUSTER_ROWS = 60
MAX_PEAK_ROWS = 80
#: Clusters drawn as thumbnails per correction.
MAX_THUMBNAILS = 6
#: Axial slices per correction.
MAX_CUTS = 7

Cell = str | int | float | None


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FigureItem:
    """An embedded image.

    Attributes
    ----------
    src : str
        ``data:image/png;base64,...``
    width, height : int
        Natural size in pixels.
    alt : str
        Text alternative.
    caption : str
    """

    src: str
    width: int
    height: int
    alt: str
    caption: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One table column.

    Attributes
    ----------
    key : str
        Column name in the TSV file.
    header : str
        Displayed header.
    kind : str
        How the template formats and aligns it: ``id``, ``sign``, ``text``, ``int``,
        ``coord``, ``stat``, ``p``, ``prop``, ``num``, ``path`` or ``hash``.
    """

    key: str
    header: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A table read from the results folder (values unformatted).

    Attributes
    ----------
    columns : tuple of Column
    rows : tuple of tuple
        Raw cell values; ``None`` for missing values.
    source : str
        Path of the TSV file relative to the results folder.
    n_total : int
        Number of rows in the file (``rows`` may be the first ``len(rows)``).
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    source: str
    n_total: int

    @property
    def truncated(self) -> bool:
        return self.n_total > len(self.rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionSection:
    """One correction applied to one contrast.

    Attributes
    ----------
    anchor : str
        HTML id of the section.
    method, desc, title : str
    alpha : float or None
    two_sided : bool
    threshold_z, threshold_stat : float or None
        Voxel height threshold on the z scale and in the contrast's units (from summary.json).
    threshold_scale : str
    cluster_extent : int
    n_voxels, n_clusters : int or None
    params, extras : tuple of (str, value)
        Method parameters and method-specific numbers, in summary.json order.
    glass_brain, slices, thumbnails : FigureItem or None
    extra_figures : dict of str -> FigureItem
        e.g. ``null`` for a permutation null distribution.
    clusters, peaks : Table or None
    partial : str or None
        Template of a method-specific block (``corrections/<method>.html.j2``).
    notes : tuple of str
        Problems met while reading this section's files.
    files : tuple of (str, str)
        (what, relative path) of the section's output files.
    """

    anchor: str
    method: str
    desc: str
    title: str
    alpha: float | None
    two_sided: bool
    threshold_z: float | None
    threshold_stat: float | None
    threshold_scale: str
    cluster_extent: int
    n_voxels: int | None
    n_clusters: int | None
    params: tuple[tuple[str, Any], ...] = ()
    extras: tuple[tuple[str, Any], ...] = ()
    glass_brain: FigureItem | None = None
    slices: FigureItem | None = None
    thumbnails: FigureItem | None = None
    extra_figures: Mapping[str, FigureItem] = field(default_factory=dict)
    clusters: Table | None = None
    peaks: Table | None = None
    partial: str | None = None
    notes: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()

    @property
    def survives(self) -> bool:
        """Whether any voxel survives (``n_voxels`` > 0, or clusters were listed)."""
        if self.n_voxels is not None:
            return self.n_voxels > 0
        return bool(self.n_clusters)

    @property
    def extra(self) -> dict[str, Any]:
        """``extras`` as a mapping (for method partials)."""
        return dict(self.extras)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastSection:
    """One contrast and all its corrections.

    Attributes
    ----------
    anchor, name, label : str
    stat_type : str
        ``t`` or ``F``.
    stat_label : str
        ``t(15)`` or ``F(2, 13)``.
    dof : float or None
    df_num : int
    weights : tuple of tuple of float
    columns : tuple of str
    matrix : FigureItem or None
        The contrast weights aligned with the design's columns.
    histogram : FigureItem or None
        In-mask z values with each correction's threshold.
    corrections : tuple of CorrectionSection
    notes : tuple of str
    """

    anchor: str
    name: str
    label: str
    stat_type: str
    stat_label: str
    dof: float | None
    df_num: int
    weights: tuple[tuple[float, ...], ...]
    columns: tuple[str, ...]
    matrix: FigureItem | None
    histogram: FigureItem | None
    corrections: tuple[CorrectionSection, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryRow:
    """One contrast x correction line of the summary box."""

    contrast: str
    contrast_anchor: str
    correction: str
    anchor: str
    stat_label: str
    two_sided: bool
    threshold_z: float | None
    threshold_stat: float | None
    n_clusters: int | None
    n_voxels: int | None
    survives: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Atlas:
    """An atlas entry from summary.json."""

    name: str
    status: str
    message: str
    citation: str
    space: str
    space_note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """Everything needed to reproduce the run."""

    config_file: str
    config_text: str
    command: str
    inputs: Table | None
    versions: tuple[tuple[str, str], ...]
    python: str
    platform: str
    started: str
    finished: str
    run_time_s: float | None
    seeds: tuple[tuple[str, Any], ...]
    results_dir: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TocEntry:
    """One line of the table of contents."""

    anchor: str
    title: str
    level: int
    badge: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportModel:
    """Everything the templates show, already read, checked and drawn.

    Attributes
    ----------
    title : str
    date : str
        Date the analysis finished (or the report was built).
    generated : str
        Date and time the report was built.
    version : str
        glmreport version that ran the analysis.
    facts : tuple of (str, str)
        Model facts for the summary box (design, N, dof, smoothing, mask, space ...).
    n_inputs : int or None
    dof : float or None
    summary_rows : tuple of SummaryRow
    warnings : tuple of str
    methods : tuple of str
        Methods paragraphs (plain text).
    references : tuple of str
        Formatted references cited by ``methods``.
    bibtex : str
    design : FigureItem or None
        The design matrix (for a first-level model without a combined matrix, the first
        run's); contrast figures share its column layout.
    run_designs : tuple of FigureItem
        Further per-run design matrices (first level), captioned with the run's name.
    design_columns : tuple of str
    nuisance_columns : tuple of str
    contrasts : tuple of ContrastSection
    atlases : tuple of Atlas
    provenance : Provenance
    toc : tuple of TocEntry
    peak_min_distance_mm : float or None
        Minimum distance between a cluster's reported peaks, when the run recorded it.
    colors : dict of str -> str
        Positive / negative colours used by the figures (for the legend).
    """

    title: str
    date: str
    generated: str
    version: str
    facts: tuple[tuple[str, str], ...]
    n_inputs: int | None
    dof: float | None
    summary_rows: tuple[SummaryRow, ...]
    warnings: tuple[str, ...]
    methods: tuple[str, ...]
    references: tuple[str, ...]
    bibtex: str
    design: FigureItem | None
    run_designs: tuple[FigureItem, ...]
    design_columns: tuple[str, ...]
    nuisance_columns: tuple[str, ...]
    contrasts: tuple[ContrastSection, ...]
    atlases: tuple[Atlas, ...]
    provenance: Provenance
    toc: tuple[TocEntry, ...]
    peak_min_distance_mm: float | None = None
    colors: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Formatting filters (registered on the Jinja environment)
# --------------------------------------------------------------------------------------------

DASH = "\u2014"
MINUS = "\u2212"
_TIMES = " \u00d7 "


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return not math.isfinite(float(value))
    if isinstance(value, str):
        return value.strip().lower() in ("", "n/a", "nan")
    return False


def fmt_p(value: Any) -> str:
    """p-values: 3 decimals, scientific below 0.001, ``—`` when missing."""
    if _missing(value):
        return DASH
    p = float(value)
    if p <= 0:
        return "0"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.3f}"


def fmt_stat(value: Any, digits: int = 2) -> str:
    """Statistic values (z, t, F) with ``digits`` decimals."""
    if _missing(value):
        return DASH
    v = round(float(value), digits) + 0.0  # no negative zero
    return f"{v:.{digits}f}".replace("-", "\u2212")


def fmt_int(value: Any) -> str:
    """Integers with thin thousands separators."""
    if _missing(value):
        return DASH
    return f"{int(round(float(value))):,}".replace(",", "\u2009")


def fmt_coord(value: Any) -> str:
    """World coordinates in mm: integer when whole, else one decimal."""
    if _missing(value):
        return DASH
    v = round(float(value), 1) + 0.0  # no negative zero
    text = f"{v:.0f}" if v == int(v) else f"{v:.1f}"
    return text.replace("-", "\u2212")


def fmt_num(value: Any) -> str:
    """Any number: 4 significant digits; other values as text."""
    if _missing(value):
        return DASH
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return fmt_int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if v == int(v) and abs(v) < 1e9:
            return fmt_int(v)
        return f"{v:.4g}".replace("-", "\u2212")
    return str(value)


def fmt_value(value: Any) -> str:
    """Parameter values: numbers, lists, mappings, booleans, text."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {fmt_value(v)}" for k, v in value.items()) or DASH
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v) for v in value) or DASH
    if isinstance(value, str):
        return value if value.strip() else DASH
    return fmt_num(value)


def fmt_cell(value: Any, kind: str) -> str:
    """Format one table cell according to its column's ``kind``."""
    if kind == "p":
        return fmt_p(value)
    if kind == "stat":
        return fmt_stat(value)
    if kind == "prop":
        return fmt_stat(value, 2)
    if kind == "int":
        return fmt_int(value)
    if kind == "coord":
        return fmt_coord(value)
    if kind == "num":
        return fmt_num(value)
    if _missing(value):
        return DASH
    return str(value)


def fmt_seconds(value: Any) -> str:
    """Durations: ``12.3 s`` or ``4 min 05 s``."""
    if _missing(value):
        return DASH
    s = float(value)
    if s < 60:
        return f"{s:.1f} s"
    minutes, seconds = divmod(int(round(s)), 60)
    return f"{minutes} min {seconds:02d} s"


_FILTERS = {
    "fmt_p": fmt_p,
    "fmt_stat": fmt_stat,
    "fmt_int": fmt_int,
    "fmt_coord": fmt_coord,
    "fmt_num": fmt_num,
    "fmt_value": fmt_value,
    "fmt_cell": fmt_cell,
    "fmt_seconds": fmt_seconds,
}


@cache
def _environment():
    """The one Jinja2 environment (autoescape on, strict undefined, named filters)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_FILTERS)
    return env


# --------------------------------------------------------------------------------------------
# Reading the results folder
# --------------------------------------------------------------------------------------------


def _read_summary(results_dir: Path) -> dict[str, Any]:
    path = results_dir / "summary.json"
    if not results_dir.is_dir():
        raise InputError(f"results folder {results_dir} does not exist")
    if not path.is_file():
        raise InputError(
            f"{path} not found: expected the results folder of a 'glmreport run' "
            "(it holds summary.json, maps/ and tables/)"
        )
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(summary, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    return summary


def _resolve(results_dir: Path, rel: str | None) -> Path | None:
    if not rel:
        return None
    path = Path(rel)
    return path if path.is_absolute() else results_dir / path


def _load_volume(path: Path | None) -> tuple[np.ndarray, np.ndarray] | None:
    if path is None or not path.is_file():
        return None
    img = nib.load(path)
    data = np.asarray(img.dataobj, dtype=np.float32)
    if data.ndim > 3:
        data = data.reshape(data.shape[:3])
    return data, img.affine


def _read_tsv(path: Path | None) -> pd.DataFrame | None:
    if path is None or not path.is_file():
        return None
    try:
        return pd.read_csv(path, sep="\t", dtype={"cluster_id": str}, keep_default_na=True)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


_KNOWN_COLUMNS: dict[str, tuple[str, str]] = {
    "cluster_id": ("Cluster", "id"),
    "sign": ("Sign", "sign"),
    "size_voxels": ("Voxels", "int"),
    "volume_mm": ("Volume (mm\u00b3)", "int"),
    "peak_x": ("x", "coord"),
    "peak_y": ("y", "coord"),
    "peak_z": ("z", "coord"),
    "peak_value": ("Peak z", "stat"),
    "peak_stat": ("Peak {stat}", "stat"),
    "p_fwe": ("p FWE", "p"),
    "p_fdr": ("q FDR", "p"),
    "p_unc": ("p unc.", "p"),
    "tdp": ("TDP \u2265", "prop"),
}


def _column_kind(name: str, series: pd.Series) -> str:
    lower = name.lower()
    if pd.api.types.is_numeric_dtype(series):
        if lower in ("p", "q") or lower.startswith(("p_", "q_")) or lower.endswith("_p"):
            return "p"
        if pd.api.types.is_integer_dtype(series):
            return "int"
        return "num"
    return "text"


def _table(
    frame: pd.DataFrame | None, source: str, *, stat_type: str, max_rows: int
) -> Table | None:
    if frame is None:
        return None
    columns = []
    for name in frame.columns:
        header, kind = _KNOWN_COLUMNS.get(name, (str(name).replace("_", " "), ""))
        kind = kind or _column_kind(name, frame[name])
        columns.append(Column(key=name, header=header.format(stat=stat_type), kind=kind))
    rows = tuple(
        tuple(_plain(v) for v in record)
        for record in frame.head(max_rows).itertuples(index=False, name=None)
    )
    return Table(columns=tuple(columns), rows=rows, source=source, n_total=len(frame))


def _plain(value: Any) -> Cell:
    if value is None:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        v = float(value)
        return None if not math.isfinite(v) else v
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _figure(png: figures.Png, alt: str, caption: str = "") -> FigureItem:
    return FigureItem(
        src=png.data_uri, width=png.width, height=png.height, alt=alt, caption=caption
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")[:40] or "x"


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _int(value: Any) -> int | None:
    v = _num(value)
    return None if v is None else int(round(v))


def _stat_label(stat_type: str, dof: float | None, df_num: int) -> str:
    d = fmt_num(dof) if dof is not None else "?"
    return f"F({df_num}, {d})" if stat_type == "F" else f"t({d})"


# --------------------------------------------------------------------------------------------
# Building the model
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    results_dir: Path
    dpi: float
    background: figures.Background
    mask: np.ndarray | None
    mask_affine: np.ndarray | None
    layout: figures.MatrixLayout | None


def _background(results_dir: Path, summary: Mapping[str, Any]) -> figures.Background:
    custom = _resolve(results_dir, summary.get("background"))
    if custom is not None and custom.is_file():
        return figures.load_background(str(custom))
    return figures.load_background()


def build_report_model(results_dir: Path, *, dpi: float = figures.DEFAULT_DPI) -> ReportModel:
    """Read a results folder and draw every figure.

    Parameters
    ----------
    results_dir : Path
        Folder written by ``glmreport run`` (holds ``summary.json``).
    dpi : float
        Figure resolution; the default suits both the screen and A4 print.

    Returns
    -------
    ReportModel

    Raises
    ------
    InputError
        If the folder or its ``summary.json`` is missing or unreadable.
    """
    results_dir = Path(results_dir).resolve()
    summary = _read_summary(results_dir)
    model_info = summary.get("model") or {}
    warnings: list[str] = []

    mask_volume = _load_volume(_resolve(results_dir, summary.get("mask")))
    if mask_volume is None:
        warnings.append("Analysis mask not found; histograms use all non-zero voxels.")
    ctx = _Context(
        results_dir=results_dir,
        dpi=dpi,
        background=_background(results_dir, summary),
        mask=None if mask_volume is None else mask_volume[0] > 0,
        mask_affine=None if mask_volume is None else mask_volume[1],
        layout=None,
    )

    design_columns = tuple(str(c) for c in model_info.get("columns") or ())
    design_fig = None
    sources = [("", summary.get("design_matrix"))] + [
        (str(run.get("name") or f"run {i + 1}"), run.get("design_matrix"))
        for i, run in enumerate(model_info.get("runs") or [])
        if isinstance(run, Mapping)
    ]
    run_designs = []
    for name, rel in sources:
        frame = _read_tsv(_resolve(results_dir, rel))
        if frame is None or not len(frame.columns):
            continue
        columns = tuple(str(c) for c in frame.columns)
        layout = figures.matrix_layout(columns)
        numeric = frame.apply(pd.to_numeric, errors="coerce").to_numpy(float)
        item = _figure(
            figures.plot_design_matrix(numeric, columns, layout=layout, dpi=dpi),
            alt=f"Design matrix{' of ' + name if name else ''}: {len(numeric)} rows, "
            f"columns {', '.join(columns)}",
            caption=name,
        )
        if design_fig is None:
            design_fig, design_columns, ctx.layout = item, columns, layout
        else:
            run_designs.append(item)
    if design_fig is None:
        warnings.append("Design matrix file not found.")

    contrasts = tuple(
        _contrast_section(c, i, ctx, design_columns)
        for i, c in enumerate(summary.get("contrasts") or [])
    )

    atlases = tuple(
        Atlas(
            name=str(a.get("name", "")),
            status=str(a.get("status", "")),
            message=str(a.get("message") or ""),
            citation=str(a.get("citation") or ""),
            space=str(a.get("space") or ""),
            space_note=str(a.get("space_note") or ""),
        )
        for a in summary.get("atlases") or []
    )
    for atlas in atlases:
        if atlas.status != "ok":
            warnings.append(f"Atlas '{atlas.name}' not used: {atlas.message or atlas.status}.")

    summary_rows = tuple(
        SummaryRow(
            contrast=c.name,
            contrast_anchor=c.anchor,
            correction=k.title,
            anchor=k.anchor,
            stat_label=c.stat_label,
            two_sided=k.two_sided,
            threshold_z=k.threshold_z,
            threshold_stat=k.threshold_stat,
            n_clusters=k.n_clusters,
            n_voxels=k.n_voxels,
            survives=k.survives,
        )
        for c in contrasts
        for k in c.corrections
    )
    for c in contrasts:
        warnings.extend(f"{c.name}: {note}" for note in c.notes)
        for k in c.corrections:
            warnings.extend(f"{c.name}, {k.title}: {note}" for note in k.notes)

    provenance = _provenance(summary, results_dir)
    methods, cited = _methods(summary, contrasts, atlases)
    references, bibtex = _bibliography(cited, atlases)
    finished = provenance.finished or provenance.started
    now = _dt.datetime.now().astimezone()
    toc = _toc(contrasts)
    return ReportModel(
        title=str(summary.get("title") or "glmreport"),
        date=_date(finished) or now.strftime("%d %B %Y").lstrip("0"),
        generated=now.strftime("%Y-%m-%d %H:%M %Z").strip(),
        version=str(summary.get("glmreport_version") or ""),
        facts=_facts(model_info, summary),
        n_inputs=_int(model_info.get("n_inputs")),
        dof=_num(model_info.get("dof")),
        summary_rows=summary_rows,
        warnings=tuple(warnings),
        methods=methods,
        references=references,
        bibtex=bibtex,
        design=design_fig,
        run_designs=tuple(run_designs),
        design_columns=design_columns,
        nuisance_columns=tuple(model_info.get("nuisance_columns") or ()),
        contrasts=contrasts,
        atlases=atlases,
        provenance=provenance,
        toc=toc,
        peak_min_distance_mm=_num(_clustering(summary).get("peak_min_distance_mm")),
        colors={"positive": figures.POSITIVE_COLORS[1], "negative": figures.NEGATIVE_COLORS[1]},
    )


def _date(iso: str) -> str:
    if not iso:
        return ""
    try:
        return _dt.datetime.fromisoformat(iso).strftime("%d %B %Y").lstrip("0")
    except ValueError:
        return iso


def _facts(model: Mapping[str, Any], summary: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    facts: list[tuple[str, str]] = []
    level = model.get("level")
    design = model.get("design")
    if design or level:
        text = str(design or "")
        if level:
            text = f"{text} ({level} level)" if text else f"{level} level"
        facts.append(("Model", text))
    if model.get("n_inputs") is not None:
        facts.append(("Inputs (N)", fmt_int(model["n_inputs"])))
    if model.get("dof") is not None:
        facts.append(("Residual dof", fmt_num(_num(model["dof"]))))
    columns = model.get("columns")
    if columns:
        facts.append(("Design columns", ", ".join(str(c) for c in columns)))
    if model.get("noise_model"):
        facts.append(("Noise model", str(model["noise_model"]).upper()))
    fwhm = _num(model.get("smoothing_fwhm"))
    if fwhm is not None:
        facts.append(("Smoothing", f"{fmt_num(fwhm)} mm FWHM" if fwhm > 0 else "none"))
    mask = model.get("mask") or {}
    if isinstance(mask, Mapping) and mask:
        n = mask.get("n_voxels")
        text = f"{fmt_int(n)} voxels" if n is not None else ""
        if mask.get("source"):
            text = f"{text} ({mask['source']})" if text else str(mask["source"])
        facts.append(("Mask", text))
    space = model.get("space")
    if space:
        size = model.get("voxel_size")
        extra = f", {_TIMES.join(fmt_num(v) for v in size)} mm voxels" if size else ""
        facts.append(("Space", f"{space}{extra}"))
    names = [str(c.get("name", "")) for c in summary.get("contrasts") or []]
    if names:
        facts.append(("Contrasts", "; ".join(names)))
    titles: list[str] = []
    for c in summary.get("contrasts") or []:
        for k in c.get("corrections") or []:
            title = str(k.get("title") or k.get("method") or "")
            if title not in titles:
                titles.append(title)
    if titles:
        facts.append(("Corrections", "; ".join(titles)))
    return tuple(facts)


def _contrast_section(
    entry: Mapping[str, Any], index: int, ctx: _Context, design_columns: Sequence[str]
) -> ContrastSection:
    name = str(entry.get("name", f"contrast {index + 1}"))
    label = str(entry.get("label") or _slug(name))
    stat_type = "F" if str(entry.get("stat_type", "t")).upper() == "F" else "t"
    dof = _num(entry.get("dof"))
    df_num = _int(entry.get("df_num")) or 1
    stat_label = _stat_label(stat_type, dof, df_num)
    anchor = f"c{index + 1}-{_slug(label)}"
    columns = tuple(str(c) for c in entry.get("columns") or design_columns)
    weights = np.atleast_2d(np.asarray(entry.get("weights") or [[]], dtype=float))
    notes: list[str] = [str(n) for n in entry.get("notes") or []]

    matrix = None
    if weights.size and weights.shape[1] == len(columns):
        layout = ctx.layout if ctx.layout and ctx.layout.n_columns == len(columns) else None
        matrix = _figure(
            figures.plot_contrast_matrix(weights, columns, layout=layout, dpi=ctx.dpi),
            alt=f"Weights of contrast {name} over the design columns",
        )

    maps = entry.get("maps") or {}
    z_volume = _load_volume(_resolve(ctx.results_dir, maps.get("z")))
    z_values = None
    if z_volume is not None:
        z_values = _in_mask(z_volume[0], z_volume[1], ctx)
    else:
        notes.append("z map not found; no histogram.")

    corrections_raw = list(entry.get("corrections") or [])
    thresholded = []
    for k in corrections_raw:
        vol = _load_volume(_resolve(ctx.results_dir, k.get("map")))
        thresholded.append(vol)
    # One colour scale per contrast so its corrections compare at a glance.
    tops = [float(np.nanmax(np.abs(v[0]))) for v in thresholded if v is not None and v[0].size]
    vmax = max(tops, default=0.0)
    if z_values is not None and z_values.size:
        vmax = max(vmax, float(np.nanmax(np.abs(z_values))))
    vmax = math.ceil(vmax * 10) / 10 if vmax > 0 else 1.0

    corrections = []
    for j, (k, vol) in enumerate(zip(corrections_raw, thresholded, strict=True)):
        corrections.append(
            _correction_section(
                k,
                vol,
                anchor=f"{anchor}-{_slug(k.get('desc') or j + 1)}",
                contrast_name=name,
                stat_type=stat_type,
                vmax=vmax,
                ctx=ctx,
            )
        )

    histogram = None
    if z_values is not None:
        lines = [
            figures.ThresholdLine(value=k.threshold_z, label=k.title, two_sided=k.two_sided)
            for k in corrections
            if k.threshold_z is not None
        ]
        histogram = _figure(
            figures.plot_histogram(
                z_values, thresholds=lines, xlabel="z (in-mask voxels)", dpi=ctx.dpi
            ),
            alt=f"Histogram of z values of contrast {name} with the correction thresholds",
        )
    return ContrastSection(
        anchor=anchor,
        name=name,
        label=label,
        stat_type=stat_type,
        stat_label=stat_label,
        dof=dof,
        df_num=df_num,
        weights=tuple(tuple(float(w) for w in row) for row in weights) if weights.size else (),
        columns=columns,
        matrix=matrix,
        histogram=histogram,
        corrections=tuple(corrections),
        notes=tuple(notes),
    )


def _in_mask(data: np.ndarray, affine: np.ndarray, ctx: _Context) -> np.ndarray:
    if (
        ctx.mask is not None
        and ctx.mask.shape == data.shape
        and ctx.mask_affine is not None
        and np.allclose(ctx.mask_affine, affine, atol=1e-3)
    ):
        return data[ctx.mask]
    return data[(data != 0) & np.isfinite(data)]


def _partial(method: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_]+", method or ""):
        return None
    rel = f"corrections/{method}.html.j2"
    return rel if (templates_dir() / rel).is_file() else None


def _correction_section(
    entry: Mapping[str, Any],
    volume: tuple[np.ndarray, np.ndarray] | None,
    *,
    anchor: str,
    contrast_name: str,
    stat_type: str,
    vmax: float,
    ctx: _Context,
) -> CorrectionSection:
    method = str(entry.get("method") or "")
    desc = str(entry.get("desc") or method)
    title = str(entry.get("title") or desc)
    two_sided = bool(entry.get("two_sided", False))
    threshold_z = _num(entry.get("threshold_z"))
    n_voxels = _int(entry.get("n_voxels"))
    notes: list[str] = [str(n) for n in entry.get("notes") or []]
    rd = ctx.results_dir

    clusters_rel = entry.get("clusters_table")
    peaks_rel = entry.get("peaks_table")
    clusters_frame = _read_tsv(_resolve(rd, clusters_rel))
    peaks_frame = _read_tsv(_resolve(rd, peaks_rel))
    if clusters_rel and clusters_frame is None:
        notes.append(f"clusters table {clusters_rel} not found.")
    clusters = _table(
        clusters_frame, str(clusters_rel or ""), stat_type=stat_type, max_rows=MAX_CLUSTER_ROWS
    )
    peaks = _table(peaks_frame, str(peaks_rel or ""), stat_type=stat_type, max_rows=MAX_PEAK_ROWS)
    n_clusters = _int(entry.get("n_clusters"))
    if n_clusters is None and clusters_frame is not None:
        n_clusters = len(clusters_frame)

    glass = slices = thumbs = None
    what = f"{contrast_name}, {title}"
    has_signal = volume is not None and bool(np.any(volume[0]))
    if entry.get("map") and volume is None:
        notes.append(f"thresholded map {entry.get('map')} not found.")
    if has_signal:
        assert volume is not None
        shown = figures.to_display(volume[0], volume[1], ctx.background)
        scale = figures.ColorScale(
            threshold=threshold_z, vmax=vmax, two_sided=two_sided or bool((shown < 0).any())
        )
        glass = _figure(
            figures.plot_glass_brain(shown, ctx.background, scale=scale, dpi=ctx.dpi),
            alt=f"Glass brain of {what}",
        )
        peaks_xyz = _cluster_peaks(clusters_frame)
        cuts = figures.slice_cuts([p[2] for p, _ in peaks_xyz], ctx.background, max_cuts=MAX_CUTS)
        slices = _figure(
            figures.plot_slices(
                shown, ctx.background, scale=scale, cuts=cuts, axis="z", dpi=ctx.dpi
            ),
            alt=f"Axial slices of {what}",
        )
        if peaks_xyz:
            chosen = peaks_xyz[:MAX_THUMBNAILS]
            thumbs = _figure(
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

    extra_figures: dict[str, FigureItem] = {}
    extras = dict(entry.get("extras") or {})
    arrays_rel = entry.get("arrays")
    arrays_path = _resolve(rd, arrays_rel)
    if arrays_path is not None:
        if arrays_path.is_file():
            with np.load(arrays_path, allow_pickle=False) as arrays:
                if "null" in arrays.files:
                    extra_figures["null"] = _figure(
                        figures.plot_null_distribution(
                            arrays["null"],
                            observed=_num(extras.get("observed_max")),
                            critical=_num(extras.get("critical_value")),
                            xlabel=str(extras.get("null_label") or "maximum statistic"),
                            dpi=ctx.dpi,
                        ),
                        alt=f"Permutation null distribution of {what}",
                    )
        else:
            notes.append(f"arrays file {arrays_rel} not found.")

    files = [
        ("thresholded z map", entry.get("map")),
        ("clusters", clusters_rel),
        ("peaks", peaks_rel),
    ]
    files += [(f"map {key}", rel) for key, rel in (entry.get("maps") or {}).items()]
    files.append(("arrays", arrays_rel))
    return CorrectionSection(
        anchor=anchor,
        method=method,
        desc=desc,
        title=title,
        alpha=_num(entry.get("alpha")),
        two_sided=two_sided,
        threshold_z=threshold_z,
        threshold_stat=_num(entry.get("threshold_stat")),
        threshold_scale=str(entry.get("threshold_scale") or ""),
        cluster_extent=_int(entry.get("cluster_extent")) or 0,
        n_voxels=n_voxels,
        n_clusters=n_clusters,
        params=tuple((str(k), v) for k, v in (entry.get("params") or {}).items()),
        extras=tuple((str(k), v) for k, v in extras.items()),
        glass_brain=glass,
        slices=slices,
        thumbnails=thumbs,
        extra_figures=extra_figures,
        clusters=clusters,
        peaks=peaks,
        partial=_partial(method),
        notes=tuple(notes),
        files=tuple((w, str(r)) for w, r in files if r),
    )


def _cluster_peaks(frame: pd.DataFrame | None) -> list[tuple[tuple[float, float, float], str]]:
    """Peak coordinates and captions of the clusters to draw, most significant first.

    Positive and negative clusters alternate (each in table order, i.e. by decreasing
    |peak z|), so a two-sided result shows both signs in its slices and thumbnails.
    """
    if frame is None or not len(frame) or not {"peak_x", "peak_y", "peak_z"} <= set(frame):
        return []
    by_sign: dict[str, list[tuple[tuple[float, float, float], str]]] = {}
    for _, row in frame.iterrows():
        xyz = (_num(row["peak_x"]), _num(row["peak_y"]), _num(row["peak_z"]))
        if any(v is None for v in xyz):
            continue
        sign = row.get("sign", "")
        sign = sign if isinstance(sign, str) else ""
        size = _int(row.get("size_voxels"))
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


def _provenance(summary: Mapping[str, Any], results_dir: Path) -> Provenance:
    prov = summary.get("provenance") or {}
    inputs = summary.get("inputs") or []
    table = None
    if inputs:
        frame = pd.DataFrame(inputs)
        first = [c for c in ("path", "sha256") if c in frame.columns]
        frame = frame[first + [c for c in frame.columns if c not in first]]
        table = _table(frame, "summary.json", stat_type="t", max_rows=10_000)
        if table is not None:
            kinds = {"path": "path", "sha256": "hash"}
            table = Table(
                columns=tuple(
                    Column(key=c.key, header=c.key, kind=kinds.get(c.key, c.kind))
                    for c in table.columns
                ),
                rows=table.rows,
                source=table.source,
                n_total=table.n_total,
            )
    return Provenance(
        config_file=str(summary.get("config_file") or ""),
        config_text=str(summary.get("config_text") or ""),
        command=str(prov.get("command") or ""),
        inputs=table,
        versions=tuple((str(k), str(v)) for k, v in (prov.get("versions") or {}).items()),
        python=str(prov.get("python") or ""),
        platform=str(prov.get("platform") or ""),
        started=str(prov.get("started") or ""),
        finished=str(prov.get("finished") or ""),
        run_time_s=_num(prov.get("run_time_s")),
        seeds=tuple((str(k), v) for k, v in (prov.get("seeds") or {}).items()),
        results_dir=str(results_dir),
    )


def _toc(contrasts: Sequence[ContrastSection]) -> tuple[TocEntry, ...]:
    entries = [
        TocEntry(anchor="summary", title="Summary", level=1),
        TocEntry(anchor="methods", title="Methods", level=1),
        TocEntry(anchor="design", title="Design", level=1),
    ]
    for c in contrasts:
        entries.append(TocEntry(anchor=c.anchor, title=c.name, level=1, badge=c.stat_type))
        for k in c.corrections:
            badge = "" if k.survives else "0"
            entries.append(TocEntry(anchor=k.anchor, title=k.title, level=2, badge=badge))
    entries.append(TocEntry(anchor="provenance", title="Provenance", level=1))
    return tuple(entries)


# --------------------------------------------------------------------------------------------
# Methods text and references
# --------------------------------------------------------------------------------------------


@cache
def _references() -> dict[str, dict[str, str]]:
    """Citable works: key -> {cite, reference, bibtex} (``templates/references.yaml``)."""
    import yaml

    path = templates_dir() / "references.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _cite(keys: list[str], *new: str) -> str:
    for key in new:
        if key not in keys:
            keys.append(key)
    return "; ".join(_references()[k]["cite"] for k in new)


def _method_phrase(entry: Mapping[str, Any], cited: list[str]) -> str:
    """How a correction controls errors, in words (falls back to its title)."""
    method = str(entry.get("method") or "")
    desc = str(entry.get("desc") or "").lower()
    alpha = _num(entry.get("alpha"))
    a = fmt_num(alpha) if alpha is not None else "?"
    params = entry.get("params") or {}
    if method == "uncorrected":
        return f"an uncorrected voxel-wise threshold of p < {a}"
    if method == "fdr":
        return (
            f"voxel-wise false discovery rate control at q = {a} "
            f"(Benjamini\u2013Hochberg procedure; {_cite(cited, 'bh1995')})"
        )
    if method == "bonferroni":
        return f"Bonferroni correction for the family-wise error rate (FWE) at p < {a}"
    if method == "permutation":
        n_perm = params.get("n_perm") or (entry.get("extras") or {}).get("n_perm")
        what = "the maximum voxel statistic"
        keys = ["nichols2002", "winkler2014"]
        if "tfce" in desc:
            what = "the maximum threshold-free cluster enhancement (TFCE) score"
            keys.append("smith2009")
        elif "mass" in desc:
            what = "the maximum cluster mass"
        elif "cluster" in desc:
            what = "the maximum cluster size"
        cdt = params.get("cluster_forming_p")
        cdt_text = f" with a cluster-forming threshold of p < {fmt_num(cdt)}" if cdt else ""
        n_text = f"{fmt_int(n_perm)} " if n_perm else ""
        return (
            f"non-parametric permutation inference ({n_text}permutations; FWE p < {a} "
            f"from the distribution of {what}{cdt_text}; {_cite(cited, *keys)})"
        )
    if method == "rft":
        return f"random field theory FWE control at p < {a} ({_cite(cited, 'worsley1996')})"
    if method == "ari":
        return (
            "all-resolution inference, giving simultaneous lower confidence bounds "
            f"(1 \u2212 \u03b1 = {fmt_num(1 - alpha) if alpha is not None else '?'}) on the "
            f"true discovery proportion of each cluster "
            f"({_cite(cited, 'rosenblatt2018', 'goeman2011')})"
        )
    return str(entry.get("title") or method)


def _methods(
    summary: Mapping[str, Any], contrasts: Sequence[ContrastSection], atlases: Sequence[Atlas]
) -> tuple[tuple[str, ...], list[str]]:
    """Methods paragraphs written from the summary, and the reference keys they cite."""
    cited: list[str] = []
    model = summary.get("model") or {}
    prov = summary.get("provenance") or {}
    versions = prov.get("versions") or {}
    version = summary.get("glmreport_version") or versions.get("glmreport") or ""
    paragraphs: list[str] = []

    software = f"glmreport {version}".strip()
    libs = [f"{k} {versions[k]}" for k in ("numpy", "scipy", "nibabel") if k in versions]
    python = prov.get("python")
    env = ", ".join(([f"Python {python}"] if python else []) + libs)
    first = f"Statistical analyses were performed with {software}" + (f" ({env})." if env else ".")

    level = str(model.get("level") or "")
    design = str(model.get("design") or "general linear model")
    n = model.get("n_inputs")
    noise = str(model.get("noise_model") or "ols").lower()
    fit = (
        "ordinary least squares"
        if noise == "ols"
        else (
            "generalised least squares with a first-order autoregressive noise model"
            if noise.startswith("ar")
            else noise
        )
    )
    level_text = {"second": "second-level (group) ", "first": "first-level "}.get(level, "")
    sentence = f"A {level_text}{design} was fitted by {fit}"
    if n is not None:
        sentence += f" to {fmt_int(n)} images"
    columns = model.get("columns") or []
    if columns:
        sentence += f" (design columns: {', '.join(str(c) for c in columns)}"
        nuisance = model.get("nuisance_columns") or []
        if nuisance:
            sentence += f"; of no interest: {', '.join(str(c) for c in nuisance)}"
        sentence += ")"
    dof = _num(model.get("dof"))
    if dof is not None:
        sentence += f", leaving {fmt_num(dof)} residual degrees of freedom"
    parts = [first, sentence + "."]

    fwhm = _num(model.get("smoothing_fwhm"))
    if fwhm is not None:
        parts.append(
            f"Images were smoothed with an isotropic Gaussian kernel of {fmt_num(fwhm)} mm FWHM."
            if fwhm > 0
            else "No spatial smoothing was applied."
        )
    mask = model.get("mask") or {}
    space = model.get("space")
    if isinstance(mask, Mapping) and (mask.get("n_voxels") or mask.get("rule")):
        text = "The analysis was restricted to"
        text += f" {fmt_int(mask['n_voxels'])} voxels" if mask.get("n_voxels") else " voxels"
        if mask.get("rule"):
            text += f" ({mask['rule']})"
        elif mask.get("source"):
            text += f" (mask: {mask['source']})"
        if space:
            text += f" in {space} space"
            size = model.get("voxel_size")
            if size:
                text += f" at {_TIMES.join(fmt_num(v) for v in size)} mm"
        parts.append(text + ".")
    paragraphs.append(" ".join(parts))

    # Contrasts and corrections.
    if contrasts:
        described = []
        for c in contrasts:
            kind = f"an F contrast ({c.df_num} rows)" if c.stat_type == "F" else "a t contrast"
            weights = ""
            if c.weights and c.columns and len(c.weights) == 1:
                nz = [
                    f"{w:g}\u00d7{col}"
                    for w, col in zip(c.weights[0], c.columns, strict=False)
                    if w != 0
                ]
                weights = f": {' + '.join(nz)}" if nz else ""
            described.append(f"\u201c{c.name}\u201d ({kind}{weights})")
        text = f"We tested {len(contrasts)} contrast{'s' if len(contrasts) != 1 else ''}: "
        text += "; ".join(described) + "."
        text += (
            " Statistics were converted to z values of equal p; one-sided t tests test a "
            "positive effect, and two-sided corrections use |z| and report negative clusters "
            "separately."
        )
        paragraphs.append(text)

    groups: dict[str, list[tuple[ContrastSection, Mapping[str, Any], CorrectionSection]]] = {}
    raw = {str(c.get("name")): c for c in summary.get("contrasts") or []}
    for c in contrasts:
        entries = (raw.get(c.name) or {}).get("corrections") or []
        for entry, section in zip(entries, c.corrections, strict=True):
            key = f"{section.method}/{section.desc}/{section.alpha}/{section.two_sided}"
            groups.setdefault(key, []).append((c, entry, section))
    correction_texts = []
    for members in groups.values():
        _, entry, section = members[0]
        text = f"{section.title}: {_method_phrase(entry, cited)}"
        if "sided" not in section.title.lower():
            text += ", two-sided" if section.two_sided else ", one-sided"
        if section.cluster_extent:
            text += f", with a minimum cluster size of {fmt_int(section.cluster_extent)} voxels"
        seed = (entry.get("params") or {}).get("seed")
        if seed is not None:
            text += f" (random seed {seed})"
        thresholds = []
        for c, _, s in members:
            if s.threshold_z is not None:
                sign = "|z|" if s.two_sided else "z"
                value = f"{sign} > {fmt_stat(s.threshold_z)}"
                if s.threshold_stat is not None:
                    stat_sign = f"|{c.stat_type}|" if s.two_sided else c.stat_type
                    value += f", {stat_sign.replace(c.stat_type, c.stat_label)}"
                    value += f" > {fmt_stat(s.threshold_stat)}"
                thresholds.append(f"{value} for \u201c{c.name}\u201d")
            else:
                thresholds.append(f"no voxel-height threshold for \u201c{c.name}\u201d")
        if thresholds:
            text += "; voxel thresholds: " + "; ".join(thresholds)
        correction_texts.append(text + ".")
    if correction_texts:
        paragraphs.append(
            "Inference used the following corrections; thresholds are stated on the z scale "
            "and in the units of each contrast's statistic."
        )
        paragraphs.extend(correction_texts)

    tail = []
    ok = [a for a in atlases if a.status == "ok"]
    if ok:
        labels = []
        for a in ok:
            text = f"the {a.name} atlas"
            if a.citation:
                text += f" ({a.citation})"
            if a.space_note:
                text += f"; {a.space_note}"
            labels.append(text)
        tail.append("Clusters and peaks were labelled with " + "; and ".join(labels) + ".")
    if not summary.get("background"):
        tail.append(
            "Results are displayed on the MNI152NLin2009cAsym template "
            f"({_cite(cited, 'fonov2011', 'ciric2022')}); coordinates are in mm (MNI space)."
        )
    clustering = _clustering(summary)
    if clustering.get("connectivity"):
        text = f"Clusters were formed with {fmt_int(clustering['connectivity'])}-connectivity"
        if clustering.get("peak_min_distance_mm"):
            text += (
                f"; sub-peaks are at least {fmt_num(clustering['peak_min_distance_mm'])} mm from "
                "other peaks of their cluster"
            )
        tail.append(text + ".")
    paragraphs.append(" ".join(tail))
    return tuple(paragraphs), cited


def _clustering(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Cluster-forming settings, where the run recorded them (``inference`` or ``model``)."""
    found: dict[str, Any] = {}
    for block in (summary.get("model"), summary.get("inference")):
        if isinstance(block, Mapping):
            for key in ("connectivity", "peak_min_distance_mm", "max_subpeaks"):
                if block.get(key) is not None:
                    found[key] = block[key]
    return found


def _bibtex_escape(text: str) -> str:
    return text.replace("\\", "").replace("{", "(").replace("}", ")")


def _bibliography(cited: list[str], atlases: Sequence[Atlas]) -> tuple[tuple[str, ...], str]:
    references = [_references()[k]["reference"] for k in cited]
    entries = [_references()[k]["bibtex"].strip() for k in cited]
    for atlas in atlases:
        if atlas.status == "ok" and atlas.citation:
            references.append(f"{atlas.name} atlas: {atlas.citation}")
            key = "atlas_" + re.sub(r"[^a-z0-9]+", "_", atlas.name.lower()).strip("_")
            entries.append(
                f"@misc{{{key},\n  title = {{{_bibtex_escape(atlas.name)} atlas}},\n"
                f"  note = {{{_bibtex_escape(atlas.citation)}}}\n}}"
            )
    return tuple(references), "\n\n".join(entries)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def render_html(model: ReportModel) -> str:
    """Render the report as one standalone HTML document.

    Parameters
    ----------
    model : ReportModel

    Returns
    -------
    str
        HTML with every image, style and script inline; no external references.
    """
    return _environment().get_template("report.html.j2").render(report=model)


def render_pdf(html: str, target: Path) -> Path:
    """Typeset an HTML document (from :func:`render_html`) as a PDF with WeasyPrint.

    Only ``data:`` URLs are fetched, so nothing is requested from the network or the disk.

    Parameters
    ----------
    html : str
    target : Path
    """
    import weasyprint
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(target)
    return target


def _atomic_write(target: Path, write) -> Path:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return target


def write_report(
    results_dir: Path,
    *,
    formats: Sequence[str] = ("html", "pdf"),
    dpi: float = figures.DEFAULT_DPI,
) -> dict[str, Path]:
    """Write ``report.html`` and/or ``report.pdf`` into the results folder.

    The figures are drawn once and shared by both files. Each file is written under a
    temporary name and moved into place, so a reader never sees half a report.

    Parameters
    ----------
    results_dir : Path
        Folder written by ``glmreport run``.
    formats : sequence of {'html', 'pdf'}
    dpi : float
        Figure resolution.

    Returns
    -------
    dict of str -> Path
        The written files, keyed by format.

    Raises
    ------
    InputError
        If the folder or its ``summary.json`` is missing, or a format is unknown.
    """
    from .errors import suggest

    results_dir = Path(results_dir)
    allowed = ("html", "pdf")
    for fmt in formats:
        if fmt not in allowed:
            raise InputError(
                f"unknown report format '{fmt}': expected one of {', '.join(allowed)}."
                + suggest(fmt, allowed)
            )
    model = build_report_model(results_dir, dpi=dpi)
    html = render_html(model)
    written: dict[str, Path] = {}
    if "html" in formats:
        written["html"] = _atomic_write(
            results_dir / "report.html", lambda p: p.write_text(html, encoding="utf-8")
        )
    if "pdf" in formats:
        written["pdf"] = _atomic_write(results_dir / "report.pdf", lambda p: render_pdf(html, p))
    return written


__all__ = [
    "ReportModel",
    "build_report_model",
    "render_html",
    "render_pdf",
    "write_report",
]
