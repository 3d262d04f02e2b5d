"""The true people of the cohort: who they are, where they live, what they need.

Everything here is the *truth* that agencies later record imperfectly (see ``recording.py``).
A person's setting (the deepest place their journey reaches: community mental health services,
detention under the Mental Health Act, police custody, court, probation or prison) is drawn before
their journey, and their needs are drawn with the prevalence published for that setting. Drawing
needs by setting, rather than letting settings emerge from needs, is what lets the calibration be
checked: the share of people on probation with depression is the Wandsworth figure by construction,
within sampling error, and the test suite holds it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from triangulate.standard import codelist, pnc_check_letter
from triangulate.synth.calibration import areas, ethnic_groups, figures, read_data_file
from triangulate.synth.residents import (
    BROAD_GROUPS,
    JUSTICE,
    MENTAL_HEALTH,
    MHA_DETENTION,
    Cohort,
    broad_group_of_ons_code,
)

#: Settings whose published need prevalence a person's needs are drawn from.
SETTINGS: tuple[str, ...] = ("mental_health", "mha_detention", "police_custody", "court", "probation", "prison")
#: Justice stages: the deepest stage a person's journey reaches (0: no justice contact).
NO_JUSTICE, CUSTODY_STAGE, COURT_STAGE, PROBATION_STAGE, PRISON_STAGE = range(5)

NEEDS: tuple[str, ...] = codelist("need").codes
NEED_INDEX = {code: i for i, code in enumerate(NEEDS)}
#: Needs that count as a mental health need (for dual diagnosis, continuity of care, L&D): the code
#: list's ``mental_health_need`` column, as the measures read it, less dual diagnosis (drawn from these).
MENTAL_HEALTH_NEEDS = tuple(r["code"] for r in codelist("need").rows
                            if r["mental_health_need"] == "Y" and r["code"] != "dual_diagnosis")
SUBSTANCE_NEEDS = ("substance_misuse", "alcohol_misuse")

#: Letters used in the inward code of a postcode (the Royal Mail never uses C, I, K, M, O or V there).
INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def odds_scaled(p: np.ndarray | float, multiplier: np.ndarray | float) -> np.ndarray:
    """A probability with its odds multiplied: keeps the result inside (0, 1)."""
    p = np.asarray(p, dtype=float)
    return p * multiplier / (1.0 - p + p * multiplier)


def draw_categories(rng: np.random.Generator, categories: list[str], weights: np.ndarray, size: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return np.asarray(categories, dtype=object)[rng.choice(len(categories), size=size, p=weights / weights.sum())]


def geometric_extra(rng: np.random.Generator, mean: np.ndarray | float, size: int) -> np.ndarray:
    """Counts 0, 1, 2, ... with the given mean and a geometric (heavy) tail."""
    mean = np.broadcast_to(np.asarray(mean, dtype=float), (size,))
    return rng.geometric(1.0 / (mean + 1.0)) - 1


# ---------------------------------------------------------------------------------------------
# Names


@dataclass(frozen=True)
class NameList:
    names: np.ndarray  # object array of str
    probabilities: np.ndarray


def _rank_weights(ranks: np.ndarray, exponent: float) -> np.ndarray:
    return 1.0 / np.power(ranks.astype(float), exponent)


@cache
def given_name_lists() -> dict[tuple[str, int], NameList]:
    exponent = figures().value("names.rank_exponent.given")
    grouped: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for row in read_data_file("given_names.csv"):
        grouped.setdefault((row["name_group"], int(row["sex"])), []).append((int(row["rank"]), row["name"]))
    out = {}
    for key, items in grouped.items():
        items.sort()
        w = _rank_weights(np.array([r for r, _ in items]), exponent)
        out[key] = NameList(np.array([n for _, n in items], dtype=object), w / w.sum())
    return out


@cache
def family_name_lists() -> dict[str, NameList]:
    f = figures()
    exponent = f.value("names.rank_exponent.family")
    grouped: dict[str, list[tuple[int, str]]] = {}
    for row in read_data_file("family_names.csv"):
        grouped.setdefault(row["name_group"], []).append((int(row["rank"]), row["name"]))
    parts = read_data_file("surname_parts.csv")
    prefixes = [p["part"] for p in parts if p["position"] == "prefix"]
    suffixes = [p["part"] for p in parts if p["position"] == "suffix"]
    out = {}
    for group, items in grouped.items():
        items.sort()
        names = [n for _, n in items]
        w = _rank_weights(np.array([r for r, _ in items]), exponent)
        w = w / w.sum()
        tail_share = f.group("names.long_tail_share").get(group, 0.0)
        if tail_share > 0:
            # Real surname distributions have a very long tail of rare names; compound English
            # place-name surnames (Ashworth, Blackmore, ...) stand in for it so that most family
            # names are rare and a few are very common, as term-frequency adjustment expects.
            known = set(names)
            tail = [p + s for p in prefixes for s in suffixes if p + s not in known]
            names = names + tail
            w = np.concatenate([w * (1 - tail_share), np.full(len(tail), tail_share / len(tail))])
        out[group] = NameList(np.array(names, dtype=object), w)
    return out


@cache
def name_variants() -> dict[str, dict[str, tuple[str, ...]]]:
    """``{"given"|"family": {name: (variants...)}}`` from name_variants.csv."""
    out: dict[str, dict[str, list[str]]] = {"given": {}, "family": {}}
    for row in read_data_file("name_variants.csv"):
        out[row["name_part"]].setdefault(row["name"], []).append(row["variant"])
    return {part: {k: tuple(v) for k, v in d.items()} for part, d in out.items()}


# ---------------------------------------------------------------------------------------------
# Identifiers


def valid_nhs_numbers(rng: np.random.Generator, size: int) -> np.ndarray:
    """Distinct 10-digit NHS numbers with valid modulus 11 check digits (object array of str)."""
    weights = np.arange(10, 1, -1)
    chosen: list[np.ndarray] = []
    have = 0
    seen: set[int] = set()
    while have < size:
        base = rng.integers(400_000_000, 800_000_000, size=int((size - have) * 1.15) + 16)
        digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        check = 11 - (digits * weights).sum(axis=1) % 11
        check = np.where(check == 11, 0, check)
        ok = check != 10
        numbers = base[ok] * 10 + check[ok]
        _, first = np.unique(numbers, return_index=True)
        numbers = numbers[np.sort(first)]
        fresh = np.array([n for n in numbers.tolist() if n not in seen], dtype=np.int64)
        fresh = fresh[: size - have]
        seen.update(fresh.tolist())
        chosen.append(fresh)
        have += len(fresh)
    return np.concatenate(chosen).astype(str).astype(object)


def pnc_ids(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    """Distinct PNC IDs ``YY/NNNNNNNL`` (serial zero-padded to 7 digits, valid check letter)."""
    years = np.asarray(years, dtype=np.int64)
    serial = rng.integers(1, 10_000_000, size=len(years))
    # Redraw the rare clashes so that no two people share a PNC ID.
    for _ in range(100):
        key = (years % 100) * 10_000_000 + serial
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        dup = np.ones(len(key), dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        serial[dup] = rng.integers(1, 10_000_000, size=int(dup.sum()))
    return np.array(
        [f"{y % 100:02d}/{s:07d}{pnc_check_letter(int(y), int(s))}" for y, s in zip(years.tolist(), serial.tolist())],
        dtype=object,
    )


def random_postcodes(rng: np.random.Generator, districts: np.ndarray) -> np.ndarray:
    sector = rng.integers(1, 10, size=len(districts))
    letters = INWARD_LETTERS[rng.integers(0, len(INWARD_LETTERS), size=(len(districts), 2))]
    return np.array(
        [f"{d} {s}{a}{b}" for d, s, (a, b) in zip(districts.tolist(), sector.tolist(), letters.tolist())],
        dtype=object,
    )


@dataclass(frozen=True)
class AddressHistory:
    """Every address of every person, sorted by person then start date."""

    person: np.ndarray
    start: np.ndarray  # datetime64[D]; an initial address starts at the epoch
    postcode: np.ndarray
    area: np.ndarray

    def _keys(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        return person.astype(np.int64) * 1_000_000 + day.astype("datetime64[D]").astype(np.int64)

    def index_at(self, person: np.ndarray, when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the address current on a date, and of the one before it (or the same)."""
        keys = self._keys(self.person, self.start)
        idx = np.searchsorted(keys, self._keys(person, when), side="right") - 1
        prev = np.where((idx > 0) & (self.person[np.maximum(idx - 1, 0)] == person), idx - 1, idx)
        return idx, prev


