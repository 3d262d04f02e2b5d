"""Synthetic survey responses: people interviewed in prisons, secure hospitals and the community,
answering the form as its logic allows, with rates built in so the analysis can be checked against
them (``TRUTH``).

The built-in rates follow the direction of the race equality work this survey grows from (people
from minority ethnic groups less often told about services, less often finding staff understand
their culture) and of prison mental health surveys (more distress in secure and prison settings than
in the community); the sizes are invented for testing, not estimates.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from pathlib import Path

from triangulate.standard import codelist
from triangulate.survey.exports import Layout, write_export
from triangulate.survey.expressions import evaluate
from triangulate.survey.form import Form, load_form

SETTINGS = {"prison": 0.5, "secure_hospital": 0.2, "community": 0.3}
ORGANISATIONS = {"prison": {"justice": 0.3, "bme_vcse": 0.4, "peer": 0.3},
                 "secure_hospital": {"nhs": 0.6, "bme_vcse": 0.4},
                 "community": {"nhs": 0.3, "bme_vcse": 0.4, "other_vcse": 0.3}}
MALE = {"prison": 0.93, "secure_hospital": 0.82, "community": 0.75}
#: Ethnic group (5 groups of the 2021 Census) of the people interviewed.
ETHNIC_5 = {"White": 0.62, "Black, Black British, Black Welsh, Caribbean or African": 0.17,
            "Asian, Asian British or Asian Welsh": 0.1, "Mixed or Multiple ethnic groups": 0.07,
            "Other ethnic group": 0.04}
#: The built-in truth the analysis tests recover: the chance of each answer, by 5-group or setting.
TRUTH = {
    "info_given=yes": {"White": 0.72, "Black, Black British, Black Welsh, Caribbean or African": 0.42,
                       "Asian, Asian British or Asian Welsh": 0.5, "Mixed or Multiple ethnic groups": 0.55,
                       "Other ethnic group": 0.5},
    "staff_culture=agree or strongly_agree": {
        "White": 0.6, "Black, Black British, Black Welsh, Caribbean or African": 0.3,
        "Asian, Asian British or Asian Welsh": 0.35, "Mixed or Multiple ethnic groups": 0.4, "Other ethnic group": 0.35},
    # The chance that a PHQ-9 or GAD-7 item is above "not at all", by setting; each item's level above 0
    # is then 1, 2 or 3 with chances 0.5, 0.3, 0.2, so an item's mean is chance x 1.7.
    "distress item > 0": {"prison": 0.5, "secure_hospital": 0.6, "community": 0.35},
}
FREE_TEXT = (
    "Staff did not explain what the assessment was for.",
    "Being able to phone my family more often.",
    "Someone who speaks my language to explain the medication.",
    "The group for Black men on the wing has helped me a lot.",
    "Faster help when I first arrived.",
    "More time out of cell and something to do.",
    "Help with housing before release.",
    "A worker who understands my culture.",
)


def _draw(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def synthetic_responses(n: int, *, seed: int = 2026, form: Form | None = None,
                        start: dt.date = dt.date(2025, 4, 1), days: int = 360) -> list[dict]:
    """``n`` responses, each ``{"id", "submitted", "answers"}``, valid against ``form``'s logic."""
    form = form or load_form().without_licensed()
    rng = random.Random(seed)
    ons = codelist("ons_ethnic_group").rows
    by_group: dict[str, list[str]] = {}
    for r in ons:
        by_group.setdefault(r["high_level_group"], []).append(r["code"])
    religions = [c.name for c in form.choices["religion"]]
    languages = [c.name for c in form.choices["language"]]
    out = []
    for k in range(n):
        setting = _draw(rng, SETTINGS)
        group5 = _draw(rng, ETHNIC_5)
        if group5 == "White":
            ethnic = rng.choices(["13", "14", "15", "16", "17"], weights=[80, 4, 4, 2, 10])[0]
        else:
            ethnic = rng.choice(by_group[group5])
        day = start + dt.timedelta(days=rng.randrange(days))
        fixed = {
            "setting": setting, "organisation": _draw(rng, ORGANISATIONS[setting]),
            "mode": _draw(rng, {"face_to_face": 0.8, "telephone": 0.05, "video": 0.05, "self_paper": 0.1}),
            "interview_date": day.isoformat(), "consent": "yes" if rng.random() < 0.95 else "no",
            "age_group": _draw(rng, {"age_15_19": 0.05, "age_20_24": 0.15, "age_25_34": 0.35, "age_35_44": 0.25,
                                     "age_45_54": 0.12, "age_55_64": 0.06, "age_65_plus": 0.02}),
            "sex": "male" if rng.random() < MALE[setting] else "female",
            "ethnic_group": "prefer_not" if rng.random() < 0.02 else f"eth_{ethnic}",
            "religion": rng.choice(religions),
            "first_language": "en" if rng.random() < 0.8 else rng.choice(languages),
        }
        distress = TRUTH["distress item > 0"][setting]
        answers: dict[str, str] = {}
        for item in form.items:
            if not all(evaluate(node, answers, "", day) for node in form.logic(item)):
                answers[item.name] = ""
                continue
            answers[item.name] = _answer(rng, form, item, fixed, group5, distress)
        out.append({"id": f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                    "submitted": f"{day.isoformat()}T{rng.randrange(9, 17):02d}:{rng.randrange(60):02d}:00.000Z",
                    "answers": answers, "ethnic_group_5": group5})
    return out


