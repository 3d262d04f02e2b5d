"""Roles and what each may do. A user holds one or more roles (Django groups of these names)."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied

ROLES = {
    "viewer": "disclosure-controlled aggregates only",
    "analyst": "aggregates, also unsuppressed, link quality, and the provision action plan",
    "screener": "court-list screening",
    "admin": "users and the audit log",
}
#: Capability -> roles that have it.
CAPABILITIES = {
    "aggregates": {"viewer", "analyst"},
    "unsuppressed": {"analyst"},
    "link_quality": {"analyst"},
    "plan": {"analyst"},
    "screening": {"screener"},
    "admin": {"admin"},
}


def roles_of(user) -> set[str]:
    """The user's roles, read once per request (the user object lives as long as the request)."""
    if not user.is_authenticated:
        return set()
    held = getattr(user, "_triangulate_roles", None)
    if held is None:
        held = user._triangulate_roles = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return set(held)


def can(user, capability: str) -> bool:
    return bool(roles_of(user) & CAPABILITIES[capability])


def requires(capability: str):
    """View decorator: log in first, then 403 without the capability (and the refusal audited)."""
    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            from django.contrib.auth.views import redirect_to_login

            from .models import AuditEvent, record

            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can(request.user, capability):
                record(request.user.get_username(), AuditEvent.REFUSED, request.path, capability=capability)
                raise PermissionDenied(f"needs the {capability} capability")
            return view(request, *args, **kwargs)
        return wrapped
    return decorate