def address_histories(rng: np.random.Generator, home_area: np.ndarray) -> AddressHistory:
    f = figures()
    area_list = areas()
    n = len(home_area)
    start, end = f.date("period.start"), f.date("period.end")
    years = (end - start).astype(int) / 365.25
    moves = rng.poisson(f.value("person.moves_per_year") * years, size=n)
    mover = np.repeat(np.arange(n), moves)
    move_day = start + rng.integers(0, (end - start).astype(int) + 1, size=len(mover)).astype("timedelta64[D]")
    size = np.array([a.relative_size for a in area_list])
    elsewhere = rng.random(len(mover)) < f.value("person.move_out_of_area")
    move_area = np.where(elsewhere, rng.choice(len(area_list), size=len(mover), p=size / size.sum()), home_area[mover])
    person = np.concatenate([np.arange(n), mover])
    when = np.concatenate([np.full(n, np.datetime64("1970-01-01", "D")), move_day])
    area = np.concatenate([home_area, move_area])
    order = np.lexsort((when, person))
    person, when, area = person[order], when[order], area[order]
    districts = np.empty(len(area), dtype=object)
    for i, a in enumerate(area_list):
        here = area == i
        districts[here] = np.asarray(a.postcode_districts, dtype=object)[
            rng.integers(0, len(a.postcode_districts), size=int(here.sum()))
        ]
    return AddressHistory(person=person, start=when, postcode=random_postcodes(rng, districts), area=area)


