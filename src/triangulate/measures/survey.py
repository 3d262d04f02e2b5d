"""What people told us: the needs and experience survey's answers as a registered measure, so that
they go through the publication and its disclosure control like every record-based figure.

The survey room loads responses into the store's ``survey`` schema (``triangulate survey ingest``);
this module reads them. A store without survey responses publishes the measure with no rows.
"""

from __future__ import annotations

import functools
import operator

import ibis
import numpy as np
import pyarrow as pa

from triangulate.measures import base
from triangulate.measures.registry import Column, Count, register
from triangulate.measures.tables import proportion

SETTINGS = ("prison", "secure_hospital", "community")
SETTING_LABELS = {"prison": "Prison", "secure_hospital": "Secure hospital", "community": "Community"}
#: Each published indicator: (name, what it counts, the item it reads, the answers that count).
#: Instrument scores are read from ``survey.score`` (item: the instrument; answers: caseness).
INDICATORS = (
    ("told_about_support", "Told about mental health support on arrival", "info_given", ("yes",)),
    ("information_understood", "Could understand the information", "info_understood", ("yes",)),
    ("needs_english_help", "Needs help to read or speak English", "english_help", ("yes",)),
    ("info_translated_or_interpreted", "Given information translated or through an interpreter (of those told)",
     "info_format", ("translated", "interpreter")),
    ("staff_understand_culture", "Agree staff understand my culture and background", "staff_culture",
     ("agree", "strongly_agree")),
    ("staff_respect", "Agree staff treat me with respect", "staff_respect", ("agree", "strongly_agree")),
    ("treated_unfairly", "Treated unfairly because of ethnicity, religion or culture", "unfair_treatment", ("yes",)),
    ("bme_group_available", "A support group for minority ethnic people is available", "bme_group_available",
     ("yes",)),
    ("bme_group_used", "Has been to the minority ethnic support group (of those with one)", "bme_group_used",
     ("yes",)),
    ("bme_group_helpful", "Found the support group very or quite helpful (of those who went)", "bme_group_helpful",
     ("very", "quite")),
    ("wants_mentor", "Would like a mentor from a similar background", "mentor_wanted", ("yes",)),
    ("family_involved", "Family involved in decisions about care (fully or partly)", "family_involved",
     ("fully", "partly")),
    ("visited_monthly", "Visited by family or friends at least monthly (prison and secure hospital)", "visits",
     ("weekly", "monthly")),
    ("visits_distance_or_cost", "Visits made harder by distance or cost (prison and secure hospital)",
     "visit_barriers", ("distance", "cost")),
    ("knows_where_living", "Knows where they will live on leaving", "housing_plan", ("yes",)),
    ("gp_on_leaving", "Will be registered with a GP on leaving", "gp_on_leaving", ("yes",)),
    ("mh_support_arranged", "Mental health support arranged for leaving", "mh_support_arranged", ("yes",)),
    ("can_practise_faith", "Able to practise faith or beliefs as they wish (where it applies)", "faith_practice",
     ("yes",)),
    ("faith_leader_access", "Can see a faith leader or chaplain when they want (where it applies)",
     "faith_leader_access", ("yes",)),
    ("in_work_or_training", "In work, education or training now", "work_now", ("yes",)),
    ("wants_work_or_training", "Would like work, education or training (of those without)", "work_wanted", ("yes",)),
    ("knows_community_services", "Knows of community services that suit their culture", "community_known",
     ("yes",)),
    ("community_services_used", "Has used those community services (of those who know of them)",
     "community_used", ("yes",)),
    ("community_services_fit", "Agree the community services used understand their culture", "community_fit",
     ("agree", "strongly_agree")),
    ("experience_good", "Experience of the service good or very good (Friends and Family Test)", "fft", ("1", "2")),
    ("problems_very_difficult", "Those problems made daily life very or extremely difficult (PHQ-9's last question)",
     "phq9_difficulty", ("very", "extremely")),
    ("probable_depression", "Probable depression (PHQ-9 score 10 or more)", "phq9", None),
    ("probable_anxiety", "Probable anxiety disorder (GAD-7 score 10 or more)", "gad7", None),
)
INDICATOR_LABELS = {name: label for name, label, _, _ in INDICATORS}
#: Items where a respondent may choose several answers (stored space-separated): an indicator counts a
#: respondent who chose any of its answers.
MULTIPLE_ITEMS = ("info_format", "visit_barriers")
#: Answers that take a respondent out of an indicator's denominator (the question does not apply).
NOT_APPLICABLE = {"can_practise_faith": ("not_applicable",), "faith_leader_access": ("not_applicable",)}
_SEX = {"1": "Male", "2": "Female"}
_DISABILITY = {"yes": "Yes", "no": "No"}


