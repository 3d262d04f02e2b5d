"""The chapters of the health needs assessment that read across views of the publication: trends by
financial year, each area beside the others (a table with verdicts, a spine chart and funnel plots),
and the intersections of ethnicity with sex and age.

Every figure is read from the publication (already disclosure-controlled); nothing here counts
people. Comparisons follow Fingertips' rules: a value is *higher* or *lower* than a benchmark when
its 95% interval lies wholly above or below it, else *similar*; two years differ when their 95%
intervals do not overlap (a conservative test, said so in the text). Comparisons with a benchmark
are ``stats.compare_to_benchmark``; funnel plot limits are ``stats.funnel_limits`` (PHE's method,
checked against PHEindicatormethods).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from triangulate.publish.dimensions import POOL_YEARS, period_length
from triangulate.stats import compare_to_benchmark, funnel_limits

from . import charts
from .build import TOO_FEW, Chart, Section, Table, _cell, _table
from .findings import SUPPRESSED, number


@dataclass(frozen=True)
class Indicator:
    """One headline figure: where it is in the publication and how it is shown."""

    key: str
    label: str
    measure: str
    match: tuple[tuple[str, str], ...]
    value: str
    kind: str  # count, percent or ratio
    lower: str | None = None
    upper: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    group_prefix: str | None = None  # for a row chosen by the start of its group's name
    short: str | None = None  # the label in a chart's panel heading

    @property
    def heading(self) -> str:
        return self.short or self.label

    @property
    def breakdown(self) -> str:
        return dict(self.match).get("breakdown", "all")

    def read(self, rows: list[dict]) -> dict:
        """{value, lower, upper, numerator, denominator} from the view's rows of the measure in this
        breakdown (None where withheld or absent), and the value as shown."""
        match = dict(self.match)
        r = next((r for r in rows if all(r.get(k) == v for k, v in match.items())
                  and (self.group_prefix is None or r["group"].startswith(self.group_prefix))), {})
        get = (lambda c: number(r.get(c)) if c else None)
        return {"value": get(self.value), "lower": get(self.lower), "upper": get(self.upper),
                "numerator": get(self.numerator), "denominator": get(self.denominator),
                "shown": r.get(self.value, "")}


def _prevalence(key, label, setting, need):
    return Indicator(key, label, "need_prevalence",
                     (("breakdown", "all"), ("setting", setting), ("need_code", need)),
                     "prevalence_percent", "percent", "lower_95", "upper_95", "people_with_need", "people",
                     short=label.replace("people in ", "").replace("police custody", "custody"))


def _people(key, label, setting):
    return Indicator(key, label, "need_prevalence",
                     (("breakdown", "all"), ("setting", setting), ("need_code", "depression")), "people", "count")


INDICATORS: tuple[Indicator, ...] = (
    _people("custody_people", "People brought into police custody", "police_custody"),
    _people("court_people", "People at court", "court_appearance"),
    _people("prison_people", "People in prison", "prison_custody"),
    _prevalence("custody_self_harm", "Self-harm, people in police custody (%)", "police_custody", "self_harm"),
    _prevalence("custody_psychosis", "Psychosis, people in police custody (%)", "police_custody", "psychosis"),
    _prevalence("prison_psychosis", "Psychosis, people in prison (%)", "prison_custody", "psychosis"),
    Indicator("continuity_21", "Community mental health contact within 21 days of release (%)",
              "continuity_of_care", (("breakdown", "all"), ("window", "21 days")), "percent_with_contact",
              "percent", "lower_95", "upper_95", "with_contact", "releases",
              short="Contact within 21 days of release (%)"),
    Indicator("rri_black_custody", "RRI, Black people brought into police custody (against White)",
              "disproportionality", (("breakdown", "ethnic_group_5"), ("decision_point", "police_custody")),
              "rri", "ratio", "lower_95", "upper_95", group_prefix="Black",
              short="RRI, Black people, police custody"),
    Indicator("reoffending", "Proven reoffending within a year, all offenders (%)", "proven_reoffending",
              (("breakdown", "all"), ("cohort", "all offenders")), "percent_reoffending", "percent",
              "lower_95", "upper_95", "reoffenders", "offenders", short="Proven reoffending (%)"),
)


def headline(view) -> dict[str, dict]:
    """Every indicator's figures in one view, each measure's rows read once."""
    rows: dict[tuple[str, str], list[dict]] = {}
    out = {}
    for i in INDICATORS:
        if (i.measure, i.breakdown) not in rows:
            rows[(i.measure, i.breakdown)] = view.plain_rows(i.measure, (i.breakdown,))
        out[i.key] = i.read(rows[(i.measure, i.breakdown)])
    return out


def _shown(v: dict, kind: str) -> str:
    return _cell(v["shown"], kind) if v.get("shown") else ""


def change(first: dict, last: dict) -> str | None:
    """'higher' / 'lower' when the two 95% intervals do not overlap, 'similar' when they do, None if
    either is withheld."""
    if None in (first["lower"], first["upper"], last["lower"], last["upper"]):
        return None
    if last["lower"] > first["upper"]:
        return "higher"
    if last["upper"] < first["lower"]:
        return "lower"
    return "similar"


def _trend_rows(by_period: dict[str, dict], periods: list[str]) -> tuple[list[dict], list[dict]]:
    """Each headline indicator over ``periods`` (table rows, with the first against the last), and the
    chart's values (figures with an interval only)."""
    rows, values = [], []
    for i in INDICATORS:
        row = {"indicator": i.label}
        for y in periods:
            v = by_period[y][i.key]
            row[y] = _shown(v, i.kind)
            if i.kind != "count" and v["value"] is not None and v["lower"] is not None:
                values.append({"indicator": i.heading, "year": y, "value": v["value"], "lower": v["lower"],
                               "upper": v["upper"]})
        verdict = change(by_period[periods[0]][i.key], by_period[periods[-1]][i.key]) if i.kind != "count" else None
        row["change"] = {"higher": "higher", "lower": "lower", "similar": "no clear change"}.get(verdict, "")
        row["verdict"] = verdict
        rows.append(row)
    return rows, values


