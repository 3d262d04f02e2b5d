"""One view of a publication as people read it: words for codes, figures at their published precision.

The report, the dashboard and the exports all show figures through here, so the same number reads
the same everywhere: counts as published (rounded, or the rule's symbol where suppressed),
percentages to 1 decimal place, ratios to 2, and codes as their code list labels. This is the one
number formatter and the one place that turns a publication's cell into text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import pyarrow as pa

from triangulate.measures.registry import Measure
from triangulate.publish.dimensions import ALL_AREAS, ALL_YEARS, breakdown_title
from triangulate.publish.publication import Published
from triangulate.standard import codelist, schema

#: Decimal places each kind of figure is shown at.
DECIMALS = {"percent": 1, "ratio": 2, "rate": 1, "days": 0, "score": 1}
#: Kinds that are figures (withheld ones show the rule's symbol).
FIGURES = ("count", "percent", "ratio", "rate", "days", "score")


@cache
def _code_labels(name: str) -> dict[str, str]:
    return {r["code"]: r["label"] for r in codelist(name).rows}


@cache
def setting_label(code: str) -> str:
    """An agency table or L&D setting in words."""
    try:
        return schema(code).title
    except (KeyError, ValueError):
        pass
    labels = _code_labels("ld_setting")
    if code in labels:
        return labels[code]
    return code.replace("_", " ").capitalize() if code else code


def need_label(code: str) -> str:
    if code == "anxiety_or_depression":
        return "Anxiety or depression"
    if code == "any_need":
        return "Any need"
    return _code_labels("need").get(code, code.replace("_", " ").capitalize())


DECISIONS = {
    "police_custody": "Police custody", "court": "Court appearance", "remand": "Remand in custody",
    "sentenced": "Sentenced", "custodial_sentence": "Immediate custodial sentence", "prison_reception": "Prison reception",
    "s136": "s136 detention", "mha_detention": "Mental Health Act detention",
    "ld_screened": "L&D screening in custody", "ld_referred": "L&D referral from custody",
    "population": "Residents", "court_appearance": "Court appearance",
}


def words(kind: str, value) -> str:
    """A code as words, by the column's kind."""
    if value is None:
        return ""
    value = str(value)
    if kind == "setting":
        return setting_label(value)
    if kind == "need":
        return need_label(value)
    if kind == "decision":
        return DECISIONS.get(value, value.replace("_", " ").capitalize())
    if kind == "breakdown":
        return breakdown_title(value)
    if kind == "language":
        return _code_labels("language").get(value, value.capitalize())
    if kind == "indicator":
        from triangulate.measures.survey import INDICATOR_LABELS

        return INDICATOR_LABELS.get(value, value)
    if kind == "theme":
        from triangulate.measures.survey import THEME_LABELS

        return THEME_LABELS.get(value, value)
    if kind == "instrument":
        from triangulate.survey.scoring import INSTRUMENTS

        return INSTRUMENTS[value]["title"] if value in INSTRUMENTS else value
    if kind == "reference":  # a published figure from elsewhere, at the precision its source gives
        return f"{float(value):g}"
    return value


def figure(value, kind: str, symbol: str = "*") -> str:
    """A published figure as text: the symbol where withheld, else at the kind's precision."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return symbol
    if kind == "count":
        return f"{int(round(float(value))):,}"
    if kind in DECIMALS:
        return f"{float(value):,.{DECIMALS[kind]}f}"
    if kind == "marker":
        return {"higher": "▲ higher", "lower": "▼ lower", "similar": "● similar"}.get(str(value), str(value))
    return words(kind, value)


@dataclass
class View:
    """A publication seen for one area (or all) and one financial year (or the whole period)."""

    published: Published
    area: str = ALL_AREAS
    year: str = ALL_YEARS

    @property
    def symbol(self) -> str:
        return self.published.symbol

    def measure(self, name: str) -> Measure:
        return self.published.measure(name)

    def table(self, name: str, breakdowns: tuple[str, ...] | None = None) -> pa.Table:
        return self.published.view(name, area=self.area, year=self.year, breakdowns=breakdowns)

    def text_rows(self, name: str, breakdowns: tuple[str, ...] | None = None) -> list[dict[str, str]]:
        """The view's rows as shown: every column formatted by its kind."""
        if name not in self.published.names:
            return []
        return self.format(name, self.table(name, breakdowns), text=True)

    def plain_rows(self, name: str, breakdowns: tuple[str, ...] | None = None) -> list[dict[str, str]]:
        """The view's rows as a CSV export holds them: codes as codes, figures at their published
        precision without separators, the rule's symbol where withheld."""
        if name not in self.published.names:
            return []
        return self.format(name, self.table(name, breakdowns), text=False)

    def format(self, name: str, table: pa.Table, *, text: bool) -> list[dict[str, str]]:
        """Rows of ``table`` (some of the measure's rows) as shown (``text``) or as exported."""
        m = self.measure(name)
        kinds = {k: ("breakdown" if text and k == "breakdown" else m.kind(k)) for k in table.column_names}
        out = []
        for row in table.to_pylist():
            line = {}
            for k, v in row.items():
                kind = kinds[k]
                if text:
                    line[k] = (figure(v, kind, self.symbol) if kind in (*FIGURES, "marker")
                               else words(kind, v))
                elif v is None or (isinstance(v, float) and math.isnan(v)):
                    line[k] = self.symbol if kind in FIGURES else ""
                elif kind == "count":
                    line[k] = str(int(round(float(v))))
                elif kind in DECIMALS:
                    line[k] = f"{float(v):.{DECIMALS[kind]}f}"
                elif kind == "reference":
                    line[k] = words(kind, v)
                else:
                    line[k] = str(v)
            out.append(line)
        return out
