"""The "Provision and gaps" chapter: the Sequential Intercept Model map, the gaps ranked, and who no
service is open to. Read from the publication's gap analysis and map (drawn when published), so the
report and the dashboard show the same; nothing here counts people.

The ranking score is the number of people left without a place, estimated from the published
figures: for an intercept and need with no service, everyone with the need seen there; for one short
of capacity, the people with the need beyond the capacity of the period. Other statuses score 0. Ties
go to the earlier intercept (earlier help prevents later contact).
"""

from __future__ import annotations

from triangulate.measures.waits import DAYS_TEXT

from .build import Chart, Section, Table, _cell
from .findings import SUPPRESSED

INTERCEPTS = {"0": "0 Community and crisis", "1": "1 Law enforcement", "2": "2 First hearing",
              "3": "3 Prison and courts", "4": "4 Re-entry", "5": "5 Community corrections"}
STATUS_ORDER = {"absent": 0, "short of capacity": 1, "not assessed (small numbers)": 2, "capacity not stated": 3,
                "sufficient": 4, "no need recorded": 5}


def view_rows(table, area: str, year: str) -> list[dict]:
    """The rows of one view (area, year) of a derived table: filtered in Arrow, so a request turns
    only its own view's rows into Python (the gap table of a million people has every view's)."""
    import pyarrow.compute as pc

    return table.filter(pc.and_(pc.equal(table.column("area"), area),
                                pc.equal(table.column("year"), year))).to_pylist()


def _count(v) -> str:
    return SUPPRESSED if v is None else f"{v:,}"


def _median(r: dict) -> str:
    from triangulate.publish.view import figure

    m, lo, hi = r["median_days"], r["median_lower_95"], r["median_upper_95"]
    if m is None:
        return "not measured"
    limits = "" if lo is None or hi is None else f" ({figure(lo, 'days')} to {figure(hi, 'days')})"
    return f"{figure(m, 'days')}{limits}"


def unserved(row: dict, years: int) -> float | None:
    """People with the need beyond what the services there can take in the period (the ranking score)."""
    n = row["people_with_need"]
    if n is None:
        return None
    if row["status"] == "absent":
        return float(n)
    if row["status"] == "short of capacity" and row["capacity_per_year"] is not None:
        return max(0.0, n - row["capacity_per_year"] * years)
    return 0.0


def ranked_gaps(rows: list[dict], years: int) -> list[dict]:
    """The gaps of a view (all people; absent or short), most people unserved first."""
    gaps = [dict(r, unserved=unserved(r, years)) for r in rows
            if r["breakdown"] == "all" and r["status"] in ("absent", "short of capacity")]
    return sorted(gaps, key=lambda r: (-(r["unserved"] if r["unserved"] is not None else -1), r["intercept"],
                                       r["need_code"]))


