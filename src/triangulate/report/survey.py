"""The "What people told us" chapter: the needs and experience survey's indicators by setting, and
self-reported distress beside the needs the records show, by ethnic group. Read from the publication
(the ``survey_experience`` measure), so the report and the dashboard show the same figures."""

from __future__ import annotations

from triangulate.measures.survey import INDICATOR_LABELS, SCORED, SETTING_LABELS, THEME_LABELS
from triangulate.publish.pages import page
from triangulate.publish.view import words

from . import charts
from .build import Chart, Section, _table
from .findings import SUPPRESSED, number, read_published

NO_SURVEY = ("No needs and experience survey has been loaded for this area and period. The survey form, and how "
             "to load its answers, are described in the survey guide that comes with Triangulate.")
#: Each indicator's words in a chart's row label (the table gives them in full).
SHORT = {
    "told_about_support": "Told about support", "information_understood": "Understood the information",
    "staff_understand_culture": "Staff understand my culture", "staff_respect": "Staff treat me with respect",
    "treated_unfairly": "Treated unfairly", "problems_very_difficult": "Problems made life very hard",
    "bme_group_available": "Minority ethnic group available",
    "wants_mentor": "Would like a mentor", "family_involved": "Family involved in care",
    "knows_where_living": "Knows where will live", "gp_on_leaving": "GP on leaving",
    "mh_support_arranged": "Mental health support arranged", "can_practise_faith": "Can practise faith",
    "wants_work_or_training": "Would like work or training", "knows_community_services": "Knows community services",
    "experience_good": "Experience good (FFT)", "probable_depression": "Probable depression (PHQ-9)",
    "probable_anxiety": "Probable anxiety (GAD-7)",
    "needs_english_help": "Needs help with English", "info_translated_or_interpreted": "Translated or interpreted",
    "bme_group_used": "Went to the support group", "bme_group_helpful": "Support group helpful",
    "visited_monthly": "Visited at least monthly", "visits_distance_or_cost": "Visits: distance or cost",
    "faith_leader_access": "Can see a faith leader", "in_work_or_training": "In work or training now",
    "community_services_used": "Used community services", "community_services_fit": "Services understand culture",
}
#: Survey settings beside the record setting whose recorded needs they are compared with.
RECORD_SETTING = {"prison": "prison_custody", "community": "probation_supervision"}


def _setting_order(row: dict) -> int:
    """Prison, secure hospital, community (the order of the pathway), anything else last."""
    return list(SETTING_LABELS).index(row["setting"]) if row["setting"] in SETTING_LABELS else len(SETTING_LABELS)


