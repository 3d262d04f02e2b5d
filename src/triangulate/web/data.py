"""The figures behind the pages: read from the store's latest publication, never computed here.

A viewer's pages, charts and exports read the disclosure-controlled publication; an analyst who asks
for unsuppressed figures reads the separate unsuppressed publication (made only with
``triangulate publish --unsuppressed``). Nothing runs a measure at request time, so there is no lock:
a request reads Arrow tables already in memory. At most a few publications and a bounded number of
drawn charts are kept, so memory does not grow with the filters people try.

Filters are checked against the publication's own dimensions (areas, financial years, breakdowns and
their groups, which come from the data and the code lists): anything else is a ``FilterError`` naming
the filter, shown as a 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from triangulate.publish.dimensions import ALL_AREAS, ALL_YEARS, breakdown_title
from triangulate.publish.pages import BY_SLUG
from triangulate.publish.publication import PublicationError, Published, publications_root, read_publication, versions
from triangulate.publish.view import FIGURES, View

#: Publications kept in memory (the latest of each kind, and the one before while a new one is read).
PUBLICATIONS_KEPT = 4
#: Tables kept in memory as HTML, per measure, filters and page of rows (at most ``ROWS_SHOWN`` rows each).
TABLES_KEPT = 256
#: Rows of a table shown at once; the table is paged (``?page-MEASURE=N``) and the export has them all.
ROWS_SHOWN = 50
#: Charts drawn on demand kept in memory (each a few kilobytes of SVG), for publications written
#: without their drawings.
CHARTS_KEPT = 512


class FilterError(ValueError):
    """A filter value the publication does not have."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Filters:
    area: str = ALL_AREAS
    year: str = ALL_YEARS
    breakdown: str = ""
    group: str = ""

    @classmethod
    def from_query(cls, query, published: Published) -> Filters:
        """The request's filters, each checked against the publication; ``FilterError`` otherwise."""
        area = query.get("area", "") or ALL_AREAS
        year = query.get("year", "") or ALL_YEARS
        breakdown = query.get("breakdown", "")
        group = query.get("group", "")
        if area not in published.areas:
            raise FilterError("area", "The area filter is not one of the areas in this publication: choose an area "
                                      "from the list.")
        if year not in published.years:
            raise FilterError("year", "The year filter is not one of the financial years in this publication: "
                                      "choose a year from the list.")
        offered = breakdowns(published)
        if breakdown and breakdown not in offered:
            raise FilterError("breakdown", "The breakdown filter is not one this publication offers: choose a "
                                           "breakdown from the list.")
        if group and (not breakdown or group not in offered[breakdown]):
            raise FilterError("group", "The group filter is not a group of the chosen breakdown: choose a group "
                                       "from the list.")
        return cls(area, year, breakdown, group)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v and v not in (ALL_AREAS, ALL_YEARS)}

    def rows(self, view: View, name: str, *, text: bool, limit: int | None = None,
             offset: int = 0, sort: tuple[str, bool] | None = None) -> tuple[int, list[dict]]:
        """(how many rows, ``limit`` of them from ``offset`` formatted) of a measure for these filters: every
        breakdown, or the chosen one (and its group); all people always. ``sort`` (column, descending) orders
        the rows by a figure first, withheld figures last."""
        chosen = ("all", self.breakdown) if self.breakdown else None
        t = view.table(name, chosen)
        if self.group:
            t = t.filter(pc.or_(pc.equal(t.column("breakdown"), "all"), pc.equal(t.column("group"), self.group)))
        if sort is not None:
            column, descending = sort
            values = t.column(column)
            if pa.types.is_floating(values.type):
                values = pc.if_else(pc.is_nan(values), None, values)
            order = pc.sort_indices(pa.table({"v": values}),
                                    sort_keys=[("v", "descending" if descending else "ascending", "at_end")])
            t = t.take(order)
        total = t.num_rows
        if limit is not None:
            t = t.slice(offset, limit)
        return total, view.format(name, t, text=text)


@dataclass(frozen=True)
class ShownTable:
    name: str
    title: str
    head: str
    body: str
    shown: int
    total: int
    #: The measure's registration as (heading, text) pairs: its definition one click from its table.
    about: tuple[tuple[str, str], ...] = ()
    #: Which page of rows this is (from 1), of how many, and the number of its first row.
    page: int = 1
    pages: int = 1
    first: int = 1
    #: (column, heading, sortable) of each column shown, and the order asked for: (column, descending).
    columns: tuple[tuple[str, str, bool], ...] = ()
    sort: tuple[str, bool] | None = None


def page_parameter(name: str) -> str:
    """The query parameter holding the page of a measure's table (each table of a page pages alone)."""
    return f"page-{name}"


def sort_parameter(name: str) -> str:
    """The query parameter holding the order of a measure's table: a figure's column, ``-`` first for
    largest first."""
    return f"sort-{name}"


def sortable(m) -> list[str]:
    """The columns a measure's table may be ordered by: its figures (counts, percentages, ratios, rates, days)."""
    return [c.name for c in m.columns if c.kind in FIGURES]


def parse_sort(published: Published, name: str, text: str | None) -> tuple[str, bool] | None:
    """(column, descending) from a sort parameter; ``FilterError`` naming the parameter for anything else."""
    if not text:
        return None
    column, descending = (text[1:], True) if text.startswith("-") else (text, False)
    m = published.measure(name)
    if column not in sortable(m):
        raise FilterError(sort_parameter(name), f"The table \u201c{m.title}\u201d can be ordered by one of its "
                                                "figures only: choose a column heading that is a link.")
    return column, descending


