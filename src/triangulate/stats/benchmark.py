"""Comparing an area with a benchmark the way OHID Fingertips does.

Fingertips compares an area's confidence interval with the benchmark's point value (England, the
region, or the reference group): if the whole interval lies above the benchmark the area is
"higher", if it lies wholly below it is "lower", and if the interval includes the benchmark
(touching counts as including) it is "similar" (PHE Technical Guide, "Comparing values with
a benchmark"). Whether higher is better or worse depends on the indicator's polarity, which is
for the caller to say; this room only reports the direction.

Where the interval or the benchmark is missing (e.g. a suppressed DSR) the result is
"not compared", so a missing value never looks like a similar one.
"""

from __future__ import annotations

import numpy as np

from triangulate.stats.estimate import as_float_array

HIGHER = "higher"
LOWER = "lower"
SIMILAR = "similar"
NOT_COMPARED = "not compared"


def compare_to_benchmark(lower, upper, benchmark):
    """"higher", "lower", "similar" or "not compared" for each interval against the benchmark.

    Scalars give a ``str``; arrays (broadcast together) give an object array of ``str``.
    """
    lo, up, bench = np.broadcast_arrays(as_float_array(lower, "lower"),
                                        as_float_array(upper, "upper"),
                                        as_float_array(benchmark, "benchmark"))
    if np.any(lo > up):
        raise ValueError("a lower limit is above its upper limit")
    result = np.where(lo > bench, HIGHER, np.where(up < bench, LOWER, SIMILAR)).astype(object)
    result[np.isnan(lo) | np.isnan(up) | np.isnan(bench)] = NOT_COMPARED
    return result.item() if result.ndim == 0 else result
