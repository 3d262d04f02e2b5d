"""The dashboard's pages. Every page, export and API checks its role (``roles.requires``) and is
written to the audit log with its filters; tables are plain HTML, usable without JavaScript."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from triangulate.publish.pages import PAGES as PAGE_LIST
from triangulate.publish.publication import PublicationError

from . import data
from .export import csv_response, xlsx_response
from .models import AuditEvent, LoginAttempt, record
from .roles import ROLES, can, requires, roles_of
from .screening import MAX_UPLOAD_BYTES, Results, result_id
from .screening import too_large as upload_too_large

#: Pages of figures: the list the report's sections follow too.
PAGES = {p.slug: p for p in PAGE_LIST}
RETENTION_MINUTES = int(os.environ.get("TRIANGULATE_SCREENING_RETENTION_MINUTES", "60"))


def _context(request, **extra):
    return {"pages": PAGES, "roles": sorted(roles_of(request.user)), "can_aggregates": can(request.user, "aggregates"),
            "can_analyst": can(request.user, "unsuppressed"), "can_screening": can(request.user, "screening"),
            "can_admin": can(request.user, "admin"), **extra}


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@require_http_methods(["GET", "POST"])
def login_view(request):
    error = None
    if request.method == "POST":
        name = request.POST.get("username", "")[:150]
        since = timezone.now() - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        # The attempt is written before the password is checked and ranked among the name's attempts
        # in the window, so parallel guesses are checked at most LOGIN_FAILURE_LIMIT times.
        LoginAttempt.objects.filter(user_name=name, at__lt=since).delete()
        attempt = LoginAttempt.objects.create(user_name=name)
        rank = LoginAttempt.objects.filter(user_name=name, at__gte=since, id__lte=attempt.id).count()
        if rank > settings.LOGIN_FAILURE_LIMIT:
            LoginAttempt.objects.filter(id=attempt.id).delete()  # refused unchecked: not a guess
            record(name, AuditEvent.LOGIN_LOCKED, request.path, ip=_ip(request))
            error = (f"Too many failed attempts: this account is locked for {settings.LOGIN_LOCKOUT_MINUTES} "
                     "minutes. Ask an administrator if you need access sooner.")
        else:
            user = authenticate(request, username=name, password=request.POST.get("password", ""))
            if user is None:
                record(name, AuditEvent.LOGIN_FAILED, request.path, ip=_ip(request))
                error = "The user name or password is not right."
            else:
                LoginAttempt.objects.filter(user_name=name).delete()
                login(request, user)
                record(name, AuditEvent.LOGIN, request.path, ip=_ip(request))
                target = request.GET.get("next", "/")
                return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
    return render(request, "web/login.html", {"error": error}, status=200 if error is None else 401)


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        record(request.user.get_username(), AuditEvent.LOGOUT, request.path)
    logout(request)
    return redirect("/login/")


def home(request):
    if not request.user.is_authenticated:
        return redirect("/login/")
    if can(request.user, "aggregates"):
        return overview(request)
    if can(request.user, "screening"):
        return redirect("/screening/")
    if can(request.user, "admin"):
        return redirect("/admin/audit/")
    return render(request, "web/no_role.html", _context(request), status=403)


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _figures(request):
    """(filters, unsuppressed, publication) for the request; ``_Refused`` with what to do otherwise."""
    unsuppressed = request.GET.get("unsuppressed") == "1"
    if unsuppressed and not can(request.user, "unsuppressed"):
        record(request.user.get_username(), AuditEvent.REFUSED, request.path, capability="unsuppressed")
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("unsuppressed figures are for analysts")
    try:
        published = data.publication(unsuppressed=unsuppressed)
        published.check()  # every file checked against the manifest before any page is drawn
    except PublicationError as problem:
        raise _Refused(503, str(problem)) from None
    try:
        filters = data.Filters.from_query(request.GET, published)
    except data.FilterError as problem:
        raise _Refused(400, str(problem)) from None
    return filters, unsuppressed, published


def _refused(request, problem: _Refused, title: str):
    record(request.user.get_username(), AuditEvent.PAGE, request.path, refused=str(problem))
    return render(request, "web/refused.html", _context(request, title=title, error=str(problem)),
                  status=problem.status)


def _filter_context(published, filters, unsuppressed, request) -> dict:
    offered = data.breakdowns(published)
    return {"filters": filters, "unsuppressed": unsuppressed, "areas": [(a, published.area_label(a)) for a in published.areas], "years": published.years,
            "breakdowns": data.breakdown_choices(published), "groups": offered.get(filters.breakdown, []),
            "query": request.GET.urlencode(), "publication": published.version,
            "published_at": published.manifest.get("created_at", "")}


@requires("aggregates")
def overview(request):
    try:
        filters, unsuppressed, published = _figures(request)
    except _Refused as problem:
        return _refused(request, problem, "Overview")
    record(request.user.get_username(), AuditEvent.PAGE, request.path, filters=filters.as_dict(),
           unsuppressed=unsuppressed, publication=published.version)
    choices = [(a, published.area_label(a), _with_query(request, area=a if a != published.areas[0] else ""))
               for a in published.areas]
    return render(request, "web/overview.html", _context(
        request, title="Overview", area_links=choices, overview=True, **_glance(published, filters),
        **_filter_context(published, filters, unsuppressed, request)))


@requires("aggregates")
def page(request, slug: str):
    if slug not in PAGES:
        raise Http404("no such page")
    about = PAGES[slug]
    try:
        filters, unsuppressed, published = _figures(request)
    except _Refused as problem:
        return _refused(request, problem, about.title)
    record(request.user.get_username(), AuditEvent.PAGE, request.path, filters=filters.as_dict(),
           unsuppressed=unsuppressed, publication=published.version)
    try:
        tables = [data.shown_table(published, filters, name, request.GET.get(data.page_parameter(name)),
                                   request.GET.get(data.sort_parameter(name)))
                  for name in about.measures if name in published.names]
    except data.FilterError as problem:
        return _refused(request, _Refused(400, str(problem)), about.title)
    tables = [_with_page_links(request, t) for t in tables]
    chapter = None
    if not about.measures:  # a chapter across views: the report's own section, from the same publication
        from triangulate.report import build

        chapter = build.SECTIONS[slug](data.view(filters, published))
        for t in chapter.tables:
            _with_cells(t)
    drawn = data.charts(slug, filters, published)
    extra = {}
    if slug == "provision":
        from . import plan

        extra = plan.context(request, published, filters)
    elif slug == "survey":  # the quotations a reviewer cleared, and the survey beside the records, as the chapter
        from triangulate.report.survey import beside_the_records, quotes as cleared

        view = data.view(filters, published)
        tables_beside, notes_beside = beside_the_records(view)
        extra = {"quotes": cleared(view), "beside": [_with_cells(t) for t in tables_beside],
                 "beside_notes": notes_beside}
    return render(request, "web/page.html", _context(
        request, title=about.title, about=about.about, slug=slug, current=slug, tables=tables, chapter=chapter,
        **(_glance(published, filters, about.measures) if about.measures else {}),
        charts=[{"src": f"/chart/{slug}{f'-{i}' if i else ''}.svg", "caption": d[1], "description": d[2],
                 "json": f"/chart/{slug}{f'-{i}' if i else ''}.json" if d[3] else "", "n": i}
                for i, d in enumerate(drawn)],
        **_filter_context(published, filters, unsuppressed, request), **extra))


def _with_cells(t):
    """A report table with each cell marked whether it is a number (right-aligned, as the report has them)."""
    numeric = list(t.numeric) + [False] * (len(t.columns) - len(t.numeric))
    t.head = list(zip(t.columns, numeric, strict=True))
    t.cells = [list(zip(row, numeric, strict=True)) for row in t.rows]
    return t


def _glance(published, filters, measures: tuple[str, ...] | None = None) -> dict:
    """The headline figures at a glance for the view (of ``measures`` only, on a figure page): beside all
    areas, by year, with the sentences that say what differs (``triangulate.report.hna.glance``)."""
    from triangulate.report.hna import glance_sentences, year_heading

    rows = data.glance(published, filters, measures)
    when = "all years pooled" if filters.year == published.years[0] else filters.year
    return {"glance": rows, "sentences": glance_sentences(rows, when), "where": published.area_label(filters.area),
            "when": when, "year_headings": [year_heading(y, published.manifest) for y, _ in rows[0].years] if rows else []}


def _with_query(request, **changed: str) -> str:
    """The address of this page with some filters changed (an empty value drops the filter)."""
    query = request.GET.copy()
    for name, value in changed.items():
        if value:
            query[name] = value
        else:
            query.pop(name, None)
    return f"?{query.urlencode()}" if query else request.path


def _with_page_links(request, t: data.ShownTable) -> SimpleNamespace:
    """The table (kept, so not changed) with the addresses of its pages before and after, every filter and
    every other table's page kept; and its head, each figure's heading a link that orders the rows by it
    (largest first, then smallest first: ``aria-sort`` says which), back on the first page."""
    from django.utils.html import escape

    links = {}
    for label, number in (("previous", t.page - 1), ("next", t.page + 1)):
        if 1 <= number <= t.pages:
            query = request.GET.copy()
            query[data.page_parameter(t.name)] = str(number)
            links[label] = f"?{query.urlencode()}#h-{t.name}"
    cells = []
    for column, label, sortable in t.columns:
        if not sortable:
            cells.append(f'<th scope="col">{escape(label)}</th>')
            continue
        current = t.sort[1] if t.sort and t.sort[0] == column else None  # True: largest first
        query = request.GET.copy()
        query.pop(data.page_parameter(t.name), None)
        query[data.sort_parameter(t.name)] = column if current else f"-{column}"
        state = "" if current is None else f' aria-sort="{"descending" if current else "ascending"}"'
        then = "smallest first" if current else "largest first"
        cells.append(f'<th scope="col" class="num"{state}><a href="?{escape(query.urlencode())}#h-{t.name}">'
                     f'{escape(label)}<span class="nhsuk-u-visually-hidden"> (order by this, {then})</span></a>'
                     f'{"" if current is None else (" ▼" if current else " ▲")}</th>')
    head = "".join(cells) if t.columns else t.head
    return SimpleNamespace(**{**vars(t), "head": head}, links=links, last=t.first + t.shown - 1)


@requires("aggregates")
def glossary(request):
    """The words the figure pages use, and every measure's registration (the same text as beside each table)."""
    from . import glossary as words

    record(request.user.get_username(), AuditEvent.PAGE, request.path)
    return render(request, "web/glossary.html", _context(
        request, title="Glossary and definitions", current="glossary", terms=words.TERMS, entries=words.entries()))


