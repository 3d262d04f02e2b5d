"""Link quality against a ground truth, and the diagnostics a reviewer needs.

Pairwise precision and recall are computed in SQL from pair counts (a cluster of n records holds
n(n-1)/2 pairs), never by listing pairs, so evaluation scales with records, not pairs. The charts
page inlines the Vega libraries Splink ships, so it opens offline. The clerical-review file holds
identifiers: it goes in a folder named for the people allowed to open it.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import duckdb

from triangulate.spreadsheet import neutralise
from triangulate.store import connect
from triangulate.store.private import open_private, private_folder, write_private_text

from .run import KEEP_PAIRS_FROM, LinkError, identity_tables, latest_model, prepared_input, splink_linker

#: Folder (under the report folder) for files holding identifiers.
REVIEW_FOLDER = "authorised-reviewers-only"
#: Bands of match probability sampled for clerical review, and pairs drawn per band.
REVIEW_BANDS = ((0.3, 0.5), (0.5, 0.8), (0.8, 0.95), (0.95, 0.999))
REVIEW_PAIRS_PER_BAND = 50
REVIEW_SEED = 3
WATERFALL_PAIRS = 10


def quality(con: duckdb.DuckDBPyConnection, truth_file: str | Path) -> dict:
    """Pairwise and cluster measures of the stored person keys against a ground-truth CSV."""
    tables = [t for t, n in identity_tables(con).items() if n]
    if not tables:
        raise LinkError("the store holds no agency records to evaluate")
    union = " UNION ALL ".join(
        f"SELECT '{t}' AS source_table, i.source_system, i.source_record_id, c.person_key "
        f"FROM identity.{t} i JOIN content.{t} c USING (record_key)" for t in tables)
    con.execute(f"CREATE OR REPLACE TEMP TABLE eval_records AS {union}")
    if con.execute("SELECT count(*) FROM eval_records WHERE person_key IS NULL").fetchall()[0][0]:
        raise LinkError("some records have no person key: run `triangulate link` before evaluating")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE eval_joined AS SELECT r.person_key, t.person_id FROM eval_records r "
        "JOIN read_csv(?, all_varchar = true) t USING (source_table, source_system, source_record_id)",
        [str(truth_file)])
    row = con.execute("""
        WITH k AS (SELECT count(*) n FROM eval_joined GROUP BY person_key),
             p AS (SELECT count(*) n FROM eval_joined GROUP BY person_id),
             kp AS (SELECT count(*) n FROM eval_joined GROUP BY person_key, person_id),
             people AS (SELECT person_id, count(DISTINCT person_key) k FROM eval_joined GROUP BY person_id),
             clusters AS (SELECT person_key, count(DISTINCT person_id) p FROM eval_joined GROUP BY person_key)
        SELECT (SELECT count(*) FROM eval_joined),
               (SELECT sum(n * (n - 1) / 2) FROM k), (SELECT sum(n * (n - 1) / 2) FROM p),
               (SELECT sum(n * (n - 1) / 2) FROM kp),
               (SELECT count(*) FROM people), (SELECT count(*) FILTER (WHERE k = 1) FROM people),
               (SELECT count(*) FROM clusters), (SELECT count(*) FILTER (WHERE p > 1) FROM clusters)
    """).fetchall()[0]
    records, predicted, true, both, people, whole, clusters, mixed = (int(v or 0) for v in row)
    precision = both / predicted if predicted else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records_evaluated": records, "true_people": people, "clusters": clusters,
        "predicted_pairs": predicted, "true_pairs": true, "correct_pairs": both,
        "precision": precision, "recall": recall, "f1": f1,
        "people_in_one_cluster": whole / people if people else 1.0,
        "people_split": (people - whole) / people if people else 0.0,
        "clusters_mixing_people": mixed, "clusters_mixing_share": mixed / clusters if clusters else 0.0,
    }


def rule_sql(rule) -> str:
    """A prediction blocking rule as the SQL condition on ``l`` and ``r`` that Splink compares pairs by."""
    return rule if isinstance(rule, str) else rule.get_blocking_rule("duckdb").blocking_rule_sql


def blocking_recall(con: duckdb.DuckDBPyConnection, truth_file: str | Path, rules=None, records=None) -> dict:
    """How many of the true pairs (two records of one true person) any prediction blocking rule compares:
    a true pair no rule compares can never be linked, whatever the model scores. Also each rule's own
    share, and the true pairs only that rule compares. Worked from the prepared linkage input (the
    cleaned identifiers the rules read) and the ground truth, in SQL, one row per true pair. ``records``:
    the linkage input to read instead (encodings, for the rules on encodings)."""
    from .model import PREDICTION_BLOCKING_RULES

    rules = PREDICTION_BLOCKING_RULES if rules is None else rules
    tables = [t for t, n in identity_tables(con).items() if n]
    con.register("blocking_input", prepared_input(con, tables) if records is None else records)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE blocking_truth AS SELECT b.*, t.person_id FROM blocking_input b "
            "JOIN read_csv(?, all_varchar = true) t USING (source_table, source_system, source_record_id)",
            [str(truth_file)])
    finally:
        con.unregister("blocking_input")
    conditions = [f"coalesce(({rule_sql(r)}), false)" for r in rules]
    flags = ", ".join(f"{c} AS rule_{k}" for k, c in enumerate(conditions))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE blocking_pairs AS SELECT {flags}
        FROM blocking_truth AS l JOIN blocking_truth AS r ON l.person_id = r.person_id AND l.unique_id < r.unique_id""")
    any_rule = " OR ".join(f"rule_{k}" for k in range(len(rules)))
    counts = ", ".join(f"count(*) FILTER (WHERE rule_{k})" for k in range(len(rules)))
    only = ", ".join(
        f"count(*) FILTER (WHERE rule_{k} AND NOT ({' OR '.join(f'rule_{j}' for j in range(len(rules)) if j != k) or 'false'}))"
        for k in range(len(rules)))
    row = con.execute(f"SELECT count(*), count(*) FILTER (WHERE {any_rule}), {counts}, {only} FROM blocking_pairs"
                      ).fetchall()[0]
    con.execute("DROP TABLE blocking_pairs")
    con.execute("DROP TABLE blocking_truth")
    true, blocked = int(row[0]), int(row[1])
    by_rule = [int(v) for v in row[2:2 + len(rules)]]
    alone = [int(v) for v in row[2 + len(rules):]]
    return {
        "true_pairs": true, "blocked_true_pairs": blocked, "blocking_recall": blocked / true if true else 1.0,
        "rules": [{"rule": rule_sql(r), "true_pairs_compared": n, "only_this_rule": a,
                   "recall": n / true if true else 1.0} for r, n, a in zip(rules, by_rule, alone)],
    }