def trends_section(data) -> Section:
    from triangulate.publish.view import View

    published = data.published
    years = list(published.years[1:])
    pooled = list(published.pooled)
    where = "all areas" if data.area == published.areas[0] else published.area_label(data.area)
    s = Section("trends", "Trends by financial year")
    s.intro.append(f"The headline figures for {where} in each financial year of the data, whatever period the rest "
                   "of this report covers. A change is called only where the 95% intervals of the first and the last "
                   "year do not overlap, which is a cautious test: intervals that overlap a little can still hide "
                   "a real change.")
    if len(years) < 2:
        s.empty = "The publication covers one financial year, so there is no trend to show."
        return s
    by_year = {y: headline(View(published, data.area, y)) for y in years}
    rows, values = _trend_rows(by_year, years)
    for i, row in zip(INDICATORS, rows):
        if row["verdict"] in ("higher", "lower"):
            first, last = by_year[years[0]][i.key], by_year[years[-1]][i.key]
            s.intro.append(f"{i.label.replace(' (%)', '')}: {'up' if row['verdict'] == 'higher' else 'down'} from "
                           f"{_shown(first, i.kind)} in {years[0]} to {_shown(last, i.kind)} in {years[-1]}.")
    if all(all(r[y] in ("", SUPPRESSED) for y in years) for r in rows) and not pooled:
        s.empty = TOO_FEW
        return s
    s.charts.append(Chart(charts.trend(values, order=[i.heading for i in INDICATORS]), "Headline figures by financial year, with 95% confidence intervals",
                          "Line charts, one per figure: the value in each financial year as a dot, its 95% interval "
                          "as a vertical bar. The figures are in the table below.", "table-trends"))
    s.tables.append(Table("table-trends", f"Headline figures by financial year, {where}",
                          ["Figure", *[year_heading(y, published.manifest) for y in years],
                           f"{years[-1]} against {years[0]}"],
                          [[r["indicator"], *[r[y] for y in years], r["change"]] for r in rows],
                          [False, *[True] * len(years), False]))
    if pooled:
        _pooled(s, data, pooled, where, rows, years)
    else:
        s.notes.append("A year whose figure is withheld (*) had too few people to show without risk of identifying "
                       "someone; the whole-period figures in the other chapters pool every year. Three-year "
                       "periods are shown from four financial years of data.")
    return s


