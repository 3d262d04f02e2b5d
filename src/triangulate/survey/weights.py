"""Survey answers weighted to the people the records show in the same setting: raking to sex, age group
and ethnic group (5 groups) together.

The people interviewed are not a random sample: if Black people are a third of those interviewed in
prison but a fifth of the people the prison records show, or young men are over-represented, an
unweighted share over-states what they said. Each respondent gets a weight so that the weighted
respondents match the setting's people in the records on three margins at once: sex, age group and
ethnic group (the national practice for surveys of this kind: raking, or iterative proportional fitting,
Deming and Stephan 1940; the targets are the published denominators of need prevalence: people in
prison for prison interviews, people under probation supervision for community ones; secure hospitals
have no record population in the standard and are not weighted).

**Raking.** Weights start at 1. For each margin in turn, every category's weighted respondents are scaled
to the category's share of the population, and the turns repeat until no factor differs from 1 by more
than ``TOLERANCE`` (at most ``MAX_ROUNDS`` rounds; if it has not settled, no weighted share). A category
is raked only where it is known on both sides: respondents who preferred not to say, categories whose
population is withheld in the publication, and categories with people in the records but nobody
interviewed keep their weight on that margin (the others share the rest in the population's
proportions). With one margin, raking is post-stratification (Cochran 1977, 5A.9), which the tests check.

**Estimate and interval.** p_w = sum of w_i y_i over sum of w_i. The variance is the linearisation
variance of a calibrated estimator (Deville and Särndal 1992; Särndal, Swensson and Wretman 1992,
section 6.6): the residuals of y_i - p_w on the raking categories (weighted least squares), so what the
margins explain adds no variance: var = sum w_i^2 e_i^2 / (sum w_i)^2, treating the respondents as a
simple random sample within the weighting classes. The 95% interval is p_w ± 1.96 standard errors, kept
within 0 to 100. ``design_effect`` is Kish's effect of unequal weights, n sum w^2 / (sum w)^2: how much
precision the weighting costs.

**Disclosure.** The weights use the respondents' sex, age group and ethnic group together, which the
publication does not show (it shows one demographic at a time), so a weighted share is a figure made
from unpublished counts. It is published only for all the respondents in a setting (never for a
group), only where that row's counts are shown and at least ``MIN_RESPONDENTS`` answered, and to whole
percentages; and a margin is raked only where every one of its groups' survey counts is shown in that
view (``_withheld_margins``): a withheld group's rate would otherwise enter the share with a weight a
reader knows, and the share could be solved for it. The population targets are published figures.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from triangulate.publish.dimensions import UNKNOWN_VALUES

#: Survey setting -> the record setting whose people it is weighted to.
POPULATION_OF = {"prison": "prison_custody", "community": "probation_supervision"}
#: The margins raked to (breakdowns of the publication), in the order they are raked.
MARGINS = ("sex", "age_group", "ethnic_group_5")
MARGIN_WORDS = {"sex": "sex", "age_group": "age group", "ethnic_group_5": "ethnic group (5 groups)"}
#: Respondents answering, at least, for a weighted share to be published.
MIN_RESPONDENTS = 30
TOLERANCE = 1e-9
MAX_ROUNDS = 500
Z95 = 1.959963984540054


def weighted_shares(published, fine: dict | None = None) -> pa.Table:
    """One row per area, year, setting and indicator: the unweighted and the raked share with its 95%
    interval and design effect, or why there is no weighted share.

    ``fine``: the survey measure's fine counts (``{"asked": table, "positive": table}``, as
    ``triangulate.publish.compute`` keeps them); without them nothing is weighted."""
    out = {k: [] for k in _SCHEMA.names}
    if "survey_experience" not in published.names or "need_prevalence" not in published.names:
        return pa.table(out, schema=_SCHEMA)
    margins = _population_margins(published.table("need_prevalence"))
    cells = _Cells(fine, published) if fine else None
    said = published.table("survey_experience").to_pylist()
    withheld = _withheld_margins(said)
    for r in said:
        if r["breakdown"] != "all" or not r["asked"]:
            continue
        key = (r["area"], r["year"], r["setting"], r["indicator"])
        population = {m: ({} if m in withheld.get(key, ()) else groups)  # a margin with a withheld group: not raked
                      for m, groups in margins.get((r["area"], r["year"], POPULATION_OF.get(r["setting"])), {}).items()}
        result = _weigh(r, population, cells)
        row = {"area": r["area"], "year": r["year"], "setting": r["setting"], "indicator": r["indicator"],
               "unweighted_percent": r["percent"], **result}
        for name in _SCHEMA.names:
            out[name].append(row.get(name))
    return pa.table(out, schema=_SCHEMA)


def _withheld_margins(said: list[dict]) -> dict[tuple, set[str]]:
    """(area, year, setting, indicator) -> the margins with a survey count withheld in that view.

    A margin is raked only where every one of its groups' survey counts is shown: with one withheld, the
    weighted share would be a known mix of the shown groups' rates and the withheld group's, and a reader
    would solve it for the withheld count (White shown and Black withheld, weighted to the population's
    shares: the Black group's rate is the weighted share less the White part, over the Black share)."""
    out: dict[tuple, set[str]] = {}
    for r in said:
        if r["breakdown"] in MARGINS and (r["asked"] is None or r["positive"] is None):
            out.setdefault((r["area"], r["year"], r["setting"], r["indicator"]), set()).add(r["breakdown"])
    return out


def _population_margins(need: pa.Table) -> dict[tuple, dict[str, dict[str, int]]]:
    """(area, year, record setting) -> breakdown -> known category -> people (shown counts only)."""
    wanted = pa.array(list(POPULATION_OF.values()))
    need = need.filter(pc.is_in(need.column("setting"), wanted))
    out: dict[tuple, dict[str, dict[str, int]]] = {}
    # Every need's row carries the same denominator; one need per cell is enough.
    for r in need.select(["area", "year", "setting", "breakdown", "group", "people"]).to_pylist():
        if r["breakdown"] in MARGINS and r["group"] not in UNKNOWN_VALUES and r["people"] is not None:
            out.setdefault((r["area"], r["year"], r["setting"]), {}).setdefault(r["breakdown"], {}).setdefault(
                r["group"], r["people"])
    return out


class _Cells:
    """The respondents of a view, setting and indicator, by sex x age group x ethnic group (5 groups):
    how many answered and how many gave the answer counted."""

    def __init__(self, fine: dict, published):
        from triangulate.publish.dimensions import ALL_AREAS, ALL_YEARS, parent_group, period_bounds

        self.all_areas, self.all_years = ALL_AREAS, ALL_YEARS
        dims = published.manifest.get("dimensions", {})
        self.pooled = {name: [y for y in dims.get("years", []) if period_bounds(name)[0] <= y <= period_bounds(name)[1]]
                       for name in dims.get("pooled", [])}
        parents = parent_group()
        rows: dict[tuple, dict[tuple, list]] = {}
        for which in ("asked", "positive"):
            t = fine[which]
            columns = [t.column(c).to_pylist() for c in ("setting", "indicator", "area_code", "year", "sex",
                                                          "age_group", "ethnic_group_19", "n")]
            for setting, indicator, area, year, sex, age, group19, n in zip(*columns):
                cell = rows.setdefault((setting, indicator), {}).setdefault(
                    (area, year, (sex, age, parents.get(group19, group19))), [0, 0])
                cell[which == "positive"] += n
        self.rows = {}
        for key, cells in rows.items():
            places = list(cells)
            self.rows[key] = (np.array([p[0] for p in places], dtype=object), np.array([p[1] for p in places], dtype=object),
                              [p[2] for p in places], np.array([cells[p] for p in places], dtype=float))

    def of(self, area: str, year: str, setting: str, indicator: str) -> tuple[list[tuple], np.ndarray, np.ndarray]:
        """(cells, answering, giving the answer) of one view, setting and indicator."""
        if (setting, indicator) not in self.rows:
            return [], np.zeros(0), np.zeros(0)
        areas, years, cells, counts = self.rows[(setting, indicator)]
        keep = np.ones(len(cells), dtype=bool)
        if area != self.all_areas:
            keep &= areas == area
        if year in self.pooled:
            keep &= np.isin(years, self.pooled[year])
        elif year != self.all_years:
            keep &= years == year
        names = sorted({c for c, k in zip(cells, keep) if k})
        index = {c: i for i, c in enumerate(names)}
        totals = np.zeros((len(names), 2))
        for i in np.flatnonzero(keep):
            totals[index[cells[i]]] += counts[i]
        return names, totals[:, 0], totals[:, 1]


def _weigh(row: dict, population: dict, cells: _Cells | None) -> dict:
    """The weighted share of one whole-setting row; ``population``: the margins it may be raked to
    (breakdown -> group -> people)."""
    record_setting = POPULATION_OF.get(row["setting"])
    if record_setting is None:
        return {"note": "not weighted: no population of this setting in the records"}
    if row["positive"] is None:
        return {"note": "not weighted: the survey's answers are withheld (too few to show)"}
    if row["asked"] < MIN_RESPONDENTS:
        return {"note": f"not weighted: fewer than {MIN_RESPONDENTS} people answered"}
    if not population or cells is None:
        return {"note": "not weighted: the setting's population is withheld or empty"}
    names, asked, positive = cells.of(row["area"], row["year"], row["setting"], row["indicator"])
    if not names or asked.sum() == 0:
        return {"note": "not weighted: the survey's answers are withheld (too few to show)"}
    raked = rake(names, asked, population)
    if raked is None:
        return {"note": "not weighted: the weights did not settle (groups too small to weight by)"}
    weights, used = raked
    if not used:
        return {"note": "not weighted: too few groups shown to weight by"}
    estimate, se, design_effect = calibrated_share(names, asked, positive, weights, used)
    place = record_setting.replace("_", " ")
    words = [MARGIN_WORDS[m] for m, _ in used]
    by = " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)
    return {"weighted_percent": round(100 * estimate), "lower_95": round(max(0.0, 100 * (estimate - Z95 * se))),
            "upper_95": round(min(100.0, 100 * (estimate + Z95 * se))), "design_effect": round(design_effect, 2),
            "weighted_by": f"{by} of the people in {place} in the records",
            "note": f"raked to {by}"}


def _categories(names: list[tuple], margin: str) -> list[str]:
    position = MARGINS.index(margin)
    return [c[position] for c in names]


def rake(names: list[tuple], asked: np.ndarray, population: dict[str, dict[str, int]]):
    """Each cell's respondent weight, raked to the population's margins (module docstring), and the
    margins used with the categories raked on each; None if the weights did not settle. ``names``: (sex, age group, 5-group) of each cell;
    ``asked``: its respondents; ``population``: breakdown -> category -> people."""
    plans = []
    for margin in MARGINS:
        categories = np.array(_categories(names, margin), dtype=object)
        targets = {g: n for g, n in population.get(margin, {}).items() if n > 0 and asked[categories == g].sum() > 0}
        if len(targets) < 2:
            continue  # nothing to balance on this margin
        members = [categories == g for g in targets]
        share = np.array(list(targets.values()), float)
        plans.append((margin, list(targets), members, share / share.sum()))
    weights = np.ones(len(names))
    for _ in range(MAX_ROUNDS):
        largest = 0.0
        for _, _, members, share in plans:
            current = np.array([(weights * asked)[m].sum() for m in members])
            factors = current.sum() * share / current
            for m, f in zip(members, factors):
                weights[m] *= f
            largest = max(largest, float(np.abs(factors - 1).max()))
        if largest < TOLERANCE:
            return weights, [(margin, categories) for margin, categories, _, _ in plans]
    return None


def calibrated_share(names: list[tuple], asked: np.ndarray, positive: np.ndarray, weights: np.ndarray,
                     used: list[tuple[str, list[str]]]) -> tuple[float, float, float]:
    """(weighted share, its standard error, Kish's design effect) from cell counts and respondent weights:
    the linearisation variance with the residuals of y - p on the raking categories (module docstring)."""
    total = float((weights * asked).sum())
    estimate = float((weights * positive).sum()) / total
    # One column per raked category: 1 where the cell is in it.
    columns = [np.ones(len(names))]
    for margin, raked in used:
        categories = np.array(_categories(names, margin), dtype=object)
        columns += [(categories == g).astype(float) for g in raked]
    x = np.stack(columns, axis=1)
    # Weighted least squares of z = y - p on x, summed over the cells' respondents (y = 1 for the positive).
    wn = weights * asked
    coefficients = np.linalg.lstsq(x.T @ (wn[:, None] * x), x.T @ (weights * (positive - asked * estimate)),
                                   rcond=None)[0]
    fitted = x @ coefficients
    e1, e0 = (1 - estimate) - fitted, -estimate - fitted
    variance = float((weights ** 2 * (positive * e1 ** 2 + (asked - positive) * e0 ** 2)).sum()) / total ** 2
    n = float(asked.sum())
    design_effect = n * float((weights ** 2 * asked).sum()) / total ** 2
    return estimate, float(np.sqrt(variance)), design_effect


_SCHEMA = pa.schema([("area", pa.string()), ("year", pa.string()), ("setting", pa.string()),
                     ("indicator", pa.string()), ("unweighted_percent", pa.float64()),
                     ("weighted_percent", pa.float64()), ("lower_95", pa.float64()), ("upper_95", pa.float64()),
                     ("design_effect", pa.float64()), ("weighted_by", pa.string()), ("note", pa.string())])


def derived_tables(published, fine: dict | None = None) -> dict[str, pa.Table]:
    """The survey's derived tables for ``write_publication(derived=...)``: ``fine`` holds the fine counts
    the publication kept (``Computed.fine``)."""
    if "survey_experience" not in published.names:
        return {}
    return {"survey_weighted": weighted_shares(published, (fine or {}).get("survey_experience"))}
