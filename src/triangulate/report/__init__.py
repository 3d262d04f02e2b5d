"""The health needs assessment report: HTML and PDF from the store, disclosure-controlled.

``write_report(store, out, ...)`` runs every measure under the disclosure rule, derives key findings
and recommendations from the published figures, draws each chart as SVG from Vega-Lite beside its
data table, and writes HTML or (WeasyPrint) PDF. See docs/report.md.
"""

from .build import ReportError, ReportResult, write_report

__all__ = ["ReportError", "ReportResult", "write_report"]
