"""This room's verbs of the ``triangulate`` command; ``triangulate.cli`` calls ``register``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this room's commands to ``app`` (heavy imports stay inside each command)."""