def survey_section(data) -> Section:
    s = Section("survey", page("survey").title)
    rows = [r for r in read_published(data, "survey_experience") or [] if r["breakdown"] == "all"]
    if not any(r["asked"] == SUPPRESSED or (number(r["asked"]) or 0) > 0 for r in rows):
        s.empty = NO_SURVEY
        return s
    answered = {}
    for r in sorted(rows, key=_setting_order):
        if r["indicator"] == "probable_depression" and number(r["asked"]) is not None:
            answered[r["setting"]] = int(number(r["asked"]))
    counts = "; ".join(f"{SETTING_LABELS[k]} {v:,}" for k, v in answered.items())
    s.intro.append("People in prison, in secure hospitals and in the community were interviewed with one "
                   "questionnaire about information on services, staff understanding of their culture, support "
                   "groups and mentors, their wellbeing, family, leaving, faith, work and services in the community. "
                   + (f"People completing the wellbeing questions: {counts}. " if counts else "")
                   + "Each figure is the share of the people who answered that question, with a 95% interval.")
    s.intro.append("People may answer differently depending on who asks: in this survey the interviewing "
                   "organisation differs by setting, so part of a difference between settings may be who asked. "
                   "Those interviewed are the people who could be reached and agreed, not a random sample.")
    for r in rows:
        r["indicator_words"] = INDICATOR_LABELS.get(r["indicator"], r["indicator"])
        r["setting_words"] = SETTING_LABELS.get(r["setting"], r["setting"])
    order = list(INDICATOR_LABELS)
    rows.sort(key=lambda r: (order.index(r["indicator"]) if r["indicator"] in order else 99,
                             _setting_order(r)))
    # Two charts, each a page at most: information, culture and support; then family, leaving, faith, work,
    # community services, experience and wellbeing.
    split = order.index("family_involved") if "family_involved" in order else len(order)
    for part, (title, words) in enumerate((
            ("What people told us about information, culture and support, by setting, with 95% confidence "
             "intervals", "information, staff understanding of culture and support groups"),
            ("What people told us about family, leaving, faith, work, services and wellbeing, by setting, with 95% "
             "confidence intervals", "family and visits, leaving, faith, work, community services, experience "
             "of the service and wellbeing"))):
        wanted = set(order[:split] if part == 0 else order[split:])
        values = [{"category": SHORT.get(r["indicator"], r["indicator_words"]), "setting": r["setting_words"],
                   "value": number(r["percent"]), "lower": number(r["lower_95"]), "upper": number(r["upper_95"])}
                  for r in rows if r["indicator"] in wanted and number(r["percent"]) is not None]
        if values:
            s.charts.append(Chart(charts.intervals(values, category="category", colour="setting",
                                                   title="% of those answering (95% CI)",
                                                   colour_order=list(SETTING_LABELS.values())),
                                  title,
                                  f"Dot and interval chart: for each question on {words}, the percentage of people "
                                  "answering who gave the answer named, in prison, secure hospital and community "
                                  "settings. The figures are in the table below.", "table-survey"))
    s.tables.append(_table("table-survey", "What people told us, by setting (all people)", rows, [
        ("indicator_words", "What people told us", "text"), ("setting_words", "Setting", "text"),
        ("positive", "People", "count"), ("asked", "Answering", "count"), ("percent", "%", "percent"),
        ("lower_95", "95% CI lower", "percent"), ("upper_95", "95% CI upper", "percent")]))
    scores = _scores(data)
    if scores:
        s.tables.append(scores)
    weighted = _weighted(data)
    if weighted == "none":
        s.notes.append(NOT_WEIGHTED)
    elif weighted:
        s.tables.append(weighted)
        s.notes.append("Weighted shares: the people interviewed are not a random sample, so each answer is weighted "
                       "until the people answering match the people in the same setting in the records by sex, age "
                       "group and ethnic group at once (raking), with intervals that allow for the weighting. They are "
                       "shown to whole percentages, for whole settings where at least 30 people answered. Secure "
                       "hospitals have no record population to weight to.")
    beside = _beside_records(data)
    if beside:
        s.tables.append(beside)
    themes = [r for r in read_published(data, "survey_themes") or [] if r["breakdown"] == "all"
              and (r["coded"] == SUPPRESSED or (number(r["coded"]) or 0) > 0)]
    if themes:
        for r in themes:
            r["theme_words"] = THEME_LABELS.get(r["theme"], r["theme"])
            r["setting_words"] = SETTING_LABELS.get(r["setting"], r["setting"])
        themes.sort(key=lambda r: (list(THEME_LABELS).index(r["theme"]) if r["theme"] in THEME_LABELS else 99,
                                   _setting_order(r)))
        s.tables.append(_table("table-survey-themes", "In their own words: themes of the free-text answers, by setting",
                               themes, [("theme_words", "Theme", "text"), ("setting_words", "Setting", "text"),
                                        ("mentioned", "People", "count"), ("coded", "With coded answers", "count"),
                                        ("percent", "%", "percent")]))
    quoted = quotes(data)
    if quoted:
        s.tables.append(_table("table-survey-quotes", "In their own words: answers a reviewer cleared for quotation",
                               quoted, [("setting_words", "Setting", "text"), ("question", "Asked about", "text"),
                                        ("text", "What they said", "text")]))
    s.notes.append("PHQ-9 (0 to 27) and GAD-7 (0 to 21) are scored by their own rules, higher meaning more "
                   "symptoms: a score of 10 or more is the usual threshold "
                   "for probable depression or anxiety disorder, not a diagnosis. A mean score's interval is "
                   "Student's t on the people completing it; a mean is withheld wherever its count is. The Friends and Family Test share "
                   "is 'very good' or 'good' of all answers, as NHS England reports it.")
    s.notes.append("Answers in people's own words are not published here: they are coded into themes first, and "
                   "a quotation is shown only after a reviewer has checked that it identifies nobody.")
    return s


def _scores(data):
    """Mean PHQ-9, GAD-7 (and SWEMWBS, where asked) scores by setting, all people, with 95% intervals."""
    rows = [r for r in read_published(data, "survey_scores") or [] if r["breakdown"] == "all"
            and (r["scored"] == SUPPRESSED or (number(r["scored"]) or 0) > 0)]
    if not rows:
        return None
    order = list(SCORED)
    for r in rows:
        r["instrument_words"] = words("instrument", r["instrument"])
        r["setting_words"] = SETTING_LABELS.get(r["setting"], r["setting"])
    rows.sort(key=lambda r: (order.index(r["instrument"]) if r["instrument"] in order else 99, _setting_order(r)))
    return _table("table-survey-scores", "Mean scores by setting (all people), with 95% confidence intervals", rows, [
        ("instrument_words", "Score", "text"), ("setting_words", "Setting", "text"),
        ("scored", "People completing it", "count"), ("mean_score", "Mean", "score"),
        ("lower_95", "95% CI lower", "score"), ("upper_95", "95% CI upper", "score")])


