"""The resident population of the synthetic areas and the cohort drawn from it.

The resident population is built first (area x ONS 2021 ethnic group x sex x ESP 2013 age band)
from the national Census 2021 shares, each area's documented mix and an age profile, and sized so
that the cohort is the calibrated share of residents. The cohort, the people with any agency
contact, is then drawn *from those residents* without replacement, each resident weighted by the
relative rate of their route into services (arrest, detention under the Mental Health Act, a
referral to mental health services) for their age, sex and ethnic group. Drawing from the residents
rather than inventing both separately keeps every rate per 100,000 residents a real rate: no cell
of the cohort can outnumber its denominator, and the disproportion in the rates is the one put in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from triangulate.standard import codelist
from triangulate.synth.calibration import age_structure, areas, ethnic_groups, figures

#: Routes into the cohort, in the order used by the arrays of this room.
ROUTES: tuple[str, ...] = ("justice", "mha_detention", "mental_health")
JUSTICE, MHA_DETENTION, MENTAL_HEALTH = range(3)

#: The broad groups used for rate ratios (ONS 2021 high-level groups, Chinese under Asian).
BROAD_GROUPS: tuple[str, ...] = ("white", "mixed", "asian", "black", "other")

_BROAD_OF_HIGH_LEVEL = {
    "White": "white",
    "Mixed or Multiple ethnic groups": "mixed",
    "Asian, Asian British or Asian Welsh": "asian",
    "Black, Black British, Black Welsh, Caribbean or African": "black",
    "Other ethnic group": "other",
}


def broad_group_of_ons_code() -> np.ndarray:
    """Index into BROAD_GROUPS for each ONS code 0..19 (index 0 unused)."""
    out = np.zeros(20, dtype=np.int64)
    for row in codelist("ons_ethnic_group").rows:
        out[int(row["code"])] = BROAD_GROUPS.index(_BROAD_OF_HIGH_LEVEL[row["high_level_group"]])
    return out


def age_band_limits() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Band codes with their lowest and highest ages (90+ is taken as 90-99)."""
    codes = codelist("age_band").codes
    low, high = [], []
    for code in codes:
        if code.endswith("+"):
            low.append(int(code[:-1]))
            high.append(int(code[:-1]) + 9)
        else:
            a, b = code.split("-")
            low.append(int(a))
            high.append(int(b))
    return codes, np.array(low), np.array(high)


@dataclass(frozen=True)
class ResidentPopulation:
    """Counts by cell; axes are (area, ONS group 1..19, sex 1..2, age band)."""

    counts: np.ndarray  # int64, shape (areas, 19, 2, bands)
    year: int
    source: str


def resident_population(people: int) -> ResidentPopulation:
    """Residents sized so the cohort of ``people`` is the calibrated share of them. Deterministic."""
    f = figures()
    total = max(people / f.value("population.cohort_share_of_residents"), f.value("population.minimum_residents"))
    area_list = areas()
    groups = ethnic_groups()
    area_share = np.array([a.relative_size for a in area_list], dtype=float)
    area_share /= area_share.sum()
    national = np.array([g.england_wales_share for g in groups])
    ethnic_share = np.empty((len(area_list), len(groups)))
    for i, area in enumerate(area_list):
        mult = np.array([area.ethnic_multipliers.get(str(g.ons_code), 1.0) for g in groups])
        mix = national * mult
        ethnic_share[i] = mix / mix.sum()
    male = f.value("population.male_share")
    sex_share = np.array([male, 1.0 - male])
    rows = age_structure()
    age_share = {}
    for area_type in {a.area_type for a in area_list}:
        shares = np.array([float(r[f"resident_share_{area_type}"]) for r in rows])
        age_share[area_type] = shares / shares.sum()
    ages = np.stack([age_share[a.area_type] for a in area_list])  # (areas, bands)
    expected = (
        total
        * area_share[:, None, None, None]
        * ethnic_share[:, :, None, None]
        * sex_share[None, None, :, None]
        * ages[:, None, None, :]
    )
    counts = np.rint(expected).astype(np.int64)
    year = int(f.text("population.census_date")[:4])
    source = (
        "synthetic, calibrated to ONS Census 2021 TS021 ethnic group shares (England and Wales) "
        "with synthetic area mixes and age profiles (see docs/synthetic-population.md)"
    )
    return ResidentPopulation(counts=counts, year=year, source=source)


