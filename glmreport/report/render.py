"""Report model -> one standalone HTML file and a PDF, written into the results folder.

``render_html`` turns the model into one HTML document with its CSS and script inline;
``write_report`` writes ``report.html`` and, from the same document and the print rules of the
same stylesheet, ``report.pdf`` (WeasyPrint), each through the one atomic writer
(:func:`glmreport.outputs.write.atomic_write`); ``render_report`` re-renders the report of an
existing results folder and records its files in ``summary.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import figures
from ..config.vocabulary import FORMATS
from ..errors import InputError, OutputError, suggest
from ..outputs.layout import REPORT_FILES, SUMMARY
from ..outputs.summary import ReportFiles, read_summary, write_summary
from ..outputs.write import atomic_write
from .build import build_report_model
from .filters import environment
from .model import ReportModel


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
    return environment().get_template("report.html.j2").render(report=model)


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


def _write(target: Path, write: Callable[[Path], object]) -> Path:
    try:
        return atomic_write(target, write)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


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
    results_dir = Path(results_dir)
    for fmt in formats:
        if fmt not in FORMATS:
            raise InputError(
                f"unknown report format '{fmt}': expected one of {', '.join(FORMATS)}."
                + suggest(fmt, FORMATS)
            )
    model = build_report_model(results_dir, dpi=dpi)
    html = render_html(model)
    written: dict[str, Path] = {}
    if "html" in formats:
        written["html"] = _write(
            results_dir / REPORT_FILES["html"], lambda p: p.write_text(html, encoding="utf-8")
        )
    if "pdf" in formats:
        written["pdf"] = _write(results_dir / REPORT_FILES["pdf"], lambda p: render_pdf(html, p))
    return written


def render_report(
    results_dir: str | Path, *, formats: tuple[str, ...] = ("html",)
) -> dict[str, Path]:
    """Render the report of a results folder and record it in summary.json (no refitting).

    Parameters
    ----------
    results_dir : str or Path
        A folder written by :func:`glmreport.outputs.results.write_results`.
    formats : tuple of {'html', 'pdf'}

    Returns
    -------
    dict of str -> Path
        The written report files by format.
    """
    folder = Path(results_dir)
    if not (folder / SUMMARY).is_file():
        raise InputError(
            f"{folder} is not a glmreport results folder (no {SUMMARY}); run "
            "'glmreport run CONFIG' first"
        )
    written = write_report(folder, formats=tuple(formats))
    summary = read_summary(folder)
    files = ReportFiles(**{fmt: Path(p).name for fmt, p in written.items()})
    try:
        if "pdf" not in written:
            remove_stale_pdf(folder, summary.report.pdf)
        write_summary(folder, dataclasses.replace(summary, report=files))
    except OSError as exc:
        raise OutputError(f"cannot update {folder / SUMMARY}: {exc.strerror or exc}") from None
    return written


def remove_stale_pdf(folder: Path, recorded: str | None) -> bool:
    """Remove the ``report.pdf`` an earlier rendering wrote, once a new HTML replaces it.

    Only the file ``summary.json`` records as the report's PDF, under its own name, and only a
    plain file (not a link): a PDF glmreport did not write is left alone.

    Returns
    -------
    bool
        Whether a PDF was removed.
    """
    path = folder / REPORT_FILES["pdf"]
    if recorded != REPORT_FILES["pdf"] or path.is_symlink() or not path.is_file():
        return False
    path.unlink()
    return True