def shown_table(published: Published, filters: Filters, name: str, page: str | None = None,
                sort: str | None = None) -> ShownTable:
    """A measure's table for these filters as HTML (escaped here, once): ``ROWS_SHOWN`` rows from page
    ``page`` (the query's text; the first page by default) in words, with the registration's column labels;
    kept, so a filter set seen before costs nothing. ``FilterError`` for a page the table does not have."""
    if page in (None, ""):
        number = 1
    elif page.isdigit() and len(page) <= 6:
        number = int(page)
    else:
        number = 0
    order = parse_sort(published, name, sort)
    shown = _shown_table(str(published.folder), str(settings.STORE), name, filters, max(number, 1), order)
    if number < 1 or number > shown.pages:
        raise FilterError(page_parameter(name), f"The table \u201c{shown.title}\u201d has pages 1 to {shown.pages} "
                                                "for these filters: choose one of them.")
    return shown


@lru_cache(maxsize=TABLES_KEPT)
def _shown_table(folder: str, store: str, name: str, filters: Filters, page: int,
                 sort: tuple[str, bool] | None = None) -> ShownTable:
    from django.utils.html import escape

    from .glossary import about

    published = read(folder, store)
    m = published.measure(name)
    view = View(published, filters.area, filters.year)
    total, rows = filters.rows(view, name, text=True, limit=ROWS_SHOWN, offset=(page - 1) * ROWS_SHOWN, sort=sort)
    pages = max(1, -(-total // ROWS_SHOWN))
    if page > pages:  # refused by the caller; nothing to show
        return ShownTable(name, m.title, "", "", 0, total, about(m), page, pages, 0)
    columns = [c for c in (rows[0] if rows else {}) if c not in ("area", "year")]
    figures = set(sortable(m))
    head = "".join(f'<th scope="col">{escape(m.label(c))}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="num">{escape(r[c])}</td>' if c in figures else f"<td>{escape(r[c])}</td>"
                                    for c in columns) + "</tr>" for r in rows)
    return ShownTable(name, m.title, head, body, len(rows), total, about(m), page, pages,
                      (page - 1) * ROWS_SHOWN + 1, tuple((c, m.label(c), c in figures) for c in columns), sort)


def breakdowns(published: Published) -> dict[str, list[str]]:
    """Every breakdown the publication has and its groups, in the publication's order."""
    out: dict[str, list[str]] = {}
    for b, g in published.groups:
        if b != "all":
            out.setdefault(b, []).append(g)
    return out


def breakdown_choices(published: Published) -> list[tuple[str, str]]:
    return [(b, breakdown_title(b)) for b in breakdowns(published)]


@lru_cache(maxsize=PUBLICATIONS_KEPT)
def read(folder: str, store: str) -> Published:
    """One publication folder, read once and kept (checked against the store it was made from)."""
    return read_publication(folder, store=store)


def publication(*, unsuppressed: bool = False) -> Published:
    """The store's latest publication of the kind asked for; ``PublicationError`` saying what to run."""
    root = publications_root(settings.STORE, unsuppressed=unsuppressed)
    found = versions(root)
    if not found:
        if unsuppressed:
            raise PublicationError("There is no unsuppressed publication of this store: an administrator makes one "
                                   "with `triangulate publish --unsuppressed`.")
        raise PublicationError("There is no publication of this store yet: an administrator makes one with "
                               "`triangulate publish`.")
    return read(str(found[-1]), str(settings.STORE))


def view(filters: Filters, published: Published) -> View:
    return View(published, filters.area, filters.year)


@lru_cache(maxsize=CHARTS_KEPT)
def _charts(folder: str, store: str, slug: str, area: str, year: str) -> tuple[tuple[str, str, str, str], ...]:
    """Drawn on demand, for a publication written without its drawings (``triangulate publish`` draws
    them; a publication made by other code may not have)."""
    from triangulate.report import build

    section = build.SECTIONS[slug](View(read(folder, store), area, year))
    return tuple((c.svg, c.caption, c.description, c.spec_text) for c in section.charts if c.svg)


def charts(slug: str, filters: Filters, published: Published) -> tuple[tuple[str, str, str, str], ...]:
    """(SVG, caption, description, Vega-Lite specification as JSON or "") of each of a page's charts, in the page's order, drawn by the report's
    own section builder from the same publication and view as the page's tables (when the publication was
    written, if it holds its drawings); none where the page has no chart or too few figures."""
    from triangulate.report import build

    if slug not in BY_SLUG or slug not in build.SECTIONS:
        return ()
    if published.has_charts:
        return tuple((d["svg"], d["caption"], d["description"], d.get("spec") or "")
                     for d in published.charts_of(slug, filters.area, filters.year))
    return _charts(str(published.folder), str(settings.STORE), slug, filters.area, filters.year)


@lru_cache(maxsize=CHARTS_KEPT)
def interactive(spec_text: str) -> str:
    """The Vega specification (JSON) of a chart's Vega-Lite specification, compiled once and kept."""
    import json

    from triangulate.report.charts import interactive as compile_chart

    return json.dumps(compile_chart(json.loads(spec_text)), separators=(",", ":"))


@lru_cache(maxsize=TABLES_KEPT)
def _glance(folder: str, store: str, area: str, year: str) -> tuple:
    from triangulate.report.hna import glance as gather

    return tuple(gather(read(folder, store), area, year))


def glance(published: Published, filters: Filters, measures: tuple[str, ...] | None = None) -> list:
    """The headline figures at a glance of a view (``triangulate.report.hna.glance``; those of ``measures``
    only, for a figure page), gathered once per publication, area and year and kept (seven views of the
    publication are read to make them)."""
    from triangulate.report.hna import INDICATORS

    keys = {i.key for i in INDICATORS if measures is None or i.measure in measures}
    return [g for g in _glance(str(published.folder), str(settings.STORE), filters.area, filters.year)
            if g.key in keys]