def _pooled(s: Section, data, pooled: list[str], where: str, year_rows: list[dict], years: list[str]) -> None:
    """The headline figures over pooled periods of three financial years (``Published.pooled``): an area's
    figure withheld in single years can often be shown for three years together, and a change read with
    less noise."""
    from triangulate.publish.view import View

    published = data.published
    by_period = {p: headline(View(published, data.area, p)) for p in pooled}
    rows, values = _trend_rows(by_period, pooled)
    kept = [k for k, r in enumerate(rows) if any(r[p] for p in pooled)]  # periods show all people only
    rows, year_rows = [rows[k] for k in kept], [year_rows[k] for k in kept]
    indicators = [INDICATORS[k] for k in kept]
    gained = [r["indicator"] for r, yr in zip(rows, year_rows)
              if any(yr[y] in ("", SUPPRESSED) for y in years) and all(r[p] not in ("", SUPPRESSED) for p in pooled)]
    short = [p for p in pooled if period_length(p) < POOL_YEARS]
    s.intro.append(f"Below the single years, the same figures over {len(pooled)} periods of three financial years "
                   f"counted back from the latest ({'; '.join(pooled)}), as Fingertips pools years for small "
                   "areas: a period adds up three years' people, so a figure too small to show in one year can "
                   "often be shown, and a change is read with less noise."
                   + (f" The earliest period, {short[0]}, has two years: the years left over." if short else ""))
    if gained:
        s.intro.append("Withheld in at least one single year but shown for every period: "
                       + "; ".join(g.replace(" (%)", "") for g in gained) + ".")
    for i, row in zip(indicators, rows):
        if row["verdict"] in ("higher", "lower"):
            s.intro.append(f"{i.label.replace(' (%)', '')}, pooled periods: "
                           f"{'up' if row['verdict'] == 'higher' else 'down'} from {row[pooled[0]]} in "
                           f"{pooled[0]} to {row[pooled[-1]]} in {pooled[-1]}.")
    if values and len(pooled) > 1:
        s.charts.append(Chart(charts.trend(values, order=[i.heading for i in INDICATORS]),
                              "Headline figures by period of three financial years, with 95% confidence intervals",
                              "Line charts, one per figure: the value in each period as a dot, its 95% interval "
                              "as a vertical bar. The figures are in the table below.", "table-pooled"))
    s.tables.append(Table("table-pooled", f"Headline figures by period of three financial years, {where}",
                          ["Figure", *pooled, *([f"{pooled[-1]} against {pooled[0]}"] if len(pooled) > 1 else [])],
                          [[r["indicator"], *[r[p] for p in pooled], *([r["change"]] if len(pooled) > 1 else [])]
                           for r in rows],
                          [False, *[True] * len(pooled), *([False] if len(pooled) > 1 else [])]))
    s.notes.append("A figure withheld (*) had too few people to show without risk of identifying someone. The "
                   "periods are controlled with the single years and the whole period as one publication, so no "
                   "withheld year can be worked out from a period less its shown years. A period counts a person "
                   "once for each year they were seen in it (person-years), as the whole period does. Periods do "
                   "not overlap: rolling periods (each year in three of them) would give single years back by "
                   "subtraction and cost many more withheld figures. A period can be withheld even where each of its "
                   "years is shown: the shown counts are rounded to 5, so adding the years gives only a range, and "
                   "the disclosure control may rely on that range to protect a small count elsewhere (the same "
                   "period in another area).")