def evaluate(store: str | Path, truth_file: str | Path, out_dir: str | Path | None = None) -> dict:
    """Measures of the latest link against ``truth_file``; with ``out_dir``, also the charts page
    (``link-charts.html``), the measures as JSON, and the clerical-review sample under
    ``authorised-reviewers-only/``. Returns the measures (and the paths written)."""
    if not Path(truth_file).is_file():
        raise LinkError(f"no ground-truth file at {truth_file}")
    if not Path(store).is_file():
        raise LinkError(f"no store at {store}: ingest extracts first")
    con = connect(store, read_only=True)
    try:
        run_id, settings = latest_model(con)
        result = {"run_id": run_id, **quality(con, truth_file)}
        records, rules = _linked_input(con, settings)
        if records is None:  # linked on encodings made on arrival: only the secret makes them again
            result["blocking_recall"] = None
            result["blocking_recall_note"] = ("the link ran on encodings made on arrival; its blocking keys are "
                                              "not kept, so blocking recall is not measured")
        else:
            blocking = blocking_recall(con, truth_file, rules, records)
            result["blocking_recall"] = blocking["blocking_recall"]
            result["true_pairs_no_rule_compares"] = blocking["true_pairs"] - blocking["blocked_true_pairs"]
            result["blocking_rules"] = blocking["rules"]
        if out_dir is not None:
            if records is None:
                raise LinkError("the charts and review sample of a link on encodings made on arrival need those "
                                "encodings, which are not kept: evaluate without --report-dir")
            out = private_folder(out_dir)
            result.update(_diagnostics(records, settings, out))
            write_private_text(out / "link-quality.json", json.dumps(result, indent=2))
        return result
    finally:
        con.close()


def review_sample(store: str | Path, out_dir: str | Path) -> dict:
    """The charts page and the clerical-review sample of the latest link, without a ground truth (what a
    real project has): the reviewer marks the sample and ``review.import_marks`` reads it back."""
    if not Path(store).is_file():
        raise LinkError(f"no store at {store}: ingest extracts first")
    con = connect(store, read_only=True)
    try:
        _, settings = latest_model(con)
        records, _ = _linked_input(con, settings)
    finally:
        con.close()
    if records is None:
        raise LinkError("the review sample of a link on encodings made on arrival needs those encodings, which "
                        "are not kept")
    return _diagnostics(records, settings, private_folder(out_dir))


