"""Crude statistics: proportions, rates and means, each with confidence limits.

These follow the PHE Technical Guide "Confidence intervals" and reproduce PHEindicatormethods'
``phe_proportion``, ``phe_rate`` and ``phe_mean``:

- a **proportion** uses the Wilson score interval (Wilson 1927);
- a **rate** uses exact Poisson limits below 10 events and Byar's approximation from 10
  (Breslow & Day 1987); the numerator may exceed the denominator (a rate, not a share);
- a **mean** uses Student's t with the sample standard deviation (n − 1 divisor).

Inputs are scalars or arrays broadcast together; each element is one area or group. Grouping is
the caller's job: sum numerators and denominators per group first (the reference's grouped
results are exactly its ungrouped results on the group sums). A missing input (NaN or None)
gives a missing result for that element; impossible inputs (a negative count, a denominator of
zero or less, a proportion above 1) raise ``ValueError``, as the reference stops.
"""

from __future__ import annotations


import numpy as np
from scipy.stats import t as student_t

from triangulate.stats.estimate import (
    Confidence,
    Estimate,
    Limits,
    as_float_array,
    confidence_levels,
    labels,
    make_estimate,
    multiplier_label,
)
from triangulate.stats.limits import count_limits, count_method, wilson_lower, wilson_upper



def proportion(numerator, denominator, confidence: Confidence = 0.95,
               multiplier: float = 1) -> Estimate:
    """A proportion with Wilson score limits; ``multiplier=100`` gives a percentage.

    ``statistic`` is "percentage" for a multiplier of 100 and "proportion of <multiplier>"
    otherwise; ``method`` is "Wilson" for every element.
    """
    x, n = np.broadcast_arrays(as_float_array(numerator, "numerator"),
                               as_float_array(denominator, "denominator"))
    levels = confidence_levels(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = x / n * multiplier
        limits = [Limits(c, wilson_lower(x, n, c) * multiplier, wilson_upper(x, n, c) * multiplier)
                  for c in levels]
    label = "percentage" if multiplier == 100 else f"proportion of {multiplier_label(multiplier)}"
    return make_estimate(value, limits, labels(x.shape, "Wilson"), labels(x.shape, label))


def rate(count, denominator, confidence: Confidence = 0.95,
         multiplier: float = 100_000) -> Estimate:
    """A crude rate per ``multiplier``: exact Poisson limits below 10 events, Byar's from 10.

    ``method`` is "Exact" or "Byars" by the count (``None`` where the count is missing);
    ``statistic`` is "rate per <multiplier>".
    """
    x, n = np.broadcast_arrays(as_float_array(count, "count"),
                               as_float_array(denominator, "denominator"))
    if np.any(x < 0):
        raise ValueError("counts must be greater than or equal to zero")
    if np.any(n <= 0):
        raise ValueError("denominators must be greater than zero")
    levels = confidence_levels(confidence)
    value = x / n * multiplier
    limits = []
    for c in levels:
        lower, upper = count_limits(x, c)
        limits.append(Limits(c, lower / n * multiplier, upper / n * multiplier))
    return make_estimate(value, limits, count_method(x),
                         labels(x.shape, f"rate per {multiplier_label(multiplier)}"))


def mean(values, confidence: Confidence = 0.95, axis: int = -1) -> Estimate:
    """The mean of ``values`` along ``axis`` with Student's t limits.

    ``workings`` holds ``value_sum``, ``value_count`` and ``stdev`` (n − 1 divisor). A missing
    value makes that mean missing, as in the reference; fewer than two values give no limits.
    """
    v = as_float_array(values, "values")
    if v.ndim == 0:
        v = v.reshape(1)
    total = np.sum(v, axis=axis)
    count = np.asarray(v.shape[axis], dtype=float) * np.ones_like(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        stdev = np.std(v, axis=axis, ddof=1) if v.shape[axis] > 1 else np.full_like(total, np.nan)
        value = total / count
        limits = []
        for c in confidence_levels(confidence):
            half_width = np.abs(student_t.ppf((1 - c) / 2, count - 1)) * stdev / np.sqrt(count)
            limits.append(Limits(c, value - half_width, value + half_width))
    shape = np.shape(value)
    return make_estimate(
        np.asarray(value), limits,
        labels(shape, "Student's t-distribution"), labels(shape, "mean"),
        {"value_sum": np.asarray(total), "value_count": np.asarray(count),
         "stdev": np.asarray(stdev)},
    )
