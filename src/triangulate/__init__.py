"""Triangulate: mental health, ethnicity and the justice pathway, triangulated.

The package is split into rooms along one direction of data flow (see docs/architecture.md):
standard -> synth / ingest -> store -> link -> measures -> disclosure -> report / web.
"""

__version__ = "0.1.0"
