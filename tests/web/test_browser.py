"""The dashboard in a real browser (Debian's chromium through Playwright), served on loopback."""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .conftest import PASSWORD, short_tempdir

#: One worker builds this module's fixture and runs its tests (make test runs with --dist loadgroup): split
#: across two, each worker built it again.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AXE = Path(__file__).with_name("vendor") / "axe.min.js"


@pytest.fixture(scope="module")
def server(site):
    from django.core.wsgi import get_wsgi_application
    from waitress import create_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    httpd = create_server(get_wsgi_application(), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    scratch = short_tempdir("chromium-")  # Chromium's singleton socket lives under TMPDIR
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"],
                              env={**os.environ, "TMPDIR": str(scratch)})
        yield b
        b.close()
    shutil.rmtree(scratch, ignore_errors=True)


def _login(browser, server, role: str, **context):
    ctx = browser.new_context(accept_downloads=True, **context)
    page = ctx.new_page()
    page.goto(f"{server}/login/")
    page.fill("#username", f"test-{role}")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return ctx, page


def test_a_viewer_changes_a_filter_sees_chart_and_table_change_exports_and_is_refused(browser, server, site):
    import duckdb

    con = duckdb.connect(str(site["store"]), read_only=True)
    area = con.sql("SELECT area_code FROM content.police_custody GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]
    con.close()
    ctx, page = _login(browser, server, "viewer")
    assert page.locator("h1").inner_text() == "Overview"
    page.goto(f"{server}/funnel/")
    before_table = page.locator("#table-ld_funnel").inner_text()
    before_chart = page.locator("figure.chart img").get_attribute("src")
    page.select_option("#area", area)  # HTMX swaps the figures in place and puts the filter in the URL
    page.wait_for_function("a => location.search.includes('area=' + a)", arg=area)
    page.wait_for_function("src => document.querySelector('figure.chart img').getAttribute('src') !== src",
                           arg=before_chart)
    assert page.locator("#table-ld_funnel").inner_text() != before_table
    assert f"area={area}" in page.locator("figure.chart img").get_attribute("src")
    # the new drawing has loaded (its src changes first; on a busy machine the image arrives later)
    page.wait_for_function("() => document.querySelector('figure.chart img').complete")
    assert page.evaluate("() => document.querySelector('figure.chart img').naturalWidth") > 100
    with page.expect_download() as download:
        page.click("text=CSV >> nth=0")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows and set(rows[0]) >= {"ld_setting", "step", "people"}
    refused = page.goto(f"{server}/admin/audit/")
    assert refused.status == 403 and "do not have access" in page.content()
    ctx.close()


def _check_glance(page) -> dict[str, str]:
    """Every verdict of the overview's headline table read back against the figures beside it (Fingertips'
    rule for the comparison; first and last shown year for the trend); the verdicts by figure."""
    import re

    verdicts = {}
    rows = page.locator("#headline tbody tr")
    years = page.locator("#headline thead th").all_inner_texts()[4:]
    assert len(years) == 2  # the site's two financial years, each a column
    for i in range(rows.count()):
        cells = rows.nth(i).locator("th, td").all_inner_texts()
        label, value, compared, trend, by_year = cells[0], cells[1], cells[2], cells[3], cells[4:]
        assert len(by_year) == len(years)
        interval = re.search(r"\(([-\d.]+) to ([-\d.]+)\)", value)
        against = re.search(r"all areas: ([-\d.]+)", compared)
        verdict = compared.split("\n")[0].strip()
        if "(%)" in label:
            assert verdict in ("higher", "similar", "lower", "not compared"), (label, compared)
        if interval and against:
            low, high, whole = float(interval[1]), float(interval[2]), float(against[1])
            expected = "higher" if low > whole else "lower" if high < whole else "similar"
            assert verdict == expected, (label, value, compared)
        shown = [float(v.replace(",", "")) for v in by_year if v not in ("*", "")]
        if trend.strip() == "higher":
            assert shown[-1] > shown[0], (label, by_year)
        elif trend.strip() == "lower":
            assert shown[-1] < shown[0], (label, by_year)
        verdicts[label] = verdict
    return verdicts


@pytest.mark.parametrize("role,start", [("viewer", "/"), ("analyst", "/?unsuppressed=1")])
def test_a_new_user_sees_how_their_area_compares_and_whether_it_is_changing_in_one_click(browser, server, site,
                                                                                        role, start):
    """Issue 16's question, "how does my area compare, and is it getting better?": from the page a user
    lands on, one click on their area shows each headline figure beside all areas and by financial year,
    with a verdict in words (and colour) that agrees with the figures shown."""
    ctx, page = _login(browser, server, role)
    if start != "/":
        page.goto(f"{server}{start}")
    area = site["areas"][0]
    page.click(f".area-links a[href*='area={area}']")  # the one click
    page.wait_for_load_state()
    assert f"area={area}" in page.url and "at a glance" in page.locator("#h-summary").inner_text()
    assert area in page.locator("#h-summary").inner_text()  # the area's label holds its code
    assert page.locator(".summary p").count() >= 1
    verdicts = _check_glance(page)
    if role == "analyst":  # unsuppressed: every percentage is compared, and the sentences name what differs
        assert all(v in ("higher", "similar", "lower") for k, v in verdicts.items() if "(%)" in k), verdicts
        summary = page.locator(".summary").inner_text()
        for k, v in verdicts.items():
            if v in ("higher", "lower") and "(%)" in k:
                assert k.replace(" (%)", "") in summary
    ctx.close()


def test_a_chart_is_explored_in_the_page_under_the_csp_with_tooltips_and_the_keyboard(browser, server):
    """"Explore this chart" draws the chart with the vendored Vega in the page (its expressions through
    vega-interpreter: the CSP has no unsafe-eval, and no violation is reported), a mark under the mouse
    shows its figures, and with the chart focused the arrow keys read each figure into the live region;
    the button then switches back to the still chart."""
    ctx, page = _login(browser, server, "analyst")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{server}/needs/?unsuppressed=1")
    figure = page.locator("figure.chart").first
    assert figure.locator("img").is_visible() and figure.locator(".chart-live").is_hidden()
    figure.locator("button.chart-explore").click()
    figure.locator(".chart-live svg .mark-symbol, .chart-live svg .mark-rect, .chart-live svg .mark-rule").first.wait_for()
    assert figure.locator("img").is_hidden() and figure.locator(".chart-live").is_visible()
    assert not [p for p in problems if "Content Security Policy" in p or "unsafe-eval" in p or "Refused" in p], problems
    assert page.evaluate("() => typeof window.vega.View === 'function' && !!window.vegaExpressionInterpreter")
    # a tooltip: the mouse over a mark puts its figures in a title the browser shows
    marks = figure.locator(".chart-live svg .role-mark path")
    titled = "() => !!document.querySelector('.chart-live [title], .chart-live[title]')"
    for i in range(marks.count()):  # the first mark with figures under the pointer (some paths are empty)
        box = marks.nth(i).bounding_box()
        if box and box["width"] * box["height"] > 0:
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_timeout(50)
            if page.evaluate(titled):
                break
    title = page.evaluate("() => (document.querySelector('.chart-live [title], .chart-live[title]') || {}).title")
    assert title and ": " in title  # "Group: Depression\nSetting: Police custody\nLower limit: 18.2 ..."
    names = {line.split(": ")[0] for line in title.splitlines()}
    assert not names & {"category", "setting", "value", "lower", "upper", "group"}, title  # a reader's words
    # the keyboard: focus the chart, arrow right, and the first figure is read out
    figure.locator(".chart-live").focus()
    page.keyboard.press("ArrowRight")
    status = figure.locator(".chart-status")
    assert status.inner_text().startswith("Figure 1 of ")
    page.keyboard.press("ArrowRight")
    assert status.inner_text().startswith("Figure 2 of ")
    figure.locator("button.chart-explore").click()
    assert figure.locator("img").is_visible() and figure.locator(".chart-live").is_hidden()
    assert not problems, problems
    ctx.close()


def test_a_screener_uploads_a_court_list(browser, server, site, tmp_path):
    with site["population"].files["court_appearance"].open(encoding="utf-8", newline="") as fh:
        court = [r for r in csv.DictReader(fh) if r["family_name"] and len(r["date_of_birth"]) == 10][:8]
    listed = tmp_path / "list.csv"
    with listed.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["given_name", "family_name", "date_of_birth", "postcode", "pnc_id", "location", "time"])
        w.writerows([r["given_name"], r["family_name"], r["date_of_birth"], r["postcode"], r["pnc_id"],
                     r["court_code"], "09:30"] for r in court)
    ctx, page = _login(browser, server, "screener")
    assert "/screening/" in page.url
    page.set_input_files("#list", str(listed))
    page.click("button[type=submit] >> text=Screen the list")
    page.wait_for_selector("#screening-result")
    assert page.locator("#screening-result tbody tr").count() == 8
    ctx.close()


