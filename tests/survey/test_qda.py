"""Free text to a qualitative coding tool and back (REFI-QDA): the file holds the answers and no
respondent detail, and the codes a coder applies come back as themes, quotations only where a reviewer
cleared them."""

from __future__ import annotations

import datetime as dt
import uuid
import zipfile
from pathlib import Path

import duckdb
import pytest
from pyrefiqda import RefiProject
from pyrefiqda.models import project as m

from triangulate.survey import ingest_responses, load_form
from triangulate.survey.exports import Layout, write_export
from triangulate.survey.qda import CLEARED, QdaRefused, export_free_text, import_themes
from triangulate.survey.synthetic import synthetic_responses

KEY = b"survey-qda-key-".ljust(48, b"q")
FORM = load_form().without_licensed()


@pytest.fixture
def exported(tmp_path: Path):
    responses = synthetic_responses(120, seed=21, form=FORM)
    store = tmp_path / "store.duckdb"
    path = write_export(Layout("odk", FORM), responses, tmp_path / "odk.csv")
    ingest_responses(path, store, KEY, area="E09000022", form=FORM, today=dt.date(2026, 6, 1))
    qdpx = tmp_path / "out" / "free-text.qdpx"
    count = export_free_text(store, qdpx)
    texts = [a for r in responses for item, a in r["answers"].items() if item in ("fft_why", "improve") and a]
    return store, qdpx, count, texts, responses


def _code(project, name: str) -> str:
    return next(c.guid for c in project.code_book.codes.code if c.name == name)


def _coding(guid: str) -> m.CodingType:
    return m.CodingType(guid=str(uuid.uuid4()), code_ref=m.CodeRefType(target_guid=guid))


def test_the_export_holds_every_answer_and_nothing_about_the_respondent(exported, tmp_path) -> None:
    store, qdpx, count, texts, responses = exported
    assert count == len(texts) > 10
    assert oct(qdpx.stat().st_mode & 0o777) == "0o600"
    project = RefiProject.load(qdpx, extract_dir=str(tmp_path / "x"))
    assert sorted(s.plain_text_content for s in project.sources.text_source) == sorted(texts)
    raw = zipfile.ZipFile(qdpx).read("project.qde").decode("utf-8")
    con = duckdb.connect(str(store), read_only=True)
    keys = [k for (k,) in con.execute("SELECT response_key FROM survey.response").fetchall()]
    con.close()
    assert not any(k in raw for k in keys)  # no response key
    assert not any(r["id"].removeprefix("uuid:") in raw for r in responses)  # no submission id
    assert "eth_" not in raw and "age_" not in raw  # no respondent's groups


def test_codes_come_back_as_themes_and_only_cleared_selections_as_quotations(exported, tmp_path) -> None:
    store, qdpx, _, _, _ = exported
    project = RefiProject.load(qdpx, extract_dir=str(tmp_path / "x"))
    family, language, cleared = _code(project, "family"), _code(project, "language"), _code(project, CLEARED)
    expected_family = expected_language = 0
    quote = None
    for source in project.sources.text_source:
        text = source.plain_text_content
        if "family" in text:
            source.coding.append(_coding(family))
            expected_family += 1
        if "language" in text:
            start = text.index("language")
            selection = m.PlainTextSelectionType(guid=str(uuid.uuid4()), start_position=start,
                                                 end_position=start + len("language"), coding=[_coding(language)])
            if quote is None:
                selection.coding.append(_coding(cleared))
                quote = text[start:start + len("language")]
            source.plain_text_selection.append(selection)
            expected_language += 1
    coded = tmp_path / "coded.qdpx"
    RefiProject.save(project, coded)
    result = import_themes(coded, store)
    assert expected_family > 0 and expected_language > 0
    con = duckdb.connect(str(store), read_only=True)
    themes = dict(con.execute("SELECT theme, count(*) FROM survey.theme GROUP BY 1").fetchall())
    quotes = con.execute("SELECT text FROM survey.quote").fetchall()
    con.close()
    assert themes == {"family": expected_family, "language": expected_language}
    assert quotes == [(quote,)] and result.quotes == 1
    again = import_themes(coded, store)  # importing again replaces, never doubles
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM survey.theme").fetchone()[0] == again.themes == sum(themes.values())
    con.close()


