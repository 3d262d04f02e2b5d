"""The Open Referral UK API: the service directory as open data, read from the latest publication.

ORUK 3.0 endpoints (``OpenReferralUK/uk-profile`` ``schema/openapi.json``), under ``/api/``:

- ``/api/``: what this API is (HSDS version, profile, where its OpenAPI description is);
- ``/api/services``: a page of services with their one-to-one fields (``page``, ``per_page``,
  ``search``, ``taxonomy_term_id``, ``taxonomy_id``, ``minimum_age``, ``maximum_age``); the page has
  ORUK 3.0's ``total_items``, ``total_pages``, ``page_number``, ``size``, ``first_page``,
  ``last_page``, ``empty`` and ``contents``, and the earlier ORUK names ``totalElements`` and
  ``totalPages`` beside them;
- ``/api/services/{id}``: one service, fully nested;
- ``/api/taxonomies``, ``/api/taxonomies/{id}``, ``/api/taxonomy_terms``, ``/api/taxonomy_terms/{id}``.

Open as the profile requires: no login, ``Access-Control-Allow-Origin: *``, GET only. Nothing about
people is near it: the directory is services, published with the figures (``write_publication(...,
directory=...)``), never read from the store at request time. A bad parameter is a 400 naming it; an
unknown id a 404; no publication, or one without a directory, a 503 saying what to run.
"""

from __future__ import annotations

import math
from functools import lru_cache

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from triangulate.publish.publication import PublicationError

from . import data

HSDS_VERSION = "3.0"
PROFILE = "https://github.com/OpenReferralUK/uk-profile"
PER_PAGE = 50
MAX_PER_PAGE = 200
#: The one-to-one fields of a service in a list (ORUK's ``service_list``).
LIST_FIELDS = ("id", "organization_id", "name", "description", "url", "email", "status", "fees", "accreditations",
               "minimum_age", "maximum_age", "assured_date", "assurer_email", "alert", "last_modified")