# ---------------------------------------------------------------------------------------------
# People


@dataclass
class People:
    """Arrays over the cohort, one element per person (index = person number)."""

    person_id: np.ndarray
    area: np.ndarray
    ons_group: np.ndarray
    nhs_ethnicity: np.ndarray
    broad_group: np.ndarray
    sex: np.ndarray
    date_of_birth: np.ndarray
    route: np.ndarray
    stage: np.ndarray
    setting: np.ndarray
    needs: np.ndarray  # bool (people, len(NEEDS))
    religion: np.ndarray
    first_language: np.ndarray
    interpreter_needed: np.ndarray
    disability: np.ndarray
    gp_registered: np.ndarray
    frequent_attender: np.ndarray
    known_to_mental_health: np.ndarray
    given_name: np.ndarray
    family_name: np.ndarray
    name_group: np.ndarray
    nhs_number: np.ndarray  # "" when the person has none
    addresses: AddressHistory
    pnc_id: np.ndarray | None = None  # set once the journeys say when each person was first arrested
    pnc_created: np.ndarray | None = None  # datetime64[D]; NaT for people never arrested

    def __len__(self) -> int:
        return len(self.route)

    def need(self, code: str) -> np.ndarray:
        return self.needs[:, NEED_INDEX[code]]

    @property
    def mental_health_need(self) -> np.ndarray:
        return self.needs[:, [NEED_INDEX[c] for c in MENTAL_HEALTH_NEEDS]].any(axis=1)


def nhs_ethnic_code_of_ons() -> np.ndarray:
    """NHS ethnic category letter for each ONS 2021 code (index 0 unused).

    ONS 15 (Gypsy or Irish Traveller) and 16 (Roma) have no national NHS code and are recorded as
    C; 18 (Arab) as S; 2 (Chinese) is R, which the NHS 2001 frame puts under Other.
    """
    out = np.empty(20, dtype=object)
    for row in codelist("ethnicity").rows:
        if row["ons_2021_code"]:
            out[int(row["ons_2021_code"])] = row["code"]
    out[15] = out[16] = "C"
    out[18] = "S"
    return out


