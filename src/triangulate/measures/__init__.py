"""Measures over the store: needs, disproportionality, the L&D funnel and coverage, in Ibis.

Commissioners and analysts come for figures they can publish: how common each need is among the
people seen at each point of the justice pathway, how much more often each ethnic group reaches
each decision point, and how far the recording can be trusted. Each measure is one registered
definition (``registry``) whose counts are an Ibis expression over the content zone, so the same
code runs on DuckDB (default) or Spark (``engine``); intervals come from ``triangulate.stats`` and
every table leaves through ``triangulate.disclosure``. See docs/measures.md.
"""

from triangulate.measures.base import Bases, Filters
from triangulate.measures.engine import connect
from triangulate.measures.errors import MeasuresError
from triangulate.measures.registry import REGISTRY, Disclosure, Measure, measures
from triangulate.measures.write import (
    MeasuresReport,
    check_store,
    publish,
    run_measure,
    write_measures,
)

__all__ = [
    "REGISTRY",
    "Bases",
    "Disclosure",
    "Filters",
    "Measure",
    "MeasuresError",
    "MeasuresReport",
    "check_store",
    "connect",
    "measures",
    "publish",
    "run_measure",
    "write_measures",
]
