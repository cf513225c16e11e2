"""Stage 8, report: results folder -> report model -> standalone HTML / PDF; no statistic.

``build`` reads the results folder into the report model and renders it with the templates;
``render`` re-renders the report of an existing results folder.
"""

from __future__ import annotations

from .build import ReportModel, build_report_model, render_html, render_pdf, write_report
from .render import render_report

__all__ = [
    "ReportModel",
    "build_report_model",
    "render_html",
    "render_pdf",
    "render_report",
    "write_report",
]
