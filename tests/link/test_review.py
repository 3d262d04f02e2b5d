"""Clerical review that feeds back: the review sample written without a ground truth, marked by a
reviewer, read back, and honoured by every later link (through the command line, as a steward runs it)."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import duckdb
import pytest

from triangulate.link import LinkError, link
from triangulate.link.evaluate import review_sample
from triangulate.link.review import import_marks

from ..conftest import run_cli
from .conftest import U_PAIRS, person_keys


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_a_reviewers_marks_are_kept_and_every_later_link_honours_them(store_copy, tmp_path):
    written = run_cli("link", "--store", str(store_copy), "--review-sample", str(tmp_path / "review"))
    assert written.returncode == 0, written.stderr
    sample = tmp_path / "review" / "authorised-reviewers-only" / "clerical-review-sample.csv"
    assert stat.S_IMODE(sample.stat().st_mode) == 0o600
    rows = read(sample)
    assert {"record_key_l", "record_key_r", "given_name_l", "dob_r", "reviewer_decision"} <= set(rows[0])
    keys = person_keys(store_copy)
    # The reviewer overrules the link both ways: a pair it joined is marked two people, a pair it left
    # apart is marked one person; every other row is left unmarked.
    joined = next(r for r in rows if keys[r["record_key_l"]] == keys[r["record_key_r"]])
    apart = next(r for r in rows if keys[r["record_key_l"]] != keys[r["record_key_r"]])
    joined["reviewer_decision"], apart["reviewer_decision"] = "non-match", "Match"
    marks = write(tmp_path / "marked.csv", rows)

    kept = run_cli("link", "--store", str(store_copy), "--review-marks", str(marks), "--reviewer", "A. Reviewer")
    assert kept.returncode == 0, kept.stderr
    assert "1 one person (match), 1 two people (non-match)" in kept.stdout
    assert f"{len(rows) - 2} rows unmarked" in kept.stdout

    for _ in range(2):  # the marks are kept: the run after next honours them without reading the file again
        report = link(store_copy, u_sample_pairs=U_PAIRS)
        assert report.marks == {"match": 1, "non_match": 1, "m_from_labels": False}
        assert any("1 pairs one person (joined), 1 two people (kept apart)" in line for line in report.lines())
        keys = person_keys(store_copy)
        assert keys[joined["record_key_l"]] != keys[joined["record_key_r"]]
        assert keys[apart["record_key_l"]] == keys[apart["record_key_r"]]

    con = duckdb.connect(str(store_copy), read_only=True)
    try:
        stored = con.execute("SELECT * FROM meta.link_labels ORDER BY decision").fetchall()
        columns = [d[0] for d in con.description]
    finally:
        con.close()
    # Pseudonymous record keys, the decision, who and when: no name, date or number from the sample.
    assert columns == ["record_key_l", "record_key_r", "decision", "reviewer", "marked_at"]
    assert [(r[2], r[3]) for r in stored] == [("match", "A. Reviewer"), ("non_match", "A. Reviewer")]
    identifying = {v for r in (joined, apart) for k, v in r.items()
                   if k.split("_")[0] in ("given", "family", "dob", "postcode", "nhs") and v}
    assert identifying and not identifying & {str(v) for r in stored for v in r}


def test_marks_from_the_truth_re_estimate_the_model_when_asked(store_copy, population, tmp_path):
    from triangulate.link.evaluate import quality
    from triangulate.store import connect

    truth = {(r["source_table"], r["source_system"], r["source_record_id"]): r["person_id"]
             for r in read(population.truth_file)}
    rows = read(Path(review_sample(store_copy, tmp_path / "review")["clerical_review"]))
    for r in rows:
        same = truth[tuple(r[f"{c}_l"] for c in ("source_table", "source_system", "source_record_id"))] == \
            truth[tuple(r[f"{c}_r"] for c in ("source_table", "source_system", "source_record_id"))]
        r["reviewer_decision"] = "match" if same else "non-match"
    marks = import_marks(store_copy, write(tmp_path / "marked.csv", rows), "tests")
    assert marks.match >= 30 and marks.match + marks.non_match == len(rows)

    def m_values() -> list:
        con = connect(store_copy, read_only=True)
        try:
            from triangulate.link import latest_model

            settings = latest_model(con)[1]
        finally:
            con.close()
        return [level.get("m_probability") for c in settings["comparisons"] for level in c["comparison_levels"]]

    before = m_values()
    report = link(store_copy, u_sample_pairs=U_PAIRS, train_from_marks=True)
    assert report.marks["m_from_labels"] and report.marks["match"] == marks.match
    assert m_values() != before
    con = connect(store_copy, read_only=True)
    try:
        q = quality(con, population.truth_file)
    finally:
        con.close()
    assert q["f1"] >= 0.99


@pytest.fixture(scope="module")
def sample(linked_store, tmp_path_factory) -> list[dict]:
    """The linked store's review sample, every row marked match (read only: each test copies it)."""
    rows = read(Path(review_sample(linked_store, tmp_path_factory.mktemp("review"))["clerical_review"]))
    for r in rows:
        r["reviewer_decision"] = "match"
    return rows


WRONG = [
    (lambda rows: rows[3].update(reviewer_decision="probably-the-same"), "row 5, field reviewer_decision"),
    (lambda rows: rows[1].update(record_key_r="0" * 64), "row 3, field record_key_r: no record with this key"),
    (lambda rows: rows[2].update(record_key_l=""), "row 4, field record_key_l: empty"),
]


@pytest.mark.parametrize("change, message", WRONG)
def test_a_wrong_mark_is_refused_whole_naming_the_row_and_field_never_the_value(store_copy, sample, tmp_path,
                                                                               change, message):
    rows = [dict(r) for r in sample]
    change(rows)
    path = write(tmp_path / "marks.csv", rows)
    with pytest.raises(LinkError) as refused:
        import_marks(store_copy, path, "tests")
    assert "marks.csv" in str(refused.value) and message in str(refused.value)
    assert "probably-the-same" not in str(refused.value)
    con = duckdb.connect(str(store_copy), read_only=True)
    try:  # nothing kept from the file: not even its good rows
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'meta'").fetchall()}
    finally:
        con.close()
    assert "link_labels" not in tables


def test_the_command_line_refuses_a_wrong_mark_on_stderr_without_a_traceback(store_copy, sample, tmp_path):
    rows = [dict(r) for r in sample]
    change, message = WRONG[0]
    change(rows)
    path = write(tmp_path / "marks.csv", rows)
    refused = run_cli("link", "--store", str(store_copy), "--review-marks", str(path), "--reviewer", "tests")
    assert refused.returncode == 2 and message in refused.stderr and "Traceback" not in refused.stderr
    assert "probably-the-same" not in refused.stderr + refused.stdout
    missing = run_cli("link", "--store", str(store_copy), "--review-marks", str(path))
    assert missing.returncode == 2 and "--reviewer is required" in missing.stderr
