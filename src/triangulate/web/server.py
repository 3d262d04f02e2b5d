"""Starting the dashboard: configure Django from a store, migrate, create users, serve (waitress)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def configure(store: str | Path, *, app_db: str | Path | None = None, insecure_cookies: bool = False) -> None:
    """Point Django at ``store`` and set it up (idempotent within a process)."""
    os.environ["TRIANGULATE_STORE"] = str(Path(store).resolve())
    if app_db is not None:
        os.environ["TRIANGULATE_WEB_DB"] = str(Path(app_db).resolve())
    if insecure_cookies:
        os.environ["TRIANGULATE_INSECURE_COOKIES"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triangulate.web.settings")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def create_user(name: str, role: str, password: str, *, by: str = "command line") -> None:
    """Create the user (or give an existing one the role); audited."""
    from django.contrib.auth.models import Group, User
    from django.contrib.auth.password_validation import validate_password

    from .models import AuditEvent, record
    from .roles import ROLES

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    user = User.objects.filter(username=name).first()
    created = user is None
    if created:
        user = User(username=name)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    record(by, AuditEvent.USER_CHANGE, "", user=name, role=role, created=created)


def demo_users() -> dict[str, str]:
    """One user per role with a fresh random password each run (synthetic data only)."""
    from .roles import ROLES

    users = {}
    for role in ROLES:
        password = secrets.token_urlsafe(12)
        create_user(f"demo-{role}", role, password, by="demo")
        users[f"demo-{role}"] = password
    return users


#: Proxy headers believed from the trusted proxy (and cleared from anyone else's requests).
PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"})


def waitress_options(host: str = "127.0.0.1", port: int = 8000, trusted_proxy: str | None = None) -> dict:
    """waitress's settings: request bodies held in memory up to four times the upload cap and refused
    past it (waitress otherwise spools bodies over 512 KB to a temporary file), responses likewise; behind a
    TLS proxy, that proxy's X-Forwarded-Proto and -For believed, and nobody else's."""
    from .screening import MAX_UPLOAD_BYTES

    # Bodies up to four times the upload cap reach the dashboard, which refuses a list over the cap with
    # a page saying what to do; anything larger waitress refuses itself (a bare 413). Either way the
    # body is held in memory (at most this much per connection), never spooled to disk.
    body = 4 * MAX_UPLOAD_BYTES + 256 * 1024
    options = {"host": host, "port": port, "threads": 8, "ident": "triangulate",
               "max_request_body_size": body, "inbuf_overflow": body + 1,
               "outbuf_overflow": 64 * 1024 * 1024, "clear_untrusted_proxy_headers": True}
    if trusted_proxy:
        options.update(trusted_proxy=trusted_proxy, trusted_proxy_count=1, trusted_proxy_headers=set(PROXY_HEADERS))
    return options


def serve(host: str = "127.0.0.1", port: int = 8000, *, trusted_proxy: str | None = None) -> None:
    from django.core.wsgi import get_wsgi_application
    from waitress import serve as waitress_serve

    waitress_serve(get_wsgi_application(), **waitress_options(host, port, trusted_proxy))
