"""Results folder -> ReportModel -> one standalone HTML file and a PDF.

``build_report_model`` reads ``summary.json`` and the maps and tables it points to, renders
every figure once (PNG, embedded as ``data:`` URIs) and returns a frozen :class:`ReportModel`,
the only object the Jinja2 templates see. ``render_html`` turns the model into one HTML
document with its CSS and script inline; ``write_report`` writes ``report.html`` and, from
the same document and the print rules of the same stylesheet, ``report.pdf`` (WeasyPrint).

Nothing here computes a statistic: thresholds, counts and table values are read from the
results folder and only formatted. Corrections are rendered generically from their
``summary.json`` entry; a method may add a partial ``templates/corrections/<method>.html.j2``.
How keys are named and formatted (correction short names, table headers, method details) is
data: ``templates/labels.yaml``.
"""

from __future__ import annotations

import datetime as _dt
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

from .. import figures
from ..config.vocabulary import FORMATS
from ..errors import InputError, OutputError
from ..outputs.readback import read_summary
from ..outputs.safety import resolve_inside
from ..outputs.shareable import cap_text, cap_title
from ..resources import templates_dir

#: Rows shown per table; the rest are in the TSV file the table names.
MAX_CLUSTER_ROWS = 50
MAX_PEAK_ROWS = 50
#: Clusters listed per contrast in the summary's clusters x corrections matrix.
MAX_CROSS_ROWS = 12
#: Clusters drawn as thumbnails per correction.
MAX_THUMBNAILS = 6
#: Axial slices per correction.
MAX_CUTS = 7
#: Design columns named in full in the summary and the methods; beyond, they are summarised.
MAX_NAMED_COLUMNS = 12

Cell = Any  # str | int | float | None | tuple[Badge, ...]


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
        How the template formats and aligns it (see ``templates/labels.yaml``): ``id``,
        ``sign``, ``text``, ``int``, ``coord``, ``stat``, ``p``, ``prop``, ``percent``,
        ``num``, ``badges``, ``ref``, ``path`` or ``hash``.
    group : str
        Header of the column group it belongs to (SPM-style tables); ``""`` for none.
    """

    key: str
    header: str
    kind: str
    group: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Badge:
    """A correction named in a ``survives`` cell: short name, full title, ``desc``."""

    short: str
    title: str
    desc: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RowBlock:
    """Consecutive rows of a table shown under one sub-heading (e.g. one ARI threshold)."""

    title: str
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A table read from the results folder (values unformatted).

    Attributes
    ----------
    columns : tuple of Column
    rows : tuple of tuple
        Raw cell values of the rows shown; ``None`` for missing values.
    source : str
        Path of the TSV file relative to the results folder.
    n_total : int
        Number of rows in the file (``rows`` may be the first ``len(rows)``).
    blocks : tuple of RowBlock
        The same rows under sub-headings, when the table has blocks (else empty).
    notes : tuple of str
        Notes printed under the table.
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    source: str
    n_total: int
    blocks: tuple[RowBlock, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def truncated(self) -> bool:
        return self.n_total > len(self.rows)

    @property
    def n_more(self) -> int:
        """Rows of the file that are not shown."""
        return max(self.n_total - len(self.rows), 0)

    @property
    def header_groups(self) -> tuple[tuple[str, int], ...]:
        """(group header, number of columns) runs; empty when no column has a group."""
        if not any(c.group for c in self.columns):
            return ()
        runs: list[list[Any]] = []
        for col in self.columns:
            if runs and runs[-1][0] == col.group:
                runs[-1][1] += 1
            else:
                runs.append([col.group, 1])
        return tuple((g, n) for g, n in runs)


@dataclass(frozen=True, slots=True, kw_only=True)
class Detail:
    """One labelled method parameter or result number, formatted for display."""

    key: str
    label: str
    value: str
    unit: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AriLevel:
    """One cluster-forming threshold of an ARI correction."""

    threshold_z: float
    threshold_stat: float | None
    n_clusters_formed: int | None
    n_clusters_tdp_positive: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionSection:
    """One correction applied to one contrast.

    Attributes
    ----------
    anchor : str
        HTML id of the section.
    method, desc, title : str
    short : str
        Short name (badges, legends; from ``templates/labels.yaml``).
    alpha : float or None
    two_sided : bool
    threshold_z, threshold_stat : float or None
        Voxel height threshold on the z scale and in the contrast's units (from summary.json).
    threshold_scale : str
    cluster_extent : int
    n_voxels, n_clusters : int or None
    params, extras : tuple of (str, value)
        Method parameters and method-specific numbers, in summary.json order.
    details : tuple of Detail
        The parameters and numbers worth showing, labelled and formatted.
    glass_brain, slices, thumbnails : FigureItem or None
    extra_figures : dict of str -> FigureItem
        ``null`` (permutation null distribution), ``tfce`` (glass brain of the TFCE map).
    clusters, peaks : Table or None
    partial : str or None
        Template of a method-specific block (``corrections/<method>.html.j2``).
    notes : tuple of str
        Problems met while reading this section's files.
    atlas_caveats : tuple of str
        Atlases whose space note (shown once in the summary) applies to this section's labels.
    ari_levels : tuple of AriLevel
        ARI only: the cluster-forming thresholds and their cluster counts.
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
    short: str = ""
    params: tuple[tuple[str, Any], ...] = ()
    extras: tuple[tuple[str, Any], ...] = ()
    details: tuple[Detail, ...] = ()
    glass_brain: FigureItem | None = None
    slices: FigureItem | None = None
    thumbnails: FigureItem | None = None
    extra_figures: Mapping[str, FigureItem] = field(default_factory=dict)
    clusters: Table | None = None
    peaks: Table | None = None
    partial: str | None = None
    notes: tuple[str, ...] = ()
    atlas_caveats: tuple[str, ...] = ()
    ari_levels: tuple[AriLevel, ...] = ()
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
class CrossRow:
    """One cluster of the summary's clusters x corrections matrix."""

    cluster_id: str
    sign: str
    xyz: tuple[float | None, float | None, float | None]
    peak_z: float | None
    size: int | None
    label: str
    marks: tuple[bool, ...]
    tdp: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossTable:
    """Which corrections each cluster survives, for the clusters of one correction.

    Attributes
    ----------
    base_title, base_anchor : str
        The correction whose clusters are listed (the one with the most surviving voxels).
    corrections : tuple of (short, title, anchor)
        Columns, in the contrast's order.
    rows : tuple of CrossRow
    n_total : int
        Clusters of the base correction (``rows`` may be the first ones).
    source : str
        The base correction's clusters table.
    label_header : str
        Atlas whose label is shown (``""`` for none).
    has_tdp : bool
        Whether an ARI bound column is shown.
    """

    base_title: str
    base_anchor: str
    corrections: tuple[tuple[str, str, str], ...]
    rows: tuple[CrossRow, ...]
    n_total: int
    source: str
    label_header: str
    has_tdp: bool


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
        The contrast weights aligned with the design's columns, column names above.
    matrix_plain : FigureItem or None
        The same without column names (stacked under the design matrix).
    histogram : FigureItem or None
        In-mask z values with each correction's threshold.
    corrections : tuple of CorrectionSection
    crosstab : CrossTable or None
        Which corrections each cluster survives (when the tables say so).
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
    matrix_plain: FigureItem | None = None
    crosstab: CrossTable | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryRow:
    """One contrast x correction line of the summary box.

    ``contrast_span`` is the number of rows of this contrast on its first row, else 0.
    """

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
    short: str = ""
    contrast_span: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Atlas:
    """An atlas entry from summary.json."""

    name: str
    status: str
    message: str
    citation: str
    space: str
    space_note: str
    title: str = ""
    doi: str = ""
    licence: str = ""


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
    level : str
        ``first`` or ``second`` (or ``""``).
    facts : tuple of (str, str)
        Model facts for the summary box (design, N, dof, smoothing, mask, space ...).
    n_inputs : int or None
    dof : float or None
    summary_rows : tuple of SummaryRow
    legend : tuple of (str, str)
        Short correction names and the titles they stand for.
    warnings : tuple of str
    methods : tuple of str
        Methods paragraphs (plain text).
    references : tuple of str
        Formatted references cited by ``methods``.
    bibtex : str
    design : FigureItem or None
        The design matrix of the whole model (``None`` for a first-level model, whose runs
        each have one, see ``run_designs``).
    run_designs : tuple of FigureItem
        Per-run design matrices (first level), captioned with the run's name.
    design_columns : tuple of str
    nuisance_columns : tuple of str
    contrasts : tuple of ContrastSection
    atlases : tuple of Atlas
    provenance : Provenance
    toc : tuple of TocEntry
    peak_min_distance_mm : float or None
        Minimum distance between a cluster's reported peaks, when the run recorded it.
    dpi : float
        Resolution the figures were drawn at (they print at their physical size).
    coord_space : str
        What the coordinates are: ``MNI`` or ``world``.
    background_name : str
        What the brain figures are drawn on.
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
    level: str = ""
    legend: tuple[tuple[str, str], ...] = ()
    peak_min_distance_mm: float | None = None
    dpi: float = figures.DEFAULT_DPI
    coord_space: str = "MNI"
    background_name: str = "MNI152NLin2009cAsym template"
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
    """Any number: 4 significant digits (whole numbers in full); other values as text."""
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
        if 1e4 <= abs(v) < 1e9:
            return fmt_int(v)
        return f"{v:.4g}".replace("-", "\u2212")
    return str(value)


