"""The glossary page: the words the figure pages use, and every measure's definition from the registry.

Terms are written for a commissioner; each measure's full registration (definition, numerator,
denominator, method, caveats, national definition) is one click from its table on its page and listed
here too, so the two never differ.
"""

from __future__ import annotations

from triangulate.measures import Measure, measures
from triangulate.publish.pages import PAGES

#: (term, meaning), in alphabetical order of the term.
TERMS: tuple[tuple[str, str], ...] = (
    ("95% confidence interval", "The range within which the true figure is likely to lie, given the number of "
     "people counted: 95 times in 100 such a range holds it. Narrow for large numbers, wide for small ones."),
    ("99.8% limits", "A wider interval (about three standard errors). Used where many figures are compared at "
     "once, so that a difference called significant is unlikely to be chance among so many tests."),
    ("Age-standardised", "Adjusted to one standard age structure (the European Standard Population 2013), so that "
     "groups with younger or older people can be compared fairly."),
    ("All years", "Every financial year of the publication pooled: a person seen in three years counts three "
     "times (person-years), as Fingertips pools years for small areas."),
    ("Area", "The local authority a person's records mostly name in that setting and year (for continuity of "
     "care, the area of residence the prison recorded)."),
    ("Financial year", "1 April to 31 March, written 2024/25."),
    ("Funnel plot", "Each area's figure against its number of people, with the limits within which figures "
     "would fall by chance alone: a point outside the 99.8% limits is unlikely to be chance."),
    ("Higher, similar, lower", "Fingertips' comparison: higher when the 95% interval lies wholly above the "
     "comparator, lower when wholly below, similar when it spans it."),
    ("Intercept", "A point of the Sequential Intercept Model where people can be diverted to care: 0 community "
     "services and crisis, 1 police, 2 first court hearing and liaison & diversion, 3 courts and prison, "
     "4 re-entry from prison, 5 community supervision (probation)."),
    ("Liaison and diversion (L&D)", "NHS England's service that identifies people with vulnerabilities in police "
     "custody and at court, assesses them, and refers them to treatment and support."),
    ("Pooled period", "Three financial years counted together (the earliest period two, where two are left "
     "over), counted back from the latest, for all people: a figure too small to show in one year can often be "
     "shown for three. Periods do not overlap, so no year can be worked out from them."),
    ("Published figure", "A figure that has been through disclosure control: under NHS England's rule counts are "
     "rounded to the nearest 5, and percentages, rates and intervals are worked out from the rounded counts."),
    ("Relative rate index (RRI)", "The rate at which a group reaches a decision point (per resident, or per "
     "person at the stage before) divided by the rate for the reference group. 1 means the same rate; "
     "2 means twice the rate."),
    ("Reference group", "The group an RRI compares with: White people for the 5 ethnic groups, White British "
     "for the 19 categories; shown as the reference, not as a ratio of 1."),
    ("Serious mental illness (SMI)", "Here, people with psychosis recorded on or before release from prison, for "
     "the 7-day follow-up of continuity of care."),
    ("Spine chart", "One line per figure: the centre is all areas, the bars the range and middle half of the "
     "areas' figures, and the mark the area's own figure, shaped by whether it is higher, similar or lower."),
    ("Suppressed (*)", "Withheld to protect the people counted: a count of 1 to 7 (NHS England's rule), or a "
     "larger one withheld so that a small count cannot be worked out from the totals around it "
     "(secondary suppression)."),
    ("Unsuppressed", "Exact figures before disclosure control, for analysts only and never for publication; "
     "pages showing them say so and every view of them is in the audit log."),
    ("Wilson score interval", "The confidence interval used for percentages: it stays inside 0 to 100% and "
     "behaves well for small numbers (the method in the PHE technical guide)."),
)


def measure_pages() -> dict[str, tuple[str, str]]:
    """Each measure's page (slug, title): the page whose table shows it."""
    out = {}
    for p in PAGES:
        for name in p.measures:
            out.setdefault(name, (p.slug, p.title))
    return out


def about(m: Measure) -> tuple[tuple[str, str], ...]:
    """A measure's registration as (heading, text) pairs, in the order an analyst reads them."""
    return (("Definition", m.definition), ("Numerator", m.numerator), ("Denominator", m.denominator),
            ("Method", m.method), ("Caveats", m.caveats), ("National definition and source", m.source))


def entries() -> list[dict]:
    """Every registered measure with its page and its registration, in registry order."""
    pages = measure_pages()
    return [{"name": m.name, "title": m.title, "page": pages.get(m.name), "about": about(m)}
            for m in measures()]
