"""The form as each collection tool takes it: the XLSForm workbook, the XForm (ODK Central,
KoboToolbox) and the REDCap data dictionary, all from one ``Form``."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from triangulate.survey.expressions import parse, to_redcap
from triangulate.survey.form import LANGUAGES, LICENSED_GROUP, Form, FormError, Item, _sheet

#: The REDCap data dictionary's columns, in the order REDCap requires.
REDCAP_COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
#: The REDCap instrument the whole questionnaire is; its record id field comes first.
REDCAP_INSTRUMENT = "needs_and_experience"
REDCAP_RECORD_ID = "record_id"


def xlsform_sheets(form: Form) -> dict[str, list[list[str]]]:
    """The three sheets as rows, from the shipped CSVs: without the SWEMWBS group unless its licensed
    text is in ``form``, and with that text where it is."""
    out = {}
    labels = {i.name: i.labels for i in form.items if i.group == LICENSED_GROUP}
    response_labels = {c.name: c.labels for c in form.choices.get("swemwbs5", ())}
    for sheet in ("survey", "choices", "settings"):
        rows = _sheet(sheet)
        header = list(rows[0].keys())
        kept, inside = [], False
        for r in rows:
            if sheet == "survey":
                if r["type"] == "begin_group" and r["name"] == LICENSED_GROUP:
                    inside = True
                if inside and not form.licensed:
                    if r["type"] == "end_group":
                        inside = False
                    continue
                if r["type"] == "end_group" and r["name"] == LICENSED_GROUP:
                    inside = False
                if form.licensed and r["name"] in labels:
                    r = {**r, **{f"label::{lang}": labels[r["name"]][lang] for lang in LANGUAGES}}
            if sheet == "choices" and r["list_name"] == "swemwbs5":
                if not form.licensed:
                    continue
                r = {**r, **{f"label::{lang}": response_labels[r["name"]][lang] for lang in LANGUAGES}}
            kept.append([r.get(h, "") for h in header])
        out[sheet] = [header, *kept]
    return out


def write_xlsform(form: Form, path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in xlsform_sheets(form).items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_xform(xlsform: Path, path: Path) -> list[str]:
    """The XForm of an XLSForm workbook, by pyxform; returns pyxform's warnings."""
    from pyxform.xls2xform import convert

    logging.getLogger("pyxform").setLevel(logging.WARNING)
    result = convert(xlsform=str(xlsform), warnings=[])
    path.write_text(result.xform, encoding="utf-8")
    return list(result.warnings)


def _redcap_choices(form: Form, item: Item) -> str:
    return " | ".join(f"{c.name}, {c.labels['English (en)']}" for c in form.choices[item.list_name])


def redcap_dictionary(form: Form) -> list[dict[str, str]]:
    """The questionnaire as a REDCap data dictionary: one instrument, record_id first; select_one
    items as radio buttons, select_multiple as checkboxes, dates as date_ymd, free text as notes; the
    form's skip logic as branching logic. Constraints other than dates have no REDCap form and are
    checked by ``triangulate survey ingest``."""
    rows = [dict.fromkeys(REDCAP_COLUMNS, "")]
    rows[0].update({"Variable / Field Name": REDCAP_RECORD_ID, "Form Name": REDCAP_INSTRUMENT, "Field Type": "text",
                    "Field Label": "Record ID"})
    headed: set[str] = set()
    groups = {g.name: g for g in form.groups}
    for item in form.items:
        row = dict.fromkeys(REDCAP_COLUMNS, "")
        row["Variable / Field Name"] = item.name
        row["Form Name"] = REDCAP_INSTRUMENT
        if item.group and item.group not in headed:
            headed.add(item.group)
            row["Section Header"] = groups[item.group].labels["English (en)"]
        row["Field Label"] = item.labels["English (en)"]
        row["Field Note"] = item.hints.get("English (en)", "")
        if item.type == "select_one":
            row["Field Type"], row["Choices, Calculations, OR Slider Labels"] = "radio", _redcap_choices(form, item)
        elif item.type == "select_multiple":
            row["Field Type"], row["Choices, Calculations, OR Slider Labels"] = "checkbox", _redcap_choices(form, item)
        elif item.type == "date":
            row["Field Type"], row["Text Validation Type OR Show Slider Number"] = "text", "date_ymd"
            if item.constraint.replace(" ", "") == ".<=today()":
                row["Text Validation Max"] = "today"
        elif item.type == "integer":
            row["Field Type"], row["Text Validation Type OR Show Slider Number"] = "text", "integer"
        elif item.type == "note":
            row["Field Type"] = "descriptive"
        else:
            row["Field Type"] = "notes"
        if item.relevant:
            row["Branching Logic (Show field only if...)"] = " and ".join(
                f"({to_redcap(parse(r))})" if len(item.relevant) > 1 else to_redcap(parse(r)) for r in item.relevant)
        row["Required Field?"] = "y" if item.required else ""
        rows.append(row)
    return rows


def write_redcap_dictionary(form: Form, path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=REDCAP_COLUMNS)
        writer.writeheader()
        writer.writerows(redcap_dictionary(form))
    return path


def write_form(form: Form, out: Path) -> dict[str, Path]:
    """Write the XLSForm, the XForm and the REDCap data dictionary into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    form = form if form.licensed else form.without_licensed()
    stem = form.form_id
    xlsx = write_xlsform(form, out / f"{stem}.xlsx")
    warnings = write_xform(xlsx, out / f"{stem}.xml")
    if warnings:
        raise FormError("pyxform warned about the form: " + "; ".join(warnings))
    redcap = write_redcap_dictionary(form, out / f"{stem}_redcap_dictionary.csv")
    return {"XLSForm": xlsx, "XForm": out / f"{stem}.xml", "REDCap data dictionary": redcap}
