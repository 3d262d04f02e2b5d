"""The Sequential Intercept Model map of one area: services placed on their intercepts, need beside them.

Intercepts 0 to 5 run left to right, each column headed by its name and decision points; below the
heading, the people with the intercept's most common needs (published counts, or the rule's symbol),
then each service working there with its capacity, then the needs with no service (the gaps). Services
on no intercept, the exits to community services, run along the bottom. Colour is never the only
signal: each gap is written out, and the table beside the map has every figure.

Drawn as plain SVG text (no script, no external font), so it sits in the PDF and under the dashboard's
Content Security Policy alike.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.compute as pc

from triangulate.standard import codelist

from .gaps import GapParameters, Service

DECISION_POINTS = {
    "0": "Crisis, s136 detention, GP",
    "1": "Arrest, police custody",
    "2": "First hearing, remand or bail",
    "3": "Prison reception, sentence",
    "4": "Release, resettlement",
    "5": "Probation, community orders",
}
#: Three intercepts to a row, so the map keeps its text at a readable size on a printed page.
PER_ROW, COLUMN, GAP, TOP = 3, 242, 12, 58
WIDTH = 12 * 2 + PER_ROW * COLUMN + (PER_ROW - 1) * GAP
INK, MUTED, RULE = "#212b32", "#4c6272", "#d8dde0"
FILL = {"service": "#e8f1f8", "gap": "#fde8e7", "short": "#fff4d6"}
EDGE = {"service": "#005eb8", "gap": "#d5281b", "short": "#ffb81c"}


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines or [""]


def _text(x: float, y: float, lines: list[str], size: int = 11, weight: str = "normal", fill: str = INK) -> str:
    spans = "".join(f'<tspan x="{x:.0f}" dy="{0 if i == 0 else size + 2}">{escape(t)}</tspan>'
                    for i, t in enumerate(lines))
    return (f'<text x="{x:.0f}" y="{y:.0f}" font-family="Arial, Helvetica, sans-serif" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}">{spans}</text>')


def _capacity(s: Service, doc: dict) -> str:
    parts = []
    for c in doc.get("capacities", []):
        unit = (c.get("unit") or {}).get("identifier")
        if unit:
            parts.append(f"{c['available']:g} {codelist('capacity_unit').label(unit).lower()}")
    return ", ".join(parts) or "capacity not stated"


def _boxes(services: list[Service], docs: dict, rows: list[dict]) -> list[tuple[str, str, bool]]:
    """(name, capacity, short) per box of a column: an organisation's three or more services at one
    intercept (the in-reach teams of every prison, say) are one box, so a column stays readable."""
    by_org: dict[str, list[Service]] = {}
    for s in services:
        by_org.setdefault((docs[s.id].get("organization") or {}).get("name", s.id), []).append(s)
    out = []
    for org, group in by_org.items():
        short = any(r["status"] == "short of capacity" and any(s.name in (r["service_names"] or "") for s in group)
                    for r in rows)
        if len(group) >= 3:
            totals: dict[str, float] = {}
            for s in group:
                for c in docs[s.id].get("capacities", []):
                    unit = (c.get("unit") or {}).get("identifier")
                    if unit:
                        totals[unit] = totals.get(unit, 0) + float(c["available"])
            cap = ", ".join(f"{v:g} {codelist('capacity_unit').label(u).lower()}" for u, v in totals.items())
            out.append((f"{org}: {len(group)} services", (cap or "capacity not stated") + " in all", short))
        else:
            out += [(s.name, _capacity(s, docs[s.id]), short and any(
                r["status"] == "short of capacity" and s.name in (r["service_names"] or "") for r in rows)) for s in group]
    return sorted(out)


def intercept_map(directory: dict, gaps: pa.Table, area: str, year: str, title: str, *, local_areas: list[str],
                  symbol: str = "*", parameters: GapParameters | None = None) -> str:
    """The map of ``area`` (a code, or the all-areas view, which covers ``local_areas``) for ``year``,
    as SVG text."""
    parameters = parameters or GapParameters()
    docs = {d["id"]: d for d in directory.get("services", []) if d.get("status") == "active"}
    services = [Service.of(d, parameters) for d in docs.values()]
    covered = [area] if area in local_areas else list(local_areas)
    here = [s for s in services if any(s.serves_area(a) for a in covered)]
    view = gaps.filter(pc.and_(pc.and_(pc.equal(gaps.column("area"), area), pc.equal(gaps.column("year"), year)),
                               pc.equal(gaps.column("breakdown"), "all"))).to_pylist()
    labels = {r["code"]: r["label"] for r in codelist("intercept").rows}
    need_labels = {r["code"]: r["label"] for r in codelist("need").rows}
    parts: list[str] = []
    bottoms: list[float] = []
    row_top = TOP
    for col, intercept in enumerate(labels):
        if col and col % PER_ROW == 0:
            row_top = max(bottoms) + 14
        x = 12 + (col % PER_ROW) * (COLUMN + GAP)
        y = row_top
        heading = _wrap(labels[intercept], 40)[:2]
        parts.append(f'<rect x="{x}" y="{y}" width="{COLUMN}" height="{26 + 12 * len(heading)}" fill="#005eb8"/>')
        parts.append(_text(x + 8, y + 17, [f"Intercept {intercept}"], 12, "bold", "#ffffff"))
        parts.append(_text(x + 8, y + 32, heading, 10, "normal", "#ffffff"))
        y += 58
        parts.append(_text(x + 4, y + 10, _wrap(DECISION_POINTS[intercept], 40), 11, "normal", MUTED))
        y += 22
        rows = [r for r in view if r["intercept"] == intercept]
        shown = sorted((r for r in rows if r["people_with_need"]), key=lambda r: -r["people_with_need"])[:3]
        if rows:
            need_text = ["People with a need seen:"] + [f"{need_labels.get(r['need_code'], r['need_code'])}: "
                                                        f"{r['people_with_need']:,}" for r in shown]
            withheld = sum(1 for r in rows if r["people_with_need"] is None)
            if withheld:
                need_text.append(f"{withheld} more withheld ({symbol})")
            parts.append(_text(x + 4, y + 10, need_text, 11, "normal", INK))
            y += 13 * len(need_text) + 8
        for name, cap_text, short in _boxes([s for s in here if intercept in s.intercepts], docs, rows):
            kind = "short" if short else "service"
            name = _wrap(name, 31)[:3]
            cap = _wrap(cap_text + (" (short of capacity)" if short else ""), 40)[:2]
            h = 10 + 14 * len(name) + 13 * len(cap)
            parts.append(f'<rect x="{x}" y="{y}" width="{COLUMN}" height="{h}" rx="3" fill="{FILL[kind]}" '
                         f'stroke="{EDGE[kind]}" stroke-width="1.5"/>')
            parts.append(_text(x + 6, y + 15, name, 12, "bold"))
            parts.append(_text(x + 6, y + 15 + 14 * len(name), cap, 11, "normal", MUTED))
            y += h + 6
        absent = sorted(need_labels.get(r["need_code"], r["need_code"]) for r in rows if r["status"] == "absent")
        if absent:
            lines = _wrap("No service for: " + ", ".join(absent), 33)
            h = 9 + 13 * len(lines)
            parts.append(f'<rect x="{x}" y="{y}" width="{COLUMN}" height="{h}" rx="3" fill="{FILL["gap"]}" '
                         f'stroke="{EDGE["gap"]}" stroke-width="1.5" stroke-dasharray="4 3"/>')
            parts.append(_text(x + 6, y + 14, lines, 11, "bold", "#8a1538"))
            y += h + 6
        bottoms.append(y)
    y = max(bottoms) + 16
    community = sorted((s for s in here if not s.intercepts), key=lambda s: s.name)
    parts.append(f'<line x1="12" x2="{WIDTH - 12}" y1="{y}" y2="{y}" stroke="{RULE}" stroke-width="2"/>')
    parts.append(_text(12, y + 20, ["Exits to community services (no intercept)"], 12, "bold"))
    y += 30
    if not community:
        parts.append(_text(12, y + 12, ["None listed in the directory."], 11, "normal", MUTED))
        y += 24
    for i, s in enumerate(community):
        x = 12 + (i % PER_ROW) * (COLUMN + GAP)
        row_y = y + (i // PER_ROW) * 60
        name = _wrap(s.name, 31)[:2]
        parts.append(f'<rect x="{x}" y="{row_y}" width="{COLUMN}" height="54" rx="3" fill="{FILL["service"]}" '
                     f'stroke="{EDGE["service"]}" stroke-width="1"/>')
        parts.append(_text(x + 6, row_y + 16, name, 12, "bold"))
        parts.append(_text(x + 6, row_y + 18 + 14 * len(name), _wrap(_capacity(s, docs[s.id]), 40)[:1], 11,
                           "normal", MUTED))
    if community:
        y += ((len(community) + PER_ROW - 1) // PER_ROW) * 60
    height = y + 16
    head = _text(12, 22, _wrap(title, 80)[:1], 15, "bold") + _text(
        12, 42, ["Services on the Sequential Intercept Model; a dashed red box: a need with no service there."],
        11, "normal", MUTED)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" '
            f'height="{height:.0f}" role="img" aria-label="{escape(title, {chr(34): "&quot;"})}">'
            f'<rect width="100%" height="100%" fill="#ffffff"/>{head}{"".join(parts)}</svg>')
