"""A publication on disk: versioned folders of Parquet tables and a manifest; and ``Published``, its reader.

A publication is written once (``write_publication``) and read by everything that shows figures: the
health needs assessment, the dashboard, the exports and the demo. Its folder holds one Parquet file
per measure and ``manifest.json``: the disclosure rule, the store it came from (a fingerprint, never
a key), the latest link run, the registry's version, the dimensions (every area, year and group,
which the dashboard checks requests against), row counts and a SHA-256 for every file.

Versions are folders ``v0001``, ``v0002``, ... beside each other. A new one is written under a
temporary name and renamed into place when complete, so an interrupted publish leaves the previous
version as it was; old versions stay readable until removed (``remove_version``).

The unsuppressed publication (for analysts, never for release) is written to its own root, folders
mode 700 and files mode 600, and its manifest says ``"unsuppressed": true``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from triangulate import __version__
from triangulate.disclosure import DisclosureRule
from triangulate.measures import Measure, measures, registry_version
from triangulate.publish.dimensions import ALL_AREAS, ALL_YEARS, breakdown_title

FORMAT = "triangulate-publication/1"
#: The drawn charts of every view, when the publication was written with them.
CHARTS_FILE = "charts.parquet"
DIRECTORY_FILE = "directory.json"
QUOTES_FILE = "quotes.parquet"
VERSION = re.compile(r"^v(\d{4,})$")
Progress = Callable[[str, int, int], None]


class PublicationError(Exception):
    """A publication cannot be written or read; the message says what to do."""


def publications_root(store: str | Path, *, unsuppressed: bool = False) -> Path:
    """Where a store's publications go by default: beside the store, one folder per kind."""
    store = Path(store)
    return store.parent / f"{store.stem}.{'unsuppressed' if unsuppressed else 'publications'}"


def area_names(store: str | Path) -> dict[str, str]:
    """Each area's name from the population extract (standard 1.2), where it gives one."""
    from triangulate.store import connect

    con = connect(store, read_only=True)
    try:
        columns = {r[0] for r in con.sql("DESCRIBE content.population").fetchall()}
        if "area_name" not in columns:
            return {}
        rows = con.sql("SELECT area_code, min(area_name) FROM content.population WHERE area_name IS NOT NULL "
                       "GROUP BY 1 ORDER BY 1").fetchall()
    finally:
        con.close()
    return {code: name for code, name in rows}


def data_period(store: str | Path) -> dict[str, str | None]:
    """The first and last event dates in the store's records (ISO dates), so that a reader can tell a
    financial year the data covers only in part (a trend's last year, most often)."""
    from triangulate.standard import AGENCY_TABLES, schema
    from triangulate.store import connect

    con = connect(store, read_only=True)
    try:
        parts = " UNION ALL ".join(
            f"SELECT min(CAST({schema(t).event_date} AS DATE)) AS first, max(CAST({schema(t).event_date} AS DATE)) AS last "
            f"FROM content.{t}" for t in AGENCY_TABLES)
        first, last = con.sql(f"SELECT min(first), max(last) FROM ({parts})").fetchall()[0]
    finally:
        con.close()
    return {"first": first.isoformat() if first else None, "last": last.isoformat() if last else None}


def store_fingerprint(store: str | Path) -> str:
    """Identifies a store (and the key it was loaded under) without revealing either
    (``triangulate.store.parquet.fingerprint``; a Parquet zone has its store's)."""
    from triangulate.store import connect
    from triangulate.store.parquet import fingerprint

    con = connect(store, read_only=True)
    try:
        return fingerprint(con)
    finally:
        con.close()