def quotes(data) -> list[dict]:
    """The cleared quotations of the view's area (every area's in the view of all areas), by setting. They
    carry no year: a quotation is shown in every period's view of its area."""
    table = data.published.quotes
    if table is None:
        return []
    everywhere = data.area == data.published.areas[0]
    rows = [r for r in table.to_pylist() if everywhere or r["area_code"] == data.area]
    for r in rows:
        r["setting_words"] = SETTING_LABELS.get(r["setting"], r["setting"])
    return sorted(rows, key=lambda r: (_setting_order(r), r["question"], r["text"]))


NOT_WEIGHTED = ("Weighted shares (the answers weighted to the sex, age and ethnic group of the people in the "
                "same setting in the records) could not be calculated for this area and period: too few people "
                "answered, or too few in the groups, in the survey or in the records, to weight by.")


def beside_the_records(data) -> tuple[list, list]:
    """The chapter's tables that set the survey beside the records (probable depression said against need
    recorded, and the answers weighted to the people in the records), for the dashboard's survey page, and
    the chapter's note where no share could be weighted (so the page says why the weighted table is absent)."""
    weighted = _weighted(data)
    if weighted == "none":
        return [t for t in (_beside_records(data),) if t], [NOT_WEIGHTED]
    return [t for t in (_beside_records(data), weighted) if t], []


def _beside_records(data):
    """Probable depression (PHQ-9 10 or more) said by people in prison, by ethnic group, beside the share of
    people in prison with depression or anxiety recorded by an agency: two views of one need."""
    said = [r for r in read_published(data, "survey_experience") or []
            if r["breakdown"] in ("all", "ethnic_group_5") and r["indicator"] == "probable_depression"
            and r["setting"] == "prison"]
    recorded = {r["group"]: r for r in read_published(data, "need_prevalence") or []
                if r["breakdown"] in ("all", "ethnic_group_5") and r["setting"] == "prison_custody"
                and r["need_code"] == "anxiety_or_depression"}
    if not said:
        return None
    rows = []
    for r in said:
        other = recorded.get(r["group"], {})
        rows.append({"group": r["group"], "said": r["percent"], "said_n": r["asked"],
                     "recorded": other.get("prevalence_percent", ""), "recorded_n": other.get("people", "")})
    rows.sort(key=lambda r: (r["group"] != "All people", r["group"]))
    return _table("table-survey-records", "In prison: probable depression said in the survey (PHQ-9 10 or more) "
                  "beside depression or anxiety recorded by any agency, by ethnic group", rows, [
                      ("group", "Ethnic group", "text"), ("said", "Survey: probable depression %", "percent"),
                      ("said_n", "Survey: answering", "count"), ("recorded", "Records: depression or anxiety %", "percent"),
                      ("recorded_n", "Records: people in prison", "count")])


def _weighted(data):
    """The weighted shares of the view (the publication's ``survey_weighted`` table), prison and community."""
    table = data.published.derived("survey_weighted") if "survey_weighted" in data.published.derived_names() else None
    if table is None:
        return None
    from .provision import view_rows

    rows = [r for r in view_rows(table, data.area, data.year) if r["setting"] in ("prison", "community")]
    if not rows:
        return None
    if all(r["weighted_percent"] is None for r in rows):
        return "none"
    order = list(INDICATOR_LABELS)
    rows.sort(key=lambda r: (order.index(r["indicator"]) if r["indicator"] in order else 99, r["setting"] != "prison"))
    for r in rows:
        r["indicator_words"] = INDICATOR_LABELS.get(r["indicator"], r["indicator"])
        r["setting_words"] = SETTING_LABELS.get(r["setting"], r["setting"])
        r["weighted_text"] = (f"{r['weighted_percent']:.0f} ({r['lower_95']:.0f} to {r['upper_95']:.0f})"
                              if r["weighted_percent"] is not None else r["note"].removeprefix("not weighted: "))
        r["unweighted"] = "" if r["unweighted_percent"] is None else f"{r['unweighted_percent']:.1f}"
        r["by"] = r["note"].removeprefix("raked to ") if r["weighted_percent"] is not None else ""
    return _table("table-survey-weighted", "What people told us, weighted to the people in the records by sex, age "
                  "group and ethnic group where their numbers allow (% and 95% CI)", rows, [
                      ("indicator_words", "What people told us", "text"), ("setting_words", "Setting", "text"),
                      ("unweighted", "Unweighted %", "text"), ("weighted_text", "Weighted % (95% CI)", "text"),
                      ("by", "Weighted to", "text")])