class _ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _json(payload, status: int = 200) -> JsonResponse:
    response = JsonResponse(payload, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


def _error(problem: _ApiError) -> JsonResponse:
    return _json({"error": str(problem), "status": problem.status}, status=problem.status)


def _published():
    try:
        published = data.publication()
        listing = published.directory
    except PublicationError as problem:
        raise _ApiError(503, str(problem)) from None
    if listing is None:
        raise _ApiError(503, "This publication holds no service directory: import one "
                             "(`triangulate provision import`) and publish again.")
    return published


def _directory() -> dict:
    return _published().directory


@lru_cache(maxsize=data.PUBLICATIONS_KEPT)
def _index(folder: str, store: str) -> dict:
    """Lookups of one publication's directory: services, taxonomies and terms by id."""
    listing = data.read(folder, store).directory
    services = {s["id"]: s for s in listing["services"]}
    taxonomies = {t["id"]: t for t in listing.get("taxonomies", [])}
    terms = {}
    for t in listing.get("taxonomies", []):
        for term in t.get("taxonomy_terms", []):
            terms[term["id"]] = term
    for s in listing["services"]:
        for a in s.get("attributes", []):
            if isinstance(a.get("taxonomy_term"), dict):
                terms.setdefault(a["taxonomy_term"]["id"], a["taxonomy_term"])
    return {"services": services, "taxonomies": taxonomies, "terms": terms}


def _lookups() -> dict:
    published = _published()
    return _index(str(published.folder), str(settings.STORE))


def _int(request, name: str, default: int | None, lo: int, hi: int | None = None) -> int | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _ApiError(400, f"The {name} parameter must be a whole number.") from None
    if value < lo or (hi is not None and value > hi):
        bounds = f"from {lo} to {hi}" if hi is not None else f"{lo} or more"
        raise _ApiError(400, f"The {name} parameter must be {bounds}.")
    return value


def _page(request, items: list) -> dict:
    page = _int(request, "page", 1, 1)
    per_page = _int(request, "per_page", PER_PAGE, 1, MAX_PER_PAGE)
    total = len(items)
    pages = max(1, math.ceil(total / per_page))
    contents = items[(page - 1) * per_page: page * per_page]
    return {"total_items": total, "total_pages": pages, "page_number": page, "size": len(contents),
            "first_page": page == 1, "last_page": page >= pages, "empty": not contents,
            "totalElements": total, "totalPages": pages, "contents": contents}


def _matches(service: dict, request, terms: dict) -> bool:
    search = (request.GET.get("search") or "").strip().lower()
    if search and search not in f"{service.get('name', '')} {service.get('description', '')}".lower():
        return False
    term_ids = {a.get("taxonomy_term_id") for a in service.get("attributes", [])}
    if request.GET.get("taxonomy_term_id") and request.GET["taxonomy_term_id"] not in term_ids:
        return False
    if request.GET.get("taxonomy_id") and not any(
            terms.get(t, {}).get("taxonomy_id") == request.GET["taxonomy_id"] for t in term_ids):
        return False
    lo, hi = _int(request, "minimum_age", None, 0, 150), _int(request, "maximum_age", None, 0, 150)
    # a service is returned when it accepts someone of the ages asked about
    if lo is not None and service.get("maximum_age") is not None and service["maximum_age"] < lo:
        return False
    if hi is not None and service.get("minimum_age") is not None and service["minimum_age"] > hi:
        return False
    return True


def _handle(view):
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _ApiError as problem:
            return _error(problem)
    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return require_GET(wrapped)


@_handle
def root(request):
    """What this API is: ORUK's ``/``."""
    listing = _directory()
    return _json({"version": HSDS_VERSION, "profile": PROFILE,
                  "openapi_url": request.build_absolute_uri("/api/openapi.json"),
                  "directory_version": listing.get("version"), "services": len(listing["services"])})


@_handle
def services(request):
    lookups = _lookups()
    chosen = [s for s in lookups["services"].values() if _matches(s, request, lookups["terms"])]
    chosen.sort(key=lambda s: (str(s.get("name", "")).lower(), s["id"]))
    page = _page(request, chosen)
    page["contents"] = [{k: s[k] for k in LIST_FIELDS if k in s} for s in page["contents"]]
    return _json(page)


def _by_id(kind: str, id: str, noun: str) -> JsonResponse:
    found = _lookups()[kind].get(id)
    if found is None:
        raise _ApiError(404, f"No {noun} has this id in the published directory.")
    return _json(found)


@_handle
def service(request, id: str):
    return _by_id("services", id, "service")


@_handle
def taxonomies(request):
    return _json(_page(request, sorted(_lookups()["taxonomies"].values(), key=lambda t: t["name"])))


@_handle
def taxonomy(request, id: str):
    return _by_id("taxonomies", id, "taxonomy")


@_handle
def taxonomy_terms(request):
    terms = sorted(_lookups()["terms"].values(),
                   key=lambda t: (str(t.get("taxonomy", "")), str(t.get("code", "")), t["id"]))
    return _json(_page(request, terms))


@_handle
def taxonomy_term(request, id: str):
    return _by_id("terms", id, "taxonomy term")


@_handle
def openapi(request):
    """A short OpenAPI 3.0 description of the endpoints served here (ORUK 3.0's, with its parameters)."""
    page = {"$ref": "#/components/parameters/page"}
    per_page = {"$ref": "#/components/parameters/per_page"}

    def param(name, kind="string"):
        return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}

    def by_id(summary):
        return {"parameters": [{"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}],
                "get": {"summary": summary, "responses": {"200": {"description": summary}, "404": {"description": "unknown id"}}}}

    return _json({
        "openapi": "3.0.0",
        "info": {"title": "Triangulate service directory (Open Referral UK 3.0)", "version": HSDS_VERSION},
        "paths": {
            "/api/": {"get": {"summary": "About this API", "responses": {"200": {"description": "version, profile, openapi_url"}}}},
            "/api/services": {"get": {"summary": "A page of services (one-to-one fields)", "parameters": [
                param("search"), page, per_page, param("taxonomy_term_id"), param("taxonomy_id"),
                param("minimum_age", "integer"), param("maximum_age", "integer")],
                "responses": {"200": {"description": "a page"}, "400": {"description": "a bad parameter, named"}}}},
            "/api/services/{id}": by_id("One service, fully nested"),
            "/api/taxonomies": {"get": {"summary": "A page of taxonomies", "parameters": [page, per_page],
                                        "responses": {"200": {"description": "a page"}}}},
            "/api/taxonomies/{id}": by_id("One taxonomy"),
            "/api/taxonomy_terms": {"get": {"summary": "A page of taxonomy terms", "parameters": [page, per_page],
                                            "responses": {"200": {"description": "a page"}}}},
            "/api/taxonomy_terms/{id}": by_id("One taxonomy term"),
        },
        "components": {"parameters": {
            "page": {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
            "per_page": {"name": "per_page", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}}}},
    })