def _latest_link_run(store: str | Path) -> dict | None:
    from triangulate.store import connect, has_tables

    con = connect(store, read_only=True)
    try:
        if not has_tables(con, "meta", "link_runs"):
            return None
        rows = con.sql("SELECT r.run_id, r.engine, r.threshold, r.records, r.people, r.finished_at, m.settings_json "
                       "FROM meta.link_runs r LEFT JOIN meta.link_model m USING (run_id) "
                       "ORDER BY r.finished_at DESC LIMIT 1").to_arrow_table().to_pylist()
    finally:
        con.close()
    if not rows:
        return None
    from triangulate.link.model import on_encodings

    run = rows[0]
    # encoded: the run's model compares CLK encodings (link --secret), so the report can say so
    run["encoded"] = on_encodings(json.loads(run.pop("settings_json") or "{}"))
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in run.items()}


def _rule_words(rule: DisclosureRule | None) -> dict | None:
    if rule is None:
        return None
    return {"name": rule.name, "description": rule.description, "suppress_below": rule.suppress_below,
            "rounding_base": rule.rounding_base, "publish_zero": rule.publish_zero,
            "suppressed_symbol": rule.suppressed_symbol, "protection_width": rule.protection,
            "source": rule.source}


def versions(root: str | Path) -> list[Path]:
    """The complete versions under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and VERSION.match(p.name) and (p / "manifest.json").is_file()]
    return sorted(found, key=lambda p: int(VERSION.match(p.name).group(1)))


def _private(path: Path, *, folder: bool) -> None:
    os.chmod(path, 0o700 if folder else 0o600)


def _write_parquet(path: Path, table: pa.Table, private: bool) -> dict:
    """Write one file of a publication; its manifest entry (file, rows, SHA-256)."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    data = buffer.getvalue()
    path.write_bytes(data)
    if private:
        _private(path, folder=False)
    return {"file": path.name, "rows": table.num_rows, "sha256": hashlib.sha256(data).hexdigest()}


def quotable(cleared: pa.Table, themes: pa.Table, rule: DisclosureRule | None) -> pa.Table:
    """The cleared quotations that may go beside the counts: those of an area and setting whose whole
    period's number of respondents with coded answers (``survey_themes``'s ``coded``, all people) the
    publication holds and does not show as 0.

    A quotation tells a reader that at least one person in its area and setting was interviewed and had
    an answer coded (nothing more: it has no year or group, and one answer can give several quotations).
    Where that count is shown, or suppressed under a rule that publishes zeros (so a suppressed count is
    already known to be at least 1), that adds nothing; under a rule that also suppresses zeros, a
    quotation beside a suppressed count would narrow it, so it is withheld (``audit_publication`` takes
    the same "at least 1" from every quotation it reads)."""
    whole = themes.filter(pc.and_(pc.equal(themes.column("year"), ALL_YEARS),
                                  pc.equal(themes.column("breakdown"), "all")))
    coded = {(a, s): n for a, s, n in zip(whole.column("area").to_pylist(), whole.column("setting").to_pylist(),
                                          whole.column("coded").to_pylist())}
    zeros_shown = rule is None or rule.publish_zero
    keep = []
    for area, setting in zip(cleared.column("area_code").to_pylist(), cleared.column("setting").to_pylist()):
        n = coded.get((area, setting), 0)
        keep.append(n > 0 if n is not None else zeros_shown)
    return cleared.filter(pa.array(keep, pa.bool_()))