@dataclass(frozen=True)
class Cohort:
    """The people with any agency contact: their resident cell, route and age on census day."""

    area: np.ndarray  # index into areas()
    ons_group: np.ndarray  # ONS code 1..19
    sex: np.ndarray  # 1 male, 2 female
    age_band: np.ndarray  # index into the age band code list
    route: np.ndarray  # index into ROUTES
    date_of_birth: np.ndarray  # datetime64[D]

    def __len__(self) -> int:
        return len(self.route)


def route_weights(counts_shape: tuple[int, ...]) -> np.ndarray:
    """Relative rate of each route for every cell; shape (areas, 19, 2, bands, routes)."""
    f = figures()
    n_areas, n_groups, _, n_bands = counts_shape
    broad = broad_group_of_ons_code()[1:]  # for ONS codes 1..19
    rows = age_structure()
    weights = np.ones((n_areas, n_groups, 2, n_bands, len(ROUTES)))
    for r, route in enumerate(ROUTES):
        base = f.value(f"route.weight.{route}")
        sex = np.array([1.0, f.value(f"route.sex_female.{route}")])
        ethnic = np.array([f.value(f"route.ethnic.{route}.{g}") for g in BROAD_GROUPS])[broad]
        age = np.array([float(row[f"propensity_{route}"]) for row in rows])
        weights[..., r] = base * ethnic[None, :, None, None] * sex[None, None, :, None] * age[None, None, None, :]
    return weights


def draw_cohort(population: ResidentPopulation, people: int, rng: np.random.Generator) -> Cohort:
    """Draw ``people`` residents without replacement, weighted by their summed route rates."""
    counts = population.counts
    weights = route_weights(counts.shape)
    per_cell = weights.sum(axis=-1)
    flat_counts = counts.ravel()
    cell_of_resident = np.repeat(np.arange(flat_counts.size), flat_counts)
    if people > cell_of_resident.size:
        raise ValueError("the cohort cannot be larger than the resident population")
    resident_weight = per_cell.ravel()[cell_of_resident]
    # Weighted sampling without replacement (Efraimidis & Spirakis): each resident gets an
    # exponential waiting time with rate equal to its weight; the first `people` to arrive win.
    with np.errstate(divide="ignore"):
        arrival = rng.exponential(size=cell_of_resident.size) / resident_weight
    # Shuffled so that a person's number says nothing about their area or group.
    chosen = rng.permutation(np.sort(np.argpartition(arrival, people - 1)[:people]))
    cells = cell_of_resident[chosen]
    area, group_idx, sex_idx, band = np.unravel_index(cells, counts.shape)
    route_p = weights.reshape(-1, len(ROUTES))[cells]
    route_p /= route_p.sum(axis=1, keepdims=True)
    route = (rng.random(people)[:, None] > np.cumsum(route_p, axis=1)).sum(axis=1)
    route = np.minimum(route, len(ROUTES) - 1)
    _, low, high = age_band_limits()
    age = low[band] + np.floor(rng.random(people) * (high[band] - low[band] + 1)).astype(np.int64)
    census = figures().date("population.census_date")
    days_before = np.floor((age + rng.random(people)) * 365.25).astype(np.int64)
    dob = census - days_before.astype("timedelta64[D]")
    return Cohort(
        area=area.astype(np.int64),
        ons_group=(group_idx + 1).astype(np.int64),
        sex=(sex_idx + 1).astype(np.int64),
        age_band=band.astype(np.int64),
        route=route.astype(np.int64),
        date_of_birth=dob,
    )
