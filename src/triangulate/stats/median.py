"""The median of grouped data, with a confidence interval from its order statistics.

A wait published as cumulative counts (people seen within 7, 14, 28... days) gives a step function
of the distribution. The **grouped-data median** interpolates linearly within the band that holds the
middle person: with ``F(e)`` people within each edge ``e`` (and ``F(0) = 0``), the value at rank ``r``
is ``e[i-1] + (r - F(e[i-1])) / (F(e[i]) - F(e[i-1])) * (e[i] - e[i-1])`` for the first band with
``F(e[i]) >= r``. The median is the value at rank ``n/2``; its 95% interval the values at ranks
``n/2 - 1.96·√n/2`` and ``n/2 + 1.96·√n/2`` (the distribution-free interval for a median, with the
normal approximation to the binomial; Conover, *Practical Nonparametric Statistics*, 3rd ed., 1999,
section 3.2), read off the same interpolated curve. A rank beyond the last edge's count has no value
(the middle person waited longer than the last edge, or was never seen): NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class GroupedMedian:
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _at_rank(cumulative: np.ndarray, edges: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Each row's value at ``rank`` on its interpolated curve (0 at a rank of 0 or less; NaN past the
    last edge or where anything is missing)."""
    rows = np.arange(len(rank))
    below = np.concatenate([np.zeros((len(rank), 1)), cumulative], axis=1)
    bounds = np.concatenate([[0.0], edges])
    r = np.maximum(rank, 0.0)
    with np.errstate(invalid="ignore"):
        # The band holding rank r: the first that has people and reaches r.
        holds = (below[:, 1:] >= r[:, None]) & (below[:, 1:] > below[:, :-1])
    j = np.argmax(holds, axis=1)
    start, end = below[rows, j], below[rows, j + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = bounds[j] + np.maximum((r - start) / (end - start), 0.0) * (bounds[j + 1] - bounds[j])
    value = np.where(r <= 0, 0.0, value)
    missing = np.isnan(rank) | np.isnan(below).any(axis=1) | ~(holds.any(axis=1) | (r <= 0))
    return np.where(missing, np.nan, value)


def grouped_median(cumulative, n, edges) -> GroupedMedian:
    """The median and its 95% interval of each row's grouped data.

    ``cumulative``: (rows, bands) people within each of ``edges`` (non-decreasing along a row); ``n``:
    the people in each row (all of them, including those beyond the last edge). Missing (NaN) counts,
    a zero ``n`` or cumulative counts that fall or exceed ``n`` give NaN for the row."""
    cumulative = np.asarray(cumulative, dtype=float)
    n = np.asarray(n, dtype=float)
    edges = np.asarray(edges, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = (np.isnan(n) | (n <= 0) | np.any(np.isnan(cumulative), axis=1)
               | np.any(np.diff(cumulative, axis=1) < 0, axis=1) | np.any(cumulative > n[:, None], axis=1))
    n_ok = np.where(bad, np.nan, n)
    half = n_ok / 2
    spread = Z_95 * np.sqrt(np.where(bad, 0, n)) / 2
    value = _at_rank(cumulative, edges, half)
    lower = _at_rank(cumulative, edges, half - spread)
    upper = _at_rank(cumulative, edges, half + spread)
    return GroupedMedian(value, np.where(np.isnan(value), np.nan, lower), np.where(np.isnan(value), np.nan, upper))
