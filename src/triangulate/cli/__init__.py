"""The ``triangulate`` command: one module per verb, each a thin function; the work lives in the rooms.

``app`` holds the Typer application and the consoles; importing a verb module registers its command.
The rooms never import this package, so there is no cycle between the command line and the rooms.
"""

from triangulate.cli import (  # noqa: F401
    demo, encode, ingest, link, measures, provision, publish, report, screen, serve, standard, survey, synth,
)
from triangulate.cli.app import app, console, err_console, progress_bars

__all__ = ["app", "console", "err_console", "progress_bars"]
