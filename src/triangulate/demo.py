"""The demo: the main job end to end on the embedded default (synthetic data, DuckDB file).

Each stage of the pipeline (synthesise, ingest, link, measure, report, dashboard) is a step here, so
``make demo`` always shows the whole product working on data anyone may see.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table

from triangulate.stats import per_100_reference

DEMO_KEY_NOTE = (
    "A demo pseudonymisation key was generated for this synthetic data and kept in {path}, "
    "outside the store. Real data needs a key of its own (TRIANGULATE_KEY or --key-file)."
)


def demo_key(out_dir: Path) -> tuple[bytes, Path | None]:
    """The key for the demo: ``TRIANGULATE_KEY`` if set, else a random key kept beside the store.

    The key file is created once and reused, so re-running the demo keeps record keys stable.
    """
    env = os.environ.get("TRIANGULATE_KEY")
    if env:
        return env.encode("utf-8"), None
    path = out_dir / "demo.key"
    if not path.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip().encode("utf-8"), path


DEMO_SECRET_NOTE = (
    "Linking on encodings (--encoded): a demo secret for the encodings was generated and kept in {path} "
    "(mode 600). A real project's secret is made once, shared only with the agencies that encode, and "
    "never stored with the data (docs/linkage.md, \"Linkage without names\")."
)


def demo_secret(out_dir: Path) -> Path:
    """The demo's secret for linkage on encodings: random, kept beside the store (mode 600), reused."""
    path = out_dir / "demo.secret"
    if not path.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="ascii")
    path.chmod(0o600)
    return path


#: Survey responses the demo synthesises (the issue asks for 90 to 300 across the three settings).
DEMO_RESPONSES = 240


def demo_survey(store: Path, folder: Path, *, key: bytes, seed: int, years: list[str] | None = None) -> str:
    """Synthesise the needs and experience survey of the busiest area over the last year of the data (or
    the last financial year published), as ODK Central exports it, and ingest it like a real export;
    returns what was done, in words."""
    import datetime as dt

    from triangulate.store import connect
    from triangulate.survey import ingest_responses, load_form
    from triangulate.survey.exports import Layout, write_export
    from triangulate.survey.synthetic import code_synthetic_free_text, synthetic_responses

    with connect(store, read_only=True) as con:
        area = con.execute("SELECT area_code FROM content.police_custody GROUP BY 1 ORDER BY count(*) DESC, 1 "
                           "LIMIT 1").fetchone()[0]
        last = con.execute("SELECT max(arrival_date) FROM content.police_custody").fetchone()[0]
    last = last if isinstance(last, dt.date) else dt.date.fromisoformat(str(last)[:10])
    if years:
        last = min(last, dt.date(int(sorted(years)[-1][:4]) + 1, 3, 31))
    form = load_form().without_licensed()
    responses = synthetic_responses(DEMO_RESPONSES, seed=seed, form=form, start=last - dt.timedelta(days=364), days=364)
    export = write_export(Layout("odk", form), responses, folder / "survey_odk.csv")
    report = ingest_responses(export, store, key, area=area, form=form, today=last + dt.timedelta(days=1))
    coded, themes = code_synthetic_free_text(store, folder)
    return (f"{report.rows_in:,} synthetic survey responses for {area} (prison, secure hospital and community "
            f"interviews, {last - dt.timedelta(days=364):%d %b %Y} to {last:%d %b %Y}) as ODK Central exports them: "
            f"{report.loaded:,} loaded, {report.rejected:,} rejected, from {export} "
            "(`triangulate survey form` writes the questionnaire for ODK, KoboToolbox and REDCap); "
            f"{coded:,} free-text answers coded into {themes:,} themes through a REFI-QDA file, as a coder would "
            "in NVivo or MAXQDA (`triangulate survey qda-export` / `qda-import`)")


