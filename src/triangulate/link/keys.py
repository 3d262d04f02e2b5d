"""Stable person keys: carrying keys forward from the previous link run by record overlap.

A cluster is a set of record keys; a person key must outlive re-linking, or every measure keyed on
people would churn each time an extract arrives. The rule, applied greedily over (cluster, previous
key) pairs in a fixed order:

1. order the pairs by records shared (most first), then by the size of the previous key (larger
   first), then by the key itself and the cluster id (so ties resolve the same way every run);
2. a cluster takes the first previous key offered to it, unless that key is already taken;
3. each previous key goes to one cluster only: when a person splits, the part sharing most records
   keeps the key and the rest get new keys (recorded as ``split_from`` the old key);
4. when people merge, the cluster keeps the key it shares most records with (the larger, then the
   lower key on ties); the other keys are recorded as ``merged_into`` it;
5. a cluster with no previous key gets a new random key (``created``).

New keys are random (``secrets.token_hex``), never derived from identifiers.
"""

from __future__ import annotations

import secrets

import duckdb

from triangulate.store.engines import scratch_duckdb
import pyarrow as pa


def new_key() -> str:
    return secrets.token_hex(8)


def carry_forward(old: pa.Table, new: pa.Table) -> tuple[pa.Table, list[tuple[str, str, str | None]], int, int]:
    """Person keys for the new clusters.

    ``old``: ``record_key, person_key`` from the previous run; ``new``: ``record_key, cluster_id``.
    Returns (``record_key, person_key`` for every new record, history rows ``(person_key, event,
    related_key)``, keys kept, keys merged).
    """
    con = scratch_duckdb()
    con.register("old_keys", old)
    con.register("new_clusters", new)
    overlap = con.execute("""
        WITH sizes AS (SELECT person_key, count(*) AS key_size FROM old_keys GROUP BY person_key)
        SELECT n.cluster_id, o.person_key, count(*) AS shared, any_value(s.key_size) AS key_size
        FROM new_clusters n JOIN old_keys o USING (record_key) JOIN sizes s USING (person_key)
        GROUP BY n.cluster_id, o.person_key
        ORDER BY shared DESC, key_size DESC, o.person_key, n.cluster_id::VARCHAR
    """).fetchall()
    clusters = [r[0] for r in con.execute(
        "SELECT DISTINCT cluster_id FROM new_clusters ORDER BY cluster_id::VARCHAR").fetchall()]

    key_of: dict = {}
    taken: set[str] = set()
    best_old_of_cluster: dict = {}
    best_cluster_of_key: dict = {}
    for cluster_id, person_key, _shared, _size in overlap:
        best_old_of_cluster.setdefault(cluster_id, person_key)
        best_cluster_of_key.setdefault(person_key, cluster_id)
        if cluster_id in key_of or person_key in taken:
            continue
        key_of[cluster_id] = person_key
        taken.add(person_key)

    history: list[tuple[str, str, str | None]] = []
    kept = len(key_of)
    for cluster_id in clusters:
        if cluster_id in key_of:
            continue
        key_of[cluster_id] = new_key()
        source = best_old_of_cluster.get(cluster_id)
        history.append((key_of[cluster_id], "split_from" if source else "created", source))
    merged = 0
    for person_key, cluster_id in best_cluster_of_key.items():
        if person_key not in taken:
            history.append((person_key, "merged_into", key_of[cluster_id]))
            merged += 1

    mapping = pa.table({"cluster_id": pa.array(list(key_of.keys()), type=new.schema.field("cluster_id").type),
                        "person_key": pa.array(list(key_of.values()), type=pa.string())})
    con.register("mapping", mapping)
    assignment = con.sql(
        "SELECT n.record_key, m.person_key FROM new_clusters n JOIN mapping m USING (cluster_id)"
    ).to_arrow_table()
    con.close()
    return assignment, history, kept, merged
