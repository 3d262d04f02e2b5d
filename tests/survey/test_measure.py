"""The survey's measure, through the publication: its counts against the same counts worked in plain
Python from the responses themselves, and the synthetic survey's built-in rates recovered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from triangulate.disclosure import NHS_ENGLAND
from triangulate.ingest import ingest
from triangulate.measures.survey import INDICATOR_LABELS, INDICATORS
from triangulate.publish.publication import write_publication
from triangulate.stats import proportion
from triangulate.store.subset import restrict
from triangulate.survey import ingest_responses, load_form
from triangulate.survey.exports import Layout, write_export
from triangulate.survey.qda import cleared_quotes
from triangulate.survey.synthetic import DEMO_CODING, TRUTH, code_synthetic_free_text, synthetic_responses
from triangulate.survey.weights import derived_tables as survey_derived_tables
from triangulate.synth import link_from_truth, write_synthetic_extracts

KEY = b"survey-measure-key-".ljust(48, b"m")
FORM = load_form().without_licensed()
UNKNOWN = "Not stated/unknown"
MULTIPLE = {q.name for q in FORM.questions if q.type == "select_multiple"}


#: One worker builds this module's fixture and runs its tests (make test runs with --dist loadgroup): split
#: across two, each worker built it again.
pytestmark = pytest.mark.xdist_group("survey-measure")

@pytest.fixture(scope="module")
def surveyed(tmp_path_factory):
    """(responses, unsuppressed publication, NHS England publication) of a one-area store with 3,000
    synthetic survey responses in 2024/25."""
    folder = tmp_path_factory.mktemp("survey-measure")
    result = write_synthetic_extracts(folder / "synth", people=300, seed=5)
    store = folder / "store.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], store, key=KEY)
    link_from_truth(store, result.truth_file)
    con = duckdb.connect(str(store), read_only=True)
    area = con.sql("SELECT area_code FROM content.police_custody GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
                   ).fetchall()[0][0]
    con.close()
    restrict(store, areas=[area], start=dt.date(2024, 4, 1), end=dt.date(2025, 3, 31))
    responses = synthetic_responses(3000, seed=12, form=FORM, start=dt.date(2024, 4, 1), days=364)
    path = write_export(Layout("kobo", FORM), responses, folder / "kobo.csv")
    assert ingest_responses(path, store, KEY, area=area, form=FORM, today=dt.date(2026, 1, 1)).loaded == 3000
    code_synthetic_free_text(store, folder)  # themes coded, and one answer with each phrase cleared to quote
    return (responses, write_publication(store, rule=None),
            write_publication(store, rule=NHS_ENGLAND, derived=survey_derived_tables, quotes=cleared_quotes))


ITEMS = {"phq9": 9, "gad7": 7}


def _ethnic_group(r) -> str:
    return UNKNOWN if r["answers"]["ethnic_group"] == "prefer_not" else r["ethnic_group_5"]


def _first_language(r) -> str:
    """English, another language or not known, by the answer's ISO 639 code (the Census's grouping)."""
    code = r["answers"]["first_language"]
    return "Not known" if not code else "English" if code == "en" else "Another language"


def _consenting(responses, group_of=_ethnic_group):
    """(answers, group) of each respondent who agreed to take part: 5-group or not known by default."""
    for r in responses:
        a = r["answers"]
        if a["consent"] == "yes":
            yield a, group_of(r)


def _score(answers: dict, instrument: str) -> int | None:
    """The instrument's score (the sum of its items), None unless every item is answered."""
    values = [answers[f"{instrument}_{k}"] for k in range(1, ITEMS[instrument] + 1)]
    return sum(int(v) for v in values) if all(values) else None


def _expected(responses, group_of=_ethnic_group) -> dict[tuple[str, str, str], list[int]]:
    """(setting, indicator, group or All people) -> [asked, positive], worked from the answers."""
    out: dict[tuple[str, str, str], list[int]] = {}
    for a, group in _consenting(responses, group_of):
        for name, _, item, positive in INDICATORS:
            if positive is None:
                score = _score(a, item)
                if score is None:
                    continue
                hit = score >= 10
            elif a[item] and a[item] != "not_applicable":  # the question does not apply: not in the denominator
                # several answers may be chosen where the form says select_multiple: any of those counted
                hit = bool(set(a[item].split()) & set(positive)) if item in MULTIPLE else a[item] in positive
            else:
                continue
            for g in (group, "All people"):
                cell = out.setdefault((a["setting"], name, g), [0, 0])
                cell[0] += 1
                cell[1] += hit
    return out


