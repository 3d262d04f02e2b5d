"""The figures the synthetic population is calibrated to, read from the data files beside this module.

Every number that describes the outside world (a prevalence, a rate ratio, a share of records
with an NHS number, a typo rate) lives in ``data/*.csv`` with its source and year, and this module
only reads those files into small lookups. Code elsewhere in the room asks for figures by name
(``figures.value("need.probation.depression")``) so that a figure can be traced from the
documentation to the file to the line of code that uses it, and so that a reader who disagrees
with a figure changes one cell, not the code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

NOISE_LEVELS: tuple[str, ...] = ("low", "default", "high")


def read_data_file(name: str) -> list[dict[str, str]]:
    """Rows of one CSV data file of this room, as dictionaries of strings."""
    path = resources.files(__package__).joinpath("data").joinpath(name)
    with path.open("r", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def parse_mix(text: str) -> dict[str, float]:
    """``"en:0.8;pl:0.2"`` -> ``{"en": 0.8, "pl": 0.2}`` (the mixes in ethnic_groups.csv and areas.csv)."""
    mix: dict[str, float] = {}
    for part in text.split(";"):
        key, _, weight = part.partition(":")
        mix[key.strip()] = float(weight)
    return mix


@dataclass(frozen=True)
class Figures:
    """The scalar calibration figures of ``calibration.csv`` (``parameter -> value``)."""

    rows: tuple[dict[str, str], ...]

    def text(self, parameter: str) -> str:
        for row in self.rows:
            if row["parameter"] == parameter:
                return row["value"]
        raise KeyError(f"calibration.csv has no parameter {parameter!r}")

    def value(self, parameter: str) -> float:
        return float(self.text(parameter))

    def date(self, parameter: str) -> np.datetime64:
        return np.datetime64(self.text(parameter), "D")

    def group(self, prefix: str) -> dict[str, float]:
        """Every figure whose name starts with ``prefix.``, keyed by the rest of its name."""
        start = prefix + "."
        return {
            row["parameter"][len(start):]: float(row["value"])
            for row in self.rows
            if row["parameter"].startswith(start)
        }


@cache
def figures() -> Figures:
    return Figures(tuple(read_data_file("calibration.csv")))


@dataclass(frozen=True)
class NoiseRates:
    """Identifier error rates of one noise level (``noise.csv``)."""

    level: str
    rates: dict[str, float]

    def __getitem__(self, parameter: str) -> float:
        try:
            return self.rates[parameter]
        except KeyError:
            raise KeyError(f"noise.csv has no parameter {parameter!r}") from None


@cache
def noise_rates(level: str) -> NoiseRates:
    if level not in NOISE_LEVELS:
        raise ValueError(f"noise must be one of {', '.join(NOISE_LEVELS)}; got {level!r}")
    rows = read_data_file("noise.csv")
    return NoiseRates(level, {row["parameter"]: float(row[level]) for row in rows})


@cache
def recording_shares() -> dict[tuple[str, str], float]:
    """``(table, field) -> share of records in which the agency records the field``."""
    return {(r["table"], r["field"]): float(r["share_recorded"]) for r in read_data_file("recording.csv")}


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    area_type: str
    relative_size: float
    police_system: str
    custody_suites: tuple[str, ...]
    mh_provider: str
    ld_service: str
    probation_delivery_unit: str
    magistrates_court: str
    crown_court: str
    youth_court: str
    male_prisons: tuple[str, ...]
    female_prisons: tuple[str, ...]
    postcode_districts: tuple[str, ...]
    ethnic_multipliers: dict[str, float]


@cache
def areas() -> tuple[Area, ...]:
    out = []
    for r in read_data_file("areas.csv"):
        out.append(
            Area(
                code=r["area_code"],
                name=r["area_name"],
                area_type=r["area_type"],
                relative_size=float(r["relative_size"]),
                police_system=r["police_system"],
                custody_suites=tuple(r["custody_suites"].split(";")),
                mh_provider=r["mh_provider"],
                ld_service=r["ld_service"],
                probation_delivery_unit=r["probation_delivery_unit"],
                magistrates_court=r["magistrates_court"],
                crown_court=r["crown_court"],
                youth_court=r["youth_court"],
                male_prisons=tuple(r["male_prisons"].split(";")),
                female_prisons=tuple(r["female_prisons"].split(";")),
                postcode_districts=tuple(r["postcode_districts"].split(";")),
                ethnic_multipliers=parse_mix(r["ethnic_multipliers"]),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class EthnicGroup:
    ons_code: int
    label: str
    england_wales_share: float
    name_groups: dict[str, float]
    religion_mix: dict[str, float]
    first_language_mix: dict[str, float]


@cache
def ethnic_groups() -> tuple[EthnicGroup, ...]:
    """The 19 ONS 2021 groups in code order (1..19)."""
    groups = [
        EthnicGroup(
            ons_code=int(r["ons_ethnic_group"]),
            label=r["label"],
            england_wales_share=float(r["england_wales_share_percent"]) / 100.0,
            name_groups=parse_mix(r["name_groups"]),
            religion_mix=parse_mix(r["religion_mix"]),
            first_language_mix=parse_mix(r["first_language_mix"]),
        )
        for r in read_data_file("ethnic_groups.csv")
    ]
    return tuple(sorted(groups, key=lambda g: g.ons_code))


@cache
def age_structure() -> tuple[dict[str, str], ...]:
    """Rows of ``age_structure.csv`` in the order of the ESP 2013 bands."""
    return tuple(read_data_file("age_structure.csv"))
