"""Files for analysts: one view of a publication as CSV, with every figure as the publication shows it.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) are prefixed with a quote; negative numbers stay numbers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from triangulate.publish.publication import PublicationError, Published
from triangulate.publish.view import View
from triangulate.spreadsheet import neutralise


def write_view(published: Published, out: str | Path, *, area: str, year: str) -> dict[str, tuple[Path, int]]:
    """One CSV per measure for the view, plus metadata.json (the manifest's definitions and rule)."""
    if area not in published.areas:
        raise PublicationError(f"Unknown area {area!r}: the publication has {', '.join(published.areas)}.")
    if year not in published.years:
        raise PublicationError(f"Unknown financial year {year!r}: the publication has {', '.join(published.years)}.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    view = View(published, area, year)
    written = {}
    for name in published.names:
        rows = view.plain_rows(name)
        path = out / f"{name}.csv"
        columns = list(published.table(name).column_names)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: neutralise(v) for k, v in row.items()})
        written[name] = (path, len(rows))
    manifest = published.manifest
    meta = {"publication": manifest["version"], "created_at": manifest["created_at"], "area": area, "year": year,
            "rule": manifest["rule"], "unsuppressed": manifest["unsuppressed"], "measures": manifest["measures"]}
    (out / "metadata.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return written
