"""Who sees and changes what in inspection planning (inspections/scopes.py), through the HTTP API.

    tiny county: W = 丹东街道 (zh-1 covers it), E = 石浦镇 (zh-2), 市场监管 (market) covers both

The matrix (tests/gridops/test_scopes_matrix.py) checks that nothing outside a scope is shown or
changed; these tests check what each role *may* do inside it, and the answers when it may not.
"""

import re
from datetime import date

import pytest
from django.test import Client
from rest_framework.test import APIClient

from geodata.models import Domain, Officer, UserScope
from gridops.models import Report
from inspections import selectors, services
from inspections.models import Draw, DrawResult, JointVisit
from tests.inspections.conftest import make_inspector, make_target, make_user

BASE = "/api/v1/inspections"
YEAR = 2026


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ids(answer) -> set[int]:
    assert answer.status_code == 200, answer.json()
    return {row["id"] for row in answer.json()["results"]}


@pytest.fixture
def places(county):
    """A target in W and one in E; plans of zh-1, zh-2 and market with a check on each target of
    their area (market: both)."""
    t_w = make_target("丹东饭店", 121.005, 29.005)
    t_e = make_target("石浦渔具", 121.035, 29.035)
    plans = {
        key: services.plan_create(team=county.teams[key], title=f"{key} 六月", year=YEAR, month=6)
        for key in ("W", "E", "market")
    }
    services.planned_check_add(plan=plans["W"], target=t_w)
    services.planned_check_add(plan=plans["E"], target=t_e)
    services.planned_check_add(plan=plans["market"], target=t_w)
    services.planned_check_add(plan=plans["market"], target=t_e)
    return {"t_w": t_w, "t_e": t_e, "plans": plans}


def _scoped(django_user_model, county, username: str, group: str):
    user = make_user(django_user_model, username, group)
    scope = UserScope.objects.create(user=user)
    scope.townships.set([county.townships["W"]])
    scope.teams.set([county.teams["W"]])
    return user


@pytest.fixture
def w_dispatcher(county, django_user_model):
    return _scoped(django_user_model, county, "w-desk", "dispatcher")


def test_a_staff_account_in_no_role_group_is_an_administrator_here_too(county, places, django_user_model):
    """gridops/scopes.py treats staff in no role group as administrators; the inspection page and
    API used to refuse them. Now both follow scopes.py; a role group scopes the account again."""
    staff = make_user(django_user_model, "maintainer", is_staff=True)
    page = Client()
    page.force_login(staff)
    assert page.get("/inspections/").status_code == 200
    client = _client(staff)
    assert _ids(client.get(f"{BASE}/targets/")) == {places["t_w"].pk, places["t_e"].pk}
    created = client.post(
        f"{BASE}/plans/", {"team": "zh-2", "title": "石浦七月", "year": YEAR}, format="json"
    )
    assert created.status_code == 201, created.json()

    scoped_staff = _scoped(django_user_model, county, "staff-desk", "dispatcher")
    scoped_staff.is_staff = True
    scoped_staff.save()
    assert _ids(_client(scoped_staff).get(f"{BASE}/targets/")) == {places["t_w"].pk}


