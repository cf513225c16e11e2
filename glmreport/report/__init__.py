"""Stage 8, report: results folder -> report model -> standalone HTML / PDF; no statistic.

``build`` reads the results folder (through the typed summary) into the report model
(``model``), with ``sections`` / ``correction`` for the contrasts and their corrections,
``tables``, ``overview`` (facts, summary rows, provenance, table of contents) and ``methods``
(methods text and references); ``filters`` formats values for the templates; ``render`` writes
the HTML and PDF files. ``viewer`` encodes maps for the interactive slice viewer.
"""

from __future__ import annotations

from .build import build_report_model
from .model import ReportModel
from .render import render_html, render_pdf, render_report, write_report

__all__ = [
    "ReportModel",
    "build_report_model",
    "render_html",
    "render_pdf",
    "render_report",
    "write_report",
]