def fmt_percent(value: Any) -> str:
    """Proportions (0-1) as percentages: ``0.7%``, ``25%``, ``100%``."""
    if _missing(value):
        return DASH
    v = 100.0 * float(value)
    if v == 0 or v >= 10 or abs(v - round(v)) < 0.05:
        return f"{v:.0f}%"
    return f"{v:.1f}%"


def fmt_value(value: Any) -> str:
    """Parameter values: numbers, lists, mappings, booleans, text."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {fmt_value(v)}" for k, v in value.items()) or DASH
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v) for v in value) or DASH
    if isinstance(value, str):
        return value if value.strip() else DASH
    return fmt_num(value)


def fmt_dims(value: Any, digits: int = 1) -> str:
    """Sizes along x, y, z: ``8.8 × 8.8 × 8.9``."""
    if isinstance(value, list | tuple):
        if not value:
            return DASH
        return _TIMES.join(
            DASH if _missing(v) else f"{float(v):.{digits}f}".replace("-", MINUS) for v in value
        )
    return fmt_num(value)


def fmt_detail(value: Any, kind: str) -> str:
    """A method detail according to its kind (see ``templates/labels.yaml``)."""
    if kind == "int":
        return fmt_value(value) if isinstance(value, list | tuple) else fmt_int(value)
    if kind == "p":
        return fmt_p(value)
    if kind == "stat":
        return fmt_stat(value)
    if kind == "percent":
        return fmt_percent(value)
    if kind == "yesno":
        return DASH if value is None else ("yes" if value else "no")
    if kind == "dims":
        return fmt_dims(value)
    if kind == "list":
        return fmt_value(list(value) if isinstance(value, list | tuple) else [value])
    if kind == "text":
        return fmt_value(value)
    return fmt_value(value)


def fmt_cell(value: Any, kind: str) -> str:
    """Format one table cell according to its column's ``kind``."""
    if kind == "p":
        return fmt_p(value)
    if kind == "stat":
        return fmt_stat(value)
    if kind == "prop":
        return fmt_stat(value, 2)
    if kind == "percent":
        return fmt_percent(value)
    if kind == "int":
        return fmt_int(value)
    if kind == "coord":
        return fmt_coord(value)
    if kind == "num":
        return fmt_num(value)
    if kind == "ref":
        return DASH if _missing(value) or str(value) in ("0", "0.0") else fmt_value(value)
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
    "fmt_percent": fmt_percent,
    "fmt_value": fmt_value,
    "fmt_dims": fmt_dims,
    "fmt_detail": fmt_detail,
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


@cache
def _labels() -> dict[str, Any]:
    """Names and formats of correction short names, columns and details (labels.yaml)."""
    import yaml

    path = templates_dir() / "labels.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _short_name(method: str, route: str) -> str:
    """Short name of a result by its route (``permMaxT``, ``fdr`` ...), else its method."""
    names = _labels()["short_names"]
    return names["by_desc"].get(route) or names["by_method"].get(method) or route or method


def _route(entry: Mapping[str, Any]) -> str:
    """What kind of result a summary entry is (its default desc; older summaries: the desc)."""
    return str(entry.get("route") or entry.get("desc") or entry.get("method") or "")


# --------------------------------------------------------------------------------------------
# Reading the results folder
# --------------------------------------------------------------------------------------------


def _read_summary(results_dir: Path) -> dict[str, Any]:
    """``summary.json``, its structure checked and every path in it inside the folder."""
    return read_summary(results_dir)


def _resolve(results_dir: Path, rel: Any, what: str) -> Path | None:
    """The file a summary key names inside the results folder (None when not given)."""
    if rel is None or rel == "":
        return None
    return resolve_inside(results_dir, rel, what=what)