def test_a_township_dispatcher_plans_for_their_team_only(county, places, w_dispatcher):
    client = _client(w_dispatcher)
    plans = places["plans"]
    # zh-1 (own team) and market (covers W); not zh-2
    assert _ids(client.get(f"{BASE}/plans/")) == {plans["W"].pk, plans["market"].pk}
    # the market plan shows only its check in W
    market = client.get(f"{BASE}/plans/{plans['market'].pk}/").json()
    assert [c["target"] for c in market["checks"]] == [places["t_w"].pk]
    assert client.get(f"{BASE}/plans/{plans['E'].pk}/").status_code == 404

    own = client.post(f"{BASE}/plans/", {"team": "zh-1", "title": "丹东七月", "year": YEAR}, format="json")
    assert own.status_code == 201, own.json()
    other = client.post(f"{BASE}/plans/", {"team": "zh-2", "title": "石浦七月", "year": YEAR}, format="json")
    assert other.status_code == 403 and "team" in other.json()

    check = client.post(f"{BASE}/plans/{plans['W'].pk}/checks/", {"target": places["t_w"].pk}, format="json")
    assert check.status_code == 201, check.json()
    # a target they do not see reads as absent (400 naming the field, as an unknown id)
    hidden = client.post(f"{BASE}/plans/{plans['W'].pk}/checks/", {"target": places["t_e"].pk}, format="json")
    assert hidden.status_code == 400 and "target" in hidden.json()
    # the market plan is visible but not theirs to edit
    refused = client.post(
        f"{BASE}/plans/{plans['market'].pk}/checks/", {"target": places["t_w"].pk}, format="json"
    )
    assert refused.status_code == 403 and "plan" in refused.json()
    # the registry and the county-wide merge are the county's
    assert (
        client.post(f"{BASE}/targets/", {"name": "新", "lon": "121.005", "lat": "29.005"}).status_code == 403
    )
    assert client.get(f"{BASE}/joint-visits/proposals/?year={YEAR}&month=6").status_code == 403


def test_a_township_dispatcher_draws_within_their_townships_and_opens_cases(county, w_dispatcher):
    for i in range(3):
        make_target(f"丹东{i}", 121.005 + i * 0.001, 29.005, "red")
    make_target("石浦红", 121.035, 29.035, "red")
    for i in range(3):
        make_inspector(county.teams["W"], f"一中队{i}", domains=(Domain.COMPREHENSIVE,))
    client = _client(w_dispatcher)
    body = {"domain": "comprehensive", "rates": {"red": 1.0}, "seed": 7}
    county_wide = client.post(f"{BASE}/draws/", body, format="json")
    assert county_wide.status_code == 403 and "filters" in county_wide.json()
    east = client.post(f"{BASE}/draws/", {**body, "filters": {"townships": ["330225101"]}}, format="json")
    assert east.status_code == 403 and "filters" in east.json()
    assert Draw.objects.count() == 0

    run = client.post(f"{BASE}/draws/", {**body, "filters": {"townships": ["330225001"]}}, format="json")
    assert run.status_code == 201, run.json()
    draw_id = run.json()["id"]
    assert len(run.json()["results"]) == 3
    assert client.post(f"{BASE}/draws/{draw_id}/publish/").status_code == 200
    opened = client.post(f"{BASE}/draws/{draw_id}/open-cases/")
    assert opened.status_code == 200, opened.json()
    cases = [r["case"]["id"] for r in opened.json()["results"]]
    # the cases they opened are in their scope (held by zh-1, in W)
    listed = client.get("/api/v1/reports/", {"source": "inspection"}).json()["results"]
    assert set(cases) <= {r["id"] for r in listed}


def test_a_county_wide_draw_is_seen_by_a_township_dispatcher_but_not_theirs_to_publish(
    county, w_dispatcher, planner_client
):
    make_target("丹东红", 121.005, 29.005, "red")
    make_target("石浦红", 121.035, 29.035, "red")
    for i in range(2):
        make_inspector(county.teams["market"], f"市场{i}")
    run = planner_client.post(f"{BASE}/draws/", {"domain": "market", "rates": {"red": 1.0}}, format="json")
    assert run.status_code == 201, run.json()
    draw_id = run.json()["id"]
    client = _client(w_dispatcher)
    assert _ids(client.get(f"{BASE}/draws/")) == {draw_id}  # a drawn target in W
    refused = client.post(f"{BASE}/draws/{draw_id}/publish/")
    assert refused.status_code == 403 and "draw" in refused.json()
    assert not Draw.objects.get(pk=draw_id).published
    # but the outcome of the check in their township is theirs to record
    w_position = DrawResult.objects.get(draw_id=draw_id, target__township=county.townships["W"]).position
    e_position = DrawResult.objects.get(draw_id=draw_id, target__township=county.townships["E"]).position
    body = {"outcome": "compliant"}
    ok = client.post(f"{BASE}/draws/{draw_id}/outcome/", {**body, "position": w_position}, format="json")
    assert ok.status_code == 200, ok.json()
    no = client.post(f"{BASE}/draws/{draw_id}/outcome/", {**body, "position": e_position}, format="json")
    assert no.status_code == 403 and "position" in no.json()

    # Before it is published the draw names whom the county will inspect: W's desk sees its own
    # township's check, not E's (in the detail and in the answer to its outcome); the planner
    # who ran it sees both; once published (public) everyone who sees the draw sees both.
    def positions(answer) -> set[int]:
        assert answer.status_code == 200, answer.json()
        return {r["position"] for r in answer.json()["results"]}

    assert positions(client.get(f"{BASE}/draws/{draw_id}/")) == {w_position}
    assert positions(ok) == {w_position}
    assert ok.json()["target_count"] == 2  # how many were drawn is no secret
    assert positions(planner_client.get(f"{BASE}/draws/{draw_id}/")) == {w_position, e_position}
    assert planner_client.post(f"{BASE}/draws/{draw_id}/publish/").status_code == 200
    assert positions(client.get(f"{BASE}/draws/{draw_id}/")) == {w_position, e_position}


