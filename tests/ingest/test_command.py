"""``triangulate ingest``: exit codes, messages, and an ingest killed mid-load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from triangulate.ingest import ingest


def _env(key: bytes | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TRIANGULATE_KEY"}
    if key is not None:
        env["TRIANGULATE_KEY"] = key.decode()
    return env | {"COLUMNS": "200"}


def _run(args: list[str], key: bytes | None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "triangulate", "ingest", *args], capture_output=True, text=True,
                          env=_env(key), timeout=120)


def test_a_successful_run_exits_0_and_prints_the_accounting(extracts: Path, store: Path, key: bytes) -> None:
    result = _run([str(extracts / "prison_custody.csv"), "--store", str(store)], key)
    assert result.returncode == 0, result.stderr
    assert "prison_custody.csv" in result.stdout and "29" in result.stdout and "25" in result.stdout
    assert "Loading: 29 of 29" in result.stderr


def test_without_a_key_it_exits_2_and_says_how_to_provide_one(
    kit, extracts: Path, store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("TRIANGULATE_KEY", raising=False)
    assert kit.run_command([str(extracts), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "TRIANGULATE_KEY" in err and "--key-file" in err
    assert not store.exists()


def test_a_key_file_is_used(
    kit, extracts: Path, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("TRIANGULATE_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # Rich's width: room for the file names
    key_file = tmp_path / "keys" / "triangulate.key"
    key_file.parent.mkdir()
    key_file.write_text("a" * 64 + "\n")
    assert kit.run_command([str(extracts / "prison_custody.csv"), "--store", str(store), "--key-file", str(key_file)]) == 0
    assert "prison_custody.csv" in capsys.readouterr().out


def test_a_refused_file_exits_2_naming_the_file(
    kit, extracts: Path, store: Path, key: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("TRIANGULATE_KEY", key.decode())
    (extracts / "court_appearance.csv").write_bytes((extracts / "court_appearance.csv").read_bytes()[:-50])
    assert kit.run_command([str(extracts), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "court_appearance.csv" in err and "cut off" in err
    assert "nothing was loaded" in err


def _big_police_extract(kit, path: Path, rows: int, prefix: str) -> Path:
    """A large valid police custody extract built from the fixture's good rows with fresh ids."""
    header, fixture_rows = kit.read_rows(kit.EXTRACTS / "police_custody.csv")
    bad = kit.rejected_rows("police_custody.csv")
    good = [r for n, r in enumerate(fixture_rows, start=1) if n not in bad]
    at = header.index("source_record_id")
    lines = [",".join(header)]
    template = [",".join(r[:at]) + "," for r in good]
    tails = ["," + ",".join(r[at + 1:]) for r in good]
    for i in range(rows):
        k = i % len(good)
        lines.append(f"{template[k]}{prefix}/{i}{tails[k]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_an_ingest_killed_mid_load_leaves_the_store_as_it_was(kit, extracts: Path, store: Path, key: bytes) -> None:
    ingest(extracts, store, key)
    before = kit.dump_store(store)
    rows = 80_000
    first = _big_police_extract(kit, extracts.parent / "big_1.csv", rows, "BIG1")
    second = _big_police_extract(kit, extracts.parent / "big_2.csv", rows, "BIG2")

    process = subprocess.Popen(
        [sys.executable, "-m", "triangulate", "ingest", str(first), str(second), "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(key),
    )
    seen = []
    try:
        # The first file's rows are in the store's open transaction once this line is logged;
        # the second file is still to be loaded and nothing is committed.
        for line in process.stderr:
            seen.append(line)
            if f"big_1.csv: {rows} loaded" in line:
                break
        else:
            pytest.fail(f"the ingest ended before loading: {''.join(seen)}")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(seen) + process.stderr.read()
    assert process.returncode == -signal.SIGKILL
    assert f"big_2.csv: {rows} loaded" not in output, "killed too late: the second file had loaded"

    assert kit.dump_store(store) == before  # re-opened: same tables, same rows
    assert not list((store.parent / f"{store.name}.rejects").glob("big_*"))
    # The store is not damaged, and the killed load left no trace (not even a manifest row that
    # would make the files look loaded): both load in full afterwards.
    report = ingest([first, second], store, key)
    assert [f.rows_loaded for f in report.files] == [rows, rows]
