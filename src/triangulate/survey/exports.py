"""The CSV exports of the three collection tools, as they lay out one form's answers.

- **ODK Central** (Submissions > Download CSV): one column per field named by its group path joined
  with ``-`` (``about-setting``), select-multiple answers space-separated in one column, then
  ``meta-instanceID``, ``KEY`` (the submission id), ``SubmitterID``, ``SubmitterName``, ``DeviceID``,
  ``FormVersion`` and review columns; ``SubmissionDate`` first.
- **KoboToolbox** (Data > Downloads > CSV, "XML values and headers", group separator ``/``):
  ``;``-separated by default, group paths joined with ``/`` (``about/setting``), each select-multiple
  answer both space-separated and as one 0/1 column per choice (``support/info_format/spoken``), and
  ``_id``, ``_uuid`` (the submission id), ``_submission_time``, ``_submitted_by``, ``__version__``...
- **REDCap** (raw data export): ``record_id`` first, field names without groups, each checkbox as one
  0/1 column per choice (``info_format___spoken``), ``needs_and_experience_complete`` last.

The ingest reads all three through ``layout_of`` (and ``RowChecker`` reads each row by the layout's columns); the synthetic responses are written through
``write_export``, so both sides share one description of each tool.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from triangulate.survey.form import Form, Item
from triangulate.survey.tools import REDCAP_INSTRUMENT, REDCAP_RECORD_ID

TOOLS = ("odk", "kobo", "redcap")
#: Columns each tool adds that are not answers. Those that can name or contact someone
#: (submitter names and ids, devices, REDCap's survey identifier) are read past and never stored.
METADATA = {
    "odk": ("SubmissionDate", "meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
            "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"),
    "kobo": ("start", "end", "meta/instanceID", "_id", "_uuid", "_submission_time", "_validation_status", "_notes",
             "_status", "_submitted_by", "__version__", "_tags", "_index"),
    "redcap": (REDCAP_RECORD_ID, "redcap_survey_identifier", f"{REDCAP_INSTRUMENT}_timestamp",
               f"{REDCAP_INSTRUMENT}_complete"),
}
#: The column holding each tool's submission id.
SUBMISSION_ID = {"odk": "KEY", "kobo": "_uuid", "redcap": REDCAP_RECORD_ID}
#: The column holding the form version, where the tool exports ours.
VERSION_COLUMN = {"odk": "FormVersion"}


@dataclass(frozen=True)
class Layout:
    """Where one tool's export keeps each item's answer."""

    tool: str
    form: Form

    def column(self, item: Item) -> str | None:
        """The column of an item's answer (None: REDCap checkboxes, spread over one column per choice)."""
        if self.tool == "redcap":
            return None if item.type == "select_multiple" else item.name
        sep = "-" if self.tool == "odk" else "/"
        return f"{item.group}{sep}{item.name}" if item.group else item.name

    def choice_columns(self, item: Item) -> dict[str, str]:
        """The 0/1 column of each choice of a select-multiple item (Kobo and REDCap)."""
        if item.type != "select_multiple" or self.tool == "odk":
            return {}
        if self.tool == "redcap":
            return {c: f"{item.name}___{c}" for c in self.form.choice_names(item)}
        return {c: f"{self.column(item)}/{c}" for c in self.form.choice_names(item)}

    def answer_columns(self) -> list[str]:
        out = []
        for item in self.form.items:
            if item.type == "note" and self.tool == "redcap":
                continue
            column = self.column(item)
            if column:
                out.append(column)
            out += list(self.choice_columns(item).values())
        return out

    def header(self) -> list[str]:
        meta = METADATA[self.tool]
        if self.tool == "odk":
            return [meta[0], *self.answer_columns(), *meta[1:]]
        if self.tool == "kobo":
            return [meta[0], meta[1], *self.answer_columns(), *meta[2:]]
        return [meta[0], *self.answer_columns(), *meta[1:]]

    def submission_id(self, row: dict[str, str]) -> str:
        return (row.get(SUBMISSION_ID[self.tool]) or "").strip()


def layout_of(header: list[str], form: Form) -> Layout | None:
    """Which tool wrote an export, from its columns."""
    names = set(header)
    if {"KEY", "SubmissionDate"} <= names:
        return Layout("odk", form)
    if "_uuid" in names:
        return Layout("kobo", form)
    if header and header[0] == REDCAP_RECORD_ID:
        return Layout("redcap", form)
    return None


def export_rows(layout: Layout, responses: list[dict]) -> list[dict[str, str]]:
    """Export rows of ``responses`` (each: ``id``, ``answers`` item -> value, ``submitted`` ISO time)."""
    out = []
    for k, r in enumerate(responses, start=1):
        row = dict.fromkeys(layout.header(), "")
        for item in layout.form.items:
            value = r["answers"].get(item.name, "")
            column = layout.column(item)
            if column is not None and item.type != "note":
                row[column] = value
            for choice, col in layout.choice_columns(item).items():
                row[col] = ("1" if choice in value.split() else "0") if (value or layout.tool == "redcap") else ""
        if layout.tool == "odk":
            row.update({"SubmissionDate": r["submitted"], "meta-instanceID": r["id"], "KEY": r["id"],
                        "SubmitterID": str(100 + k % 7), "SubmitterName": f"interviewer{k % 7}",
                        "FormVersion": layout.form.version, "ReviewState": "", "Edits": "0",
                        "AttachmentsPresent": "0", "AttachmentsExpected": "0", "DeviceID": f"collect:{k % 5}"})
        elif layout.tool == "kobo":
            row.update({"start": r["submitted"], "end": r["submitted"], "meta/instanceID": r["id"], "_id": str(k),
                        "_uuid": r["id"].removeprefix("uuid:"), "_submission_time": r["submitted"],
                        "_submitted_by": f"interviewer{k % 7}", "__version__": "vKobo", "_index": str(k)})
        else:
            row.update({REDCAP_RECORD_ID: str(k), f"{REDCAP_INSTRUMENT}_complete": "2"})
        out.append(row)
    return out


def write_export(layout: Layout, responses: list[dict], path: Path) -> Path:
    """Write responses as the tool exports them (Kobo with its default ``;`` separator)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=layout.header(), delimiter=";" if layout.tool == "kobo" else ",",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(export_rows(layout, responses))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path
