"""Charts for the report and the dashboard: Vega-Lite specifications, drawn as SVG by vl-convert (no
browser). The functions below return a specification (or None when there is nothing to draw);
``svg`` draws one. Drawing is the slow part (tens of milliseconds a chart), so the publication draws
every view's charts once when it is written (``build.draw_charts``) and the report and the dashboard
read the drawings.

Every chart is drawn from the same published rows as the table beside it; suppressed values
("*") are left out of the chart and shown as suppressed in the table. Colours are from a
colour-blind-safe palette and the fonts are the system's (no web fonts are fetched).
"""

from __future__ import annotations

import vl_convert as vlc

FONT = "DejaVu Sans, Arial, sans-serif"
PALETTE = ["#005eb8", "#ed8b00", "#009639", "#7c2855", "#425563", "#00a499", "#ae2573", "#768692"]


def full(spec: dict) -> dict:
    """A chart's whole Vega-Lite specification: the house style (fonts, palette) around ``spec``."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "config": {"font": FONT, "axis": {"labelFontSize": 11, "titleFontSize": 12},
                   "legend": {"labelFontSize": 11, "titleFontSize": 12, "labelLimit": 320},
                   "header": {"labelFontSize": 12, "labelFontWeight": "bold", "labelLimit": 320},
                   "range": {"category": PALETTE}, "view": {"stroke": None}},
        **spec,
    }


def svg(spec: dict | None) -> str:
    if not spec:
        return ""
    text = vlc.vegalite_to_svg(full(spec))
    # The SVG is inlined in the page: its role and label come from the figure around it.
    return text.replace("<svg ", '<svg role="img" aria-hidden="true" focusable="false" ', 1)


#: A tooltip's name for each field the charts draw from (the encoding's own title wins where it has one);
#: scaled positions and drawing aids are not figures and are left out of the tooltip.
TOOLTIP_LABELS = {
    "area": "Area", "indicator": "Figure", "decision": "Decision point", "group": "Ethnic group",
    "category": "Group", "setting": "Setting", "window": "Period", "year": "Financial year",
    "from": "From", "to": "To", "people": "People", "value": "Value", "lower": "Lower limit",
    "upper": "Upper limit", "rri": "Relative rate index", "n": "People (denominator)", "level": "Control limits",
    "centre": "All areas", "verdict": "Against all areas", "shown": "Value", "benchmark": "All areas",
}
#: Fields whose tooltip name is the chart's axis title where it has one (it says what the value is).
TOOLTIP_TITLED = {"value", "people"}
TOOLTIP_HIDDEN = {"x", "low", "q1", "q3", "high"}
#: Figures in a tooltip: to two decimal places at most, trailing zeros dropped (12.3, 1.85, 300), which is
#: never more precise than the published figure (percentages to 1 dp, ratios to 2 dp, counts whole).
TOOLTIP_FORMAT = ",.2~f"


def _tooltips(node: dict, facets: tuple[str, ...] = ()) -> None:
    """Give every mark of a Vega-Lite specification a tooltip of its figures under readable names: the
    facet's fields, then each encoded field (and any listed in ``usermeta.tooltip``), once each."""
    facet = node.get("facet")
    if isinstance(facet, dict):
        fields = [facet["field"]] if "field" in facet else [f["field"] for f in facet.values()
                                                           if isinstance(f, dict) and "field" in f]
        facets = facets + tuple(fields)
    extra = tuple((node.get("usermeta") or {}).get("tooltip") or ())
    own = [(c["field"], c.get("title"), c.get("type", "quantitative" if channel in ("x2", "y2") else "nominal"))
           for channel, c in (node.get("encoding") or {}).items() if isinstance(c, dict) and "field" in c]
    if "mark" in node and [f for f, _, _ in own if f not in TOOLTIP_HIDDEN]:  # a mark that carries a figure
        seen, tips = set(), []
        for field, title, kind in ([(f, None, "nominal") for f in facets] + own
                                   + [(f, None, "nominal") for f in extra]):
            if field in seen or field in TOOLTIP_HIDDEN:
                continue
            seen.add(field)
            named = title if field in TOOLTIP_TITLED and isinstance(title, str) else None
            tip = {"field": field, "type": kind,
                   "title": named or TOOLTIP_LABELS.get(field, field.replace("_", " ").capitalize())}
            if kind == "quantitative":
                tip["format"] = TOOLTIP_FORMAT
            tips.append(tip)
        if tips:
            node["encoding"] = {**node["encoding"], "tooltip": tips}
    for key in ("layer", "spec"):
        child = node.get(key)
        for c in child if isinstance(child, list) else [child] if isinstance(child, dict) else []:
            if extra and "usermeta" not in c:
                c["usermeta"] = {"tooltip": list(extra)}
            _tooltips(c, facets)


