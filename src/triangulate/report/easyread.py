"""The easy-read summary: short sentences, one idea each, a picture beside each, numbers in words.

Easy-read conventions (Mencap's "Am I making myself clear?" and the Department of Health's "Making
written information easier to understand for people with learning disabilities", 2010): one idea per
sentence, everyday words, no percentages (say "about 1 in 3"), a picture beside each sentence that
shows what it says. The pictures here are drawn as SVG in code (no outside image files, nothing to
license): a row of people with some filled in for "about 1 in 3", simple signs for the other ideas.
Every figure comes from the published (disclosure-controlled) rows the rest of the report uses.
"""

from __future__ import annotations

from fractions import Fraction
from html import escape

from .findings import EasyRead, number

INK, PALE = "#005eb8", "#d8dde0"


def about(share: float) -> tuple[int, int]:
    """A share as "k in n" with n one of the everyday 2, 3, 4, 5 or 10: the first within 3 points of it,
    else tenths: 0.34 -> (1, 3); 0.52 -> (1, 2); 0.9 -> (9, 10); 0.12 -> (1, 10)."""
    share = min(max(share, 0.0), 1.0)
    for n in (2, 3, 4, 5, 10):
        k = round(share * n)
        if abs(k / n - share) <= 0.03:
            f = Fraction(k, n)
            return f.numerator, f.denominator
    f = Fraction(round(share * 10), 10)
    return f.numerator, f.denominator


def in_words(share: float) -> str:
    k, n = about(share)
    if k == 0:
        return "almost no"
    if k == n:
        return "almost all"
    return f"about {k} in {n}"


def _person(x: float, filled: bool) -> str:
    colour = INK if filled else PALE
    return (f'<circle cx="{x + 12}" cy="10" r="8" fill="{colour}"/>'
            f'<rect x="{x + 2}" y="21" width="20" height="27" rx="8" fill="{colour}"/>')


def people(k: int, n: int, label: str) -> str:
    """n people in a row, k of them filled in."""
    width = n * 26
    body = "".join(_person(i * 26, i < k) for i in range(n))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" width="{width}" '
            f'height="50" viewBox="0 0 {width} 50"><title>{escape(label)}</title>{body}</svg>')


def times(ratio: float, label: str) -> str:
    """One person beside ``ratio`` people (rounded, at most 5): "about 2 times as likely"."""
    many = max(1, min(5, round(ratio)))
    body = _person(0, True) + '<rect x="30" y="22" width="10" height="4" fill="#425563"/>' + \
        "".join(_person(46 + i * 26, True) for i in range(many))
    width = 46 + many * 26
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" width="{width}" '
            f'height="50" viewBox="0 0 {width} 50"><title>{escape(label)}</title>{body}</svg>')


SIGNS = {
    # papers: records from many services
    "records": '<rect x="4" y="8" width="26" height="34" rx="2" fill="{pale}"/><rect x="14" y="4" width="26" '
               'height="34" rx="2" fill="{ink}"/><rect x="19" y="12" width="16" height="3" fill="#fff"/><rect '
               'x="19" y="19" width="16" height="3" fill="#fff"/><rect x="19" y="26" width="10" height="3" '
               'fill="#fff"/>',
    # a padlock: details kept private
    "private": '<path d="M14 22v-7a10 10 0 0 1 20 0v7" stroke="{ink}" stroke-width="5" fill="none"/><rect x="8" '
               'y="22" width="32" height="24" rx="3" fill="{ink}"/><circle cx="24" cy="33" r="4" fill="#fff"/>',
    # a list with ticks: what should change
    "change": '<rect x="4" y="4" width="40" height="42" rx="3" fill="{pale}"/><path d="M10 15l4 4 7-8M10 30l4 4 '
              '7-8" stroke="{ink}" stroke-width="3" fill="none"/><rect x="25" y="13" width="14" height="3" '
              'fill="{ink}"/><rect x="25" y="28" width="14" height="3" fill="{ink}"/>',
    # an open door: leaving prison
    "release": '<rect x="6" y="4" width="26" height="42" fill="{pale}"/><path d="M6 4l16 6v40l-16-4z" '
               'fill="{ink}"/><path d="M34 25h12m-5-5l5 5-5 5" stroke="{ink}" stroke-width="3" fill="none"/>',
}


def sign(name: str, label: str) -> str:
    body = SIGNS[name].format(ink=INK, pale=PALE)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" width="50" '
            f'height="50" viewBox="0 0 50 50"><title>{escape(label)}</title>{body}</svg>')


def lines(data, prevalence: list[dict], groups: list[dict], low_continuity: float | None,
          continuity: list[dict]) -> list[EasyRead]:
    """The easy-read summary from the published rows, each sentence with its picture."""
    out = [EasyRead("We looked at records from the police, courts, prisons, probation and health services.",
                    sign("records", "Papers from different services"), "Papers from different services")]
    prison = next((r for r in prevalence if r["breakdown"] == "all" and r["setting"] == "prison_custody"
                   and r["need_code"] == "anxiety_or_depression"), None)
    share = number(prison.get("prevalence_percent")) if prison else None
    if share is not None:
        k, n = about(share / 100)
        words = in_words(share / 100)
        out.append(EasyRead(f"{words.capitalize()} people in prison had depression or anxiety written in their "
                            "records.", people(k, n, f"{k} of {n} people filled in"), f"{k} of {n} people"))
    black = next((r for r in groups if r["decision_point"] == "police_custody" and r["group"].startswith("Black")
                  and (r.get("significance_998") or "").endswith("higher")), None)
    rri = number(black.get("rri")) if black else None
    if rri is not None and rri >= 1.5:
        out.append(EasyRead(f"Black people were about {round(rri)} times as likely as White people to be taken to a "
                            "police station.",
                            times(rri, f"One person and {round(rri)} people"), f"One person and {round(rri)} people"))
    six_weeks = next((r for r in continuity if r["breakdown"] == "all" and r["window"] == "6 weeks"), None)
    share = number(six_weeks.get("percent_with_contact")) if six_weeks else None
    if share is not None:
        k, n = about(share / 100)
        out.append(EasyRead(f"{in_words(share / 100).capitalize()} people leaving prison with a mental health need "
                            "saw a mental health team within 6 weeks.",
                            people(k, n, f"{k} of {n} people filled in"), f"{k} of {n} people"))
        if low_continuity is not None:
            out.append(EasyRead("The others did not. That needs to change.",
                                sign("release", "A door out of prison"), "A door out of prison"))
    out.append(EasyRead("We kept people's names and details private.", sign("private", "A padlock"), "A padlock"))
    out.append(EasyRead("We hid very small numbers, so no one can be picked out.", sign("private", "A padlock"),
                        "A padlock"))
    out.append(EasyRead("At the end of this report we say what should change.", sign("change", "A list with ticks"),
                        "A list with ticks"))
    return out
