"""Survey responses in: each tool's export round-trips, every row is accounted for, bad answers are
rejected by row, item and rule (never the answer), nothing identifying is kept, and a second load adds
nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import pytest

from triangulate.survey import SurveyRefused, ingest_responses, load_form
from triangulate.survey.exports import Layout, write_export
from triangulate.survey.synthetic import synthetic_responses

KEY = b"survey-test-key-".ljust(48, b"s")
AREA = "E09000022"
TODAY = dt.date(2026, 6, 1)
FORM = load_form().without_licensed()


def _store_text(store: Path) -> str:
    con = duckdb.connect(str(store), read_only=True)
    out = []
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'survey'").fetchall():
        out += [str(v) for row in con.execute(f"SELECT * FROM survey.{table}").fetchall() for v in row]
    con.close()
    return "\n".join(out)


def _counts(store: Path) -> dict[str, int]:
    con = duckdb.connect(str(store), read_only=True)
    tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'survey'").fetchall()]
    out = {t: con.execute(f"SELECT count(*) FROM survey.{t}").fetchone()[0] for t in tables}
    con.close()
    return out


@pytest.mark.parametrize("tool", ["odk", "kobo", "redcap"])
def test_each_tools_export_round_trips_answer_for_answer(tmp_path: Path, tool: str) -> None:
    responses = synthetic_responses(120, seed=3, form=FORM)
    path = write_export(Layout(tool, FORM), responses, tmp_path / f"{tool}.csv")
    store = tmp_path / "store.duckdb"
    report = ingest_responses(path, store, KEY, area=AREA, form=FORM, today=TODAY)
    assert (report.rows_in, report.loaded, report.already, report.rejected) == (120, 120, 0, 0)
    con = duckdb.connect(str(store), read_only=True)
    stored = {}
    for key, item, value in con.execute("SELECT response_key, item, answer FROM survey.answer UNION ALL "
                                        "SELECT response_key, item, text FROM survey.free_text").fetchall():
        stored.setdefault(key, {})[item] = value
    assert len(stored) == 120
    expected = sorted(tuple(sorted((k, v) for k, v in r["answers"].items() if v)) for r in responses)
    assert sorted(tuple(sorted(s.items())) for s in stored.values()) == expected
    # The respondent's groups in the standard's codes: ethnic group as the 2021 Census code and its 5-group.
    groups = con.execute("SELECT ethnic_group_5, count(*) FROM survey.response GROUP BY 1").fetchall()
    truth: dict = {}
    for r in responses:
        g = r["ethnic_group_5"] if r["answers"]["ethnic_group"] not in ("prefer_not", "") else (
            "Not stated" if r["answers"]["ethnic_group"] else None)
        truth[g] = truth.get(g, 0) + 1
    assert dict(groups) == truth
    con.close()


def test_loading_the_same_export_again_adds_nothing(tmp_path: Path) -> None:
    path = write_export(Layout("odk", FORM), synthetic_responses(50, seed=4, form=FORM), tmp_path / "odk.csv")
    store = tmp_path / "store.duckdb"
    ingest_responses(path, store, KEY, area=AREA, form=FORM, today=TODAY)
    before = _counts(store)
    again = ingest_responses(path, store, KEY, area=AREA, form=FORM, today=TODAY)
    assert (again.rows_in, again.loaded, again.already, again.rejected) == (50, 0, 50, 0)
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM survey.response").fetchone()[0] == 50
    assert con.execute("SELECT list(loaded ORDER BY load_id) FROM survey.load").fetchone()[0] == [50, 0]
    con.close()
    assert _counts(store) == before | {"load": before["load"] + 1}  # one more load row, nothing else


def _rows(path: Path, delimiter: str = ",") -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=delimiter)
    return list(reader.fieldnames), list(reader)


def _write(path: Path, header: list[str], rows: list[dict], delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return path


def test_bad_answers_are_rejected_by_row_item_and_rule_and_never_shown(tmp_path: Path) -> None:
    responses = synthetic_responses(40, seed=5, form=FORM)
    layout = Layout("odk", FORM)
    header, rows = _rows(write_export(layout, responses, tmp_path / "good.csv"))
    consented = [k for k, r in enumerate(responses) if r["answers"]["consent"] == "yes"]
    outside, required, repeat, version = consented[:4]
    rows[outside]["you-religion"] = "ZEBRA42"  # not one of the item's choices
    not_asked = next(k for k in consented[4:] if not responses[k]["answers"]["bme_group_used"])
    rows[not_asked]["support-bme_group_used"] = "yes"  # the skip logic would not have asked it
    rows[required]["phq9-phq9_4"] = ""  # a required answer missing
    rows[repeat]["KEY"] = rows[0]["KEY"]  # a submission id seen before in the file
    rows[version]["FormVersion"] = "2025010101"  # another form version
    path = _write(tmp_path / "bad.csv", header, rows)
    store = tmp_path / "store.duckdb"
    report = ingest_responses(path, store, KEY, area=AREA, form=FORM, today=TODAY, rejects_dir=tmp_path / "rejects")
    assert report.rows_in == 40 and report.loaded + report.already + report.rejected == 40
    assert report.rejected == 5 and report.loaded == 35
    found = {(r.row, r.item) for r in report.rejections}
    assert {(outside + 2, "religion"), (not_asked + 2, "bme_group_used"), (required + 2, "phq9_4"),
            (repeat + 2, "submission id"), (version + 2, "FormVersion")} <= found
    rules = {r.item: r.rule for r in report.rejections}
    assert rules["religion"] == "not one of the item's choices"
    assert rules["phq9_4"] == "required answer missing"
    text = report.rejects_file.read_text(encoding="utf-8")
    assert "ZEBRA42" not in text and "2025010101" not in text
    assert text.splitlines()[0] == "file,row,item,rule"
    assert oct(report.rejects_file.stat().st_mode & 0o777) == "0o600"


def test_a_file_from_another_form_version_is_refused_whole(tmp_path: Path) -> None:
    layout = Layout("kobo", FORM)
    path = write_export(layout, synthetic_responses(10, seed=6, form=FORM), tmp_path / "kobo.csv")
    header, rows = _rows(path, ";")
    header = [h if h != "staff/staff_respect" else "staff/staff_dignity" for h in header]
    for r in rows:
        r["staff/staff_dignity"] = r.pop("staff/staff_respect")
    _write(path, header, rows, ";")
    store = tmp_path / "store.duckdb"
    with pytest.raises(SurveyRefused) as refused:
        ingest_responses(path, store, KEY, area=AREA, form=FORM, today=TODAY)
    message = str(refused.value)
    assert "kobo.csv" in message and "staff/staff_dignity" in message and "staff/staff_respect" in message
    assert not store.exists()


def test_nothing_naming_or_contacting_anyone_is_kept(tmp_path: Path) -> None:
    responses = synthetic_responses(30, seed=8, form=FORM)
    path = write_export(Layout("odk", FORM), responses, tmp_path / "odk.csv")
    store = tmp_path / "store.duckdb"
    ingest_responses(path, store, KEY, area=AREA, form=FORM, today=TODAY)
    kept = _store_text(store)
    assert "interviewer" not in kept and "collect:" not in kept  # submitter names, device ids
    assert not any(r["id"].removeprefix("uuid:") in kept for r in responses)  # submission ids: keys only
    con = duckdb.connect(str(store), read_only=True)
    free = {item for (item,) in con.execute("SELECT DISTINCT item FROM survey.free_text").fetchall()}
    coded = {item for (item,) in con.execute("SELECT DISTINCT item FROM survey.answer").fetchall()}
    con.close()
    assert free <= {"fft_why", "improve"} and not (coded & {"fft_why", "improve"})


def test_instrument_scores_follow_the_instruments_rules(tmp_path: Path) -> None:
    responses = synthetic_responses(60, seed=9, form=FORM)
    path = write_export(Layout("redcap", FORM), responses, tmp_path / "redcap.csv")
    store = tmp_path / "store.duckdb"
    ingest_responses(path, store, KEY, area=AREA, form=FORM, today=TODAY)
    con = duckdb.connect(str(store), read_only=True)
    got = sorted(con.execute("SELECT instrument, score, band, caseness FROM survey.score").fetchall())
    con.close()
    expected = []
    for r in responses:
        a = r["answers"]
        if a["consent"] != "yes":
            continue
        phq = sum(int(a[f"phq9_{k}"]) for k in range(1, 10))
        gad = sum(int(a[f"gad7_{k}"]) for k in range(1, 8))
        phq_band = ["minimal", "mild", "moderate", "moderately severe", "severe"][min(phq // 5, 4)]
        gad_band = ["minimal", "mild", "moderate", "severe"][min(gad // 5, 3)]
        expected += [("gad7", float(gad), gad_band, gad >= 10), ("phq9", float(phq), phq_band, phq >= 10)]
    assert got == sorted(expected)


def test_survey_ingest_command_accounts_for_every_row_and_refuses_without_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = write_export(Layout("redcap", FORM), synthetic_responses(25, seed=10, form=FORM), tmp_path / "redcap.csv")
    env = {k: v for k, v in os.environ.items()} | {"TRIANGULATE_KEY": KEY.decode(), "COLUMNS": "200"}
    store = tmp_path / "store.duckdb"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "triangulate", "survey", "ingest", *args, "--area", AREA, "--store", str(store)],
                              capture_output=True, text=True, env=env, timeout=120)

    done = run(str(path))
    assert done.returncode == 0, done.stderr
    assert "25 rows in = 25 loaded + 0 already loaded + 0 rejected" in done.stdout
    other = tmp_path / "other.csv"
    other.write_text("id,answer\n1,yes\n", encoding="utf-8")
    refused = run(str(other))
    assert refused.returncode == 2
    assert "other.csv" in refused.stderr and "Traceback" not in refused.stderr


def test_restricting_a_store_restricts_its_survey_too(tmp_path: Path) -> None:
    from triangulate.store import connect, ensure_schema
    from triangulate.store.subset import restrict

    responses = synthetic_responses(80, seed=11, form=FORM, start=dt.date(2024, 10, 1), days=180)
    path = write_export(Layout("odk", FORM), responses, tmp_path / "odk.csv")
    store = tmp_path / "store.duckdb"
    con = connect(store)
    ensure_schema(con)  # an empty warehouse beside the survey
    con.close()
    ingest_responses(path, store, KEY, area=AREA, form=FORM, today=TODAY)
    restrict(store, start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31))
    con = duckdb.connect(str(store), read_only=True)
    kept = con.execute("SELECT count(*), min(interview_date), max(interview_date) FROM survey.response").fetchone()
    orphans = con.execute("SELECT count(*) FROM survey.answer WHERE response_key NOT IN "
                          "(SELECT response_key FROM survey.response)").fetchone()[0]
    con.close()
    inside = sum(dt.date(2025, 1, 1) <= dt.date.fromisoformat(r["answers"]["interview_date"]) <= dt.date(2025, 3, 31)
                 for r in responses)
    assert kept[0] == inside > 0 and orphans == 0
    assert kept[1] >= dt.date(2025, 1, 1) and kept[2] <= dt.date(2025, 3, 31)
    restrict(store, areas=["E09000001"])
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM survey.response").fetchone()[0] == 0
    con.close()
