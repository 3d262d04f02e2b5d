"""Needs as agencies find them: rows of the ``need`` table, each pointing at the record where it was found.

A person's true needs are known (``people.py``); agencies find some of them, at the points where
someone asks: the liaison & diversion screen and assessment, the prison reception health screen,
the probation assessment at the start of supervision, a disclosure to custody healthcare, and the
diagnosis recorded by mental health services. Each such record finds each true need with the
calibrated sensitivity of its method, so needs data under-count as real needs data do, and
finding differs by agency. Dual diagnosis is recorded where one record finds both a mental health
need and substance or alcohol misuse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from triangulate.synth.calibration import figures
from triangulate.synth.journeys import uniform_days
from triangulate.synth.people import MENTAL_HEALTH_NEEDS, NEED_INDEX, NEEDS, SUBSTANCE_NEEDS, People


@dataclass(frozen=True)
class IdentifiedTable:
    """What needs.py must know of a written agency table."""

    table: str
    person: np.ndarray
    source_system: np.ndarray
    source_record_id: np.ndarray
    columns: dict[str, np.ndarray]


def _sensitivity(method: str) -> np.ndarray:
    f = figures()
    sens = np.full(len(NEEDS), f.value(f"needid.sensitivity.{method}"))
    if method == "diagnosis":
        for code in SUBSTANCE_NEEDS:
            sens[NEED_INDEX[code]] = f.value("needid.sensitivity.diagnosis_substance")
    sens[NEED_INDEX["dual_diagnosis"]] = 0.0  # derived below from what the record found
    return sens


def need_rows(tables: dict[str, IdentifiedTable], people: People, rng: np.random.Generator) -> dict[str, np.ndarray]:
    f = figures()
    end = f.date("period.end")
    lag = int(f.value("needid.days_after_record_max"))
    events: list[tuple[str, np.ndarray, np.ndarray, str, np.ndarray]] = []

    ld = tables["liaison_diversion"]
    for column, method in (("screening_date", "screen"), ("assessment_date", "assessment")):
        rows = np.flatnonzero(~np.isnat(ld.columns[column]))
        events.append(("liaison_diversion", rows, ld.columns[column][rows], method, _sensitivity(method)))
    prison = tables["prison_custody"]
    rows = np.arange(len(prison.person))
    events.append(("prison_custody", rows, prison.columns["reception_date"], "screen", _sensitivity("screen")))
    probation = tables["probation_supervision"]
    rows = np.arange(len(probation.person))
    start = probation.columns["supervision_start_date"]
    events.append((
        "probation_supervision", rows, np.minimum(start + uniform_days(rng, 0, lag, len(rows)), end),
        "assessment", _sensitivity("probation_assessment"),
    ))
    police = tables["police_custody"]
    rows = np.flatnonzero(police.columns["healthcare_seen"] == "Y")
    events.append(("police_custody", rows, police.columns["arrival_date"][rows], "self_report", _sensitivity("self_report")))
    mh = tables["mental_health"]
    rows = np.flatnonzero(np.isin(mh.columns["record_type"], ["referral", "admission", "mha_detention"]))
    when = mh.columns["event_date"][rows]
    events.append(("mental_health", rows, np.minimum(when + uniform_days(rng, 0, lag, len(rows)), end), "diagnosis", _sensitivity("diagnosis")))

    mh_cols = [NEED_INDEX[c] for c in MENTAL_HEALTH_NEEDS]
    sub_cols = [NEED_INDEX[c] for c in SUBSTANCE_NEEDS]
    dual = NEED_INDEX["dual_diagnosis"]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("source_table", "source_system", "source_record_id", "need_code", "identified_by", "identified_date")}
    codes = np.asarray(NEEDS, dtype=object)
    for table, rows, when, method, sens in events:
        t = tables[table]
        found = people.needs[t.person[rows]] & (rng.random((len(rows), len(NEEDS))) < sens)
        found[:, dual] = found[:, mh_cols].any(axis=1) & found[:, sub_cols].any(axis=1)
        r, c = np.nonzero(found)
        record = rows[r]
        parts["source_table"].append(np.full(len(r), table, dtype=object))
        parts["source_system"].append(t.source_system[record])
        parts["source_record_id"].append(t.source_record_id[record])
        parts["need_code"].append(codes[c])
        parts["identified_by"].append(np.full(len(r), method, dtype=object))
        parts["identified_date"].append(when[r].astype("datetime64[D]"))
    out = {k: np.concatenate(v) for k, v in parts.items()}
    # Rows in date order, as a need register would list them.
    order = np.lexsort((rng.random(len(out["need_code"])), out["identified_date"]))
    return {k: v[order] for k, v in out.items()}

