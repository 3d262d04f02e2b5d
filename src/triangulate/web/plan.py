"""Priorities and the action plan of the provision gap analysis, recorded on the dashboard.

An analyst picks a gap of the view (an intercept and need of the ranked gap list), gives it a priority
(High, Medium, Low), an action, an owner, a due date and a status; one item per area, intercept and
need, changed in place as the work goes on. Every change is written to the audit log with the fields
before and after. Everyone who may read figures sees the plan beside the gaps and may download it
(CSV, XLSX, JSON); ``triangulate report --action-plan plan.json`` puts it in the report's
"Provision and gaps" chapter.
"""

from __future__ import annotations

import datetime as dt
import json

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from triangulate.standard import codelist

from .export import csv_response, xlsx_response
from .models import AuditEvent, PlanItem, record
from .roles import requires

LIMITS = {"rationale": 1000, "action": 2000, "owner": 150}


class PlanError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def ranked(published, area: str, year: str) -> list[dict]:
    """The ranked gaps of a view (the report's own ranking), or [] without a gap analysis."""
    from triangulate.report.provision import ranked_gaps, view_rows

    gaps = published.derived("provision_gaps")
    if gaps is None:
        return []
    rows = view_rows(gaps, area, year)
    years = len(published.years) - 1 if year == published.years[0] and len(published.years) > 1 else 1
    return ranked_gaps(rows, years)


def context(request, published, filters) -> dict:
    """What the provision page shows of the plan: the area's items, and for analysts the form."""
    from triangulate.publish.view import need_label
    from triangulate.report.provision import INTERCEPTS

    from .roles import can

    items = [dict(i.as_dict(), intercept_label=INTERCEPTS.get(i.intercept, i.intercept),
                  need_label=need_label(i.need_code)) for i in PlanItem.objects.filter(area=filters.area)]
    options = [(f"{r['intercept']}:{r['need_code']}", f"Intercept {INTERCEPTS[r['intercept']]}: "
                f"{need_label(r['need_code'])} ({r['status']})") for r in ranked(published, filters.area, filters.year)]
    return {"plan": {"items": items, "options": options, "can_plan": can(request.user, "plan"),
                     "area": filters.area, "priorities": PlanItem.PRIORITIES, "statuses": PlanItem.STATUSES}}


def _clean(post, published) -> dict:
    area = post.get("area", "")
    if area not in published.areas:
        raise PlanError("area", "The area is not one of this publication's areas: choose it from the list.")
    intercept, _, need = post.get("gap", "").partition(":")
    if intercept not in codelist("intercept").codes or need not in codelist("need").codes:
        raise PlanError("gap", "The gap is not an intercept and need of the gap analysis: choose it from the list.")
    priority = post.get("priority", "")
    if priority not in PlanItem.PRIORITIES:
        raise PlanError("priority", "The priority must be High, Medium or Low.")
    status = post.get("status", "planned")
    if status not in PlanItem.STATUSES:
        raise PlanError("status", f"The status must be one of: {', '.join(PlanItem.STATUSES)}.")
    out = {"area": area, "intercept": intercept, "need_code": need, "priority": priority, "status": status}
    for name, limit in LIMITS.items():
        text = post.get(name, "").strip()
        if len(text) > limit:
            raise PlanError(name, f"The {name} is longer than {limit} characters: shorten it.")
        out[name] = text
    if not out["action"]:
        raise PlanError("action", "Say what will be done (the action).")
    if not out["owner"]:
        raise PlanError("owner", "Name who owns the action (a post or a team).")
    due = post.get("due", "").strip()
    try:
        out["due"] = dt.date.fromisoformat(due) if due else None
    except ValueError:
        raise PlanError("due", "The due date must be a date (YYYY-MM-DD).") from None
    return out


@requires("plan")
@require_POST
def save(request):
    from .views import _figures, _Refused, _refused

    try:
        _, _, published = _figures(request)
        fields = _clean(request.POST, published)
    except _Refused as problem:
        return _refused(request, problem, "Provision and gaps")
    except PlanError as problem:
        record(request.user.get_username(), AuditEvent.PLAN_CHANGE, request.path, refused=problem.field)
        return _refused(request, _Refused(400, str(problem)), "Provision and gaps")
    user = request.user.get_username()
    item = PlanItem.objects.filter(area=fields["area"], intercept=fields["intercept"],
                                   need_code=fields["need_code"]).first()
    before = {} if item is None else {k: getattr(item, k) for k in PlanItem.FIELDS}
    if item is None:
        item = PlanItem(area=fields["area"], intercept=fields["intercept"], need_code=fields["need_code"],
                        created_by=user)
    for k in PlanItem.FIELDS:
        setattr(item, k, fields[k])
    item.updated_by = user
    item.publication = published.version
    item.save()
    changed = {k: {"before": str(before.get(k, "")), "after": str(fields[k] or "")} for k in PlanItem.FIELDS
               if str(before.get(k, "") or "") != str(fields[k] or "")}
    record(user, AuditEvent.PLAN_CHANGE, request.path, action="created" if not before else "updated",
           item=item.pk, area=item.area, intercept=item.intercept, need=item.need_code, changed=changed,
           publication=published.version)
    return redirect(f"/provision/?area={item.area}#plan")


@requires("aggregates")
def export(request, fmt: str):
    items = [i.as_dict() for i in PlanItem.objects.all()]
    record(request.user.get_username(), AuditEvent.EXPORT, request.path, table="action_plan", format=fmt)
    if fmt == "json":
        response = HttpResponse(json.dumps({"action_plan": items}, indent=2, ensure_ascii=False),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="action-plan.json"'
        return response
    if fmt not in ("csv", "xlsx"):
        raise Http404("no such format")
    rows = [{k: str(v) for k, v in i.items()} for i in items]
    return (xlsx_response if fmt == "xlsx" else csv_response)("action-plan", rows)