def year_heading(year: str, manifest: dict) -> str:
    """The year as a column heading, saying so where the data end before the year does ("2025/26 (to
    31 Dec 2025)"): a part year's counts are not comparable with whole years'."""
    import datetime as dt

    last = (manifest.get("data_period") or {}).get("last")
    end = dt.date(int(year[:4]) + 1, 3, 31)
    if last and dt.date.fromisoformat(last) < end and dt.date.fromisoformat(last) >= dt.date(int(year[:4]), 4, 1):
        return f"{year} (to {dt.date.fromisoformat(last):%-d %b %Y})"
    return year


AREA_INDICATORS = ("custody_people", "custody_self_harm", "custody_psychosis", "continuity_21",
                   "rri_black_custody", "reoffending")


def areas_section(data) -> Section:
    from triangulate.publish.view import View

    published = data.published
    areas = list(published.areas[1:])
    s = Section("areas", "Areas compared")
    s.intro.append("Each area beside the whole, for the same period. Higher / similar / lower follow Fingertips' rule: "
                   "the area's 95% interval lies above, spans or lies below the value for all areas. The funnel plot "
                   "shows how far an area's figure could lie from the whole by chance alone, given its number of "
                   "people: points outside the 99.8% limits are unlikely to be chance.")
    if data.area != published.areas[0] or len(areas) < 2:
        s.empty = "This report covers one area; the areas are compared in the report for all areas."
        return s
    by_key = {i.key: i for i in INDICATORS}
    by_area = {a: headline(View(published, a, data.year)) for a in published.areas}
    whole = by_area[published.areas[0]]
    rows = []
    for a in published.areas:
        row = [published.area_label(a)]
        for k in AREA_INDICATORS:
            i, v = by_key[k], by_area[a][k]
            text = _shown(v, i.kind) or SUPPRESSED
            if a != published.areas[0] and i.kind != "count":
                verdict = _verdict(v, _benchmark(i, whole))
                text = f"{text} ({verdict})" if verdict != "not compared" else text
            row.append(text)
        rows.append(row)
    s.tables.append(Table("table-areas", "Headline figures by area (comparison with all areas; for the RRI, with 1)",
                          ["Area", *[_short(by_key[k].label) for k in AREA_INDICATORS]], rows,
                          [False, *[True] * len(AREA_INDICATORS)]))
    spine = spine_rows({published.area_name(a): by_area[a] for a in areas}, whole)
    if spine:
        s.charts.append(Chart(charts.spine(spine), "Headline figures of each area against all areas (spine chart)",
                              "Spine chart, one panel per area: for each figure the centre line is all areas (for "
                              "the RRI, 1), the light bar the range of the areas' figures and the darker bar their "
                              "middle half; the mark is the area's own figure, shaped and coloured by whether its "
                              "95% interval lies above (triangle up), spans (circle) or lies below (triangle down) "
                              "the centre. Withheld figures are left out. The figures are in the table below.",
                              "table-areas"))
    for k in ("continuity_21", "custody_self_harm"):
        i = by_key[k]
        shown = [(a, by_area[a][k]) for a in areas
                 if by_area[a][k]["numerator"] is not None and by_area[a][k]["denominator"]]
        if not shown:
            continue
        limits = funnel_limits([v["numerator"] for _, v in shown], [v["denominator"] for _, v in shown],
                               statistic="proportion", multiplier=100)
        # The limits drawn from half the smallest area's number of people: below it they only widen to 0
        # and 100%, and drawing them there squeezed the areas into a flat line at the chart's middle.
        start = 0.5 * min(float(v["denominator"]) for _, v in shown)
        lines = [{"n": float(n), "lower": float(lo), "upper": float(hi), "level": level}
                 for level, lower, upper in (("95%", limits.lower_95, limits.upper_95),
                                             ("99.8%", limits.lower_998, limits.upper_998))
                 for n, lo, hi in zip(limits.points, lower, upper) if n >= start]
        points = [{"area": published.area_name(a), "n": v["denominator"], "value": v["value"]} for a, v in shown]
        s.charts.append(Chart(charts.funnel(points, lines, limits.baseline, title=_short(i.label)),
                              f"{i.label}, by area, against all areas",
                              "Funnel plot: each area's figure (dot, labelled) against its number of people; the "
                              f"line across is the areas' average ({limits.baseline:.1f}%); the inner and outer "
                              "curves are the 95% and 99.8% limits. The figures are in the table below.",
                              "table-areas"))
    return s


