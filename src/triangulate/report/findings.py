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


@dataclass
class Recommendation:
    text: str
    evidence: str  # the id of the table the evidence is in
    evidence_text: str


@dataclass
class Findings:
    summary: list[str] = field(default_factory=list)
    easy_read: list[str] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)


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


def derive(data) -> Findings:
    """Key findings, easy-read sentences and recommendations from the published tables."""
    f = Findings()
    disp = read_published(data, "disproportionality") or []
    black = [r for r in disp if r["breakdown"] == "ethnic_group_5" and r["group"].startswith("Black")]
    order = list(DECISIONS)
    black.sort(key=lambda r: order.index(r["decision_point"]) if r["decision_point"] in order else 99)
    for r in black:
        sentence = rri_sentence(r)
        if sentence and r["decision_point"] in ("police_custody", "s136", "remand", "prison_reception"):
            f.summary.append(sentence)
        # Recommend only on the 99.8% flag: the RRI table makes hundreds of comparisons.
        if (r.get("significance_998") or "").endswith("higher") and sentence:
            f.recommendations.append(Recommendation(
                f"Examine why Black people are over-represented at the point of being "
                f"{DECISIONS.get(r['decision_point'], r['decision_point'])}, with the agencies responsible, "
                "and set a measurable aim to reduce the disparity.",
                "table-disproportionality", sentence))
    higher = [r for r in black if (r.get("significance_998") or "").endswith("higher")]
    if higher:
        f.easy_read.append(f"Black people are more likely than White people to be "
                           f"{DECISIONS.get(higher[0]['decision_point'], 'in the justice system')}.")

    prevalence = read_published(data, "need_prevalence") or []
    for r in prevalence:
        if r["breakdown"] != "all" or r.get("compared_with_benchmark") != "higher":
            continue
        value, bench = number(r["prevalence_percent"]), number(r["benchmark_percent"])
        if value is None or not bench or value < HIGH_NEED_RATIO * bench:
            continue
        setting = SETTINGS.get(r["setting"], r["setting"])
        need = r["need_code"].replace("_", " ")
        evidence = (f"{setting}: {value:.1f}% of people had {need} recorded (95% CI {fmt_percent(r['lower_95'])} "
                    f"to {fmt_percent(r['upper_95'])}), against {bench:.1f}% in the general population "
                    f"({r['benchmark_source']}).")
        if r["setting"] in ("prison_custody", "police_custody"):
            f.summary.append(evidence)
        f.recommendations.append(Recommendation(
            f"Commission capacity for {need} in {setting.lower()} in proportion to the need found, "
            "and check that screening identifies it.", "table-needs", evidence))
    if any(r.get("compared_with_benchmark") == "higher" for r in prevalence):
        f.easy_read.append("Many people in police custody and prison have mental health needs. "
                           "More than in the general population.")

    continuity = read_published(data, "continuity_of_care", ("all",)) or []
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
                f.recommendations.append(Recommendation(
                    "Make continuity of care after release a contract requirement: a named community team "
                    "and an appointment before release for everyone with a mental health need "
                    "(for example through RECONNECT).", "table-continuity", evidence))
                f.easy_read.append("Many people leaving prison do not see a mental health team soon after.")

    exits = read_published(data, "pathway_no_health_contact", ("all",)) or []
    for r in exits:
        if r["breakdown"] == "all" and r["setting"] == "police_custody":
            value = number(r["percent_without_health_contact"])
            if value is not None:
                f.summary.append(
                    f"Of {r['people_with_need']} people in police custody with a mental health need, "
                    f"{value:.1f}% had no mental health service contact afterwards.")

    funnel = read_published(data, "ld_funnel", ("all",)) or []
    identified = {r["ld_setting"]: r for r in funnel if r["step"] == "1 identified"}
    for r in funnel:
        if r["step"] == "4 referred" and r["ld_setting"] in identified:
            value = number(r["percent_of_identified"])
            if value is not None and value < LOW_CONTINUITY_PERCENT:
                evidence = (f"Liaison & diversion ({r['ld_setting'].replace('_', ' ')}): {value:.1f}% of people "
                            "identified were referred on.")
                f.recommendations.append(Recommendation(
                    "Review the liaison & diversion pathway from assessment to referral, and the capacity "
                    "of the services people are referred to.", "table-funnel", evidence))
    f.easy_read.append("We looked at records from police, courts, prisons, probation and health services.")
    f.easy_read.append("We kept people's details private. Small numbers are hidden.")
    if not f.summary:
        f.summary.append("There were too few people in this area and period to report key findings "
                         "without risk of identifying anyone.")
    return f
