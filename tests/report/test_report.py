"""The health needs assessment: its figures are the published measures, its PDF renders, and small
areas show suppression rather than small counts."""

from __future__ import annotations

import csv
import re
import subprocess
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from triangulate.cli import app
from triangulate.publish.export import write_view
from triangulate.publish.publication import latest, publications_root
from triangulate.publish.view import DECISIONS as DECISION_WORDS
from triangulate.publish.view import View
from triangulate.report import ReportError, write_report
from triangulate.stats import per_100_reference


class Tables(HTMLParser):
    """Every table of a page by id: a list of rows, each a list of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> Tables:
    p = Tables()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def published(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


#: One worker builds this module's fixture and runs its tests (make test runs with --dist loadgroup): split
#: across two, each worker built it again.
pytestmark = pytest.mark.xdist_group("report")

@pytest.fixture(scope="module")
def html(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "report.html"
    steps = []
    result = write_report(store, out, progress=lambda d, c, t: steps.append(d))
    measures_dir = tmp_path_factory.mktemp("measures")
    write_view(latest(publications_root(store)), measures_dir, area="All areas", year="All years")
    return result, parse(out), measures_dir, steps


def _pct(text: str) -> str:
    return "*" if text == "*" else f"{float(text):.1f}"


def test_need_figures_in_the_report_are_the_published_measures(html):
    result, page, measures_dir, _ = html
    rows = page.tables["table-needs"][1:]
    expected = {(r["setting"].replace("_", " "), r["need_code"].replace("_", " ")): r
                for r in published(measures_dir, "need_prevalence") if r["breakdown"] == "all"}
    assert len(rows) >= 30
    for setting, need, with_need, people, pct, lower, upper, *_ in rows:
        r = expected[(setting, need)]
        assert with_need.replace(",", "") == r["people_with_need"] and people.replace(",", "") == r["people"]
        assert (pct, lower, upper) == (_pct(r["prevalence_percent"]), _pct(r["lower_95"]), _pct(r["upper_95"]))


def test_disproportionality_in_figures_and_in_words(html):
    _, page, measures_dir, _ = html
    rows = page.tables["table-disproportionality"][1:]
    expected = [r for r in published(measures_dir, "disproportionality")
                if r["breakdown"] == "ethnic_group_5" and r["significance"] != "reference group"]
    assert len(rows) == len(expected)
    got = {(d, g): rri for d, _, g, _, _, rri, *_ in rows}
    for r in expected:
        value = "*" if not r["rri"] or r["rri"] == "*" else f"{float(r['rri']):.2f}"
        assert got[(DECISION_WORDS[r["decision_point"]], r["group"])] in (value, "")
    from triangulate.report.findings import DECISIONS

    words = " ".join(" ".join(page.text).split())
    recommendations = words[words.rindex("Recommendations"):]
    shown = [r for r in expected if r["group"].startswith("Black") and r["rri"] not in ("", "*")]
    assert shown, "no published RRI for Black people to put in words"
    for r in shown:  # every published RRI for Black people is also said in words, from the same figure
        assert f"{per_100_reference(float(r['rri'])):.0f} Black people" in words
        if r["significance_998"].endswith("higher"):  # recommendations rest on the 99.8% flag
            assert f"being {DECISIONS[r['decision_point']]}" in recommendations
    assert "Minimum-volume rule" in words


def test_every_section_is_there_with_charts_beside_tables_and_recommendations_tied_to_evidence(html):
    result, page, _, steps = html
    words = " ".join(" ".join(page.text).split())
    from triangulate.publish.pages import PAGES

    for heading in ("Executive summary", "Easy read summary", "Population profile", *(p.title for p in PAGES),
                    "Methods and definitions", "Recommendations"):
        assert heading in words
    assert result.recommendations >= 1 and "Evidence:" in words
    # Recommendations: each once, each with a priority and an intercept of the Sequential Intercept Model,
    # and at most one about over-representation per intercept (not one per decision point and group).
    said = words[words.rindex("Recommendations"):]
    assert said.count("Priority: ") == result.recommendations
    assert said.count("Intercept ") >= result.recommendations
    assert said.count("are over-represented at the point of") <= 4
    items = re.findall(r"Priority: \w+ · (Intercept \d)[^·]*?: (.*?) Evidence:", said)
    assert len(items) == result.recommendations and len(set(items)) == len(items)
    # Easy read: a picture beside each sentence, numbers as "about k in n", no percentages.
    text = result.path.read_text(encoding="utf-8")
    easy = text[text.index('id="easy-read"'):text.index("</section>", text.index('id="easy-read"'))]
    assert easy.count("<li>") == easy.count("<svg") >= 5
    assert "%" not in re.sub(r"<svg.*?</svg>", "", easy, flags=re.S)
    for table in ("table-flows", "table-continuity", "table-funnel", "table-repeat", "table-coverage",
                  "table-population-ethnic_group_5"):
        assert len(page.tables[table]) > 2, table
    # Methods: every measure's definition as a block of labelled parts, not a table too wide to print.
    methods = text[text.index('id="methods"'):text.index("</section>", text.index('id="methods"'))]
    from triangulate.measures import measures

    assert methods.count('class="definition"') == len(measures()) and "<table" not in methods
    assert methods.count("<dt>Numerator</dt>") == methods.count('class="definition"')
    # Each setting's profile sits beside the area's resident population.
    ethnic = page.tables["table-population-ethnic_group_5"]
    assert ethnic[0][-1] == "Residents aged 10 and over (census)"
    assert sum(row[-1].replace(",", "").isdigit() for row in ethnic[1:]) >= 5
    text = result.path.read_text(encoding="utf-8")
    assert text.count("<svg") >= 5 and text.count('href="#table-') >= 5
    assert "<script" not in text and "@import" not in text and "url(http" not in text
    assert steps[0] == "Report: publication" and steps[-1] == "Report: done"


def test_the_pdf_has_a_contents_page_page_numbers_and_pages_that_are_not_blank(store, tmp_path):
    out = tmp_path / "report.pdf"
    result = write_report(store, out)
    assert result.kind == "pdf" and result.pages >= 10 and out.read_bytes()[:5] == b"%PDF-"
    contents = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(out), "-"], capture_output=True,
                              text=True, check=True).stdout
    assert "Contents" in contents and any(line.rstrip().endswith(" 3") for line in contents.splitlines())
    footer = subprocess.run(["pdftotext", "-f", "3", "-l", "3", str(out), "-"], capture_output=True,
                            text=True, check=True).stdout
    assert f"Page 3 of {result.pages}" in footer
    subprocess.run(["pdftoppm", "-r", "20", "-gray", "-f", "1", "-l", str(result.pages), str(out),
                    str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert len(pages) == result.pages
    for page in pages:
        data = page.read_bytes()
        pixels = data[data.index(b"255\n") + 4:]
        inked = sum(1 for b in pixels if b < 240)
        assert inked > 0.005 * len(pixels), f"{page.name} is blank"


def test_a_small_area_shows_suppression_not_small_counts(store, tmp_path):
    con = duckdb.connect(str(store), read_only=True)
    area = con.sql("SELECT area_code, count(*) n FROM content.prison_custody GROUP BY 1 ORDER BY n LIMIT 1").fetchall()[0][0]
    con.close()
    out = tmp_path / "small.html"
    write_report(store, out, area=area, year="2024/25")  # one area in one year: the smallest view
    page = parse(out)
    counted = 0
    for table_id, rows in page.tables.items():
        header = rows[0]
        for row in rows[1:]:
            for name, cell in zip(header, row):
                if name in ("People", "People with need", "Events", "With contact", "Releases", "Without contact"):
                    value = cell.replace(",", "")
                    assert value == "*" or value == "" or int(value) == 0 or int(value) >= 8, (table_id, name)
                    counted += 1
    assert counted > 20
    text = out.read_text(encoding="utf-8")
    assert ">*<" in text and "too few people" in text.lower()


def test_an_unwritable_output_is_refused_before_any_work(store, tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        write_report(store, tmp_path / "missing" / "report.pdf")
    with pytest.raises(ReportError, match=r"\.html or \.pdf"):
        write_report(store, tmp_path / "report.docx")
    # A path longer than any terminal line: the message must come out whole, whatever the width.
    missing = tmp_path / ("a-folder-that-is-not-there-" * 8) / "r.html"
    run = CliRunner().invoke(app, ["report", "--store", str(store), "--out", str(missing)])
    assert run.exit_code == 2
    assert str(missing) in run.output and "does not exist" in run.output


def test_the_command_writes_the_report_and_refuses_a_year_not_published(store, tmp_path):
    out = tmp_path / "r.html"
    run = CliRunner().invoke(app, ["report", "--store", str(store), "--out", str(out), "--title", "Test area HNA"])
    assert run.exit_code == 0, run.output
    assert "Test area HNA" in out.read_text(encoding="utf-8")
    assert "Wrote the health needs assessment (HTML" in " ".join(run.output.split())
    run = CliRunner().invoke(app, ["report", "--store", str(store), "--out", str(tmp_path / "e.html"),
                                   "--year", "2030/31"])
    assert run.exit_code == 2 and "No report written" in run.output and "Unknown financial year" in run.output
    assert not (tmp_path / "e.html").exists()


def test_the_report_shows_the_charts_drawn_into_the_publication(store, html, marked_drawings, tmp_path):
    result, _, _, _ = html
    published = latest(publications_root(store))
    assert published.has_charts
    from triangulate.report.build import SECTIONS

    slugs = tuple(SECTIONS)  # every page with a chart, the chapters across views among them
    assert {"needs", "disproportionality", "trends", "intersections"} <= set(slugs)
    drawn = [d for slug in slugs for d in published.charts_of(slug)]
    assert len(drawn) >= 4
    page = result.path.read_text(encoding="utf-8")
    for d in drawn:
        assert escape(d["caption"], quote=False) in page
    # Every view (each area and all areas; each year and the whole period) was drawn, unless it has nothing
    # to draw (an area present only as prisoners' area of residence, its few figures withheld).
    for a in published.areas:
        for y in published.years:
            sections = [SECTIONS[slug](View(published, a, y)) for slug in slugs]
            drawable = any(c.spec for s in sections for c in s.charts)
            assert any(published.charts_of(slug, a, y) for slug in slugs) == drawable, (a, y)
    assert any(published.charts_of(slug, published.areas[1], published.years[0]) for slug in slugs)
    # The report inlines the drawings the publication holds rather than drawing again.
    copy, mark = marked_drawings(published)
    out = tmp_path / "marked.html"
    write_report(copy, out)
    assert out.read_text(encoding="utf-8").count(mark) == len(drawn)


def test_a_held_drawing_under_another_caption_is_drawn_again_not_misplaced(store, marked_drawings, tmp_path):
    """A publication written by an earlier version may hold, in a chart's place, the drawing of a chart the
    page no longer has there: the report draws that chart again rather than show the wrong picture."""
    import hashlib
    import json

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    published = latest(publications_root(store))
    copy, mark = marked_drawings(published)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    path = copy / manifest["charts"]["file"]
    t = pq.read_table(path)
    first = pc.and_(pc.equal(t.column("page"), "needs"), pc.equal(t.column("chart"), 0))
    assert pc.sum(first.cast("int64")).as_py() >= 1
    captions = pc.if_else(first, pa.scalar("A chart this page no longer has"), t.column("caption"))
    pq.write_table(t.set_column(t.schema.get_field_index("caption"), "caption", captions), path)
    manifest["charts"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    from triangulate.publish.publication import read_publication

    moved = read_publication(copy)
    out = tmp_path / "report.html"
    write_report(copy, out)
    page = out.read_text(encoding="utf-8")
    from triangulate.report.build import SECTIONS

    held = [d for slug in SECTIONS for d in moved.charts_of(slug)]
    # Every held drawing is used but the one whose caption no longer matches its place ...
    assert page.count(mark) == len(held) - 1
    # ... and that chart is drawn again, under its own caption.
    needs_caption = next(c.caption for c in SECTIONS["needs"](View(moved, "All areas", "All years")).charts)
    assert escape(needs_caption, quote=False) in page and "A chart this page no longer has" not in page


def test_trends_read_each_year_of_the_publication_and_intersections_its_crossings(store, html):
    from triangulate.report.hna import INDICATORS

    _, page, _, _ = html
    publication = latest(publications_root(store))
    years = list(publication.years[1:])
    trends = page.tables["table-trends"]
    assert trends[0][1:1 + len(years)] == years and len(years) == 2
    by_label = {row[0]: row for row in trends[1:]}
    assert set(by_label) == {i.label for i in INDICATORS}
    people = by_label["People brought into police custody"]
    for k, year in enumerate(years):
        rows = View(publication, "All areas", year).plain_rows("need_prevalence", ("all",))
        expected = next(r["people"] for r in rows if r["setting"] == "police_custody" and r["need_code"] == "depression")
        assert people[1 + k].replace(",", "") == expected
    assert all(row[-1] in ("", "higher", "lower", "no clear change") for row in trends[1:])
    crossings = [r for r in View(publication).plain_rows("disproportionality", ("sex × ethnic_group_5",))
                 if r["decision_point"] == "police_custody"]
    table = page.tables["table-intersections-sex"]
    assert [row[0] for row in table[1:]] == [r["group"] for r in crossings]
    assert [row[2].replace(",", "") for row in table[1:]] == [r["base"] for r in crossings]
    words = " ".join(" ".join(page.text).split())
    if len(publication.areas) == 2:  # all areas and one: nothing to compare it with
        assert "This report covers one area" in words
    else:  # records of one area, and prisoners' areas of residence (continuity is attributed to them)
        assert len(page.tables["table-areas"]) == len(publication.areas) + 1


def test_unmet_need_sets_the_published_recorded_count_against_the_survey_rates_for_each_sex(store, html):
    from triangulate.measures.tables import expected_prevalence
    from triangulate.publish.view import need_label

    _, page, _, _ = html
    rows = View(latest(publications_root(store))).plain_rows("need_prevalence", ("all", "sex"))
    table = {row[0]: row for row in page.tables["table-unmet"][1:]}
    rates = {}
    for r in expected_prevalence():
        rates.setdefault(r["need_code"], {})[r["sex"]] = float(r["percent"]) / 100
    assert set(table) == {need_label(n) for n in rates}
    for need, by_sex in rates.items():
        mine = [r for r in rows if r["setting"] == "prison_custody" and r["need_code"] == need]
        whole = next(r for r in mine if r["breakdown"] == "all")
        row = table[need_label(need)]
        assert row[2].replace(",", "") == whole["people_with_need"]
        people = {r["group"]: r["people"] for r in mine if r["breakdown"] == "sex"}
        if all(people.get(s, "*") != "*" for s in by_sex):  # each sex shown: one expected number, worked here
            expected = sum(float(people[s]) * rate for s, rate in by_sex.items())
            assert row[3].replace(",", "") == f"{expected:.0f}"
            if whole["people_with_need"] != "*":
                assert row[4] == f"{float(whole['people_with_need']) / expected * 100:.0f}"
        else:
            assert row[3] == "*" or " to " in row[3] or row[3].replace(",", "").isdigit()


def test_charts_name_needs_and_settings_in_words_not_codes(store):
    """The charts a commissioner reads label needs and settings as the tables do ("Personality disorder",
    "Prison"), not by their codes ("personality disorder", "prison custody")."""
    from triangulate.report.build import SECTIONS
    from triangulate.report.findings import SETTINGS
    from triangulate.standard import codelist

    published = latest(publications_root(store))
    view = View(published, "All areas", "All years")
    needs = SECTIONS["needs"](view).charts[0].spec["data"]["values"]
    labels = {r["label"] for r in codelist("need").rows} | {"Anxiety or depression", "Any need"}
    assert needs and {v["category"] for v in needs} <= labels
    flows = SECTIONS["pathway"](view).charts[0].spec["data"]["values"]
    assert flows and {v["to"] for v in flows} <= set(SETTINGS.values()) | {"Left the records"}
    assert not any("_" in v["to"] or v["to"][0].islower() for v in flows)


def test_methods_leave_out_pointers_to_our_code_and_docs():
    from triangulate.report.build import for_readers

    assert for_readers("Wilson score interval at 95% (triangulate.stats.proportion), from the counts.") == \
        "Wilson score interval at 95%, from the counts."
    assert for_readers("controlled together (docs/disclosure.md); rates") == "controlled together; rates"
    kept = "the area of residence (residence_area_code, from data standard 1.1)"
    assert for_readers(kept) == kept
