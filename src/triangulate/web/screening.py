"""Screening results and uploads: in this process's memory only, never on disk.

A screening result names people, so it is held in memory (never a file a later process could find),
for the user who uploaded the list only, and only until the retention passes: every read checks the
age itself, so an expired result is gone whether or not anyone opened the screening page, and a
stopped server leaves nothing behind. The uploaded list is read by :class:`CappedMemoryUpload`, which
keeps it in memory and stops reading once it passes the size cap (Django's default handler writes
uploads over 2.5 MB to a temporary file).

A result's *id* (a hash of its token, not the token) is what the audit log records for the upload and
for each download, so an administrator can tell which result was fetched without the log holding a
working link.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import threading
import time
from dataclasses import dataclass

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

#: The largest screening list accepted, in bytes (a list of 2,000 people is about 200 KB).
MAX_UPLOAD_BYTES = int(float(os.environ.get("TRIANGULATE_SCREENING_MAX_UPLOAD_MB", "2")) * 1024 * 1024)
#: Results kept at once; the oldest goes first when a new one would pass this.
MAX_RESULTS = 200


def result_id(token: str) -> str:
    """What the audit log calls a result: not the token itself, so the log is no way to fetch it."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class _Held:
    owner: str
    created: float
    content: bytes


class Results:
    """Screening results by token, each readable by its uploader only, until ``retention_seconds``."""

    def __init__(self, retention_seconds: float):
        self.retention_seconds = retention_seconds
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def put(self, owner: str, content: bytes) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._purge(time.time())
            while len(self._held) >= MAX_RESULTS:
                del self._held[min(self._held, key=lambda t: self._held[t].created)]
            self._held[token] = _Held(owner, time.time(), content)
        return token

    def get(self, token: str, owner: str) -> bytes | None:
        """The result if it exists, has not expired and was uploaded by ``owner``; otherwise None."""
        with self._lock:
            self._purge(time.time())
            held = self._held.get(token)
        if held is None or not secrets.compare_digest(held.owner, owner):
            return None
        return held.content

    def _purge(self, now: float) -> int:
        expired = [t for t, h in self._held.items() if now - h.created >= self.retention_seconds]
        for token in expired:
            del self._held[token]
        return len(expired)


class CappedMemoryUpload(FileUploadHandler):
    """Django upload handler: every uploaded file in memory, refused once it passes the cap."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > MAX_UPLOAD_BYTES:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.buffer.seek(0)
        return InMemoryUploadedFile(self.buffer, self.field_name, self.file_name, self.content_type,
                                    file_size, self.charset, self.content_type_extra)


def too_large(request) -> bool:
    """Whether the upload is over the cap: by its declared length before anything is read, or
    because :class:`CappedMemoryUpload` stopped reading it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > MAX_UPLOAD_BYTES + 64 * 1024 or getattr(request, "upload_too_large", False)
