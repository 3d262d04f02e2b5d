"""Comparing two groups: rate ratios and the relative rate index (RRI) of disproportionality.

Two ratios with confidence intervals on the log scale:

- :func:`rate_ratio` compares two Poisson rates, (a / Nₐ) / (b / N_b), with
  ``SE(log RR) = sqrt(1/a + 1/b)`` (the large-sample log-normal interval; Rothman, Greenland &
  Lash, *Modern Epidemiology*, 3rd edn 2008, ch. 14). Use it for events that can recur in the
  same person (admissions, detentions per head of population).
- :func:`relative_rate_index` is the disproportionality measure of the US Disproportionate
  Minority Contact (DMC) method (OJJDP *DMC Technical Assistance Manual*, 4th edn 2009) and of
  the Lammy Review (2017): at each decision point of the justice pathway, a group's rate is its
  events divided by its base, the count at the previous stage (or its population at the first
  stage), and the RRI is that rate divided by the reference group's rate (White, or White
  British). The events are a subset of the base, so each rate is a binomial proportion and
  the interval is Katz's log interval for a ratio of proportions (Katz et al. 1978):
  ``SE(log RRI) = sqrt(1/a − 1/Nₐ + 1/c − 1/N_c)``.

An RRI of 2.27 is what the Lammy Review reported as "227 Black women for every 100 White
women" sentenced to custody at the Crown Court for drug offences; :func:`per_100_reference`
and :func:`describe_per_100_reference` give that reading.

Zero counts: the log of zero has no interval. With no events in the group the ratio is 0 and
has no limits; with no events in the reference group the ratio is undefined (NaN). Both are
flagged in ``significance`` rather than hidden, so a table can say why a cell is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from triangulate.stats.estimate import (
    Confidence,
    Estimate,
    Limits,
    as_float_array,
    confidence_levels,
    estimate_fields,
    labels,
    make_estimate,
    two_sided_z,
)


HIGHER = "significantly higher"
LOWER = "significantly lower"
NOT_SIGNIFICANT = "not significant"
NO_GROUP_EVENTS = "no interval: no events in the group"
NO_REFERENCE_EVENTS = "no interval: no events in the reference group"
MISSING = "no interval: missing data"


def _log_interval(value, standard_error, levels, usable) -> list[Limits]:
    limits = []
    with np.errstate(invalid="ignore", divide="ignore"):
        log_value = np.log(value)
        for c in levels:
            half_width = two_sided_z(c) * standard_error
            lower = np.where(usable, np.exp(log_value - half_width), np.nan)
            upper = np.where(usable, np.exp(log_value + half_width), np.nan)
            limits.append(Limits(c, lower, upper))
    return limits


def rate_ratio(count_a, denominator_a, count_b, denominator_b,
               confidence: Confidence = 0.95) -> Estimate:
    """The ratio of rate a to rate b with a log-scale interval, SE = sqrt(1/a + 1/b).

    ``method`` is "log-normal (Poisson counts)", or ``None`` where a zero or missing count
    leaves no interval (a zero count a gives a ratio of 0; a zero count b an undefined ratio).
    ``workings``: ``rate_a`` and ``rate_b`` (events per 1 of denominator).
    """
    a, na, b, nb = np.broadcast_arrays(
        as_float_array(count_a, "count_a"), as_float_array(denominator_a, "denominator_a"),
        as_float_array(count_b, "count_b"), as_float_array(denominator_b, "denominator_b"))
    if np.any(a < 0) or np.any(b < 0):
        raise ValueError("counts must be greater than or equal to zero")
    if np.any(na <= 0) or np.any(nb <= 0):
        raise ValueError("denominators must be greater than zero")
    rate_a, rate_b = a / na, b / nb
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(b > 0, rate_a / rate_b, np.nan)
        standard_error = np.sqrt(1 / a + 1 / b)
    usable = (a > 0) & (b > 0)
    method = labels(a.shape, "log-normal (Poisson counts)")
    method[~usable] = None
    return make_estimate(value, _log_interval(value, standard_error, confidence_levels(confidence),
                                              usable),
                         method, labels(a.shape, "rate ratio"),
                         {"rate_a": rate_a, "rate_b": rate_b})


@dataclass(frozen=True)
class RelativeRateIndex(Estimate):
    """An :class:`Estimate` of the RRI with a significance flag for each element.

    ``significance`` (at the first confidence level asked for) is one of
    "significantly higher", "significantly lower", "not significant",
    "no interval: no events in the group", "no interval: no events in the reference group",
    "no interval: missing data". ``workings``: ``group_rate`` and ``reference_rate``.
    """

    significance: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    @property
    def significant(self) -> np.ndarray:
        """True where the interval excludes 1."""
        return np.isin(self.significance, (HIGHER, LOWER))


def relative_rate_index(group_events, group_base, reference_events, reference_base,
                        confidence: Confidence = 0.95) -> RelativeRateIndex:
    """The relative rate index of a group against a reference group at one decision point.

    ``group_events`` of ``group_base`` (e.g. 120 of 400 Black defendants remanded in custody)
    against ``reference_events`` of ``reference_base`` (e.g. 300 of 2,000 White defendants).
    The base is the count at the previous stage, or the population at the first stage; events
    must not exceed their base (use :func:`rate_ratio` for events that can recur).
    """
    a, na, c, nc = np.broadcast_arrays(
        as_float_array(group_events, "group_events"), as_float_array(group_base, "group_base"),
        as_float_array(reference_events, "reference_events"),
        as_float_array(reference_base, "reference_base"))
    if np.any(a < 0) or np.any(c < 0):
        raise ValueError("events must be greater than or equal to zero")
    if np.any(na <= 0) or np.any(nc <= 0):
        raise ValueError("bases must be greater than zero")
    if np.any(a > na) or np.any(c > nc):
        raise ValueError(
            "events cannot exceed their base at a decision point; use rate_ratio for events "
            "that can recur")
    levels = confidence_levels(confidence)
    group_rate, reference_rate = a / na, c / nc
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(c > 0, group_rate / reference_rate, np.nan)
        standard_error = np.sqrt(1 / a - 1 / na + 1 / c - 1 / nc)
    missing = np.isnan(a) | np.isnan(na) | np.isnan(c) | np.isnan(nc)
    usable = (a > 0) & (c > 0) & ~missing
    limits = _log_interval(value, standard_error, levels, usable)

    first = limits[0]
    significance = np.where(first.lower > 1, HIGHER,
                            np.where(first.upper < 1, LOWER, NOT_SIGNIFICANT)).astype(object)
    significance[(a == 0) & ~missing] = NO_GROUP_EVENTS
    significance[(c == 0) & ~missing] = NO_REFERENCE_EVENTS
    significance[missing] = MISSING

    method = labels(a.shape, "Katz log interval")
    method[~usable] = None
    return RelativeRateIndex(
        **estimate_fields(value, limits, method, labels(a.shape, "relative rate index"),
                          {"group_rate": group_rate, "reference_rate": reference_rate}),
        significance=significance,
    )


def per_100_reference(relative_rate) -> np.ndarray:
    """How many in the group for every 100 in the reference group: RRI × 100, to a whole number.

    An RRI of 2.27 gives 227 ("227 Black women for every 100 White women"). Missing stays
    missing.
    """
    return np.rint(as_float_array(relative_rate, "relative_rate") * 100)


def describe_per_100_reference(relative_rate, group: str, reference: str):
    """The Lammy Review's reading of an RRI as a sentence.

    ``describe_per_100_reference(2.27, "Black women", "White women")`` gives
    "227 Black women for every 100 White women". A missing RRI gives
    "not calculated for Black women against White women". Arrays give an object array.
    """
    per_100 = per_100_reference(relative_rate)
    out = np.empty(per_100.shape, dtype=object)
    for index, number in np.ndenumerate(per_100):
        if np.isnan(number):
            out[index] = f"not calculated for {group} against {reference}"
        else:
            out[index] = f"{int(number):,} {group} for every 100 {reference}"
    return out.item() if out.ndim == 0 else out
