"""Write the health needs assessment: a publication -> sections -> HTML or PDF."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from triangulate.publish.pages import PAGES, page
from triangulate.publish.view import words

from . import charts
from .findings import (DECISIONS, HEADLINE_NEEDS, SETTINGS, SUPPRESSED, Findings, derive, fmt_percent, number,
                       read_published, rri_sentence)

Progress = Callable[[str, int, int], None]
KINDS = {".html": "html", ".htm": "html", ".pdf": "pdf"}
STEPS = ("publication", "findings", "charts", "render")
TOO_FEW = "There were too few people in this area and period to report this section without risk of identifying anyone."


class ReportError(Exception):
    """The report cannot be written; the message says what to change."""


@dataclass
class Table:
    id: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)


@dataclass
class Chart:
    """A chart's Vega-Lite specification (None: nothing to draw), words and the table it comes from.
    ``svg`` draws it on first use, unless the drawing was read from the publication."""

    spec: dict | None
    caption: str
    description: str
    table_id: str
    drawn: str | None = None

    @property
    def svg(self) -> str:
        if self.drawn is None:
            self.drawn = charts.svg(self.spec)
        return self.drawn

    @property
    def spec_text(self) -> str:
        """The whole Vega-Lite specification as JSON (what the dashboard's interactive chart is compiled
        from), or "" for a chart drawn another way (the intercept map)."""
        import json

        return json.dumps(charts.full(self.spec), separators=(",", ":"), allow_nan=False) if self.spec else ""


@dataclass
class Section:
    id: str
    title: str
    intro: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty: str | None = None
    #: Blocks of labelled text (a measure's definition, numerator, ...): (heading, [(label, text)]).
    definitions: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)


@dataclass
class ReportResult:
    path: Path
    kind: str
    seconds: float
    sections: list[str]
    recommendations: int
    not_measured: list[str]
    pages: int | None = None
    publication: str = ""


def check_output(out: Path) -> str:
    """The kind of report, or ReportError before any work if the path cannot be written."""
    kind = KINDS.get(out.suffix.lower())
    if kind is None:
        raise ReportError(f"{out}: the report is written as .html or .pdf; give a file name ending in one of them")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ReportError(f"{out}: the folder {folder} does not exist; create it or choose another path")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ReportError(f"{out}: cannot write there (permission denied); choose a path you can write to")
    return kind


def _cell(text: str | None, kind: str = "text") -> str:
    if text is None or text == "":
        return ""
    if text == SUPPRESSED:
        return SUPPRESSED
    if kind == "raw":
        return text
    if kind in ("percent", "score"):  # both to one decimal place
        return fmt_percent(text)
    if kind == "ratio":
        v = number(text)
        return SUPPRESSED if v is None else f"{v:.2f}"
    if kind == "count":
        v = number(text)
        return text if v is None else f"{v:,.0f}"
    return text.replace("_", " ")


def _table(id: str, caption: str, rows: list[dict], spec: list[tuple[str, str, str]]) -> Table:
    """``spec``: (column in the CSV, header, kind) for each column shown."""
    return Table(id=id, caption=caption, columns=[h for _, h, _ in spec],
                 rows=[[_cell(r.get(c), k) for c, _, k in spec] for r in rows],
                 numeric=[k in ("count", "percent", "ratio", "score") for _, _, k in spec])


def _all_suppressed(rows: list[dict], column: str) -> bool:
    return not rows or all(number(r.get(column)) is None for r in rows)


def population_section(data) -> Section:
    s = Section("population", "Population profile")
    s.intro.append("Who is seen in each setting, by ethnic group, sex and age band, set against the resident "
                   "population of the area (the population is published census data; people in each setting are "
                   "counted once, after linkage, and rounded under the disclosure rule).")
    prevalence = read_published(data, "need_prevalence") or []
    residents = _residents(data)
    # The denominators of need prevalence are the people in each setting by group.
    for breakdown, label in (("ethnic_group_5", "Ethnic group"), ("sex", "Sex"), ("age_group", "Age group"),
                             ("religion", "Religion"), ("disability", "Disability"),
                             ("first_language", "First language")):
        rows = {}
        for r in prevalence:
            if r["breakdown"] == breakdown and r["need_code"] == "depression":
                rows.setdefault(r["group"], {})[r["setting"]] = r["people"]
        if not rows:
            continue
        settings = [k for k in SETTINGS if any(k in v for v in rows.values())]
        table_rows = [{"group": g, **v} for g, v in sorted(rows.items())]
        spec = [("group", label, "text")] + [(k, SETTINGS[k], "count") for k in settings]
        if breakdown in residents:
            for r in table_rows:
                r["resident"] = residents[breakdown].get(r["group"], "")
            spec.append(("resident", "Residents aged 10 and over (census)", "count"))
        s.tables.append(_table(f"table-population-{breakdown}", f"People seen in each setting by {label.lower()}",
                               table_rows, spec))
    if not s.tables:
        s.empty = TOO_FEW
    return s


def _residents(data) -> dict[str, dict[str, str]]:
    """The view's residents (public census figures, published as they are) by group, from the base of
    the population-based decision points."""
    out: dict[str, dict[str, str]] = {}
    for r in read_published(data, "disproportionality") or []:
        if r["decision_point"] == "police_custody" and r["base"] not in ("", SUPPRESSED):
            out.setdefault(r["breakdown"], {})[r["group"]] = r["base"]
    return out


def needs_section(data) -> Section:
    s = Section("needs", page("needs").title)
    rows = [r for r in read_published(data, "need_prevalence") or [] if r["breakdown"] == "all"
            and r["need_code"] in HEADLINE_NEEDS]
    s.intro.append("The share of people seen in each setting with each need recorded by any agency, with 95% "
                   "confidence intervals (Wilson), against a published general-population benchmark where one "
                   "exists. Higher / similar / lower follow Fingertips' rule: the interval is above, spans or "
                   "is below the benchmark.")
    if _all_suppressed(rows, "prevalence_percent"):
        s.empty = TOO_FEW
        return s
    values = [{"category": words("need", r["need_code"]), "setting": SETTINGS.get(r["setting"], r["setting"]),
               "value": number(r["prevalence_percent"]), "lower": number(r["lower_95"]),
               "upper": number(r["upper_95"])}
              for r in rows if number(r["prevalence_percent"]) is not None
              and r["setting"] in ("police_custody", "prison_custody", "court_appearance", "probation_supervision")]
    s.charts.append(Chart(charts.intervals(values, category="category", colour="setting", title="% of people (95% CI)"),
                          "Prevalence of needs in four justice settings, with 95% confidence intervals",
                          "Dot and interval chart: for each need, the percentage of people in police custody, "
                          "courts, prison and probation with that need. The figures are in the table below.",
                          "table-needs"))
    s.tables.append(_table("table-needs", "Prevalence of needs by setting (all people)", rows, [
        ("setting", "Setting", "text"), ("need_code", "Need", "text"), ("people_with_need", "People with need", "count"),
        ("people", "People", "count"), ("prevalence_percent", "%", "percent"), ("lower_95", "95% CI lower", "percent"),
        ("upper_95", "95% CI upper", "percent"), ("benchmark_percent", "Benchmark %", "raw"),
        ("compared_with_benchmark", "Compared with benchmark", "text")]))
    return s


def disproportionality_section(data) -> Section:
    s = Section("disproportionality", page("disproportionality").title)
    rows = [r for r in read_published(data, "disproportionality") or []
            if r["breakdown"] == "ethnic_group_5" and r["significance"] != "reference group"]
    s.intro.append("The relative rate index (RRI) compares the rate at which each ethnic group reaches a decision "
                   "point with the rate for White people, using the previous stage (or residents aged 10 and over) "
                   "as the denominator. An RRI of 1 means no difference; above 1, over-representation. Intervals "
                   "are 95% and 99.8% on the log scale; 'higher' or 'lower' means the interval excludes 1. The table "
                   "makes many comparisons, so about 1 in 20 differences flagged at 95% could be chance: the "
                   "recommendations rest on the 99.8% flag. At the population decision points the RRI is also "
                   "age-standardised (European Standard Population 2013), since ethnic groups' age profiles differ.")
    s.notes.append("Minimum-volume rule: an RRI is not calculated where a group has fewer than 50 people at the "
                   "base stage or fewer than 5 events; such rows say so in the significance column.")
    s.notes.append("An age-standardised RRI needs the group's and the reference's count in every age group; where "
                   "any of them is withheld by disclosure control, or there are fewer than 10 events, it is shown "
                   "as * (the crude RRI beside it still stands). Stage-based decision points are not standardised.")
    if _all_suppressed(rows, "rri"):
        s.empty = TOO_FEW
        return s
    order = list(DECISIONS)
    rows.sort(key=lambda r: (order.index(r["decision_point"]) if r["decision_point"] in order else 99, r["group"]))
    s.intro.extend(x for x in (rri_sentence(r) for r in rows if r["group"].startswith("Black")) if x)
    values = [{"decision": words("decision", r["decision_point"]), "group": charts.short_group(r["group"]),
               "rri": number(r["rri"]), "lower": number(r["lower_95"]), "upper": number(r["upper_95"])}
              for r in rows if number(r["rri"]) and number(r["lower_95"]) and number(r["upper_95"])]
    s.charts.append(Chart(charts.forest(values), "RRI against White people at each decision point (log scale)",
                          "Forest plot: one panel per decision point; each ethnic group's RRI as a dot with its 95% "
                          "interval; a dashed line at 1 marks no difference. The figures are in the table below.",
                          "table-disproportionality"))
    for r in rows:  # one interval column, so that the table fits the page
        r["decision_words"], r["base_words"] = words("decision", r["decision_point"]), words("decision", r["base_stage"])
        lo, hi = number(r["lower_95"]), number(r["upper_95"])
        r["ci_95"] = f"{lo:.2f} to {hi:.2f}" if lo is not None and hi is not None else r["significance"]
    s.tables.append(_table("table-disproportionality", "Relative rate index against White people, 5 ethnic groups", rows, [
        ("decision_words", "Decision point", "text"), ("base_words", "Base", "text"), ("group", "Group", "text"),
        ("events", "Events", "count"), ("base", "Base count", "count"), ("rri", "RRI", "ratio"),
        ("ci_95", "95% CI", "text"), ("significance_998", "At 99.8%", "text"),
        ("rri_age_standardised", "Age-std. RRI", "ratio")]))
    return s


def pathway_section(data) -> Section:
    s = Section("pathway", page("pathway").title)
    flows = read_published(data, "pathway_flows", ("all",))
    exits = read_published(data, "pathway_no_health_contact", ("all",))
    s.intro.append("Where people go next: for each setting, the people whose next record is in each other setting "
                   "(or who leave the records). People with a mental health need who had no mental health "
                   "service contact after their contact with each justice agency are shown below it.")
    if flows is None:
        s.empty = "Pathway flows were not measured for this report."
        return s
    values = [{"from": SETTINGS.get(r["from_setting"], r["from_setting"]),
               "to": SETTINGS.get(r["to_setting"], words("setting", r["to_setting"])),
               "people": number(r["people"])} for r in flows if number(r["people"])]
    if not values:
        s.empty = TOO_FEW
        return s
    s.charts.append(Chart(charts.stacked(values, row="from", part="to", value="people", title="People"),
                          "Where people go next from each setting",
                          "Stacked bar chart (a flow diagram): for each setting, the number of people moving to each "
                          "next setting. The figures are in the table below.", "table-flows"))
    s.tables.append(_table("table-flows", "People moving from one setting to the next", flows, [
        ("from_setting", "From", "text"), ("to_setting", "To", "text"), ("people", "People", "count")]))
    if exits:
        s.tables.append(_table("table-exits", "People with a mental health need and no later mental health contact",
                               [r for r in exits if r["breakdown"] == "all"], [
            ("setting", "Setting", "text"), ("without_health_contact", "Without contact", "count"),
            ("people_with_need", "People with a need", "count"), ("percent_without_health_contact", "%", "percent"),
            ("lower_95", "95% CI lower", "percent"), ("upper_95", "95% CI upper", "percent")]))
    return s


def continuity_section(data) -> Section:
    s = Section("continuity", page("continuity").title)
    rows = read_published(data, "continuity_of_care", ("all", "ethnic_group_5"))
    s.intro.append("Of releases from prison of people with a mental health need, the share followed by a community "
                   "mental health contact within 21 days and within 6 weeks, for everyone and by ethnic group.")
    if rows is None:
        s.empty = "Continuity of care was not measured for this report."
        return s
    if _all_suppressed(rows, "percent_with_contact"):
        s.empty = TOO_FEW
        return s
    values = [{"category": r["group"].split(",")[0], "window": r["window"], "value": number(r["percent_with_contact"]),
               "lower": number(r["lower_95"]), "upper": number(r["upper_95"])}
              for r in rows if number(r["percent_with_contact"]) is not None]
    s.charts.append(Chart(charts.intervals(values, category="category", colour="window", title="% of releases (95% CI)"),
                          "Community mental health contact after release, with 95% confidence intervals",
                          "Dot and interval chart: for everyone and each ethnic group, the percentage of releases "
                          "followed by a community contact within 21 days and 6 weeks. Figures in the table below.",
                          "table-continuity"))
    s.tables.append(_table("table-continuity", "Continuity of care after release from prison", rows, [
        ("window", "Window", "text"), ("group", "Group", "text"), ("with_contact", "With contact", "count"),
        ("releases", "Releases", "count"), ("percent_with_contact", "%", "percent"),
        ("lower_95", "95% CI lower", "percent"), ("upper_95", "95% CI upper", "percent")]))
    return s


def funnel_section(data) -> Section:
    s = Section("funnel", page("funnel").title)
    rows = read_published(data, "ld_funnel", ("all",))
    s.intro.append("Of the people liaison & diversion identified in each setting, how many were screened, then "
                   "assessed, then referred on, then engaged with the referral: each step a share of the one before. "
                   "Then the outcomes for the people assessed, as NHS England's service specification names them: "
                   "the assessment shared with the police, prosecutor or court that decides the case, and diversion "
                   "out of the justice system or within it; people referred with no recorded assessment; the share "
                   "already known to mental health services; repeat attendees.")
    if not rows or _all_suppressed(rows, "people"):
        s.empty = TOO_FEW
        return s
    from triangulate.standard import codelist

    labels = codelist("ld_setting")
    for r in rows:  # the setting in words, as the code list names it
        r["ld_setting"] = labels.label(r["ld_setting"]) if r["ld_setting"] in labels.codes else r["ld_setting"]
    values = [{"setting": r["ld_setting"], "step": r["step"], "people": number(r["people"])}
              for r in rows if number(r["people"]) is not None and r["step"][0].isdigit()]
    s.charts.append(Chart(charts.bars([{"category": f"{v['setting']}: {v['step']}", "people": v["people"]}
                                       for v in values], category="category", value="people", title="People"),
                          "People reaching each step of the L&D funnel",
                          "Bar chart: people at each funnel step, by L&D setting. Figures in the table below.",
                          "table-funnel"))
    s.tables.append(_table("table-funnel", "Liaison & diversion funnel", rows, [
        ("ld_setting", "Setting", "text"), ("step", "Step", "text"), ("people", "People", "count"),
        ("identified", "Identified", "count"), ("percent_of_identified", "% of identified", "percent"),
        ("lower_95", "95% CI lower", "percent"), ("upper_95", "95% CI upper", "percent"),
        ("percent_of_previous_step", "% of the step before (outcomes: of assessed)", "percent")]))
    s.notes.append("The outcomes are in version 1.2 of the data standard; a service whose extracts are made to an "
                   "earlier version shows none, which is not the same as none happening.")
    return s


def repeat_section(data) -> Section:
    s = Section("repeat", page("repeat").title)
    rows = read_published(data, "repeat_contact", ("all",))
    re_rows = read_published(data, "proven_reoffending", ("all",))
    s.intro.append("People by the number of separate police custody arrivals in the year, and apart from them by "
                   "the number of days they attended court, with the share of each band with each need; and proven "
                   "reoffending on the Ministry of Justice's rules (an offence within a year of release, a "
                   "non-custodial conviction or a caution, proven by a conviction or caution).")
    if rows is None and re_rows is None:
        s.empty = "Repeat contact was not measured for this report."
        return s
    shown = [r for r in rows or [] if r["need_code"] in ("any_need", "psychosis", "self_harm", "substance_misuse",
                                                         "anxiety_or_depression")]
    shown.sort(key=lambda r: r["contact_type"] != "police custody arrivals")  # custody first, as on the pathway
    if _all_suppressed(shown, "people"):
        s.empty = TOO_FEW
        return s
    values = [{"category": r["contacts_band"], "people": number(r["people"])} for r in shown
              if r["need_code"] == "any_need" and r["contact_type"] == "police custody arrivals"
              and number(r["people"]) is not None]
    s.charts.append(Chart(charts.bars(values, category="category", value="people", title="People"),
                          "People by number of police custody arrivals in the year",
                          "Bar chart: people with 1, 2, 3-4 and 5 or more arrivals in police custody. Figures in "
                          "the table below.", "table-repeat"))
    s.tables.append(_table("table-repeat", "Repeat contact: needs by number of contacts in the year", shown, [
        ("contact_type", "Contacts", "text"), ("contacts_band", "Number", "text"), ("need_code", "Need", "text"),
        ("people_with_need", "With need", "count"), ("people", "People", "count"),
        ("percent_with_need", "%", "percent"), ("lower_95", "95% CI lower", "percent"),
        ("upper_95", "95% CI upper", "percent")]))
    if re_rows:
        s.tables.append(_table("table-reoffending", "Proven reoffending within a year",
                               [r for r in re_rows if r["breakdown"] == "all"], [
            ("cohort", "Offenders", "text"), ("reoffenders", "Reoffenders", "count"), ("offenders", "Offenders", "count"),
            ("percent_reoffending", "%", "percent"), ("lower_95", "95% CI lower", "percent"),
            ("upper_95", "95% CI upper", "percent"), ("reoffences_per_reoffender", "Reoffences per reoffender", "ratio")]))
    return s


def quality_section(data, metadata: dict, link_run: dict | None, not_measured: list[str]) -> Section:
    s = Section("quality", page("quality").title)
    rows = read_published(data, "coverage", ("all",)) or []
    s.intro.append("How completely each agency records what the figures depend on, how well records were linked "
                   "into people, and what could not be measured.")
    s.tables.append(_table("table-coverage", "Recording completeness by agency (records)", rows, [
        ("setting", "Agency", "text"), ("records", "Records", "count"),
        ("ethnicity_recorded_percent", "Ethnicity recorded %", "percent"),
        ("gp_registered_percent", "GP registered %", "percent"),
        ("nhs_number_recorded_percent", "NHS number %", "percent"), ("linked_percent", "Linked %", "percent")]))
    if link_run:
        encoded = (" on Bloom-filter encodings of their identity fields (no name, date of birth or postcode "
                   "reached the linker)") if link_run.get("encoded") else ""
        s.notes.append(f"Linkage: {link_run['records']:,} records linked into {link_run['people']:,} people{encoded} "
                       f"at match probability {link_run['threshold']:.4g} ({link_run['engine']}, run "
                       f"{link_run['run_id']}). "
                       "Linkage quality against a ground truth is measured with `triangulate link --evaluate`; see "
                       "docs/linkage.md.")
    else:
        s.notes.append("The store holds no record of a link run.")
    for item in not_measured:
        s.notes.append(f"Not measured: {item}")
    return s


_CODE_REFERENCE = re.compile(r"\s*\((?:[^()]*?\b(?:triangulate\.[a-z_.]+|docs/[a-z_-]+\.md)\b[^()]*)\)")


def for_readers(text: str) -> str:
    """A definition as a commissioner reads it: the parenthetical pointers to our code or our docs
    ("(triangulate.stats.proportion)", "(docs/disclosure.md)") left out; the docs keep them."""
    return _CODE_REFERENCE.sub("", text)


def methods_section(metadata: dict) -> Section:
    s = Section("methods", "Methods and definitions")
    rule = metadata["rule"]
    if rule:
        s.intro.append(f"Disclosure control: {rule['description']} (rule '{rule['name']}'; source: {rule['source']}). "
                       "Counts are controlled across every area, year and group together, so that no suppressed "
                       "count can be worked out from the others; rates and intervals are "
                       "computed from the published counts and withheld where a count is suppressed. Suppressed "
                       "figures show as *.")
    else:
        s.intro.append("UNSUPPRESSED: these figures are not disclosure-controlled and are not for publication.")
    s.intro.append("Records are linked into people with Splink (Fellegi-Sunter) before anything is counted; people "
                   "are counted once per setting. Confidence intervals follow the OHID/PHE methods.")
    # One block per measure, its parts one under another: as a six-column table the long definitions
    # made columns a word wide and the last column ran off the printed page.
    for m in metadata["measures"]:
        s.definitions.append((m["title"], [(label, for_readers(m[key])) for key, label in (
            ("definition", "Definition"), ("numerator", "Numerator"), ("denominator", "Denominator"),
            ("method", "Method"), ("caveats", "Caveats"), ("source", "Source")) if m.get(key)]))
    return s


#: The section of the report drawn for each page of the dashboard (the quality page's section also
#: takes the manifest, so it is called apart).
SECTIONS = {"needs": needs_section, "disproportionality": disproportionality_section, "pathway": pathway_section,
            "continuity": continuity_section, "funnel": funnel_section, "repeat": repeat_section}


#: The columns of a publication's drawings (``charts.parquet``): one row per chart of each page and view.
CHART_COLUMNS = ("page", "area", "year", "chart", "svg", "caption", "description", "spec")


def view_charts(published, area: str, year: str) -> list[dict]:
    """Every chart of every page for one view, drawn."""
    from triangulate.publish.view import View

    data = View(published, area, year)
    rows = []
    for slug, build_section in SECTIONS.items():
        for i, c in enumerate(build_section(data).charts):
            if c.spec or c.drawn:  # drawn already: the intercept map, drawn with the gap analysis
                rows.append({"page": slug, "area": area, "year": year, "chart": i, "svg": c.svg,
                             "caption": c.caption, "description": c.description, "spec": c.spec_text})
    return rows


_worker_publication = None


def _draw_view(job: tuple[str, str, str]) -> list[dict]:
    global _worker_publication
    from triangulate.publish.publication import read_publication

    folder, area, year = job
    if _worker_publication is None or str(_worker_publication.folder) != folder:
        _worker_publication = read_publication(folder)
    return view_charts(_worker_publication, area, year)


#: Below this many views the charts are drawn in the calling process (starting workers costs more).
PARALLEL_VIEWS = 12


def draw_charts(published, progress: Progress | None = None, *, workers: int | None = None):
    """Every page's charts for every view of a publication (each area and all areas, each year and all
    years) as an Arrow table of ``CHART_COLUMNS``; ``write_publication(..., charts=draw_charts)`` keeps
    it in the publication, so no chart is drawn while someone waits for a page."""
    import pyarrow as pa

    progress = progress or (lambda d, c, t: None)
    views = [(a, y) for a in published.areas for y in published.years]
    workers = min(workers or os.cpu_count() or 1, len(views))
    rows: list[dict] = []
    progress("Drawing charts", 0, len(views))
    drawn_views: set[tuple[str, str]] = set()
    if workers > 1 and len(views) > PARALLEL_VIEWS:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        # spawn, not fork: the caller may hold DuckDB's and the chart renderer's threads. A pool that
        # cannot start its workers (a caller's script without a main guard) breaks rather than hangs,
        # and what is left is drawn here.
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(_draw_view, (str(published.folder), a, y)): (a, y) for a, y in views}
                for future in as_completed(futures):
                    rows.extend(future.result())
                    drawn_views.add(futures[future])
                    progress("Drawing charts", len(drawn_views), len(views))
        except BrokenProcessPool:
            pass
    for a, y in views:
        if (a, y) not in drawn_views:
            rows.extend(view_charts(published, a, y))
            drawn_views.add((a, y))
            progress("Drawing charts", len(drawn_views), len(views))
    rows.sort(key=lambda r: (r["area"], r["year"], r["page"], r["chart"]))
    schema = pa.schema([(c, pa.int32() if c == "chart" else pa.string()) for c in CHART_COLUMNS])
    return pa.Table.from_pylist(rows, schema=schema)


def use_published_drawings(sections: list[Section], published, area: str, year: str) -> None:
    """Give each chart the drawing the publication holds for it (the dashboard shows the same one): the
    drawing in the chart's place with the chart's caption, so a publication written by an earlier version,
    whose page had other charts, never puts one chart's drawing under another's caption."""
    for s in sections:
        held = {d["chart"]: d for d in published.charts_of(s.id, area, year)}
        for i, c in enumerate(s.charts):
            if i in held and held[i]["caption"] == c.caption:
                c.drawn = held[i]["svg"]


def resolve_publication(source: str | Path):
    """A publication folder, or a store (its latest publication)."""
    from triangulate.publish.publication import PublicationError, latest, publications_root, read_publication

    source = Path(source)
    if source.is_dir() and (source / "manifest.json").is_file():
        return read_publication(source)
    if source.is_file():
        found = latest(publications_root(source))
        if found is None:
            raise ReportError(f"No publication of {source}: run `triangulate publish --store {source}` first.")
        return found
    if source.is_dir():
        raise PublicationError(f"No publication at {source} (no manifest.json): give a publication folder or a store.")
    raise ReportError(f"{source}: no such store or publication; give the store you published, or a publication folder.")


def write_report(source: str | Path, out: str | Path, *, area: str | None = None, year: str | None = None,
                 title: str | None = None, progress: Progress | None = None,
                 action_plan: str | Path | None = None) -> ReportResult:
    """Write the health needs assessment as HTML or PDF (by ``out``'s suffix) from a publication.

    ``source`` is a publication folder, or a store whose latest publication is read. ``area`` and
    ``year`` choose the view (default: all areas, the whole period pooled). ``action_plan`` is the
    dashboard's plan download (JSON): its items for the area go into the "Provision and gaps" chapter.
    """
    from triangulate.publish.dimensions import ALL_AREAS, ALL_YEARS
    from triangulate.publish.publication import PublicationError
    from triangulate.publish.view import View

    started = time.perf_counter()
    out = Path(out)
    kind = check_output(out)
    progress = progress or (lambda d, c, t: None)
    try:
        published = resolve_publication(source)
    except PublicationError as problem:
        raise ReportError(str(problem)) from None
    area, year = area or ALL_AREAS, year or ALL_YEARS
    if area not in published.areas:
        raise ReportError(f"Unknown area {area!r}: the publication has {', '.join(published.areas[1:])}.")
    if year not in published.years:
        raise ReportError(f"Unknown financial year {year!r}: the publication has {', '.join(published.years[1:])} "
                          "(or all years).")
    data = View(published, area, year)
    metadata = published.manifest
    progress(f"Report: {STEPS[0]}", 0, len(STEPS))
    progress(f"Report: {STEPS[1]}", 1, len(STEPS))
    findings = derive(data)
    not_measured = ["GP registration of people after release (no primary care extract in the data standard)"]
    progress(f"Report: {STEPS[2]}", 2, len(STEPS))
    sections = [population_section(data)]
    for p in PAGES:  # the dashboard's pages, in the same order
        if p.slug == "quality":
            sections.append(quality_section(data, metadata, metadata.get("link_run"), not_measured))
        else:
            sections.append(SECTIONS[p.slug](data))
    if action_plan is not None:
        from .provision import add_action_plan, read_action_plan

        for sec in sections:
            if sec.id == "provision":
                add_action_plan(sec, read_action_plan(action_plan), area)
    sections.append(methods_section(metadata))
    use_published_drawings(sections, published, area, year)
    progress(f"Report: {STEPS[3]}", 3, len(STEPS))
    html = render_html(title or "Health needs assessment: people in contact with the criminal justice system",
                       data, metadata, findings, sections, kind)
    pages = None
    if kind == "pdf":
        import logging

        # Before the import: importing WeasyPrint parses its own stylesheets and logs that as progress.
        for name in ("weasyprint", "weasyprint.progress", "fontTools"):
            logging.getLogger(name).setLevel(logging.ERROR)
        from weasyprint import HTML

        document = HTML(string=html, base_url=str(out.parent)).render()
        pages = len(document.pages)
        document.write_pdf(out)
    else:
        out.write_text(html, encoding="utf-8")
    progress("Report: done", len(STEPS), len(STEPS))
    return ReportResult(path=out, kind=kind, seconds=time.perf_counter() - started,
                        sections=[s.title for s in sections], recommendations=len(findings.recommendations),
                        not_measured=not_measured, pages=pages, publication=published.version)


def render_html(title: str, data, metadata: dict, findings: Findings, sections: list[Section],
                kind: str) -> str:
    from importlib import resources

    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("triangulate.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    css = resources.files("triangulate.report").joinpath("static/report.css").read_text("utf-8")
    years = data.published.years[1:]
    period = (f"financial year {data.year}" if data.year != "All years"
              else f"financial years {years[0]} to {years[-1]}, pooled" if years else "no records")
    areas = [data.published.area_label(a) for a in ([data.area] if data.area != "All areas"
                                                     else data.published.areas[1:])]
    return env.get_template("report.html.j2").render(
        title=title, css=css, kind=kind, areas=areas, period=period,
        created=dt.date.today().isoformat(), rule=metadata["rule"] or {"description": "none (unsuppressed)",
                                                                     "name": "unsuppressed", "source": ""},
        findings=findings, sections=sections, unsuppressed=metadata.get("unsuppressed"),
        publication=metadata["version"])


# The chapters that read across views (they use this module's sections and tables, so come last).
from .hna import areas_section, intersections_section, trends_section, unmet_section  # noqa: E402

from .provision import provision_section  # noqa: E402
from .survey import survey_section  # noqa: E402

SECTIONS.update(intersections=intersections_section, trends=trends_section, areas=areas_section,
                unmet=unmet_section, provision=provision_section, survey=survey_section)