def test_an_officer_reads_their_team_and_records_their_own_draw_outcome(
    county, django_user_model, planner_client
):
    t_w = make_target("丹东红", 121.005, 29.005, "red")
    t_e = make_target("石浦红", 121.035, 29.035, "red")
    user = make_user(django_user_model, "zh1-officer", "officer")
    mine = [make_inspector(county.teams["W"], f"一中队{i}") for i in range(2)]
    Officer.objects.filter(pk=mine[0].pk).update(user=user)
    theirs = [make_inspector(county.teams["E"], f"二中队{i}", domains=(Domain.HEALTH,)) for i in range(2)]
    plan_w = services.plan_create(team=county.teams["W"], title="丹东", year=YEAR)
    services.plan_create(team=county.teams["E"], title="石浦", year=YEAR)
    run = planner_client.post(
        f"{BASE}/draws/", {"domain": "market", "rates": {"red": 1.0}, "seed": 11}, format="json"
    )
    assert run.status_code == 201, run.json()
    draw = Draw.objects.get(pk=run.json()["id"])
    # only zh-1 is qualified for market: both drawn checks are theirs; add one zh-2 inspects
    assert all(set(r.inspectors) == {o.pk for o in mine} for r in draw.results.all())
    DrawResult.objects.filter(draw=draw, target=t_e).update(inspectors=[o.pk for o in theirs])
    e_position = DrawResult.objects.get(draw=draw, target=t_e).position
    w_position = DrawResult.objects.get(draw=draw, target=t_w).position

    client = _client(user)
    assert _ids(client.get(f"{BASE}/plans/")) == {plan_w.pk}
    assert _ids(client.get(f"{BASE}/inspectors/")) == {o.pk for o in mine}
    assert _ids(client.get(f"{BASE}/draws/")) == {draw.pk}
    outcome = f"{BASE}/draws/{draw.pk}/outcome/"
    answer = client.post(outcome, {"position": w_position, "outcome": "rectify"}, format="json")
    assert answer.status_code == 200, answer.json()
    answer = client.post(outcome, {"position": e_position, "outcome": "rectify"}, format="json")
    assert answer.status_code == 403 and "position" in answer.json()
    assert DrawResult.objects.get(draw=draw, target=t_e).outcome == DrawResult.Outcome.PENDING
    # an officer writes nothing else
    assert client.post(f"{BASE}/draws/{draw.pk}/publish/").status_code == 403
    assert client.post(f"{BASE}/plans/", {"team": "zh-1", "title": "x", "year": YEAR}).status_code == 403


def test_the_officer_sees_a_draw_only_when_their_team_inspects(county, django_user_model):
    """The draw above is random; this one is written so the officer's team holds no inspector."""
    target = make_target("石浦红", 121.035, 29.035, "red")
    user = make_user(django_user_model, "zh1-officer", "officer")
    Officer.objects.create(team=county.teams["W"], user=user, name="一中队员")
    other = [make_inspector(county.teams["E"], f"二中队{i}") for i in range(2)]
    draw = services.draw_run(domain=Domain.MARKET, rates={"red": 1.0}, seed=3)
    assert list(draw.results.values_list("target_id", flat=True)) == [target.pk]
    assert set(draw.results.get().inspectors) == {o.pk for o in other}
    client = _client(user)
    assert _ids(client.get(f"{BASE}/draws/")) == set()
    assert client.get(f"{BASE}/draws/{draw.pk}/").status_code == 404
    answer = client.post(
        f"{BASE}/draws/{draw.pk}/outcome/", {"position": 1, "outcome": "rectify"}, format="json"
    )
    assert answer.status_code == 404


