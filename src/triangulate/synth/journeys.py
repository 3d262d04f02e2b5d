"""Journeys along the Sequential Intercept Model, turned into the records each agency would hold.

A justice journey is a run of arrest episodes. The first, the *index* episode, takes the person to
the deepest stage drawn for them (custody, court, probation or prison); further episodes, many for
frequent attenders, go no deeper. Each episode leaves records in the order things happen: a police
custody record (intercept 1), perhaps a liaison & diversion record, a first hearing (2), later
hearings and a sentence (3), a prison stay with its release (3, 4), and probation supervision (4, 5).
Mental health journeys are referral spells with care contacts and admissions, and detentions under
the Mental Health Act (intercept 0); prison in-reach, care after release and treatment under a
probation requirement join the two.

Everything is drawn as whole arrays, one element per episode or record, never one person at a
time: that is what lets 100,000 people and a million records be simulated in seconds. Events that
would fall after the extract date are censored (dropped, or their end date left empty), as in a
real extract. This module builds only content and dates; identifiers are added as each agency
records them in ``recording.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from triangulate.standard import AGENCY_TABLES, codelist, schema
from triangulate.synth.calibration import areas, figures
from triangulate.synth.people import (
    COURT_STAGE,
    CUSTODY_STAGE,
    PRISON_STAGE,
    PROBATION_STAGE,
    People,
    draw_categories,
    geometric_extra,
    odds_scaled,
)
from triangulate.synth.residents import BROAD_GROUPS, JUSTICE, MENTAL_HEALTH, MHA_DETENTION

NAT = np.datetime64("NaT", "D")
DAYS_PER_YEAR = 365.25


def days(n: np.ndarray | int) -> np.ndarray:
    return np.asarray(n, dtype=np.int64).astype("timedelta64[D]")


def uniform_days(rng: np.random.Generator, low: int | np.ndarray, high: int | np.ndarray, size: int) -> np.ndarray:
    """Whole days, uniform on [low, high]."""
    low = np.asarray(low, dtype=np.int64)
    high = np.maximum(np.asarray(high, dtype=np.int64), low)
    return days(low + np.floor(rng.random(size) * (high - low + 1)).astype(np.int64))


def lognormal_days(rng: np.random.Generator, median: float, sigma: float, size: int) -> np.ndarray:
    return days(np.maximum(1, np.rint(median * np.exp(sigma * rng.standard_normal(size))).astype(np.int64)))


def censor(dates: np.ndarray, end: np.datetime64) -> np.ndarray:
    """Dates after the extract date are not known yet: NaT."""
    return np.where(dates > end, NAT, dates)


@dataclass
class TableRecords:
    """The true records of one agency table: who, when, where, and the content fields."""

    table: str
    person: np.ndarray
    when: np.ndarray  # the event date that places the record in time
    area: np.ndarray
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.person)

    def take(self, idx: np.ndarray) -> "TableRecords":
        return TableRecords(
            self.table,
            self.person[idx],
            self.when[idx],
            self.area[idx],
            {k: v[idx] for k, v in self.columns.items()},
        )


@dataclass
class _Collector:
    """Parts of one table gathered from several kinds of event, joined at the end."""

    table: str
    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, person: np.ndarray, when: np.ndarray, area: np.ndarray, **columns: np.ndarray) -> None:
        n = len(person)
        part = {"_person": person, "_when": when, "_area": area}
        for name, values in columns.items():
            arr = np.asarray(values)
            if arr.ndim == 0:
                arr = np.full(n, values, dtype=object if isinstance(values, str) or values is None else None)
            if arr.dtype.kind in "US":
                arr = arr.astype(object)  # strings are kept as Python objects so that None means missing
            part[name] = arr
        self.parts.append(part)

    def build(self) -> TableRecords:
        if not self.parts:
            # A small cohort can leave a table empty: it still has every column, with its type.
            kinds = {"date": "datetime64[D]", "integer": np.int64}
            columns = {f.name: np.array([], dtype=kinds.get(f.type, object)) for f in schema(self.table).fields}
            empty = np.array([], dtype=np.int64)
            return TableRecords(self.table, empty, np.array([], dtype="datetime64[D]"), empty, columns)
        names: list[str] = []
        kinds: dict[str, np.dtype] = {}
        for part in self.parts:
            for name, arr in part.items():
                if name not in kinds:
                    names.append(name)
                    kinds[name] = arr.dtype
        joined: dict[str, np.ndarray] = {}
        for name in names:
            kind = kinds[name]
            pieces = []
            for part in self.parts:
                n = len(part["_person"])
                if name in part:
                    arr = part[name]
                    pieces.append(arr.astype(object) if kind == object else arr)
                elif np.issubdtype(kind, np.datetime64):
                    pieces.append(np.full(n, NAT))
                else:
                    pieces.append(np.full(n, None, dtype=object))
            joined[name] = np.concatenate(pieces) if pieces else np.array([], dtype=kind)
        return TableRecords(
            table=self.table,
            person=joined.pop("_person").astype(np.int64),
            when=joined.pop("_when").astype("datetime64[D]"),
            area=joined.pop("_area").astype(np.int64),
            columns=joined,
        )


def _mix(prefix: str) -> tuple[list[str], np.ndarray]:
    group = figures().group(prefix)
    return list(group), np.array(list(group.values()))


def _area_choice(rng: np.random.Generator, area: np.ndarray, options_of_area: list[tuple[str, ...]]) -> np.ndarray:
    """For each record, one of its area's options (custody suites, prisons), uniformly."""
    out = np.empty(len(area), dtype=object)
    for a, options in enumerate(options_of_area):
        here = np.flatnonzero(area == a)
        out[here] = np.asarray(options, dtype=object)[rng.integers(0, len(options), size=len(here))]
    return out


