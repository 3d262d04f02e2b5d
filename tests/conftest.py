"""Fixtures shared by every room's tests."""

from __future__ import annotations

import hashlib
import io
import json
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

MARK = "<!-- drawn when published -->"


@pytest.fixture
def marked_drawings(tmp_path):
    """``copy(published)`` -> (folder, mark): a copy of a publication whose held drawings each end in
    ``mark`` (manifest hash updated), so a test can tell a drawing read from the publication from one
    drawn again."""

    def copy(published):
        folder = tmp_path / published.version
        shutil.copytree(published.folder, folder)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        path = folder / manifest["charts"]["file"]
        t = pq.read_table(path)
        marked = pc.binary_join_element_wise(t.column("svg"), pa.scalar(MARK), "")
        t = t.set_column(t.schema.get_field_index("svg"), "svg", marked)
        buffer = io.BytesIO()
        pq.write_table(t, buffer)
        path.write_bytes(buffer.getvalue())
        manifest["charts"]["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return folder, MARK

    return copy