def spine_rows(by_area: dict[str, dict[str, dict]], whole: dict[str, dict]) -> list[dict]:
    """The rows of the spine chart (``charts.spine``): for each area (by name) and each headline figure
    that is not a count, its position and its verdict against the benchmark (all areas; 1 for a ratio).

    Positions are Fingertips' spine scaling: the benchmark at 0.5, and the area furthest from it at 0
    or 1, so each line shows how far the areas spread either side of the whole. The range and the
    middle half (25th to 75th percentile, linear interpolation) are those of the areas' shown figures.
    An indicator with no benchmark or no shown figure is left out; so is an area's withheld figure.
    """
    by_key = {i.key: i for i in INDICATORS}
    out = []
    for k in AREA_INDICATORS:
        i = by_key[k]
        if i.kind == "count":
            continue
        bench = _benchmark(i, whole)
        shown = {a: v[k] for a, v in by_area.items() if v[k]["value"] is not None}
        if bench is None or not shown:
            continue
        values = np.array([v["value"] for v in shown.values()], dtype=float)
        spread = float(np.max(np.abs(values - bench))) or 1.0

        def at(v: float) -> float:
            return 0.5 + 0.5 * (float(v) - bench) / spread

        q1, q3 = np.percentile(values, [25, 75])
        for a, v in shown.items():
            out.append({"area": a, "indicator": i.heading, "x": at(v["value"]), "shown": _shown(v, i.kind),
                        "benchmark": _cell(str(bench), i.kind),
                        "low": at(values.min()), "q1": at(q1), "q3": at(q3), "high": at(values.max()),
                        "verdict": _verdict(v, bench)})
    order = list(by_area)
    out.sort(key=lambda r: order.index(r["area"]))
    return out


def _benchmark(i: Indicator, whole: dict[str, dict]) -> float | None:
    """What an area's figure is compared with: 1 for a ratio, the figure for all areas otherwise."""
    return 1.0 if i.kind == "ratio" else whole[i.key]["value"]


def _verdict(v: dict, benchmark: float | None) -> str:
    """Higher / similar / lower (or not compared) of a figure's 95% interval against the benchmark."""
    return compare_to_benchmark(_nan(v["lower"]), _nan(v["upper"]), _nan(benchmark))


def _nan(x: float | None) -> float:
    return float("nan") if x is None else x


def _short(label: str) -> str:
    return label.replace(" (%)", " %").replace(", people in police custody", ", police custody")


