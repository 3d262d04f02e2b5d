"""The audit log: append-only, in the app's own database.

Rows can be added, never changed or removed: the model refuses ``save`` of an existing row and
``delete``, its queryset refuses ``update`` and ``delete``, and the database itself refuses them
(triggers on SQLite and PostgreSQL, created by the migration).
"""

from __future__ import annotations

from django.db import models


class AppendOnlyError(Exception):
    """The audit log cannot be changed or deleted."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("the audit log is append-only")

    def delete(self):
        raise AppendOnlyError("the audit log is append-only")


class AuditEvent(models.Model):
    LOGIN = "login"
    LOGIN_FAILED = "login failed"
    LOGIN_LOCKED = "login refused: locked"
    LOGOUT = "logout"
    PAGE = "page view"
    EXPORT = "export"
    UPLOAD = "upload"
    USER_CHANGE = "user change"
    REFUSED = "refused"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user_name = models.CharField(max_length=150, db_index=True)
    event = models.CharField(max_length=40)
    path = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the audit log is append-only")


def record(user_name: str, event: str, path: str = "", **detail) -> AuditEvent:
    return AuditEvent.objects.create(user_name=user_name[:150], event=event, path=path[:500], detail=detail)