def write_publication(store: str | Path, root: str | Path | None = None, *, rule: DisclosureRule | None,
                      engine: str = "duckdb", progress: Progress | None = None,
                      computed=None, years: list[str] | None = None, charts=None, directory=None,
                      derived=None, quotes=None, pooled: bool = True) -> Published:
    """Compute and write a new version of the store's publication; returns it, read back.

    ``rule=None`` writes the unsuppressed publication (for analysts; private file modes).
    ``charts(published, progress)``, if given, draws the charts of every view from the new
    publication's own tables (``triangulate.report.build.draw_charts``); the drawings are kept in it
    (``charts.parquet``, in the manifest with its hash) so nothing is drawn while a page waits.
    ``directory(store)``, if given, returns the service directory to publish beside the figures
    (``triangulate.provision.published_directory``: open data, services only, no person in it), so
    the dashboard's ORUK API and the provision pages read the same version as the gap measures.
    ``derived(published, fine)``, if given, returns tables computed from the publication's own
    (controlled) tables and directory (``triangulate.provision.derived_tables``: the gap analysis), and
    from the fine counts ``Computed.fine`` keeps (the survey's raked weights, published under their own
    rule: ``triangulate.survey.weights``); they are kept in it like the measures
    (``Published.derived(name)``).
    ``quotes(store)``, if given, returns the survey quotations a reviewer cleared for publication
    (``triangulate.survey.qda.cleared_quotes``: area, setting, question and words, nothing else), kept
    as ``quotes.parquet`` (``Published.quotes``), those of an area and setting whose count allows it
    (``quotable``); no other words of the free text are published.
    """
    from triangulate.publish.compute import compute_publication

    store = Path(store)
    unsuppressed = rule is None
    root = Path(root) if root is not None else publications_root(store, unsuppressed=unsuppressed)
    from triangulate.store.parquet import is_zone

    if not store.is_file() and not is_zone(store):
        raise PublicationError(f"No store at {store}: ingest and link extracts first, or give the store's path "
                               "(a DuckDB file, or the Parquet zone folder written with `ingest --parquet`).")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        raise PublicationError(f"Cannot create {root} ({problem.strerror}): choose a folder you can write to "
                               "with --out.") from None
    if unsuppressed:
        _private(root, folder=True)
    computed = computed or compute_publication(store, rule=rule, engine=engine, progress=progress, years=years,
                                               pooled=pooled)
    existing = versions(root)
    number = int(VERSION.match(existing[-1].name).group(1)) + 1 if existing else 1
    name = f"v{number:04d}"
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        files = []
        registered = {m.name: m for m in measures()}
        for measure, table in computed.tables.items():
            files.append({"measure": measure, **_write_parquet(scratch / f"{measure}.parquet", table, unsuppressed),
                          **registered[measure].describe()})
        report = computed.protection
        manifest = {
            "format": FORMAT,
            "version": name,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "triangulate_version": __version__,
            "registry_version": registry_version(),
            "engine": engine,
            "unsuppressed": unsuppressed,
            "rule": _rule_words(rule),
            "store": {"name": store.name, "fingerprint": store_fingerprint(store)},
            "link_run": _latest_link_run(store),
            "data_period": data_period(store),
            "area_names": area_names(store),
            "dimensions": computed.dimensions.describe(),
            "protection": None if report is None else {
                "primary": report.primary, "secondary": report.secondary, "certificates": report.certificates,
                "local_programmes": report.programmes, "fallbacks": report.fallbacks},
            "timings_seconds": {k: round(v, 2) for k, v in computed.timings.items()},
            "measures": files,
        }
        listing = directory(store) if directory is not None else None
        if listing is not None:
            text = json.dumps(listing, sort_keys=True, ensure_ascii=False).encode("utf-8")
            (scratch / DIRECTORY_FILE).write_bytes(text)
            manifest["directory"] = {"file": DIRECTORY_FILE, "version": listing.get("version"),
                                     "services": len(listing.get("services", [])),
                                     "sha256": hashlib.sha256(text).hexdigest()}
        cleared = quotes(store) if quotes is not None else None
        if cleared is not None and "survey_themes" in computed.tables:
            cleared = quotable(cleared, computed.tables["survey_themes"], rule)
        if cleared is not None and cleared.num_rows:
            manifest["quotes"] = _write_parquet(scratch / QUOTES_FILE, cleared, unsuppressed)
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        if derived is not None:
            started = time.perf_counter()
            tables = derived(Published(scratch, manifest), computed.fine)
            manifest["derived"] = {name: _write_parquet(scratch / f"derived-{name}.parquet", table, unsuppressed)
                                   for name, table in tables.items()}
            manifest["timings_seconds"]["derived"] = round(time.perf_counter() - started, 2)
            (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        if charts is not None:  # drawn from the tables just written (workers read the manifest above)
            started = time.perf_counter()
            drawings = charts(Published(scratch, manifest), progress)
            manifest["charts"] = _write_parquet(scratch / CHARTS_FILE, drawings, unsuppressed)
            manifest["timings_seconds"]["charts"] = round(time.perf_counter() - started, 2)
            (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        if unsuppressed:
            _private(scratch / "manifest.json", folder=False)
            _private(scratch, folder=True)
        else:
            os.chmod(scratch, 0o755)
        final = root / name
        os.rename(scratch, final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return read_publication(final)


def remove_version(root: str | Path, version: str) -> None:
    """Delete one version (the others stay)."""
    path = Path(root) / version
    if not VERSION.match(version) or not path.is_dir():
        raise PublicationError(f"No publication {version!r} under {root}: list them with `triangulate publish --list`.")
    shutil.rmtree(path)


def latest(root: str | Path) -> Published | None:
    found = versions(root)
    return read_publication(found[-1]) if found else None


def read_publication(folder: str | Path, *, store: str | Path | None = None) -> Published:
    """Read and check a publication folder; with ``store``, also check it was made from that store."""
    folder = Path(folder)
    manifest_file = folder / "manifest.json"
    if not manifest_file.is_file():
        raise PublicationError(f"No publication at {folder} (no manifest.json): run `triangulate publish` first.")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise PublicationError(f"The manifest of {folder} cannot be read: publish again.") from None
    if manifest.get("format") != FORMAT:
        raise PublicationError(f"{folder} is not a publication this version of Triangulate reads "
                               f"({manifest.get('format')!r}): publish again.")
    if store is not None and manifest["store"]["fingerprint"] != store_fingerprint(store):
        raise PublicationError(f"The publication {folder.name} was made from another store or under another key "
                               f"than {Path(store).name}: publish this store (`triangulate publish --store ...`).")
    return Published(folder, manifest)


@dataclass
class Published:
    """One publication in memory: Arrow tables by measure name, with their registrations and views.

    Tables are read on first use and checked against the manifest's SHA-256; a missing or changed
    file raises ``PublicationError`` rather than showing part of a page.
    """

    folder: Path
    manifest: dict
    _tables: dict[str, pa.Table] = field(default_factory=dict, repr=False)
    _views: dict[tuple[str, str, str], pa.Table] = field(default_factory=dict, repr=False)

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def unsuppressed(self) -> bool:
        return bool(self.manifest["unsuppressed"])

    @property
    def rule(self) -> dict | None:
        return self.manifest["rule"]

    @property
    def symbol(self) -> str:
        return (self.rule or {}).get("suppressed_symbol", "*")

    @cached_property
    def dimensions(self) -> dict:
        return self.manifest["dimensions"]

    def area_name(self, code: str) -> str:
        """The area's name where the population extract gives one (standard 1.2); else its code."""
        return (self.manifest.get("area_names") or {}).get(code, code)

    def area_label(self, code: str) -> str:
        """"Lambeth (E09000022)" where the population extract names the area; else the code."""
        name = self.area_name(code)
        return f"{name} ({code})" if name != code else code

    @property
    def areas(self) -> list[str]:
        return list(self.dimensions["areas"])

    @property
    def years(self) -> list[str]:
        """The whole period ("All years"), then each financial year: the years a view can be of."""
        return list(self.dimensions["years"])

    @property
    def pooled(self) -> list[str]:
        """The pooled periods ("2023/24 to 2025/26"), three financial years each counted back from the
        latest (``triangulate.publish.dimensions.pooled_periods``), each the sum of its years, shown for
        all people for trends in small areas; none when the publication has three financial years or
        fewer, was made with ``--no-pooled`` or before they were."""
        return list(self.dimensions.get("pooled", ()))

    @property
    def groups(self) -> list[tuple[str, str]]:
        return [tuple(g) for g in self.dimensions["groups"]]

    @property
    def names(self) -> list[str]:
        return [m["measure"] for m in self.manifest["measures"]]

    def entry(self, name: str) -> dict:
        for m in self.manifest["measures"]:
            if m["measure"] == name:
                return m
        raise KeyError(name)

    def measure(self, name: str) -> Measure:
        """The registration of a published measure (labels, kinds, definition)."""
        for m in measures():
            if m.name == name:
                return m
        raise PublicationError(f"The publication has {name!r}, which this version of Triangulate does not "
                               "register: publish again.")

    def table(self, name: str) -> pa.Table:
        if name not in self._tables:
            self._tables[name] = self._read_checked(self.entry(name))
        return self._tables[name]

    def _checked_bytes(self, entry: dict) -> bytes:
        """A file of the publication, read whole and checked against the manifest's SHA-256."""
        path = self.folder / entry["file"]
        try:
            data = path.read_bytes()
        except OSError:
            raise PublicationError(f"The file {entry['file']} of publication {self.version} is missing: "
                                   "publish again.") from None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise PublicationError(f"The file {entry['file']} of publication {self.version} has changed since "
                                   "it was written (its checksum differs): publish again.")
        return data

    def _read_checked(self, entry: dict) -> pa.Table:
        return pq.read_table(pa.BufferReader(self._checked_bytes(entry)))

    @cached_property
    def _drawings(self) -> dict[tuple[str, str, str], list[dict]]:
        entry = self.manifest.get("charts")
        if entry is None:
            return {}
        out: dict[tuple[str, str, str], list[dict]] = {}
        for row in self._read_checked(entry).to_pylist():
            out.setdefault((row["page"], row["area"], row["year"]), []).append(row)
        return out

    @cached_property
    def directory(self) -> dict | None:
        """The service directory published with the figures (version, services, taxonomy), or None
        when the store had none; checked against the manifest's hash."""
        entry = self.manifest.get("directory")
        return None if entry is None else json.loads(self._checked_bytes(entry))

    @cached_property
    def quotes(self) -> pa.Table | None:
        """The survey quotations a reviewer cleared (area_code, setting, question, text), or None; read
        and checked against the manifest once (the dashboard asks on every request)."""
        entry = self.manifest.get("quotes")
        return None if entry is None else self._read_checked(entry)

    def derived_names(self) -> list[str]:
        return list(self.manifest.get("derived", {}))

    def derived(self, name: str) -> pa.Table | None:
        """A table derived from this publication when it was written (the gap analysis), checked
        against the manifest; None if it has none by that name."""
        entry = self.manifest.get("derived", {}).get(name)
        if entry is None:
            return None
        key = f"derived:{name}"
        if key not in self._tables:
            self._tables[key] = self._read_checked(entry)
        return self._tables[key]

    def check(self) -> None:
        """Read every file and check it against the manifest (``PublicationError`` at the first problem)."""
        for name in self.names:
            self.table(name)
        self._drawings
        self.directory
        self.quotes
        for name in self.derived_names():
            self.derived(name)

    @property
    def has_charts(self) -> bool:
        """Whether the charts of every view were drawn when this publication was written."""
        return "charts" in self.manifest

    def charts_of(self, page: str, area: str = ALL_AREAS, year: str = ALL_YEARS) -> list[dict]:
        """The drawn charts of one page and view, in the page's order (page, area, year, chart, svg,
        caption, description); empty if the publication holds no drawings or the page none here."""
        return self._drawings.get((page, area, year), [])

    def view(self, name: str, *, area: str = ALL_AREAS, year: str = ALL_YEARS,
             breakdowns: tuple[str, ...] | None = None) -> pa.Table:
        """The rows of one view of a measure (an area, a year), optionally some breakdowns only."""
        key = (name, area, year)
        t = self._views.get(key)
        if t is None:  # each row is in one view, so keeping every view read costs one table's memory
            whole = self.table(name)
            t = self._views[key] = whole.filter(pc.and_(pc.equal(whole.column("area"), area),
                                                        pc.equal(whole.column("year"), year)))
        if breakdowns is not None:
            t = t.filter(pc.is_in(t.column("breakdown"), pa.array(list(breakdowns), pa.string())))
        return t

    def breakdown_title(self, breakdown: str) -> str:
        return breakdown_title(breakdown)
