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
        d = m.disclosure
        parts.append(
            f"### `{m.name}`\n\n**{m.title}**\n\n"
            f"- **Definition**: {m.definition}\n"
            f"- **Numerator**: {m.numerator}\n"
            f"- **Denominator**: {m.denominator}\n"
            f"- **Method**: {m.method}\n"
            f"- **Caveats**: {m.caveats}\n"
            f"- **Disclosure**: counts {', '.join(f'`{c}`' for c in d.counts)} controlled"
            + (f" within each {', '.join(f'`{b}`' for b in d.by)}" if d.by else "")
            + f"; cells named by {', '.join(f'`{x}`' for x in d.dimensions)}.\n"
        )
    return "\n".join(parts)
