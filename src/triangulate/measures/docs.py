"""The registry as Markdown: the measures section of docs/measures.md is this text.

Regenerate after changing a measure with
``python -c "from triangulate.measures.docs import registry_markdown; print(registry_markdown())"``
and paste it under "The measures"; a test fails when the two disagree.
"""

from __future__ import annotations

from triangulate.measures.registry import measures


def registry_markdown() -> str:
    parts = []
    for m in measures():
        counts = ", ".join(f"`{c.name}`" + (f" (within `{c.within}`)" if c.within else "") for c in m.counts)
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
