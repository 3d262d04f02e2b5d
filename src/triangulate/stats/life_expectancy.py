"""Life expectancy from an abridged life table (Chiang II), with Silcocks' confidence limits.

This is the method of the PHE Life Expectancy Calculator and of ONS's local life expectancy
figures, as PHEindicatormethods implements it in ``phe_life_expectancy``: 20 age bands
(0, 1-4, 5-9, …, 85-89, 90+), deaths Dᵢ and populations (person-years) Pᵢ in each.

- Death rate Mᵢ = Dᵢ/Pᵢ; fraction of the interval lived by those who die aᵢ = 0.1 in the first
  year of life, 0.5 otherwise; probability of dying qᵢ = Mᵢnᵢ / (1 + Mᵢnᵢ(1 − aᵢ)), 1 in 90+.
- Survivors lᵢ from a radix of 100,000; years lived Lᵢ = nᵢ(lᵢ₊₁ + aᵢ(lᵢ − lᵢ₊₁)), and in the
  open band L = l / M; life expectancy eᵢ = Σⱼ≥ᵢ Lⱼ / lᵢ (Chiang 1968).
- Variance: Chiang's Σ lⱼ²((1 − aⱼ)nⱼ + eⱼ₊₁)² · qⱼ²(1 − qⱼ)/Dⱼ, plus Silcocks et al.'s (2001)
  term for the open band, (l/2)² · 4/(D·M²), since life expectancy there depends on the mean
  length of survival 1/M rather than on a probability of survival.

Life expectancy is not calculated (NaN) for an area where a band has no population, negative
deaths or more deaths than population; nor from a start age whose remaining population
(``pops_used``) is 5,000 or fewer, the minimum for a robust figure (Toson & Baker 2003); nor
with no deaths in the 90+ band, where the open band's survival cannot be estimated.
"""

from __future__ import annotations


import numpy as np

from triangulate.stats.estimate import (
    Confidence,
    Estimate,
    Limits,
    as_float_array,
    confidence_levels,
    labels,
    make_estimate,
    two_sided_z,
)


#: The start age of each band of the abridged life table: 0, 1-4, 5-9, …, 85-89, 90+.
LIFE_TABLE_START_AGES = (0, 1) + tuple(range(5, 95, 5))
RADIX = 100_000
MINIMUM_PERSON_YEARS = 5_000  # Toson & Baker (2003): below this LE is not robust


def life_expectancy(deaths, populations, confidence: Confidence = 0.95) -> Estimate:
    """Life expectancy at each start age of the 20-band abridged life table.

    ``deaths`` and ``populations`` have the 20 bands of :data:`LIFE_TABLE_START_AGES` on the
    last axis (leading axes are areas). The result has the same shape: one life expectancy per
    start age. ``workings``: ``pops_used`` and ``dths_used``, the population and deaths from
    that age up.
    """
    d, pop = np.broadcast_arrays(as_float_array(deaths, "deaths"),
                                 as_float_array(populations, "populations"))
    bands = len(LIFE_TABLE_START_AGES)
    if d.shape[-1:] != (bands,):
        raise ValueError(f"life expectancy needs the {bands} age bands of the abridged life table "
                         "on the last axis")
    ages = np.array(LIFE_TABLE_START_AGES, dtype=float)
    width = np.diff(ages)  # the open band's width is never used
    a = np.where(ages == 0, 0.1, 0.5)

    with np.errstate(divide="ignore", invalid="ignore"):
        m = d / pop
        q = np.concatenate([m[..., :-1] * width / (1 + m[..., :-1] * width * (1 - a[:-1])),
                            np.ones(d.shape[:-1] + (1,))], axis=-1)
        p = 1 - q
        survivors = np.cumprod(np.concatenate(
            [np.full(d.shape[:-1] + (1,), float(RADIX)), p[..., :-1]], axis=-1), axis=-1)
        next_survivors = np.concatenate([survivors[..., 1:], np.zeros(d.shape[:-1] + (1,))],
                                        axis=-1)
        dying = survivors - next_survivors
        years_lived = np.concatenate(
            [width * (next_survivors[..., :-1] + a[:-1] * dying[..., :-1]),
             survivors[..., -1:] / m[..., -1:]], axis=-1)
        years_to_come = np.flip(np.cumsum(np.flip(years_lived, -1), axis=-1), -1)
        value = np.where(survivors == 0, 0.0, years_to_come / survivors)

        variance_of_q = np.where(dying == 0, 0.0, q**2 * (1 - q) / d)
        open_band = 4 / (d[..., -1:] * m[..., -1:] ** 2)
        next_value = value[..., 1:]
        weighted = np.concatenate(
            [variance_of_q[..., :-1] * survivors[..., :-1] ** 2
             * ((1 - a[:-1]) * width + next_value) ** 2,
             (survivors[..., -1:] / 2) ** 2 * open_band], axis=-1)
        variance = np.flip(np.cumsum(np.flip(weighted, -1), axis=-1), -1) / survivors**2
        standard_error = np.sqrt(variance)

    pops_used = np.flip(np.cumsum(np.flip(pop, -1), axis=-1), -1)
    dths_used = np.flip(np.cumsum(np.flip(d, -1), axis=-1), -1)
    unusable_area = np.any((pop <= 0) | (d < 0) | (d > pop) | np.isnan(d) | np.isnan(pop),
                           axis=-1, keepdims=True)
    unusable = unusable_area | (pops_used <= MINIMUM_PERSON_YEARS) | ~np.isfinite(value)
    value = np.where(unusable, np.nan, value)

    limits = []
    for c in confidence_levels(confidence):
        half_width = two_sided_z(c) * standard_error
        limits.append(Limits(c, np.where(unusable, np.nan, value - half_width),
                             np.where(unusable, np.nan, value + half_width)))
    statistic = np.broadcast_to(
        np.array([f"life expectancy at {age}" for age in LIFE_TABLE_START_AGES], dtype=object),
        value.shape).copy()
    return make_estimate(value, limits,
                         labels(value.shape, "Chiang, using Silcocks et al for confidence limits"),
                         statistic, {"pops_used": pops_used, "dths_used": dths_used})
