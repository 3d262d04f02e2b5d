"""What every statistic in this room returns: a value, its confidence limits and how they were made.

PHEindicatormethods returns a data frame with columns ``value, lowercl, uppercl`` (or
``lower95_0cl … upper99_8cl`` when two confidence levels are asked for), ``statistic`` and
``method``. Python callers work with arrays, not frames, so an :class:`Estimate` holds the same
things as numpy arrays that line up element by element with the inputs:

- ``value``: the statistic (proportion, rate, ratio, mean …), NaN where it cannot be calculated;
- ``lower`` / ``upper``: the limits at the first confidence level asked for (``confidence``);
- ``limits``: the limits at every confidence level asked for, keyed by level (``0.95``, ``0.998``),
  so ``confidence=(0.95, 0.998)`` gives both in one call; ``at(0.998)`` reads one of them;
- ``method``: the interval method used for each element ("Wilson", "Exact", "Byars", "Dobson" …),
  ``None`` where there was nothing to calculate, exactly as the reference leaves it NA;
- ``statistic``: a label for each element ("rate per 100000", "dsr NA for total count < 10");
- ``workings``: the intermediate figures an analyst shows beside the value (total count,
  expected events, standard deviation …), named as the reference names them.

Confidence levels are given as fractions (``0.95``) or, as PHEindicatormethods also accepts, as
percentages (``95``). Levels from 90% up to (not including) 100% are allowed: below 90% the
methods are not what OHID publishes, and a 100% interval is not an interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy.stats import norm

#: One confidence level (0.95) or several at once ((0.95, 0.998)).
Confidence = float | Iterable[float]


@dataclass(frozen=True)
class Limits:
    """Lower and upper confidence limits at one confidence level."""

    confidence: float
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class Estimate:
    """A statistic with confidence limits; see the module docstring for each field."""

    value: np.ndarray
    limits: Mapping[float, Limits]
    method: np.ndarray
    statistic: np.ndarray
    workings: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        """The first confidence level asked for: the one ``lower`` and ``upper`` report."""
        return next(iter(self.limits))

    @property
    def confidence_levels(self) -> tuple[float, ...]:
        return tuple(self.limits)

    @property
    def lower(self) -> np.ndarray:
        return self.limits[self.confidence].lower

    @property
    def upper(self) -> np.ndarray:
        return self.limits[self.confidence].upper

    def at(self, confidence: float) -> Limits:
        """The limits at one of the confidence levels asked for (``0.998`` or ``99.8``)."""
        level = confidence_level(confidence)
        if level not in self.limits:
            asked = ", ".join(f"{c:g}" for c in self.limits)
            raise KeyError(f"confidence {level:g} was not asked for (asked: {asked})")
        return self.limits[level]


def confidence_levels(confidence: float | Iterable[float]) -> tuple[float, ...]:
    """Normalise a confidence argument to a tuple of distinct fractions, in the order given."""
    if np.ndim(confidence) == 0:
        raw = (confidence,)
    else:
        raw = tuple(np.asarray(confidence, dtype=float).ravel())
    if not raw:
        raise ValueError("at least one confidence level is required")
    levels = tuple(dict.fromkeys(confidence_level(c) for c in raw))
    return levels


def confidence_level(confidence: float) -> float:
    """One confidence level as a fraction, checked (0.9 to under 1; percentages accepted)."""
    c = float(confidence)
    if 90 <= c < 100:
        # Percentages are accepted as in PHEindicatormethods; rounding keeps 99.8 -> 0.998 exact
        # as a dictionary key.
        c = round(c / 100, 12)
    if not 0.9 <= c < 1:
        raise ValueError(
            "confidence level must be at least 0.9 and below 1 (or given as a percentage, "
            f"90 to under 100); got {confidence!r}"
        )
    return c


def two_sided_z(confidence: float) -> float:
    """The standard normal quantile for a two-sided interval, computed as the reference does."""
    return float(norm.ppf(confidence + (1 - confidence) / 2))


def as_float_array(values, name: str) -> np.ndarray:
    """Numbers in as a float array (None and NaN become NaN); refuses anything non-numeric."""
    if values is None:
        raise ValueError(f"{name} is required")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric") from None
    return arr


def multiplier_label(multiplier: float) -> str:
    """A multiplier as R's ``format(multiplier, scientific = FALSE)`` writes it: 100000, 0.5."""
    return str(int(multiplier)) if multiplier == int(multiplier) else f"{multiplier:.15g}"


def labels(shape: tuple[int, ...], text: str | None) -> np.ndarray:
    """An object array of one label repeated (``None`` for a missing label)."""
    out = np.empty(shape, dtype=object)
    out[...] = text
    return out


def frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


def make_estimate(
    value: np.ndarray,
    limits: Iterable[Limits],
    method: np.ndarray,
    statistic: np.ndarray,
    workings: Mapping[str, np.ndarray] | None = None,
) -> Estimate:
    return Estimate(**estimate_fields(value, limits, method, statistic, workings))


def estimate_fields(value, limits, method, statistic, workings) -> dict:
    """The fields of an Estimate, with every number as an array (scalars in, 0-d arrays out)."""
    return dict(
        value=np.asarray(value, dtype=float),
        limits=frozen({lim.confidence: Limits(lim.confidence, np.asarray(lim.lower, dtype=float),
                                              np.asarray(lim.upper, dtype=float))
                       for lim in limits}),
        method=np.asarray(method, dtype=object),
        statistic=np.asarray(statistic, dtype=object),
        workings=frozen({name: np.asarray(v, dtype=float) for name, v in (workings or {}).items()}),
    )
