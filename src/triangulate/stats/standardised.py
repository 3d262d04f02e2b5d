"""Age-standardised statistics: directly and indirectly standardised rates and ratios.

Standardisation removes the effect of a population's age structure so that areas (or ethnic
groups, whose age profiles differ a great deal) can be compared. OHID publishes:

- **Directly standardised rates (DSR)** on the European Standard Population 2013 (ESP2013,
  19 bands, 0-4 … 85-89, 90+), with confidence limits by the Dobson method (Dobson et al.
  1991): Byar's limits for the total count, scaled by the standard error of the DSR,
  ``DSR + sqrt(var(DSR) / O) · (Byar(O) − O)``, where
  ``var(DSR) = Σ wᵢ² xᵢ / nᵢ² / (Σ wᵢ)²`` and O is the total count. A DSR is not published
  when the total count is below 10 (value and limits missing, statistic
  "dsr NA for total count < 10"). When one person can have several events (non-independent
  events, Fingertips Technical Guidance, DSR chapter), the counts are people by event
  frequency f and ``var(DSR) = Σ_f f² · var(DSR of the people with f events)``; the events
  are ``Σ_f f · people``.
- **Indirectly standardised rates (ISR) and ratios (SMR)**: expected events
  ``E = Σ (reference rate in band) · (area population in band)``; the ratio is O/E (times
  ``reference_value``, e.g. 100) and the rate is O/E times the reference population's crude
  rate. Limits are those of the observed count O (exact below 10, Byar's from 10) divided by E.

Arrays carry age bands on the **last axis**; any leading axes are areas or groups, and the
result has the leading shape. Standard weights and reference data broadcast against the bands.
This reproduces PHEindicatormethods' ``calculate_dsr``, ``calculate_ISRate`` and
``calculate_ISRatio`` (missing counts count as 0; a band with no area population adds nothing
to the expected events).
"""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

from triangulate.stats.estimate import (
    Confidence,
    Estimate,
    Limits,
    as_float_array,
    confidence_levels,
    labels,
    make_estimate,
    multiplier_label,
    two_sided_z,
)
from triangulate.stats.limits import byars_lower, byars_upper, count_limits, count_method


DSR_MINIMUM_COUNT = 10  # OHID does not publish a DSR on fewer events (Technical Guide, DSRs)


def _load_esp2013() -> tuple[tuple[str, ...], np.ndarray]:
    path = resources.files("triangulate.stats") / "data" / "european_standard_population_2013.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    bands = tuple(row["age_band"] for row in rows)
    weights = np.array([float(row["weight"]) for row in rows])
    weights.setflags(write=False)
    return bands, weights


#: The 19 ESP2013 age bands (codes as in the data standard's ``age_band`` code list) and their
#: weights (sum 100,000). Source and year: ``stats/data/README.md``.
ESP2013_AGE_BANDS, ESP2013 = _load_esp2013()


