"""The questionnaire as data: the shipped XLSForm converts in pyxform without a warning, its choices are
the standard's code lists, its logic reads in REDCap, and licensed text goes in only when supplied."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from triangulate.standard import codelist
from triangulate.survey import FormError, load_form, redcap_dictionary, write_form
from triangulate.survey.expressions import ExpressionError, compile_expression, evaluate, parse, to_redcap

XF = "{http://www.w3.org/2002/xforms}"


def _licensed_text(tmp_path: Path) -> Path:
    path = tmp_path / "swemwbs.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "label"])
        for k in range(1, 8):
            w.writerow([f"swemwbs_{k}", f"Licence-holder text for item {k}"])
        for k in range(1, 6):
            w.writerow([str(k), f"Licence-holder response {k}"])
    return path


def _binds(xform: Path) -> dict[str, dict[str, str]]:
    root = ET.parse(xform).getroot()
    return {b.get("nodeset").rsplit("/", 1)[-1]: b.attrib for b in root.iter(f"{XF}bind")}


def test_the_form_converts_in_pyxform_and_binds_every_question_with_its_logic(tmp_path: Path) -> None:
    form = load_form()
    written = write_form(form, tmp_path)  # raises on any pyxform warning
    binds = _binds(written["XForm"])
    shipped = form.without_licensed()
    for item in shipped.questions:
        assert item.name in binds, item.name
        bind = binds[item.name]
        assert (bind.get("required") == "true()") == item.required, item.name
        if item.constraint:
            assert bind.get("constraint") == item.constraint
    assert binds["bme_group_used"]["relevant"].split() == ["/data/support/bme_group_available", "=", "'yes'"]
    assert "instanceID" in binds  # ODK's submission id, which the ingest keys a respondent by
    xml = written["XForm"].read_text(encoding="utf-8")
    assert 'lang="Easy read (en)"' in xml and 'lang="English (en)"' in xml  # the easy-read version
    assert "Feeling down, depressed, or hopeless" in xml  # PHQ-9 text unchanged
    assert "Overall, how was your experience of our service?" in xml  # the FFT question


def test_swemwbs_text_is_never_shipped_and_goes_in_only_from_a_licence_holder(tmp_path: Path) -> None:
    plain = write_form(load_form(), tmp_path / "plain")
    for path in plain.values():
        text = path.read_bytes() if path.suffix == ".xlsx" else path.read_text(encoding="utf-8")
        assert (b"swemwbs" if isinstance(text, bytes) else "swemwbs") not in text, path.name
    licensed = write_form(load_form(_licensed_text(tmp_path)), tmp_path / "licensed")
    xml = licensed["XForm"].read_text(encoding="utf-8")
    assert "Licence-holder text for item 7" in xml and "Licence-holder response 5" in xml
    assert "licensed text)" not in xml  # no placeholder left
    redcap = licensed["REDCap data dictionary"].read_text(encoding="utf-8")
    assert "swemwbs_1" in redcap


def test_licensed_text_with_items_missing_is_refused_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("name,label\nswemwbs_1,Some text\n", encoding="utf-8")
    with pytest.raises(FormError) as refused:
        load_form(path)
    assert "swemwbs_2" in str(refused.value) and "swemwbs_7" in str(refused.value)
    assert "Some text" not in str(refused.value)


def test_choices_are_the_standards_code_lists() -> None:
    form = load_form()

    def codes(item):
        return {c.code for c in form.choices[form.item(item).list_name]}

    assert codes("ethnic_group") - {"Z"} == {r["code"] for r in codelist("ons_ethnic_group").rows}
    assert codes("religion") == {r["code"] for r in codelist("religion").rows}
    assert codes("first_language") == {r["code"] for r in codelist("language").rows}
    assert codes("age_group") - {"X"} == {r["code"] for r in codelist("age_group").rows} - {"0-14"}
    assert form.code_of("ethnic_group", "eth_7") == "7"
    assert form.code_of("sex", "female") == "2"


def test_the_redcap_dictionary_has_record_id_first_and_the_skip_logic_as_branching() -> None:
    rows = redcap_dictionary(load_form().without_licensed())
    assert rows[0]["Variable / Field Name"] == "record_id"
    by = {r["Variable / Field Name"]: r for r in rows}
    assert by["bme_group_used"]["Branching Logic (Show field only if...)"] == \
        "([consent] = 'yes') and ([bme_group_available] = 'yes')"
    assert by["visits"]["Branching Logic (Show field only if...)"] == "([consent] = 'yes' and [setting] <> 'community')"
    assert by["info_format"]["Field Type"] == "checkbox"
    assert by["setting"]["Field Type"] == "radio"
    assert by["interview_date"]["Text Validation Type OR Show Slider Number"] == "date_ymd"
    assert by["interview_date"]["Text Validation Max"] == "today"
    assert by["phq9_9_safeguarding"]["Field Type"] == "descriptive"
    assert by["fft"]["Choices, Calculations, OR Slider Labels"].startswith("1, Very good | 2, Good")
    assert all(r["Form Name"] == "needs_and_experience" for r in rows)


@pytest.mark.parametrize(("text", "answers", "here", "expected"), [
    ("${a} = 'yes'", {"a": "yes"}, "", True),
    ("${a} = 'yes'", {}, "", False),
    ("${a} != '0'", {"a": "2"}, "", True),
    ("${a} != '' and ${a} != '0'", {"a": ""}, "", False),
    ("${a} = 'yes' and ${b} != 'community'", {"a": "yes", "b": "prison"}, "", True),
    ("${a} = 'x' or (${b} = 'y' and ${c} = 'z')", {"b": "y", "c": "z"}, "", True),
    ("not(selected(., 'none') and count-selected(.) > 1)", {}, "none spoken", False),
    ("not(selected(., 'none') and count-selected(.) > 1)", {}, "none", True),
    ("string-length(.) <= 5", {}, "abcdef", False),
    (". <= today()", {}, "2026-01-31", True),
    (". <= today()", {}, "2027-01-31", False),
    (". <= today()", {}, "not a date", False),
])
def test_the_logic_evaluates_as_odk_does(text, answers, here, expected) -> None:
    today = dt.date(2026, 6, 1)
    assert evaluate(parse(text), answers, here, today=today) is expected
    assert bool(compile_expression(parse(text))(answers, here, today)) is expected  # what the ingest runs


def test_logic_outside_the_forms_part_of_xpath_is_refused() -> None:
    for text in ("pulldata('x', 'y')", "${a} = ", "${a} + 1 > 2", "${a} = 'x' )"):
        with pytest.raises(ExpressionError):
            parse(text)
    with pytest.raises(ExpressionError):
        to_redcap(parse("count-selected(${a}) > 1"))
    assert to_redcap(parse("selected(${a}, 'v')")) == "[a(v)] = '1'"


def test_survey_form_command_writes_the_three_files(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()} | {"COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "triangulate", "survey", "form", "--out", str(tmp_path / "f")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.suffix for p in (tmp_path / "f").iterdir()) == [".csv", ".xlsx", ".xml"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,label\n", encoding="utf-8")
    refused = subprocess.run([sys.executable, "-m", "triangulate", "survey", "form", "--out", str(tmp_path / "g"),
                              "--licensed-text", str(bad)], capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2
    assert "swemwbs_1" in refused.stderr and "Traceback" not in refused.stderr
