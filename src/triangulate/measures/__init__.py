"""Measures over the store: needs, disproportionality, the L&D funnel, journeys and coverage, in Ibis.

Commissioners and analysts come for figures they can publish: how common each need is among the
people seen at each point of the justice pathway, how much more often each ethnic group reaches each
decision point, and how far the recording can be trusted. Each measure is one registered definition
(``registry``) whose fine counts are Ibis expressions over the person-level base (``base.Base``), so the
same code runs on DuckDB (default) or Spark; the publication (``triangulate.publish``) rolls them up
into every view, controls disclosure and adds the derived figures. See docs/measures.md.
"""

from triangulate.measures.base import Base
from triangulate.measures.engine import connect
from triangulate.measures.errors import MeasuresError
from triangulate.measures.registry import REGISTRY, Column, Count, Measure, measures, registry_version

__all__ = ["REGISTRY", "Base", "Column", "Count", "Measure", "MeasuresError", "connect", "measures",
           "registry_version"]