def intersections_section(data) -> Section:
    s = Section("intersections", "Intersections: ethnicity with sex and age")
    s.intro.append("Disproportionality can differ between women and men, and between age groups, of the same ethnic "
                   "group. Here the rate of being brought into police custody per 1,000 residents aged 10 and over, "
                   "and the RRI against White people of the same sex (or age group), for each combination.")
    rows = [r for r in data.plain_rows("disproportionality", ("sex × ethnic_group_5",))
            if r["decision_point"] == "police_custody"]
    age_rows = [r for r in data.plain_rows("disproportionality", ("age_group × ethnic_group_5",))
                if r["decision_point"] == "police_custody" and number(r.get("rri")) is not None]
    if not rows or all(number(r.get("rate")) is None for r in rows):
        s.empty = TOO_FEW
        return s
    values = []
    for r in rows:
        rri, lo, hi = number(r.get("rri")), number(r.get("lower_95")), number(r.get("upper_95"))
        if rri and lo and hi:
            sex, group = r["group"].split("; ", 1)
            values.append({"decision": sex, "group": charts.short_group(group), "rri": rri, "lower": lo, "upper": hi})
    s.charts.append(Chart(charts.forest(values), "RRI of being brought into police custody, by sex (log scale)",
                          "Forest plot: one panel per sex; each ethnic group's RRI against White people of the same "
                          "sex, as a dot with its 95% interval; a dashed line at 1 marks no difference. The figures "
                          "are in the table below.", "table-intersections-sex"))
    spec = [("group", "Group", "text"), ("events", "People", "count"), ("base", "Residents", "count"),
            ("rate", "Per 1,000", "raw"), ("rri", "RRI", "ratio"), ("ci_95", "95% CI", "text"),
            ("significance_998", "At 99.8%", "text")]
    for r in rows + age_rows:
        if r.get("significance") == "reference group":
            r["rri"] = ""  # the reference: no ratio with itself (the 95% CI column says so)
        lo, hi = number(r.get("lower_95")), number(r.get("upper_95"))
        r["ci_95"] = f"{lo:.2f}\u00a0to\u00a0{hi:.2f}" if lo is not None and hi is not None else r.get("significance", "")
        r["rate"] = r.get("rate", "")
    s.tables.append(_table("table-intersections-sex", "Police custody by sex and ethnic group", rows, spec))
    if age_rows:
        s.tables.append(_table("table-intersections-age",
                               "Police custody by age group and ethnic group (where an RRI could be calculated)",
                               age_rows, spec))
    s.notes.append("Each RRI is against White people of the same sex or age group, so it shows the ethnic difference "
                   "within that sex or age group. Combinations with fewer than 50 residents or 5 people are not "
                   "calculated.")
    return s


def expected_count(people: dict[str, float | None], total: float | None, rates: dict[str, float]) -> tuple[float, float] | None:
    """The number expected to have a disorder, from each sex's published people and its rate (a fraction):
    (lowest, highest). Exact (lowest == highest) when every sex's count is shown; where some are withheld,
    the people they hold together (the total less the shown counts, a published difference) take the
    lowest and the highest of the withheld sexes' rates. None when the total is withheld too."""
    shown = {s: n for s, n in people.items() if n is not None}
    hidden = [s for s in rates if people.get(s) is None]
    base = sum(n * rates[s] for s, n in shown.items() if s in rates)
    if not hidden:
        return base, base
    if total is None:
        return None
    rest = max(total - sum(n for s, n in shown.items() if s in rates), 0.0)
    hidden_rates = [rates[s] for s in hidden]
    return base + rest * min(hidden_rates), base + rest * max(hidden_rates)


def unmet_rows(data) -> tuple[list[dict], set[str]]:
    """Each disorder with a survey rate: people in prison, recorded, expected (or its range), recorded as a
    percentage of expected with its interval and verdict, from the view's published rows; and the sources."""
    from triangulate.measures.tables import expected_prevalence
    from triangulate.publish.view import need_label
    from triangulate.stats import smr

    rates: dict[tuple[str, str], dict[str, float]] = {}
    sources: set[str] = set()
    for r in expected_prevalence():
        rates.setdefault((r["setting"], r["need_code"]), {})[r["sex"]] = float(r["percent"]) / 100
        sources.add(r["source"])
    rows = data.plain_rows("need_prevalence", ("all", "sex"))
    out = []
    for (setting, need), by_sex in rates.items():
        mine = [r for r in rows if r["setting"] == setting and r["need_code"] == need]
        whole = next((r for r in mine if r["breakdown"] == "all"), None)
        if whole is None:
            continue
        people = {r["group"]: number(r["people"]) for r in mine if r["breakdown"] == "sex"}
        total, recorded = number(whole["people"]), number(whole["people_with_need"])
        expected = expected_count(people, total, by_sex)
        row = {"need": need_label(need), "low": None, "up": None, "people": _cell(whole["people"], "count"),
               "recorded": _cell(whole["people_with_need"], "count"), "expected": SUPPRESSED, "ratio": SUPPRESSED,
               "ci": "", "verdict": ""}
        if expected is not None and expected[1] > 0:
            lo, hi = expected
            row["expected"] = f"{lo:,.0f}" if round(lo) == round(hi) else f"{lo:,.0f} to {hi:,.0f}"
            if recorded is not None:
                if lo == hi:
                    e = smr(counts=None, populations=[1.0], reference_counts=[lo], reference_populations=[1.0],
                            observed_total=recorded, reference_value=100)
                    value, low, up = float(e.value), float(e.lower), float(e.upper)
                    row["ratio"], row["ci"] = f"{value:.0f}", f"{low:.0f}\u00a0to\u00a0{up:.0f}"  # kept on one line
                else:
                    low, up = recorded / hi * 100, recorded / lo * 100
                    row["ratio"] = f"{low:.0f} to {up:.0f}"
                    row["ci"] = "not calculated (a range)"
                row["low"], row["up"] = low, up
                row["verdict"] = ("fewer recorded than expected" if up < 100 else
                                  "more recorded than expected" if low > 100 else "similar to expected")
        out.append(row)
    return out, sources


