"""Free-text answers out to a qualitative coding tool and coded themes back, in the REFI-QDA exchange
format (``.qdpx``, read by NVivo, MAXQDA, ATLAS.ti and QDA Miner), through pyrefiqda.

Out: one text source per free-text answer (its text, the question and the setting; no respondent
detail), and the survey's code book: one code per theme (``THEMES``) and the reviewer's mark
``Cleared for quotation``. Each source's GUID is derived from the response key and the item, so the
file coming back names the answers it codes without carrying the key.

Back: every code applied to a source, or to a selection of it, becomes a theme of that answer
(``survey.theme``; the answers the file covers are kept in ``survey.coded``, the themes' denominator), counted by the ``survey_themes`` measure through the publication and its disclosure
control. A selection coded ``Cleared for quotation`` by a reviewer becomes a quotation the report may
show (``survey.quote``); nothing else of the text is ever published. A code not in the code book is
refused by name: themes are counted against a fixed list, so that the measure's keys are known.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

#: The code book of themes (name -> what it covers), from the questionnaire's domains.
THEMES = {
    "information": "Information about services and how it was given",
    "culture_and_respect": "Staff understanding of culture; respect; discrimination",
    "language": "Language, interpreters, translated material",
    "support_groups": "Support groups, mentors, peers",
    "family": "Family, visits, contact",
    "leaving": "Housing, GP, support on leaving",
    "faith": "Faith and beliefs",
    "work_and_activity": "Work, training, activity, time out of cell",
    "timely_help": "Waiting, access to help, speed of response",
    "medication": "Medication and its explanation",
}
CLEARED = "Cleared for quotation"
NAMESPACE = uuid.UUID("6f1c1d2e-3b9a-4c7e-9a51-2f0d8e6b7c41")


class QdaRefused(ValueError):
    """A .qdpx file that cannot be read back: nothing is loaded."""


def source_guid(response_key: str, item: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{response_key}|{item}"))


def _code_guid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"code|{name}"))


def export_free_text(store: str | Path, out: str | Path) -> int:
    """Write every free-text answer in the store to a REFI-QDA project (mode 600); returns the count."""
    from pyrefiqda import RefiProject
    from pyrefiqda.models import project as m

    from triangulate.store import connect
    from triangulate.store.private import private_folder

    with connect(store, read_only=True) as con:
        rows = con.execute("""SELECT t.response_key, t.item, t.text, r.setting FROM survey.free_text t
            JOIN survey.response r USING (response_key) ORDER BY t.item, t.response_key""").fetchall()
    codes = [m.CodeType(guid=_code_guid(name), name=name, is_codable=True, description=about)
             for name, about in {**THEMES, CLEARED: "A reviewer has checked this selection identifies nobody"}.items()]
    sources = [m.TextSourceType(guid=source_guid(key, item), name=f"{item} {k + 1}", plain_text_content=text,
                                description=f"question: {item}; setting: {setting}")
               for k, (key, item, text, setting) in enumerate(rows)]
    project = m.Project(name="Triangulate needs and experience survey: free text", origin="Triangulate",
                        code_book=m.CodeBookType(codes=m.CodesType(code=codes)),
                        sources=m.SourcesType(text_source=sources))
    out = Path(out)
    private_folder(out.parent)
    RefiProject.save(project, out)
    out.chmod(0o600)
    return len(sources)


@dataclass
class QdaImport:
    themes: int
    quotes: int
    sources: int


def import_themes(path: str | Path, store: str | Path) -> QdaImport:
    """Read a coded .qdpx back: themes per answer into ``survey.theme`` and cleared selections into
    ``survey.quote``, replacing what an earlier import of the same answers gave (all or nothing)."""
    from pyrefiqda import RefiProject

    from triangulate.store import connect, parquet

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="triangulate-qdpx-") as extract:
        try:
            project = RefiProject.load(path, extract_dir=extract)
        except Exception as failure:  # noqa: BLE001 - a zip or XML error: say which file, not a traceback
            raise QdaRefused(f"{path.name}: not a REFI-QDA project that can be read ({type(failure).__name__})") from None
    names = {}
    if project.code_book is not None:
        stack = list(project.code_book.codes.code)
        while stack:
            code = stack.pop()
            names[code.guid] = code.name
            stack.extend(code.code)
    unknown = sorted({n for n in names.values() if n not in THEMES and n != CLEARED})
    with connect(store) as con:
        keys = con.execute("SELECT response_key, item, text FROM survey.free_text").fetchall()
        by_guid = {source_guid(k, i): (k, i, t) for k, i, t in keys}
        themes, quotes, seen = set(), [], set()
        for source in (project.sources.text_source if project.sources else []):
            if source.guid not in by_guid:
                continue
            key, item, text = by_guid[source.guid]
            seen.add((key, item))
            for coding in source.coding:
                name = names.get(coding.code_ref.target_guid)
                if name in THEMES:
                    themes.add((key, item, name))
            for selection in source.plain_text_selection:
                applied = {names.get(c.code_ref.target_guid) for c in selection.coding}
                themes.update((key, item, n) for n in applied if n in THEMES)
                if CLEARED in applied:
                    quotes.append((key, item, text[selection.start_position:selection.end_position]))
        used = {names.get(c.code_ref.target_guid) for s in (project.sources.text_source if project.sources else [])
                for c in [*s.coding, *[c for sel in s.plain_text_selection for c in sel.coding]]}
        refused = sorted(n for n in unknown if n in used)
        if refused:
            raise QdaRefused(f"{path.name}: codes not in the survey's code book: {', '.join(refused)}; merge them into "
                             f"its themes ({', '.join(THEMES)}) before importing")
        con.execute("CREATE TABLE IF NOT EXISTS survey.theme (response_key VARCHAR, item VARCHAR, theme VARCHAR)")
        con.execute("CREATE TABLE IF NOT EXISTS survey.coded (response_key VARCHAR, item VARCHAR)")
        con.execute("""CREATE TABLE IF NOT EXISTS survey.quote (response_key VARCHAR, item VARCHAR, text VARCHAR,
            cleared_at TIMESTAMP)""")
        con.execute("BEGIN TRANSACTION")
        try:
            answers = pa.table({"response_key": pa.array([k for k, _ in seen], pa.string()),
                                "item": pa.array([i for _, i in seen], pa.string())})
            con.register("coded_answers", answers)
            for table in ("theme", "quote", "coded"):
                con.execute(f"DELETE FROM survey.{table} AS t WHERE EXISTS (SELECT 1 FROM coded_answers AS c "
                            "WHERE c.response_key = t.response_key AND c.item = t.item)")
            con.execute("INSERT INTO survey.coded SELECT response_key, item FROM coded_answers")
            con.unregister("coded_answers")
            if themes:
                rows = sorted(themes)
                con.register("coded", pa.table({"response_key": [r[0] for r in rows], "item": [r[1] for r in rows],
                                                "theme": [r[2] for r in rows]}))
                con.execute("INSERT INTO survey.theme SELECT * FROM coded")
                con.unregister("coded")
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            for key, item, text in quotes:
                con.execute("INSERT INTO survey.quote VALUES (?, ?, ?, ?)", [key, item, text, now])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        parquet.refresh(con)
    return QdaImport(len(themes), len(quotes), len(seen))


#: The free-text questions, as the report labels a quotation's question.
QUESTION_LABELS = {"fft_why": "Why they gave that answer about the service",
                   "improve": "The one thing that would make the most difference"}


def cleared_quotes(store: str | Path) -> pa.Table | None:
    """The quotations a reviewer cleared (``survey.quote``), for ``write_publication(quotes=...)``: the
    area, the setting, the question and the words, in a fixed order. Nothing else of the respondent goes
    with them (no key, group, date or interviewer), so a quotation cannot be joined to a counted cell;
    a respondent who did not consent is never quoted. None when the store has no survey quotations."""
    from triangulate.store import connect, has_tables

    with connect(store, read_only=True) as con:
        if not has_tables(con, "survey", "quote", "response"):
            return None
        rows = con.execute("""SELECT r.area_code, r.setting, q.item, q.text FROM survey.quote AS q
            JOIN survey.response AS r USING (response_key) WHERE r.consent = 'yes' AND trim(q.text) <> ''
            GROUP BY ALL ORDER BY 1, 2, 3, 4""").fetchall()
    if not rows:
        return None
    return pa.table({"area_code": pa.array([r[0] for r in rows], pa.string()),
                     "setting": pa.array([r[1] for r in rows], pa.string()),
                     "question": pa.array([QUESTION_LABELS.get(r[2], r[2]) for r in rows], pa.string()),
                     "text": pa.array([r[3].strip() for r in rows], pa.string())})
