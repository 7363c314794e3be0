"""The inspection API (/api/v1/inspections/): field-level 4xx for bad input, who may write, and the
public page that shows published draws only."""

import io
from datetime import date

import pytest
from rest_framework.test import APIClient

from geodata.models import Domain, Officer
from inspections import services
from inspections.models import Draw, JointVisit, Target
from tests.inspections.conftest import make_inspector, make_target, make_user, valid_code

BASE = "/api/v1/inspections"


@pytest.fixture
def officer_client(county, django_user_model) -> APIClient:
    """An officer of the market team (on the roster, no qualification): reads, does not write."""
    client = APIClient()
    user = make_user(django_user_model, "officer", "officer")
    Officer.objects.create(team=county.teams["market"], user=user, name="市场队员")
    client.force_authenticate(user)
    return client


@pytest.fixture
def roster(county):
    return [make_inspector(county.teams["market"], f"检查员{i}") for i in range(3)]


def test_reads_need_a_user_and_writes_a_planner(county, officer_client, planner_client):
    assert APIClient().get(f"{BASE}/targets/").status_code in (401, 403)
    assert officer_client.get(f"{BASE}/targets/").status_code == 200
    body = {"name": "甲", "lon": "121.005", "lat": "29.005"}
    assert officer_client.post(f"{BASE}/targets/", body, format="json").status_code == 403
    created = planner_client.post(f"{BASE}/targets/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["township"]["code"] == "330225001"
    assert created.json()["point"] == {"type": "Point", "coordinates": [121.005, 29.005]}
    assert created.json()["colour_changes"][0]["to_colour"] == "green"


def test_bad_target_input_answers_400_naming_every_field(county, planner_client):
    bad = {"name": "", "credit_code": valid_code(5)[:17] + "Z", "lon": "29.005", "lat": "121.005"}
    answer = planner_client.post(f"{BASE}/targets/", bad, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {"name", "credit_code", "lon"}
    assert planner_client.post(f"{BASE}/targets/", {"colour": "purple"}, format="json").status_code == 400
    target = make_target("甲", 121.005, 29.005)
    answer = planner_client.post(
        f"{BASE}/targets/{target.pk}/colour/", {"colour": "red", "reason": ""}, format="json"
    )
    assert answer.status_code == 400 and "reason" in answer.json()
    answer = planner_client.post(
        f"{BASE}/targets/{target.pk}/colour/", {"colour": "red", "reason": "失信"}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["colour"] == "red"
    assert planner_client.get(f"{BASE}/targets/?colour=purple").status_code == 400
    assert planner_client.get(f"{BASE}/targets/?colour=red").json()["count"] == 1


def test_import_over_http_is_a_dry_run_by_default(county, planner_client):
    data = f"名称,统一社会信用代码,经度,纬度\n甲,{valid_code(9)},121.005,29.005\n乙,123,121.006,29.006\n"
    upload = io.BytesIO(data.encode("utf-8"))
    upload.name = "targets.csv"
    answer = planner_client.post(f"{BASE}/targets/import/", {"file": upload}, format="multipart")
    assert answer.status_code == 200
    body = answer.json()
    assert body["committed"] is False and body["valid"] == 1
    assert body["problems"] == [{"row": 3, "field": "credit_code", "message": body["problems"][0]["message"]}]
    assert Target.objects.count() == 0
    answer = planner_client.post(f"{BASE}/targets/import/", {}, format="multipart")
    assert answer.status_code == 400 and "file" in answer.json()


def test_plans_proposals_and_commit_over_http(county, planner_client, dispatcher):
    a = make_target("甲", 121.005, 29.005)
    plan = planner_client.post(
        f"{BASE}/plans/", {"team": "market", "title": "六月计划", "year": 2026, "month": 6}, format="json"
    )
    assert plan.status_code == 201, plan.json()
    plan_id = plan.json()["id"]
    assert planner_client.post(
        f"{BASE}/plans/", {"team": "nope", "title": "x", "year": 2026}, format="json"
    ).json() == {"team": ["没有该编号的队伍。"]}
    check = planner_client.post(
        f"{BASE}/plans/{plan_id}/checks/", {"target": a.pk, "matter": "SC-001"}, format="json"
    )
    assert check.status_code == 201 and check.json()["due_from"] == "2026-06-01"
    bad = planner_client.post(
        f"{BASE}/plans/{plan_id}/checks/",
        {"target": a.pk, "due_from": "2026-07-02", "due_until": "2026-07-05"},
        format="json",
    )
    assert bad.status_code == 400 and "due_from" in bad.json()
    bad = planner_client.post(
        f"{BASE}/plans/{plan_id}/checks/", {"target": a.pk, "mandatory": True}, format="json"
    )
    assert bad.status_code == 400 and "mandatory_reason" in bad.json()
    yj_plan = services.plan_create(team=county.teams["yj"], title="应急六月", year=2026, month=6)
    services.planned_check_add(plan=yj_plan, target=a)

    assert planner_client.get(f"{BASE}/joint-visits/proposals/").json() == {
        "year": ["请填写期间：year（可加 month），或 start 和 end。"]
    }
    assert "month" in planner_client.get(f"{BASE}/joint-visits/proposals/?year=2026&month=13").json()
    assert (
        "radius_m"
        in planner_client.get(f"{BASE}/joint-visits/proposals/?year=2026&month=6&radius_m=x").json()
    )
    proposal = planner_client.get(f"{BASE}/joint-visits/proposals/?year=2026&month=6&radius_m=50").json()
    assert proposal["figures"]["visits_before"] == 2 and proposal["figures"]["visits_after"] == 1
    assert proposal["visits"][0]["lead_team"]["code"] == "market"  # tie 1–1: lowest team id
    committed = planner_client.post(
        f"{BASE}/joint-visits/proposals/", {"year": 2026, "month": 6, "radius_m": 50}, format="json"
    )
    assert committed.status_code == 201 and len(committed.json()["committed"]) == 1
    visit_id = committed.json()["committed"][0]
    listed = planner_client.get(f"{BASE}/joint-visits/?start=2026-06-01&end=2026-06-30").json()
    assert [v["id"] for v in listed["results"]] == [visit_id]
    # A planner cannot open the case (registering is a dispatcher's step): 403, nothing written.
    answer = planner_client.post(f"{BASE}/joint-visits/{visit_id}/open-case/")
    assert answer.status_code == 403
    assert JointVisit.objects.get(pk=visit_id).report is None
    # The indicators are the dashboard's: supervisors, dispatchers, administrators (not planners).
    assert planner_client.get(f"{BASE}/indicators/?start=2026-06-01&end=2026-06-30").status_code == 403
    desk = APIClient()
    desk.force_authenticate(dispatcher)
    indicators = desk.get(f"{BASE}/indicators/?start=2026-06-01&end=2026-06-30").json()
    assert indicators["joint"]["visits_avoided"] == 1
    assert desk.get(f"{BASE}/indicators/?start=2026-06-30&end=2026-06-01").status_code == 400


def test_draws_over_http_and_the_public_page_shows_published_ones_only(county, roster, planner_client):
    for i in range(4):
        make_target(f"红{i}", 121.005 + i * 0.001, 29.005, "red")
    assert (
        "seed"
        in planner_client.post(f"{BASE}/draws/", {"domain": "market", "seed": -1}, format="json").json()
    )
    assert "domain" in planner_client.post(f"{BASE}/draws/", {}, format="json").json()
    assert "matter" in planner_client.post(f"{BASE}/draws/", {"matter": "NOPE"}, format="json").json()
    assert (
        "filters"
        in planner_client.post(
            f"{BASE}/draws/", {"domain": "market", "filters": {"colours": ["purple"]}}, format="json"
        ).json()
    )
    first = planner_client.post(
        f"{BASE}/draws/", {"domain": "market", "seed": 11, "title": "六月抽查"}, format="json"
    )
    assert first.status_code == 201, first.json()
    second = planner_client.post(f"{BASE}/draws/", {"domain": "market", "seed": 12}, format="json").json()
    draw = first.json()
    assert draw["seed"] == 11 and len(draw["results"]) == 4
    replay = planner_client.get(f"{BASE}/draws/{draw['id']}/replay/").json()
    assert replay["equal"] is True

    anonymous = APIClient()
    assert anonymous.get(f"{BASE}/public/draws/").json()["count"] == 0
    assert anonymous.get(f"{BASE}/public/draws/{draw['id']}/").status_code == 404
    assert planner_client.post(f"{BASE}/draws/{draw['id']}/publish/").status_code == 200
    outcome = planner_client.post(
        f"{BASE}/draws/{draw['id']}/outcome/",
        {"position": 1, "outcome": "rectify", "note": "消防通道堵塞"},
        format="json",
    )
    assert outcome.status_code == 200
    assert (
        "position"
        in planner_client.post(
            f"{BASE}/draws/{draw['id']}/outcome/", {"position": 99, "outcome": "rectify"}, format="json"
        ).json()
    )
    public = anonymous.get(f"{BASE}/public/draws/").json()
    assert [d["id"] for d in public["results"]] == [draw["id"]]
    assert second["id"] not in [d["id"] for d in public["results"]]
    shown = public["results"][0]["results"][0]
    assert shown["outcome"] == "rectify" and shown["target"]["name"].startswith("红")
    assert set(shown["inspectors"][0]) == {"id", "name"}
    text = str(public)
    assert all(o.certificate_no not in text for o in roster)
    assert Draw.objects.filter(published=True).count() == 1


def test_inspectors_roster_and_qualification(county, roster, planner_client, officer_client):
    listed = officer_client.get(f"{BASE}/inspectors/?domain=market").json()
    assert {o["id"] for o in listed["results"]} == {o.pk for o in roster}
    assert officer_client.get(f"{BASE}/inspectors/?domain=nope").status_code == 400
    answer = planner_client.put(
        f"{BASE}/inspectors/{roster[0].pk}/qualification/",
        {
            "domains": ["market", "health"],
            "certificate_valid_from": "2026-01-01",
            "certificate_valid_until": "2025-01-01",
        },
        format="json",
    )
    assert answer.status_code == 400 and "certificate_valid_until" in answer.json()
    answer = planner_client.put(
        f"{BASE}/inspectors/{roster[0].pk}/qualification/", {"domains": ["market", "health"]}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["qualification"]["domains"] == ["health", "market"]
    target = make_target("甲", 121.005, 29.005)
    conflict = planner_client.post(
        f"{BASE}/conflicts/", {"officer": roster[0].pk, "target": target.pk, "reason": "亲属"}, format="json"
    )
    assert conflict.status_code == 201
    again = planner_client.post(
        f"{BASE}/conflicts/", {"officer": roster[0].pk, "target": target.pk, "reason": "亲属"}, format="json"
    )
    assert again.status_code == 400 and "officer" in again.json()
    assert Domain.MARKET in roster[0].qualification.domains


def test_period_parsing_from_year_only(county, dispatcher):
    client = APIClient()
    client.force_authenticate(dispatcher)
    answer = client.get(f"{BASE}/indicators/?year=2026").json()
    assert answer["start"] == str(date(2026, 1, 1)) and answer["end"] == str(date(2026, 12, 31))