def provision_section(data) -> Section:
    from triangulate.publish.view import figure, need_label

    published = data.published
    s = Section("provision", "Provision and gaps")
    gaps = published.derived("provision_gaps")
    maps = published.derived("provision_maps")
    listing = published.directory
    if gaps is None or listing is None:
        s.empty = ("No service directory was published with these figures: import one (`triangulate provision "
                   "import`, or fill in `triangulate provision template`) and publish again.")
        return s
    rows = view_rows(gaps, data.area, data.year)
    years = len(published.years) - 1 if data.year == published.years[0] and len(published.years) > 1 else 1
    active = [d for d in listing["services"] if d.get("status") == "active"]
    s.intro.append(
        f"The service directory (version {listing.get('version')}, imported {str(listing.get('imported_at', ''))[:10]}) "
        f"lists {len(active):,} active services. Each need seen at each intercept of the Sequential Intercept Model "
        "is set against the services that work there, serve that need and serve this area: a need with no service is "
        "a gap (absent); one whose people outnumber the services' capacity for the period is short of capacity.")
    ranked = ranked_gaps(rows, years)
    absent = [r for r in ranked if r["status"] == "absent"]
    short = [r for r in ranked if r["status"] == "short of capacity"]
    if ranked:
        top = ranked[0]
        s.intro.append(
            f"{len(absent)} intercept and need pairs have no service and {len(short)} are short of capacity. The "
            f"largest gap: {need_label(top['need_code']).lower()} at intercept {top['intercept']} "
            f"({INTERCEPTS[top['intercept']][2:].lower()}), {_count(top['people_with_need'])} people with the need seen"
            + (" and no service." if top["status"] == "absent"
               else f" against capacity for {top['capacity_per_year'] * years:,.0f}."))
    else:
        s.intro.append("No intercept and need pair with published figures lacks a service or is short of capacity.")
    held = view_rows(maps, data.area, data.year) if maps is not None else []
    if held:
        s.charts.append(Chart(None, held[0]["title"],
                              "Intercepts 0 to 5 from left to right; under each, the most common needs seen there, "
                              "each service with its capacity (yellow where short), and the needs with no service "
                              "(dashed red). Services on no intercept run along the bottom. The table after the "
                              "ranked gaps has every figure.", "table-gaps", drawn=held[0]["svg"]))
    s.tables.append(Table(
        "table-gap-list", "The gaps, ranked by the people left without a service",
        ["Intercept", "Need", "People with the need seen", "Services", "Capacity a year", "Status",
         "People beyond capacity"],
        [[INTERCEPTS[r["intercept"]], need_label(r["need_code"]), _count(r["people_with_need"]), str(r["services"]),
          "" if r["capacity_per_year"] is None else f"{r['capacity_per_year']:,.0f}", r["status"],
          SUPPRESSED if r["unserved"] is None else f"{r['unserved']:,.0f}"] for r in ranked],
        [False, False, True, True, True, False, True]))
    every = sorted((r for r in rows if r["breakdown"] == "all"),
                   key=lambda r: (r["intercept"], STATUS_ORDER.get(r["status"], 9), r["need_code"]))
    s.tables.append(Table(
        "table-gaps", "Need and provision at each intercept, all people",
        ["Intercept", "Need", "People with the need seen", "Services", "Capacity a year", "Need per place",
         "Status"],
        [[INTERCEPTS[r["intercept"]], need_label(r["need_code"]), _count(r["people_with_need"]), str(r["services"]),
          "" if r["capacity_per_year"] is None else f"{r['capacity_per_year']:,.0f}",
          _cell(None if r["need_per_capacity"] is None else str(r["need_per_capacity"]), "ratio"),
          r["status"]] for r in every],
        [False, False, True, True, True, True, False]))
    # Groups shut out: a service is there for people with the need, but none is open to the group (a
    # men-only service, an age limit). Where there is no service for anyone, the gap list says so already.
    served = {(r["intercept"], r["need_code"]) for r in every if r["services"]}
    closed: dict[tuple[str, str, str], list[str]] = {}
    for r in rows:
        if (r["breakdown"] != "all" and r["status"] == "none open to the group"
                and (r["intercept"], r["need_code"]) in served):
            closed.setdefault((r["breakdown"], r["group"], r["intercept"]), []).append(
                f"{need_label(r['need_code'])} ({_count(r['people_with_need'])})")
    if closed:
        s.tables.append(Table(
            "table-gap-groups", "Groups no service is open to, where there is a service for others",
            ["Group", "Intercept", "Needs (people with the need seen)"],
            [[group, INTERCEPTS[intercept], "; ".join(needs)] for (_, group, intercept), needs in sorted(closed.items())],
            [False, False, False]))
    listed = published.derived("provision_services")
    if listed is not None:
        local = data.area == published.areas[0]
        here = [r for r in listed.to_pylist()
                if not r["areas"] or (any(a in published.areas[1:] for a in r["areas"].split(";")) if local
                                      else data.area in r["areas"].split(";"))]
        here.sort(key=lambda r: (r["intercepts"] or "9", r["name"]))
        s.tables.append(Table(
            "table-services", "Services serving this area: intercepts, capacity and the wait they state",
            ["Service", "Intercepts", "Capacity", "Stated wait (days)", "Languages", "Features"],
            [[r["name"], ", ".join(r["intercepts"].split(";")) if r["intercepts"] else "community (none)",
              r["capacity"] or "not stated", "" if r["stated_wait_days"] is None else f"{r['stated_wait_days']:g}",
              ", ".join(r["languages"].split(";")) if r["languages"] else "",
              r["features"].replace("_", " ").replace(";", ", ")] for r in here],
            [False, False, False, True, False, False]))
    waits = published.derived("provision_waits")
    if waits is not None:
        measured = [r for r in view_rows(waits, data.area, data.year)
                    if r["breakdown"] == "all" or r["referred"] is not None]
        measured.sort(key=lambda r: (r["breakdown"] != "all", r["group"]))
        if measured:
            s.tables.append(Table(
                "table-waits", "Waits from a liaison & diversion referral to a first mental health contact, measured "
                "and stated",
                ["Group", "People referred", "Seen within 28 days (%)", "Median wait (days, 95% CI)",
                 "Services stating a wait", "Median stated (days)", "Comparison"],
                [[r["group"], figure(r["referred"], "count", SUPPRESSED),
                  figure(r["percent_within_28_days"], "percent", SUPPRESSED),
                  _median(r), str(r["services_stating"]),
                  "" if r["stated_median_days"] is None else f"{r['stated_median_days']:g}", r["status"]]
                 for r in measured],
                [False, True, True, True, True, True, False]))
            s.notes.append(
                "Measured waits: people referred by liaison & diversion to a mental health service (community, crisis "
                "or talking therapies), from the referral date to the first attended mental health contact, with 91 "
                f"days of follow-up; the median is read from the published counts seen within {DAYS_TEXT} "
                "days (measure ld_mh_wait, docs/measures.md). Stated waits: the median of what the area's community "
                "and crisis mental health services (intercept 0) state. A measured median whose interval lies above the stated "
                "median is 'longer than stated'.")
    languages = published.derived("provision_languages")
    if languages is not None:
        listed = view_rows(languages, data.area, data.year)
        spoken = [r for r in listed if r["people"]]
        spoken.sort(key=lambda r: (-r["people"], r["language_label"]))
        withheld = sorted(r["language_label"] for r in listed if r["people"] is None)
        if withheld:
            s.notes.append(f"Languages spoken by too few people here to publish ({SUPPRESSED}): {', '.join(withheld)}. "
                           "They are not compared with the services; the services offering each are in the table of "
                           "services above.")
        if spoken:
            s.tables.append(Table(
                "table-languages", "Languages people speak against services that offer them",
                ["First language", "People seen", "Services offering it", "Services with interpreters", "Status"],
                [[r["language_label"], figure(r["people"], "count", SUPPRESSED), str(r["services"]),
                  str(r["interpreting_services"]), r["status"]] for r in spoken],
                [False, True, True, True, False]))
            s.notes.append(
                "Languages: people seen by any justice agency whose recorded first language is not English, and people "
                "recorded as needing an interpreter (measure language_need), against the active services serving the "
                "area that list the language (HSDS languages) or offer interpreters. Languages no one is recorded as "
                "speaking are left out.")
    specific = sorted((r for r in rows if r["breakdown"] in ("sex", "ethnic_group_5") and r["specific_services"]),
                      key=lambda r: (r["group"], r["intercept"]))
    s.notes.append(
        "People with the need seen at an intercept are the published counts of need prevalence in the setting that "
        "stands for it: mental health services (intercept 0), police custody (1), court (2), prison (3 and 4: "
        "releases are not published by need) and probation (5). Capacity is each service's stated capacity a year "
        "(places and beds times a turnover, a parameter of the analysis), shared equally among the areas a service "
        "serves and counted whole for each need it serves, so shortage is understated rather than overstated. A "
        "withheld count is not compared ('not assessed'). Statuses and thresholds: docs/provision.md.")
    if specific:
        s.notes.append("Services specific to a group (gender-specific, or culturally specific for an ethnic group) "
                       f"serve {len({r['group'] for r in specific})} of the groups seen here.")
    else:
        s.notes.append("No service in the directory is specific to a sex or an ethnic group at any intercept here.")
    return s


