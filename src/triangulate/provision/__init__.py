"""Provision: the service directory (Open Referral UK / HSDS), its import and export, the Sequential
Intercept Model map and the gap analysis.

The directory lives in the store's ``provision`` schema, versioned (:mod:`.directory`); files are read
and written by :mod:`.formats` (HSDS JSON, the HSDS tabular package, the commissioner's template) and
checked by :mod:`.validate` against the vendored ORUK and HSDS JSON Schemas and the Triangulate
taxonomy (:mod:`.taxonomy`). See docs/provision.md.
"""

from __future__ import annotations

from .directory import (
    ImportReport,
    current_services,
    history,
    import_directory,
    latest_version,
    load_services,
    published_directory,
)
from .gaps import GapParameters, compute_gaps, derived_tables
from .formats import read_path, write_json, write_package, write_template
from .validate import DirectoryRefused, Problem, validate

__all__ = [
    "DirectoryRefused",
    "GapParameters",
    "ImportReport",
    "Problem",
    "compute_gaps",
    "current_services",
    "derived_tables",
    "history",
    "import_directory",
    "latest_version",
    "load_services",
    "published_directory",
    "read_path",
    "validate",
    "write_json",
    "write_package",
    "write_template",
]
