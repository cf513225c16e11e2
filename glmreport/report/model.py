"""The report model: frozen view-model objects, the only things the templates see.

:class:`ReportModel` holds everything a report shows, already read, checked, formatted where it
needs words and drawn (figures are PNG ``data:`` URIs). Built by
:func:`glmreport.report.build.build_report_model`; rendered by :mod:`glmreport.report.render`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..figures import DEFAULT_DPI
from .crosstab_model import CrossTable

if TYPE_CHECKING:
    from .nonsphericity import NonSphericityView
    from .study_view import StudyView

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
    download : str
        The whole table as a ``data:`` URI of its TSV (the report's download link).
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    source: str
    n_total: int
    blocks: tuple[RowBlock, ...] = ()
    notes: tuple[str, ...] = ()
    download: str = ""

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
    conjunction : tuple of str
        A conjunction: the names of its t contrasts (``weights`` holds one row each).
    viewer : dict or None
        The slice viewer's layer of this contrast (``glmreport-viewer/1`` JSON).
    overview : FigureItem or None
        The unthresholded z map, faint, with each correction's survivors outlined.
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
    conjunction: tuple[str, ...] = ()
    viewer: Mapping[str, Any] | None = None
    overview: FigureItem | None = None


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
    nonsphericity : NonSphericityView or None
        The error covariance of a model fitted with non-sphericity correction.
    design_checks : DesignChecksView or None
        The "Design checks" section (None: a results folder without ``qc``); typed loosely
        because :mod:`.design_checks` builds on this module.
    study : StudyView or None
        A study's subjects (``model.level: study``).
    viewer_base : dict or None
        The slice viewers' shared base, embedded once (``BASE_ID``).
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
    dpi: float = DEFAULT_DPI
    coord_space: str = "MNI"
    background_name: str = "MNI152NLin2009cAsym template"
    colors: Mapping[str, str] = field(default_factory=dict)
    nonsphericity: NonSphericityView | None = None
    design_checks: Any = None
    study: StudyView | None = None
    viewer_base: Mapping[str, Any] | None = None