def _load_volume(path: Path | None) -> tuple[np.ndarray, np.ndarray] | None:
    if path is None or not path.is_file():
        return None
    try:
        img = nib.load(path)
        data = np.asarray(img.dataobj, dtype=np.float32)
    except Exception as exc:  # nibabel raises many types for damaged files
        raise InputError(
            f"{path} is not a readable NIfTI image ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
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
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not a readable TSV table: {str(exc)[:200]}") from None


def _column_kind(name: str, series: pd.Series) -> str:
    lower = name.lower()
    if pd.api.types.is_numeric_dtype(series):
        if lower in ("p", "q") or lower.startswith(("p_", "q_")) or lower.endswith("_p"):
            return "p"
        if pd.api.types.is_integer_dtype(series):
            return "int"
        return "num"
    return "text"


def _column(name: str, series: pd.Series | None, *, stat_type: str, group: str = "") -> Column:
    known = _labels()["columns"].get(name) or {}
    header = str(known.get("header") or str(name).replace("_", " ")).format(stat=stat_type)
    if not known and str(name).startswith("ari_tdp_"):
        # one bound per ARI entry when several apply: ari_tdp_<desc>
        known = _labels()["columns"]["ari_tdp"]
        header = f"{known['header']} ({str(name)[len('ari_tdp_') :]})"
    kind = known.get("kind") or (_column_kind(name, series) if series is not None else "text")
    return Column(key=str(name), header=header, kind=kind, group=group)


def _rft_columns(frame: pd.DataFrame, part: str, *, stat_type: str, field: str) -> list[Column]:
    """SPM's column order and groups for a random field theory table."""
    spec = _labels()["rft_table"]
    headers = spec["headers"]
    synthetic = ("set_p", "set_c") if part == "clusters" else ()
    columns: list[Column] = []
    used: set[str] = set()
    for group in spec[part]:
        for key in group["columns"]:
            if key not in frame.columns and key not in synthetic:
                continue
            info = headers.get(key) or {}
            base = _column(key, frame.get(key), stat_type=stat_type, group=group["group"])
            header = str(info.get("header") or base.header).format(field=field, stat=stat_type)
            columns.append(
                Column(key=key, header=header, kind=info.get("kind") or base.kind, group=base.group)
            )
            used.add(key)
    for name in frame.columns:
        if name not in used and name not in spec["drop"] and not _hidden_column(name):
            columns.append(_column(name, frame[name], stat_type=stat_type))
    return columns


def _hidden_column(name: str) -> bool:
    return bool((_labels()["columns"].get(name) or {}).get("hide"))


def _badges(value: Any, badges: Mapping[str, Badge]) -> tuple[Badge, ...]:
    """A ``survives`` cell (comma-separated descs, ``-`` for none) as badges."""
    if _missing(value) or not isinstance(value, str):
        return ()
    out = []
    for desc in (d.strip() for d in value.split(",")):
        if desc and desc != "-":
            out.append(badges.get(desc) or Badge(short=desc, title=desc, desc=desc))
    return tuple(out)


def _table(
    frame: pd.DataFrame | None,
    source: str,
    *,
    stat_type: str,
    max_rows: int,
    method: str = "",
    part: str = "clusters",
    extras: Mapping[str, Any] | None = None,
    badges: Mapping[str, Badge] | None = None,
    two_sided: bool = False,
    stat_label: str = "",
    notes: Sequence[str] = (),
) -> Table | None:
    """A clusters or peaks table: labelled columns, capped rows, blocks, badges.

    Random field theory tables take SPM's column layout (set, cluster and peak level);
    ARI tables, which hold one block of clusters per threshold, are split at ``threshold_z``.
    """
    if frame is None:
        return None
    extras = extras or {}
    badges = badges or {}
    if method == "rft" and len(frame.columns):
        field = str(extras.get("field") or stat_type.upper())
        columns = _rft_columns(frame, part, stat_type=stat_type, field=field)
    else:
        columns = [
            _column(name, frame[name], stat_type=stat_type)
            for name in frame.columns
            if not _hidden_column(name)
        ]
    block_key = "threshold_z" if method == "ari" and "threshold_z" in frame.columns else None
    if block_key:
        columns = [c for c in columns if c.key != block_key]
    shown = frame.head(max_rows)
    set_level = {"set_p": extras.get("set_level_p"), "set_c": extras.get("set_level_c")}
    rows = []
    for i, (_, record) in enumerate(shown.iterrows()):
        row = []
        for col in columns:
            if col.key in set_level and col.key not in frame.columns:
                row.append(_plain(set_level[col.key]) if i == 0 else None)
            elif col.kind == "badges":
                row.append(_badges(record[col.key], badges))
            else:
                row.append(_plain(record[col.key]))
        rows.append(tuple(row))
    blocks: list[RowBlock] = []
    if block_key and len(shown):
        levels = _ari_stat_levels(extras)
        keys = [_num(v) for v in shown[block_key]]
        start = 0
        for i in range(1, len(keys) + 1):
            if i == len(keys) or keys[i] != keys[start]:
                title = _level_title(keys[start], two_sided, stat_label or stat_type, levels, part)
                blocks.append(RowBlock(title=title, rows=tuple(rows[start:i])))
                start = i
    return Table(
        columns=tuple(columns),
        rows=tuple(rows),
        source=source,
        n_total=len(frame),
        blocks=tuple(blocks),
        notes=tuple(notes),
    )


def _ari_stat_levels(extras: Mapping[str, Any]) -> list[tuple[float, float | None]]:
    zs = extras.get("thresholds") or []
    stats = extras.get("thresholds_stat") or []
    out = []
    for i, z in enumerate(zs if isinstance(zs, list) else []):
        stat = stats[i] if isinstance(stats, list) and i < len(stats) else None
        if _num(z) is not None:
            out.append((float(z), _num(stat)))
    return out


def _level_title(
    z: float | None,
    two_sided: bool,
    stat_label: str,
    levels: Sequence[tuple[float, float | None]],
    part: str,
) -> str:
    what = "Clusters" if part == "clusters" else "Peaks of the clusters"
    if z is None:
        return f"{what} (threshold not recorded)"
    side = "|z|" if two_sided else "z"
    title = f"{what} at {side} > {fmt_num(round(z, 4))}"
    stat = next((s for lz, s in levels if abs(lz - z) < 1e-6), None)
    if stat is not None:
        s_side = f"|{stat_label}|" if two_sided else stat_label
        title += f" ({s_side} > {fmt_stat(stat)})"
    return title


def _plain(value: Any) -> Cell:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
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
    if isinstance(value, bool):
        return None
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


def _value_kind(value: Any) -> str:
    """Format of a detail that ``templates/labels.yaml`` does not name."""
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "yesno"
    return "num"


def _details(
    entry: Mapping[str, Any], *, method: str, route: str, stat_type: str
) -> tuple[Detail, ...]:
    """Parameters, then extras, labelled and formatted (``templates/labels.yaml``).

    Hidden keys, keys shown by the method's own block, keys for other routes of the method
    and missing values are left out; an extra repeats a parameter of the same key in place.
    """
    spec = _labels()["details"]
    consumed = _labels()["partial_keys"].get(method) or []
    out: dict[str, Detail] = {}
    for source in ("params", "extras"):
        values = entry.get(source) or {}
        if not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            key = str(key)
            if source == "extras" and (consumed == "*" or key in consumed):
                continue
            info = spec.get(key) or {}
            if info.get("hide") or (info.get("only") and route not in info["only"]):
                continue
            if value is None or (isinstance(value, str | list | tuple | dict) and not value):
                continue
            if isinstance(value, str) and not value.strip():
                continue
            kind = info.get("kind") or _value_kind(value)
            label = str(info.get("label") or key.replace("_", " ").capitalize())
            out[key] = Detail(
                key=key,
                label=label.format(stat=stat_type),
                value=fmt_detail(value, kind),
                unit=str(info.get("unit") or ""),
            )
    return tuple(out.values())


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
    atlases: tuple[Atlas, ...] = ()


def _background(results_dir: Path, summary: Mapping[str, Any]) -> figures.Background:
    custom = _resolve(results_dir, summary.get("background"), "background")
    if custom is not None and custom.is_file():
        return figures.load_background(str(custom))
    return figures.load_background()


def _no_scheme(text: Any) -> str:
    """Text with web addresses written without their scheme: the report links to nothing."""
    return re.sub(r"\bhttps?://", "", str(text or ""))


def _atlases(summary: Mapping[str, Any]) -> tuple[Atlas, ...]:
    return tuple(
        Atlas(
            name=str(a.get("name", "")),
            status=str(a.get("status", "")),
            message=_no_scheme(a.get("message")),
            citation=_no_scheme(a.get("citation")),
            space=str(a.get("space") or ""),
            space_note=_no_scheme(a.get("space_note")),
            title=_no_scheme(a.get("title")),
            doi=str(a.get("doi") or ""),
            licence=_no_scheme(a.get("licence")),
        )
        for a in summary.get("atlases") or []
        if isinstance(a, Mapping)
    )


def _design_figures(
    summary: Mapping[str, Any], model_info: Mapping[str, Any], ctx: _Context
) -> tuple[FigureItem | None, tuple[FigureItem, ...], tuple[str, ...]]:
    """The model's design matrix and the per-run ones; sets the shared column layout."""
    level = str(model_info.get("level") or "")
    row_label = "scan" if level == "first" else "image" if level == "second" else "row"
    runs = [
        (str(run.get("name") or f"run {i + 1}"), run.get("design_matrix"))
        for i, run in enumerate(model_info.get("runs") or [])
        if isinstance(run, Mapping)
    ]
    design_fig = None
    run_figs: list[FigureItem] = []
    columns: tuple[str, ...] = tuple(str(c) for c in model_info.get("columns") or ())
    # Several runs are shown side by side: narrower figures keep their labels legible.
    width_in = 4.8 if len(runs) > 1 and not summary.get("design_matrix") else 7.0
    for name, rel in [("", summary.get("design_matrix"))] + runs:
        if not rel:
            continue
        frame = _read_tsv(_resolve(ctx.results_dir, rel, "design_matrix"))
        if frame is None or not len(frame.columns):
            continue
        names = tuple(str(c) for c in frame.columns)
        layout = figures.matrix_layout(names, max_width_in=width_in)
        numeric = frame.apply(pd.to_numeric, errors="coerce").to_numpy(float)
        what = f"{len(numeric)} {row_label}s"
        item = _figure(
            figures.plot_design_matrix(
                numeric, names, layout=layout, row_label=row_label, dpi=ctx.dpi
            ),
            alt=f"Design matrix{' of ' + name if name else ''}: {what}, columns {', '.join(names)}",
            caption=f"{name} ({what})" if name else "",
        )
        if ctx.layout is None:
            ctx.layout, columns = layout, names
        if name:
            run_figs.append(item)
        else:
            design_fig = item
    return design_fig, tuple(run_figs), columns


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

    mask_volume = _load_volume(_resolve(results_dir, summary.get("mask"), "mask"))
    if mask_volume is None:
        warnings.append("Analysis mask not found; histograms use all non-zero voxels.")
    atlases = _atlases(summary)
    ctx = _Context(
        results_dir=results_dir,
        dpi=dpi,
        background=_background(results_dir, summary),
        mask=None if mask_volume is None else mask_volume[0] > 0,
        mask_affine=None if mask_volume is None else mask_volume[1],
        layout=None,
        atlases=atlases,
    )

    design_fig, run_designs, design_columns = _design_figures(summary, model_info, ctx)
    if design_fig is None and not run_designs:
        warnings.append("Design matrix file not found.")

    contrasts = tuple(
        _contrast_section(c, i, ctx, design_columns)
        for i, c in enumerate(summary.get("contrasts") or [])
    )

    for atlas in atlases:
        if atlas.status != "ok":
            warnings.append(f"Atlas '{atlas.name}' not used: {atlas.message or atlas.status}.")
        elif atlas.space_note:
            named = atlas.name in atlas.space_note
            warnings.append(
                atlas.space_note if named else f"Atlas '{atlas.name}': {atlas.space_note}"
            )
    space = model_info.get("space")
    custom_background = bool(summary.get("background"))
    coord_space = "MNI" if str(space or "").upper().startswith("MNI") else "world"
    if not custom_background and coord_space != "MNI":
        warnings.append(
            "The data's template space is not recorded"
            + (f" ('{space}')" if space else "")
            + ": brain figures show the maps at their world coordinates over the "
            "MNI152NLin2009cAsym template, which is only meaningful if the data are aligned "
            "to it; coordinates are the data's world coordinates (mm)."
        )
    notes = model_info.get("design_notes") or {}
    if isinstance(notes, Mapping):
        for run, items in notes.items():
            for note in [items] if isinstance(items, str) else items or []:
                warnings.append(f"Design of {run}: {note}")
    elif isinstance(notes, list | tuple):
        warnings.extend(f"Design: {note}" for note in notes)

    summary_rows = []
    for c in contrasts:
        for j, k in enumerate(c.corrections):
            summary_rows.append(
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
                    short=k.short,
                    contrast_span=len(c.corrections) if j == 0 else 0,
                )
            )
    legend: dict[str, str] = {}
    for c in contrasts:
        for k in c.corrections:
            legend.setdefault(k.short, k.title)
    for c in contrasts:
        warnings.extend(f"{c.name}: {note}" for note in c.notes)
        for k in c.corrections:
            warnings.extend(f"{c.name}, {k.title}: {note}" for note in k.notes)

    provenance = _provenance(summary, results_dir)
    methods, cited = _methods(summary, contrasts, atlases)
    references, bibtex = _bibliography(cited, atlases)
    finished = provenance.finished or provenance.started
    now = _dt.datetime.now().astimezone()
    return ReportModel(
        title=cap_title(str(summary.get("title") or "glmreport")),
        date=_date(finished) or now.strftime("%d %B %Y").lstrip("0"),
        generated=now.strftime("%Y-%m-%d %H:%M %Z").strip(),
        version=str(summary.get("glmreport_version") or ""),
        level=str(model_info.get("level") or ""),
        facts=_facts(model_info, summary),
        n_inputs=_int(model_info.get("n_inputs")),
        dof=_num(model_info.get("dof")),
        summary_rows=tuple(summary_rows),
        legend=tuple(legend.items()),
        warnings=tuple(warnings),
        methods=methods,
        references=references,
        bibtex=bibtex,
        design=design_fig,
        run_designs=run_designs,
        design_columns=design_columns,
        nuisance_columns=tuple(str(c) for c in model_info.get("nuisance_columns") or ()),
        contrasts=contrasts,
        atlases=atlases,
        provenance=provenance,
        toc=_toc(contrasts),
        peak_min_distance_mm=_num(_clustering(summary).get("peak_min_distance_mm")),
        dpi=float(dpi),
        coord_space=coord_space,
        background_name="background image of the run"
        if custom_background
        else "MNI152NLin2009cAsym template",
        colors={"positive": figures.POSITIVE_COLORS[1], "negative": figures.NEGATIVE_COLORS[1]},
    )


