"""The registry of measures: one registered definition per measure, and nothing else.

A measure is what a commissioner reads (title, definition, numerator, denominator, method,
caveats) together with the two functions that make it: ``build`` gives the Ibis expression of
its counts (the only part that touches the store, so it runs unchanged on any Ibis engine) and
``finish`` adds the intervals from ``triangulate.stats`` to those counts. Adding a measure is
adding one decorated function; ``write_measures`` and ``docs/measures.md`` both read this
registry, and a test fails when the documentation lacks a registered measure.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import pyarrow as pa


@dataclass(frozen=True)
class Disclosure:
    """How a measure's table goes through ``apply_disclosure_control``."""

    counts: tuple[str, ...]
    dimensions: tuple[str, ...]
    by: tuple[str, ...]
    dependents: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    name: str
    title: str
    definition: str
    numerator: str
    denominator: str
    method: str
    caveats: str
    build: Callable[..., ibis.Table]
    finish: Callable[[pa.Table], pa.Table]
    disclosure: Disclosure


REGISTRY: dict[str, Measure] = {}
# The modules whose measures are registered, in the order they are written and documented.
MODULES = ("needs", "disproportionality", "funnel", "journeys", "coverage")


def register(
    *,
    name: str,
    title: str,
    definition: str,
    numerator: str,
    denominator: str,
    method: str,
    caveats: str,
    finish: Callable[[pa.Table], pa.Table],
    disclosure: Disclosure,
) -> Callable[[Callable[..., ibis.Table]], Callable[..., ibis.Table]]:
    """Register the decorated function as the Ibis builder of measure ``name``."""

    def decorate(build: Callable[..., ibis.Table]) -> Callable[..., ibis.Table]:
        if name in REGISTRY:
            raise ValueError(f"Measure {name!r} is registered twice")
        REGISTRY[name] = Measure(
            name, title, definition, numerator, denominator, method, caveats, build, finish,
            disclosure,
        )
        return build

    return decorate


def measures() -> list[Measure]:
    """Every registered measure, in registration order."""
    for module in MODULES:
        importlib.import_module(f"triangulate.measures.{module}")  # importing registers

    return list(REGISTRY.values())
