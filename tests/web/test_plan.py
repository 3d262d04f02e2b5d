"""Priorities and the action plan: recorded by analysts on the provision page, audited, downloaded,
and put in the report's "Provision and gaps" chapter."""

from __future__ import annotations

import json

from triangulate.report import write_report


def _gap(client, area):
    page = client.get(f"/provision/?area={area}")
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index('name="gap"')
    return html[html.index('value="', start) + 7:html.index('"', html.index('value="', start) + 7)]


def test_an_analyst_records_and_changes_a_priority_and_each_change_is_audited(site, client_for, tmp_path):
    from triangulate.web.models import AuditEvent, PlanItem

    area = site["areas"][0]
    analyst = client_for("analyst")
    gap = _gap(analyst, area)
    form = {"area": area, "gap": gap, "priority": "High", "action": "Commission a trauma-informed pathway at court",
            "owner": "ICB mental health commissioner", "due": "2027-03-31", "status": "planned", "rationale": "Largest gap"}
    response = analyst.post("/provision/plan/", form)
    assert response.status_code == 302 and response["Location"].endswith("#plan")
    item = PlanItem.objects.get(area=area, intercept=gap.split(":")[0], need_code=gap.split(":")[1])
    assert (item.priority, item.owner, str(item.due), item.created_by) == ("High", form["owner"], "2027-03-31", "test-analyst")
    page = analyst.get(f"/provision/?area={area}").content.decode()
    assert "Commission a trauma-informed pathway at court" in page and "Why: Largest gap" in page
    analyst.post("/provision/plan/", dict(form, priority="Medium", status="in progress"))
    assert PlanItem.objects.filter(area=area).count() == 1
    events = list(AuditEvent.objects.filter(event=AuditEvent.PLAN_CHANGE, detail__area=area).order_by("id"))
    assert [e.detail["action"] for e in events[-2:]] == ["created", "updated"]
    assert events[-1].detail["changed"] == {"priority": {"before": "High", "after": "Medium"},
                                            "status": {"before": "planned", "after": "in progress"}}
    # anyone who reads figures may download the plan; the report takes the JSON download
    viewer = client_for("viewer")
    csv_text = viewer.get("/provision/plan.csv").content.decode()
    assert "Commission a trauma-informed pathway at court" in csv_text
    download = viewer.get("/provision/plan.json")
    plan_file = tmp_path / "plan.json"
    plan_file.write_bytes(download.content)
    assert json.loads(download.content)["action_plan"][0]["priority"] == "Medium"
    out = tmp_path / "report.html"
    write_report(site["store"], out, area=area, action_plan=plan_file)
    html = out.read_text(encoding="utf-8")
    assert "Priorities and action plan (recorded on the dashboard)" in html
    assert "Commission a trauma-informed pathway at court" in html


def test_a_viewer_cannot_record_and_a_bad_field_is_named_and_changes_nothing(site, client_for):
    from triangulate.web.models import PlanItem

    area = site["areas"][1]
    before = PlanItem.objects.count()
    form = {"area": area, "gap": "1:depression", "priority": "High", "action": "x", "owner": "y"}
    assert client_for("viewer").post("/provision/plan/", form).status_code == 403
    analyst = client_for("analyst")
    for field, value, words in (("priority", "Urgent", "priority must be High"), ("gap", "9:depression", "The gap"),
                                ("due", "next week", "due date"), ("area", "E99999999", "The area"),
                                ("owner", "", "owns the action")):
        response = analyst.post("/provision/plan/", dict(form, **{field: value}))
        assert response.status_code == 400 and words in response.content.decode()
    assert PlanItem.objects.count() == before


def test_the_report_refuses_a_file_that_is_not_a_plan(site, tmp_path):
    import pytest

    from triangulate.report import ReportError

    bad = tmp_path / "plan.json"
    bad.write_text('{"something": []}', encoding="utf-8")
    with pytest.raises(ReportError, match="not an action plan"):
        write_report(site["store"], tmp_path / "r.html", action_plan=bad)


def test_the_provision_page_is_the_report_chapter_with_the_map_gaps_waits_and_languages(site, client_for):
    """The page shows the report's whole chapter (a page that lists measures shows their tables
    instead, which once hid the map and the gaps here)."""
    page = client_for("viewer").get(f"/provision/?area={site['areas'][0]}").content.decode()
    for heading in ("The gaps, ranked by the people left without a service",
                    "Waits from a liaison &amp; diversion referral to a first mental health contact",
                    "Languages"):
        assert heading in page, heading
    assert "<svg" in page or "/chart/provision" in page  # the Sequential Intercept Model map
