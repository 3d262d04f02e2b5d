"""A synthetic service directory for the synthetic areas, written as the commissioner's template (CSV).

Plausible rather than real: the services a London borough or a shire town would list on the Sequential
Intercept Model, with the shape a mapping workshop usually finds. Some intercepts are well served
(crisis teams, liaison and diversion), some have nothing in some areas (street triage outside London,
care after custody in two areas only, no trauma or learning disability service in prison), some are
over-stretched (the Mental Health Treatment Requirement and care after custody get small capacities),
and language offers are few (one culturally specific counselling service offers South Asian languages).

Capacities scale with the population synthesised (``people``) and each area's size, times a factor
drawn from ``seed``, so a small demo and a million-person benchmark both show gaps. The file has the
columns of the template (``triangulate provision template``) and is imported like a filled-in sheet.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .calibration import areas as synthetic_areas

#: The template's columns (the provision room's TEMPLATE_COLUMNS; a test checks they agree).
COLUMNS = (
    "service_id", "service_name", "organisation_name", "organisation_id", "description", "url", "email", "phone",
    "status", "intercepts", "needs", "areas", "sexes_served", "minimum_age", "maximum_age", "ethnic_groups_served",
    "languages", "offences_excluded", "culturally_specific", "bme_led", "faith_based", "gender_specific",
    "peer_support", "advocacy", "easy_read", "interpreter", "capacity", "capacity_unit", "capacity_maximum",
    "capacity_updated", "stated_wait_days", "location_name", "address", "town", "postcode",
)

_MH = "depression;anxiety;psychosis;personality_disorder;self_harm"
_PRISONS = {"BXI": "HMP Brixton", "WWI": "HMP Wandsworth", "TSI": "HMP Thameside", "HOI": "HMP High Down",
            "ALI": "HMP Altcourse", "LPI": "HMP Liverpool", "RSI": "HMP Risley", "BZI": "HMP Bronzefield",
            "DWI": "HMP Downview", "STI": "HMP Styal", "LHI": "HMP Low Newton"}
_UPDATED = "2026-10-01"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def synthetic_directory(people: int, seed: int = 2026) -> list[dict[str, str]]:
    """The synthetic directory as template rows (one dict per service)."""
    rng = np.random.default_rng(seed)
    all_areas = synthetic_areas()
    total = sum(a.relative_size for a in all_areas)
    rows: list[dict[str, str]] = []

    def add(name: str, org: str, intercepts: str, needs: str, areas: str, capacity: float, unit: str,
            wait: int | None = None, **extra: str) -> None:
        row = dict.fromkeys(COLUMNS, "")
        row.update(service_name=name, organisation_name=org, intercepts=intercepts, needs=needs, areas=areas,
                   description=extra.pop("description", f"{name}: synthetic service for the Triangulate demo"),
                   url=f"https://example.org/{_slug(org)}/{_slug(name)}", status="active",
                   capacity=str(max(1, int(round(capacity)))), capacity_unit=unit, capacity_updated=_UPDATED,
                   stated_wait_days="" if wait is None else str(wait), languages=extra.pop("languages", "en"))
        row.update({k: v for k, v in extra.items()})
        for flag in ("culturally_specific", "bme_led", "faith_based", "gender_specific", "peer_support",
                     "advocacy", "easy_read", "interpreter"):
            row[flag] = row[flag] or "N"
        rows.append(row)

    def per_year(area_share: float, rate: float) -> float:
        """People a year a service of this kind would see in an area, times a drawn factor."""
        return people * area_share * rate * rng.uniform(0.6, 1.4)

    courts: dict[str, list[str]] = {}
    for a in all_areas:
        share = a.relative_size / total
        london = a.area_type == "inner_london"
        trust = f"{a.name} mental health trust (synthetic)"
        add(f"Crisis and home treatment team, {a.name}", trust, "0", _MH, a.code, per_year(share, 0.02),
            "people_per_year", 2, interpreter="Y")
        if london:
            add(f"Street triage, {a.name}", trust, "0;1", "psychosis;self_harm;depression", a.code,
                per_year(share, 0.004), "people_per_year", 0)
        add(f"Liaison and diversion in police custody, {a.name}", f"{a.name} liaison and diversion (synthetic)", "1",
            _MH + ";learning_disability;neurodevelopmental;substance_misuse;alcohol_misuse", a.code,
            per_year(share, 0.03), "people_per_year", 0, easy_read="Y", interpreter="Y")
        courts.setdefault(a.magistrates_court, []).append(a.code)
        add(f"Mental Health Treatment Requirement, {a.name}", f"{a.name} probation delivery unit (synthetic)", "5",
            "depression;anxiety;personality_disorder", a.code, per_year(share, 0.0015), "people_per_year", 42)
        add(f"Drug and alcohol recovery service, {a.name}", f"{a.name} recovery partnership (synthetic)", "4;5",
            "substance_misuse;alcohol_misuse;dual_diagnosis", a.code, per_year(share, 0.01), "people_per_year", 14)
        if a.name in ("Lambeth", "Warrington"):
            add(f"Care after custody (RECONNECT), {a.name}", "RECONNECT partnership (synthetic)", "4", _MH, a.code,
                per_year(share, 0.001), "people_per_year", 10)
    for court, codes in courts.items():
        place = court.replace("-MC", "").replace("-", " ").title()
        add(f"Liaison and diversion at {place} magistrates' court", "Court liaison and diversion (synthetic)", "2",
            _MH + ";learning_disability;neurodevelopmental", ";".join(codes),
            sum(per_year(next(a.relative_size for a in all_areas if a.code == c) / total, 0.02) for c in codes),
            "people_per_year", 0, easy_read="Y")
    prisons = sorted({p for a in all_areas for p in a.male_prisons + a.female_prisons})
    for code in prisons:
        women = any(code in a.female_prisons for a in all_areas)
        add(f"Mental health in-reach, {_PRISONS.get(code, code)}", "Prison healthcare (synthetic)", "3",
            "depression;anxiety;psychosis;personality_disorder;self_harm", "",
            max(10.0, people * 0.0004 * rng.uniform(0.6, 1.4)), "places", 7,
            sexes_served="2" if women else "1", gender_specific="Y" if women else "N")
    codes = {a.name: a.code for a in all_areas}
    add("South Asian wellbeing counselling", "South Asian wellbeing partnership (synthetic)", "", "depression;anxiety;trauma",
        codes.get("Southwark", ""), people * 0.0008, "people_per_year", 28, languages="en;pa;ur;bn;gu",
        culturally_specific="Y", bme_led="Y", ethnic_groups_served="asian")
    add("Black mental health advocacy", "Community advocacy collective (synthetic)", "0;4", _MH,
        codes.get("Lambeth", ""), people * 0.0006, "people_per_year", 21, culturally_specific="Y", bme_led="Y",
        advocacy="Y", ethnic_groups_served="black")
    add("Women's centre", "Women in justice (synthetic)", "5", "depression;anxiety;trauma;self_harm",
        ";".join(codes[n] for n in ("Lambeth", "Wandsworth") if n in codes), people * 0.0007, "places", 14,
        sexes_served="2", gender_specific="Y", peer_support="Y", minimum_age="18")
    add("Through the gate peer mentoring", "Peer mentoring network (synthetic)", "4", "substance_misuse;depression",
        codes.get("Wandsworth", ""), people * 0.0003, "people_per_year", 7, peer_support="Y", faith_based="Y")
    return rows


def write_synthetic_directory(path: str | Path, people: int, seed: int = 2026) -> Path:
    """Write the synthetic directory as a template CSV at ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(synthetic_directory(people, seed))
    return path
