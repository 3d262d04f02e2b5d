"""Files that hold identifiers or credentials: owner-only whatever the umask.

``open_private`` creates (or truncates) a file readable and writable by its owner only (600), and
``private_folder`` makes a folder only its owner may list or enter (700). Both also tighten a file
or folder that already exists, since ``os.open``'s mode applies only on creation.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_folder(path: str | Path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def open_private(path: str | Path, mode: str = "w", **kwargs):
    """``open(path, mode)`` for writing text or bytes, the file 600 from its first byte."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode, **kwargs)


def write_private_text(path: str | Path, text: str) -> Path:
    with open_private(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)