def interactive(whole: dict) -> dict:
    """The Vega specification the dashboard draws in the browser from a chart's whole Vega-Lite
    specification (``full``): the same chart, every mark with a tooltip of its figures under the names a
    reader knows (``TOOLTIP_LABELS``), not the chart's field names. Compiled here by the same vl-convert
    (and so the same Vega) that draws the SVG, so the browser needs Vega only."""
    import copy

    spec = copy.deepcopy(whole)
    _tooltips(spec)
    return vlc.vegalite_to_vega(spec)


def short_group(label: str) -> str:
    """An ethnic group's label as a chart's axis names it: its first word ("Black, Black British, ..." ->
    "Black"; "Mixed or Multiple ethnic groups" -> "Mixed"); the table beside the chart has the whole."""
    return label.split()[0].rstrip(",") if label else label


def forest(values: list[dict], *, width: int = 250) -> dict | None:
    """RRI with 95% intervals on a log axis, one panel per decision point; a dashed line at 1.

    Two panels a row, so that at the width of an A4 page the labels print at about their own size
    (three a row shrank them to about two thirds)."""
    if not values:
        return None
    layer = {
        "layer": [
            {"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#768692"},
             "encoding": {"x": {"datum": 1}}},
            {"mark": {"type": "rule", "strokeWidth": 2},
             "encoding": {"x": {"field": "lower", "type": "quantitative"}, "x2": {"field": "upper"},
                          "y": {"field": "group", "type": "nominal", "title": None},
                          "color": {"field": "group", "type": "nominal", "legend": None}}},
            {"mark": {"type": "point", "filled": True, "size": 60},
             "encoding": {"x": {"field": "rri", "type": "quantitative", "scale": {"type": "log"},
                                "title": "RRI (log scale)"},
                          "y": {"field": "group", "type": "nominal", "title": None},
                          "color": {"field": "group", "type": "nominal", "legend": None}}},
        ],
        "width": width, "height": {"step": 22},
    }
    panels = list(dict.fromkeys(v["decision"] for v in values))  # in the order given (pathway order)
    return {"data": {"values": values}, "facet": {"field": "decision", "type": "nominal", "title": None,
                                                  "sort": panels},
            "columns": 2, "spec": layer, "resolve": {"scale": {"y": "independent"}}}


def intervals(values: list[dict], *, category: str, colour: str | None = None, title: str,
              width: int = 420, colour_order: list[str] | None = None) -> dict | None:
    """Percentages with 95% intervals as points and bars, one row per category; ``colour_order``: the
    colours' order in the legend and within each row (default: alphabetical)."""
    if not values:
        return None
    encoding_colour = {"color": {"field": colour, "type": "nominal", "title": None,
                                 **({"scale": {"domain": colour_order}} if colour_order else {})}} if colour else {}
    y = {"field": category, "type": "nominal", "title": None, "sort": None,
         # a gap between categories, so each one's settings read as a group
         **({"scale": {"paddingInner": 0.3}} if colour else {})}
    offset = {"yOffset": {"field": colour, "type": "nominal", **({"sort": colour_order} if colour_order else {})}} \
        if colour else {}
    return {
        "data": {"values": values}, "width": width, "height": {"step": 14 if colour else 20},
        "layer": [
            {"mark": {"type": "rule", "strokeWidth": 2},
             "encoding": {"x": {"field": "lower", "type": "quantitative"}, "x2": {"field": "upper"},
                          "y": y, **offset, **encoding_colour}},
            {"mark": {"type": "point", "filled": True, "size": 50},
             "encoding": {"x": {"field": "value", "type": "quantitative", "title": title,
                                "scale": {"domain": [0, 100]}},
                          "y": y, **offset, **encoding_colour}},
        ],
    }