def _stages(rng: np.random.Generator, route: np.ndarray, broad: np.ndarray) -> np.ndarray:
    f = figures()
    n = len(route)
    stage = np.where(route == JUSTICE, CUSTODY_STAGE, NO_JUSTICE)
    court = f.value("stage.continue.court")
    supervised = odds_scaled(
        f.value("stage.continue.supervised"),
        np.array([f.value(f"stage.ethnic.supervised.{g}") for g in BROAD_GROUPS])[broad],
    )
    prison = odds_scaled(
        f.value("stage.continue.prison"),
        np.array([f.value(f"stage.ethnic.prison.{g}") for g in BROAD_GROUPS])[broad],
    )
    u = rng.random((n, 3))
    go_court = (stage == CUSTODY_STAGE) & (u[:, 0] < court)
    go_supervised = go_court & (u[:, 1] < supervised)
    go_prison = go_supervised & (u[:, 2] < prison)
    return stage + go_court + go_supervised + go_prison


def _needs(rng: np.random.Generator, setting: np.ndarray, sex: np.ndarray) -> np.ndarray:
    f = figures()
    n = len(setting)
    prevalence = np.zeros((n, len(NEEDS)))
    for s, name in enumerate(SETTINGS):
        here = setting == s
        figures_here = f.group(f"need.{name}")
        for code in NEEDS:
            if code in figures_here:
                prevalence[here, NEED_INDEX[code]] = figures_here[code]
            elif f"{code}.male" in figures_here:
                prevalence[here, NEED_INDEX[code]] = np.where(
                    sex[here] == 1, figures_here[f"{code}.male"], figures_here[f"{code}.female"]
                )
    needs = rng.random((n, len(NEEDS))) < prevalence
    # Prison: the published figures are for anxiety *and* depression (by sex) and for one of the two.
    in_prison = setting == SETTINGS.index("prison")
    both = np.where(sex == 1, f.value("need.prison.anxiety_and_depression.male"), f.value("need.prison.anxiety_and_depression.female"))
    either = f.value("need.prison.anxiety_or_depression")
    u = rng.random(n)
    has_both = u < both
    has_one = (u >= both) & (u < both + either)
    depression_only = has_one & (rng.random(n) < 0.5)
    needs[in_prison, NEED_INDEX["depression"]] = (has_both | depression_only)[in_prison]
    needs[in_prison, NEED_INDEX["anxiety"]] = (has_both | (has_one & ~depression_only))[in_prison]
    mh = needs[:, [NEED_INDEX[c] for c in MENTAL_HEALTH_NEEDS]].any(axis=1)
    substance = needs[:, [NEED_INDEX[c] for c in SUBSTANCE_NEEDS]].any(axis=1)
    needs[:, NEED_INDEX["dual_diagnosis"]] = mh & substance
    return needs