def dsr(counts, populations, standard=ESP2013, confidence: Confidence = 0.95,
        multiplier: float = 100_000, *, event_frequency=None) -> Estimate:
    """A directly standardised rate per ``multiplier`` with Dobson limits.

    ``counts`` and ``populations`` have age bands on the last axis; ``standard`` holds the
    standard population weight of each band (default ESP2013). With ``event_frequency``, events
    are not independent: ``counts`` then holds the number of people with each frequency of
    events, shape ``(..., frequencies, bands)``, and ``event_frequency`` the frequencies,
    shape ``(frequencies,)`` or ``(..., frequencies)``.

    ``workings``: ``total_count`` (events) and ``total_pop``. Totals below 10 give a missing
    value and limits.
    """
    x = as_float_array(counts, "counts")
    n = as_float_array(populations, "populations")
    w = as_float_array(standard, "standard")
    if np.any(np.isnan(n)):
        raise ValueError("populations cannot be missing")
    if np.any(n <= 0):
        raise ValueError("populations must all be greater than zero")
    if np.any(np.isnan(w)):
        raise ValueError("standard population weights cannot be missing")
    if np.any(w < 0):
        raise ValueError("standard population weights must be greater than or equal to zero")
    if np.any(x < 0):
        raise ValueError("counts must all be greater than or equal to zero")
    x = np.nan_to_num(x, nan=0.0)  # a missing count is no events, as in the reference

    if event_frequency is None:
        events = x
        variance = np.sum(x * (w / n) ** 2, axis=-1) / np.sum(w, axis=-1) ** 2
        method = "Dobson"
    else:
        f = as_float_array(event_frequency, "event_frequency")
        if np.any(np.isnan(f)) or np.any(f < 0):
            raise ValueError("event frequencies must be present and not negative")
        f = f[..., None]  # frequencies run along the second-last axis of counts
        n_f, w_f = n[..., None, :], w[..., None, :]
        variance_by_frequency = (np.sum(x * (w_f / n_f) ** 2, axis=-1)
                                 / np.sum(np.broadcast_to(w_f, x.shape), axis=-1) ** 2)
        variance = np.sum(f[..., 0] ** 2 * variance_by_frequency, axis=-1)
        events = np.sum(f * x, axis=-2)
        method = "Dobson, with confidence adjusted for non-independent events"

    events, n, w = np.broadcast_arrays(events, n, w)
    total_count = np.sum(events, axis=-1)
    total_pop = np.sum(n, axis=-1)
    value = np.sum(events * w / n, axis=-1) / np.sum(w, axis=-1) * multiplier
    suppressed = total_count < DSR_MINIMUM_COUNT

    limits = []
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt(variance / total_count) * multiplier
        for c in confidence_levels(confidence):
            lower = value + scale * (byars_lower(total_count, c) - total_count)
            upper = value + scale * (byars_upper(total_count, c) - total_count)
            limits.append(Limits(c, np.where(suppressed, np.nan, lower),
                                 np.where(suppressed, np.nan, upper)))
    shape = np.shape(total_count)
    statistic = labels(shape, f"dsr per {multiplier_label(multiplier)}")
    statistic[suppressed] = f"dsr NA for total count < {DSR_MINIMUM_COUNT}"
    return make_estimate(
        np.where(suppressed, np.nan, value), limits, labels(shape, method), statistic,
        {"total_count": total_count, "total_pop": total_pop},
    )


def _expected(counts, populations, reference_counts, reference_populations, observed_total):
    n = np.nan_to_num(as_float_array(populations, "populations"), nan=0.0)
    x_ref = np.nan_to_num(as_float_array(reference_counts, "reference_counts"), nan=0.0)
    n_ref = as_float_array(reference_populations, "reference_populations")
    if np.any(n < 0):
        raise ValueError("populations must all be greater than or equal to zero")
    if np.any(x_ref < 0):
        raise ValueError("reference counts must all be greater than or equal to zero")
    if np.any(~(n_ref > 0)):
        raise ValueError("reference populations must all be present and greater than zero")
    n, x_ref, n_ref = np.broadcast_arrays(n, x_ref, n_ref)
    expected = np.sum(x_ref / n_ref * n, axis=-1)
    reference_rate = np.sum(x_ref, axis=-1) / np.sum(n_ref, axis=-1)

    if observed_total is not None:
        if counts is not None:
            raise ValueError("give either counts by band or observed_total, not both")
        observed = as_float_array(observed_total, "observed_total")
    else:
        x = as_float_array(counts, "counts")
        if np.any(x < 0):
            raise ValueError("counts must all be greater than or equal to zero")
        observed = np.nansum(x, axis=-1)
    if np.any(observed < 0):
        raise ValueError("observed totals must be greater than or equal to zero")
    observed, expected, reference_rate = np.broadcast_arrays(observed, expected, reference_rate)
    return observed, expected, reference_rate


def _indirect(observed, expected, scale, confidence) -> list[Limits]:
    limits = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for c in confidence_levels(confidence):
            lower, upper = count_limits(observed, c)
            limits.append(Limits(c, lower / expected * scale, upper / expected * scale))
    return limits


def isr(counts, populations, reference_counts, reference_populations,
        confidence: Confidence = 0.95, multiplier: float = 100_000, *,
        observed_total=None) -> Estimate:
    """An indirectly standardised rate per ``multiplier``: (O / E) × the reference crude rate.

    ``counts`` (the area's events by band) and ``populations`` have bands on the last axis;
    ``reference_counts`` and ``reference_populations`` are the reference (e.g. England) events
    and population by band. Pass ``observed_total`` instead of ``counts`` when only the area's
    total is known. Limits: exact below 10 observed events, Byar's from 10.

    ``workings``: ``observed``, ``expected`` and ``ref_rate`` (per ``multiplier``).
    """
    observed, expected, reference_rate = _expected(
        counts, populations, reference_counts, reference_populations, observed_total)
    ref_rate = reference_rate * multiplier
    with np.errstate(invalid="ignore", divide="ignore"):
        value = observed / expected * ref_rate
    shape = np.shape(observed)
    return make_estimate(
        value, _indirect(observed, expected, ref_rate, confidence), count_method(observed),
        labels(shape, f"indirectly standardised rate per {multiplier_label(multiplier)}"),
        {"observed": observed, "expected": expected, "ref_rate": ref_rate},
    )


