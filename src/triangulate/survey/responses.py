"""Survey responses in: an export of ODK Central, KoboToolbox or REDCap checked against the form and
loaded into the store's ``survey`` schema in one transaction.

Every row is accounted for: in = loaded + already loaded + rejected. A row is rejected, with its row
number, the item and the rule it breaks (never the answer), when an answer is outside its choices or
type, breaks a constraint, is missing where the form requires it, is present where the form's skip
logic would not have asked it, or repeats a submission id. A file from another form version (a
different version number, or columns the form does not have) is refused whole.

Nothing that names or contacts anyone is kept: the tools' submitter, device and survey-identifier
columns are read past; a respondent is a pseudonymous key (the ingest's keyed hash of the tool and
its submission id, as records get); free-text answers go to ``survey.free_text`` apart from the
coded answers, for export to a qualitative tool, and are never published. Loading the same file
again loads nothing: a submission already in the store with the same answers is counted as already
loaded, and one with different answers is rejected.

Tables (``survey`` schema):
- ``survey.load``: one row per ingest: file name, its SHA-256, tool, form version, rows in, loaded,
  already loaded, rejected, when (UTC);
- ``survey.response``: one row per response: its key, load, tool, form version, the area whose survey it
  is (an ONS local authority code, given at ingest: the form does not ask where), setting, organisation,
  mode, interview date, consent, and the respondent's groups as the standard's codes (age group,
  sex, ethnic group, its 5-group, religion, first language, disability);
- ``survey.answer``: one row per coded answer (item, the choice's name or the date);
- ``survey.free_text``: one row per free-text answer;
- ``survey.score``: one row per response and instrument scored (see ``triangulate.survey.scoring``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from triangulate.survey.exports import METADATA, VERSION_COLUMN, Layout, layout_of
from triangulate.survey.expressions import compile_expression, parse
from triangulate.survey.form import LICENSED_GROUP, Form, Item, load_form
from triangulate.survey.scoring import score_response

SCHEMA = "survey"
#: The respondent's groups kept on ``survey.response`` (item -> column).
GROUPS = {"age_group": "age_group", "sex": "sex", "ethnic_group": "ethnic_group", "religion": "religion",
          "first_language": "first_language", "disability": "disability"}
MAX_TEXT = 2000


class SurveyRefused(ValueError):
    """A whole file refused: nothing was loaded."""


@dataclass(frozen=True)
class Rejection:
    row: int  # the line in the file (the header is line 1)
    item: str
    rule: str


@dataclass
class SurveyLoadReport:
    file: str
    tool: str
    rows_in: int = 0
    loaded: int = 0
    already: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    rejects_file: Path | None = None

    @property
    def rejected(self) -> int:
        return len({r.row for r in self.rejections})


def ensure_survey_schema(con) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.load (load_id INTEGER, file_name VARCHAR, file_sha256 VARCHAR,
        tool VARCHAR, form_version VARCHAR, rows_in INTEGER, loaded INTEGER, already INTEGER, rejected INTEGER,
        loaded_at TIMESTAMP)""")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.response (response_key VARCHAR, load_id INTEGER,
        tool VARCHAR, form_version VARCHAR, answers_sha256 VARCHAR, area_code VARCHAR, setting VARCHAR, organisation VARCHAR,
        mode VARCHAR, interview_date DATE, consent VARCHAR, age_group VARCHAR, sex VARCHAR, ethnic_group VARCHAR,
        ethnic_group_5 VARCHAR, religion VARCHAR, first_language VARCHAR, disability VARCHAR)""")
    con.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.answer (response_key VARCHAR, item VARCHAR, answer VARCHAR)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.free_text (response_key VARCHAR, item VARCHAR, text VARCHAR)")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.score (response_key VARCHAR, instrument VARCHAR,
        score DOUBLE, band VARCHAR, caseness BOOLEAN)""")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        raw = path.read_bytes()
    except OSError as failure:
        raise SurveyRefused(f"{path.name}: cannot read the file ({failure.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SurveyRefused(f"{path.name}: not UTF-8 text; export the CSV as UTF-8") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # KoboToolbox exports ';' by default
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise SurveyRefused(f"{path.name}: the file is empty") from None
    rows = []
    for n, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise SurveyRefused(f"{path.name}: row {n} has {len(values)} fields where the header has {len(header)}")
        rows.append((n, dict(zip(header, values))))
    return header, rows


def _check_columns(path: Path, header: list[str], layout: Layout) -> Layout:
    """The layout of a file from this form version, or SurveyRefused naming what differs."""
    form = layout.form
    has_licensed = any(c.startswith(("swemwbs", f"{LICENSED_GROUP}-", f"{LICENSED_GROUP}/")) for c in header)
    if not has_licensed:  # collected on the form as shipped, without the SWEMWBS items
        layout = Layout(layout.tool, form.without_licensed())
    expected = set(layout.answer_columns()) | set(METADATA[layout.tool])
    notes = {layout.column(i) for i in layout.form.items if i.type == "note"}
    unknown = [c for c in header if c not in expected]
    missing = [c for c in layout.answer_columns() if c not in header and c not in notes]
    version = VERSION_COLUMN.get(layout.tool)
    if unknown or missing:
        what = "; ".join(x for x in (f"columns not in the form: {', '.join(unknown[:8])}" if unknown else "",
                                     f"columns missing: {', '.join(missing[:8])}" if missing else "") if x)
        raise SurveyRefused(f"{path.name}: not an export of form version {form.version} ({what}); export the "
                            f"responses of this form version, or ingest them with the form they were collected on")
    if version and version not in header:
        raise SurveyRefused(f"{path.name}: no {version} column; export with ODK Central's default columns")
    return layout


class RowChecker:
    """Checks rows of one export against the form: the form's logic compiled once, each distinct
    skip-logic cell evaluated once per row (a group's condition is shared by all its items)."""

    def __init__(self, form: Form, layout: Layout, today: dt.date) -> None:
        self.form, self.layout, self.today = form, layout, today
        self.version = VERSION_COLUMN.get(layout.tool)
        self.logic = {text: compile_expression(parse(text)) for i in form.items for text in i.relevant}
        self.items = []
        for item in form.items:
            if not item.answered:
                continue
            choices = frozenset(form.choice_names(item)) if item.type.startswith("select") else frozenset()
            constraint = compile_expression(parse(item.constraint)) if item.constraint else None
            split = layout.choice_columns(item) if layout.tool == "kobo" else {}
            self.items.append((item, layout.column(item), layout.choice_columns(item), choices, constraint, split))

    def __call__(self, row: dict[str, str], n: int) -> tuple[dict[str, str], list[Rejection]]:
        """A row's answers by item, and every rule it breaks."""
        answers: dict[str, str] = {}
        for item, column, choice_columns, _, _, _ in self.items:
            if column is not None:
                answers[item.name] = (row.get(column) or "").strip()
            else:
                answers[item.name] = " ".join(c for c, col in choice_columns.items() if (row.get(col) or "").strip() == "1")
        problems: list[Rejection] = []
        if self.version and (row.get(self.version) or "").strip() != self.form.version:
            problems.append(Rejection(n, self.version, f"form version is not {self.form.version}"))
        holds = {text: bool(f(answers, "", self.today)) for text, f in self.logic.items()}
        for item, _, _, choices, constraint, split in self.items:
            value = answers[item.name]
            if not all(holds[text] for text in item.relevant):
                if value:
                    problems.append(Rejection(n, item.name, "answered where the form's skip logic does not ask it"))
                continue
            if not value:
                if item.required:
                    problems.append(Rejection(n, item.name, "required answer missing"))
                continue
            rule = _type_rule(item, value, choices)
            if rule:
                problems.append(Rejection(n, item.name, rule))
            elif constraint is not None and not constraint(answers, value, self.today):
                problems.append(Rejection(n, item.name, f"breaks the form's constraint ({item.constraint})"))
            elif split and {c for c, col in split.items() if (row.get(col) or "").strip() == "1"} != set(value.split()):
                problems.append(Rejection(n, item.name, "the choice columns disagree with the answer"))
        return answers, problems


def _type_rule(item: Item, value: str, choices: frozenset[str]) -> str | None:
    if item.type == "select_one":
        return None if value in choices else "not one of the item's choices"
    if item.type == "select_multiple":
        chosen = value.split()
        if any(c not in choices for c in chosen):
            return "a choice not in the item's list"
        return "a choice given twice" if len(set(chosen)) != len(chosen) else None
    if item.type == "date":
        try:
            dt.date.fromisoformat(value[:10])
        except ValueError:
            return "not a date (YYYY-MM-DD)"
        return None if len(value) == 10 else "not a date (YYYY-MM-DD)"
    if item.type == "integer":
        return None if value.lstrip("-").isdigit() else "not a whole number"
    return None if len(value) <= MAX_TEXT else f"longer than {MAX_TEXT} characters"


def _ethnic_group_5() -> dict[str, str]:
    """Census 2021 ethnic group code -> its 5-group, as the measures read it (``base.ons_groups``)."""
    from triangulate.measures.base import ons_groups

    t = ons_groups()
    return dict(zip(map(str, t.column("ons_ethnic_group").to_pylist()), t.column("ethnic_group_5").to_pylist()))


AREA_CODE = re.compile(r"^E0[6-9][0-9]{6}$")


def ingest_responses(path: str | Path, store: str | Path, key: bytes, *, area: str, rejects_dir: Path | None = None,
                     form: Form | None = None, today: dt.date | None = None) -> SurveyLoadReport:
    """Check an export against the form and load its valid rows (all of them, or none if it fails) as
    the survey of ``area`` (an ONS local authority code, as the records' area_code)."""
    from triangulate.ingest.keys import Pseudonymiser
    from triangulate.store import connect, parquet
    from triangulate.store.private import private_folder, write_private_text

    path = Path(path)
    if not AREA_CODE.match(area or ""):
        raise SurveyRefused("the area must be an ONS local authority code: E06, E07, E08 or E09 and six digits")
    form = form or load_form()
    today = today or dt.date.today()
    header, rows = _read(path)
    layout = layout_of(header, form)
    if layout is None:
        raise SurveyRefused(f"{path.name}: not an ODK Central, KoboToolbox or REDCap export of the survey "
                            "(no KEY, _uuid or record_id column)")
    layout = _check_columns(path, header, layout)
    form = layout.form
    pseudonymiser = Pseudonymiser(key)
    report = SurveyLoadReport(path.name, layout.tool, rows_in=len(rows))
    group5 = _ethnic_group_5()
    seen: dict[str, int] = {}
    check = RowChecker(form, layout, today)
    good = []
    for n, row in rows:
        sid = layout.submission_id(row)
        if not sid:
            report.rejections.append(Rejection(n, "submission id", "missing"))
            continue
        if sid in seen:
            report.rejections.append(Rejection(n, "submission id", f"repeats the submission of row {seen[sid]}"))
            continue
        seen[sid] = n
        answers, problems = check(row, n)
        if problems:
            report.rejections.extend(problems)
            continue
        response_key = pseudonymiser.record_key("survey", layout.tool, sid)
        digest = hashlib.sha256(json.dumps(answers, sort_keys=True).encode("utf-8")).hexdigest()
        good.append((n, response_key, digest, answers))
    con = connect(store)
    try:
        ensure_survey_schema(con)
        keys = pa.table({"response_key": pa.array([g[1] for g in good], pa.string())})
        con.register("incoming_keys", keys)
        stored = dict(con.execute(f"""SELECT r.response_key, r.answers_sha256 FROM {SCHEMA}.response r
            JOIN incoming_keys k USING (response_key)""").fetchall())
        con.unregister("incoming_keys")
        fresh = []
        for n, response_key, digest, answers in good:
            if response_key in stored:
                if stored[response_key] == digest:
                    report.already += 1
                else:
                    report.rejections.append(Rejection(n, "submission id", "already loaded with different answers"))
                continue
            fresh.append((response_key, digest, answers))
        report.loaded = len(fresh)
        _load(con, path, layout, form, fresh, report, group5, area)
        parquet.refresh(con)
    finally:
        con.close()
    if report.rejections and rejects_dir is not None:
        lines = ["file,row,item,rule"] + [f"{report.file},{r.row},{r.item},\"{r.rule}\"" for r in report.rejections]
        private_folder(Path(rejects_dir))
        report.rejects_file = write_private_text(Path(rejects_dir) / f"{path.stem}.rejects.csv", "\n".join(lines) + "\n")
    return report


def _load(con, path: Path, layout: Layout, form: Form, fresh, report: SurveyLoadReport, group5, area: str) -> None:
    texts = {i.name for i in form.items if i.type == "text"}
    responses, answer_rows, text_rows, score_rows = [], [], [], []
    for response_key, digest, answers in fresh:
        code = {name: form.code_of(name, answers[name]) if answers.get(name) else None for name in GROUPS}
        responses.append((response_key, layout.tool, form.version, digest, area, answers["setting"],
                          answers["organisation"], answers["mode"], answers["interview_date"][:10],
                          answers["consent"], code["age_group"], code["sex"], code["ethnic_group"],
                          group5.get(code["ethnic_group"] or "", "Not stated" if code["ethnic_group"] else None),
                          code["religion"], code["first_language"], code["disability"]))
        for item, value in answers.items():
            if not value:
                continue
            (text_rows if item in texts else answer_rows).append((response_key, item, value))
        score_rows += [(response_key, *s) for s in score_response(answers)]
    con.execute("BEGIN TRANSACTION")
    try:
        load_id = con.execute(f"SELECT coalesce(max(load_id), 0) + 1 FROM {SCHEMA}.load").fetchone()[0]
        con.execute(f"INSERT INTO {SCHEMA}.load VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [load_id, path.name, hashlib.sha256(path.read_bytes()).hexdigest(), layout.tool, form.version,
                     report.rows_in, report.loaded, report.already, report.rejected,
                     dt.datetime.now(dt.UTC).replace(tzinfo=None)])
        columns = ("response_key", "tool", "form_version", "answers_sha256", "area_code", "setting", "organisation", "mode",
                   "interview_date", "consent", "age_group", "sex", "ethnic_group", "ethnic_group_5", "religion",
                   "first_language", "disability")
        _insert(con, "response", columns, responses, extra=("load_id", load_id))
        _insert(con, "answer", ("response_key", "item", "answer"), answer_rows)
        _insert(con, "free_text", ("response_key", "item", "text"), text_rows)
        _insert(con, "score", ("response_key", "instrument", "score", "band", "caseness"), score_rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _insert(con, table: str, columns: tuple[str, ...], rows: list[tuple], extra: tuple[str, int] | None = None) -> None:
    if not rows:
        return
    data = {c: [r[k] for r in rows] for k, c in enumerate(columns)}
    arrow = pa.table(data)
    con.register("incoming", arrow)
    names = ", ".join(columns)
    if extra:
        con.execute(f"INSERT INTO {SCHEMA}.{table} ({names}, {extra[0]}) SELECT {names}, {extra[1]} FROM incoming")
    else:
        con.execute(f"INSERT INTO {SCHEMA}.{table} ({names}) SELECT {names} FROM incoming")
    con.unregister("incoming")