def _names(rng: np.random.Generator, ons_group: np.ndarray, sex: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(ons_group)
    name_group = np.empty(n, dtype=object)
    for g in ethnic_groups():
        here = np.flatnonzero(ons_group == g.ons_code)
        name_group[here] = draw_categories(rng, list(g.name_groups), np.array(list(g.name_groups.values())), len(here))
    given = np.empty(n, dtype=object)
    family = np.empty(n, dtype=object)
    given_lists = given_name_lists()
    family_lists = family_name_lists()
    for group in sorted(set(name_group.tolist())):
        for s in (1, 2):
            here = np.flatnonzero((name_group == group) & (sex == s))
            names = given_lists[(group, s)]
            given[here] = names.names[rng.choice(len(names.names), size=len(here), p=names.probabilities)]
        here = np.flatnonzero(name_group == group)
        names = family_lists[group]
        family[here] = names.names[rng.choice(len(names.names), size=len(here), p=names.probabilities)]
    return given, family, name_group


def make_people(cohort: Cohort, rng: np.random.Generator) -> People:
    f = figures()
    n = len(cohort)
    broad = broad_group_of_ons_code()[cohort.ons_group]
    stage = _stages(rng, cohort.route, broad)
    setting = np.select(
        [cohort.route == MENTAL_HEALTH, cohort.route == MHA_DETENTION],
        [SETTINGS.index("mental_health"), SETTINGS.index("mha_detention")],
        default=stage + SETTINGS.index("police_custody") - 1,
    )
    needs = _needs(rng, setting, cohort.sex)
    religion = np.empty(n, dtype=object)
    language = np.empty(n, dtype=object)
    for g in ethnic_groups():
        here = np.flatnonzero(cohort.ons_group == g.ons_code)
        religion[here] = draw_categories(rng, list(g.religion_mix), np.array(list(g.religion_mix.values())), len(here))
        language[here] = draw_categories(
            rng, list(g.first_language_mix), np.array(list(g.first_language_mix.values())), len(here)
        )
    interpreter = (language != "en") & (rng.random(n) < f.value("person.interpreter_if_not_english"))
    in_prison = stage == PRISON_STAGE
    disability_p = np.where(
        in_prison,
        np.where(cohort.sex == 1, f.value("person.disability.prison.male"), f.value("person.disability.prison.female")),
        f.value("person.disability.other"),
    )
    disability = rng.random(n) < disability_p
    gp = rng.random(n) < np.where(in_prison, f.value("gp.registered.prison_leavers"), f.value("gp.registered.other"))
    justice = cohort.route == JUSTICE
    frequent = justice & (rng.random(n) < f.value("justice.frequent_attender_share"))
    mh_need = needs[:, [NEED_INDEX[c] for c in MENTAL_HEALTH_NEEDS]].any(axis=1)
    known_p = np.where(mh_need, f.value("justice.known_to_mh.mh_need"), f.value("justice.known_to_mh.no_mh_need"))
    known = ~justice | (rng.random(n) < known_p)
    given, family, name_group = _names(rng, cohort.ons_group, cohort.sex)
    nhs = np.full(n, "", dtype=object)
    has_nhs = rng.random(n) < f.value("person.nhs_number")
    nhs[has_nhs] = valid_nhs_numbers(rng, int(has_nhs.sum()))
    return People(
        person_id=np.array([f"P{i + 1:07d}" for i in range(n)], dtype=object),
        area=cohort.area,
        ons_group=cohort.ons_group,
        nhs_ethnicity=nhs_ethnic_code_of_ons()[cohort.ons_group],
        broad_group=broad,
        sex=cohort.sex,
        date_of_birth=cohort.date_of_birth,
        route=cohort.route,
        stage=stage,
        setting=setting,
        needs=needs,
        religion=religion,
        first_language=language,
        interpreter_needed=interpreter,
        disability=disability,
        gp_registered=gp,
        frequent_attender=frequent,
        known_to_mental_health=known,
        given_name=given,
        family_name=family,
        name_group=name_group,
        nhs_number=nhs,
        addresses=address_histories(rng, cohort.area),
    )


def assign_pnc_ids(people: People, first_arrest: np.ndarray, rng: np.random.Generator) -> None:
    """Give every arrested person a PNC ID, created at a first arrest before or in the window."""
    f = figures()
    arrested = ~np.isnat(first_arrest)
    idx = np.flatnonzero(arrested)
    before = rng.random(len(idx)) < f.value("person.pnc_before_period")
    birth_year = people.date_of_birth[idx].astype("datetime64[Y]").astype(int) + 1970
    start_year = int(f.text("period.start")[:4])
    earliest = np.maximum(int(f.value("person.pnc_first_year_min")), birth_year + 10)
    # Someone who could not have been arrested before the window (too young) gets their PNC ID now.
    before &= earliest < start_year
    prior_year = earliest + np.floor(rng.random(len(idx)) * np.maximum(start_year - earliest, 1)).astype(int)
    arrest_year = first_arrest[idx].astype("datetime64[Y]").astype(int) + 1970
    year = np.where(before, prior_year, arrest_year)
    created = np.where(
        before,
        (year - 1970).astype("datetime64[Y]").astype("datetime64[D]"),
        first_arrest[idx],
    )
    pnc = np.full(len(people), "", dtype=object)
    pnc[idx] = pnc_ids(rng, year)
    when = np.full(len(people), np.datetime64("NaT"), dtype="datetime64[D]")
    when[idx] = created
    people.pnc_id = pnc
    people.pnc_created = when