def _date(iso: str) -> str:
    if not iso:
        return ""
    try:
        return _dt.datetime.fromisoformat(iso).strftime("%d %B %Y").lstrip("0")
    except ValueError:
        return iso


def _columns_text(columns: Sequence[str], nuisance: Sequence[str]) -> str:
    """Design columns in words; long lists are summarised by what is of interest."""
    columns = [str(c) for c in columns]
    if len(columns) <= MAX_NAMED_COLUMNS:
        return ", ".join(columns)
    nuisance_set = {str(c) for c in nuisance}
    interest = [c for c in columns if c not in nuisance_set]
    other = [c for c in columns if c in nuisance_set]
    text = f"{len(columns)} columns"
    if interest and len(interest) <= MAX_NAMED_COLUMNS:
        text += f": {', '.join(interest)}"
    elif interest:
        text += f": {', '.join(interest[:3])}, \u2026, {interest[-1]} ({len(interest)})"
    if other:
        text += f"; {len(other)} of no interest ({other[0]} \u2026 {other[-1]})"
    return text


def _drift_text(drift: Any) -> str:
    if isinstance(drift, Mapping):
        model = str(drift.get("model") or "")
        if not model or model == "none":
            return "none"
        text = model
        if drift.get("high_pass") is not None and model == "cosine":
            text += f", high-pass {fmt_num(_num(drift['high_pass']))} Hz"
        if drift.get("order") is not None and model == "polynomial":
            text += f", order {fmt_int(drift['order'])}"
        return text
    return str(drift) if drift else ""