def _survey_table(con, name: str) -> ibis.Table | None:
    try:
        return con.table(name, database="survey")
    except Exception:  # noqa: BLE001 - no survey loaded into this store (or an engine without the schema)
        return None


def _answered(b: base.Base) -> ibis.Table | None:
    """One row per response and indicator it answered: response_key, indicator, positive."""
    answers, scores = _survey_table(b.con, "answer"), _survey_table(b.con, "score")
    if answers is None or scores is None:
        return None
    parts = []
    for name, _, item, positive in INDICATORS:
        if positive is None:
            s = scores.filter(scores.instrument == item)
            parts.append(s.select("response_key", indicator=ibis.literal(name), positive=s.caseness.cast("boolean")))
        else:
            a = answers.filter(answers.item == item)
            if name in NOT_APPLICABLE:
                a = a.filter(~a.answer.isin(NOT_APPLICABLE[name]))
            if item in MULTIPLE_ITEMS:
                padded = ibis.literal(" ").concat(a.answer, ibis.literal(" "))
                hit = functools.reduce(operator.or_, [padded.contains(f" {answer} ") for answer in positive])
            else:
                hit = a.answer.isin(positive)
            parts.append(a.select("response_key", indicator=ibis.literal(name), positive=hit))
    return ibis.union(*parts)


def _respondents(b: base.Base) -> ibis.Table | None:
    """One row per consenting response: its area, financial year, setting and the respondent's groups as
    the publication's group labels (unknown where the respondent preferred not to say)."""
    r = _survey_table(b.con, "response")
    if r is None:
        return None
    r = r.filter(r.consent == "yes")
    groups19 = ibis.memtable(base.ons_groups()).select(
        ons=ibis._.ons_ethnic_group.cast("string"), ethnic_group_19=ibis._.ethnic_group_19)
    religions = ibis.memtable(base.labels("religion")).filter(ibis._.code != "NS")
    ages = [row["code"] for row in base.codelist("age_group").rows]
    joined = r.left_join(groups19, r.ethnic_group == groups19.ons).left_join(
        religions, r.religion == religions.code)
    return joined.select(
        "response_key", "setting", area_code=joined.area_code,
        year=base.financial_year(joined.interview_date.cast("date")),
        sex=joined.sex.substitute(_SEX, else_=base.NOT_KNOWN),
        age_group=ibis.ifelse(joined.age_group.isin(ages), joined.age_group, base.NOT_KNOWN),
        ethnic_group_19=joined.ethnic_group_19.fill_null(base.UNKNOWN_ETHNICITY),
        religion=joined.label.fill_null(base.NOT_KNOWN),
        disability=joined.disability.substitute(_DISABILITY, else_=base.NOT_KNOWN),
        first_language=base.language_group(joined.first_language))


def _empty(keys: tuple[str, ...]) -> ibis.Table:
    """A fine count with no rows (a store without a survey, or without coded free text)."""
    schema = {c: "string" for c in (*base.VIEW, *keys, *base.FINE)} | {"n": "int64"}
    return ibis.memtable({c: [] for c in schema}, schema=schema)


