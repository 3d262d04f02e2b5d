"""Public health statistics: numbers in, numbers out, with confidence intervals as OHID makes them.

Why this room exists: a needs assessment is only as good as its figures, and commissioners
compare areas and ethnic groups on rates, proportions and ratios that have to be calculated the
way OHID's Fingertips publishes them, or they cannot be set beside the national figures. The
methods are those of the PHE Technical Guides ("Confidence intervals", "Funnel plots") as
implemented by the R package PHEindicatormethods (UKHSA/OHID); the tests reproduce that
package's own test expectations to 1.5e-8 (``shared/reference/phe_indicator_methods``).

How it is designed:

- **Pure and vectorised.** Only numpy and scipy; nothing from the rest of the package. Each
  function takes scalars or arrays (broadcast together) and returns arrays of the same shape,
  one element per area or group. Grouping and summing belong to the caller (``measures``):
  the statistics of a group are the statistics of its sums.
- **One result type.** Interval functions return an :class:`Estimate`: ``value``, ``lower``,
  ``upper``, ``method``, ``statistic`` and ``workings``; ask for several confidence levels at
  once with ``confidence=(0.95, 0.998)`` and read each with ``estimate.at(0.998)``.
- **Missing stays missing.** NaN inputs give NaN outputs; impossible inputs (negative counts,
  zero denominators, a proportion above 1) raise ``ValueError`` without echoing data.
- **Figures from outside live in data files** (``data/``, with their source and year): the
  European Standard Population 2013 is :data:`ESP2013`.

See ``docs/statistics.md`` for each function's method, formula and reference test.
"""

from triangulate.stats.benchmark import compare_to_benchmark
from triangulate.stats.crude import mean, proportion, rate
from triangulate.stats.estimate import Estimate, Limits
from triangulate.stats.funnels import (
    SIGNIFICANCE_LEVELS,
    FunnelLimits,
    FunnelPoints,
    funnel_limits,
    funnel_points,
    funnel_significance,
)
from triangulate.stats.median import GroupedMedian, grouped_median
from triangulate.stats.life_expectancy import LIFE_TABLE_START_AGES, life_expectancy
from triangulate.stats.limits import (
    byars_lower,
    byars_upper,
    exact_poisson_lower,
    exact_poisson_upper,
    wilson_lower,
    wilson_upper,
)
from triangulate.stats.ratios import (
    RelativeRateIndex,
    describe_per_100_reference,
    per_100_reference,
    rate_ratio,
    relative_rate_index,
)
from triangulate.stats.standardised import ESP2013, ESP2013_AGE_BANDS, dsr, dsr_ratio, isr, smr

__all__ = [
    "GroupedMedian",
    "grouped_median",
    # results
    "Estimate",
    "Limits",
    "RelativeRateIndex",
    "FunnelLimits",
    "FunnelPoints",
    # crude statistics
    "proportion",
    "rate",
    "mean",
    # standardised statistics
    "ESP2013",
    "ESP2013_AGE_BANDS",
    "dsr",
    "dsr_ratio",
    "isr",
    "smr",
    # life expectancy
    "LIFE_TABLE_START_AGES",
    "life_expectancy",
    # comparing groups
    "rate_ratio",
    "relative_rate_index",
    "per_100_reference",
    "describe_per_100_reference",
    "compare_to_benchmark",
    # funnel plots
    "funnel_limits",
    "funnel_significance",
    "funnel_points",
    "SIGNIFICANCE_LEVELS",
    # building blocks
    "wilson_lower",
    "wilson_upper",
    "byars_lower",
    "byars_upper",
    "exact_poisson_lower",
    "exact_poisson_upper",
]