PAGES_BY_ROLE = {
    "viewer": ["/", "/needs/", "/unmet/", "/disproportionality/", "/intersections/", "/pathway/", "/continuity/", "/funnel/",
               "/repeat/", "/provision/", "/survey/", "/trends/", "/areas/", "/quality/", "/glossary/"],
    "analyst": ["/link-quality/", "/needs/?unsuppressed=1"],
    "screener": ["/screening/"],
    "admin": ["/admin/users/", "/admin/audit/"],
}


def test_axe_finds_no_serious_or_critical_violation_on_any_page(browser, server):
    problems = []
    for role, urls in PAGES_BY_ROLE.items():
        # axe is injected by the test (not served to users), so this context lets the script in.
        ctx, page = _login(browser, server, role, bypass_csp=True)
        for url in urls:
            page.goto(f"{server}{url}")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
            for v in result["violations"]:
                if v["impact"] in ("serious", "critical"):
                    problems.append((url, v["id"], v["impact"], len(v["nodes"])))
        ctx.close()
    ctx = browser.new_context(bypass_csp=True)
    page = ctx.new_page()
    page.goto(f"{server}/login/")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    problems += [("/login/", v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    ctx.close()
    assert problems == []


def test_no_request_leaves_the_server(browser, server):
    seen = []
    ctx = browser.new_context()
    ctx.on("request", lambda request: seen.append(request.url))
    page = ctx.new_page()
    page.goto(f"{server}/login/")
    page.fill("#username", "test-analyst")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    for url in PAGES_BY_ROLE["viewer"] + PAGES_BY_ROLE["analyst"]:
        page.goto(f"{server}{url}")
        page.wait_for_load_state("networkidle")
    ctx.close()
    hosts = {urlparse(u).hostname for u in seen if not u.startswith(("data:", "blob:"))}
    assert len(seen) > 20 and hosts == {"127.0.0.1"}


#: Where the page screenshots are kept (a test artefact): TRIANGULATE_ARTEFACTS, else test-artefacts/ in the checkout.
ARTEFACTS = Path(os.environ.get("TRIANGULATE_ARTEFACTS") or Path(__file__).resolve().parents[2] / "test-artefacts")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 390, "height": 844}}


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_every_page_fits_its_width_and_is_photographed(browser, server, width):
    """At a desktop and a phone width, no page is wider than the window (a wide table scrolls inside its
    own region, which is labelled and focusable); each page is photographed whole for a person to look at."""
    folder = ARTEFACTS / "screenshots" / width
    folder.mkdir(parents=True, exist_ok=True)
    too_wide, carded = [], 0
    for role in ("viewer", "analyst"):
        ctx, page = _login(browser, server, role, viewport=WIDTHS[width])
        for url in PAGES_BY_ROLE[role]:
            page.goto(f"{server}{url}")
            page.wait_for_load_state("networkidle")
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            cards = page.evaluate("() => [...document.querySelectorAll('.nhsuk-table-responsive tbody tr')]"
                                  ".map(r => getComputedStyle(r).display)")
            # the headline figures at a glance: a card per figure on a phone, a table row on a desktop
            assert set(cards) <= ({"block"} if width == "mobile" else {"table-row"}), (url, cards)
            carded += len(cards)
            if overflow > 0:
                too_wide.append((url, overflow))
            name = url.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "overview"
            shot = folder / f"{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", url
        ctx.close()
    assert too_wide == [] and carded > 0