def test_a_supervisor_reads_and_writes_nothing(county, places, django_user_model):
    supervisor = make_user(django_user_model, "boss", "supervisor")
    client = _client(supervisor)
    assert _ids(client.get(f"{BASE}/targets/")) == {places["t_w"].pk, places["t_e"].pk}
    answer = client.post(f"{BASE}/plans/", {"team": "zh-1", "title": "x", "year": YEAR}, format="json")
    assert answer.status_code == 403
    assert "只有片区规划员、调度员和管理员可以编辑检查计划。" in str(answer.json())
    assert client.get(f"{BASE}/joint-visits/proposals/?year={YEAR}&month=6").status_code == 200


def test_grid_workers_and_citizens_get_nothing_but_the_public_draws(county, places, django_user_model):
    for user in (
        make_user(django_user_model, "worker", "grid_worker"),
        make_user(django_user_model, "citizen"),
    ):
        client = _client(user)
        for path in ("targets/", "plans/", "draws/", "joint-visits/", "inspectors/", "conflicts/"):
            assert client.get(f"{BASE}/{path}").status_code == 403, path
        assert client.get(f"{BASE}/public/draws/").status_code == 200
    assert APIClient().get(f"{BASE}/public/draws/").status_code == 200


def test_a_township_dispatcher_acts_on_visits_at_their_townships(county, places, w_dispatcher):
    _proposal, visits = services.joint_visits_commit(
        start=date(YEAR, 6, 1), end=date(YEAR, 6, 30), radius_m=0
    )
    by_target = {v.visit_targets.get().target_id: v for v in visits}
    v_w, v_e = by_target[places["t_w"].pk], by_target[places["t_e"].pk]
    client = _client(w_dispatcher)
    assert _ids(client.get(f"{BASE}/joint-visits/")) == {v_w.pk}
    assert client.post(f"{BASE}/joint-visits/{v_e.pk}/open-case/").status_code == 404
    opened = client.post(f"{BASE}/joint-visits/{v_w.pk}/open-case/")
    assert opened.status_code == 200, opened.json()
    case = Report.objects.get(pk=opened.json()["case"]["id"])
    assert client.get(f"/api/v1/reports/{case.pk}/").status_code == 200
    assert JointVisit.objects.get(pk=v_e.pk).report is None


def test_inspection_indicators_by_township_and_team(county, places):
    services.joint_visits_commit(start=date(YEAR, 6, 1), end=date(YEAR, 6, 30), radius_m=0)
    june = {"start": date(YEAR, 6, 1), "end": date(YEAR, 6, 30)}
    everything = selectors.inspection_indicators(**june)
    # W: zh-1 and market both check t_w (2 before, 1 visit); E alike
    assert everything["joint"] == {"visits_before": 4, "visits_after": 2, "visits_avoided": 2}
    west = selectors.inspection_indicators(**june, township="330225001")
    assert west["joint"] == {"visits_before": 2, "visits_after": 1, "visits_avoided": 1}
    assert west["by_colour"]["green"]["joint"] == 1
    zh2 = selectors.inspection_indicators(**june, team="zh-2")
    assert zh2["joint"]["visits_before"] == 2 and zh2["by_colour"]["green"]["joint"] == 1
    assert (
        selectors.inspection_indicators(**june, township="330225001", team="zh-2")["joint"]["visits_after"]
        == 0
    )