def test_the_measure_counts_what_the_answers_say(surveyed) -> None:
    responses, unsuppressed, _ = surveyed
    expected = _expected(responses)
    got = {}
    for row in unsuppressed.table("survey_experience").to_pylist():
        if row["area"] == "All areas" and row["year"] == "All years" and row["breakdown"] in ("all", "ethnic_group_5"):
            if row["asked"]:
                got[(row["setting"], row["indicator"], row["group"])] = [row["asked"], row["positive"]]
    assert got == expected
    assert len(expected) > 17 * 3 * 5  # every indicator in every setting, by group


def test_answers_by_first_language_count_what_the_answers_say(surveyed) -> None:
    responses, unsuppressed, released = surveyed
    expected = {k: v for k, v in _expected(responses, _first_language).items() if k[2] != "Not known"}
    got = {(r["setting"], r["indicator"], r["group"]): [r["asked"], r["positive"]]
           for r in unsuppressed.table("survey_experience").to_pylist()
           if r["area"] == "All areas" and r["year"] == "All years" and r["breakdown"] in ("all", "first_language")
           and r["asked"]}
    assert got == expected  # not known (no answer) is counted in its line but not shown, as unknown sex is
    assert {g for _, _, g in expected} == {"All people", "English", "Another language"}
    # The release shows the breakdown under the same control as every other: each shown count is the
    # true one rounded to the rule's base (5), and small ones are withheld.
    shown = withheld = 0
    for r in released.table("survey_experience").to_pylist():
        key = (r["setting"], r["indicator"], r["group"])
        if (r["area"], r["year"], r["breakdown"]) == ("All areas", "All years", "first_language") and key in expected:
            if r["asked"] is None:
                withheld += 1
            else:
                shown += 1
                assert abs(r["asked"] - expected[key][0]) <= 2 and r["asked"] % 5 == 0
    assert shown > 40 and shown + withheld == len([k for k in expected if k[2] != "All people"])


def test_the_built_in_rates_are_recovered_within_their_limits(surveyed) -> None:
    responses, unsuppressed, _ = surveyed
    for indicator, truth_key in (("told_about_support", "info_given=yes"),
                                 ("staff_understand_culture", "staff_culture=agree or strongly_agree")):
        sums: dict[str, list[int]] = {}
        for row in unsuppressed.table("survey_experience").to_pylist():
            if (row["area"], row["year"], row["breakdown"], row["indicator"]) == (
                    "All areas", "All years", "ethnic_group_5", indicator) and row["asked"]:
                cell = sums.setdefault(row["group"], [0, 0])
                cell[0] += row["asked"]
                cell[1] += row["positive"]
        for group, rate in TRUTH[truth_key].items():
            n, x = sums[group]
            e = proportion(x, n, confidence=0.998)
            assert float(e.lower) <= rate <= float(e.upper), (indicator, group, x, n, rate)


def test_the_release_carries_the_weighted_table_made_from_the_fine_counts(surveyed) -> None:
    """Publishing keeps the survey's fine counts for the raking (``Computed.fine``): every whole-setting
    row of the release has a weighted row, weighted or saying why not, never a group's."""
    _, _, released = surveyed
    weighted = released.derived("survey_weighted").to_pylist()
    shown = {(r["area"], r["year"], r["setting"], r["indicator"]) for r in released.table("survey_experience").to_pylist()
             if r["breakdown"] == "all" and r["asked"]}
    assert {(r["area"], r["year"], r["setting"], r["indicator"]) for r in weighted} == shown
    assert all((r["weighted_percent"] is None) == r["note"].startswith("not weighted") for r in weighted)
    # This one-area year has a handful of people in prison and none on probation: nothing to weight to,
    # and each row says so (the weighting itself is worked in tests/survey/test_weights.py).
    assert {r["note"] for r in weighted if r["setting"] != "secure_hospital"} == {
        "not weighted: the setting's population is withheld or empty"}
    assert {r["note"] for r in weighted if r["setting"] == "secure_hospital"} == {
        "not weighted: no population of this setting in the records"}

def test_small_survey_cells_are_withheld_in_the_release(surveyed) -> None:
    _, unsuppressed, released = surveyed
    raw = {(r["area"], r["year"], r["breakdown"], r["group"], r["setting"], r["indicator"]): r
           for r in unsuppressed.table("survey_experience").to_pylist()}
    withheld = shown_small = 0
    for r in released.table("survey_experience").to_pylist():
        key = (r["area"], r["year"], r["breakdown"], r["group"], r["setting"], r["indicator"])
        true = raw[key]["positive"]
        if true is not None and 1 <= true <= 7:
            if r["positive"] is None:
                withheld += 1
            else:
                shown_small += 1
    assert withheld > 0 and shown_small == 0