def run_demo(out_dir: Path, *, people: int, seed: int, console: Console, progress_bars,
             years: list[str] | None = None, encoded: bool = False) -> Path:
    """The main job on synthetic data; ``encoded`` links on Bloom-filter encodings (``link --secret``)."""
    from triangulate.ingest import ingest
    from triangulate.store import connect, summary
    from triangulate.synth import write_synthetic_extracts

    out_dir = Path(out_dir)
    synthetic = out_dir / "synthetic"
    store = out_dir / "triangulate.duckdb"
    console.rule("1. Synthesise")
    with progress_bars() as progress:
        result = write_synthetic_extracts(synthetic, people=people, seed=seed, fmt="csv",
                                          noise="default", progress=progress)
    console.print(f"{sum(result.records.values()):,} records for {result.people:,} synthetic people "
                  f"in {result.seconds:.1f} s; ground truth kept apart in {result.truth_file}")

    console.rule("2. Ingest")
    key, key_path = demo_key(out_dir)
    if key_path is not None:
        console.print(DEMO_KEY_NOTE.format(path=key_path))
    # A fresh store each run, so the accounting shown is this run's.
    for stale in (store, store.with_name(store.name + ".wal"), store.with_name(store.name + ".rejects")):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    paths = [result.files[t] for t in result.files if t != "population"] + [result.files["population"]]
    with progress_bars() as progress:
        report = ingest(paths, store, key, progress=progress)
    console.print(report.accounting_table())

    console.rule("3. Link")
    from triangulate.link import evaluate, link

    secret = None
    if encoded:
        from triangulate.link.encode import load_secret

        secret_path = demo_secret(out_dir)
        console.print(DEMO_SECRET_NOTE.format(path=secret_path))
        secret = load_secret(secret_path)
    with progress_bars() as progress:
        linked = link(store, progress=progress, secret=secret)
    for line in linked.lines():
        console.print(line, markup=False)
    quality = evaluate(store, result.truth_file)
    console.print(
        f"Link quality against the synthetic truth: pairwise precision {quality['precision']:.4f}, "
        f"recall {quality['recall']:.4f}, F1 {quality['f1']:.4f}; "
        f"{quality['people_split']:.2%} of true people split across person keys, "
        f"{quality['clusters_mixing_people']:,} person keys mixing two or more true people")

    console.rule("4. What is in the store")
    with connect(store, read_only=True) as con:
        facts = summary(con)
    console.print(summary_tables(facts))
    console.print(f"Store: {store}")

    console.rule("5. The service directory")
    from triangulate.derived import derived_tables
    from triangulate.survey.qda import cleared_quotes
    from triangulate.provision import import_directory, published_directory
    from triangulate.synth.directory import write_synthetic_directory

    sheet = write_synthetic_directory(out_dir / "synthetic" / "service-directory.csv", people=people, seed=seed)
    imported = import_directory(sheet, store, by="demo")
    console.print(f"{imported.services_in_file:,} synthetic services on the Sequential Intercept Model imported from "
                  f"{sheet} (the commissioner's template; `triangulate provision template` writes a blank one)",
                  markup=False, soft_wrap=True)

    console.rule("6. The needs and experience survey")
    survey_note = demo_survey(store, out_dir / "synthetic", key=key, seed=seed, years=years)
    console.print(survey_note, markup=False, soft_wrap=True)

    console.rule("7. Publish")
    from triangulate.disclosure import NHS_ENGLAND
    from triangulate.publish.export import write_view
    from triangulate.publish.publication import write_publication
    from triangulate.publish.view import View
    from triangulate.report.build import draw_charts

    with progress_bars() as progress:
        published = write_publication(store, rule=NHS_ENGLAND, progress=progress, years=years, charts=draw_charts,
                                      directory=published_directory, derived=derived_tables, quotes=cleared_quotes)
    protection = published.manifest["protection"]
    console.print(f"Publication {published.version}: every measure for every area, year and group, "
                  f"disclosure-controlled together under the NHS England rule ({protection['primary']:,} small "
                  f"counts suppressed, {protection['secondary']:,} more to protect them): {published.folder}",
                  markup=False, soft_wrap=True)
    write_view(published, out_dir / "measures", area="All areas", year="All years")
    for table in headline_tables(View(published)):
        console.print(table)
    console.print(f"All areas, whole period, as CSV with its metadata: {out_dir / 'measures'}", markup=False,
                  soft_wrap=True)

    console.rule("8. Report")
    from triangulate.report import write_report

    with progress_bars() as progress:
        report_result = write_report(store, out_dir / "health-needs-assessment.pdf",
                                     title="Health needs assessment: synthetic area", progress=progress)
    console.print(f"Health needs assessment ({report_result.pages} pages, {report_result.recommendations} "
                  f"recommendations) written in {report_result.seconds:.1f} s:")
    console.print(str(report_result.path), markup=False, soft_wrap=True)

    console.rule("9. Dashboard")
    start_dashboard(store, console, serve=not os.environ.get(NO_SERVE))
    return store


#: Set this to run the demo without leaving the dashboard running (tests, CI).
NO_SERVE = "TRIANGULATE_DEMO_NO_SERVE"
DASHBOARD_HOST, DASHBOARD_PORT = "127.0.0.1", 8000


def start_dashboard(store: Path, console: Console, *, serve: bool) -> None:
    """Set up the dashboard on the demo store, print its address and the demo users, and serve."""
    from triangulate.web import server

    # Plain HTTP on loopback for the demo only; production serves over HTTPS (docs/dashboard.md).
    server.configure(store, app_db=store.with_name("triangulate-web.sqlite3"), insecure_cookies=True)
    server.migrate()
    users = server.demo_users()
    table = Table(title="Demo users (synthetic data only; new passwords each run)", title_justify="left")
    for column in ("user", "role", "password"):
        table.add_column(column)
    for name, password in users.items():
        table.add_row(name, name.removeprefix("demo-"), password)
    console.print(table)
    address = f"http://{DASHBOARD_HOST}:{DASHBOARD_PORT}/"
    if serve:
        console.print(f"Dashboard: {address} (Ctrl+C stops it)")
        server.serve(DASHBOARD_HOST, DASHBOARD_PORT)
    else:
        console.print(f"Dashboard ready (not started: {NO_SERVE} is set); `triangulate serve --store {store}` "
                      f"serves it at {address}", markup=False, soft_wrap=True)


