"""How each agency records a person: the identifiers and demographics on every record, with noise.

The truth is one person; the records are what clerks, custody sergeants and clinicians typed. Each
record starts from the person's true identifiers *on the record's date* (the postcode of the
address they lived at then, the PNC ID only once they have one) and then:

- agencies leave out what they do not usually collect (``recording.csv``: courts seldom record
  ethnicity, justice agencies seldom the NHS number, mental health services have no PNC field);
- errors are made at the rates of the chosen noise level (``noise.csv``): a letter typed wrong in a
  name, a nickname or another spelling, given and family name swapped, day and month of birth
  transposed, the previous address, a related ethnic category or "not stated".

NHS numbers and PNC IDs are either right or missing: both carry check characters that catch typing
errors at the point of entry, so a wrong-but-valid number is too rare to model. The prison system
writes family names in capitals, as NOMIS does, so linkage has to normalise case.
"""

from __future__ import annotations

import numpy as np

from triangulate.standard import schema
from triangulate.synth.calibration import NoiseRates, figures, recording_shares
from triangulate.synth.journeys import NAT, TableRecords, days
from triangulate.synth.people import INWARD_LETTERS, People, name_variants

#: A different code in the same broad group, as recorded by someone choosing from a list.
RELATED_ETHNIC_CODES: dict[str, tuple[str, ...]] = {
    "A": ("C", "B"),
    "B": ("A", "C"),
    "C": ("A", "B"),
    "D": ("E", "G", "M"),
    "E": ("D", "G", "N"),
    "F": ("G", "D", "H"),
    "G": ("D", "E", "F"),
    "H": ("L", "J"),
    "J": ("H", "L", "K"),
    "K": ("J", "L"),
    "L": ("H", "J", "R"),
    "M": ("P", "N", "D"),
    "N": ("P", "M"),
    "P": ("M", "N"),
    "R": ("L", "S"),
    "S": ("C", "L", "R"),
}

#: Tables of justice agencies, where some people have no fixed abode.
JUSTICE_TABLES = ("police_custody", "court_appearance", "prison_custody", "probation_supervision", "liaison_diversion")
#: Systems that write family names in capitals.
UPPER_CASE_FAMILY_NAMES = ("prison_custody",)

_LOWER = "abcdefghijklmnopqrstuvwxyz"


def typo(name: str, kind: float, where: float, letter: float) -> str:
    """One keying error: insert, delete, substitute or transpose, at a random position."""
    if len(name) < 2:
        return name
    i = int(where * len(name))
    new = _LOWER[int(letter * 26)]
    if name[i].isupper():
        new = new.upper()
    if kind < 0.25:
        out = name[:i] + new + name[i:]
    elif kind < 0.5:
        out = name[:i] + name[i + 1:]
    elif kind < 0.75:
        out = name[:i] + new + name[i + 1:]
    else:
        i = min(i, len(name) - 2)
        out = name[:i] + name[i + 1] + name[i] + name[i + 2:]
    # Keep the capital at the start, as most systems would.
    return out[:1].upper() + out[1:] if out[:1].isalpha() and name[:1].isupper() else out


def _shares(table: str, field: str) -> float:
    return recording_shares().get((table, field), 0.0)


def _pick(rng: np.random.Generator, options: list[tuple[str, ...]]) -> list[str]:
    r = rng.random(len(options))
    return [opts[int(x * len(opts))] for opts, x in zip(options, r)]


def _names(table: str, records: TableRecords, people: People, noise: NoiseRates, rng: np.random.Generator):
    n = len(records)
    given = people.given_name[records.person].copy()
    family = people.family_name[records.person].copy()
    variants = name_variants()
    for column, part in ((given, "given"), (family, "family")):
        lookup = variants[part]
        chosen = np.flatnonzero(rng.random(n) < noise[f"{part}_name.variant"])
        has = [i for i in chosen.tolist() if column[i] in lookup]
        if has:
            column[has] = _pick(rng, [lookup[column[i]] for i in has])
        chosen = np.flatnonzero(rng.random(n) < noise[f"{part}_name.typo"])
        if len(chosen):
            r = rng.random((len(chosen), 3))
            column[chosen] = [typo(column[i], *row) for i, row in zip(chosen.tolist(), r.tolist())]
    swapped = np.flatnonzero(rng.random(n) < noise["names.swapped"])
    given[swapped], family[swapped] = family[swapped], given[swapped].copy()
    if table in UPPER_CASE_FAMILY_NAMES:
        family = np.array([s.upper() for s in family.tolist()], dtype=object)
    return given, family


def _dates_of_birth(records: TableRecords, people: People, noise: NoiseRates, rng: np.random.Generator) -> np.ndarray:
    n = len(records)
    dob = people.date_of_birth[records.person].copy()
    year = dob.astype("datetime64[Y]")
    month = dob.astype("datetime64[M]")
    day_index = (dob - month.astype("datetime64[D]")).astype(np.int64)  # 0-based day of month
    month_index = (month - year.astype("datetime64[M]")).astype(np.int64)  # 0-based month
    transposable = (day_index < 12) & (day_index != month_index)
    swap = transposable & (rng.random(n) < noise["date_of_birth.day_month_transposed"])
    swapped = (year.astype("datetime64[M]") + day_index.astype("timedelta64[M]")).astype("datetime64[D]") + days(month_index)
    dob = np.where(swap, swapped, dob)
    other = ~swap & (rng.random(n) < noise["date_of_birth.other_error"])
    kind = rng.integers(0, 3, size=n)
    shifted_year = (year + np.where(rng.random(n) < 0.5, -1, 1).astype("timedelta64[Y]")).astype("datetime64[M]")
    year_off = (shifted_year + month_index.astype("timedelta64[M]")).astype("datetime64[D]") + days(np.minimum(day_index, 27))
    decade_off = ((year - 10).astype("datetime64[M]") + month_index.astype("timedelta64[M]")).astype("datetime64[D]") + days(np.minimum(day_index, 27))
    day_off = dob + days(np.where(rng.random(n) < 0.5, -1, 1))
    wrong = np.select([kind == 0, kind == 1], [day_off, year_off], default=decade_off)
    # An error may not put the birth after the record itself.
    wrong = np.where(wrong < records.when, wrong, dob)
    dob = np.where(other, wrong, dob)
    missing = rng.random(n) < noise["date_of_birth.missing"]
    return np.where(missing, NAT, dob)