def stacked(values: list[dict], *, row: str, part: str, value: str, title: str, width: int = 420) -> dict | None:
    """Horizontal stacked bars: for each row, how its total splits into parts (flows, funnels)."""
    if not values:
        return None
    return {
        "data": {"values": values}, "width": width, "height": {"step": 22},
        "mark": {"type": "bar"},
        "encoding": {"y": {"field": row, "type": "nominal", "title": None, "sort": None},
                     "x": {"field": value, "type": "quantitative", "title": title},
                     "color": {"field": part, "type": "nominal", "title": None}},
    }


def bars(values: list[dict], *, category: str, value: str, title: str, width: int = 420) -> dict | None:
    if not values:
        return None
    return {
        "data": {"values": values}, "width": width, "height": {"step": 20},
        "mark": {"type": "bar", "color": PALETTE[0]},
        "encoding": {"y": {"field": category, "type": "nominal", "title": None, "sort": None},
                     "x": {"field": value, "type": "quantitative", "title": title}},
    }


def trend(values: list[dict], *, order: list[str] | None = None, width: int = 200) -> dict | None:
    """One small line chart per figure: the value each year as a dot and line, its 95% interval as a bar."""
    if not values:
        return None
    x = {"field": "year", "type": "ordinal", "title": None}
    layer = {
        "layer": [
            {"mark": {"type": "rule", "strokeWidth": 2, "color": PALETTE[4]},
             "encoding": {"x": x, "y": {"field": "lower", "type": "quantitative", "title": None,
                                        "scale": {"zero": False}},
                          "y2": {"field": "upper"}}},
            {"mark": {"type": "line", "point": {"filled": True, "size": 50}, "color": PALETTE[0]},
             "encoding": {"x": x, "y": {"field": "value", "type": "quantitative", "title": None}}},
        ],
        "width": width, "height": 110,
    }
    present = [o for o in order or [] if any(v["indicator"] == o for v in values)]
    return {"data": {"values": values}, "facet": {"field": "indicator", "type": "nominal", "sort": present or None,
                                                  "title": None, "header": {"labelLimit": 300,
                                                                            "labelFontSize": 10}},
            "columns": 2, "spec": layer, "resolve": {"scale": {"y": "independent"}}}


def funnel(points: list[dict], limits: list[dict], centre: float, *, title: str, width: int = 420) -> dict | None:
    """A funnel plot: each area's percentage against its denominator, with the all-areas line and
    95% and 99.8% control limits."""
    if not points:
        return None
    x = {"field": "n", "type": "quantitative", "title": "People (denominator)", "scale": {"zero": False}}
    limit_y = {"type": "quantitative", "title": title, "scale": {"zero": False}}
    return {
        "width": width, "height": 260,
        "layer": [
            {"data": {"values": limits}, "mark": {"type": "line", "strokeDash": [4, 3], "color": PALETTE[4]},
             "encoding": {"x": x, "y": {"field": "lower", **limit_y}, "detail": {"field": "level"},
                          "strokeWidth": {"field": "level", "type": "nominal", "legend": None,
                                          "scale": {"range": [1.5, 0.8]}}}},
            {"data": {"values": limits}, "mark": {"type": "line", "strokeDash": [4, 3], "color": PALETTE[4]},
             "encoding": {"x": x, "y": {"field": "upper", **limit_y}, "detail": {"field": "level"},
                          "strokeWidth": {"field": "level", "type": "nominal", "legend": None,
                                          "scale": {"range": [1.5, 0.8]}}}},
            {"data": {"values": [{"centre": centre}]}, "mark": {"type": "rule", "color": PALETTE[4]},
             "encoding": {"y": {"field": "centre", "type": "quantitative"}}},
            {"data": {"values": points}, "mark": {"type": "point", "filled": True, "size": 70, "color": PALETTE[0]},
             "encoding": {"x": x, "y": {"field": "value", **limit_y}}, "usermeta": {"tooltip": ["area"]}},
            {"data": {"values": points}, "mark": {"type": "text", "dx": 6, "align": "left", "fontSize": 10},
             "encoding": {"x": x, "y": {"field": "value", **limit_y}, "text": {"field": "area"}}},
        ],
    }


