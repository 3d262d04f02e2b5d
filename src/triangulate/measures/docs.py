"""The registry as Markdown: the measures section of docs/measures.md is this text.

Regenerate after changing a measure with ``make docs`` (``update_measures_doc``); a test fails when
the two disagree.
"""

from __future__ import annotations

from triangulate.measures.registry import measures


def _within(within) -> str:
    """Where a count lies within another: a name, or a rule (a function of the row) said in words."""
    if not within:
        return ""
    if callable(within):
        return " (within another count in some rows only: see the method)"
    return f" (within `{within}`)"


def registry_markdown() -> str:
    parts = []
    for m in measures():
        counts = ", ".join(f"`{c.name}`" + _within(c.within) for c in m.published_counts)
        parts.append(
            f"### `{m.name}`\n\n**{m.title}**\n\n"
            f"- **Definition**: {m.definition}\n"
            f"- **Numerator**: {m.numerator}\n"
            f"- **Denominator**: {m.denominator}\n"
            f"- **Method**: {m.method}\n"
            f"- **Caveats**: {m.caveats}\n"
            f"- **National definition**: {m.source}\n"
            f"- **Rows**: one per view (area, year), {', '.join(f'`{k}`' for k in m.keys)} and group of "
            f"{', '.join(f'`{b}`' for b in m.breakdowns)}"
            + (" and the two-way groups" if m.intersections else "") + "\n"
            f"- **Counts** (disclosure-controlled, linked across every view and measure): {counts}\n"
        )
    return "\n".join(parts)


HEADING = "## The measures\n\n"


def update_measures_doc(path) -> None:
    """Rewrite the section under "## The measures" (the end of docs/measures.md) from the registry."""
    from pathlib import Path

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    head = text[: text.index(HEADING) + len(HEADING)]
    path.write_text(head + registry_markdown(), encoding="utf-8")
