"""Survey answers weighted to the people the records show in the same setting: post-stratification by
ethnic group, from the publication's own controlled figures.

The people interviewed are not a random sample: if Black people are a third of those interviewed in
prison but a fifth of the people the prison records show, an unweighted share over-states what Black
people said. Post-stratification re-weights each group to its share of the setting's population:

    p_w = sum over groups g of W_g * p_g,   W_g = N_g / N

with ``p_g = positive_g / asked_g`` (the survey's published counts for the group) and ``N_g`` the people
of the group in the setting in the records (the published denominators of need prevalence: people in
prison for prison interviews, people under probation supervision for community ones; secure hospitals
have no record population in the standard and are not weighted). The variance is that of a stratified
estimator with the strata's sizes known (Cochran 1977, section 5A.9, the post-stratified mean, ignoring
the small term for the randomness of the ``n_g``):

    var(p_w) = sum over g of W_g^2 * p_g * (1 - p_g) / n_g

and the 95% interval is ``p_w`` ± 1.96 standard errors, kept within 0 to 100.

Only published figures are used, so the weighted table adds nothing a reader could not work out from
the publication (a derived table, like the gap analysis). The difference from the national practice of
raking to several margins at once (sex, age and ethnic group): the publication shows one demographic at
a time, so there is one margin here, ethnic group (5 groups), the one the survey's questions are about.
Groups whose survey counts or population are withheld, and people whose ethnic group is not known,
form one stratum together: the whole less the groups shown, on both the survey's and the population's
side (figures a reader can work out too; with rounded counts, approximately). Where even that cannot be
formed (a negative remainder from rounding, or fewer than two strata), the weighted share is not
calculated and the row says why.
"""

from __future__ import annotations

import math

import pyarrow as pa

#: Survey setting -> the record setting whose people it is weighted to.
POPULATION_OF = {"prison": "prison_custody", "community": "probation_supervision"}
UNKNOWN = "Not stated/unknown"
Z95 = 1.959963984540054


def weighted_shares(published) -> pa.Table:
    """One row per area, year, setting and indicator: the unweighted and the weighted share with its
    95% interval, or why there is no weighted share."""
    out = {k: [] for k in ("area", "year", "setting", "indicator", "unweighted_percent", "weighted_percent",
                           "lower_95", "upper_95", "weighted_by", "note")}
    if "survey_experience" not in published.names or "need_prevalence" not in published.names:
        return pa.table(out, schema=_SCHEMA)
    population: dict[tuple, dict[str, int | None]] = {}
    everyone: dict[tuple, int | None] = {}
    for r in published.table("need_prevalence").to_pylist():
        if r["setting"] not in POPULATION_OF.values():
            continue
        # Every need's row carries the same denominator; one need is enough.
        where = (r["area"], r["year"], r["setting"])
        if r["breakdown"] == "ethnic_group_5" and r["group"] != UNKNOWN:
            population.setdefault(where, {}).setdefault(r["group"], r["people"])
        elif r["breakdown"] == "all":
            everyone.setdefault(where, r["people"])
    cells: dict[tuple, dict[str, tuple]] = {}
    overall: dict[tuple, tuple] = {}
    for r in published.table("survey_experience").to_pylist():
        key = (r["area"], r["year"], r["setting"], r["indicator"])
        if r["breakdown"] == "all":
            overall[key] = (r["asked"], r["positive"], r["percent"])
        elif r["breakdown"] == "ethnic_group_5" and r["group"] != UNKNOWN:
            cells.setdefault(key, {})[r["group"]] = (r["asked"], r["positive"])
    for key, (asked, positive, percent) in sorted(overall.items()):
        area, year, setting, indicator = key
        if not asked:
            continue
        record_setting = POPULATION_OF.get(setting)
        weighted = lower = upper = None
        by = ""
        if record_setting is None:
            note = "not weighted: no population of this setting in the records"
        else:
            by = f"ethnic group (5 groups) of the people in {record_setting.replace('_', ' ')} in the records"
            where = (area, year, record_setting)
            weighted, se, note = _post_stratified(cells.get(key, {}), population.get(where, {}), (asked, positive),
                                                  everyone.get(where))
            if weighted is not None:
                lower, upper = max(0.0, weighted - Z95 * se), min(100.0, weighted + Z95 * se)
        for name, value in (("area", area), ("year", year), ("setting", setting), ("indicator", indicator),
                            ("unweighted_percent", percent), ("weighted_percent", _round(weighted)),
                            ("lower_95", _round(lower)), ("upper_95", _round(upper)), ("weighted_by", by),
                            ("note", note)):
            out[name].append(value)
    return pa.table(out, schema=_SCHEMA)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _post_stratified(cells: dict[str, tuple], population: dict[str, int | None],
                     whole: tuple, everyone: int | None) -> tuple[float | None, float, str]:
    """(weighted percent, its standard error in percentage points, note) from each group's survey counts
    and population. Groups whose survey counts or population are withheld, and people whose group is not
    known, are one stratum together: the whole less the groups shown, on both sides (what a reader can
    work out too)."""
    if not everyone:
        return None, 0.0, "not weighted: the setting's population is withheld or empty"
    asked_all, positive_all = whole
    if asked_all is None or positive_all is None:
        return None, 0.0, "not weighted: the survey's answers are withheld (too few to show)"
    strata = []
    for g, n in population.items():
        asked, positive = cells.get(g, (None, None))
        if n is not None and asked is not None and positive is not None and asked > 0:
            strata.append((n, asked, positive))
    rest = (everyone - sum(n for n, _, _ in strata), asked_all - sum(a for _, a, _ in strata),
            positive_all - sum(x for _, _, x in strata))
    if rest[0] > 0 or rest[1] > 0:
        if rest[0] <= 0 or rest[1] <= 0 or not 0 <= rest[2] <= rest[1]:
            return None, 0.0, "not weighted: the groups too small to show cannot be weighted together"
        strata.append(rest)
    if len(strata) < 2:
        return None, 0.0, "not weighted: too few groups shown to weight by"
    total = sum(n for n, _, _ in strata)
    estimate = variance = 0.0
    for n, asked, positive in strata:
        w, p = n / total, positive / asked
        estimate += w * p
        variance += w * w * p * (1 - p) / asked
    return 100 * estimate, 100 * math.sqrt(variance), "weighted by ethnic group to the records"


_SCHEMA = pa.schema([("area", pa.string()), ("year", pa.string()), ("setting", pa.string()),
                     ("indicator", pa.string()), ("unweighted_percent", pa.float64()),
                     ("weighted_percent", pa.float64()), ("lower_95", pa.float64()), ("upper_95", pa.float64()),
                     ("weighted_by", pa.string()), ("note", pa.string())])


def derived_tables(published) -> dict[str, pa.Table]:
    """The survey's derived tables for ``write_publication(derived=...)``."""
    if "survey_experience" not in published.names:
        return {}
    return {"survey_weighted": weighted_shares(published)}
