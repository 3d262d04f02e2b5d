"""The dashboard through Django's test client: roles, audit, disclosure, exports, security, screening."""

from __future__ import annotations

import csv
import io
from html import escape
import os
import subprocess
import sys

import pytest

from .conftest import PASSWORD

PAGES = ["/", "/needs/", "/unmet/", "/disproportionality/", "/intersections/", "/pathway/", "/continuity/", "/funnel/", "/repeat/",
         "/trends/", "/areas/", "/quality/", "/glossary/"]
ANALYST_ONLY = ["/link-quality/", "/needs/?unsuppressed=1", "/export/need_prevalence.csv?unsuppressed=1"]
SCREENER_ONLY = ["/screening/"]
ADMIN_ONLY = ["/admin/audit/", "/admin/audit.csv", "/admin/users/"]
EXPORTS = ["/export/need_prevalence.csv", "/export/disproportionality.xlsx"]


def _events(**where):
    from triangulate.web.models import AuditEvent

    return list(AuditEvent.objects.filter(**where))


@pytest.mark.parametrize("role, allowed, refused", [
    ("viewer", PAGES + EXPORTS, ANALYST_ONLY + SCREENER_ONLY + ADMIN_ONLY),
    ("analyst", PAGES + EXPORTS + ANALYST_ONLY, SCREENER_ONLY + ADMIN_ONLY),
    ("screener", SCREENER_ONLY, ["/needs/", "/quality/", "/glossary/"] + EXPORTS + ANALYST_ONLY + ADMIN_ONLY),
    ("admin", ADMIN_ONLY, ["/needs/", "/continuity/"] + EXPORTS + ANALYST_ONLY + SCREENER_ONLY),
])
def test_each_role_sees_its_pages_and_gets_403_on_every_other(client_for, role, allowed, refused):
    c = client_for(role)
    for url in allowed:
        assert c.get(url).status_code == 200, (role, url)
    for url in refused:
        assert c.get(url).status_code == 403, (role, url)
    assert _events(user_name=f"test-{role}", event="refused")


def test_every_page_is_in_the_navigation_by_its_title(client_for):
    from triangulate.publish.pages import PAGES as PAGE_LIST

    page = client_for("viewer").get("/").content.decode()
    for p in PAGE_LIST:
        assert f'<a href="/{p.slug}/">{p.title}</a>' in page


def test_anonymous_users_are_sent_to_log_in(client_for):
    c = client_for(None)
    for url in PAGES[1:] + EXPORTS + ADMIN_ONLY + SCREENER_ONLY:
        response = c.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_viewers_see_only_disclosure_controlled_counts(client_for):
    c = client_for("viewer")
    rows = list(csv.DictReader(io.StringIO(c.get("/export/need_prevalence.csv").content.decode())))
    assert rows
    for r in rows:
        for column in ("people_with_need", "people"):
            value = r[column]
            assert value == "*" or int(value) == 0 or (int(value) >= 8 and int(value) % 5 == 0)


def test_analysts_may_see_unsuppressed_figures_and_it_is_marked_and_audited(client_for):
    c = client_for("analyst")
    page = c.get("/needs/?unsuppressed=1").content.decode()
    assert "Unsuppressed figures: not for publication" in page
    rows = list(csv.DictReader(io.StringIO(c.get("/export/need_prevalence.csv?unsuppressed=1").content.decode())))
    assert any(r["people"] not in ("*", "0") and int(r["people"]) % 5 for r in rows)
    assert any(e.detail.get("unsuppressed") for e in _events(user_name="test-analyst", event="export"))


