"""The needs and experience questionnaire, as data: an XLSForm kept as three CSV sheets in this
package (``form/survey.csv``, ``form/choices.csv``, ``form/settings.csv``), so that a change to a
question is a one-line diff a reviewer can read.

From it ``write_form`` makes what each collection tool takes: the XLSForm workbook itself, the XForm
(by pyxform, as ODK Central and KoboToolbox build it) and a REDCap data dictionary; the ingest reads
the same ``Form`` to check every answer. Two extra columns are ours and are ignored by the tools:
``instrument`` on the survey sheet (which validated instrument an item belongs to) and ``code`` on
the choices sheet (the standard's code a choice stands for: age group, sex, ethnic group, religion,
language), so that survey answers break down by the same groups as the records.

Licences: PHQ-9 and GAD-7 are free to use and their text is shipped unchanged; the NHS Friends and
Family Test question is Crown copyright under the Open Government Licence. The SWEMWBS text may not be
redistributed: its items are shipped as ids with placeholder labels, and the group is left out of
what ``write_form`` writes unless an organisation holding the licence supplies the text
(``licensed_text``: a CSV of ``name,label`` for the seven items and the five responses).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

from triangulate.survey.expressions import ExpressionError, Node, parse, references

LANGUAGES = ("English (en)", "Easy read (en)")
LICENSED_GROUP = "swemwbs"
#: Item types the form uses and the ingest checks.
TYPES = ("select_one", "select_multiple", "text", "date", "integer", "note")


class FormError(ValueError):
    """The form's sheets break a rule the tools or the ingest rely on."""


@dataclass(frozen=True)
class Choice:
    name: str
    labels: dict[str, str]
    code: str = ""


@dataclass(frozen=True)
class Item:
    """One question (or note) of the form: its group and the group's logic folded in."""

    name: str
    type: str
    group: str
    labels: dict[str, str]
    hints: dict[str, str] = field(default_factory=dict)
    list_name: str = ""
    required: bool = False
    relevant: tuple[str, ...] = ()  # the group's cell, then the item's: all must hold
    constraint: str = ""
    constraint_messages: dict[str, str] = field(default_factory=dict)
    instrument: str = ""

    @property
    def answered(self) -> bool:
        """Whether the item takes an answer (a note does not)."""
        return self.type != "note"


@dataclass(frozen=True)
class Group:
    name: str
    labels: dict[str, str]
    hints: dict[str, str]
    relevant: str
    instrument: str


@dataclass(frozen=True)
class Form:
    title: str
    form_id: str
    version: str
    groups: tuple[Group, ...]
    items: tuple[Item, ...]
    choices: dict[str, tuple[Choice, ...]]
    licensed: bool = False  # whether the SWEMWBS text has been supplied

    @property
    def questions(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.answered)

    def item(self, name: str) -> Item:
        for i in self.items:
            if i.name == name:
                return i
        raise KeyError(name)

    def choice_names(self, item: Item) -> tuple[str, ...]:
        return tuple(c.name for c in self.choices[item.list_name])

    def code_of(self, item: str, answer: str) -> str:
        """The standard's code for a choice (ethnic group "eth_7" -> "7"), else the choice's name."""
        for c in self.choices[self.item(item).list_name]:
            if c.name == answer:
                return c.code or c.name
        return answer

    def without_licensed(self) -> Form:
        """The form as shipped to collection tools when no licence holder has supplied the SWEMWBS text."""
        return replace(self, groups=tuple(g for g in self.groups if g.name != LICENSED_GROUP),
                       items=tuple(i for i in self.items if i.group != LICENSED_GROUP))

    def logic(self, item: Item) -> tuple[Node, ...]:
        """The item's skip logic: it is asked when every one of these holds."""
        return tuple(_parsed(r) for r in item.relevant)


@cache
def _parsed(text: str) -> Node:
    return parse(text)


