"""Disclosure control: suppression and rounding applied to every table that leaves the project.

Why this room exists: the counts we publish are of people with mental health problems in
contact with the police, courts, prisons and probation, broken down by ethnic group and area.
A count of 2 Black women under a Mental Health Act section in one borough can identify them.
Every table that leaves (report, dashboard, export) passes through here first.

How it is designed:

- **A rule is a value** (:class:`DisclosureRule`): threshold, rounding base, whether zero is
  published, the symbol shown, and a name, description and source written into the metadata of
  every table it produces. Published rules are data with their sources (``data/rules.csv``):
  :data:`NHS_ENGLAND` (the default: 1-7 suppressed, the rest rounded to the nearest 5, totals
  rounded after summing) and :data:`ONS_SRO` (threshold 10, no rounding).
- **Margins are protected, with a stated guarantee.** A suppressed count cannot be worked out
  exactly from the published cells and totals by a reader who knows the rule (``margins.py``
  says precisely what that reader knows); where rounding alone does not ensure that, the
  smallest publishable counts are suppressed as well (secondary suppression).
- **Arrow in, Arrow out** (:func:`apply_disclosure_control`): long-form tables with dimension
  columns, count columns and derived figures (rates, intervals, ratios), which are withheld with
  their count. The result says for each cell why it looks as it does (:class:`CellStatus`).
- **Nothing from the rest of the package**: this room sits at the edge of the flow and must be
  usable on any table, whoever made it.

See ``docs/disclosure.md`` for the rules, the guarantee and a worked example.
"""

from triangulate.disclosure.rules import NHS_ENGLAND, ONS_SRO, DisclosureRule, preset, presets
from triangulate.disclosure.tables import CellStatus, PublishedTable, add_totals, apply_disclosure_control

__all__ = [
    "NHS_ENGLAND",
    "ONS_SRO",
    "CellStatus",
    "DisclosureRule",
    "PublishedTable",
    "add_totals",
    "apply_disclosure_control",
    "preset",
    "presets",
]
