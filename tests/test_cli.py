"""The ``triangulate`` command end to end: each verb run as a user runs it, in a subprocess."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb

from triangulate.demo import NO_SERVE
from triangulate.standard import AGENCY_TABLES

from .conftest import run_cli


def test_synth_writes_every_extract_the_population_and_the_truth_apart(tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    result = run_cli("synth", "--out", str(out), "--people", "300", "--seed", "7", "--format", "parquet")
    assert result.returncode == 0, result.stderr
    for table in AGENCY_TABLES + ("need",):
        assert (out / "extracts" / f"{table}.parquet").is_file()
        assert table in result.stdout
    assert (out / "population.parquet").is_file()
    assert (out / "truth" / "ground_truth.parquet").is_file()
    assert "Synthesising" in result.stderr  # progress, on stderr


def test_synth_refuses_an_unknown_noise_level(tmp_path: Path) -> None:
    result = run_cli("synth", "--out", str(tmp_path), "--noise", "extreme")
    assert result.returncode == 2
    assert "extreme" in result.stderr and "low" in result.stderr
    assert not any(tmp_path.iterdir())


def test_ingest_without_a_key_refuses_and_says_how_to_give_one(tmp_path: Path) -> None:
    run_cli("synth", "--out", str(tmp_path / "s"), "--people", "100", "--seed", "1")
    store = tmp_path / "store.duckdb"
    result = run_cli("ingest", str(tmp_path / "s" / "extracts"), "--store", str(store))
    assert result.returncode == 2
    assert "TRIANGULATE_KEY" in result.stderr and "--key-file" in result.stderr
    assert not store.exists()


def test_demo_synthesises_ingests_and_summarises(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    # One financial year keeps the publication (every area and group, protected together) quick. Linked
    # on encodings, so the option is run end to end (the plain link runs in the test below).
    result = run_cli("demo", "--out", str(out), "--people", "400", "--seed", "3", "--years", "2024/25",
                         "--encoded", env={NO_SERVE: "1"})
    assert result.returncode == 0, result.stderr
    assert "weasyprint" not in (result.stdout + result.stderr).lower()  # its progress log stays out of the output
    text = result.stdout
    for heading in ("Synthesise", "Ingest", "Link", "What is in the store", "Records per table", "Ethnic mix",
                    "Needs recorded", "The service directory", "The needs and experience survey", "Publish", "Relative rate index", "People with each need",
                    "Continuity of care", "Report", "Health needs assessment"):
        assert heading in text, heading
    # The report is written and its path printed whole.
    pdf = out / "health-needs-assessment.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert str(pdf) in text
    # The row accounting: a total line whose rows in = loaded + rejected.
    total = next(line for line in text.splitlines() if line.strip("│ ").startswith("total"))
    rows_in, loaded, rejected = (int(c.strip().replace(",", "")) for c in total.split("│")[3:6])
    assert rows_in == loaded + rejected and loaded > 0
    # The demo key is kept outside the store, private, and reused on the next run.
    key_file = out / "demo.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert key.encode() not in (out / "triangulate.duckdb").read_bytes()
    # The demo's secret for the encodings likewise, and the link ran on them
    secret_file = out / "demo.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600 and "Linking on encodings" in text
    assert secret_file.read_text().strip().encode() not in (out / "triangulate.duckdb").read_bytes()
    with duckdb.connect(str(out / "triangulate.duckdb"), read_only=True) as con:
        model = con.sql("SELECT settings_json FROM meta.link_model ORDER BY created_at DESC LIMIT 1").fetchall()
    assert model and '"clk"' in model[0][0]
    # ... and the publication (which the report reads) records that the link ran on encodings
    from triangulate.publish.publication import latest, publications_root

    assert latest(publications_root(out / "triangulate.duckdb")).manifest["link_run"]["encoded"] is True
    with duckdb.connect(str(out / "triangulate.duckdb"), read_only=True) as con:
        stored = con.sql("SELECT sum(rows_loaded) AS n FROM meta.load_manifest").to_arrow_table().column("n")[0].as_py()
    assert stored == loaded
    assert (out / "measures" / "metadata.json").is_file()
    # The synthetic directory is imported and published with its gap analysis.
    from triangulate.publish.publication import latest, publications_root

    published = latest(publications_root(out / "triangulate.duckdb"))
    assert published.manifest["directory"]["services"] > 20
    assert published.derived("provision_gaps").num_rows > 0
    # The synthetic survey is loaded and published: answers counted in the year shown.
    survey = [r for r in published.table("survey_experience").to_pylist()
              if (r["area"], r["year"], r["breakdown"]) == ("All areas", "2024/25", "all")]
    assert sum(r["asked"] or 0 for r in survey) > 0 and "240 synthetic survey responses" in text
    themes = [r for r in published.table("survey_themes").to_pylist()
              if (r["area"], r["year"], r["breakdown"]) == ("All areas", "2024/25", "all")]
    assert sum(r["coded"] or 0 for r in themes) > 0 and "free-text answers coded into" in text
    # The dashboard is set up with one demo user per role, its address printed.
    for role in ("viewer", "analyst", "screener", "admin"):
        assert f"demo-{role}" in text
    assert "Demo users" in text and "http://127.0.0.1:8000/" in text
    assert (out / "triangulate-web.sqlite3").is_file()
    # The next run reuses the key (the whole demo is not run twice: publishing takes minutes).
    from triangulate.demo import demo_key

    os.environ.pop("TRIANGULATE_KEY", None)
    assert demo_key(out) == (key.encode(), key_file)


def test_standard_docs_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "standard.md"
    result = run_cli("standard", "docs", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == (Path(__file__).parents[1] / "docs" / "data-standard.md").read_text(
        encoding="utf-8")


def test_link_publish_then_measures_write_one_controlled_view_and_refuse_bad_input(tmp_path: Path) -> None:
    key = {"TRIANGULATE_KEY": "k" * 64}
    data, store, out = tmp_path / "s", tmp_path / "store.duckdb", tmp_path / "measures"
    assert run_cli("synth", "--out", str(data), "--people", "400", "--seed", "5").returncode == 0
    ingested = run_cli("ingest", str(data / "extracts"), str(data / "population.csv"), "--store", str(store),
                           env=key)
    assert ingested.returncode == 0, ingested.stderr
    unlinked = run_cli("publish", "--store", str(store))
    assert unlinked.returncode == 2 and "link" in unlinked.stderr.lower() and "Traceback" not in unlinked.stderr
    assert not list(store.parent.glob("store.publications/v*"))
    nothing = run_cli("measures", "--store", str(store), "--out", str(out))
    assert nothing.returncode == 2 and "triangulate publish" in nothing.stderr
    linked = run_cli("link", "--store", str(store))
    assert linked.returncode == 0, linked.stderr

    wrong = run_cli("publish", "--store", str(store), "--years", "2030/31")
    assert wrong.returncode == 2 and "No records in financial year 2030/31" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    raw = run_cli("publish", "--store", str(store), "--unsuppressed", "--years", "2024/25")
    assert raw.returncode == 0 and "WARNING" in raw.stderr
    private = store.parent / "store.unsuppressed"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in private.rglob("*") if p.is_file())
    published = run_cli("publish", "--store", str(store), "--years", "2024/25", "--audit", "--audit-sample", "0")
    assert published.returncode == 0, published.stderr
    assert "Published v0001" in published.stdout and "PASSED" in published.stdout
    result = run_cli("measures", "--store", str(store), "--out", str(out))
    assert result.returncode == 0, result.stderr
    metadata = (out / "metadata.json").read_text(encoding="utf-8")
    assert "nhs_england" in metadata and '"publication": "v0001"' in metadata
    csvs = sorted(out.glob("*.csv"))
    assert csvs and all(p.name in result.stdout for p in csvs)
    unknown = run_cli("measures", "--store", str(store), "--out", str(tmp_path / "m2"), "--area", "E09999999")
    assert unknown.returncode == 2 and "E09999999" in unknown.stderr
    listed = run_cli("publish", "--store", str(store), "--list")
    assert listed.returncode == 0 and "v0001" in listed.stdout and "nhs_england" in listed.stdout
    # --engine counts the store again: a new publication (v0002, of the year asked for), then its view.
    both = run_cli("measures", "--store", str(store), "--out", str(tmp_path / "m3"), "--engine", "duckdb",
                   "--publication", str(store.parent / "store.publications" / "v0001"))
    assert both.returncode == 2 and "give one of them" in both.stderr
    again = run_cli("measures", "--store", str(store), "--out", str(tmp_path / "m3"), "--engine", "duckdb",
                    "--year", "2024/25")
    assert again.returncode == 0, again.stderr
    assert "Published v0002" in again.stdout and '"publication": "v0002"' in (tmp_path / "m3" / "metadata.json").read_text()
    assert sorted(p.name for p in (tmp_path / "m3").glob("*.csv")) == [p.name for p in csvs]
    wrong_engine = run_cli("measures", "--store", str(store), "--out", str(tmp_path / "m4"), "--engine", "sqlite")
    assert wrong_engine.returncode == 2 and "Unknown engine 'sqlite'" in wrong_engine.stderr
    assert "Traceback" not in wrong_engine.stderr and not (tmp_path / "m4").exists()


def test_provision_template_import_history_and_export(tmp_path: Path) -> None:
    from triangulate.synth.directory import write_synthetic_directory

    store = tmp_path / "s.duckdb"
    result = run_cli("provision", "template", "--out", str(tmp_path / "sheet.xlsx"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sheet.xlsx").is_file()
    sheet = write_synthetic_directory(tmp_path / "directory.csv", people=5_000)
    result = run_cli("provision", "import", str(sheet), "--store", str(store), "--by", "test analyst")
    assert result.returncode == 0, result.stderr
    assert "version 1 of the directory" in result.stdout
    again = run_cli("provision", "import", str(sheet), "--store", str(store))
    assert again.returncode == 0 and "no new version" in again.stdout
    history = run_cli("provision", "history", "--store", str(store))
    assert "test analyst" in history.stdout and "directory.csv" in history.stdout
    for fmt, out in (("oruk-json", tmp_path / "d.json"), ("csv", tmp_path / "package"), ("template", tmp_path / "e.xlsx")):
        exported = run_cli("provision", "export", "--format", fmt, "--out", str(out), "--store", str(store))
        assert exported.returncode == 0, exported.stderr
        assert out.exists()
    assert (tmp_path / "package" / "services.csv").is_file()


def test_provision_import_refuses_a_bad_sheet_naming_row_and_field(tmp_path: Path) -> None:
    sheet = tmp_path / "bad.csv"
    sheet.write_text("service_name,organisation_name,intercepts,capacity\nCourt team,Trust,7,12\n", encoding="utf-8")
    result = run_cli("provision", "import", str(sheet), "--store", str(tmp_path / "s.duckdb"))
    assert result.returncode == 2
    assert "bad.csv, row 2, field intercepts: is not an intercept" in result.stderr
    assert "bad.csv, row 2, field capacity_unit" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "s.duckdb").exists()


def test_link_on_encodings_takes_a_private_secret_file_only(tmp_path: Path) -> None:
    key = {"TRIANGULATE_KEY": "k" * 64}
    data, store, secret = tmp_path / "s", tmp_path / "store.duckdb", tmp_path / "project.secret"
    assert run_cli("synth", "--out", str(data), "--people", "120", "--seed", "9").returncode == 0
    assert run_cli("ingest", str(data / "extracts"), "--store", str(store), env=key).returncode == 0
    secret.write_text("a project secret, 32 bytes or longer\n", encoding="utf-8")
    secret.chmod(0o644)
    refused = run_cli("link", "--store", str(store), "--secret", str(secret))
    assert refused.returncode == 2 and "chmod 600" in refused.stderr and "Traceback" not in refused.stderr
    assert "a project secret" not in refused.stdout + refused.stderr
    secret.chmod(0o600)
    linked = run_cli("link", "--store", str(store), "--secret", str(secret))
    assert linked.returncode == 0, linked.stderr
    assert "on their encodings" in linked.stdout and "a project secret" not in linked.stdout + linked.stderr
    # An agency encodes its own extracts; the service links them without the secret.
    encoded, agency_store = tmp_path / "encoded", tmp_path / "agency.duckdb"
    extracts = [str(data / "extracts" / f"{t}.csv") for t in ("prison_custody", "police_custody")]
    done = run_cli("encode", *extracts, "--secret", str(secret), "--out", str(encoded))
    assert done.returncode == 0, done.stderr
    assert "rows of prison_custody encoded" in done.stdout and "a project secret" not in done.stdout + done.stderr
    files = sorted(encoded.iterdir())
    assert [f.name for f in files] == ["police_custody.encoded.csv", "prison_custody.encoded.csv"]
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    assert run_cli("ingest", *map(str, files), "--store", str(agency_store), env=key).returncode == 0
    linked = run_cli("link", "--store", str(agency_store))
    assert linked.returncode == 0, linked.stderr
    assert "on their encodings" in linked.stdout
    refused = run_cli("encode", str(data / "population.csv"), "--secret", str(secret), "--out", str(encoded))
    assert refused.returncode == 2 and "holds no identifiers" in refused.stderr and "Traceback" not in refused.stderr


def test_spark_bridge_retries_are_kept_off_the_screen_and_its_errors_are_not() -> None:
    """Py4J logs each command it sends again on a fresh connection on the root logger at INFO, traceback and
    all (two on a successful million-person publish on Spark); the command line shows its errors only."""
    import importlib
    import logging

    import py4j.java_gateway

    app = importlib.import_module("triangulate.cli.app")
    retried = logging.LogRecord("root", logging.INFO, py4j.java_gateway.__file__, 1056,
                                "Exception while sending command.", None, None)
    failed = logging.LogRecord("root", logging.ERROR, py4j.java_gateway.__file__, 1060,
                               "Exception while sending command.", None, None)
    ours = logging.LogRecord("triangulate.link", logging.INFO, app.__file__, 1, "Scored 10 pairs", None, None)
    assert [app._not_py4j_retries(r) for r in (retried, failed, ours)] == [False, True, True]