def _sheet(name: str) -> list[dict[str, str]]:
    text = resources.files("triangulate.survey").joinpath("form", f"{name}.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _by_language(row: dict[str, str], column: str) -> dict[str, str]:
    return {lang: row.get(f"{column}::{lang}", "") for lang in LANGUAGES if row.get(f"{column}::{lang}", "")}


def load_form(licensed_text: Path | None = None) -> Form:
    """The shipped form, checked; with ``licensed_text``, the SWEMWBS text put in."""
    settings = _sheet("settings")[0]
    choices: dict[str, list[Choice]] = {}
    for row in _sheet("choices"):
        choices.setdefault(row["list_name"], []).append(Choice(row["name"], _by_language(row, "label"), row.get("code", "")))
    groups, items, stack = [], [], []
    for n, row in enumerate(_sheet("survey"), start=2):
        kind = row["type"].strip()
        if kind == "begin_group":
            g = Group(row["name"], _by_language(row, "label"), _by_language(row, "hint"), row["relevant"].strip(),
                      row.get("instrument", ""))
            groups.append(g)
            stack.append(g)
            continue
        if kind == "end_group":
            if not stack or stack.pop().name != row["name"]:
                raise FormError(f"survey sheet row {n}: end_group {row['name']} closes no open group of that name")
            continue
        base, _, list_name = kind.partition(" ")
        if base not in TYPES:
            raise FormError(f"survey sheet row {n}: type {base} is not one the ingest can check ({', '.join(TYPES)})")
        if base.startswith("select") and list_name not in choices:
            raise FormError(f"survey sheet row {n}: no choice list {list_name}")
        relevant = tuple(r for r in [*(g.relevant for g in stack), row["relevant"].strip()] if r)
        items.append(Item(row["name"], base, stack[-1].name if stack else "", _by_language(row, "label"),
                          _by_language(row, "hint"), list_name, row["required"].strip().lower() in ("yes", "true"),
                          relevant, row["constraint"].strip(), _by_language(row, "constraint_message"),
                          row.get("instrument", "")))
    if stack:
        raise FormError(f"survey sheet: group {stack[-1].name} is never closed")
    form = Form(settings["form_title"], settings["form_id"], str(settings["version"]), tuple(groups), tuple(items),
                {k: tuple(v) for k, v in choices.items()})
    _check(form)
    return _licensed(form, licensed_text) if licensed_text else form


def _check(form: Form) -> None:
    names = [i.name for i in form.items]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise FormError(f"survey sheet: item name {name} is used twice")
        seen.add(name)
    for item in form.items:
        for cell in (*item.relevant, item.constraint):
            if not cell:
                continue
            try:
                node = _parsed(cell)
            except ExpressionError as failure:
                raise FormError(f"item {item.name}: {failure}") from None
            unknown = references(node) - seen
            if unknown:
                raise FormError(f"item {item.name}: its logic reads {', '.join(sorted(unknown))}, not in the form")
        if item.type.startswith("select"):
            for c in form.choices[item.list_name]:
                if not c.name.replace("_", "").isalnum() or c.name != c.name.lower():
                    # REDCap takes only lower-case letters, digits and underscores as a choice's code.
                    raise FormError(f"choice list {item.list_name}: choice {c.name} is not a REDCap code")


def _licensed(form: Form, path: Path) -> Form:
    """The form with the SWEMWBS text from a licence holder's CSV (``name,label``; items swemwbs_1..7
    and responses 1..5)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = {r.get("name", "").strip(): r.get("label", "").strip() for r in csv.DictReader(fh)}
    except OSError as failure:
        raise FormError(f"{path}: cannot read the licensed text ({failure.strerror})") from None
    wanted = [i.name for i in form.items if i.group == LICENSED_GROUP] + [c.name for c in form.choices["swemwbs5"]]
    missing = [w for w in wanted if not rows.get(w)]
    if missing:
        raise FormError(f"{path}: the licensed text has no label for {', '.join(missing)} "
                        "(a CSV with columns name,label: swemwbs_1 to swemwbs_7, then 1 to 5 for the responses)")
    items = tuple(replace(i, labels={lang: rows[i.name] for lang in LANGUAGES}) if i.group == LICENSED_GROUP else i
                  for i in form.items)
    choices = dict(form.choices)
    choices["swemwbs5"] = tuple(replace(c, labels={lang: rows[c.name] for lang in LANGUAGES}) for c in choices["swemwbs5"])
    return replace(form, items=items, choices=choices, licensed=True)