#: A spine chart's marks: the verdict against the benchmark, its colour and its shape (so the verdict
#: does not rest on colour alone; the table beside has it in words).
SPINE_VERDICTS = (("higher", "Higher", "#003087", "triangle-up"), ("similar", "Similar", "#ffb81c", "circle"),
                  ("lower", "Lower", "#41b6e6", "triangle-down"), ("not compared", "Not compared", "#768692", "square"))


def spine(rows: list[dict], *, width: int = 360) -> dict | None:
    """A spine chart per area, as Fingertips draws them: one line per indicator, the benchmark (all
    areas) at the centre line, the lightest bar the range of the areas' values and the darker bar their
    middle half (25th to 75th percentile), each scaled so the area furthest from the benchmark reaches
    an end; the area's own value as a mark, coloured and shaped by its verdict against the benchmark.

    ``rows``: one per area and indicator with ``area``, ``indicator``, ``verdict`` and the scaled
    positions ``low``, ``q1``, ``q3``, ``high``, ``x`` (0 to 1, the benchmark at 0.5); ``shown`` and
    ``benchmark``, where given, are the area's figure and the benchmark as published (the tooltip's).
    """
    if not rows:
        return None
    y = {"field": "indicator", "type": "nominal", "title": None, "sort": None,
         "axis": {"labelLimit": 260, "labelFontSize": 11}}
    x = {"type": "quantitative", "scale": {"domain": [0, 1]}, "axis": None}
    codes = [v[0] for v in SPINE_VERDICTS]
    verdict_scale = {"domain": [v[1] for v in SPINE_VERDICTS], "range": [v[2] for v in SPINE_VERDICTS]}
    shape_scale = {"domain": [v[1] for v in SPINE_VERDICTS], "range": [v[3] for v in SPINE_VERDICTS]}
    values = [{**r, "verdict": dict(zip(codes, (v[1] for v in SPINE_VERDICTS))).get(r["verdict"], "Not compared")}
              for r in rows]
    areas = list(dict.fromkeys(r["area"] for r in rows))
    return {
        "data": {"values": values},
        "facet": {"row": {"field": "area", "type": "nominal", "sort": areas, "title": None,
                          "header": {"labelAngle": 0, "labelAlign": "left", "labelOrient": "top",
                                     "labelFontSize": 12, "labelFontWeight": "bold"}}},
        "spacing": 8, "usermeta": {"tooltip": [f for f in ("shown", "benchmark") if f in rows[0]]},
        "spec": {
            "width": width, "height": {"step": 16},  # compact: a chapter's table and chart fit a page together
            "layer": [
                {"mark": {"type": "bar", "color": "#e8edee", "height": 11},
                 "encoding": {"y": y, "x": {"field": "low", **x}, "x2": {"field": "high"}}},
                {"mark": {"type": "bar", "color": "#aeb7bd", "height": 11},
                 "encoding": {"y": y, "x": {"field": "q1", **x}, "x2": {"field": "q3"}}},
                {"mark": {"type": "tick", "color": "#212b32", "thickness": 2, "size": 16},
                 "encoding": {"y": y, "x": {"datum": 0.5, **x}}},
                {"mark": {"type": "point", "filled": True, "size": 90, "stroke": "#212b32", "strokeWidth": 0.8},
                 "encoding": {"y": y, "x": {"field": "x", **x},
                              "color": {"field": "verdict", "type": "nominal", "scale": verdict_scale,
                                        "legend": {"title": "Against all areas", "orient": "bottom"}},
                              "shape": {"field": "verdict", "type": "nominal", "scale": shape_scale,
                                        "legend": {"title": "Against all areas", "orient": "bottom"}}}},
            ],
        },
    }
