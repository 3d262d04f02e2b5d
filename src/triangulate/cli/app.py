"""The command's shared parts: the Typer app, the consoles and the progress bars.

Every verb module imports from here and nowhere else in ``cli``; no room imports this package, so the
command line sits at the top of the import graph and the rooms never call back into it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(
    help="Triangulate: ingest, link and measure data on mental health and the justice pathway.",
    no_args_is_help=True,
    add_completion=False,
)

# Off a terminal (CI logs, a file) Rich would wrap tables at 80 columns and cut figures short;
# a wider page keeps every figure whole. COLUMNS still wins where it is set. Sentences (messages,
# errors, paths) are never wrapped: a path or a figure cut by a line break cannot be copied or
# searched for, and what a message says must not depend on the width of the terminal.
_PAGE_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
console = Console(width=_PAGE_WIDTH, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, width=_PAGE_WIDTH, soft_wrap=True)


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debugging detail (never values)."),
) -> None:
    """Log lines go to stderr as ``logger: message``; the rooms never log identifying values."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(name)s: %(message)s",
                        force=True)
    if not verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_not_py4j_retries)


def _not_py4j_retries(record: logging.LogRecord) -> bool:
    """Py4J (Spark's bridge to Java) logs on the root logger, at INFO with its traceback, each command it
    sends again on a fresh connection after the JVM closed an idle one: a successful million-person publish
    on Spark printed two such tracebacks. Below WARNING it is not the user's business (``-v`` shows it)."""
    return not (record.levelno < logging.WARNING and f"{os.sep}py4j{os.sep}" in record.pathname)


@contextlib.contextmanager
def progress_bars(console: Console = err_console) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(description, completed, total)`` callback drawing one Rich bar per stage.

    The rooms report progress through a plain callback so they stay free of any UI library. A
    description ``"Bar: detail"`` updates the bar named ``Bar`` and shows the detail, so a job of
    many short steps draws one bar rather than one per step.
    """
    if not console.is_terminal:
        # Not a terminal (a log file, CI, a supervising process): one plain line per update.
        def line(description: str, completed: int, total: int) -> None:
            console.print(f"{description}: {completed:,} of {total:,}", markup=False)

        yield line
        return
    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as bars:
        def update(description: str, completed: int, total: int) -> None:
            bar = description.split(":", 1)[0]
            if bar not in tasks:
                tasks[bar] = bars.add_task(description, total=total)
            bars.update(tasks[bar], description=description, completed=completed, total=total)

        yield update