def test_a_code_outside_the_code_book_is_refused_by_name(exported, tmp_path) -> None:
    store, qdpx, _, _, _ = exported
    project = RefiProject.load(qdpx, extract_dir=str(tmp_path / "x"))
    extra = m.CodeType(guid=str(uuid.uuid4()), name="Hope", is_codable=True)
    project.code_book.codes.code.append(extra)
    project.sources.text_source[0].coding.append(_coding(extra.guid))
    coded = tmp_path / "coded.qdpx"
    RefiProject.save(project, coded)
    with pytest.raises(QdaRefused) as refused:
        import_themes(coded, store)
    assert "Hope" in str(refused.value) and "coded.qdpx" in str(refused.value)
    broken = tmp_path / "broken.qdpx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(QdaRefused):
        import_themes(broken, store)


def test_the_themes_measure_counts_respondents_per_theme_and_the_code_books_agree(exported, tmp_path) -> None:
    from triangulate.measures import Base, connect, measures
    from triangulate.measures.survey import THEMES as MEASURED
    from triangulate.survey.qda import THEMES

    assert tuple(THEMES) == MEASURED
    store, qdpx, _, _, responses = exported
    project = RefiProject.load(qdpx, extract_dir=str(tmp_path / "x"))
    family = _code(project, "family")
    for source in project.sources.text_source:
        if "family" in source.plain_text_content:
            source.coding.append(_coding(family))
    coded = tmp_path / "coded.qdpx"
    RefiProject.save(project, coded)
    import_themes(coded, store)
    # Worked from the answers: respondents (consenting, with free text) by setting, and those mentioning family.
    with_text, with_family = {}, {}
    for r in responses:
        a = r["answers"]
        texts = [a[i] for i in ("fft_why", "improve") if a.get(i)]
        if a["consent"] != "yes" or not texts:
            continue
        with_text[a["setting"]] = with_text.get(a["setting"], 0) + 1
        if any("family" in t for t in texts):
            with_family[a["setting"]] = with_family.get(a["setting"], 0) + 1
    con = connect(store)
    try:
        measure = next(x for x in measures() if x.name == "survey_themes")
        fine = {k: v.to_pyarrow().to_pylist() for k, v in measure.build(Base(con)).items()}
    finally:
        con.disconnect()
    got_coded, got_family = {}, {}
    for row in fine["coded"]:
        got_coded[row["setting"]] = got_coded.get(row["setting"], 0) + row["n"]
    for row in fine["mentioned"]:
        assert row["theme"] == "family"
        got_family[row["setting"]] = got_family.get(row["setting"], 0) + row["n"]
    assert got_coded == with_text and got_family == with_family


def test_only_cleared_quotations_of_consenting_respondents_leave_the_store_and_without_the_respondent(
        exported, tmp_path) -> None:
    from triangulate.survey.qda import QUESTION_LABELS, cleared_quotes

    store, qdpx, _, _, _ = exported
    assert cleared_quotes(store) is None  # nothing cleared yet
    project = RefiProject.load(qdpx, extract_dir=str(tmp_path / "x"))
    cleared = _code(project, CLEARED)
    chosen, seen = [], set()
    for source in project.sources.text_source:  # three answers with different words
        if source.plain_text_content not in seen and len(chosen) < 3:
            seen.add(source.plain_text_content)
            chosen.append(source)
    for source in chosen:
        text = source.plain_text_content
        source.plain_text_selection.append(m.PlainTextSelectionType(
            guid=str(uuid.uuid4()), start_position=0, end_position=len(text), coding=[_coding(cleared)]))
    coded = tmp_path / "coded.qdpx"
    RefiProject.save(project, coded)
    import_themes(coded, store)
    con = duckdb.connect(str(store))
    keys = [k for (k,) in con.execute("SELECT response_key FROM survey.response").fetchall()]
    withdrawn = con.execute("SELECT response_key FROM survey.quote ORDER BY text LIMIT 1").fetchone()[0]
    con.execute("UPDATE survey.response SET consent = 'no' WHERE response_key = ?", [withdrawn])
    con.close()
    table = cleared_quotes(store)
    assert table.column_names == ["area_code", "setting", "question", "text"]
    rows = table.to_pylist()
    assert len(rows) == 2  # the withdrawn one is not quoted
    assert {r["text"] for r in rows} < {s.plain_text_content.strip() for s in chosen}
    assert {r["question"] for r in rows} <= set(QUESTION_LABELS.values())
    assert {r["area_code"] for r in rows} == {"E09000022"}
    flat = repr(rows)
    assert not any(k in flat for k in keys)
