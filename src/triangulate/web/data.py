"""The figures behind the pages: every measure run once per set of filters and kept while the
server runs, disclosure-controlled (or, for analysts who ask, unsuppressed)."""

from __future__ import annotations

import csv
import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

#: Filters the pages offer and how each maps onto the measures' filters.
DEMOGRAPHIC_FILTERS = {"sex": "sex", "age_band": "age_band", "ethnic_group_5": "ethnic_group_5"}


@dataclass(frozen=True)
class Filters:
    area: str = ""
    period: str = ""
    sex: str = ""
    age_band: str = ""
    ethnic_group_5: str = ""

    @classmethod
    def from_query(cls, query) -> "Filters":
        return cls(**{k: query.get(k, "").strip() for k in ("area", "period", "sex", "age_band", "ethnic_group_5")})

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}

    def demographics(self) -> dict[str, str]:
        return {column: getattr(self, name) for name, column in DEMOGRAPHIC_FILTERS.items() if getattr(self, name)}


@dataclass
class Published:
    tables: dict[str, list[dict[str, str]]]
    metadata: dict
    folder: Path  # the published CSVs, which the report's chart builders read


_cache: dict[tuple, Published] = {}
_lock = threading.Lock()
_folder = tempfile.TemporaryDirectory(prefix="triangulate-web-")


def published(filters: Filters, *, unsuppressed: bool = False) -> Published:
    """Every measure's table for these filters; ``MeasuresError`` for filters that cannot be answered."""
    from triangulate.measures import write_measures

    key = (filters, unsuppressed)
    fresh = False
    with _lock:
        if key not in _cache:
            fresh = True
            out = Path(_folder.name) / f"run-{len(_cache)}"
            report = write_measures(settings.STORE, out, area=filters.area or None, period=filters.period or None,
                                    demographics=filters.demographics() or None, unsuppressed=unsuppressed)
            tables = {}
            for name, path in report.files.items():
                with Path(path).open(encoding="utf-8", newline="") as fh:
                    tables[name] = list(csv.DictReader(fh))
            _cache[key] = Published(tables, json.loads(report.metadata_file.read_text(encoding="utf-8")), out)
        result = _cache[key]
    if fresh:
        # Draw every page's chart for these filters now, with the measures, so that moving between
        # pages afterwards never waits for a chart.
        for slug in CHART_PAGES:
            chart(slug, filters, unsuppressed=unsuppressed)
    return result


def areas() -> list[str]:
    import duckdb

    try:
        con = duckdb.connect(str(settings.STORE), read_only=True)
    except duckdb.Error:
        return []
    try:
        return [r[0] for r in con.sql("SELECT DISTINCT area_code FROM content.population ORDER BY 1").fetchall()]
    except duckdb.Error:
        return []
    finally:
        con.close()


_charts: dict[tuple, tuple[str, str, str] | None] = {}
CHART_PAGES = ("needs", "disproportionality", "pathway", "continuity", "funnel", "repeat")


def chart(slug: str, filters: Filters, *, unsuppressed: bool = False) -> tuple[str, str, str] | None:
    """(SVG, caption, description) of a page's chart, drawn by the report's own chart builders
    from the same published rows as the page's table; None where the page has no chart or the
    figures are too few to draw."""
    from triangulate.report import build

    sections = {"needs": build.needs_section, "disproportionality": build.disproportionality_section,
                "pathway": build.pathway_section, "continuity": build.continuity_section,
                "funnel": build.funnel_section, "repeat": build.repeat_section}
    key = (slug, filters, unsuppressed)
    if key not in _charts:
        figures = published(filters, unsuppressed=unsuppressed)
        section = sections[slug](_report_tables(figures.folder)) if slug in sections else None
        drawn = [c for c in (section.charts if section else []) if c.svg]
        _charts[key] = (drawn[0].svg, drawn[0].caption, drawn[0].description) if drawn else None
    return _charts[key]


def _report_tables(folder: Path):
    """What the report's section builders take: the folder of published CSVs, or (in versions
    where the report reads measures by name) its ``Published`` view of that folder."""
    try:
        from triangulate.report.findings import Published as ReportTables
    except ImportError:
        return folder
    from triangulate.measures.registry import measures

    return ReportTables(folder, [m.name for m in measures()])
