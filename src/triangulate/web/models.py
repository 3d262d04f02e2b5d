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
    CHART = "chart view"
    EXPORT = "export"
    PLAN_CHANGE = "plan change"
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


class PlanItem(models.Model):
    """A priority and its action for one gap (area, intercept, need), recorded by an analyst.

    Changed in place (a plan is worked on), and every change is written to the audit log with the
    fields before and after (``views.plan_save``). Holds no one's data but the names of its owner and
    of who changed it.
    """

    PRIORITIES = ("High", "Medium", "Low")
    STATUSES = ("planned", "in progress", "done", "not pursued")

    area = models.CharField(max_length=40)
    intercept = models.CharField(max_length=1)
    need_code = models.CharField(max_length=40)
    priority = models.CharField(max_length=10)
    rationale = models.TextField(max_length=1000, blank=True)
    action = models.TextField(max_length=2000)
    owner = models.CharField(max_length=150)
    due = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, default="planned")
    publication = models.CharField(max_length=20, blank=True)
    created_by = models.CharField(max_length=150)
    updated_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["area", "intercept", "need_code"]
        constraints = [models.UniqueConstraint(fields=["area", "intercept", "need_code"], name="one_item_per_gap")]

    FIELDS = ("priority", "rationale", "action", "owner", "due", "status")

    def as_dict(self) -> dict:
        return {"area": self.area, "intercept": self.intercept, "need_code": self.need_code,
                "priority": self.priority, "rationale": self.rationale, "action": self.action, "owner": self.owner,
                "due": self.due.isoformat() if self.due else "", "status": self.status,
                "publication": self.publication, "updated_by": self.updated_by,
                "updated_at": self.updated_at.isoformat(timespec="seconds") if self.updated_at else ""}


class LoginAttempt(models.Model):
    """A password check for a user name, written *before* the check and kept if it fails.

    The lockout counts these rather than the audit log's failures, so parallel guesses cannot all be
    checked before the first failure is written: an attempt ranked past the limit among its user
    name's attempts in the window is refused without checking, whatever the other requests are doing.
    A successful login clears the name's attempts. Holds a user name and a time, nothing else.
    """

    user_name = models.CharField(max_length=150, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
