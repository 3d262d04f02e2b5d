"""Linking a store: person keys written, model and run recorded, accuracy, bad input, interruption."""

from __future__ import annotations

import json
import os
import re
import stat
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from triangulate.cli import app
from triangulate.ingest import ingest
from triangulate.link import LinkError, evaluate, link
from triangulate.link.evaluate import REVIEW_BANDS
from triangulate.link.run import THRESHOLD_BOUNDS, choose_threshold
from triangulate.standard import AGENCY_TABLES

from .conftest import TEST_KEY, U_PAIRS, person_keys


def test_every_content_record_gets_a_pseudonymous_person_key(linked_store):
    keys = person_keys(linked_store)
    assert keys and all(k is not None for k in keys.values())
    assert all(len(k) == 16 and int(k, 16) >= 0 for k in set(keys.values()))
    # fewer people than records: records were joined into people
    assert len(set(keys.values())) < len(keys) / 3


def test_identifying_values_never_reach_the_content_zone(linked_store):
    con = duckdb.connect(str(linked_store), read_only=True)
    try:
        names = {r[0] for r in con.execute(
            "SELECT DISTINCT family_name FROM identity.mental_health WHERE length(family_name) > 5 LIMIT 200"
        ).fetchall()}
        content_text = set()
        for t in AGENCY_TABLES:
            for row in con.execute(f"SELECT * FROM content.{t}").fetchall():
                content_text.update(str(v) for v in row if isinstance(v, str))
        assert names and not names & content_text
        model = con.execute("SELECT settings_json FROM meta.link_model").fetchall()[0][0]
        assert not [n for n in names if n.lower() in model.lower()]
        levels = [lvl for c in json.loads(model)["comparisons"] for lvl in c["comparison_levels"]]
        assert any(lvl.get("tf_adjustment_column") for lvl in levels)  # names are TF-adjusted...
        # ...but no term-frequency table (a list of names with counts) is embedded in the model
        assert not [k for lvl in levels for k, v in lvl.items() if k.startswith("tf_") and isinstance(v, (dict, list))]
    finally:
        con.close()


def test_the_model_and_the_run_are_recorded(linked_store):
    con = duckdb.connect(str(linked_store), read_only=True)
    try:
        run = con.execute("SELECT threshold, records, comparisons_scored, people, blocking_counts_json, "
                          "seconds_json FROM meta.link_runs").fetchall()
        model = json.loads(con.execute("SELECT settings_json FROM meta.link_model").fetchall()[0][0])
    finally:
        con.close()
    assert len(run) == 1
    threshold, records, scored, people, blocking, seconds = run[0]
    assert THRESHOLD_BOUNDS[0] <= threshold <= THRESHOLD_BOUNDS[1] and records == len(person_keys(linked_store))
    counts = json.loads(blocking)
    assert [c["cumulative"] for c in counts] == sorted(c["cumulative"] for c in counts)
    assert counts[-1]["cumulative"] == scored == sum(c["marginal"] for c in counts)
    assert set(json.loads(seconds)) >= {"train", "score", "write"}
    levels = [lvl for c in model["comparisons"] for lvl in c["comparison_levels"]]
    assert any("m_probability" in lvl and "u_probability" in lvl for lvl in levels)


def test_the_threshold_is_where_the_f_beta_the_model_expects_is_highest():
    """Worked by hand: linking the k most probable pairs finds TP(k) = the sum of their probabilities
    of the T = sum of all, so expected F-beta(k) = (1 + b^2) TP(k) / (k + b^2 T)."""
    # beta = 1 (F1). T = 3.5997: k = 3 gives 5.9994 / 6.5997 = 0.909, k = 4 gives 7.1994 / 7.5997 = 0.947
    assert choose_threshold([0.6, 0.9999, 0.9999, 0.9999], beta=1) == 0.6
    # T = 3.24: k = 3 gives 4.98 / 6.24 = 0.7981, k = 4 gives 5.78 / 7.24 = 0.7983, so 0.4; raised to even odds
    assert choose_threshold([0.35, 0.4, 0.6, 0.9, 0.99], beta=1) == 0.5
    # beta = 0.5 weighs precision more: k = 3 gives 1.25 * 2.9997 / (3 + 0.25 * 3.5997) = 0.961,
    # k = 4 gives 1.25 * 3.5997 / (4 + 0.9) = 0.918, so the 0.6 pair is left unlinked (0.9999, capped)
    assert choose_threshold([0.6, 0.9999, 0.9999, 0.9999], beta=0.5) == THRESHOLD_BOUNDS[1]
    # the default is F1 (beta = 1): the clustering, not the threshold, keeps namesakes apart
    assert choose_threshold([0.6, 0.9999, 0.9999, 0.9999]) == 0.6
    # every pair nearly certain: link them all, but never above the upper bound
    assert choose_threshold([0.99999] * 5) == THRESHOLD_BOUNDS[1]
    assert choose_threshold([]) == THRESHOLD_BOUNDS[1]


