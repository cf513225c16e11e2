"""Results folder -> :class:`~glmreport.report.model.ReportModel`.

``build_report_model`` reads ``summary.json`` through the results contract
(:func:`glmreport.outputs.summary.read_summary`: every key typed and checked, every path inside
the folder) and the maps and tables it names, renders every figure once (PNG, embedded as
``data:`` URIs) and returns the frozen report model, the only object the templates see.

Nothing here computes a statistic: thresholds, counts and table values are read from the
results folder and only formatted. Corrections are rendered generically from their summary
entry; a method may add a partial ``templates/corrections/<method>.html.j2``. How keys are
named and formatted (correction short names, table headers, method details) is data:
``templates/labels.yaml``.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pandas as pd

from .. import figures
from ..outputs.shareable import cap_title
from ..outputs.summary import Summary, read_summary
from . import methods as methods_text
from . import overview
from .context import Context, figure_item, load_volume, read_tsv
from .design_checks import design_checks_view, flagged_warning, with_checks_entry
from .model import FigureItem, ReportModel, TocEntry
from .nonsphericity import nonsphericity_view
from .sections import contrast_section
from .study import study_view
from .tables import effect_unit
from .viewer_atlases import viewer_atlases
from .viewer_view import base_payload, display_mask

MNI_BACKGROUND = "MNI152NLin2009cAsym template"


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
        If the folder or its ``summary.json`` is missing, unreadable or does not fit the
        results contract.
    """
    results_dir = Path(results_dir).resolve()
    summary = read_summary(results_dir)
    ctx = _context(summary, results_dir, dpi)
    warnings: list[str] = []
    if ctx.mask is None:
        warnings.append("Analysis mask not found; histograms use all non-zero voxels.")
    ctx.display_mask = display_mask(ctx)
    ctx.viewer = base_payload(ctx, viewer_atlases(summary, results_dir, ctx), space=_space(summary))
    design_fig, run_designs, design_columns = design_figures(summary, ctx)
    if design_fig is None and not run_designs:
        warnings.append("Design matrix file not found.")
    contrasts = tuple(
        contrast_section(c, i, ctx, design_columns) for i, c in enumerate(summary.contrasts)
    )
    checks = design_checks_view(summary, dpi)
    warnings += overview.warnings(summary, contrasts, ctx.atlases)
    warnings += flagged_warning(checks)
    provenance = overview.provenance(summary, results_dir)
    paragraphs, cited = methods_text.methods(summary, contrasts, ctx.atlases)
    references, bibtex = methods_text.bibliography(cited, ctx.atlases)
    now = _dt.datetime.now().astimezone()
    model = summary.model
    study = study_view(summary, ctx)
    toc = with_checks_entry(overview.toc(contrasts), checks)
    if study is not None:  # the subjects come after the design (and its checks), before results
        at = 1 + max(i for i, e in enumerate(toc) if e.anchor in ("design", "design-checks"))
        toc = (*toc[:at], TocEntry(anchor="study", title="Subjects", level=1), *toc[at:])
    return ReportModel(
        title=cap_title(summary.title or "glmreport"),
        date=overview.date_of(provenance.finished or provenance.started)
        or now.strftime("%d %B %Y").lstrip("0"),
        generated=now.strftime("%Y-%m-%d %H:%M %Z").strip(),
        version=summary.glmreport_version,
        level=model.level,
        facts=overview.facts(summary),
        n_inputs=model.n_inputs,
        dof=model.dof,
        summary_rows=overview.summary_rows(contrasts),
        legend=overview.legend(contrasts),
        warnings=tuple(warnings),
        methods=paragraphs,
        references=references,
        bibtex=bibtex,
        design=design_fig,
        run_designs=run_designs,
        design_columns=design_columns,
        nuisance_columns=model.nuisance_columns,
        contrasts=contrasts,
        atlases=ctx.atlases,
        provenance=provenance,
        toc=toc,
        peak_min_distance_mm=summary.inference.peak_min_distance_mm,
        dpi=float(dpi),
        coord_space=_space(summary),
        background_name="background image of the run"
        if summary.background is not None
        else MNI_BACKGROUND,
        colors={"positive": figures.POSITIVE_COLORS[1], "negative": figures.NEGATIVE_COLORS[1]},
        nonsphericity=nonsphericity_view(summary),
        design_checks=checks,
        study=study,
        viewer_base=ctx.viewer,
    )


def _space(summary: Summary) -> str:
    """What the coordinates are: ``MNI`` or ``world``."""
    return "MNI" if (summary.model.space or "").upper().startswith("MNI") else "world"


def _context(summary: Summary, results_dir: Path, dpi: float) -> Context:
    ctx = Context(
        results_dir=results_dir,
        dpi=dpi,
        background=figures.load_background(),
        mask=None,
        mask_affine=None,
        layout=None,
        atlases=tuple(overview.atlas_view(a) for a in summary.atlases),
        effect_unit=effect_unit(summary),
    )
    custom = ctx.path(summary.background, "background")
    if custom is not None and custom.is_file():
        ctx.background = figures.load_background(str(custom))
    mask = load_volume(ctx.path(summary.mask, "mask"))
    if mask is not None:
        ctx.mask, ctx.mask_affine = mask[0] > 0, mask[1]
    return ctx


def design_figures(
    summary: Summary, ctx: Context
) -> tuple[FigureItem | None, tuple[FigureItem, ...], tuple[str, ...]]:
    """The model's design matrix and the per-run ones; sets the shared column layout."""
    model = summary.model
    row_label = {"first": "scan", "second": "image"}.get(model.level, "row")
    runs = [(r.name, r.design_matrix) for r in (model.first.runs if model.first else ())]
    design_fig = None
    run_figs: list[FigureItem] = []
    columns = model.columns
    # Several runs are shown side by side: narrower figures keep their labels legible.
    width_in = 4.8 if len(runs) > 1 and not summary.design_matrix else 7.0
    for name, rel in [("", summary.design_matrix), *runs]:
        frame = read_tsv(ctx.path(rel, "design_matrix")) if rel else None
        if frame is None or not len(frame.columns):
            continue
        names = tuple(str(c) for c in frame.columns)
        layout = figures.matrix_layout(names, max_width_in=width_in)
        numeric = frame.apply(pd.to_numeric, errors="coerce").to_numpy(float)
        what = f"{len(numeric)} {row_label}s"
        item = figure_item(
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