def _drawing(request, slug: str, index: str | None, interactive: bool = False):
    """A page's chart ``index`` for the request's view, audited; or the response refusing it (a filter
    error, or a 404 where the page has no such chart, or none to explore)."""
    if slug not in PAGES:
        raise Http404("no such chart")
    try:
        filters, unsuppressed, published = _figures(request)
    except _Refused as problem:
        return None, HttpResponse(str(problem), status=problem.status, content_type="text/plain; charset=utf-8")
    drawings = data.charts(slug, filters, published)
    n = int(index or 0)
    if n >= len(drawings) or (interactive and not drawings[n][3]):
        raise Http404("no such chart for these filters")
    record(request.user.get_username(), AuditEvent.CHART, request.path, filters=filters.as_dict(),
           unsuppressed=unsuppressed, publication=published.version)
    return drawings[n], None


def _chart_response(body: str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response


@requires("aggregates")
def chart_svg(request, slug: str, index: str | None = None):
    """One of a page's charts (the first, or ``index``) as an SVG image (so the page itself carries no
    inline styles or scripts)."""
    drawn, refused = _drawing(request, slug, index)
    if refused:
        return refused
    return _chart_response(drawn[0].replace('role="img" aria-hidden="true" focusable="false" ', "", 1),
                           "image/svg+xml; charset=utf-8")


@requires("aggregates")
def chart_json(request, slug: str, index: str | None = None):
    """One of a page's charts as a Vega specification, for the page's "Explore this chart" (drawn in the
    browser by the vendored Vega with its expression interpreter, so the CSP needs no ``unsafe-eval``):
    the same published figures as the SVG and the table, with tooltips."""
    drawn, refused = _drawing(request, slug, index, interactive=True)
    if refused:
        return refused
    return _chart_response(data.interactive(drawn[3]), "application/json")


@requires("aggregates")
def export(request, name: str, fmt: str):
    try:
        filters, unsuppressed, published = _figures(request)
    except _Refused as problem:
        return HttpResponse(str(problem), status=problem.status, content_type="text/plain; charset=utf-8")
    if name not in published.names:
        raise Http404("no such table")
    record(request.user.get_username(), AuditEvent.EXPORT, request.path, table=name, format=fmt,
           filters=filters.as_dict(), unsuppressed=unsuppressed, publication=published.version)
    _, rows = filters.rows(data.view(filters, published), name, text=False)
    if not rows:
        rows = [dict.fromkeys(published.table(name).column_names, "")][:0]
    return (xlsx_response if fmt == "xlsx" else csv_response)(f"{name}-{published.version}", rows)


@requires("link_quality")
def link_quality(request):
    import duckdb

    record(request.user.get_username(), AuditEvent.PAGE, request.path)
    rows = []
    try:
        con = duckdb.connect(str(settings.STORE), read_only=True)
        try:
            rows = con.sql("SELECT run_id, engine, threshold, records, comparisons_scored, pairs_at_threshold, "
                           "people, keys_kept, keys_new, keys_merged, finished_at FROM meta.link_runs "
                           "ORDER BY finished_at DESC").to_arrow_table().to_pylist()
        finally:
            con.close()
    except duckdb.Error:
        rows = []
    columns = list(rows[0]) if rows else []
    return render(request, "web/link_quality.html", _context(request, title="Link quality", rows=rows,
                                                            columns=columns))


# --- screening -----------------------------------------------------------------------------------

#: Screening results: in memory, for their uploader, until the retention passes (``web/screening.py``).
RESULTS = Results(RETENTION_MINUTES * 60)


@requires("screening")
@require_http_methods(["GET", "POST"])
def screening(request):
    from triangulate.link.run import LinkError
    from triangulate.link.screen import NOTICE, screen
    from triangulate.link.screen_list import ScreenListError, read_list

    who = request.user.get_username()
    problems, result, token, status = [], None, None, 200
    posted = request.method == "POST"
    # Only a body whose declared length is within the cap is read, and that only up to the cap.
    upload = request.FILES.get("list") if posted and not upload_too_large(request) else None
    if not posted:
        record(who, AuditEvent.PAGE, request.path)
    elif upload_too_large(request):
        record(who, AuditEvent.REFUSED, request.path, reason="upload too large")
        problems, status = [f"The list is larger than {MAX_UPLOAD_BYTES / 1024 / 1024:g} MB: split it into "
                            "smaller lists (a list of 2,000 people is about 200 KB)."], 413
    elif upload is None:
        problems, status = ["Choose a list file (CSV) to upload."], 400
    else:
        try:
            # The upload is held in memory (CappedMemoryUpload) and never written to disk.
            people = read_list(Path(upload.name), name=upload.name, data=upload.read())
            result = screen(settings.STORE, people)
            token = RESULTS.put(who, result.csv_text().encode("utf-8"))
            record(who, AuditEvent.UPLOAD, request.path, file_size=upload.size, people=len(people),
                   result=result_id(token))
        except ScreenListError as problem:
            problems, status = [str(p) for p in problem.problems], 400
        except LinkError as problem:
            problems, status = [str(problem)], 400
        if problems:
            record(who, AuditEvent.UPLOAD, request.path, file_size=upload.size, refused=len(problems))
    return render(request, "web/screening.html", _context(
        request, title="Screening", problems=problems, result=result, token=token, notice=NOTICE,
        retention=RETENTION_MINUTES), status=status)


@requires("screening")
def screening_download(request, token: str):
    who = request.user.get_username()
    content = RESULTS.get(token, who)
    if content is None:
        record(who, AuditEvent.REFUSED, request.path, table="screening result", result=result_id(token))
        raise Http404("no such result (results are kept for a limited time, for the person who uploaded the list)")
    record(who, AuditEvent.EXPORT, request.path, table="screening result", result=result_id(token))
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="screening-result.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- administration -------------------------------------------------------------------------------

@requires("admin")
def audit_log(request):
    record(request.user.get_username(), AuditEvent.PAGE, request.path)
    events = AuditEvent.objects.all()[:500]
    return render(request, "web/audit.html", _context(request, title="Audit log", events=events))


@requires("admin")
def audit_export(request):
    record(request.user.get_username(), AuditEvent.EXPORT, request.path, table="audit log")
    rows = [{"at": e.at.isoformat(), "user": e.user_name, "event": e.event, "path": e.path,
             "detail": str(e.detail)} for e in AuditEvent.objects.all()]
    return csv_response("audit-log", rows)


@requires("admin")
def users(request):
    record(request.user.get_username(), AuditEvent.PAGE, request.path)
    people = [{"name": u.get_username(), "roles": ", ".join(sorted(roles_of(u))), "active": u.is_active,
               "last_login": u.last_login} for u in User.objects.order_by("username")]
    return render(request, "web/users.html", _context(request, title="Users", people=people, all_roles=ROLES))
