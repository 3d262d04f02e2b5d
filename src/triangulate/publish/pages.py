"""The pages of figures, in reading order: the one list the dashboard's pages and the report's sections
both read (slug, title, the measures shown, and what the page answers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    measures: tuple[str, ...]  # none: a chapter that reads across views (trends, areas), built by the report
    about: str


PAGES: tuple[Page, ...] = (
    Page("needs", "Needs by setting", ("need_prevalence",),
         "How common each need is among the people seen in each setting, with 95% confidence intervals "
         "against general-population benchmarks."),
    Page("unmet", "Unmet need in prison", (),
         "The number of people in prison with psychosis, depression or personality disorder recorded, against the "
         "number that interview surveys of prisoners predict for the men and women seen."),
    Page("disproportionality", "Disproportionality by ethnic group", ("disproportionality",),
         "The relative rate index of each ethnic group against the reference group at each decision point, "
         "with the minimum-volume rule."),
    Page("intersections", "Intersections: ethnicity with sex and age", (),
         "Police custody per 1,000 residents by sex and by age group within each ethnic group, and each RRI against "
         "White people of the same sex or age group."),
    Page("pathway", "Pathway flows", ("pathway_flows", "pathway_no_health_contact"),
         "Where people go next from each setting, and people with a need who had no later mental health "
         "contact."),
    Page("continuity", "Continuity of care after prison", ("continuity_of_care",),
         "Community mental health contact within 21 days and 6 weeks of release from prison for people with a "
         "mental health need, and within 7 days for people with a serious mental illness."),
    Page("funnel", "Liaison and diversion", ("ld_funnel", "ld_mh_wait"),
         "Of the people liaison & diversion identified: screened, assessed, referred, engaged; and how long people "
         "referred on to mental health services waited for a first contact."),
    Page("repeat", "Repeat contact and reoffending", ("repeat_contact", "proven_reoffending"),
         "People by number of police custody arrivals, and of days at court, in the year and their needs; proven "
         "reoffending within a year."),
    Page("survey", "What people told us", ("survey_experience", "survey_scores"),
         "The needs and experience survey in prison, secure hospital and community settings: information, staff "
         "understanding of culture, support, wellbeing (PHQ-9, GAD-7), leaving and experience of services, beside "
         "the needs the records show."),
    Page("provision", "Provision and gaps", (),
         "Services on the Sequential Intercept Model against the needs seen at each intercept: where there is no "
         "service, where services are short of capacity, and which groups no service is open to."),
    Page("trends", "Trends by financial year", (),
         "The headline figures in each financial year of the data for the area chosen, with 95% intervals; a change "
         "is called only where the first and last years' intervals do not overlap."),
    Page("areas", "Areas compared", (),
         "Each area's headline figures beside all areas (higher, similar or lower by Fingertips' rule), a spine "
         "chart of each area against the whole, and funnel plots showing how far an area could lie from the whole "
         "by chance."),
    Page("quality", "Data quality", ("coverage",),
         "Recording completeness by agency: ethnicity, GP registration, NHS number, linkage."),
)
BY_SLUG = {p.slug: p for p in PAGES}


def page(slug: str) -> Page:
    return BY_SLUG[slug]
