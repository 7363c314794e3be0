"""An inspection becomes a case of the closed loop: the joint visit's case is opened (report by the
intake service → assigned to the lead team → registered) and moved to closed by case_transition.

    29.005   A (121.005) B (121.0055)     two neighbouring targets in 丹东街道 (zh-1's zone);
             the emergency team (yj) checks A and B, market checks A → one visit, yj leads (2 checks
             to 1). yj has no zone in the tiny county, so the report routes to zh-1 (no matter: the
             comprehensive team) and is reassigned to yj before it is registered.
"""

from datetime import date

import pytest

from geodata.models import Officer
from gridops.models import Report
from gridops.services.cases import CasePermissionDenied, Step, case_transition
from inspections import selectors, services
from inspections.models import JointVisit
from tests.data import images
from tests.inspections.conftest import make_target, make_user

S = Report.Status
JUNE = (date(2026, 6, 1), date(2026, 6, 30))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def visit(county, planner) -> JointVisit:
    a = make_target("甲餐馆", 121.005, 29.005, "yellow")
    b = make_target("乙超市", 121.0055, 29.005)
    market = services.plan_create(team=county.teams["market"], title="市场监管六月", year=2026, month=6)
    yj = services.plan_create(team=county.teams["yj"], title="安全生产六月", year=2026, month=6)
    services.planned_check_add(plan=market, target=a, matter=county.matters["food"])
    services.planned_check_add(plan=yj, target=a)
    services.planned_check_add(plan=yj, target=b)
    _proposal, visits = services.joint_visits_commit(start=JUNE[0], end=JUNE[1], radius_m=100, actor=planner)
    assert len(visits) == 1
    return visits[0]


def test_the_visit_case_goes_round_the_loop_to_closed(visit, county, dispatcher, django_user_model):
    officer_user = make_user(django_user_model, "officer", "officer", first_name="队员丁")
    Officer.objects.create(team=county.teams["yj"], user=officer_user, name="队员丁")
    supervisor = make_user(django_user_model, "supervisor", "supervisor")

    report = services.inspection_case_open(visit=visit, actor=dispatcher)
    assert report.status == S.REGISTERED and report.source == Report.Source.INSPECTION
    assert report.team == county.teams["yj"] == visit.lead_team
    assert report.matter is None  # the lead team's checks name no matter
    assert [r["code"] for r in report.routing["reasons"]][-1] == "manual_assign"
    assert "综合查一次" in report.description and "甲餐馆" in report.description
    visit.refresh_from_db()
    assert visit.report == report and visit.status == JointVisit.Status.CASE_OPENED
    assert services.inspection_case_open(visit=visit, actor=dispatcher) == report  # once only

    def step(action, actor, **kwargs):
        return case_transition(report=report, action=action, actor=actor, step=Step(**kwargs))

    report = step("dispatch", dispatcher)
    report = step("accept", officer_user)
    report = step("start", officer_user, lon=121.005, lat=29.005)
    photo = images.upload("after.jpg", images.jpeg_bytes())
    report = step("handle", officer_user, note="两户联合检查完毕，未发现问题", photos=(photo,))
    report = step("verify_pass", supervisor, lon=121.0051, lat=29.0051, note="核查属实")
    report = step("close", dispatcher)
    assert report.status == S.CLOSED

    figures = selectors.inspection_indicators(start=JUNE[0], end=JUNE[1])
    # Before: (market, A), (yj, A), (yj, B) = 3 separate visits; after: 1.
    assert figures["joint"] == {"visits_before": 3, "visits_after": 1, "visits_avoided": 2}
    assert (
        figures["by_colour"]["yellow"]["joint"] == 1 and figures["by_colour"]["yellow"]["joint_closed"] == 1
    )
    assert figures["by_colour"]["green"]["joint_closed"] == 1


def test_only_a_dispatcher_opens_the_case_and_a_refusal_writes_nothing(visit, planner):
    with pytest.raises(CasePermissionDenied):
        services.inspection_case_open(visit=visit, actor=planner)
    assert Report.objects.count() == 0
    visit.refresh_from_db()
    assert visit.report is None and visit.status == JointVisit.Status.PLANNED


def test_the_command_centre_lists_inspection_cases_by_their_source(visit, dispatcher, county):
    """The case is an ordinary case of the queue, found by `?source=inspection`; other reports are not."""
    from rest_framework.test import APIClient

    report = services.inspection_case_open(visit=visit, actor=dispatcher)
    other = Report.objects.exclude(pk=report.pk).filter(source=Report.Source.INSPECTION)
    assert not other.exists()
    client = APIClient()
    client.force_authenticate(dispatcher)
    response = client.get("/api/v1/reports/", {"source": "inspection"})
    assert response.status_code == 200
    body = response.json()
    rows = body["features"] if "features" in body else body["results"]
    numbers = [(r.get("properties") or r)["number"] for r in rows]
    assert numbers == [report.number]
    detail = client.get(f"/api/v1/reports/{report.pk}/").json()
    detail = detail.get("properties", detail)
    assert detail["source"] == "inspection" and detail["source_display"] == "执法检查"
