"""The audit attacks publications with only their files, and fails one that leaks."""

from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from triangulate.publish.audit import audit_publication
from triangulate.publish.compute import compute_publication


def test_no_suppressed_count_can_be_narrowed_below_the_protection_width(publication):
    _, published = publication
    result = audit_publication(published.folder, sample=5)
    assert result.suppressed > 100 and result.propagated == result.suppressed and result.checked > 10
    assert result.derived_leaks == 0 and result.inconsistent == 0
    assert result.passed, result.summary()
    assert result.narrowest >= 2


def test_a_percentage_published_beside_a_suppressed_count_is_caught(publication, tmp_path):
    store, published = publication
    truth = compute_publication(store, rule=None).tables["need_prevalence"]
    leaky = tmp_path / published.version
    shutil.copytree(published.folder, leaky)
    entry = published.entry("need_prevalence")
    table = pq.read_table(leaky / entry["file"])
    rows = table.to_pylist()
    true = {(r["area"], r["year"], r["breakdown"], r["group"], r["setting"], r["need_code"]): r
            for r in truth.to_pylist()}
    leaked = 0
    for r in rows:  # the first dashboard's mistake: a percentage from the unrounded counts, to 4 places
        if r["people_with_need"] is None and r["people"] is not None and leaked < 5:
            t = true[(r["area"], r["year"], r["breakdown"], r["group"], r["setting"], r["need_code"])]
            r["prevalence_percent"] = round(100 * t["people_with_need"] / t["people"], 4)
            leaked += 1
    assert leaked
    data = pa.Table.from_pylist(rows, schema=table.schema)
    pq.write_table(data, leaky / entry["file"])
    manifest = json.loads((leaky / "manifest.json").read_text(encoding="utf-8"))
    for m in manifest["measures"]:
        if m["measure"] == "need_prevalence":
            m["sha256"] = hashlib.sha256((leaky / entry["file"]).read_bytes()).hexdigest()
    (leaky / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = audit_publication(leaky, sample=0)
    assert result.derived_leaks >= leaked
    assert not result.passed and result.narrow
    assert any(f.quantity.startswith("people_with_need:") for f in result.narrow)
