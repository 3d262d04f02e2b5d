"""Confidence limits for a count or a proportion: the building blocks of every statistic here.

Three methods, as the PHE Technical Guide "Confidence intervals" sets them out and as the R
package PHEindicatormethods implements them (its internal ``wilson_lower/upper`` and
``byars_lower/upper``):

- **Wilson score** for a proportion x/n (Wilson 1927; Newcombe & Altman 2000):
  ``(2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))``, kept within 0 to 1 (rounding can
  otherwise put the upper limit of x = n a hair above 1).
- **Byar's approximation** to the exact Poisson limits for a count x (Breslow & Day 1987):
  lower ``x·(1 − 1/(9x) − z/(3·sqrt(x)))³``, upper ``(x+1)·(1 − 1/(9(x+1)) + z/(3·sqrt(x+1)))³``.
  For a very small count at a high confidence level the lower limit comes out negative; it is
  then reported as missing (NaN), as the reference does (x = 1 at 99.8%).
- **Exact Poisson** limits from the chi-square distribution (Armitage & Berry 2002):
  lower ``χ²((1−c)/2; 2x) / 2``, upper ``χ²(c + (1−c)/2; 2x+2) / 2``; the lower limit of a zero
  count is 0.

Each function takes scalars or arrays (broadcast together) and one confidence level, and
returns limits for the count or proportion itself, before any multiplier. NaN in, NaN out.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from triangulate.stats.estimate import as_float_array, confidence_level, two_sided_z


def _check_count(x: np.ndarray) -> None:
    if np.any(x < 0):
        raise ValueError("observed counts must be greater than or equal to zero")


def _check_proportion(x: np.ndarray, n: np.ndarray) -> None:
    _check_count(x)
    if np.any(n <= 0):
        raise ValueError("denominators must be greater than zero")
    if np.any(x > n):
        raise ValueError("numerators must be less than or equal to denominators for a proportion")


def wilson_lower(x, n, confidence: float = 0.95) -> np.ndarray:
    """Lower Wilson score limit of the proportion x/n (as a fraction of 1)."""
    x, n = np.broadcast_arrays(as_float_array(x, "x"), as_float_array(n, "n"))
    _check_proportion(x, n)
    z = two_sided_z(confidence_level(confidence))
    with np.errstate(invalid="ignore"):
        lower = (2 * x + z**2 - z * np.sqrt(z**2 + 4 * x * (1 - x / n))) / 2 / (n + z**2)
    return np.clip(lower, 0.0, 1.0)


def wilson_upper(x, n, confidence: float = 0.95) -> np.ndarray:
    """Upper Wilson score limit of the proportion x/n (as a fraction of 1)."""
    x, n = np.broadcast_arrays(as_float_array(x, "x"), as_float_array(n, "n"))
    _check_proportion(x, n)
    z = two_sided_z(confidence_level(confidence))
    with np.errstate(invalid="ignore"):
        upper = (2 * x + z**2 + z * np.sqrt(z**2 + 4 * x * (1 - x / n))) / 2 / (n + z**2)
    # At x = n rounding can give 1 + 2e-16; a proportion's limit cannot pass 1.
    return np.clip(upper, 0.0, 1.0)


def byars_lower(x, confidence: float = 0.95) -> np.ndarray:
    """Byar's lower limit for an observed count; NaN where the approximation goes negative."""
    x = as_float_array(x, "x")
    _check_count(x)
    z = two_sided_z(confidence_level(confidence))
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
    return np.where(lower < 0, np.nan, lower)


def byars_upper(x, confidence: float = 0.95) -> np.ndarray:
    """Byar's upper limit for an observed count."""
    x = as_float_array(x, "x")
    _check_count(x)
    z = two_sided_z(confidence_level(confidence))
    return (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3


def exact_poisson_lower(x, confidence: float = 0.95) -> np.ndarray:
    """Exact (chi-square) lower limit for an observed count; 0 for a count of 0."""
    x = as_float_array(x, "x")
    _check_count(x)
    c = confidence_level(confidence)
    # scipy gives NaN for 0 degrees of freedom where R's qchisq gives 0.
    lower = chi2.ppf((1 - c) / 2, 2 * x) / 2
    return np.where(x == 0, 0.0, lower)


def exact_poisson_upper(x, confidence: float = 0.95) -> np.ndarray:
    """Exact (chi-square) upper limit for an observed count."""
    x = as_float_array(x, "x")
    _check_count(x)
    c = confidence_level(confidence)
    return chi2.ppf(c + (1 - c) / 2, 2 * x + 2) / 2


def count_limits(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Limits for a count as OHID publishes them: exact below 10 events, Byar's from 10."""
    small = x < 10
    with np.errstate(invalid="ignore"):
        lower = np.where(small, exact_poisson_lower(x, confidence), byars_lower(x, confidence))
        upper = np.where(small, exact_poisson_upper(x, confidence), byars_upper(x, confidence))
    return lower, upper


def count_method(x: np.ndarray) -> np.ndarray:
    """"Exact" below 10 events, "Byars" from 10, None where the count is missing."""
    method = np.where(x < 10, "Exact", "Byars").astype(object)
    method[np.isnan(x)] = None
    return method
