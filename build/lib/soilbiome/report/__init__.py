"""One self-contained HTML report per batch (plotly.js embedded inline: opens offline).

The report is a list of sections, one module each in :mod:`soilbiome.report.sections`,
registered with :func:`soilbiome.report.context.section` and placed by position (see
:mod:`soilbiome.report.context` for the API and the built-in positions).
"""

from __future__ import annotations

from soilbiome.report.build import build_report
from soilbiome.report.composition import composition
from soilbiome.report.context import ReportContext, Section, section
from soilbiome.report.html import html_table

__all__ = ["ReportContext", "Section", "build_report", "composition", "html_table", "section"]