def test_training_on_a_sample_of_records_keeps_the_accuracy(store_copy, population, monkeypatch):
    """Above ``EM_SAMPLE_RECORDS`` expectation maximisation trains on a random sample of the records (the
    million-record benchmark's largest cost otherwise); here the sample is a third of the records."""
    from triangulate.link import run

    records = len(person_keys(store_copy))
    monkeypatch.setattr(run, "EM_SAMPLE_RECORDS", records // 3)
    link(store_copy, u_sample_pairs=U_PAIRS)
    con = duckdb.connect(str(store_copy), read_only=True)
    try:
        history = con.execute("SELECT count(*) FROM meta.person_key_history").fetchall()[0][0]
    finally:
        con.close()
    assert history > 0  # the run's key history written (through Arrow) beside the keys
    result = evaluate(store_copy, population.truth_file)
    assert result["f1"] >= 0.99 and result["precision"] >= 0.995
    assert result["people_split"] <= 0.01


def test_accuracy_on_the_synthetic_population_meets_the_targets(linked_store, population, tmp_path):
    result = evaluate(linked_store, population.truth_file, tmp_path / "report")
    assert result["f1"] >= 0.99
    assert result["people_split"] <= 0.01
    assert result["records_evaluated"] == len(person_keys(linked_store))
    assert 0 < result["precision"] <= 1 and 0 < result["recall"] <= 1


def test_charts_page_works_offline_and_review_sample_is_kept_apart(linked_store, population, tmp_path):
    before = os.umask(0o022)  # the usual umask: files would be 644 and folders 755 without care
    try:
        result = evaluate(linked_store, population.truth_file, tmp_path / "report")
    finally:
        os.umask(before)
    # Charts (the waterfall shows real records) and the review sample (names, dates of birth, NHS
    # numbers) are owner-only, in owner-only folders.
    for path in (Path(result["charts"]), Path(result["clerical_review"]), tmp_path / "report" / "link-quality.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    for folder in (tmp_path / "report", Path(result["clerical_review"]).parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder.name
    html = Path(result["charts"]).read_text(encoding="utf-8")
    assert "vegaEmbed('#chart2'" in html
    assert re.search(r"<script[^>]*\bsrc\s*=", html, re.IGNORECASE) is None
    assert "vega-embed" in html or "vegaEmbed=" in html.replace(" ", "")
    review = Path(result["clerical_review"])
    assert review.parent.name == "authorised-reviewers-only"
    lines = review.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    assert {"given_name_l", "given_name_r", "dob_l", "reviewer_decision"} <= set(header)
    probabilities = [float(line.split(",")[1]) for line in lines[1:]]
    assert probabilities and all(REVIEW_BANDS[0][0] <= p < REVIEW_BANDS[-1][1] for p in probabilities)


def test_a_worse_clustering_scores_worse(store_copy, population):
    """The measures respond to the keys: give every record its own key and recall collapses."""
    con = duckdb.connect(str(store_copy))
    for t in AGENCY_TABLES:
        con.execute(f"UPDATE content.{t} SET person_key = record_key")
    con.close()
    result = evaluate(store_copy, population.truth_file)
    assert result["recall"] == 0 and result["people_split"] > 0.5


def test_an_empty_store_is_refused_plainly(tmp_path):
    store = tmp_path / "empty.duckdb"
    duckdb.connect(str(store)).close()
    with pytest.raises(LinkError, match="no agency records"):
        link(store)


def test_a_store_with_one_agency_is_refused_and_the_command_exits_2(population, tmp_path):
    store = tmp_path / "one.duckdb"
    ingest([population.files["police_custody"]], store, TEST_KEY)
    with pytest.raises(LinkError, match="one agency table only \\(police_custody\\)"):
        link(store)
    result = CliRunner().invoke(app, ["link", "--store", str(store)])
    assert result.exit_code == 2
    assert "one agency" in result.output


class Interrupt(Exception):
    pass


def test_a_link_failing_part_way_through_the_write_leaves_previous_keys(store_copy):
    before = person_keys(store_copy)

    def stop_after_first_table(description, done, total):
        if description.startswith("Link: write") and done >= 2:
            raise Interrupt()

    with pytest.raises(Interrupt):
        link(store_copy, u_sample_pairs=U_PAIRS, progress=stop_after_first_table)
    assert person_keys(store_copy) == before
    con = duckdb.connect(str(store_copy), read_only=True)
    assert con.execute("SELECT count(*) FROM meta.link_runs").fetchall()[0][0] == 1
    con.close()


def test_a_link_killed_before_commit_leaves_previous_keys(store_copy):
    before = person_keys(store_copy)
    script = textwrap.dedent(f"""
        import os, signal
        from triangulate.link import link
        def kill_before_commit(description, done, total):
            if description == "Link: commit":
                os.kill(os.getpid(), signal.SIGKILL)
        link({str(store_copy)!r}, u_sample_pairs={U_PAIRS}, progress=kill_before_commit)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert person_keys(store_copy) == before


class _Pairs:
    """Scored pairs as Splink hands them over (a frame that gives a DuckDB relation)."""

    def __init__(self, relation):
        self.relation = relation

    def as_duckdbpyrelation(self):
        return self.relation


def test_the_review_sample_neutralises_values_a_spreadsheet_would_run(tmp_path):
    from triangulate.link.evaluate import write_review_sample

    con = duckdb.connect()
    relation = con.sql("""SELECT 0.5 AS match_probability, 1.0 AS match_weight, '=HYPERLINK("http://x")' AS given_name_l,
        'Ann' AS given_name_r, '@SUM(A1)' AS family_name_l, '+1+1' AS family_name_r""")
    path = write_review_sample(_Pairs(relation), tmp_path / "review")
    import csv

    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [(r["given_name_l"], r["given_name_r"], r["family_name_l"], r["family_name_r"]) for r in rows] == [
        ("'=HYPERLINK(\"http://x\")", "Ann", "'@SUM(A1)", "'+1+1")]
    assert rows[0]["match_probability"] == "0.5"


def test_blocking_recall_counts_the_true_pairs_the_rules_compare(linked_store, population):
    """Blocking recall against the same count worked in Python from the prepared identifiers and the
    truth: the share of true pairs the date-of-birth-and-postcode rule compares, and all the rules."""
    import csv
    from itertools import combinations

    from triangulate.link.evaluate import blocking_recall, quality
    from splink import block_on

    from triangulate.link.run import identity_tables, prepared_input

    con = duckdb.connect(str(linked_store), read_only=True)
    try:
        whole = blocking_recall(con, population.truth_file)
        dob_postcode = blocking_recall(con, population.truth_file, rules=[block_on("dob", "postcode")])
        nothing = blocking_recall(con, population.truth_file, rules=["false"])
        true_pairs = quality(con, population.truth_file)["true_pairs"]
        records = prepared_input(con, [t for t, n in identity_tables(con).items() if n]).to_pylist()
    finally:
        con.close()
    with open(population.truth_file, encoding="utf-8", newline="") as fh:
        person = {(r["source_table"], r["source_system"], r["source_record_id"]): r["person_id"]
                  for r in csv.DictReader(fh)}
    people: dict[str, list[dict]] = {}
    for r in records:
        people.setdefault(person[(r["source_table"], r["source_system"], r["source_record_id"])], []).append(r)
    pairs = [(a, b) for rs in people.values() for a, b in combinations(rs, 2)]
    same = sum(1 for a, b in pairs if a["dob"] is not None and a["dob"] == b["dob"]
               and a["postcode"] is not None and a["postcode"] == b["postcode"])
    assert whole["true_pairs"] == dob_postcode["true_pairs"] == len(pairs) == true_pairs
    assert dob_postcode["blocked_true_pairs"] == same
    assert nothing["blocking_recall"] == 0.0
    assert 0.99 <= whole["blocking_recall"] <= 1.0
    assert sum(r["only_this_rule"] for r in whole["rules"]) <= whole["blocked_true_pairs"]
    assert max(r["true_pairs_compared"] for r in whole["rules"]) <= whole["blocked_true_pairs"]
