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


def test_pooled_periods_give_back_no_withheld_year(pooled_publication):
    """A pooled period is the sum of its years, and the whole period the sum of the periods and the years
    left over: a reader with a total and all but one of its parts would have that one, exactly under a
    rule that does not round (ONS's). Tried by hand on every such line of every count, then by the
    audit's propagation along every line at once."""
    _, published = pooled_publication
    assert published.years[1:] == ["2021/22", "2022/23", "2023/24", "2024/25"]
    assert published.pooled == ["2022/23 to 2024/25"]
    lines = [("All years", ["2021/22", "2022/23 to 2024/25"]),
             ("2022/23 to 2024/25", ["2022/23", "2023/24", "2024/25"])]
    attacked = 0
    for name in published.names:
        m = published.measure(name)
        keys = ["area", "breakdown", "group", *m.keys]
        for count in m.counts:
            cells = {}
            for r in published.table(name).to_pylist():
                cells[(r["year"], *(r[k] for k in keys))] = r[count.name]
            for total_name, members in lines:
                for (period, *rest), total in cells.items():
                    if period != total_name or rest[1] != "all":
                        continue  # the periods show all people; a row not there is a zero
                    values = [cells.get((y, *rest), 0) for y in members]
                    if any(v is None for v in values):
                        attacked += 1
                        assert total is None or sum(v is None for v in values) > 1, (name, count.name, period, rest)
    assert attacked > 10  # totals over withheld parts exist, so the check above was tried
    # propagation over every line (the pooled periods' among them); the linear programmes are attacked
    # on the NHS England publications above (at ONS's threshold of 10 this one withholds 30,000 counts)
    result = audit_publication(published.folder, sample=0)
    assert result.passed, result.summary()
    assert result.derived_leaks == 0 and result.inconsistent == 0