def read_action_plan(path) -> list[dict]:
    """The items of the dashboard's plan download (JSON); ReportError saying what is wrong otherwise."""
    import json
    from pathlib import Path

    from .build import ReportError

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["action_plan"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError
    except OSError:
        raise ReportError(f"Cannot read the action plan {path.name}: give the file the dashboard downloads "
                          "(Provision and gaps, JSON).") from None
    except (ValueError, KeyError, TypeError):
        raise ReportError(f"{path.name} is not an action plan downloaded from the dashboard (JSON with "
                          "'action_plan'): download it again.") from None
    return items


def add_action_plan(section: Section, items: list[dict], area: str) -> None:
    """The plan's items for the report's area as a table of the chapter (priority order)."""
    from triangulate.publish.view import need_label

    order = {"High": 0, "Medium": 1, "Low": 2}
    chosen = sorted((i for i in items if i.get("area") == area),
                    key=lambda i: (order.get(i.get("priority"), 9), str(i.get("intercept")), str(i.get("need_code"))))
    if not chosen:
        section.notes.append("No priority had been recorded for this area in the action plan given.")
        return
    section.tables.append(Table(
        "table-action-plan", "Priorities and action plan (recorded on the dashboard)",
        ["Priority", "Intercept", "Need", "Action", "Owner", "Due", "Status"],
        [[str(i.get("priority", "")), INTERCEPTS.get(str(i.get("intercept")), str(i.get("intercept"))),
          need_label(str(i.get("need_code", ""))), str(i.get("action", "")), str(i.get("owner", "")),
          str(i.get("due", "")), str(i.get("status", ""))] for i in chosen],
        [False] * 7))