@register(
    name="survey_experience",
    title="What people told us: needs and experience survey answers by setting",
    definition=(
        "Of the people interviewed in the setting (prison, secure hospital, community) in the area and financial "
        "year who agreed to take part and answered the question, those giving the answer the indicator counts: "
        "for example, told about mental health support on arrival; agreeing that staff understand their culture; "
        "a PHQ-9 score of 10 or more (probable depression) or a GAD-7 score of 10 or more (probable anxiety)."
    ),
    numerator="Respondents giving the answer the indicator counts (or reaching the instrument's threshold).",
    denominator=("Respondents in the setting who were asked the question and answered it (including 'don't know'; "
                 "not 'does not apply')."),
    method=(
        "Wilson score interval at 95% from the published (rounded) counts, treating respondents as a simple "
        "random sample of the setting's population (unweighted). PHQ-9 and GAD-7 scored by their own rules "
        "(sums of items 0-3; threshold 10 for probable depression or anxiety); the Friends and Family Test "
        "positive share is 'very good' plus 'good' of all answers, as NHS England reports it."
    ),
    caveats=(
        "The people interviewed are those who could be reached and agreed, not a random sample, and the "
        "interviewing organisation differs by setting (a peer or community organisation in one, NHS staff in "
        "another): people may answer differently to different interviewers, so a difference between settings "
        "or groups may be partly who asked. Self-reported, not clinical diagnoses. Respondents are not linked "
        "to the records, so these figures sit beside the record-based ones, not within them. Groups are as the "
        "respondent stated them; 'prefer not to say' counts as not known."
    ),
    source=(
        "Local survey measure. PHQ-9: Kroenke, Spitzer and Williams (2001); GAD-7: Spitzer et al. (2006); "
        "Friends and Family Test: NHS England guidance (2019). Questions on information, cultural awareness, "
        "support groups, visits, resettlement and faith follow the race equality work in prisons, secure "
        "hospitals and the community that this survey grows from."
    ),
    keys=("setting", "indicator"),
    key_domains={"setting": lambda: list(SETTINGS), "indicator": lambda: [n for n, _, _, _ in INDICATORS]},
    counts=(
        Count("asked", "survey_asked:{setting}:{indicator}", unit="respondents"),
        Count("positive", "survey_positive:{setting}:{indicator}", within="asked", unit="respondents"),
    ),
    breakdowns=("all", "ethnic_group_5", "ethnic_group_19", "sex", "age_group", "religion", "disability",
                "first_language"),
    intersections=False,
    finish=lambda t: proportion(t, "positive", "asked", "percent"),
    columns=(
        Column("setting", "Setting", "setting"),
        Column("indicator", "What people told us", "indicator"),
        Column("asked", "Respondents answering", "count"),
        Column("positive", "Respondents giving this answer", "count"),
        Column("percent", "Of those answering (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def survey_experience(b: base.Base) -> dict[str, ibis.Table]:
    respondents, answered = _respondents(b), _answered(b)
    if respondents is None or answered is None:
        return {"asked": _empty(("setting", "indicator")), "positive": _empty(("setting", "indicator"))}
    rows = b.kept("survey_experience:rows", lambda: answered.join(respondents, "response_key"))
    groups = [*base.VIEW, "setting", "indicator", *base.FINE]
    out = {}
    for name, kept in (("asked", rows), ("positive", rows.filter(rows.positive))):
        counted = kept.group_by(groups).aggregate(n=kept.count())
        out[name] = counted.select(*groups, n=counted.n.cast("int64"))
    return out


#: The code book of free-text themes (as ``triangulate.survey.qda.THEMES``, which the import checks
#: codes against; a test keeps the two lists the same).
THEMES = ("information", "culture_and_respect", "language", "support_groups", "family", "leaving", "faith",
          "work_and_activity", "timely_help", "medication")
THEME_LABELS = {
    "information": "Information about services", "culture_and_respect": "Culture and respect",
    "language": "Language and interpreters", "support_groups": "Support groups and mentors",
    "family": "Family and visits", "leaving": "Leaving: housing, GP, support", "faith": "Faith and beliefs",
    "work_and_activity": "Work, training and activity", "timely_help": "Timely help", "medication": "Medication",
}


@register(
    name="survey_themes",
    title="What people told us in their own words: themes of the free-text answers by setting",
    definition=(
        "Of the people interviewed in the setting in the area and financial year whose free-text answers were "
        "coded (in a qualitative tool, through the REFI-QDA exchange), the people with at least one answer coded "
        "with the theme."
    ),
    numerator="Respondents with an answer coded with the theme.",
    denominator="Respondents in the setting with at least one coded free-text answer.",
    method="Wilson score interval at 95% from the published (rounded) counts; a respondent counts once per theme "
           "however many of their answers mention it.",
    caveats=(
        "Themes are a coder's reading of what people wrote, not a count of how many people hold a view: people "
        "who did not write about something may still feel it. Only answers coded so far are counted. The words "
        "themselves are never published; a quotation appears only where a reviewer cleared it."
    ),
    source="Local survey measure; themes from the questionnaire's domains (docs/survey.md).",
    keys=("setting", "theme"),
    key_domains={"setting": lambda: list(SETTINGS), "theme": lambda: list(THEMES)},
    counts=(
        Count("coded", "survey_coded:{setting}", keys=("setting",), unit="respondents"),
        Count("mentioned", "survey_theme:{setting}:{theme}", within="coded", unit="respondents"),
    ),
    breakdowns=("all", "ethnic_group_5", "sex", "age_group"),
    intersections=False,
    finish=lambda t: proportion(t, "mentioned", "coded", "percent"),
    columns=(
        Column("setting", "Setting", "setting"),
        Column("theme", "Theme", "theme"),
        Column("coded", "Respondents with coded answers", "count"),
        Column("mentioned", "Respondents mentioning the theme", "count"),
        Column("percent", "Of those with coded answers (%)", "percent"),
        Column("lower_95", "Lower 95% limit", "percent"),
        Column("upper_95", "Upper 95% limit", "percent"),
    ),
)
def survey_themes(b: base.Base) -> dict[str, ibis.Table]:
    respondents, coded, themes = _respondents(b), _survey_table(b.con, "coded"), _survey_table(b.con, "theme")
    if respondents is None or coded is None or themes is None:
        return {"coded": _empty(("setting",)), "mentioned": _empty(("setting", "theme"))}
    people = coded.select("response_key").distinct().join(respondents, "response_key")
    mentioned = themes.select("response_key", "theme").distinct().join(respondents, "response_key")
    out = {}
    for name, rows, keys in (("coded", people, ()), ("mentioned", mentioned, ("theme",))):
        groups = [*base.VIEW, "setting", *keys, *base.FINE]
        counted = rows.group_by(groups).aggregate(n=rows.count())
        out[name] = counted.select(*groups, n=counted.n.cast("int64"))
    return out


#: The instruments whose scores are published as means, and the survey indicator (if any) whose
#: respondents answering are the same people (those who completed the instrument): one cell, not two.
SCORED = {"phq9": "probable_depression", "gad7": "probable_anxiety", "swemwbs": None}
#: Respondents a mean needs (a standard deviation needs two).
MIN_FOR_MEAN = 2


def scored_quantity(keys: dict) -> str:
    """Respondents in the setting who completed the instrument: for PHQ-9 and GAD-7 the same quantity as
    the survey answers' respondents answering probable depression and probable anxiety."""
    indicator = SCORED.get(keys["instrument"])
    return (f"survey_asked:{keys['setting']}:{indicator}" if indicator
            else f"survey_scored:{keys['setting']}:{keys['instrument']}")


def _column(t: pa.Table, name: str) -> np.ndarray:
    return np.asarray(t.column(name).to_numpy(zero_copy_only=False), dtype=float)


def mean_scores(t: pa.Table) -> pa.Table:
    """Mean score and its 95% interval (Student's t on n - 1 degrees of freedom) from the unpublished
    sums, shown only where the number of respondents is (and at least ``MIN_FOR_MEAN``). A table without
    the sums (the audit reads only what is published) is returned as it is."""
    if "score_sum" not in t.column_names:
        return t
    from scipy.stats import t as student

    n, total, squares = _column(t, "score_n"), _column(t, "score_sum"), _column(t, "score_sumsq")
    shown = t.column("scored").is_valid().to_numpy(zero_copy_only=False) & (n >= MIN_FOR_MEAN)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        sd = np.sqrt(np.maximum(squares - total * total / n, 0.0) / (n - 1))
        half = student.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    out = t
    for name, values in (("mean_score", mean), ("lower_95", mean - half), ("upper_95", mean + half)):
        out = out.append_column(name, pa.array(np.where(shown, values, np.nan), pa.float64(), from_pandas=True))
    return out


@register(
    name="survey_scores",
    title="Distress and wellbeing scores: mean PHQ-9, GAD-7 and SWEMWBS scores by setting",
    definition=(
        "Of the people interviewed in the setting in the area and financial year who agreed to take part and "
        "completed the instrument (every item answered), the mean score: PHQ-9 (0 to 27, higher means more "
        "symptoms of depression), GAD-7 (0 to 21, more symptoms of anxiety) and the SWEMWBS raw score (7 to 35, "
        "higher means better wellbeing; asked only where an organisation holding its licence supplies the text)."
    ),
    numerator="The sum of the respondents' scores (not published).",
    denominator="Respondents in the setting who completed the instrument.",
    method=(
        "Each score by the instrument's own rules (sum of the items, no prorating). Mean with a 95% confidence "
        "interval from Student's t distribution on n - 1 degrees of freedom (mean plus or minus t times the "
        "sample standard deviation over the square root of n), from the unrounded scores, treating respondents "
        "as a simple random sample of the setting's population (unweighted). Shown to one decimal place, and "
        "only where the number of respondents is shown: a mean is withheld exactly where its count is, a pattern "
        "the disclosure control already protects, and neither the sums nor the standard deviations are published."
    ),
    caveats=(
        "Screening scores, self-reported, not diagnoses. The people interviewed are those who could be reached "
        "and agreed, and the interviewing organisation differs by setting, so a difference between settings or "
        "groups may be partly who asked. A mean says nothing of the spread: the share at or above the clinical "
        "threshold is in the survey answers (probable depression, probable anxiety). The interval assumes "
        "independent respondents; with few respondents and skewed scores it is approximate."
    ),
    source=(
        "PHQ-9: Kroenke, Spitzer and Williams (2001), J Gen Intern Med 16:606-13; GAD-7: Spitzer, Kroenke, "
        "Williams and Löwe (2006), Arch Intern Med 166:1092-7; SWEMWBS: Stewart-Brown et al. (2009), raw score "
        "(the metric conversion comes with its licence). Local survey measure."
    ),
    keys=("setting", "instrument"),
    key_domains={"setting": lambda: list(SETTINGS), "instrument": lambda: list(SCORED)},
    counts=(
        Count("scored", scored_quantity, unit="respondents"),
        Count("score_n", "survey_score_n:{setting}:{instrument}", controlled=False, published=False,
              unit="respondents"),
        Count("score_sum", "survey_score_sum:{setting}:{instrument}", controlled=False, published=False,
              unit="score points"),
        Count("score_sumsq", "survey_score_sumsq:{setting}:{instrument}", controlled=False, published=False,
              unit="squared score points"),
    ),
    breakdowns=("all", "ethnic_group_5", "ethnic_group_19", "sex", "age_group", "religion", "disability",
                "first_language"),
    intersections=False,
    finish=mean_scores,
    columns=(
        Column("setting", "Setting", "setting"),
        Column("instrument", "Score", "instrument"),
        Column("scored", "Respondents completing it", "count"),
        Column("mean_score", "Mean score", "score"),
        Column("lower_95", "Lower 95% limit", "score"),
        Column("upper_95", "Upper 95% limit", "score"),
    ),
)
def survey_scores(b: base.Base) -> dict[str, ibis.Table]:
    respondents, scores = _respondents(b), _survey_table(b.con, "score")
    names = ("scored", "score_n", "score_sum", "score_sumsq")
    if respondents is None or scores is None:
        return {name: _empty(("setting", "instrument")) for name in names}
    rows = scores.select("response_key", "instrument", "score").join(respondents, "response_key")
    groups = [*base.VIEW, "setting", "instrument", *base.FINE]
    counted = rows.group_by(groups).aggregate(n=rows.count(), total=rows.score.sum(),
                                              squares=(rows.score * rows.score).sum())
    return {name: counted.select(*groups, n=counted[column].round().cast("int64"))
            for name, column in zip(names, ("n", "n", "total", "squares"))}