#: The decision points the headline shows, in pathway order.
HEADLINE_DECISIONS = ("police_custody", "s136", "mha_detention", "ld_screened", "court", "remand",
                      "custodial_sentence", "prison_reception")
HEADLINE_SETTINGS = ("police_custody", "liaison_diversion", "court_appearance", "prison_custody",
                     "probation_supervision")
HEADLINE_NEEDS = ("depression", "anxiety", "psychosis", "self_harm", "substance_misuse", "alcohol_misuse")


WITHHELD = "withheld"


def _interval(row: dict[str, str], value: str, fmt: str, joiner: str) -> tuple[str, str] | None:
    from triangulate.report.findings import number

    figures = [number(row[c]) for c in (value, "lower_95", "upper_95")]
    if any(f is None for f in figures):
        return None
    v, lo, hi = figures
    return f"{v:{fmt}}", f"{lo:{fmt}}{joiner}{hi:{fmt}}"


def headline_tables(view) -> list[Table]:
    """Headline figures of one view of the publication (as its CSV export holds them), so the demo
    shows exactly what leaves the store."""
    rri = Table(title="Relative rate index, Black vs White people (ONS 2021 high-level groups; "
                      "base: the previous stage, or the resident population)", title_justify="left")
    for column in ("decision point", "base", "events", "RRI", "95% CI", "for every 100 White people",
                   "significance"):
        rri.add_column(column, justify="left" if column in ("decision point", "base", "significance") else "right")
    rows = {r["decision_point"]: r for r in view.plain_rows("disproportionality", ("ethnic_group_5",))
            if r["reference_group"] == "White" and r["group"].startswith("Black")}
    for decision in HEADLINE_DECISIONS:
        r = rows.get(decision)
        if r is None:
            continue
        figures = _interval(r, "rri", ".2f", " to ")
        value, ci = figures or (WITHHELD, WITHHELD)
        per_100 = f"{per_100_reference(float(r['rri'])):.0f}" if figures else WITHHELD
        rri.add_row(decision.replace("_", " "), r["base_stage"].replace("_", " "), r["events"] or "*", value,
                    ci, per_100, r["significance"] or "")

    needs = Table(title="People with each need, % (95% CI), all people in each setting", title_justify="left")
    needs.add_column("need")
    for setting in HEADLINE_SETTINGS:
        needs.add_column(setting.replace("_", " "), justify="right")
    prevalence = {(r["setting"], r["need_code"]): r for r in view.plain_rows("need_prevalence", ("all",))}
    for need in HEADLINE_NEEDS:
        cells = []
        for setting in HEADLINE_SETTINGS:
            figures = _interval(prevalence[(setting, need)], "prevalence_percent", ".1f", "-") \
                if (setting, need) in prevalence else None
            cells.append(f"{figures[0]} ({figures[1]})" if figures else WITHHELD)
        needs.add_row(need.replace("_", " "), *cells)
    continuity = Table(title="Continuity of care: releases from prison of people with a mental health need "
                             "followed by a community mental health contact", title_justify="left")
    for column in ("within", "releases", "with contact", "%", "95% CI"):
        continuity.add_column(column, justify="left" if column == "within" else "right")
    for r in view.plain_rows("continuity_of_care", ("all",)):
        figures = _interval(r, "percent_with_contact", ".1f", "-")
        value, ci = figures or (WITHHELD, WITHHELD)
        continuity.add_row(r["window"], r["releases"], r["with_contact"], value, ci)
    return [rri, needs, continuity]


#: Titles that say what is counted: records, not people (people exist only after linkage).
SUMMARY_TITLES = {
    "records_per_table": "Records per table",
    "ethnic_mix": "Ethnic mix of agency records, as each agency recorded it (NHS 2001 groups: Chinese under Other)",
    "needs_recorded": "Needs recorded (rows of the need table)",
}


def summary_tables(facts) -> Table:
    """One table per fact the summary returns, one under another."""
    grid = Table.grid(padding=(0, 4))
    columns = []
    for key, rows in facts.items():
        t = Table(title=SUMMARY_TITLES.get(key, key.replace("_", " ").capitalize()), title_justify="left")
        if not rows:
            continue
        header = list(rows[0].keys())
        for h in header:
            t.add_column(h.replace("_", " "), justify="right" if isinstance(rows[0][h], (int, float)) else "left")
        for r in rows:
            t.add_row(*(f"{v:,}" if isinstance(v, int) else (f"{v:.1f}" if isinstance(v, float) else str(v))
                        for v in r.values()))
        columns.append(t)
    for t in columns:
        grid.add_row(t)
    return grid
