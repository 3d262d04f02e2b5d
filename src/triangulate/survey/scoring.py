"""Instrument scores by the instruments' own rules and published cut-offs.

- **PHQ-9** (Kroenke, Spitzer and Williams 2001, J Gen Intern Med 16:606-13): the sum of items 1 to 9,
  each 0 to 3 (0 to 27). Severity 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe,
  20-27 severe; 10 or more is the usual threshold for probable depression (caseness), as NHS Talking
  Therapies uses it.
- **GAD-7** (Spitzer, Kroenke, Williams and Löwe 2006, Arch Intern Med 166:1092-7): the sum of items 1
  to 7, each 0 to 3 (0 to 21). 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe; 10 or more is
  probable anxiety disorder (caseness; 8 in NHS Talking Therapies, a deliberate difference not taken here).
- **SWEMWBS** (Stewart-Brown et al. 2009): the sum of the 7 items, each 1 to 5 (7 to 35), the raw score.
  The published metric conversion and its cut-offs come with the licence and are not shipped, so no band.

A score is given only where every item is answered (no prorating): the form makes every item required,
so a missing item means the instrument was not completed.
"""

from __future__ import annotations

INSTRUMENTS = {
    "phq9": {"items": tuple(f"phq9_{k}" for k in range(1, 10)),
             "bands": ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe")),
             "caseness": 10, "title": "PHQ-9 depression score"},
    "gad7": {"items": tuple(f"gad7_{k}" for k in range(1, 8)),
             "bands": ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")),
             "caseness": 10, "title": "GAD-7 anxiety score"},
    "swemwbs": {"items": tuple(f"swemwbs_{k}" for k in range(1, 8)), "bands": (), "caseness": None,
                "title": "SWEMWBS wellbeing score (raw)"},
}


def band_of(instrument: str, score: float) -> str | None:
    out = None
    for lowest, name in INSTRUMENTS[instrument]["bands"]:
        if score >= lowest:
            out = name
    return out


def score_response(answers: dict[str, str]) -> list[tuple[str, float, str | None, bool | None]]:
    """(instrument, score, band, caseness) for each instrument the response completed."""
    out = []
    for name, spec in INSTRUMENTS.items():
        values = [answers.get(i, "") for i in spec["items"]]
        if not all(v.isdigit() for v in values):
            continue
        score = float(sum(int(v) for v in values))
        threshold = spec["caseness"]
        out.append((name, score, band_of(name, score), None if threshold is None else score >= threshold))
    return out