def smr(counts, populations, reference_counts, reference_populations,
        confidence: Confidence = 0.95, reference_value: float = 1, *,
        observed_total=None) -> Estimate:
    """An indirectly standardised ratio (standardised mortality/morbidity ratio), O / E.

    Arguments as :func:`isr`; ``reference_value`` is the value of the reference population
    (1, or 100 for the "× 100" form OHID often publishes).

    ``workings``: ``observed`` and ``expected``.
    """
    observed, expected, _ = _expected(
        counts, populations, reference_counts, reference_populations, observed_total)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = observed / expected * reference_value
    shape = np.shape(observed)
    return make_estimate(
        value, _indirect(observed, expected, reference_value, confidence),
        count_method(observed),
        labels(shape, f"indirectly standardised ratio x {multiplier_label(reference_value)}"),
        {"observed": observed, "expected": expected},
    )


def dsr_ratio(counts_a, populations_a, counts_b, populations_b, standard=ESP2013,
              confidence: Confidence = 0.95) -> Estimate:
    """The ratio of two directly standardised rates (group a over reference b) with a log-normal
    interval, ``SE(log ratio) = sqrt(var(DSR_a)/DSR_a² + var(DSR_b)/DSR_b²)``, each variance as in
    :func:`dsr` (Dobson's ``Σ wᵢ² xᵢ / nᵢ² / (Σ wᵢ)²``); the two groups are independent.

    Age bands on the last axis; a band with no population in either group adds nothing (its weight
    is left out of both, so the two rates stay on one standard). Missing where either DSR's total
    count is below 10 (as :func:`dsr`). ``workings``: ``dsr_a`` and ``dsr_b`` (per 1).
    """
    xa, na, xb, nb = np.broadcast_arrays(*(np.nan_to_num(as_float_array(v, name), nan=0.0) for v, name in (
        (counts_a, "counts_a"), (populations_a, "populations_a"), (counts_b, "counts_b"),
        (populations_b, "populations_b"))))
    w = np.broadcast_to(as_float_array(standard, "standard"), xa.shape)
    if np.any(xa < 0) or np.any(xb < 0) or np.any(na < 0) or np.any(nb < 0):
        raise ValueError("counts and populations must be greater than or equal to zero")
    present = (na > 0) & (nb > 0)
    w = np.where(present, w, 0.0)
    safe_a, safe_b = np.where(present, na, 1.0), np.where(present, nb, 1.0)
    total_w = np.sum(w, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dsr_a = np.sum(w * xa / safe_a, axis=-1) / total_w
        dsr_b = np.sum(w * xb / safe_b, axis=-1) / total_w
        var_a = np.sum(w ** 2 * xa / safe_a ** 2, axis=-1) / total_w ** 2
        var_b = np.sum(w ** 2 * xb / safe_b ** 2, axis=-1) / total_w ** 2
        value = dsr_a / dsr_b
        standard_error = np.sqrt(var_a / dsr_a ** 2 + var_b / dsr_b ** 2)
    count_a, count_b = np.sum(np.where(present, xa, 0), axis=-1), np.sum(np.where(present, xb, 0), axis=-1)
    usable = (count_a >= DSR_MINIMUM_COUNT) & (count_b >= DSR_MINIMUM_COUNT) & (total_w > 0)
    limits = []
    for c in confidence_levels(confidence):
        half = two_sided_z(c) * standard_error
        with np.errstate(invalid="ignore", divide="ignore"):
            limits.append(Limits(c, np.where(usable, value * np.exp(-half), np.nan),
                                 np.where(usable, value * np.exp(half), np.nan)))
    shape = np.shape(value)
    method = labels(shape, "ratio of DSRs, log-normal interval")
    method[~usable] = None
    return make_estimate(np.where(usable, value, np.nan), limits, method, labels(shape, "dsr ratio"),
                         {"dsr_a": dsr_a, "dsr_b": dsr_b})