def test_filters_live_in_the_url_and_change_the_figures(client_for, site):
    import duckdb

    con = duckdb.connect(str(site["store"]), read_only=True)
    area = con.sql("SELECT area_code FROM content.police_custody GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]
    con.close()
    c = client_for("viewer")
    everyone = c.get("/export/coverage.csv").content.decode()
    one_area = c.get(f"/export/coverage.csv?area={area}").content.decode()
    assert everyone != one_area
    page = c.get(f"/quality/?area={area}").content.decode()
    assert f'value="{area}" selected' in page and f"area={area}" in page  # the export links keep the filters
    page_views = _events(user_name="test-viewer", event="page view", path="/quality/")
    assert any(e.detail.get("filters") == {"area": area} for e in page_views)


@pytest.mark.parametrize("query, name", [
    ("area=E09999999", "area"), ("year=2030/31", "year"), ("breakdown=postcode", "breakdown"),
    ("breakdown=sex&group=Martian", "group"), ("group=Female", "group")])
def test_a_filter_value_the_publication_does_not_have_is_a_400_that_names_the_filter(client_for, query, name):
    c = client_for("viewer")
    for url in (f"/needs/?{query}", f"/?{query}", f"/export/need_prevalence.csv?{query}"):
        response = c.get(url)
        assert response.status_code == 400, url
        assert f"The {name} filter" in response.content.decode(), url
        assert "Traceback" not in response.content.decode()


def test_the_dashboard_export_is_the_publication_view(client_for, site):
    from triangulate.publish.export import write_view
    from triangulate.publish.publication import latest, publications_root

    published = latest(publications_root(site["store"]))
    out = site["folder"] / "view"
    write_view(published, out, area="All areas", year="All years")
    exported = list(csv.DictReader(io.StringIO(
        client_for("viewer").get("/export/disproportionality.csv").content.decode())))
    with (out / "disproportionality.csv").open(encoding="utf-8", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert exported and exported == written


def test_a_publication_file_changed_after_publishing_is_refused_not_shown(site, tmp_path):
    import shutil

    from triangulate.publish.publication import PublicationError, latest, publications_root, read_publication

    published = latest(publications_root(site["store"]))
    copy = tmp_path / published.version
    shutil.copytree(published.folder, copy)
    target = copy / published.entry("need_prevalence")["file"]
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(PublicationError, match="checksum differs"):
        read_publication(copy).table("need_prevalence")
    target.unlink()
    with pytest.raises(PublicationError, match="is missing"):
        read_publication(copy).table("need_prevalence")


def test_the_chart_is_the_one_drawn_into_the_publication_and_a_changed_drawing_is_refused(client_for, site,
                                                                                         marked_drawings):
    from triangulate.publish.publication import PublicationError, latest, publications_root, read_publication

    published = latest(publications_root(site["store"]))
    area = site["areas"][0]
    held = published.charts_of("needs", area, "All years")
    assert held and held[0]["caption"]
    viewer = client_for("viewer")
    page = viewer.get(f"/needs/?area={area}").content.decode()
    assert held[0]["caption"] in page
    svg = viewer.get(f"/chart/needs.svg?area={area}").content.decode()
    assert svg == held[0]["svg"].replace('role="img" aria-hidden="true" focusable="false" ', "", 1)
    # The analysts' publication was written without drawings: its chart is drawn on demand.
    assert viewer.get("/chart/needs.svg").status_code == 200
    assert client_for("analyst").get("/chart/needs.svg?unsuppressed=1").content.decode().startswith("<svg")
    # The page's chart is the drawing the publication holds, not one drawn again.
    from triangulate.web import data

    copy, mark = marked_drawings(published)
    held_copy = data.charts("needs", data.Filters(area=area), read_publication(copy))
    assert held_copy[0][0] == held[0]["svg"] + mark
    target = copy / "charts.parquet"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(PublicationError, match="charts.parquet .*checksum differs"):
        read_publication(copy).check()


def test_exports_neutralise_spreadsheet_formulas():
    from openpyxl import load_workbook

    from triangulate.web.export import neutralise, xlsx_response

    assert neutralise("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert [neutralise(v) for v in ("+1+1", "@SUM(A1)", "-cmd", "-2.5", "plain")] == [
        "'+1+1", "'@SUM(A1)", "'-cmd", "-2.5", "plain"]
    response = xlsx_response("t", [{"a": "=1+1", "b": "12"}])
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A2"].value == "'=1+1" and sheet["A2"].data_type == "s" and sheet["B2"].value == 12


def test_logins_are_audited_and_repeated_failures_lock_the_account(client_for, site):
    from triangulate.web import server

    server.create_user("test-locked", "viewer", PASSWORD, by="tests")
    c = client_for(None)
    for _ in range(5):
        assert c.post("/login/", {"username": "test-locked", "password": "wrong password"}).status_code == 401
    response = c.post("/login/", {"username": "test-locked", "password": PASSWORD})
    assert response.status_code == 401 and "locked" in response.content.decode()
    assert len(_events(user_name="test-locked", event="login failed")) == 5
    assert _events(user_name="test-locked", event="login refused: locked")
    before = len(_events(user_name="test-viewer", event="login"))
    client_for("viewer")
    assert len(_events(user_name="test-viewer", event="login")) == before + 1


def test_the_audit_log_is_append_only_in_the_model_and_in_the_database(site):
    from django.db import connection, transaction

    from triangulate.web.models import AppendOnlyError, AuditEvent, record

    event = record("tests", AuditEvent.PAGE, "/x")
    event.event = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(event="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    replace = ("INSERT OR REPLACE INTO triangulate_web_auditevent (id, at, user_name, event, path, detail) "
               f"VALUES ({event.pk}, '2020-01-01 00:00:00', 'someone', 'rewritten', '/y', '{{}}')")
    for sql in (f"UPDATE triangulate_web_auditevent SET event = 'x' WHERE id = {event.pk}",
                f"DELETE FROM triangulate_web_auditevent WHERE id = {event.pk}", replace):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.get(pk=event.pk).event == AuditEvent.PAGE


def test_admins_can_read_and_export_the_audit_log(client_for):
    c = client_for("admin")
    assert "login" in c.get("/admin/audit/").content.decode()
    rows = list(csv.DictReader(io.StringIO(c.get("/admin/audit.csv").content.decode())))
    assert {"at", "user", "event", "path", "detail"} <= set(rows[0])


def test_forms_need_csrf_and_responses_carry_security_headers(site):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login/", {"username": "test-viewer", "password": PASSWORD}).status_code == 403
    page = strict.get("/login/")
    csp = page["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page["X-Frame-Options"] == "DENY" and page["X-Content-Type-Options"] == "nosniff"
    import re

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.content.decode(), re.S)
    assert scripts and all(re.search(r'src="/static/', attrs) and not body.strip() for attrs, body in scripts)
    assert page.cookies["csrftoken"]["samesite"] == "Strict"
    token = page.cookies["csrftoken"].value
    response = strict.post("/login/", {"username": "test-viewer", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["httponly"]


def test_style_sheets_scripts_and_charts_are_compressed_but_pages_are_not(client_for):
    """The page weight: static files and chart drawings travel gzipped (the NHS.UK style sheet is most of a
    page); a page is sent uncompressed, since a compressed page carrying the CSRF token or the session's
    figures leaks them through its length (BREACH)."""
    import gzip

    c = client_for("viewer")
    for path in ("/static/web/vendor/nhsuk.css", "/static/web/charts.js", "/chart/needs.svg"):
        response = c.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200 and response["Content-Encoding"] == "gzip", path
        plain = c.get(path)  # a client that does not ask for gzip gets the file as it is
        whole = b"".join(plain.streaming_content) if plain.streaming else plain.content
        assert not plain.has_header("Content-Encoding") and gzip.decompress(body) == whole, path
        assert len(body) < len(whole) / 2, path
    for path in ("/needs/", "/export/need_prevalence.csv", "/login/"):
        response = c.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate")
        assert response.status_code == 200 and not response.has_header("Content-Encoding"), path


def test_production_settings_pass_check_deploy(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "triangulate.web.settings",
           "TRIANGULATE_STORE": str(tmp_path / "s.duckdb"), "TRIANGULATE_WEB_DB": str(tmp_path / "app.sqlite3"),
           "TRIANGULATE_SECRET_KEY": "x" * 30 + "a-long-random-looking-secret-for-the-check-only-9f2c",
           "TRIANGULATE_ALLOWED_HOSTS": "dashboard.example.nhs.uk"}
    env.pop("TRIANGULATE_INSECURE_COOKIES", None)
    env.pop("TRIANGULATE_DEBUG", None)
    run = subprocess.run([sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_a_screener_uploads_a_court_list_and_downloads_the_result(client_for, site):
    population = site["population"]
    with population.files["court_appearance"].open(encoding="utf-8", newline="") as fh:
        court = [r for r in csv.DictReader(fh) if r["family_name"] and len(r["date_of_birth"]) == 10][:15]
    buffer = io.StringIO()
    w = csv.writer(buffer)
    w.writerow(["given_name", "family_name", "date_of_birth", "postcode", "pnc_id", "location", "time"])
    w.writerows([r["given_name"], r["family_name"], r["date_of_birth"], r["postcode"], r["pnc_id"],
                 r["court_code"], "10:00"] for r in court)
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = client_for("screener")
    page = c.post("/screening/", {"list": SimpleUploadedFile("list.csv", buffer.getvalue().encode(), "text/csv")})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Who to see first (15 people)" in text and "authorised" in text
    link = text.split('href="/screening/result/')[1].split('"')[0]
    result = c.get(f"/screening/result/{link}")
    assert result.status_code == 200 and len(list(csv.DictReader(io.StringIO(result.content.decode())))) == 15
    assert _events(user_name="test-screener", event="upload")
    bad = c.post("/screening/", {"list": SimpleUploadedFile("list.csv", b"given_name,family_name\nA,B\n", "text/csv")})
    assert bad.status_code == 400 and "field date_of_birth: required column is missing" in bad.content.decode()


def test_createuser_takes_the_password_from_the_environment_and_checks_it(site, tmp_path):
    env = {**os.environ, "TRIANGULATE_PASSWORD": "tiny-pw"}
    args = [sys.executable, "-m", "triangulate", "createuser", "someone", "--role", "viewer",
            "--store", str(site["store"]), "--app-db", str(tmp_path / "app.sqlite3")]
    run = subprocess.run(args, env=env, capture_output=True, text=True)
    assert run.returncode == 2 and "No user created" in run.stderr and "tiny-pw" not in run.stderr
    env["TRIANGULATE_PASSWORD"] = PASSWORD
    run = subprocess.run(args, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "User someone has the role viewer" in run.stdout and PASSWORD not in run.stdout + run.stderr


def test_the_breakdown_filter_shows_one_breakdown_and_its_groups(client_for):
    c = client_for("viewer")
    every = c.get("/disproportionality/").content.decode()
    nineteen = c.get("/disproportionality/?breakdown=ethnic_group_19").content.decode()
    women = c.get("/disproportionality/?breakdown=sex+%C3%97+ethnic_group_5&group=Female%3B+White").content.decode()
    assert "<td>Ethnic group (19 categories)</td>" in every and "<td>Ethnic group (5 groups)</td>" in every
    assert "<td>Ethnic group (5 groups)</td>" not in nineteen and "<td>Ethnic group (19 categories)</td>" in nineteen
    assert '<option value="ethnic_group_19" selected>' in nineteen
    assert "<td>Female; White</td>" in women and "<td>Male; White</td>" not in women


def test_the_overview_offers_no_breakdown_and_shows_the_reports_headline_figures_by_year(client_for, site):
    """The overview's headline figures are the report's: the same figures in the same order, and each
    financial year's values those of the report's trends chapter for the same area."""
    from html.parser import HTMLParser

    from triangulate.publish.publication import latest, publications_root
    from triangulate.publish.view import View
    from triangulate.report.hna import INDICATORS, trends_section

    area = site["areas"][0]
    page = client_for("viewer").get(f"/?area={area}").content.decode()
    assert 'id="breakdown"' not in page and 'id="headline"' in page
    assert 'id="breakdown"' in client_for("viewer").get("/needs/").content.decode()

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self._cell, self._in_body, self._hidden = [], None, False, 0

        def handle_starttag(self, tag, attrs):
            if tag == "span" and (self._hidden or ("aria-hidden", "true") in attrs):
                self._hidden += 1  # a phone's card heading inside the cell, not the cell's figure
            elif tag == "tbody":
                self._in_body = True
            elif tag == "tr" and self._in_body:
                self.rows.append([])
            elif tag in ("th", "td") and self._in_body:
                self._cell = []

        def handle_endtag(self, tag):
            if tag == "span" and self._hidden:
                self._hidden -= 1
            elif tag in ("th", "td") and self._cell is not None and self.rows:
                self.rows[-1].append(" ".join("".join(self._cell).split()))
                self._cell = None
            elif tag == "tbody":
                self._in_body = False

        def handle_data(self, data):
            if self._cell is not None and not self._hidden:
                self._cell.append(data)

    table = page[page.index('id="headline"'):page.index("</table>", page.index('id="headline"'))]
    parser = Rows()
    parser.feed("<table " + table + "</table>")
    assert [r[0] for r in parser.rows] == [i.label for i in INDICATORS]
    published = latest(publications_root(site["store"]))
    report = trends_section(View(published, area, published.years[0])).tables[0]
    years = len(published.years) - 1
    assert [r[4:4 + years] for r in parser.rows] == [[c or "*" for c in r[1:1 + years]] for r in report.rows]


def test_the_areas_page_is_the_report_chapter_from_the_same_publication(client_for, site):
    from triangulate.publish.publication import latest, publications_root
    from triangulate.publish.view import View

    page = client_for("viewer").get("/areas/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="table-areas"' in html
    published = latest(publications_root(site["store"]))
    for area in published.areas:  # each area's people in police custody, as the publication has it
        rows = View(published, area, "All years").plain_rows("need_prevalence", ("all",))
        people = next(r["people"] for r in rows if r["setting"] == "police_custody" and r["need_code"] == "depression")
        shown = people if people == "*" else f"{int(people):,}"
        label = escape(published.area_label(area), quote=False)  # "Southwark (E09000028)": the census names it
        assert f"<th scope=\"row\">{label}</th><td class=\"num\">{shown}</td>" in html
    assert all(f"{published.manifest['area_names'][a]} ({a})" in html for a in published.areas[1:])
    # Every chart of the chapter is on the page, each its own image: the spine chart and the funnel plots.
    # (At 800 people the published figures of two areas are withheld, so the analysts' view has them.)
    from triangulate.web import data

    analyst = client_for("analyst")
    unsuppressed = data.publication(unsuppressed=True)
    drawn = data.charts("areas", data.Filters(), unsuppressed)
    assert len(drawn) >= 2 and "spine chart" in drawn[0][1]
    html = analyst.get("/areas/?unsuppressed=1").content.decode()
    for i, (svg, caption, _, _) in enumerate(drawn):
        src = f"/chart/areas{f'-{i}' if i else ''}.svg"
        assert f'<img src="{src}?' in html and escape(caption, quote=True) in html
        got = analyst.get(f"{src}?unsuppressed=1").content.decode()
        assert got == svg.replace('role="img" aria-hidden="true" focusable="false" ', "", 1)
    assert analyst.get(f"/chart/areas-{len(drawn)}.svg?unsuppressed=1").status_code == 404
    assert analyst.get("/chart/areas-0.svg?unsuppressed=1").status_code == 404  # the first chart has one address
    trends = client_for("viewer").get("/trends/").content.decode()
    assert "one financial year" in trends  # this publication has one year: no trend to draw
    assert client_for("viewer").get("/areas/?area=nowhere").status_code == 400


def test_the_survey_page_shows_its_areas_cleared_quotations_and_no_other(client_for, site):
    from triangulate.publish.publication import latest, publications_root
    from triangulate.survey.qda import QUESTION_LABELS

    published = latest(publications_root(site["store"]))
    quotes = published.quotes.to_pylist()
    assert quotes and {q["area_code"] for q in quotes} == {site["areas"][0]}  # the survey was of the first area
    viewer = client_for("viewer")
    html = viewer.get("/survey/").content.decode()
    assert 'id="table-survey-quotes"' in html
    for q in quotes:
        assert f"<td>{escape(q['question'], quote=False)}</td><td>{escape(q['text'], quote=False)}</td>" in html
    body = html.split('id="table-survey-quotes"')[1].split("</table>")[0]
    assert body.count("<tr>") == len(quotes) + 1  # the head and one row for each: no other answer is quoted
    answered = sum(1 for r in site["survey"] for k in QUESTION_LABELS if r["answers"].get(k))
    assert len(quotes) < answered  # one cleared answer for each coded phrase, not every answer given
    other = viewer.get(f"/survey/?area={site['areas'][1]}").content.decode()
    assert "<h1" in other and 'id="table-survey-quotes"' not in other  # no survey there, no quotation


def test_the_survey_page_sets_the_answers_beside_the_records_as_the_report_does(client_for, site):
    """Probable depression said in prison beside depression or anxiety recorded, by ethnic group: the same
    table, with the same figures, as the report's chapter for the view."""
    from triangulate.publish.publication import latest, publications_root
    from triangulate.publish.view import View
    from triangulate.report.survey import NOT_WEIGHTED, beside_the_records

    html = client_for("viewer").get("/survey/").content.decode()
    assert 'id="beside"' in html and 'id="table-survey-records"' in html
    published = latest(publications_root(site["store"]))
    expected, notes = beside_the_records(View(published))  # the page's default view: all areas, all years
    table = next(t for t in expected if t.id == "table-survey-records")
    body = html.split('id="table-survey-records"')[1].split("</table>")[0]
    assert body.count("<tr>") == len(table.rows) + 1
    for row in table.rows:
        assert f'<th scope="row">{escape(str(row[0]), quote=False)}</th>' in body
    # Where no share could be weighted the table is absent and the page says why, as the chapter does;
    # where some could, the weighted table is there.
    beside = html.split('id="beside"')[1].split('<section id="quotes"')[0]
    weighted = any(t.id == "table-survey-weighted" for t in expected)
    assert weighted == ('id="table-survey-weighted"' in beside)
    assert weighted != (escape(NOT_WEIGHTED, quote=False) in beside)
    assert bool(notes) != weighted


@pytest.mark.parametrize("password", ["passwordpassword", "test-weaktest-weak", "test-weak2024!!", "Password2024!",
                                      "!!dragon1234", "aaaaaaaaaaaa1"])
def test_predictable_passwords_are_refused_and_the_message_does_not_repeat_them(site, password):
    from django.core.exceptions import ValidationError

    from triangulate.web import server

    with pytest.raises(ValidationError) as refused:
        server.create_user("test-weak", "viewer", password, by="tests")
    assert password not in " ".join(refused.value.messages)


def test_a_passphrase_is_accepted(site):
    from triangulate.web import server

    server.create_user("test-passphrase", "viewer", "marble otter lantern 1987 quietly", by="tests")


def test_each_tables_definition_is_one_click_away_and_the_glossary_has_every_measure(client_for):
    """Beside each measure's table, a closed "Definition and method" holds its registration (the same text as
    docs/measures.md); the glossary lists every word it relies on and every registered measure with its page."""
    from triangulate.measures import measures
    from triangulate.publish.pages import PAGES as PAGE_LIST
    from triangulate.web.glossary import TERMS

    c = client_for("viewer")
    registered = {m.name: m for m in measures()}
    for p in PAGE_LIST:
        page = c.get(f"/{p.slug}/").content.decode()
        for name in p.measures:
            m = registered[name]
            start = page.index(f'<details class="nhsuk-details" id="about-{name}">')
            details = page[start:page.index("</details>", start)]
            assert "<summary" in details and " open" not in details[:80]  # one click: closed until asked
            for heading, text in (("Definition", m.definition), ("Numerator", m.numerator),
                                  ("Denominator", m.denominator), ("Method", m.method), ("Caveats", m.caveats),
                                  ("National definition and source", m.source)):
                assert f"<dt>{heading}</dt><dd>{escape(text, quote=True)}</dd>" in details, (name, heading)
            assert '<a href="/glossary/">' in details
    glossary = c.get("/glossary/").content.decode()
    for term, meaning in TERMS:
        assert f">{escape(term, quote=True)}</dt><dd>{escape(meaning, quote=True)}</dd>" in glossary
    shown_on = {name: p for p in PAGE_LIST for name in p.measures}
    for name, m in registered.items():
        start = glossary.index(f'<section id="measure-{name}"')
        section = glossary[start:glossary.index("</section>", start)]
        assert escape(m.definition, quote=True) in section
        if name in shown_on:
            assert f'<a href="/{shown_on[name].slug}/#h-{name}">{shown_on[name].title}</a>' in section
    assert '<a href="/glossary/"' in c.get("/").content.decode()  # in the navigation


def test_a_long_table_is_paged_and_its_pages_hold_every_row_once_in_order(client_for, site):
    """The needs table (every breakdown, all areas) runs to many rows: shown ROWS_SHOWN at a time, with links
    to the pages before and after that keep the filters; read page by page it is the export, row for row."""
    import re

    from triangulate.web.data import ROWS_SHOWN

    c = client_for("viewer")
    exported = list(csv.reader(io.StringIO(c.get("/export/need_prevalence.csv").content.decode("utf-8-sig"))))
    total = len(exported) - 1
    assert total > 2 * ROWS_SHOWN
    pages = -(-total // ROWS_SHOWN)
    seen, url = [], "/needs/"
    for number in range(1, pages + 1):
        html = c.get(url).content.decode()
        assert f"rows {(number - 1) * ROWS_SHOWN + 1} to {min(number * ROWS_SHOWN, total)} of {total}" in html
        body = html.split('id="table-need_prevalence"')[1].split("</tbody>")[0].split("<tbody>")[1]
        seen += re.findall(r"<tr>(.*?)</tr>", body)
        nxt = re.search(r'href="(\?[^"]*page-need_prevalence=\d+[^"]*)#h-need_prevalence"><span class="nhsuk-pagination__title">Next', html)
        if number < pages:
            url = "/needs/" + nxt.group(1).replace("&amp;", "&")
        else:
            assert nxt is None
    # Every row of the whole table once, in its order (the table the export is made from, as the page words it).
    from triangulate.publish.publication import latest, publications_root
    from triangulate.publish.view import View
    from triangulate.web.data import Filters

    _, rows = Filters().rows(View(latest(publications_root(site["store"])), "All areas", "All years"),
                             "need_prevalence", text=True)
    assert len(rows) == total
    columns = [k for k in rows[0] if k not in ("area", "year")]
    figures = {"people_with_need", "people", "prevalence_percent", "lower_95", "upper_95"}  # right-aligned
    assert seen == ["".join(f'<td class="num">{escape(r[k], quote=True)}</td>' if k in figures
                            else f"<td>{escape(r[k], quote=True)}</td>" for k in columns) for r in rows]
    # The links keep every other filter; a page the table does not have is refused, saying which pages it has.
    html = c.get("/needs/?year=All+years&page-need_prevalence=2").content.decode()
    assert "year=All+years" in html.split("nhsuk-pagination__link--next")[1].split(">")[0]
    for bad in (str(pages + 1), "0", "x", "-1"):
        response = c.get(f"/needs/?page-need_prevalence={bad}")
        assert response.status_code == 400 and f"pages 1 to {pages}" in response.content.decode()


def test_a_table_is_ordered_by_a_figure_across_all_its_pages_largest_first_then_smallest(client_for):
    """A figure's heading is a link: the first click orders every row of the table (not only the page shown)
    by it, largest first and withheld figures last, and says so (aria-sort); the next click, smallest first.
    Any other order asked for is refused with the parameter named."""
    import re

    c = client_for("analyst")

    def column(html: str, index: int) -> list[str]:
        body = html.split('id="table-need_prevalence"')[1].split("</tbody>")[0].split("<tbody>")[1]
        return [re.findall(r"<td[^>]*>(.*?)</td>", row)[index] for row in re.findall(r"<tr>(.*?)</tr>", body)]

    def value(text: str) -> float | None:
        return None if text in ("*", "") else float(text.replace(",", ""))

    plain = c.get("/needs/?unsuppressed=1").content.decode()
    head = plain.split('id="table-need_prevalence"')[1].split("</thead>")[0]
    headings = re.findall(r"<th[^>]*>(.*?)</th>", head)
    index = next(i for i, h in enumerate(headings) if h.startswith('<a href') and "Prevalence (%)" in h)
    link = re.search(r'href="([^"]+)"', headings[index]).group(1).replace("&amp;", "&")
    assert "sort-need_prevalence=-prevalence_percent" in link and "aria-sort" not in head
    largest = c.get("/needs/" + link.split("#")[0]).content.decode()
    assert 'aria-sort="descending"' in largest
    shown = [value(v) for v in column(largest, index)]
    numbers = [v for v in shown if v is not None]
    assert len(numbers) > 10 and numbers == sorted(numbers, reverse=True)
    assert shown[:len(numbers)] == numbers  # withheld last
    # the largest of the whole table, not of the first page: no row of any later page is larger
    everything = c.get("/export/need_prevalence.csv?unsuppressed=1").content.decode("utf-8-sig")
    exported = [float(r["prevalence_percent"]) for r in csv.DictReader(io.StringIO(everything))
                if r["prevalence_percent"] not in ("", "*")]
    assert numbers[0] == max(exported)
    again = re.search(r'href="([^"]*sort-need_prevalence=prevalence_percent[^"]*)"', largest).group(1)
    smallest = c.get("/needs/" + again.replace("&amp;", "&").split("#")[0]).content.decode()
    assert 'aria-sort="ascending"' in smallest
    numbers = [v for v in (value(x) for x in column(smallest, index)) if v is not None]
    assert numbers == sorted(numbers) and numbers[0] == min(exported)
    for bad in ("need_code", "-nothing", "prevalence_percent;drop"):
        response = c.get(f"/needs/?unsuppressed=1&sort-need_prevalence={bad}")
        assert response.status_code == 400 and "ordered by one of its figures" in response.content.decode()


def test_each_chart_is_also_a_vega_specification_with_tooltips_from_the_same_figures(client_for, site):
    """"Explore this chart" fetches /chart/<page>[-n].json: the Vega specification compiled from the chart the
    publication holds (its Vega-Lite specification was kept beside the SVG), every mark with a tooltip; the
    request is audited, its filters checked like a page's, and a chart that is not there is a 404."""
    import json
    import re

    from triangulate.publish.publication import latest, publications_root
    from triangulate.web.models import AuditEvent

    published = latest(publications_root(site["store"]))
    held = published.charts_of("needs", "All areas", "All years")
    assert held and held[0]["spec"]
    viewer = client_for("viewer")
    page = viewer.get("/needs/").content.decode()
    link = re.search(r'data-spec="(/chart/needs\.json\?[^"]*)"', page).group(1).replace("&amp;", "&")
    before = AuditEvent.objects.filter(event=AuditEvent.CHART).count()
    response = viewer.get(link)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    spec = json.loads(response.content)
    assert "vega/v6" in spec["$schema"] and spec["marks"]
    assert '"tooltip"' in response.content.decode()  # every mark carries its figures
    # the figures are the publication's chart's own: every value of its data is in the Vega data
    source = json.loads(held[0]["spec"])
    values = source["data"]["values"] if "data" in source and "values" in source["data"] else []
    carried = set()

    def numbers(x):
        if isinstance(x, dict):
            for v in x.values():
                numbers(v)
        elif isinstance(x, list):
            for v in x:
                numbers(v)
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            carried.add(float(x))

    numbers([d.get("values") for d in spec["data"]])
    assert values
    for row in values:
        for v in row.values():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                assert float(v) in carried, v
    assert AuditEvent.objects.filter(event=AuditEvent.CHART).count() == before + 1
    assert viewer.get("/chart/needs-9.json").status_code == 404
    assert viewer.get("/chart/nowhere.json").status_code == 404
    bad = viewer.get("/chart/needs.json?area=E99999999")
    assert bad.status_code == 400 and "area" in bad.content.decode()
    # The analysts' publication holds no drawings: its chart is compiled from the section drawn on demand.
    analyst = client_for("analyst").get("/chart/needs.json?unsuppressed=1")
    assert analyst.status_code == 200 and json.loads(analyst.content)["marks"]
    assert client_for("viewer").get("/chart/needs.json?unsuppressed=1").status_code == 403


def test_a_figure_page_opens_with_its_own_headline_figures_at_a_glance(client_for, site):
    """Summary first: a figure page whose measures have headline figures opens with them (beside all areas
    and by year) before its chart and table; a page whose measures have none goes straight to the chart."""
    import re

    from triangulate.report.hna import INDICATORS

    c = client_for("viewer")
    area = site["areas"][0]
    for slug, measure in (("needs", "need_prevalence"), ("continuity", "continuity_of_care"),
                          ("disproportionality", "disproportionality")):
        html = c.get(f"/{slug}/?area={area}").content.decode()
        first = html.index('id="glance"')
        assert first < html.index(f'id="table-{measure}"')
        assert "<figure" not in html or first < html.index("<figure")  # (a chart may be withheld here)
        body = html.split('id="glance"')[1].split("</tbody>")[0]
        assert re.findall(r'<th scope="row">(.*?)</th>', body) == [
            escape(i.label, quote=True) for i in INDICATORS if i.measure == measure]
        assert "At a glance: " in html and area in html.split('id="h-summary"')[1].split("</h2>")[0]
    assert 'id="glance"' not in c.get("/pathway/").content.decode()