def _answer(rng: random.Random, form: Form, item, fixed: dict, group5: str, distress: float) -> str:
    name = item.name
    if item.type == "note":
        return ""
    if name in fixed:
        return fixed[name]
    if name == "info_given":
        return "yes" if rng.random() < TRUTH["info_given=yes"][group5] else _draw(rng, {"no": 0.8, "dont_know": 0.2})
    if name == "staff_culture":
        if rng.random() < TRUTH["staff_culture=agree or strongly_agree"][group5]:
            return _draw(rng, {"agree": 0.7, "strongly_agree": 0.3})
        return _draw(rng, {"neither": 0.3, "disagree": 0.4, "strongly_disagree": 0.2, "dont_know": 0.1})
    if item.instrument in ("phq9", "gad7") and item.list_name == "freq4":
        return "0" if rng.random() >= distress else _draw(rng, {"1": 0.5, "2": 0.3, "3": 0.2})
    if item.type == "text":
        return rng.choice(FREE_TEXT) if rng.random() < 0.4 else ""
    if item.type == "date":
        return fixed["interview_date"]
    choices = list(form.choice_names(item))
    if item.type == "select_multiple":
        options = [c for c in choices if c != "none"]
        return "none" if rng.random() < 0.2 else " ".join(sorted(rng.sample(options, rng.randint(1, 2)),
                                                                  key=options.index))
    return rng.choice(choices)


def write_synthetic_survey(out: Path, n: int, *, seed: int = 2026, tool: str = "odk",
                           form: Form | None = None) -> Path:
    """Write ``n`` synthetic responses as ``tool`` exports them."""
    form = form or load_form().without_licensed()
    return write_export(Layout(tool, form), synthetic_responses(n, seed=seed, form=form),
                        out / f"survey_{tool}.csv")


#: The themes a coder would give each synthetic free-text answer (the demo codes its own free text with
#: these, standing in for a person coding in a qualitative tool).
DEMO_CODING = {
    "explain what the assessment": ("information",),
    "family": ("family",),
    "language": ("language", "medication"),
    "group for Black men": ("support_groups", "culture_and_respect"),
    "Faster help": ("timely_help",),
    "time out of cell": ("work_and_activity",),
    "housing before release": ("leaving",),
    "understands my culture": ("culture_and_respect",),
}


def code_synthetic_free_text(store: Path, folder: Path) -> tuple[int, int]:
    """Export the store's free text (REFI-QDA), code each answer with ``DEMO_CODING`` as a coder would in a
    qualitative tool, and import the themes back: the round trip a real survey takes, for the demo.
    Returns (answers coded, themes)."""
    import uuid as _uuid

    from pyrefiqda import RefiProject
    from pyrefiqda.models import project as m

    from triangulate.survey.qda import CLEARED, export_free_text, import_themes

    qdpx = folder / "survey-free-text.qdpx"
    export_free_text(store, qdpx)
    project = RefiProject.load(qdpx, extract_dir=str(folder / "survey-free-text"))
    codes = {c.name: c.guid for c in project.code_book.codes.code}
    quoted: set[str] = set()
    for source in project.sources.text_source:
        text = source.plain_text_content or ""
        for phrase, themes in DEMO_CODING.items():
            if phrase in text:
                source.coding.extend(m.CodingType(guid=str(_uuid.uuid4()), code_ref=m.CodeRefType(target_guid=codes[t]))
                                     for t in themes)
                if phrase not in quoted:  # the reviewer clears one (made-up) answer with each phrase, whole
                    quoted.add(phrase)
                    source.plain_text_selection.append(m.PlainTextSelectionType(
                        guid=str(_uuid.uuid4()), start_position=0, end_position=len(text),
                        coding=[m.CodingType(guid=str(_uuid.uuid4()), code_ref=m.CodeRefType(target_guid=codes[CLEARED]))]))
    RefiProject.save(project, qdpx)
    qdpx.chmod(0o600)
    result = import_themes(qdpx, store)
    return result.sources, result.themes