def test_the_report_chapter_shows_the_survey_beside_the_records(surveyed) -> None:
    from triangulate.measures.survey import SETTING_LABELS
    from triangulate.publish.view import View, words
    from triangulate.report.survey import NO_SURVEY, SHORT, survey_section

    _, _, released = surveyed
    section = survey_section(View(released, "All areas", "All years"))
    assert section.empty is None
    assert section.charts and section.charts[0].spec is not None
    table = section.tables[0]
    indicators = {row[0] for row in table.rows}
    assert "Told about mental health support on arrival" in indicators
    assert {row[1] for row in table.rows} == {"Prison", "Secure hospital", "Community"}
    beside = next(t for t in section.tables if t.id == "table-survey-records")
    assert beside.rows[0][0] == "All people" and beside.rows[0][2] != "*"  # the survey's all-people count shown
    assert all(len(label) <= 32 for label in SHORT.values()) and set(SHORT) == set(INDICATOR_LABELS)
    assert NO_SURVEY not in " ".join(section.intro)
    # This small store has too few people in prison in the records to weight by: one sentence says so,
    # rather than a table of reasons (the weighting itself is worked by hand in test_weights.py).
    assert released.derived("survey_weighted").num_rows > 0
    assert all(r["weighted_percent"] is None for r in released.derived("survey_weighted").to_pylist())
    assert not [t for t in section.tables if t.id == "table-survey-weighted"]
    assert any(n.startswith("Weighted shares") and "could not be calculated" in n for n in section.notes)
    # Mean scores beside the shares, as published (one decimal), each setting's PHQ-9 and GAD-7.
    scores = next(t for t in section.tables if t.id == "table-survey-scores")
    assert scores.columns[:4] == ["Score", "Setting", "People completing it", "Mean"]
    published = {(words("instrument", r["instrument"]), SETTING_LABELS[r["setting"]]): f"{r['mean_score']:.1f}"
                 for r in released.view("survey_scores", breakdowns=("all",)).to_pylist()}
    assert len(published) >= 6 and {(row[0], row[1]): row[3] for row in scores.rows} == published
    # Quotations: only the answers the reviewer cleared (one with each coded phrase), whole, with the
    # setting and the question and nothing of the respondent.
    quotes = next(t for t in section.tables if t.id == "table-survey-quotes")
    assert quotes.columns == ["Setting", "Asked about", "What they said"]
    said = [row[2] for row in quotes.rows]
    assert len(said) <= len(DEMO_CODING) and all(any(p in text for text in said) for p in DEMO_CODING)
    assert {row[0] for row in quotes.rows} <= {"Prison", "Secure hospital", "Community"}
    assert released.quotes.column_names == ["area_code", "setting", "question", "text"]
    assert sorted(said) == sorted(released.quotes.column("text").to_pylist())  # all areas: every quotation


def test_without_a_survey_the_chapter_says_so(tmp_path) -> None:
    from triangulate.publish.view import View
    from triangulate.report.survey import NO_SURVEY, survey_section

    result = write_synthetic_extracts(tmp_path / "synth", people=150, seed=3)
    store = tmp_path / "store.duckdb"
    ingest([result.out_dir / "extracts", result.files["population"]], store, key=KEY)
    link_from_truth(store, result.truth_file)
    restrict(store, start=dt.date(2024, 4, 1), end=dt.date(2025, 3, 31))
    published = write_publication(store, rule=None)  # no survey to control: the analysts' version says as much
    assert published.table("survey_experience").num_rows == 0 or all(
        r["asked"] in (0, None) for r in published.table("survey_experience").to_pylist())
    assert survey_section(View(published, "All areas", "All years")).empty == NO_SURVEY


def test_no_withheld_survey_count_can_be_worked_out_from_the_release(surveyed) -> None:
    """The audit attacks the release as a reader would (every withheld count by propagation through every
    line, a sample of them by linear programme): each withheld count's range stays at least the rule's width."""
    from triangulate.publish.audit import audit_publication

    _, _, released = surveyed
    result = audit_publication(released.folder, sample=2)
    assert result.suppressed > 0 and result.checked > 0
    assert result.narrow == [] and result.derived_leaks == 0 and result.inconsistent == 0