def _diagnostics(records, settings: dict, out: Path) -> dict:
    linker = splink_linker(records, settings)
    pairs = linker.inference.predict(threshold_match_probability=KEEP_PAIRS_FROM)
    return {"charts": str(write_charts(linker, pairs, out / "link-charts.html")),
            "clerical_review": str(write_review_sample(pairs, out / REVIEW_FOLDER))}


def _linked_input(con: duckdb.DuckDBPyConnection, settings: dict):
    """(the records the latest link compared, its blocking rules): the plain linkage input, or the
    encodings stored by the agencies when every record came encoded; (None, None) for encodings made on
    arrival (not kept)."""
    from .model import PREDICTION_BLOCKING_RULES, encoded_blocking_rules, on_encodings
    from .run import encoded_records

    counts = {t: n for t, n in identity_tables(con).items() if n}
    if not on_encodings(settings):
        return prepared_input(con, list(counts)), PREDICTION_BLOCKING_RULES
    stored = encoded_records(con, list(counts))
    if stored is None or stored.num_rows < sum(counts.values()):
        return None, None
    return stored.replace_schema_metadata(None), encoded_blocking_rules()


def _vega_scripts() -> str:
    from importlib import resources

    folder = resources.files("splink").joinpath("internals/files/external_js")
    names = sorted(p.name for p in folder.iterdir())
    scripts = []
    for prefix in ("vega@", "vega-lite@", "vega-embed@"):
        name = next(n for n in names if n.startswith(prefix))
        # A literal "</script>" inside the library would end the tag early.
        js = folder.joinpath(name).read_text("utf-8").replace("</script>", "<\\/script>")
        scripts.append(f"<script>{js}</script>")
    return "\n".join(scripts)


def write_charts(linker, pairs, path: Path) -> Path:
    """Match weights, m and u values and a waterfall of sample pairs on one offline HTML page."""
    sample = pairs.as_duckdbpyrelation().order("match_probability").limit(WATERFALL_PAIRS)
    records = [dict(zip(sample.columns, r)) for r in sample.fetchall()]
    charts = [
        ("Match weights of each comparison level", linker.visualisations.match_weights_chart()),
        ("m and u probabilities", linker.visualisations.m_u_parameters_chart()),
        (f"Waterfall of {len(records)} borderline pairs (lowest match probability first)",
         linker.visualisations.waterfall_chart(records, filter_nulls=False)),
    ]
    body = []
    for i, (title, chart) in enumerate(charts):
        spec = json.dumps(chart.chart_dict, default=str).replace("</", "<\\/")
        body.append(f"<h2>{title}</h2><div id='chart{i}'></div>"
                    f"<script>vegaEmbed('#chart{i}', {spec}, {{actions: false}});</script>")
    write_private_text(path,
        "<!doctype html><html><head><meta charset='utf-8'><title>Triangulate link diagnostics</title>"
        f"{_vega_scripts()}</head><body><h1>Link diagnostics</h1>"
        "<p>The waterfall shows identifying values of real records: treat this page like the "
        "identity zone.</p>" + "\n".join(body) + "</body></html>")
    return path


REVIEW_COLUMNS = ("source_table", "source_system", "source_record_id", "given_name", "family_name", "dob", "sex",
                  "postcode", "nhs_number", "pnc_id")


def write_review_sample(pairs, folder: Path) -> Path:
    """A stratified random sample of borderline pairs, with identifiers, for clerical review."""
    private_folder(folder)
    rel = pairs.as_duckdbpyrelation()
    columns = ["match_probability", "match_weight", "unique_id_l", "unique_id_r"] + [
        f"{c}_{s}" for c in REVIEW_COLUMNS for s in "lr"]
    present = [c for c in columns if c in rel.columns]
    rng = random.Random(REVIEW_SEED)
    path = folder / "clerical-review-sample.csv"
    # Names and dates of birth: owner-only, and no cell a spreadsheet would run as a formula. The record
    # keys (pseudonymous) say which pair a mark is for when the marks are read back (review.py).
    header = [{"unique_id_l": "record_key_l", "unique_id_r": "record_key_r"}.get(c, c) for c in present]
    with open_private(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["band", *header, "reviewer_decision"])
        for low, high in REVIEW_BANDS:
            rows = rel.filter(f"match_probability >= {low} AND match_probability < {high}").select(
                ", ".join(present)).order("match_weight").fetchall()
            for r in sorted(rng.sample(rows, min(REVIEW_PAIRS_PER_BAND, len(rows))), key=lambda r: r[0]):
                w.writerow([f"{low}-{high}", *(neutralise(v) if isinstance(v, str) else v for v in r), ""])
    return path
