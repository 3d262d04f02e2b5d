"""Funnel plots: control limits at 95% and 99.8% around an average, and which areas fall outside.

A funnel plot shows each area's value against its size (population, expected events or
events) with control limits around the average of all areas; the limits narrow as the size
grows. Points outside the 95% limits ("2 sigma", p = 0.025 each side) or the 99.8% limits
("3 sigma", p = 0.001 each side) are flagged. This follows the PHE Technical Guide
"Funnel plots" (after Spiegelhalter 2005) as PHEindicatormethods implements it in
``calculate_funnel_limits``, ``assign_funnel_significance`` and ``calculate_funnel_points``:

- **proportions** (method "Wilson"): the limits at size n are the proportions whose Wilson
  score interval just reaches the average p̄. Inverting the score test gives them in closed
  form, ``p̄ ± z·sqrt(p̄(1 − p̄)/n)`` (the reference's ``sigma_adjustment`` is an expanded form
  of the same expression), kept within 0% to 100%.
- **ratios** (indirectly standardised ratios, method "Poisson"): for O observed events, the
  expected events E at which O sits exactly on a Poisson limit of E; the limit is O / E.
  ``ratio_type="count"`` reports O/E − 1 (the excess over expected), ``"isr"`` reports
  O/E × ``multiplier``.
- **rates** (crude or directly standardised, method "Poisson"): as ratios, with the expected
  events E = population × average rate, so the population at a limit is E / average; each
  limit is reported per ``multiplier`` and the population per year of data. For DSRs the
  population is derived from events and rate (events / rate × multiplier); areas with fewer
  than 10 events are not assessed, as DSRs are not published below 10.

The Poisson expected events are found, as in the reference (which follows the Fingertips Excel
funnel tool), by bisection on v = E / (E + O + 1) in 23 halvings, with the Poisson probability
summed term by term and truncated as the tool truncates it. The limits therefore match the
reference's published values rather than the exact chi-square quantile, from which they
differ by about 1e-6 events (up to 1e-4 events where the truncation flips a halving).
Significance for ratios and rates is assessed instead with the exact (below 10 events) or
Byar's limits of the area's own count, as the reference does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from triangulate.stats.estimate import as_float_array
from triangulate.stats.limits import count_limits

HIGH_0_001 = "High (0.001)"
HIGH_0_025 = "High (0.025)"
LOW_0_001 = "Low (0.001)"
LOW_0_025 = "Low (0.025)"
NOT_SIGNIFICANT = "Not significant"
NOT_APPLICABLE_DSR = "Not applicable for events less than 10 for dsrs"
#: Every label :func:`funnel_significance` can give, in the reference's factor order.
SIGNIFICANCE_LEVELS = (HIGH_0_001, HIGH_0_025, LOW_0_001, LOW_0_025, NOT_SIGNIFICANT,
                       NOT_APPLICABLE_DSR)

FUNNEL_POINT_COUNT = 100
# The Fingertips funnel tool's numerical settings, kept so results match the published limits:
SERIES_TRUNCATION = 1e-10  # stop summing Poisson terms below this share of the running total
SERIES_RESCALE = 1e30  # rescale the running sums above this to avoid overflow
BISECTION_STOP = 1e-7  # stop halving once the step in v is no larger than this
STATISTICS = ("proportion", "ratio", "rate")
_Z_95 = float(norm.ppf(0.975))
_Z_998 = float(norm.ppf(0.999))


@dataclass(frozen=True)
class FunnelLimits:
    """The 100 plotting points of a funnel plot's control lines.

    ``points`` is the x axis: the population (proportions), the observed events (ratios) or the
    events (rates), as ``axis`` says. ``lower_95 … upper_998`` are the limits at each point, on
    the scale of the plotted values. For ratios the ``*_denominator`` arrays are the expected
    events at each limit; for rates the population per year at each limit; for proportions
    they are ``None`` (the x axis is the denominator). ``baseline`` is the average line
    (0 for count ratios, ``multiplier`` for ISR ratios).
    """

    statistic: str
    method: str
    axis: str
    points: np.ndarray
    lower_95: np.ndarray
    upper_95: np.ndarray
    lower_998: np.ndarray
    upper_998: np.ndarray
    baseline: float
    lower_95_denominator: np.ndarray | None = None
    upper_95_denominator: np.ndarray | None = None
    lower_998_denominator: np.ndarray | None = None
    upper_998_denominator: np.ndarray | None = None


@dataclass(frozen=True)
class FunnelPoints:
    """Where each area's point goes on a rate funnel plot: its rate and its population per year.

    Both are missing for a DSR with fewer than 10 events.
    """

    rate: np.ndarray
    denominator: np.ndarray


def _round_axis_down(x: float) -> float:
    """95% of x, rounded down to its leading digit: a tidy lower end for the axis."""
    if x == 0:
        return 0
    digits = len(str(math.floor(x * 0.95))) - 1
    return math.floor(x * 0.95 / 10**digits) * 10**digits


def _round_axis_up(x: float) -> float:
    """105% of x, rounded up to its two leading digits: a tidy upper end for the axis."""
    if x == 0:
        return 0
    digits = len(str(math.ceil(x * 1.05))) - 2
    return math.ceil(x * 1.05 / 10.0**digits) * 10.0**digits


def _plotting_points(axis_minimum: float, axis_maximum: float, statistic: str) -> np.ndarray:
    # Geometric steps so the points crowd where the funnel bends; each at least 1 further on.
    points = [max(1, axis_minimum)]
    for j in range(2, FUNNEL_POINT_COUNT + 1):
        offset = j - 1 if statistic == "ratio" else j
        previous = points[-1]
        growth = (axis_maximum / previous) ** (1 / (FUNNEL_POINT_COUNT + 1 - offset))
        step = round(growth * previous)
        points.append(max(step, previous + 1))
    return np.array(points, dtype=float)


def _poisson_probability_by_series(z: np.ndarray, first: np.ndarray, last: np.ndarray
                                   ) -> np.ndarray:
    """P(first ≤ X ≤ last) for X ~ Poisson(z), summed term by term as the reference sums it.

    The Fingertips funnel tool (and so PHEindicatormethods' ``poisson_cis``) adds the terms
    zᵏ/k! until k passes z and the next term is below 1e-10 of the running total, rescaling by
    1e30 to avoid overflow. Truncating there leaves out a tail of a few 1e-10, which is enough
    to flip a bisection step near p = 0.001 (e.g. 328 observed events); the same sum, in the
    same floating-point order, gives the reference's limits exactly.
    """
    q = np.ones_like(z)
    total = np.zeros_like(z)
    in_range = np.zeros_like(z)
    running = np.ones(z.shape, dtype=bool)
    k = 0
    while True:
        running &= (k <= z) | (q > total * SERIES_TRUNCATION)
        if not running.any():
            break
        total = np.where(running, total + q, total)
        in_range = np.where(running & (k >= first) & (k <= last), in_range + q, in_range)
        rescale = running & (total > SERIES_RESCALE)
        in_range = np.where(rescale, in_range / SERIES_RESCALE, in_range)
        total = np.where(rescale, total / SERIES_RESCALE, total)
        q = np.where(rescale, q / SERIES_RESCALE, q)
        k += 1
        q = np.where(running, q * z / k, q)
    return in_range / total


def _poisson_expected_at_limits(observed: np.ndarray) -> dict[str, np.ndarray]:
    """For each observed count O, the expected events E that put O on each Poisson limit.

    ``lower_*``: P(X ≤ O | E) = p, E above O, so O/E is the lower ratio limit;
    ``upper_*``: P(X ≥ O | E) = p, E below O, the upper ratio limit; p = 0.025 (95%) or 0.001
    (99.8%). Bisection on v = E / (E + O + 1), stopped where the reference stops it. The four
    limits are solved together so the term-by-term sums run once per halving.
    """
    names = ("lower_95", "upper_95", "lower_998", "upper_998")
    p = np.array([0.025, 0.025, 0.001, 0.001])[:, None]
    upper_tail = np.array([False, True, False, True])[:, None]
    o = np.broadcast_to(observed, (4, observed.size)).astype(float)
    first = np.where(upper_tail, o, 0.0)
    last = np.where(upper_tail, 1e10, o)
    v = np.full(o.shape, 0.5)
    dv = 0.5
    while dv > BISECTION_STOP:
        dv /= 2
        probability = _poisson_probability_by_series((1 + o) * v / (1 - v), first, last)
        step_down = np.where(upper_tail, probability > p, probability < p)
        v = np.where(step_down, v - dv, v + dv)
    expected = (1 + o) * v / (1 - v)
    return dict(zip(names, expected))


def _multiplier_text(multiplier: float) -> str:
    return f"{int(multiplier):,}" if multiplier == int(multiplier) else f"{multiplier:,}"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _derived_rate_denominators(x, rates, denominators, rate_type, multiplier) -> np.ndarray:
    _require(rates is not None, "rates are required for rate funnels")
    _require(rate_type in ("dsr", "crude"), "rate_type must be 'dsr' or 'crude'")
    _require(multiplier is not None, "a multiplier is required for rate funnels")
    _require(not (np.any(x == 0) and denominators is None),
             "where an area has 0 events its denominator must be given (denominators=...)")
    r = as_float_array(rates, "rates")
    with np.errstate(divide="ignore", invalid="ignore"):
        from_rate = multiplier * x / r
    if rate_type == "dsr":
        # A DSR with no events says nothing about its population.
        return np.where(x == 0, np.nan, from_rate)
    if denominators is None:
        return from_rate
    return np.where(x == 0, as_float_array(denominators, "denominators"), from_rate)


def funnel_limits(numerators, denominators=None, *, statistic: str, multiplier: float,
                  ratio_type: str | None = None, rates=None, rate_type: str | None = None,
                  years_of_data: float | None = None) -> FunnelLimits:
    """Control limits at 95% and 99.8% for a funnel plot of all the areas given.

    - ``statistic="proportion"``: ``numerators``, ``denominators``; ``multiplier`` 100 for
      percentages.
    - ``statistic="ratio"``: ``numerators`` observed and ``denominators`` expected events;
      ``ratio_type`` "count" or "isr".
    - ``statistic="rate"``: ``numerators`` events and ``rates`` per ``multiplier``;
      ``rate_type`` "dsr" or "crude"; ``years_of_data`` the years the counts cover;
      ``denominators`` needed only where an area has 0 events (crude rates).

    The average is Σ numerators / Σ denominators (derived from the rates for rate funnels).
    """
    _require(statistic in STATISTICS, f"statistic must be one of {', '.join(STATISTICS)}")
    _require(multiplier is not None, "a multiplier is required")
    x = as_float_array(numerators, "numerators").ravel()
    _require(x.size > 0, "at least one area is required")
    _require(not np.any(np.isnan(x)), "numerators cannot be missing")
    _require(not np.any(x < 0), "numerators must be greater than or equal to zero")

    if statistic == "rate":
        _require(years_of_data is not None and years_of_data > 0,
                 "years_of_data is required for rate funnels")
        derived = _derived_rate_denominators(
            x, None if rates is None else np.ravel(rates),
            None if denominators is None else np.ravel(denominators), rate_type, multiplier)
    else:
        _require(denominators is not None, f"denominators are required for {statistic} funnels")
        derived = as_float_array(denominators, "denominators").ravel()
        _require(not np.any(derived <= 0), "denominators must be greater than zero")
        if statistic == "ratio":
            _require(ratio_type in ("count", "isr"), "ratio_type must be 'count' or 'isr'")

    average = np.sum(x) / np.nansum(derived)
    smallest, largest = float(np.nanmin(derived)), float(np.nanmax(derived))
    years = years_of_data if statistic == "rate" else 1
    if largest > 2 * smallest:
        axis_minimum = 0
    else:
        axis_minimum = _round_axis_down(smallest / years) * years
    axis_maximum = _round_axis_up(largest / years) * years
    if statistic == "rate":
        # The x axis of a rate funnel is events: population × average rate.
        axis_minimum = math.floor(axis_minimum * average)
        axis_maximum = math.ceil(axis_maximum * average)
    points = _plotting_points(axis_minimum, axis_maximum, statistic)

    if statistic == "proportion":
        spread = np.sqrt(average * (1 - average) / points)
        top = multiplier  # 100%
        return FunnelLimits(
            statistic="proportion", method="Wilson", axis="population", points=points,
            lower_95=np.maximum(0, (average - _Z_95 * spread) * multiplier),
            upper_95=np.minimum(top, (average + _Z_95 * spread) * multiplier),
            lower_998=np.maximum(0, (average - _Z_998 * spread) * multiplier),
            upper_998=np.minimum(top, (average + _Z_998 * spread) * multiplier),
            baseline=float(average * multiplier),
        )

    at_limit = _poisson_expected_at_limits(points)
    if statistic == "ratio":
        if ratio_type == "count":
            scale = {name: points / e - 1 for name, e in at_limit.items()}
            baseline = 0.0
        else:
            scale = {name: points / e * multiplier for name, e in at_limit.items()}
            baseline = float(multiplier)
        return FunnelLimits(
            statistic=f"ratio ({ratio_type})", method="Poisson", axis="observed events",
            points=points, baseline=baseline, **scale,
            **{f"{name}_denominator": e for name, e in at_limit.items()},
        )

    population = {name: e / average for name, e in at_limit.items()}
    return FunnelLimits(
        statistic=f"rate ({rate_type} per {_multiplier_text(multiplier)})", method="Poisson",
        axis="events", points=points, baseline=float(average * multiplier),
        **{name: points / pop * multiplier for name, pop in population.items()},
        **{f"{name}_denominator": pop / years_of_data for name, pop in population.items()},
    )


def _classify(high_998, high_95, low_998, low_95) -> np.ndarray:
    return np.select([high_998, high_95, low_998, low_95],
                     [HIGH_0_001, HIGH_0_025, LOW_0_001, LOW_0_025],
                     NOT_SIGNIFICANT).astype(object)


def funnel_significance(numerators, denominators=None, *, statistic: str, rates=None,
                        rate_type: str | None = None, multiplier: float | None = None
                        ) -> np.ndarray:
    """Whether each area lies outside the 95% or 99.8% funnel limits, and on which side.

    Arguments as :func:`funnel_limits` (``multiplier`` is needed for rates only). Returns an
    object array of "High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)",
    "Not significant", or for DSRs with fewer than 10 events
    "Not applicable for events less than 10 for dsrs".
    """
    _require(statistic in STATISTICS, f"statistic must be one of {', '.join(STATISTICS)}")
    x = as_float_array(numerators, "numerators")
    _require(not np.any(np.isnan(x)), "numerators cannot be missing")
    _require(not np.any(x < 0), "numerators must be greater than or equal to zero")
    n = None if denominators is None else as_float_array(denominators, "denominators")
    if n is not None:
        _require(not np.any(n <= 0), "denominators must be greater than zero")
    elif statistic != "rate":
        raise ValueError(f"denominators are required for {statistic} funnels")

    if statistic == "proportion":
        _require(not np.any(x > n), "numerators must be less than or equal to denominators "
                                    "for a proportion")
        average = np.sum(x) / np.sum(n)
        spread = np.sqrt(average * (1 - average) / n)
        p = x / n
        return _classify(p > average + _Z_998 * spread, p > average + _Z_95 * spread,
                         p < average - _Z_998 * spread, p < average - _Z_95 * spread)

    if statistic == "ratio":
        observed, expected, reference = x, n, 1.0
    else:
        expected = _derived_rate_denominators(x, rates, n, rate_type, multiplier)
        observed, reference = x, np.sum(x) / np.nansum(expected)

    limits = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for level in (0.95, 0.998):
            lower, upper = count_limits(observed, level)
            limits[level] = (lower / expected, upper / expected)
    result = _classify(reference < limits[0.998][0], reference < limits[0.95][0],
                       reference > limits[0.998][1], reference > limits[0.95][1])
    if statistic == "rate" and rate_type == "dsr":
        result[observed < 10] = NOT_APPLICABLE_DSR
    return result


def funnel_points(numerators, rates, denominators=None, *, rate_type: str,
                  years_of_data: float, multiplier: float) -> FunnelPoints:
    """Each area's plotted rate and population per year, for a rate funnel plot.

    DSRs with fewer than 10 events are left off (missing). The population is derived from the
    events and the rate (events / rate × multiplier) divided by ``years_of_data``; for a crude
    rate with 0 events it is the given denominator per year.
    """
    _require(rate_type in ("dsr", "crude"), "rate_type must be 'dsr' or 'crude'")
    _require(years_of_data is not None and years_of_data > 0, "years_of_data is required")
    _require(multiplier is not None, "a multiplier is required")
    x = as_float_array(numerators, "numerators")
    r = as_float_array(rates, "rates")
    _require(not (np.any(x == 0) and denominators is None),
             "where an area has 0 events its denominator must be given (denominators=...)")
    with np.errstate(divide="ignore", invalid="ignore"):
        per_year = multiplier * x / r / years_of_data
    if rate_type == "dsr":
        too_few = x < 10
        return FunnelPoints(np.where(too_few, np.nan, r), np.where(too_few, np.nan, per_year))
    if denominators is not None:
        n = as_float_array(denominators, "denominators")
        per_year = np.where(x == 0, n / years_of_data, per_year)
    return FunnelPoints(np.broadcast_to(r, per_year.shape).astype(float), per_year)