def test_a_quotation_goes_out_only_where_its_count_says_as_much(surveyed) -> None:
    """A quotation says its area and setting had at least one respondent with a coded answer: it goes out
    beside a shown count, or a suppressed one under a rule that shows zeros (a suppressed count is then
    known to be at least 1 already), and is withheld beside a count shown as 0 or suppressed under a rule
    that hides zeros too."""
    import dataclasses

    import pyarrow as pa
    import pyarrow.compute as pc

    from triangulate.publish.publication import quotable

    _, _, released = surveyed
    quotes, themes = released.quotes, released.table("survey_themes")
    settings = set(quotes.column("setting").to_pylist())
    assert quotable(quotes, themes, NHS_ENGLAND).equals(quotes)  # every published quotation sits by a shown count
    prison = pc.equal(themes.column("setting"), "prison")
    at = themes.schema.get_field_index("coded")

    def with_prison(value):
        return themes.set_column(at, "coded", pc.if_else(prison, pa.scalar(value, pa.int64()), themes.column("coded")))

    left = {s: quotable(quotes, with_prison(None), NHS_ENGLAND).filter(pc.equal(quotes.column("setting"), s))
            for s in settings}
    assert "prison" in settings and all(left[s].num_rows > 0 for s in settings)
    hides_zeros = dataclasses.replace(NHS_ENGLAND, publish_zero=False)
    for coded, rule in ((None, hides_zeros), (0, NHS_ENGLAND)):
        kept = quotable(quotes, with_prison(coded), rule)
        assert "prison" not in kept.column("setting").to_pylist()
        assert kept.num_rows == quotes.num_rows - pc.sum(pc.equal(quotes.column("setting"), "prison")).as_py()


def test_mean_scores_and_their_t_intervals_are_worked_as_by_hand() -> None:
    """Scores 3, 5 and 10: n 3, mean 6, s = sqrt(((3-6)^2 + (5-6)^2 + (10-6)^2) / 2) = sqrt(13) = 3.6056,
    t(0.975, 2 df) = 4.3027 (statistical tables), half-width 4.3027 x 3.6056 / sqrt(3) = 8.957."""
    import pyarrow as pa

    from triangulate.measures.survey import mean_scores

    table = pa.table({"scored": pa.array([3, None, 1], pa.int64()), "score_n": [3, 3, 1],
                      "score_sum": [18, 18, 7], "score_sumsq": [134, 134, 49]})
    out = mean_scores(table).to_pylist()
    assert out[0]["mean_score"] == pytest.approx(6.0)
    assert out[0]["lower_95"] == pytest.approx(6 - 8.957, abs=5e-4)
    assert out[0]["upper_95"] == pytest.approx(6 + 8.957, abs=5e-4)
    assert out[1]["mean_score"] is None and out[1]["lower_95"] is None  # its count withheld: so is its mean
    assert out[2]["mean_score"] is None  # one respondent: no interval, no mean
    assert mean_scores(table.drop_columns(["score_sum"])).equals(table.drop_columns(["score_sum"]))


def test_mean_scores_are_the_answers_own_means_and_are_withheld_with_their_counts(surveyed) -> None:
    """Each setting's and 5-group's mean PHQ-9 and GAD-7 score, and its 95% interval, against the scores
    summed from the answers themselves and scipy's t interval on the raw lists; in the release a mean is
    shown exactly where its count of respondents is, and no sum behind it is published."""
    import statistics

    from scipy import stats

    responses, unsuppressed, released = surveyed
    raw: dict[tuple[str, str, str], list[int]] = {}
    for a, group in _consenting(responses):
        for instrument in ITEMS:
            score = _score(a, instrument)
            if score is not None:
                for g in (group, "All people"):
                    raw.setdefault((a["setting"], instrument, g), []).append(score)
    got = {(row["setting"], row["instrument"], row["group"]): row
           for row in unsuppressed.view("survey_scores", breakdowns=("all", "ethnic_group_5")).to_pylist()}
    assert {k for k, v in raw.items() if len(v) >= 2} <= set(got)
    checked = 0
    for key, scores in raw.items():
        if len(scores) < 2:
            continue
        row, mean = got[key], statistics.fmean(scores)
        low, high = stats.t.interval(0.95, len(scores) - 1, loc=mean, scale=stats.sem(scores))
        assert row["scored"] == len(scores), key
        assert row["mean_score"] == pytest.approx(round(mean, 1), abs=1e-9), key
        assert (row["lower_95"], row["upper_95"]) == pytest.approx((round(low, 1), round(high, 1)), abs=1e-9), key
        checked += 1
    assert checked >= 12
    # The synthetic survey's built-in means: each item is above 0 with the setting's chance, then 1, 2 or 3
    # with chances 0.5, 0.3 and 0.2 (mean 1.7), so a mean score is items x chance x 1.7.
    for (setting, instrument, group), scores in raw.items():
        if group == "All people":
            truth = ITEMS[instrument] * TRUTH["distress item > 0"][setting] * 1.7
            low, high = stats.t.interval(0.998, len(scores) - 1, loc=statistics.fmean(scores), scale=stats.sem(scores))
            assert low <= truth <= high, (setting, instrument, truth, low, high)
    rows = released.table("survey_scores")
    assert not {"score_n", "score_sum", "score_sumsq"} & set(rows.column_names)
    withheld = 0
    for row in rows.to_pylist():
        assert (row["mean_score"] is None) == (row["scored"] is None), row
        withheld += row["scored"] is None
    assert withheld > 0
