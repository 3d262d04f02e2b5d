"""Run the ingest from a shell: ``python -m triangulate.ingest PATH... --store FILE``.

Exit status: 0 when the run loaded (rows may still have been rejected: see the rejects files), 2
when it was refused (nothing loaded; the message on stderr says what to fix), 1 when it failed for
another reason (nothing loaded). Progress goes to stderr, one line per step, so that a log or a
supervising process can follow it; the accounting table goes to stdout. The ``triangulate ingest``
command calls :func:`main` too.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rich.console import Console

from . import IngestFailed, IngestRefused, ingest, load_key
from triangulate.store import DEFAULT_STORE, StoreError

log = logging.getLogger("triangulate.ingest")

EXIT_REFUSED = 2
EXIT_FAILED = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m triangulate.ingest",
        description="Check, pseudonymise and load agency extracts into the store, all or nothing.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="extract files, or directories of them")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE, help="the store file (DuckDB)")
    parser.add_argument("--key-file", type=Path, default=None,
                        help="file holding the pseudonymisation key (default: $TRIANGULATE_KEY)")
    parser.add_argument("--rejects", type=Path, default=None,
                        help="folder for rejects files (default: beside the store, <store>.rejects)")
    args = parser.parse_args(argv)

    err = Console(stderr=True, highlight=False)

    def progress(description: str, completed: int, total: int) -> None:
        err.print(f"{description}: {completed:,} of {total:,}", markup=False)

    try:
        key = load_key(args.key_file)
        report = ingest(args.paths, args.store, key, rejects_dir=args.rejects, progress=progress)
    except IngestRefused as refused:
        err.print(f"Refused, nothing was loaded: {refused}", markup=False)
        return EXIT_REFUSED
    except (IngestFailed, StoreError) as failed:
        err.print(f"Failed, nothing was loaded: {failed}", markup=False)
        return EXIT_FAILED
    Console(highlight=False).print(report.accounting_table())
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