def unmet_section(data) -> Section:
    """Recorded need in prison against the number that interview surveys of prisoners would predict."""
    s = Section("unmet", "Unmet need in prison: recorded against expected")
    s.intro.append("Need is recorded only where someone looks for it. Here each sex's published prevalence from a systematic review of 62 prisoner surveys "
                   "(Fazel and Danesh, The Lancet, 2002) is applied to the number of men and women seen in prison "
                   "to give the number expected to have each disorder; the number with it recorded is set against "
                   "that. Fewer recorded than expected points to need that is not being identified.")
    out, sources = unmet_rows(data)
    if not out or all(r["ratio"] == SUPPRESSED for r in out):
        s.empty = TOO_FEW
        return s
    for r in out:
        if r["verdict"] == "fewer recorded than expected":
            s.intro.append(f"{r['need']}: {r['recorded']} people in prison had it recorded, against about "
                           f"{r['expected']} expected from the surveys ({r['ratio']}% of expected).")
        elif r["verdict"] == "more recorded than expected":
            s.intro.append(f"{r['need']}: more people had it recorded ({r['recorded']}) than the surveys predict "
                           f"(about {r['expected']}): the records may use a broader definition than the surveys' "
                           "diagnostic interviews, or the need here is higher.")
    s.tables.append(Table("table-unmet", "Recorded and expected need among people in prison",
                          ["Disorder", "People in prison", "Recorded", "Expected from surveys",
                           "Recorded as % of expected", "95% CI", "Compared with expected"],
                          [[r["need"], r["people"], r["recorded"], r["expected"], r["ratio"], r["ci"], r["verdict"]]
                           for r in out],
                          [False, True, True, True, True, False, False]))
    s.notes.append("Expected = the sum over men and women of the people seen in prison times the survey prevalence for "
                   "their sex (indirect standardisation by sex; the review gives no rates by age, so the age mix is not "
                   "allowed for). The interval is exact below 10 recorded and Byar's from 10, on the recorded count; "
                   "it leaves out the surveys' own uncertainty. Where a sex's count is withheld, the expected number is "
                   "the range those people allow. The surveys count disorder found by interview (psychosis and major "
                   "depression in the past 6 months; personality disorder at any time); recording finds less, so a "
                   "shortfall is expected even where services are good, and the size of the gap is what to watch.")
    s.notes.append("Sources: " + "; ".join(sorted(sources)) + ".")
    return s


@dataclass(frozen=True)
class Glance:
    """One headline figure of one area at a glance: its value, how it compares with all areas, and its
    trend over the financial years of the publication (the dashboard's overview reads these)."""

    key: str
    label: str
    kind: str
    shown: str  # the value as published ("" where there is none, "*" where withheld)
    interval: str  # "7.2 to 9.0", or ""
    compared: str  # higher / similar / lower / not compared ("" for all areas or a count)
    against: str  # what it is compared with, in words ("all areas: 6.5%", "1 (no difference)")
    years: tuple[tuple[str, str], ...]  # (financial year, value shown)
    trend: str  # higher / lower / no clear change / "" (too few shown years, or a count)


def _interval(v: dict, kind: str) -> str:
    if v["lower"] is None or v["upper"] is None:
        return ""
    digits = 2 if kind == "ratio" else 1
    return f"{v['lower']:.{digits}f} to {v['upper']:.{digits}f}"


