"""What the report says: sections, sentences and recommendations generated from published figures.

Everything here reads a publication (``triangulate.publish``), never the store, so no figure in the
report can be smaller or more precise than what the disclosure rule lets out, and the report shows
the same figures as the dashboard. Thresholds that turn figures into
findings are constants below and are documented in docs/report.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from triangulate.stats import per_100_reference

#: Decision points in pathway order, with the words a sentence uses for each.
DECISIONS = {
    "police_custody": "brought into police custody",
    "s136": "detained under section 136 of the Mental Health Act",
    "mha_detention": "detained under the Mental Health Act",
    "ld_screened": "screened by liaison & diversion in police custody",
    "ld_referred": "referred on by liaison & diversion",
    "court": "appearing in court",
    "remand": "remanded in custody",
    "sentenced": "sentenced at court",
    "custodial_sentence": "given a custodial sentence",
    "prison_reception": "received into prison",
}
SETTINGS = {
    "police_custody": "Police custody",
    "liaison_diversion": "Liaison & diversion",
    "court_appearance": "Courts",
    "prison_custody": "Prison",
    "probation_supervision": "Probation",
    "mental_health": "Mental health services",
}
HEADLINE_NEEDS = ("depression", "anxiety", "anxiety_or_depression", "psychosis", "personality_disorder",
                  "self_harm", "substance_misuse", "alcohol_misuse", "learning_disability",
                  "neurodevelopmental", "trauma", "dual_diagnosis")
#: Continuity of care within 6 weeks below this share is a finding (NHS England's RECONNECT and the
#: prison health standards expect continuity for every release with a need; half is a floor).
LOW_CONTINUITY_PERCENT = 50.0
#: A need at least this many times its general-population benchmark, and significantly higher, is a finding.
HIGH_NEED_RATIO = 2.0
SUPPRESSED = "*"


def read_published(data, name: str, breakdowns: tuple[str, ...] | None = None) -> list[dict[str, str]] | None:
    """A measure's rows in the report's view, as text (None: the publication does not have it)."""
    if name not in data.published.names:
        return None
    return data.plain_rows(name, breakdowns)


def number(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def fmt_percent(text: str | None) -> str:
    v = number(text)
    return SUPPRESSED if v is None else f"{v:.1f}"


#: Where each decision point and setting sits on the Sequential Intercept Model (codelist ``intercept``).
DECISION_INTERCEPT = {"s136": 0, "mha_detention": 0, "police_custody": 1, "ld_screened": 1, "ld_referred": 1,
                      "court": 2, "remand": 2, "sentenced": 3, "custodial_sentence": 3, "prison_reception": 3}
SETTING_INTERCEPT = {"mental_health": 0, "police_custody": 1, "liaison_diversion": 1, "court_appearance": 2,
                     "prison_custody": 3, "probation_supervision": 5}
#: What to do about over-representation at each intercept, and with whom.
DISPARITY_ACTIONS = {
    0: "With the police, the crisis service and the approved mental health professional service, review who is "
       "detained under section 136 and why, against street triage and crisis records, and agree an aim to reduce "
       "the disparity.",
    1: "With the police force, the custody healthcare provider and liaison & diversion, review arrest and custody "
       "decisions and who is seen by liaison & diversion, by ethnic group, and agree an aim to reduce the disparity.",
    2: "With the courts, the Crown Prosecution Service and the court liaison & diversion team, review remand "
       "decisions by ethnic group and whether a liaison & diversion report reached the court before the decision.",
    3: "With the courts and probation, review pre-sentence reports by ethnic group: was a mental health treatment "
       "requirement considered before a custodial sentence, and were prison reception screens acted on?",
}
#: What to commission where recorded need in a setting is well above the general population's.
NEED_ACTIONS = {
    1: "Size custody healthcare and liaison & diversion cover, including the hours of most arrivals, to the need "
       "recorded",
    2: "Make sure court liaison & diversion covers every court sitting and that its reports reach the bench",
    3: "Size prison mental health in-reach and substance misuse services to the need recorded, and check that "
       "reception screening finds it",
    5: "Make sure probation can offer Mental Health, Drug and Alcohol Treatment Requirements in proportion to the "
       "need recorded",
}
PRIORITIES = {1: "High", 2: "Medium"}


def intercept_label(n: int) -> str:
    from triangulate.standard import codelist

    return f"Intercept {n}: {codelist('intercept').label(str(n))}"


@dataclass
class Recommendation:
    text: str
    evidence: str  # the id of the table the evidence is in
    evidence_text: str
    intercept: int = 0
    priority: int = 2  # 1 high (significant at 99.8%, or half or fewer reached), 2 medium

    @property
    def priority_label(self) -> str:
        return PRIORITIES[self.priority]

    @property
    def intercept_label(self) -> str:
        return intercept_label(self.intercept)


@dataclass
class EasyRead:
    """One easy-read line: a short sentence with one idea, and the picture beside it."""

    text: str
    picture: str  # an inline SVG, with its own accessible name
    alt: str


@dataclass
class Findings:
    summary: list[str] = field(default_factory=list)
    easy_read: list[EasyRead] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)

    def recommend(self, r: Recommendation) -> None:
        if all((r.intercept, r.text) != (o.intercept, o.text) for o in self.recommendations):
            self.recommendations.append(r)


def rri_sentence(row: dict[str, str]) -> str | None:
    """'For every 100 White people brought into police custody, 215 Black people were (95% CI ...)'."""
    rri, lo, hi = (number(row.get(c)) for c in ("rri", "lower_95", "upper_95"))
    if rri is None or lo is None or hi is None:
        return None
    words = DECISIONS.get(row["decision_point"], row["decision_point"].replace("_", " "))
    group = row["group"].split(",")[0]
    base = "per head of the resident population" if row["base_stage"] == "population" else \
        f"of those at the previous stage ({row['base_stage'].replace('_', ' ')})"
    return (f"For every 100 {row['reference_group']} people {words} ({base}), "
            f"{per_100_reference(rri):.0f} {group} people were (95% CI {per_100_reference(lo):.0f} to "
            f"{per_100_reference(hi):.0f}).")


#: The 5 ethnic groups as people in a sentence, by the start of the group's label.
GROUP_PEOPLE = (("Asian", "Asian people"), ("Black", "Black people"), ("Mixed", "people of mixed ethnicity"),
                ("White", "White people"), ("Other", "people of other ethnic groups"))


def group_people(label: str) -> str:
    return next((words for start, words in GROUP_PEOPLE if label.startswith(start)), label)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def derive(data) -> Findings:
    """Key findings, easy-read lines and recommendations from the published tables.

    Recommendations are one per finding and intercept (not one per row): over-representation at the
    decision points of one intercept is one recommendation, the needs well above the general
    population in one setting another. Each says what to do, with whom, at which intercept, with what
    priority, and the figures behind it."""
    from . import easyread

    f = Findings()
    disp = read_published(data, "disproportionality") or []
    order = list(DECISIONS)
    groups = [r for r in disp if r["breakdown"] == "ethnic_group_5" and r.get("significance") != "reference group"]
    groups.sort(key=lambda r: order.index(r["decision_point"]) if r["decision_point"] in order else 99)
    higher: dict[int, list[tuple[dict, str]]] = {}
    for r in groups:
        sentence = rri_sentence(r)
        if sentence is None:
            continue
        if r["group"].startswith("Black") and r["decision_point"] in ("police_custody", "s136", "remand",
                                                                       "prison_reception"):
            f.summary.append(sentence)
        # Recommend only on the 99.8% flag: the RRI table makes hundreds of comparisons.
        if (r.get("significance_998") or "").endswith("higher") and r["decision_point"] in DECISION_INTERCEPT:
            higher.setdefault(DECISION_INTERCEPT[r["decision_point"]], []).append((r, sentence))
    for intercept, found in sorted(higher.items()):
        who = _listed(list(dict.fromkeys(group_people(r["group"]) for r, _ in
                                         sorted(found, key=lambda x: x[0]["group"]))))
        who = who[0].upper() + who[1:]
        where = _listed(list(dict.fromkeys(f"being {DECISIONS[r['decision_point']]}" for r, _ in found)))
        f.recommend(Recommendation(
            f"{who} are over-represented at the point of {where}. {DISPARITY_ACTIONS[intercept]}",
            "table-disproportionality", " ".join(s for _, s in found), intercept, 1))

    prevalence = read_published(data, "need_prevalence") or []
    by_setting: dict[str, list[tuple[str, str]]] = {}
    for r in prevalence:
        if r["breakdown"] != "all" or r.get("compared_with_benchmark") != "higher":
            continue
        value, bench = number(r["prevalence_percent"]), number(r["benchmark_percent"])
        if value is None or not bench or value < HIGH_NEED_RATIO * bench:
            continue
        setting = SETTINGS.get(r["setting"], r["setting"])
        need = r["need_code"].replace("_", " ")
        evidence = (f"{setting}: {value:.1f}% of people had {need} recorded (95% CI {fmt_percent(r['lower_95'])} "
                    f"to {fmt_percent(r['upper_95'])}), against {bench:g}% in the general population "
                    f"({r['benchmark_source']}).")
        if r["setting"] in ("prison_custody", "police_custody"):
            f.summary.append(evidence)
        by_setting.setdefault(r["setting"], []).append((need, evidence))
    by_intercept: dict[int, list[str]] = {}
    for code in by_setting:
        if SETTING_INTERCEPT.get(code) in NEED_ACTIONS:
            by_intercept.setdefault(SETTING_INTERCEPT[code], []).append(code)
    for intercept, codes in sorted(by_intercept.items()):
        found = [f"{_listed(list(dict.fromkeys(n for n, _ in by_setting[c])))} in {SETTINGS.get(c, c).lower()}"
                 for c in codes]
        f.recommend(Recommendation(
            f"Recorded {'; '.join(found)}: each at least {HIGH_NEED_RATIO:g} times as common as in the general "
            f"population. {NEED_ACTIONS[intercept]}.",
            "table-needs", " ".join(e for c in codes for _, e in by_setting[c]), intercept, 2))

    continuity = read_published(data, "continuity_of_care", ("all",)) or []
    low_continuity = None
    for r in continuity:
        if r["breakdown"] == "all" and r["window"] == "6 weeks":
            value = number(r["percent_with_contact"])
            if value is None:
                continue
            evidence = (f"Of {r['releases']} releases from prison of people with a mental health need, "
                        f"{value:.1f}% (95% CI {fmt_percent(r['lower_95'])} to {fmt_percent(r['upper_95'])}) "
                        "had a community mental health contact within 6 weeks.")
            f.summary.append(evidence)
            if value < LOW_CONTINUITY_PERCENT:
                low_continuity = value
                f.recommend(Recommendation(
                    "Make continuity of care after release a contract requirement for prison healthcare and the "
                    "community mental health teams: a named community team and an appointment before release for "
                    "everyone with a mental health need (for example through RECONNECT), and GP registration "
                    "before the day of release.", "table-continuity", evidence, 4, 1))

    exits = read_published(data, "pathway_no_health_contact", ("all",)) or []
    for r in exits:
        if r["breakdown"] == "all" and r["setting"] == "police_custody":
            value = number(r["percent_without_health_contact"])
            if value is not None:
                f.summary.append(
                    f"Of {r['people_with_need']} people in police custody with a mental health need, "
                    f"{value:.1f}% had no mental health service contact afterwards.")

    if "need_prevalence" in data.published.names:
        from .hna import unmet_rows

        for r in unmet_rows(data)[0]:
            if r["verdict"] == "fewer recorded than expected":
                f.recommend(Recommendation(
                    "Fewer people in prison have serious mental disorder recorded than interview surveys predict. "
                    "With the prison healthcare provider, audit reception screening and the second-stage mental "
                    "health assessment against a sample of records, and train reception staff to find "
                    f"{r['need'].lower()}.", "table-unmet",
                    f"{r['need']}: {r['recorded']} people in prison recorded against about {r['expected']} expected "
                    f"({r['ratio']}% of expected, 95% CI {r['ci']}).", 3, 1 if r["up"] < 100 else 2))

    funnel = read_published(data, "ld_funnel", ("all",)) or []
    for r in funnel:
        if r["step"] == "4 referred":
            value = number(r.get("percent_of_previous_step"))
            if value is not None and value < LOW_CONTINUITY_PERCENT:
                evidence = (f"Liaison & diversion ({r['ld_setting'].replace('_', ' ')}): {value:.1f}% of the people "
                            "assessed were referred on.")
                f.recommend(Recommendation(
                    "With the liaison & diversion provider, review why people assessed are not referred on, and "
                    "whether the services they would be referred to have capacity to take them.",
                    "table-funnel", evidence, 1, 2))
    f.recommendations.sort(key=lambda r: (r.priority, r.intercept))
    f.easy_read = easyread.lines(data, prevalence, groups, low_continuity, continuity)
    if not f.summary:
        f.summary.append("There were too few people in this area and period to report key findings "
                         "without risk of identifying anyone.")
    return f