def test_inspection_indicators_follow_the_readers_scope(county, places, dispatcher, w_dispatcher):
    services.joint_visits_commit(start=date(YEAR, 6, 1), end=date(YEAR, 6, 30), radius_m=0)
    june = {"start": f"{YEAR}-06-01", "end": f"{YEAR}-06-30"}
    county_desk, w_desk = _client(dispatcher), _client(w_dispatcher)
    assert county_desk.get(f"{BASE}/indicators/", june).json()["joint"]["visits_before"] == 4
    assert (
        county_desk.get(f"{BASE}/indicators/", {**june, "team": "zh-2"}).json()["joint"]["visits_after"] == 1
    )
    for bad in ({"township": "nope"}, {"township": "33\x00"}, {"team": "nope"}):
        answer = county_desk.get(f"{BASE}/indicators/", {**june, **bad})
        assert answer.status_code == 400 and set(answer.json()) == set(bad), answer.json()
    # the township dispatcher: W by default, zh-1 when asked, E refused as unknown
    assert w_desk.get(f"{BASE}/indicators/", june).json()["joint"]["visits_before"] == 2
    assert w_desk.get(f"{BASE}/indicators/", {**june, "team": "zh-1"}).json()["joint"]["visits_after"] == 1
    east = w_desk.get(f"{BASE}/indicators/", {**june, "township": "330225101"})
    assert east.status_code == 400 and east.json() == {"township": ["未知乡镇（街道）：330225101。"]}


def test_the_page_hides_county_level_panels_from_a_township_dispatcher(county, planner, w_dispatcher):
    """Merge proposals and the registry's import answer 403 to a township's dispatcher: the page
    does not offer them (rather than showing panels that fail)."""
    for user, county_level in ((planner, True), (w_dispatcher, False)):
        browser = Client()
        browser.force_login(user)
        page = browser.get("/inspections/")
        assert page.status_code == 200
        html = page.content.decode()
        proposal = re.search(r'<section class="insp-card proposal" id="proposal"[^>]*>', html).group(0)
        importer = re.search(r'<details class="insp-card insp-import" id="import-box"[^>]*>', html).group(0)
        assert ("hidden" in proposal) is not county_level
        assert ("hidden" in importer) is not county_level
        assert f'"countyLevel": {"true" if county_level else "false"}' in html


STATE_SCRIPT = r'<script id="inspections-state" type="application/json">(.*?)</script>'


def test_the_page_offers_a_township_dispatcher_only_the_townships_they_see(county, planner, w_dispatcher):
    """The township filters of the targets and of a draw: a township's dispatcher is offered their
    own and covered townships (others list no target, and a draw over them answers 403)."""
    import json

    offered = {}
    for name, user in (("planner", planner), ("w", w_dispatcher)):
        browser = Client()
        browser.force_login(user)
        html = browser.get("/inspections/").content.decode()
        state = re.search(STATE_SCRIPT, html, re.S)
        offered[name] = [t["code"] for t in json.loads(state.group(1))["townships"]]
        # The same list in the page's two <select>s.
        draw_select = re.search(r'<select name="townships".*?</select>', html, re.S).group(0)
        assert re.findall(r'<option value="(\d+)">', draw_select) == offered[name]
    assert {"330225001", "330225101"} <= set(offered["planner"])
    assert offered["w"] == ["330225001"]


def test_the_admin_shows_a_scoped_staff_member_what_the_api_shows(county, places, w_dispatcher):
    """A township's dispatcher with admin access sees their townships' targets and the plans of
    their own and covering teams, not E's."""
    from django.contrib.auth.models import Permission

    w_dispatcher.is_staff = True
    w_dispatcher.save()
    w_dispatcher.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="inspections", codename__in=["view_target", "view_inspectionplan"]
        )
    )
    browser = Client()
    browser.force_login(w_dispatcher)
    targets = browser.get("/admin/inspections/target/")
    assert targets.status_code == 200
    assert [t.pk for t in targets.context["cl"].result_list] == [places["t_w"].pk]
    assert browser.get(f"/admin/inspections/target/{places['t_e'].pk}/change/").status_code == 302  # absent
    plans = browser.get("/admin/inspections/inspectionplan/")
    seen = {p.pk for p in plans.context["cl"].result_list}
    assert seen == {places["plans"]["W"].pk, places["plans"]["market"].pk}