def glance(published, area: str, year: str) -> list[Glance]:
    """Every headline indicator (``INDICATORS``) for ``area`` in ``year``: beside all areas in the same
    year (Fingertips' rule: the area's 95% interval above, spanning or below the figure for all areas;
    for a ratio, 1) and over each financial year (first against last shown year, intervals not
    overlapping). Six views of the publication are read, each measure once per view (the dashboard
    keeps the result: ``triangulate.web.data.glance``)."""
    from triangulate.publish.view import View

    whole_area = published.areas[0]
    here = headline(View(published, area, year))
    whole = headline(View(published, whole_area, year)) if area != whole_area else here
    years = list(published.years[1:])
    by_year = {y: (here if y == year else headline(View(published, area, y))) for y in years}
    out = []
    for i in INDICATORS:
        v = here[i.key]
        compared = against = ""
        if i.kind != "count" and (area != whole_area or i.kind == "ratio"):
            bench = _benchmark(i, whole)
            if i.kind == "ratio":
                against = "1 (the reference group's rate)"
            elif bench is not None:
                against = f"all areas: {_shown(whole[i.key], i.kind)}"
            compared = _verdict(v, bench) if v["value"] is not None else "not compared"
        shown_years = [(y, by_year[y][i.key]) for y in years if by_year[y][i.key]["value"] is not None]
        trend = ""
        if i.kind != "count" and len(shown_years) >= 2:
            verdict = change(shown_years[0][1], shown_years[-1][1])
            trend = {"higher": "higher", "lower": "lower", "similar": "no clear change"}.get(verdict, "")
        out.append(Glance(i.key, i.label, i.kind, _shown(v, i.kind) or (SUPPRESSED if i.measure in published.names
                                                                        else ""),
                          _interval(v, i.kind), compared, against,
                          tuple((y, _shown(by_year[y][i.key], i.kind) or SUPPRESSED) for y in years), trend))
    return out


def glance_sentences(rows: list[Glance], year_label: str) -> list[str]:
    """What the figures at a glance say, in sentences: which are higher or lower than all areas (or, for
    a ratio, than 1) and which have changed over the years; said plainly when none has."""
    def named(items: list[Glance]) -> str:
        words = [g.label.replace(" (%)", "") for g in items]
        return words[0] if len(words) == 1 else "; ".join(words[:-1]) + "; and " + words[-1]

    out = []
    compared = [g for g in rows if g.compared in ("higher", "similar", "lower") and g.kind != "ratio"]
    higher = [g for g in compared if g.compared == "higher"]
    lower = [g for g in compared if g.compared == "lower"]
    if compared:
        if higher or lower:
            parts = []
            if higher:
                parts.append(f"higher than all areas for {named(higher)}")
            if lower:
                parts.append(f"lower for {named(lower)}")
            out.append(f"Compared with all areas ({year_label}): " + ", and ".join(parts) + ". The others are "
                       "similar to all areas (95% intervals that span the figure for all areas).")
        else:
            out.append(f"Compared with all areas ({year_label}): every figure that can be compared is similar "
                       "(its 95% interval spans the figure for all areas).")
    ratios = [g for g in rows if g.kind == "ratio" and g.compared in ("higher", "lower")]
    for g in ratios:
        out.append(f"{g.label.split(' (')[0]}: {g.shown} (95% CI {g.interval}), {g.compared} than 1, so the rates "
                   "differ beyond chance.")
    up = [g for g in rows if g.trend == "higher"]
    down = [g for g in rows if g.trend == "lower"]
    if up or down:
        parts = ([f"up for {named(up)}"] if up else []) + ([f"down for {named(down)}"] if down else [])
        out.append("Over the financial years: " + ", and ".join(parts) + " (first against last year shown; "
                   "the 95% intervals do not overlap).")
    elif any(g.trend for g in rows):
        out.append("Over the financial years, no figure has clearly changed (first against last year shown: "
                   "their 95% intervals overlap).")
    return out