def _noise_text(noise: Any) -> str:
    noise = str(noise or "")
    return {"ar1": "AR(1)", "ols": "OLS"}.get(noise.lower(), noise.upper())


def _facts(model: Mapping[str, Any], summary: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    facts: list[tuple[str, str]] = []
    level = str(model.get("level") or "")
    design = model.get("design")
    if design or level:
        text = str(design or "")
        if level and level not in text:
            text = f"{text} ({level} level)" if text else f"{level} level"
        facts.append(("Model", text))
    if level == "first":
        runs = model.get("runs") or []
        n_runs = len(runs) or _int(model.get("n_inputs"))
        scans = model.get("n_scans") or []
        text = fmt_int(n_runs) if n_runs is not None else ""
        if isinstance(scans, list) and scans:
            text += f" ({' + '.join(fmt_int(s) for s in scans)} scans)"
        if text:
            facts.append(("Runs", text))
        if _num(model.get("t_r")) is not None:
            facts.append(("Repetition time", f"{fmt_num(_num(model['t_r']))} s"))
        if model.get("hrf"):
            facts.append(("HRF", str(model["hrf"])))
        if model.get("drift"):
            facts.append(("Drift model", _drift_text(model["drift"])))
    elif model.get("n_inputs") is not None:
        facts.append(("Inputs (N)", fmt_int(model["n_inputs"])))
    if model.get("dof") is not None:
        facts.append(("Residual dof", fmt_num(_num(model["dof"]))))
    if model.get("noise_model"):
        facts.append(("Noise model", _noise_text(model["noise_model"])))
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
    size = model.get("voxel_size")
    voxels = f"{_TIMES.join(fmt_num(v) for v in size)} mm voxels" if size else ""
    if space or voxels:
        facts.append(("Space", ", ".join(t for t in (str(space or "not recorded"), voxels) if t)))
    columns = model.get("columns")
    if columns:
        facts.append(
            ("Design columns", _columns_text(columns, model.get("nuisance_columns") or []))
        )
    names = [str(c.get("name", "")) for c in summary.get("contrasts") or []]
    if names:
        facts.append((f"Contrasts ({len(names)})", "; ".join(names)))
    if level == "first" and model.get("fixed_effects"):
        facts.append(("Runs combined by", f"fixed effects, {model['fixed_effects']}"))
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

    matrix = matrix_plain = None
    if weights.size and weights.shape[1] == len(columns):
        layout = ctx.layout if ctx.layout and ctx.layout.n_columns == len(columns) else None
        matrix = _figure(
            figures.plot_contrast_matrix(weights, columns, layout=layout, dpi=ctx.dpi),
            alt=f"Weights of contrast {name} over the design columns",
        )
        if layout is not None:
            matrix_plain = _figure(
                figures.plot_contrast_matrix(
                    weights, columns, layout=layout, dpi=ctx.dpi, column_labels=False
                ),
                alt=f"Weights of contrast {name}, aligned with the design matrix above",
            )

    maps = entry.get("maps") or {}
    z_volume = _load_volume(_resolve(ctx.results_dir, maps.get("z"), "maps.z"))
    z_values = None
    if z_volume is not None:
        z_values = _in_mask(z_volume[0], z_volume[1], ctx)
    else:
        notes.append("z map not found; no histogram.")

    corrections_raw = [k for k in entry.get("corrections") or [] if isinstance(k, Mapping)]
    thresholded = [
        _load_volume(_resolve(ctx.results_dir, k.get("map"), "corrections.map"))
        for k in corrections_raw
    ]
    # One colour scale per contrast so its corrections compare at a glance.
    tops = [float(np.nanmax(np.abs(v[0]))) for v in thresholded if v is not None and v[0].size]
    vmax = max(tops, default=0.0)
    if z_values is not None and z_values.size:
        vmax = max(vmax, float(np.nanmax(np.abs(z_values))))
    vmax = math.ceil(vmax * 10) / 10 if vmax > 0 else 1.0

    shorts = [_short_name(str(k.get("method") or ""), _route(k)) for k in corrections_raw]
    repeated = {s for s in shorts if shorts.count(s) > 1}
    shorts = [
        str(k.get("desc") or s) if s in repeated else s
        for k, s in zip(corrections_raw, shorts, strict=True)
    ]
    badges = {
        str(k.get("desc") or ""): Badge(
            short=s, title=str(k.get("title") or s), desc=str(k.get("desc") or "")
        )
        for k, s in zip(corrections_raw, shorts, strict=True)
    }
    corrections = []
    for j, (k, vol) in enumerate(zip(corrections_raw, thresholded, strict=True)):
        corrections.append(
            _correction_section(
                k,
                vol,
                anchor=f"{anchor}-{_slug(k.get('desc') or j + 1)}",
                contrast_name=name,
                stat_type=stat_type,
                stat_label=stat_label,
                short=shorts[j],
                badges=badges,
                vmax=vmax,
                ctx=ctx,
            )
        )

    histogram = None
    if z_values is not None:
        histogram = _figure(
            figures.plot_histogram(
                z_values,
                thresholds=_threshold_lines(corrections),
                xlabel="z (in-mask voxels)",
                dpi=ctx.dpi,
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
        matrix_plain=matrix_plain,
        histogram=histogram,
        corrections=tuple(corrections),
        crosstab=_crosstab(corrections, ctx.atlases),
        notes=tuple(notes),
    )


def _threshold_lines(corrections: Sequence[CorrectionSection]) -> list[figures.ThresholdLine]:
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


def _crosstab(
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
    atlas = next(
        (a.name for a in atlases if a.status == "ok" and a.name in index),
        "",
    )

    def cell(row: tuple[Cell, ...], key: str) -> Cell:
        return row[index[key]] if key in index else None

    rows = []
    for row in table.rows[:MAX_CROSS_ROWS]:
        survived = {b.desc for b in cell(row, "survives") or ()}
        label = cell(row, atlas) if atlas else None
        label = str(label).split(";")[0].strip() if not _missing(label) else ""
        rows.append(
            CrossRow(
                cluster_id=str(cell(row, "cluster_id") or ""),
                sign=str(cell(row, "sign") or ""),
                xyz=(
                    _num(cell(row, "peak_x")),
                    _num(cell(row, "peak_y")),
                    _num(cell(row, "peak_z")),
                ),
                peak_z=_num(cell(row, "peak_value")),
                size=_int(cell(row, "size_voxels")),
                label=label,
                marks=tuple(k.desc in survived for k in corrections),
                tdp=_num(cell(row, "ari_tdp")),
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
        has_tdp="ari_tdp" in index,
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
    stat_label: str,
    short: str,
    badges: Mapping[str, Badge],
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
    extras = dict(entry.get("extras") or {}) if isinstance(entry.get("extras"), Mapping) else {}
    rd = ctx.results_dir

    # Atlas notes: a note that repeats an atlas's space note (shown once in the summary)
    # becomes a short pointer; other notes are printed under the tables.
    space_notes = {a.space_note: a.name for a in ctx.atlases if a.space_note}
    table_notes: list[str] = []
    caveats: list[str] = []
    raw_notes = extras.get("atlas_notes") or []
    for note in [raw_notes] if isinstance(raw_notes, str) else raw_notes:
        note = _no_scheme(note)
        if note in space_notes:
            caveats.append(space_notes[note])
        elif note and note not in table_notes:
            table_notes.append(note)

    clusters_rel = entry.get("clusters_table")
    peaks_rel = entry.get("peaks_table")
    clusters_frame = _read_tsv(_resolve(rd, clusters_rel, "clusters_table"))
    peaks_frame = _read_tsv(_resolve(rd, peaks_rel, "peaks_table"))
    if clusters_rel and clusters_frame is None:
        notes.append(f"clusters table {clusters_rel} not found.")
    common = {
        "stat_type": stat_type,
        "method": method,
        "extras": extras,
        "badges": badges,
        "two_sided": two_sided,
        "stat_label": stat_label,
    }
    clusters = _table(
        clusters_frame,
        str(clusters_rel or ""),
        max_rows=MAX_CLUSTER_ROWS,
        part="clusters",
        notes=table_notes,
        **common,
    )
    peaks = _table(
        peaks_frame, str(peaks_rel or ""), max_rows=MAX_PEAK_ROWS, part="peaks", **common
    )
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
        low = threshold_z
        if low is None:
            # No voxel-height threshold (TFCE): the colour ramp starts at the weakest voxel shown.
            nonzero = np.abs(shown[shown != 0])
            low = float(np.floor(nonzero.min() * 100) / 100) if nonzero.size else None
        scale = figures.ColorScale(
            threshold=low, vmax=vmax, two_sided=two_sided or bool((shown < 0).any())
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
    arrays_rel = entry.get("arrays")
    arrays_path = _resolve(rd, arrays_rel, "arrays")
    if arrays_path is not None:
        if arrays_path.is_file():
            null = _read_null(arrays_path)
            if null is not None:
                extra_figures["null"] = _figure(
                    figures.plot_null_distribution(
                        null,
                        observed=_num(extras.get("observed_max")),
                        critical=_num(extras.get("critical_value")),
                        xlabel=str(extras.get("null_label") or "maximum statistic"),
                        dpi=ctx.dpi,
                    ),
                    alt=f"Permutation null distribution of {what}",
                )
        else:
            notes.append(f"arrays file {arrays_rel} not found.")
    extra_maps = entry.get("maps") or {}
    tfce = (
        _load_volume(_resolve(rd, extra_maps.get("tfce"), "maps.tfce"))
        if method == "permutation"
        else None
    )
    if tfce is not None and np.any(tfce[0]):
        shown = figures.to_display(np.nan_to_num(tfce[0]), tfce[1], ctx.background)
        top = float(np.abs(shown).max())
        critical = _num(extras.get("critical_value"))
        # Display floor: half the critical value (a quarter of the maximum without one), so
        # the projection shows where the scores are high rather than the whole brain.
        floor = 0.5 * critical if critical is not None else 0.25 * top
        shown = np.where(np.abs(shown) >= floor, shown, 0.0)
        extra_figures["tfce"] = _figure(
            figures.plot_glass_brain(
                shown,
                ctx.background,
                scale=figures.ColorScale(
                    threshold=floor,
                    vmax=top,
                    two_sided=bool((shown < 0).any()),
                    label="TFCE",
                    marks=(critical,) if critical is not None else (),
                    mark_threshold=False,
                ),
                dpi=ctx.dpi,
            ),
            alt=f"Glass brain of the TFCE scores of {contrast_name}",
            caption=fmt_num(floor),
        )

    ari_levels = ()
    if method == "ari":
        formed = extras.get("n_clusters_formed") or []
        positive = extras.get("n_clusters_tdp_positive") or []
        ari_levels = tuple(
            AriLevel(
                threshold_z=z,
                threshold_stat=stat,
                n_clusters_formed=_int(formed[i]) if i < len(formed) else None,
                n_clusters_tdp_positive=_int(positive[i]) if i < len(positive) else None,
            )
            for i, (z, stat) in enumerate(_ari_stat_levels(extras))
        )

    files = [
        ("thresholded z map", entry.get("map")),
        ("clusters", clusters_rel),
        ("peaks", peaks_rel),
    ]
    files += [(f"map {key}", rel) for key, rel in extra_maps.items()]
    files.append(("arrays", arrays_rel))
    return CorrectionSection(
        anchor=anchor,
        method=method,
        desc=desc,
        title=title,
        short=short,
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
        details=_details(entry, method=method, route=_route(entry), stat_type=stat_type),
        glass_brain=glass,
        slices=slices,
        thumbnails=thumbs,
        extra_figures=extra_figures,
        clusters=clusters,
        peaks=peaks,
        partial=_partial(method),
        notes=tuple(notes),
        atlas_caveats=tuple(dict.fromkeys(caveats)),
        ari_levels=ari_levels,
        files=tuple((w, str(r)) for w, r in files if r),
    )


def _read_null(path: Path) -> np.ndarray | None:
    """The ``null`` array of a permutation's ``.npz`` file (None when it has none)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return np.asarray(arrays["null"]) if "null" in arrays.files else None
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path} is not a readable .npz file: {str(exc)[:200]}") from None


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
        frame = pd.DataFrame([r for r in inputs if isinstance(r, Mapping)])
        if "path" in frame.columns and "outside_config_folder" in frame.columns:
            outside = frame.pop("outside_config_folder").fillna(False).astype(bool)
            frame["path"] = [
                f"{p} (outside the config's folder)" if o else p
                for p, o in zip(frame["path"], outside, strict=True)
            ]
        first = [c for c in ("path", "sha256") if c in frame.columns]
        frame = frame[first + [c for c in frame.columns if c not in first]]
        kinds = {"path": "path", "sha256": "hash"}
        columns = tuple(
            Column(key=str(c), header=str(c), kind=kinds.get(c) or _column_kind(c, frame[c]))
            for c in frame.columns
        )
        rows = tuple(
            tuple(_plain(v) for v in record) for record in frame.itertuples(index=False, name=None)
        )
        table = Table(columns=columns, rows=rows, source="summary.json", n_total=len(frame))
    return Provenance(
        config_file=str(summary.get("config_file") or ""),
        config_text=cap_text(str(summary.get("config_text") or "")),
        command=cap_text(str(prov.get("command") or ""), 4096),
        inputs=table,
        versions=tuple((str(k), str(v)) for k, v in (prov.get("versions") or {}).items()),
        python=str(prov.get("python") or ""),
        platform=str(prov.get("platform") or ""),
        started=str(prov.get("started") or ""),
        finished=str(prov.get("finished") or ""),
        run_time_s=_num(prov.get("run_time_s")),
        seeds=tuple((str(k), v) for k, v in (prov.get("seeds") or {}).items()),
        # the folder as the run named it (relative to the config's folder), else its name:
        # never an absolute local path
        results_dir=str(prov.get("results_folder") or results_dir.name),
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
    route = _route(entry).lower()
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
        if "tfce" in route:
            what = "the maximum threshold-free cluster enhancement (TFCE) score"
            keys.append("smith2009")
        elif "mass" in route:
            what = "the maximum cluster mass"
        elif "cluster" in route:
            what = "the maximum cluster size"
        cdt = params.get("cluster_forming_p") if what.startswith("the maximum cluster") else None
        cdt_text = f" with a cluster-forming threshold of p < {fmt_num(cdt)}" if cdt else ""
        n_text = f"{fmt_int(n_perm)} " if n_perm else ""
        return (
            f"non-parametric permutation inference ({n_text}permutations; FWE p < {a} "
            f"from the distribution of {what}{cdt_text}; {_cite(cited, *keys)})"
        )
    if method == "rft":
        extras = entry.get("extras") or {}
        cdt = extras.get("cluster_forming_p") or (
            params.get("cluster_forming_p") if "cluster" in route else None
        )
        level = "cluster-level" if cdt else "voxel-level"
        text = f"{level} random field theory FWE control at p < {a}"
        if cdt:
            text += f" with a cluster-forming threshold of p < {fmt_num(cdt)} (uncorrected)"
        fwhm = extras.get("fwhm_mm")
        if isinstance(fwhm, list) and fwhm:
            source = extras.get("smoothness_source")
            text += f"; estimated smoothness {fmt_dims(fwhm)} mm FWHM" + (
                " (from the residuals)" if source == "residuals" else ""
            )
        resels = extras.get("resels")
        if isinstance(resels, list) and resels:
            text += f", {fmt_num(_num(resels[-1]))} resels"
        return f"{text} ({_cite(cited, 'worsley1996')})"
    if method == "ari":
        return (
            "all-resolution inference, giving simultaneous lower confidence bounds "
            f"(1 \u2212 \u03b1 = {fmt_num(1 - alpha) if alpha is not None else '?'}) on the "
            f"true discovery proportion of each cluster "
            f"({_cite(cited, 'rosenblatt2018', 'goeman2011')})"
        )
    return str(entry.get("title") or method)


def _weights_text(weights: Sequence[float], columns: Sequence[str]) -> str:
    """``a + b − c`` or ``0.5×a − 0.5×b``: the non-zero weights of a one-row contrast."""
    terms = []
    for w, col in zip(weights, columns, strict=False):
        if w == 0:
            continue
        size = abs(w)
        term = str(col) if size == 1 else f"{size:.3g}\u00d7{col}"
        if not terms:
            terms.append(term if w > 0 else f"{MINUS}{term}")
        else:
            terms.append(f"{'+' if w > 0 else MINUS} {term}")
    return " ".join(terms)


def _model_sentence(model: Mapping[str, Any]) -> str:
    level = str(model.get("level") or "")
    design = str(model.get("design") or "general linear model")
    n = model.get("n_inputs")
    noise = str(model.get("noise_model") or "ols").lower()
    if noise == "ols":
        fit = "ordinary least squares"
    elif noise.startswith("ar"):
        fit = "generalised least squares with a first-order autoregressive (AR(1)) noise model"
        if model.get("ar1"):
            fit += f" ({model['ar1']})"
    else:
        fit = noise
    columns = [str(c) for c in model.get("columns") or []]
    nuisance = [str(c) for c in model.get("nuisance_columns") or []]
    dof = _num(model.get("dof"))
    if level == "first":
        scans = model.get("n_scans") or []
        runs = model.get("runs") or []
        n_runs = len(runs) or _int(n) or 0
        text = (
            f"A first-level general linear model was fitted to each of the {fmt_int(n_runs)} runs"
            if n_runs > 1
            else "A first-level general linear model was fitted"
        )
        details = []
        if isinstance(scans, list) and scans:
            details.append(f"{' and '.join(fmt_int(s) for s in scans)} scans")
        if _num(model.get("t_r")) is not None:
            details.append(f"repetition time {fmt_num(_num(model['t_r']))} s")
        if details:
            text += f" ({', '.join(details)})"
        text += f" by {fit}."
        parts = [text]
        regressors = []
        if model.get("hrf"):
            regressors.append(
                f"event regressors were convolved with the {model['hrf']} haemodynamic "
                "response function"
            )
        drift = model.get("drift") or {}
        kind = str(drift.get("model") or "") if isinstance(drift, Mapping) else str(drift)
        if kind and kind != "none":
            text = f"low-frequency drifts were modelled with a {kind} basis"
            if isinstance(drift, Mapping) and kind == "cosine" and drift.get("high_pass"):
                text += f" (high-pass cut-off {fmt_num(_num(drift['high_pass']))} Hz)"
            elif isinstance(drift, Mapping) and drift.get("order") is not None:
                text += f" of order {fmt_int(drift['order'])}"
            regressors.append(text)
        if regressors:
            sentence = "; ".join(regressors)
            parts.append(sentence[0].upper() + sentence[1:] + ".")
        if columns:
            text = f"The design had the columns {_columns_text(columns, nuisance)}"
            if nuisance and len(columns) <= MAX_NAMED_COLUMNS:
                text += f" (of no interest: {', '.join(nuisance)})"
            parts.append(text + ".")
        if model.get("fixed_effects") and n_runs > 1:
            text = f"Runs were combined by fixed effects ({model['fixed_effects']})"
            if dof is not None:
                text += f", leaving {fmt_num(dof)} residual degrees of freedom"
            parts.append(text + ".")
        elif dof is not None:
            parts.append(f"The model left {fmt_num(dof)} residual degrees of freedom.")
        return " ".join(parts)
    level_text = {"second": "second-level (group) "}.get(level, "")
    if level and level in design:
        level_text = ""
    sentence = f"A {level_text}{design} was fitted by {fit}"
    if n is not None:
        sentence += f" to {fmt_int(n)} images"
    if columns:
        sentence += f" (design columns: {_columns_text(columns, nuisance)}"
        if nuisance and len(columns) <= MAX_NAMED_COLUMNS:
            sentence += f"; of no interest: {', '.join(nuisance)}"
        sentence += ")"
    if dof is not None:
        sentence += f", leaving {fmt_num(dof)} residual degrees of freedom"
    return sentence + "."


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
    parts = [first, _model_sentence(model)]

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
                text = _weights_text(c.weights[0], c.columns)
                weights = f": {text}" if text else ""
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
        entries = [k for k in (raw.get(c.name) or {}).get("corrections") or []]
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
            text = f"the {a.title or a.name + ' atlas'}"
            if a.citation:
                text += f" ({_short_citation(a.citation)})"
            labels.append(text)
        text = "Clusters and peaks were labelled with " + "; and ".join(labels)
        mismatched = [a for a in ok if a.space_note]
        if mismatched:
            text += (
                "; atlas labels were looked up at the same world coordinates without a "
                "transform between template spaces"
            )
        tail.append(text + ".")
    if not summary.get("background"):
        if str(model.get("space") or "").upper().startswith("MNI"):
            tail.append(
                "Results are displayed on the MNI152NLin2009cAsym template "
                f"({_cite(cited, 'fonov2011', 'ciric2022')}); coordinates are in mm "
                "(MNI space)."
            )
        else:
            tail.append(
                "Results are displayed over the MNI152NLin2009cAsym template "
                f"({_cite(cited, 'fonov2011', 'ciric2022')}) at the data's world coordinates "
                "(mm)."
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
    if tail:
        paragraphs.append(" ".join(tail))
    return tuple(paragraphs), cited


def _short_citation(citation: str) -> str:
    """``Desikan et al., 2006`` from a full reference (first author, year), else as given."""
    match = re.match(r"\s*([A-Z][A-Za-z'\u00c0-\u017f-]+)[^()]*?\((\d{4})\)", citation)
    if not match:
        return citation
    several = "," in citation[: match.start(2)] or " et al" in citation[: match.start(2)]
    return f"{match.group(1)}{' et al.' if several else ''}, {match.group(2)}"


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
            text = f"{atlas.title or atlas.name + ' atlas'}: {atlas.citation}"
            if atlas.doi and atlas.doi not in atlas.citation:
                text += f" doi:{atlas.doi}"
            references.append(text)
            key = "atlas_" + re.sub(r"[^a-z0-9]+", "_", atlas.name.lower()).strip("_")
            title = _bibtex_escape(atlas.title or atlas.name + " atlas")
            entry = (
                f"@misc{{{key},\n  title = {{{title}}},"
                f"\n  note = {{{_bibtex_escape(atlas.citation)}}}"
            )
            if atlas.doi:
                entry += f",\n  doi = {{{_bibtex_escape(atlas.doi)}}}"
            entries.append(entry + "\n}")
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
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    except OSError as exc:
        if isinstance(exc, InputError | OutputError):
            raise
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
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
    from ..errors import suggest

    results_dir = Path(results_dir)
    allowed = FORMATS
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