def _postcodes(table: str, records: TableRecords, people: People, noise: NoiseRates, rng: np.random.Generator) -> np.ndarray:
    n = len(records)
    current, previous = people.addresses.index_at(records.person, records.when)
    stale = rng.random(n) < noise["postcode.stale"]
    postcode = people.addresses.postcode[np.where(stale, previous, current)].copy()
    wrong = np.flatnonzero(rng.random(n) < noise["postcode.typo"])
    if len(wrong):
        r = rng.random((len(wrong), 2))
        fixed = []
        for code, (a, b) in zip(postcode[wrong].tolist(), r.tolist()):
            outward, inward = code.split(" ")
            if a < 0.5:
                inward = str(1 + int(b * 9)) + inward[1:]
            else:
                inward = inward[:2] + str(INWARD_LETTERS[int(b * len(INWARD_LETTERS))])
            fixed.append(f"{outward} {inward}")
        postcode[wrong] = fixed
    missing = rng.random(n) >= _shares(table, "postcode")
    if table in JUSTICE_TABLES:
        missing |= rng.random(n) < figures().value("person.no_fixed_abode")
    postcode[missing] = None
    return postcode


def _ethnicity(table: str, records: TableRecords, people: People, noise: NoiseRates, rng: np.random.Generator) -> np.ndarray:
    n = len(records)
    code = people.nhs_ethnicity[records.person].copy()
    u = rng.random(n)
    related = u < noise["ethnicity.related_code"]
    not_stated = ~related & (u < noise["ethnicity.related_code"] + noise["ethnicity.not_stated"])
    not_known = ~related & ~not_stated & (
        u < noise["ethnicity.related_code"] + noise["ethnicity.not_stated"] + noise["ethnicity.not_known"]
    )
    idx = np.flatnonzero(related)
    if len(idx):
        code[idx] = _pick(rng, [RELATED_ETHNIC_CODES[c] for c in code[idx].tolist()])
    code[not_stated] = "Z"
    code[not_known] = "99"
    code[rng.random(n) >= _shares(table, "ethnicity_code")] = None
    return code


def _yes_no_unknown(truth: np.ndarray, recorded_share: float, unknown_share: float, rng: np.random.Generator) -> np.ndarray:
    n = len(truth)
    out = np.where(truth, "Y", "N").astype(object)
    out[rng.random(n) < unknown_share] = "U"
    out[rng.random(n) >= recorded_share] = None
    return out


def record_identifiers(records: TableRecords, people: People, noise: NoiseRates, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The identity and demographic fields of one table's records, as that agency recorded them."""
    table = records.table
    fields = schema(table).field_names
    n = len(records)
    person = records.person
    given, family = _names(table, records, people, noise, rng)
    sex = people.sex[person].astype(str).astype(object)
    sex_missing = np.flatnonzero(rng.random(n) < noise["sex.missing"])
    sex[sex_missing] = np.where(rng.random(len(sex_missing)) < 0.5, "X", None)
    out: dict[str, np.ndarray] = {
        "given_name": given,
        "family_name": family,
        "date_of_birth": _dates_of_birth(records, people, noise, rng),
        "sex": sex,
        "postcode": _postcodes(table, records, people, noise, rng),
    }
    nhs = people.nhs_number[person].copy()
    nhs_kept = (rng.random(n) < _shares(table, "nhs_number")) & (rng.random(n) >= noise["nhs_number.dropped"])
    nhs[~nhs_kept | (nhs == "")] = None
    out["nhs_number"] = nhs
    if "pnc_id" in fields:
        pnc = people.pnc_id[person].copy()
        created = people.pnc_created[person]
        has = ~np.isnat(created) & (created <= records.when)
        kept = (rng.random(n) < _shares(table, "pnc_id")) & (rng.random(n) >= noise["pnc_id.dropped"])
        pnc[~(has & kept)] = None
        out["pnc_id"] = pnc
    out["ethnicity_code"] = _ethnicity(table, records, people, noise, rng)
    religion = people.religion[person].copy()
    religion[rng.random(n) >= _shares(table, "religion")] = None
    out["religion"] = religion
    language = people.first_language[person].copy()
    language[rng.random(n) >= _shares(table, "first_language")] = None
    out["first_language"] = language
    truth = {
        "interpreter_needed": people.interpreter_needed[person],
        "disability": people.disability[person],
        "learning_disability": people.need("learning_disability")[person],
        "gp_registered": people.gp_registered[person],
    }
    not_known = figures().group("recording.not_known")
    for field, values in truth.items():
        out[field] = _yes_no_unknown(values, _shares(table, field), not_known[field], rng)
    return {k: v for k, v in out.items() if k in fields}
