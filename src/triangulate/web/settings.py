"""Django settings for the dashboard, from the environment (never from the repository).

- ``TRIANGULATE_STORE``: the linked DuckDB store the pages read (required to show figures).
- ``TRIANGULATE_WEB_DB``: the app's own SQLite file (users, sessions, audit log); default beside
  the store. ``TRIANGULATE_DATABASE_URL=postgresql://user:pass@host:port/name`` uses PostgreSQL.
- ``TRIANGULATE_SECRET_KEY``: the signing key; without it a random key is kept in a file beside
  the app database, readable by its owner only.
- ``TRIANGULATE_DEBUG=1``: development only (never with real data).
- ``TRIANGULATE_INSECURE_COOKIES=1``: allow session cookies over plain HTTP on loopback (the demo
  and tests); production serves over HTTPS and leaves this unset.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

from triangulate.store.private import private_folder

STORE = Path(os.environ.get("TRIANGULATE_STORE", "triangulate.duckdb"))
APP_DB = Path(os.environ.get("TRIANGULATE_WEB_DB", str(STORE.with_name("triangulate-web.sqlite3"))))
DEBUG = os.environ.get("TRIANGULATE_DEBUG") == "1"
INSECURE_COOKIES = os.environ.get("TRIANGULATE_INSECURE_COOKIES") == "1"


def _private_parent(path: Path) -> None:
    """Make ``path``'s folder owner-only (700) if it does not exist yet; an existing one is left as is."""
    if not path.parent.exists():
        private_folder(path.parent)


def _secret_key() -> str:
    key = os.environ.get("TRIANGULATE_SECRET_KEY")
    if key:
        return key
    path = APP_DB.with_name(APP_DB.name + ".secret")
    if not path.exists():
        _private_parent(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h for h in os.environ.get("TRIANGULATE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "triangulate.web.apps.WebConfig",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "triangulate.web.security.CompressOpenContent",  # outside WhiteNoise, so its files are compressed too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "triangulate.web.security.ContentSecurityPolicyMiddleware",
]
ROOT_URLCONF = "triangulate.web.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                       "django.contrib.auth.context_processors.auth"]},
}]


def _private_database_file(path: Path) -> None:
    """The app database holds password hashes, sessions and the audit log: created owner-only (600,
    its folder 700 if made here) whatever the umask. SQLite gives its -wal and -shm files the
    database file's mode, so they are owner-only too."""
    _private_parent(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)  # an empty file is an empty SQLite database
    try:
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _database() -> dict:
    url = os.environ.get("TRIANGULATE_DATABASE_URL")
    if url:
        u = urlparse(url)
        return {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"), "USER": u.username or "",
                "PASSWORD": u.password or "", "HOST": u.hostname or "", "PORT": str(u.port or "")}
    _private_database_file(APP_DB)
    # Write-ahead logging: a page's audit event does not block other users' session reads; every
    # commit is still synced to disk (synchronous FULL), so no audit event is lost on power failure.
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(APP_DB),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", "timeout": 20}}


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django's cache is not used for figures (web/data.py keeps its own bounded caches); in memory only.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "triangulate",
                      "OPTIONS": {"MAX_ENTRIES": 2000}}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "triangulate.web.passwords.PredictablePasswordValidator"},
]
# Uploads (screening lists) are held in memory and refused past a cap, never written to a temporary
# file (Django's default writes uploads over 2.5 MB to disk); see web/screening.py.
FILE_UPLOAD_HANDLERS = ["triangulate.web.screening.CappedMemoryUpload"]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
STATIC_URL = "/static/"
STATIC_ROOT = None
# The package's own static files (CSS, vendored HTMX) are served by WhiteNoise straight from the
# installed package: no collectstatic step, nothing from a CDN.
WHITENOISE_USE_FINDERS = True
USE_TZ = True
TIME_ZONE = "Europe/London"
LANGUAGE_CODE = "en-gb"

# Security: cookies over HTTPS only, HTTP-only, same-site; HSTS; no sniffing; no framing.
SESSION_COOKIE_SECURE = not INSECURE_COOKIES
CSRF_COOKIE_SECURE = not INSECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_SSL_REDIRECT = not INSECURE_COOKIES and not DEBUG
SECURE_HSTS_SECONDS = 0 if INSECURE_COOKIES else 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not INSECURE_COOKIES
SECURE_HSTS_PRELOAD = not INSECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Login throttling: this many failures for one user name within the window locks it for the window.
LOGIN_FAILURE_LIMIT = 5
LOGIN_LOCKOUT_MINUTES = 15
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}}}