@dataclass
class Journeys:
    tables: dict[str, TableRecords]
    first_arrest: np.ndarray  # per person, datetime64[D]; NaT for people never arrested


class _Simulation:
    def __init__(self, people: People, rng: np.random.Generator) -> None:
        self.people = people
        self.rng = rng
        self.f = figures()
        self.start = self.f.date("period.start")
        self.end = self.f.date("period.end")
        self.areas = areas()
        self.out = {t: _Collector(t) for t in AGENCY_TABLES}
        self.leavers: list[tuple[np.ndarray, np.ndarray]] = []

    # -- helpers ------------------------------------------------------------------------------

    def area_at(self, person: np.ndarray, when: np.ndarray) -> np.ndarray:
        idx, _ = self.people.addresses.index_at(person, when)
        return self.people.addresses.area[idx]

    def age_years(self, person: np.ndarray, when: np.ndarray) -> np.ndarray:
        return (when - self.people.date_of_birth[person]).astype(np.int64) / DAYS_PER_YEAR

    def window_days(self, size: int, latest: np.datetime64 | None = None) -> np.ndarray:
        last = latest if latest is not None else self.end
        return self.start + uniform_days(self.rng, 0, int((last - self.start).astype(int)), size)

    def yes_no(self, condition: np.ndarray) -> np.ndarray:
        return np.where(condition, "Y", "N").astype(object)

    def ethnic_factor(self, person: np.ndarray, prefix: str, default: float = 1.0) -> np.ndarray:
        group = self.f.group(prefix)
        factors = np.array([group.get(g, default) for g in BROAD_GROUPS])
        return factors[self.people.broad_group[person]]

    # -- justice ------------------------------------------------------------------------------

    def justice(self) -> np.ndarray:
        f, rng, p = self.f, self.rng, self.people
        justice_people = np.flatnonzero(p.route == JUSTICE)
        mean_extra = np.where(
            p.frequent_attender[justice_people],
            f.value("justice.extra_arrests_mean.frequent"),
            f.value("justice.extra_arrests_mean.other"),
        )
        count = 1 + geometric_extra(rng, mean_extra, len(justice_people))
        person = np.repeat(justice_people, count)
        n = len(person)
        index_episode = np.zeros(n, dtype=bool)
        index_episode[np.cumsum(count) - count] = True
        latest_index = self.end - days(int(f.value("justice.index_arrest_latest_days_before_end")))
        arrest = np.where(index_episode, self.window_days(n, latest_index), self.window_days(n))
        # Deepest stage of each episode: the index episode reaches the person's stage; others are
        # drawn through the same stage continuation and go no deeper than it.
        u = rng.random((n, 3))
        supervised = odds_scaled(f.value("stage.continue.supervised"), self.ethnic_factor(person, "stage.ethnic.supervised"))
        prison = odds_scaled(f.value("stage.continue.prison"), self.ethnic_factor(person, "stage.ethnic.prison"))
        go_court = u[:, 0] < f.value("stage.continue.court")
        drawn = CUSTODY_STAGE + go_court + (go_court & (u[:, 1] < supervised)) + (go_court & (u[:, 1] < supervised) & (u[:, 2] < prison))
        depth = np.where(index_episode, p.stage[person], np.minimum(drawn, p.stage[person]))
        offences, weights = _mix("offence")
        offence = draw_categories(rng, offences, weights, n)
        mh_need = p.mental_health_need[person]
        first_arrest = np.full(len(p), NAT)
        order = np.lexsort((arrest, person))
        is_first = np.ones(n, dtype=bool)
        is_first[1:] = person[order][1:] != person[order][:-1]
        firsts = order[is_first]
        first_arrest[person[firsts]] = arrest[firsts]

        # Decisions along the court and prison path.
        remand_p = np.minimum(f.value("court.remanded.prison_path") * self.ethnic_factor(person, "court.remanded.ethnic"), 0.95)
        remanded = (depth == PRISON_STAGE) & (rng.random(n) < remand_p)
        hospital_order = (depth == PRISON_STAGE) & p.need("psychosis")[person] & (rng.random(n) < f.value("court.hospital_order.psychosis"))
        remand_then_community = remanded & ~hospital_order & (rng.random(n) < f.value("court.remand_then_community_sentence"))
        custodial = (depth == PRISON_STAGE) & ~hospital_order & ~remand_then_community

        self._police_custody(person, arrest, depth, remanded, offence, mh_need)
        c1, c2, community_sentence, sentence = self._court(person, arrest, depth, remanded, hospital_order, remand_then_community, offence, mh_need)
        releases = self._prison(person, depth, remanded, custodial, hospital_order, remand_then_community, c1, c2, offence)
        self._probation(person, c2, community_sentence, sentence, offence, releases)
        return first_arrest

    def _police_custody(self, person, arrest, depth, remanded, offence, mh_need) -> None:
        f, rng, p = self.f, self.rng, self.people
        n = len(person)
        area = self.area_at(person, arrest)
        stays, stay_weights = _mix("custody.stay_days")
        departure = arrest + days(np.array(stays, dtype=int)[rng.choice(len(stays), size=n, p=stay_weights / stay_weights.sum())])
        outcomes, outcome_weights = _mix("custody.outcome")
        outcome = np.where(
            depth == CUSTODY_STAGE,
            draw_categories(rng, outcomes, outcome_weights, n),
            np.where(remanded, "charged_remanded", "charged"),
        ).astype(object)
        seen_p = np.where(mh_need, f.value("custody.healthcare_seen.mh_need"), f.value("custody.healthcare_seen.other"))
        self.out["police_custody"].add(
            person,
            arrest,
            area,
            intercept=np.full(n, 1),
            custody_suite=_area_choice(rng, area, [a.custody_suites for a in self.areas]),
            arrival_date=arrest,
            departure_date=censor(departure, self.end),
            offence_category=offence,
            custody_outcome=outcome,
            healthcare_seen=self.yes_no(rng.random(n) < seen_p),
        )
        # Liaison & diversion in custody.
        vulnerable = mh_need | p.need("learning_disability")[person] | p.need("neurodevelopmental")[person]
        identified = rng.random(n) < np.where(
            vulnerable, f.value("ld.identified.police_custody.mh_need"), f.value("ld.identified.police_custody.other")
        )
        self._liaison_diversion(person[identified], arrest[identified], area[identified], "police_custody", 1)

    def _court(self, person, arrest, depth, remanded, hospital_order, remand_then_community, offence, mh_need):
        f, rng = self.f, self.rng
        n = len(person)
        at_court = depth >= COURT_STAGE
        c1 = arrest + np.where(
            remanded,
            days(1),
            uniform_days(rng, int(f.value("court.days_to_first_hearing_min")), int(f.value("court.days_to_first_hearing_max")), n),
        )
        c2 = c1 + uniform_days(rng, int(f.value("court.days_to_final_hearing_min")), int(f.value("court.days_to_final_hearing_max")), n)
        # How a case that ends at court ends.
        u = rng.random(n)
        acquitted = (depth == COURT_STAGE) & (u < f.value("court.acquitted"))
        dismissed = (depth == COURT_STAGE) & ~acquitted & (u < f.value("court.acquitted") + f.value("court.dismissed"))
        minor_names, minor_weights = _mix("court.minor_sentence")
        community_names, community_weights = _mix("court.community_sentence")
        community = draw_categories(rng, community_names, community_weights, n)
        community_sentence = ((depth == PROBATION_STAGE) | remand_then_community)
        sentence = np.select(
            [depth == COURT_STAGE, community_sentence, hospital_order, depth == PRISON_STAGE],
            [draw_categories(rng, minor_names, minor_weights, n), community, "hospital_order", "immediate_custody"],
            default=None,
        ).astype(object)
        sentence[acquitted | dismissed] = None
        single = (depth == COURT_STAGE) & ~acquitted & ~dismissed & (rng.random(n) < f.value("court.sentenced_at_first_hearing"))
        c2 = np.where(single, c1, c2)

        # First hearings (intercept 2).
        first = np.flatnonzero(at_court & (c1 <= self.end))
        area1 = self.area_at(person[first], c1[first])
        youth1 = self.age_years(person[first], c1[first]) < 18
        outcome1 = np.where(
            remanded[first],
            "remanded_in_custody",
            np.where(single[first], "sentenced", np.where(rng.random(len(first)) < f.value("court.first_hearing_bail"), "bail", "adjourned")),
        ).astype(object)
        self.out["court_appearance"].add(
            person[first],
            c1[first],
            area1,
            intercept=np.full(len(first), 2),
            court_code=np.where(youth1, np.array([a.youth_court for a in self.areas], dtype=object)[area1], np.array([a.magistrates_court for a in self.areas], dtype=object)[area1]),
            court_type=np.where(youth1, "youth", "magistrates").astype(object),
            hearing_date=c1[first],
            hearing_type=np.full(len(first), "first_hearing", dtype=object),
            offence_category=offence[first],
            offence_date=arrest[first],
            court_outcome=outcome1,
            sentence_type=np.where(single[first], sentence[first], None).astype(object),
        )
        # Liaison & diversion at court, from the first hearing's list.
        identified = rng.random(len(first)) < np.where(
            mh_need[first], f.value("ld.identified.court.mh_need"), f.value("ld.identified.court.other")
        )
        self._liaison_diversion(person[first][identified], c1[first][identified], area1[identified], "court", 2)

        # Plea and case management hearings between the first and the final hearing.
        multi = np.flatnonzero(at_court & ~single)
        k = rng.poisson(f.value("court.further_hearings_mean"), size=len(multi))
        mid = np.repeat(multi, k)
        gap = (c2[mid] - c1[mid]).astype(np.int64)
        mid_date = c1[mid] + days(1 + np.floor(rng.random(len(mid)) * np.maximum(gap - 1, 1)).astype(np.int64))
        keep = mid_date <= self.end
        mid, mid_date = mid[keep], mid_date[keep]
        self._hearing(person[mid], mid_date, depth[mid], "plea", 2, offence[mid], np.full(len(mid), "adjourned", dtype=object), np.full(len(mid), None, dtype=object), crown=False, offence_date=arrest[mid])

        # Final hearings (intercept 3).
        final = np.flatnonzero(at_court & ~single & (c2 <= self.end))
        hearing_type = np.select([acquitted[final], dismissed[final]], ["trial", "plea"], default="sentencing").astype(object)
        outcome = np.select([acquitted[final], dismissed[final]], ["acquitted", "dismissed"], default="sentenced").astype(object)
        self._hearing(person[final], c2[final], depth[final], hearing_type, 3, offence[final], outcome, sentence[final], crown=True, offence_date=arrest[final])
        # Hospital orders are detentions under s37 (s37/41 with a restriction from the Crown Court).
        ho = np.flatnonzero(hospital_order & (c2 <= self.end))
        restricted = rng.random(len(ho)) < f.value("court.hospital_order_restricted")
        stay = lognormal_days(rng, f.value("mha.secure_stay_days_median"), f.value("mh.duration_sigma"), len(ho))
        self._mental_health(
            person[ho], c2[ho], 3, "mha_detention", None, "court",
            end=censor(c2[ho] + stay, self.end), mha_section=np.where(restricted, "s37_41", "s37").astype(object),
        )
        return c1, c2, community_sentence & (c2 <= self.end), sentence

    def _hearing(self, person, when, depth, hearing_type, intercept, offence, outcome, sentence, crown: bool, offence_date) -> None:
        """Hearings of cases whose offence was committed on ``offence_date`` (the day of the arrest)."""
        f, rng = self.f, self.rng
        n = len(person)
        area = self.area_at(person, when)
        youth = self.age_years(person, when) < 18
        crown_p = np.select(
            [depth == COURT_STAGE, depth == PROBATION_STAGE, depth == PRISON_STAGE],
            [f.value("court.crown.court"), f.value("court.crown.supervised"), f.value("court.crown.prison")],
            default=0.0,
        )
        in_crown = crown & ~youth & (rng.random(n) < crown_p)
        court_type = np.select([youth, in_crown], ["youth", "crown"], default="magistrates").astype(object)
        code = np.select(
            [youth, in_crown],
            [np.array([a.youth_court for a in self.areas], dtype=object)[area], np.array([a.crown_court for a in self.areas], dtype=object)[area]],
            default=np.array([a.magistrates_court for a in self.areas], dtype=object)[area],
        ).astype(object)
        self.out["court_appearance"].add(
            person,
            when,
            area,
            intercept=np.full(n, intercept),
            court_code=code,
            court_type=court_type,
            hearing_date=when,
            hearing_type=np.broadcast_to(np.asarray(hearing_type, dtype=object), (n,)).copy(),
            offence_category=offence,
            offence_date=offence_date,
            court_outcome=outcome,
            sentence_type=sentence,
        )

    def _prison(self, person, depth, remanded, custodial, hospital_order, remand_then_community, c1, c2, offence):
        f, rng, p = self.f, self.rng, self.people
        stays = np.flatnonzero(remanded | custodial)
        n = len(stays)
        who = person[stays]
        reception = np.where(remanded[stays], c1[stays], c2[stays])
        served = days(
            np.maximum(
                1,
                np.rint(
                    f.value("prison.served_fraction")
                    * f.value("prison.sentence_days_median")
                    * np.exp(f.value("prison.sentence_days_sigma") * rng.standard_normal(n))
                ).astype(np.int64),
            )
        )
        sentenced_release = np.maximum(c2[stays], reception + served)
        release_names, release_weights = _mix("prison.release")
        release_type = draw_categories(rng, release_names, release_weights, n)
        transfer = custodial[stays] & p.need("psychosis")[who] & (rng.random(n) < f.value("prison.transfer_to_hospital.psychosis"))
        transfer_day = reception + days(1 + np.floor(rng.random(n) * np.maximum((sentenced_release - reception).astype(np.int64), 1)).astype(np.int64))
        release = np.select(
            [transfer, custodial[stays], hospital_order[stays]],
            [transfer_day, sentenced_release, c2[stays]],
            default=c2[stays],
        )
        release_type = np.select(
            [transfer, custodial[stays], hospital_order[stays]],
            ["transfer_to_hospital", release_type, "transfer_to_hospital"],
            default="bail_or_court",
        ).astype(object)
        custody_type = np.where(remanded[stays], "remand", "sentenced").astype(object)
        self._prison_records(who, reception, release, release_type, custody_type, offence[stays])
        # Transfers to hospital are detentions under s47 (sentenced) or s48 (on remand).
        moved = np.flatnonzero(transfer & (release <= self.end))
        on_remand = release[moved] < c2[stays][moved]
        self._mental_health(
            who[moved], release[moved], 3, "mha_detention", None, "prison",
            end=censor(release[moved] + lognormal_days(rng, f.value("mha.secure_stay_days_median"), f.value("mh.duration_sigma"), len(moved)), self.end),
            mha_section=np.where(on_remand, "s48", "s47").astype(object),
        )
        # Recalls from licence.
        on_licence = (release_type == "licence") & (release <= self.end)
        recalled = np.flatnonzero(on_licence & (rng.random(n) < f.value("prison.recall.licence")))
        recall_day = release[recalled] + uniform_days(
            rng, int(f.value("prison.recall_after_days_min")), int(f.value("prison.recall_after_days_max")), len(recalled)
        )
        recall_release = recall_day + uniform_days(
            rng, int(f.value("prison.recall_stay_days_min")), int(f.value("prison.recall_stay_days_max")), len(recalled)
        )
        self._prison_records(
            who[recalled], recall_day, recall_release, np.full(len(recalled), "licence", dtype=object),
            np.full(len(recalled), "recall", dtype=object), np.full(len(recalled), "breach", dtype=object),
        )
        released = (release <= self.end) & np.isin(release_type, ["licence", "home_detention_curfew"]) & (reception <= self.end)
        return who[released], release[released], offence[stays][released]

    def _prison_records(self, who, reception, release, release_type, custody_type, offence) -> None:
        f, rng, p = self.f, self.rng, self.people
        keep = reception <= self.end
        who, reception, release, release_type, custody_type, offence = (
            x[keep] for x in (who, reception, release, release_type, custody_type, offence)
        )
        n = len(who)
        area = self.area_at(who, reception)
        released = release <= self.end
        male = p.sex[who] == 1
        establishment = np.where(
            male,
            _area_choice(rng, area, [a.male_prisons for a in self.areas]),
            _area_choice(rng, area, [a.female_prisons for a in self.areas]),
        ).astype(object)
        self.out["prison_custody"].add(
            who,
            reception,
            area,
            intercept=np.full(n, 3),
            establishment_code=establishment,
            reception_date=reception,
            custody_type=custody_type,
            offence_category=offence,
            release_date=np.where(released, release, NAT),
            release_type=np.where(released, release_type, None).astype(object),
            # The area the person lives in on release (at reception while still in custody).
            residence_area_code=np.array([a.code for a in self.areas], dtype=object)[
                self.area_at(who, np.where(released, release, reception))],
        )
        # Prison mental health in-reach during the stay.
        mh_need = p.mental_health_need[who]
        in_reach = np.flatnonzero(mh_need & (rng.random(n) < f.value("prison.in_reach.mh_need")))
        stay = np.where(released[in_reach], (release[in_reach] - reception[in_reach]).astype(np.int64), 60)
        contact = reception[in_reach] + days(1 + np.floor(rng.random(len(in_reach)) * np.maximum(np.minimum(stay, 30), 1)).astype(np.int64))
        ok = contact <= np.minimum(np.where(released[in_reach], release[in_reach], self.end), self.end)
        self._mental_health(who[in_reach][ok], contact[ok], 3, "contact", "prison_in_reach", "prison")
        # Leavers with a mental health need, for care after release (see continuity_of_care).
        leavers = released & mh_need & (release_type != "transfer_to_hospital")
        self.leavers.append((who[leavers], release[leavers]))

    def _probation(self, person, c2, community_sentence, sentence, offence, releases) -> None:
        f, rng, p = self.f, self.rng, self.people
        # Community and suspended sentence orders (intercept 5); youth orders go to youth
        # offending teams, which are outside the data standard.
        orders = np.flatnonzero(community_sentence & (self.age_years(person, c2) >= 18))
        start = c2[orders] + uniform_days(rng, 0, 10, len(orders))
        keep = start <= self.end
        orders, start = orders[keep], start[keep]
        who = person[orders]
        order_type = np.where(sentence[orders] == "suspended_sentence", "suspended_sentence_order", "community_order").astype(object)
        end = start + uniform_days(rng, int(f.value("probation.order_days_min")), int(f.value("probation.order_days_max")), len(orders))
        self._supervision(who, start, end, order_type, 5, offence[orders], self._requirements(who))
        # Licence and post-sentence supervision after release (intercept 4).
        who, release, offence_l = releases
        adult = self.age_years(who, release) >= 18
        who, release, offence_l = who[adult], release[adult], offence_l[adult]
        pss = rng.random(len(who)) < f.value("probation.post_sentence_supervision")
        end = release + uniform_days(rng, int(f.value("probation.licence_days_min")), int(f.value("probation.licence_days_max")), len(who))
        self._supervision(
            who, release, end, np.where(pss, "post_sentence_supervision", "licence").astype(object), 4, offence_l,
            np.full(len(who), None, dtype=object),
        )

    def _requirements(self, who: np.ndarray) -> np.ndarray:
        f, rng, p = self.f, self.rng, self.people
        n = len(who)
        mh = p.mental_health_need[who]
        chance = {
            "rar": np.full(n, f.value("probation.requirement.rar")),
            "unpaid_work": np.full(n, f.value("probation.requirement.unpaid_work")),
            "curfew": np.full(n, f.value("probation.requirement.curfew")),
            "programme": np.full(n, f.value("probation.requirement.programme")),
            "drr": np.where(p.need("substance_misuse")[who], f.value("probation.requirement.drr.substance_misuse"), 0.0),
            "atr": np.where(p.need("alcohol_misuse")[who], f.value("probation.requirement.atr.alcohol_misuse"), 0.0),
            "mhtr": np.where(mh, f.value("probation.requirement.mhtr.mh_need"), 0.0),
            "specified_activity": np.where(mh, f.value("probation.requirement.specified_activity.mh_need"), 0.0),
        }
        codes = [c for c in codelist("probation_requirement").codes if c in chance]
        has = np.stack([rng.random(n) < chance[c] for c in codes], axis=1)
        has[~has.any(axis=1), codes.index("rar")] = True
        return np.array([";".join(c for c, h in zip(codes, row) if h) for row in has.tolist()], dtype=object)

    def _supervision(self, who, start, end, order_type, intercept, offence, requirements) -> None:
        f, rng = self.f, self.rng
        keep = start <= self.end
        who, start, end, order_type, offence, requirements = (x[keep] for x in (who, start, end, order_type, offence, requirements))
        n = len(who)
        area = self.area_at(who, start)
        risks, risk_weights = _mix("probation.risk")
        self.out["probation_supervision"].add(
            who,
            start,
            area,
            intercept=np.full(n, intercept),
            probation_delivery_unit=np.array([a.probation_delivery_unit for a in self.areas], dtype=object)[area],
            supervision_start_date=start,
            supervision_end_date=censor(end, self.end),
            order_type=order_type,
            requirements=requirements,
            risk_of_serious_harm=draw_categories(rng, risks, risk_weights, n),
            offence_category=offence,
        )
        # A mental health treatment requirement brings treatment contacts (intercept 5).
        mhtr = np.flatnonzero(np.array(["mhtr" in (r or "") for r in requirements.tolist()], dtype=bool))
        self._mental_health(who[mhtr], start[mhtr] + uniform_days(rng, 1, 14, len(mhtr)), 5, "referral", "community_mental_health", "probation", with_contacts=True)

    # -- liaison & diversion ----------------------------------------------------------------

    def _liaison_diversion(self, person, identified, area, setting: str, intercept: int) -> None:
        f, rng, p = self.f, self.rng, self.people
        n = len(person)
        screened = rng.random(n) < f.value("ld.screened")
        assessed = screened & (rng.random(n) < f.value("ld.assessed"))
        screening = np.where(screened, identified + days(rng.choice([0, 0, 1], size=n)), NAT)
        assessment = np.where(assessed, screening + uniform_days(rng, 0, 5, n), NAT)
        screening, assessment = censor(screening, self.end), censor(assessment, self.end)
        needs = {code: p.need(code)[person] for code in ("psychosis", "depression", "anxiety", "learning_disability", "substance_misuse", "alcohol_misuse")}
        u = rng.random(n)
        r = f.group("ld.referral")
        other = r["primary_care"], r["primary_care"] + r["housing"], r["primary_care"] + r["housing"] + r["peer_support"]
        destination = np.select(
            [
                needs["psychosis"] & (u < r["crisis_given_psychosis"]),
                needs["psychosis"],
                (needs["depression"] | needs["anxiety"]) & (u < r["talking_therapies_given_common"]),
                needs["depression"] | needs["anxiety"],
                needs["learning_disability"],
                needs["substance_misuse"],
                needs["alcohol_misuse"],
                (p.sex[person] == 2) & (u < r["women_centre"]),
                u < other[0],
                u < other[1],
                u < other[2],
            ],
            ["crisis", "community_mental_health", "talking_therapies", "community_mental_health", "learning_disability",
             "substance_misuse", "alcohol", "women_centre", "primary_care", "housing", "peer_support"],
            default="none",
        ).astype(object)
        # Referral follows the full assessment (the operating model's order); a few people are referred
        # straight from screening. Drawn from a child generator so the main stream is unchanged.
        child = rng.spawn(1)[0]
        direct = ~np.isnat(screening) & np.isnat(assessment) & (child.random(n) < f.value("ld.referral.without_assessment"))
        seen = ~np.isnat(assessment) | direct
        last_seen = np.where(np.isnat(assessment), screening, assessment)
        referral = np.where(seen & (destination != "none"), last_seen + uniform_days(rng, 0, 7, n), NAT)
        referral = censor(referral, self.end)
        destination = np.where(seen & (~np.isnat(referral) | (destination == "none")), destination, None).astype(object)
        engaged_u = rng.random(n)
        engaged = np.where(
            np.isnat(referral),
            None,
            np.where(engaged_u < f.value("ld.engaged.yes"), "Y", np.where(engaged_u < f.value("ld.engaged.yes") + f.value("ld.engaged.no"), "N", "U")),
        ).astype(object)
        known = np.where(
            rng.random(n) < f.value("ld.known_to_mh_not_recorded"), "U", self.yes_no(p.known_to_mental_health[person])
        ).astype(object)
        # Outcomes (standard 1.2), for people fully assessed: information shared with the justice system's
        # decision maker for the setting, and diversion out of or within the system.
        done = ~np.isnat(assessment)
        u = child.random(n)
        yes, no = f.value("ld.information_shared.yes"), f.value("ld.information_shared.no")
        shared = np.where(done, np.where(u < yes, "Y", np.where(u < yes + no, "N", "U")), None).astype(object)
        recipient = {"police_custody": "police", "court": "court"}.get(setting, "other")
        shared_with = np.where(shared == "Y", recipient, None).astype(object)
        u = child.random(n)
        out_share = f.value(f"ld.diversion.out_of_justice.{setting}")
        within_share = f.value(f"ld.diversion.within_justice.{setting}")
        diversion = np.where(done, np.where(u < out_share, "out_of_justice",
                                            np.where(u < out_share + within_share, "within_justice", "none")),
                             None).astype(object)
        self.out["liaison_diversion"].add(
            person,
            identified,
            area,
            intercept=np.full(n, intercept),
            ld_service=np.array([a.ld_service for a in self.areas], dtype=object)[area],
            setting=np.full(n, setting, dtype=object),
            identification_date=identified,
            screening_date=screening,
            assessment_date=assessment,
            known_to_mental_health=known,
            referral_destination=destination,
            referral_date=referral,
            referral_engaged=engaged,
            information_shared=shared,
            information_shared_with=shared_with,
            diversion_outcome=diversion,
        )
        # People who take up a referral to mental health services appear in the MHSDS.
        onward = np.flatnonzero((engaged == "Y") & np.isin(destination, ["community_mental_health", "crisis"]))
        team = np.where(destination[onward] == "crisis", "crisis_resolution", "community_mental_health").astype(object)
        self._mental_health(person[onward], referral[onward], intercept, "referral", team, "liaison_diversion", with_contacts=True)

    # -- mental health ------------------------------------------------------------------------

    def _mental_health(self, person, when, intercept, record_type, team_type, referral_source, *, end=None, mha_section=None, with_contacts=False) -> None:
        keep = when <= self.end  # NaT compares False: censored events leave no record
        person, when = person[keep], when[keep]
        if end is not None:
            end = end[keep]
        team_type = np.broadcast_to(np.asarray(team_type, dtype=object), keep.shape)[keep]
        referral_source = np.broadcast_to(np.asarray(referral_source, dtype=object), keep.shape)[keep]
        mha_section = np.broadcast_to(np.asarray(mha_section, dtype=object), keep.shape)[keep]
        n = len(person)
        if n == 0:
            return
        area = self.area_at(person, when)
        self.out["mental_health"].add(
            person,
            when,
            area,
            intercept=np.full(n, intercept),
            provider_code=np.array([a.mh_provider for a in self.areas], dtype=object)[area],
            record_type=np.full(n, record_type, dtype=object),
            team_type=team_type.copy(),
            event_date=when,
            end_date=end if end is not None else np.full(n, NAT),
            referral_source=referral_source.copy(),
            mha_section=mha_section.copy(),
        )
        if with_contacts:
            self._contacts(person, when, intercept, team_type)

    def _contacts(self, person, referral, intercept, team) -> None:
        f, rng = self.f, self.rng
        mean = f.value("mh.contacts_per_spell_mean")
        shape = f.value("mh.contacts_dispersion")
        k = rng.negative_binomial(shape, shape / (shape + mean), size=len(person))
        spell = np.repeat(np.arange(len(person)), k)
        gaps = rng.exponential(f.value("mh.contact_gap_days_mean"), size=len(spell))
        # Cumulative gaps within each spell.
        total = np.cumsum(gaps)
        starts = np.cumsum(k) - k
        offset = total - np.repeat(np.r_[0.0, total][starts], k)
        when = referral[spell] + days(np.ceil(offset).astype(np.int64))
        keep = when <= self.end
        spell, when = spell[keep], when[keep]
        self._mental_health(person[spell], when, intercept, "contact", team[spell], None)

    def spells(self, person: np.ndarray, first: np.ndarray, source: np.ndarray) -> None:
        """Referral spells to community mental health services, with contacts and admissions."""
        f, rng, p = self.f, self.rng, self.people
        n = len(person)
        age = self.age_years(person, first)
        psychosis = p.need("psychosis")[person]
        common = p.need("depression")[person] | p.need("anxiety")[person]
        team = np.select(
            [psychosis & (age < 35), psychosis, p.need("learning_disability")[person],
             common & (rng.random(n) < f.value("mh.talking_therapies.common_mental_disorder"))],
            ["early_intervention_psychosis", "community_mental_health", "learning_disability", "talking_therapies"],
            default="community_mental_health",
        ).astype(object)
        closed = rng.random(n) < f.value("mh.referral_closed")
        end = np.where(closed, first + lognormal_days(rng, f.value("mh.referral_duration_days_median"), f.value("mh.duration_sigma"), n), NAT)
        self._mental_health(person, first, 0, "referral", team, source, end=censor(end, self.end), with_contacts=True)
        admitted = np.flatnonzero(rng.random(n) < np.where(psychosis, f.value("mh.admission.psychosis"), f.value("mh.admission.other")))
        admission = first[admitted] + uniform_days(rng, 0, 60, len(admitted))
        ok = admission <= self.end
        admitted, admission = admitted[ok], admission[ok]
        discharge = admission + lognormal_days(rng, f.value("mh.admission_stay_days_median"), f.value("mh.duration_sigma"), len(admitted))
        self._mental_health(person[admitted], admission, 0, "admission", "inpatient", None, end=censor(discharge, self.end))

    def mental_health_journeys(self) -> None:
        f, rng, p = self.f, self.rng, self.people
        latest_first = self.end - days(30)
        # People who enter by referral.
        who = np.flatnonzero(p.route == MENTAL_HEALTH)
        extra = geometric_extra(rng, f.value("mh.spells_extra_mean.mental_health"), len(who))
        self._spell_set(who, extra, latest_first, "mental_health")
        # People who enter by detention: detention episodes, then community follow-up.
        who = np.flatnonzero(p.route == MHA_DETENTION)
        count = 1 + geometric_extra(rng, f.value("mha.detentions_extra_mean"), len(who))
        person = np.repeat(who, count)
        first = np.zeros(len(person), dtype=bool)
        first[np.cumsum(count) - count] = True
        when = np.where(first, self.window_days(len(person), latest_first), self.window_days(len(person)))
        self._detentions(person, when)
        extra = geometric_extra(rng, f.value("mh.spells_extra_mean.mha_detention"), len(who))
        self._spell_set(who, extra, None, "mha_detention", at_least_one=False)
        # Arrested people known to mental health services.
        who = np.flatnonzero((p.route == JUSTICE) & p.known_to_mental_health)
        extra = geometric_extra(rng, f.value("mh.spells_extra_mean.justice_known"), len(who))
        self._spell_set(who, extra, None, "justice")
        # Street triage and other community L&D identification.
        mh_people = np.flatnonzero(p.route != JUSTICE)
        chosen = mh_people[rng.random(len(mh_people)) < f.value("ld.identified.community")]
        day = self.window_days(len(chosen))
        self._liaison_diversion(chosen, day, self.area_at(chosen, day), "community", 0)

    def continuity_of_care(self) -> None:
        """Community contacts after release so that the published share of prison leavers with a
        mental health need have one within 21 days.

        Some leavers already have a contact in those 21 days (an open spell, a referral from
        liaison & diversion); contacts are added for just enough of the others that the share,
        counted as an analyst would count it from the records, is the calibrated figure.
        """
        f, rng = self.f, self.rng
        if not self.leavers:
            return
        who = np.concatenate([w for w, _ in self.leavers])
        release = np.concatenate([r for _, r in self.leavers])
        # "A contact" as the continuity measure counts it: an attended contact or an admission with a
        # community team (not prison in-reach or forensic), 0 to 21 days after the release date.
        mh = self.out["mental_health"].parts
        counted = [np.isin(p["record_type"], ["contact", "admission"])
                   & ~np.isin(p["team_type"], ["prison_in_reach", "forensic"]) for p in mh]
        contact_person = np.concatenate([np.array([], dtype=np.int64)] + [p["_person"][c] for p, c in zip(mh, counted)])
        contact_day = np.concatenate(
            [np.array([], dtype="datetime64[D]")] + [p["_when"][c] for p, c in zip(mh, counted)]
        ).astype("datetime64[D]")
        keys = np.sort(contact_person.astype(np.int64) * 1_000_000 + contact_day.astype(np.int64))
        base = who.astype(np.int64) * 1_000_000 + release.astype(np.int64)
        already = np.searchsorted(keys, base + 21, side="right") > np.searchsorted(keys, base, side="left")
        target = f.value("continuity.contact_within_21_days")
        share_already = already.mean() if len(already) else 0.0
        top_up = max(0.0, (target - share_already) / max(1.0 - share_already, 1e-9))
        u = rng.random(len(who))
        soon = ~already & (u < top_up)
        later = ~already & ~soon & (rng.random(len(who)) < f.value("continuity.contact_after_21_days"))
        when = release + np.where(soon, uniform_days(rng, 1, 21, len(who)), uniform_days(rng, 22, 120, len(who)))
        chosen = soon | later
        self._mental_health(who[chosen], when[chosen], 4, "contact", "community_mental_health", "prison")

    def _spell_set(self, who, extra, latest_first, route: str, at_least_one: bool = True) -> None:
        count = np.maximum(extra, 0) + (1 if at_least_one else 0)
        person = np.repeat(who, count)
        first = np.zeros(len(person), dtype=bool)
        if at_least_one:
            first[np.cumsum(count) - count] = True
        when = np.where(first & (latest_first is not None), self.window_days(len(person), latest_first), self.window_days(len(person)))
        sources, weights = _mix(f"mh.referral_source.{route}")
        source = draw_categories(self.rng, sources, weights, len(person))
        self.spells(person, when, source)

    def _detentions(self, person, when) -> None:
        f, rng = self.f, self.rng
        n = len(person)
        s136 = rng.random(n) < f.value("mha.starts_with_s136")
        triage = np.flatnonzero(rng.random(n) < f.value("mha.street_triage"))
        self._mental_health(person[triage], when[triage], 0, "contact", "street_triage", "police")
        idx = np.flatnonzero(s136)
        self._mental_health(
            person[idx], when[idx], 0, "mha_detention", None, "police",
            end=censor(when[idx] + uniform_days(rng, 0, 1, len(idx)), self.end), mha_section="s136",
        )
        pos = idx[rng.random(len(idx)) < f.value("custody.s136_place_of_safety")]
        area = self.area_at(person[pos], when[pos])
        self.out["police_custody"].add(
            person[pos],
            when[pos],
            area,
            intercept=np.full(len(pos), 0),
            custody_suite=_area_choice(rng, area, [a.custody_suites for a in self.areas]),
            arrival_date=when[pos],
            departure_date=censor(when[pos] + days(1), self.end),
            offence_category=np.full(len(pos), None, dtype=object),
            custody_outcome=np.full(len(pos), "s136_place_of_safety", dtype=object),
            healthcare_seen=np.full(len(pos), "Y", dtype=object),
        )
        # After s136 some are detained under s2; detentions that do not start with s136 are s2 or s3.
        s2 = (s136 & (rng.random(n) < f.value("mha.s2_after_s136"))) | (~s136 & (rng.random(n) < f.value("mha.s2_when_not_s136")))
        direct_s3 = ~s136 & ~s2
        s2_start = when + np.where(s136, days(1), days(0))
        s2_end = s2_start + days(int(f.value("mha.s2_days")))
        s3 = direct_s3 | (s2 & (rng.random(n) < f.value("mha.s3_after_s2")))
        s3_start = np.where(direct_s3, when, s2_end)
        s3_end = s3_start + lognormal_days(rng, f.value("mha.s3_days_median"), f.value("mh.duration_sigma"), n)
        for mask, start, stop, section in ((s2, s2_start, s2_end, "s2"), (s3, s3_start, s3_end, "s3")):
            idx = np.flatnonzero(mask & (start <= self.end))
            self._mental_health(person[idx], start[idx], 0, "mha_detention", "inpatient", "other", end=censor(stop[idx], self.end), mha_section=section)
        # The hospital stay of each detention under s2 or s3.
        admitted = np.flatnonzero((s2 | s3) & (np.where(s2, s2_start, s3_start) <= self.end))
        start = np.where(s2, s2_start, s3_start)[admitted]
        stop = np.where(s3, s3_end, s2_end)[admitted]
        self._mental_health(person[admitted], start, 0, "admission", "inpatient", None, end=censor(stop, self.end))


def simulate_journeys(people: People, rng: np.random.Generator) -> Journeys:
    sim = _Simulation(people, rng)
    first_arrest = sim.justice()
    sim.mental_health_journeys()
    sim.continuity_of_care()
    return Journeys(tables={t: sim.out[t].build() for t in AGENCY_TABLES}, first_arrest=first_arrest)
