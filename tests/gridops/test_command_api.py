"""The command centre's reads: deadlines (Python and SQL agree), today's figures at the edges of
the Shanghai day and of the patrol window, the open/domain filters and the cameras layer."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone
from rest_framework.test import APIClient

from gridops.deadlines import due_at_expression, overdue_q, report_due_at
from gridops.models import Alert, Camera, Device, Report
from gridops.selectors.command import command_summary
from gridops.services.cases import case_transition
from gridops.services.reports import ReportInput, report_submit
from tests.gridops.units_factory import tracked_unit
from workcalendar.calendar import add_working_days

SHANGHAI = ZoneInfo("Asia/Shanghai")


def register(report, actor):
    return case_transition(report=report, action="register", actor=actor)


INSIDE = (121.005, 29.005)  # cell (0,0), team zh-1
OUTSIDE = (121.05, 29.05)  # outside the grid: triage


@pytest.fixture(autouse=True)
def _area(settings):
    settings.SERVICE_AREA_BBOX = (120.9, 28.9, 121.2, 29.2)


def submit(point=INSIDE, matter="ZH-001", priority=0, **extra) -> Report:
    report, _ = report_submit(
        data=ReportInput(
            source="grid_worker", lon=point[0], lat=point[1], matter_code=matter, priority=priority, **extra
        )
    )
    return report


def received(report: Report, at: datetime) -> Report:
    Report.objects.filter(pk=report.pk).update(received_at=at)
    report.refresh_from_db()
    return report


@pytest.fixture
def dispatcher(django_user_model):
    user = django_user_model.objects.create_user("dispatcher", password="pw-123456")
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    return user


@pytest.fixture
def api(dispatcher):
    client = APIClient()
    client.force_authenticate(dispatcher)
    return client


# --- deadlines ----------------------------------------------------------------------------------


def test_response_limit_by_priority_then_the_matters_handling_limit(tiny_county, dispatcher, settings):
    settings.REPORT_RESPONSE_MINUTES = {1: 30, 0: 120}
    normal = submit()
    urgent = submit(priority=1)
    assert report_due_at(normal) == normal.received_at + timedelta(minutes=120)
    assert report_due_at(urgent) == urgent.received_at + timedelta(minutes=30)
    registered = register(normal, dispatcher)
    limit = tiny_county.matters["vending"].time_limit_days  # working days, from registration
    assert report_due_at(registered) == add_working_days(start=registered.registered_at, days=limit)


def test_no_matter_uses_the_default_handling_days_and_closed_has_no_clock(tiny_county, dispatcher, settings):
    settings.REPORT_DEFAULT_HANDLING_DAYS = 7
    report = register(submit(matter=None), dispatcher)
    assert report_due_at(report) == add_working_days(start=report.registered_at, days=7)
    Report.objects.filter(pk=report.pk).update(status=Report.Status.CLOSED)
    report.refresh_from_db()
    assert report_due_at(report) is None


def test_sql_deadline_agrees_with_python(tiny_county, dispatcher):
    rows = [submit(), submit(priority=1), submit(OUTSIDE), submit(matter=None)]
    rows.append(register(submit(matter="SC-001"), dispatcher))
    rows.append(register(submit(matter=None), dispatcher))
    annotated = dict(Report.objects.annotate(due_at_now=due_at_expression()).values_list("id", "due_at_now"))
    for report in rows:
        report.refresh_from_db()
        assert annotated[report.pk] == report_due_at(report), report.status


def test_overdue_is_strictly_after_the_deadline(tiny_county):
    report = submit()
    due = report_due_at(report)
    qs = Report.objects.annotate(due_at_now=due_at_expression())
    assert not qs.filter(overdue_q(due)).exists()  # at the deadline itself: not yet overdue
    assert qs.filter(overdue_q(due + timedelta(microseconds=1))).exists()


def test_deadline_rides_in_the_event_and_the_api(tiny_county, api):
    report = submit()
    body = api.get(f"/api/v1/reports/{report.pk}/").json()
    assert body["due_at"] == timezone.localtime(report_due_at(report)).isoformat()
    assert body["due_at"].endswith("+08:00")
    from gridops.realtime.events import report_payload

    payload = report_payload(report)
    assert payload["due_at"] == body["due_at"]
    assert payload["reporter_id"] is None


# --- today's figures ----------------------------------------------------------------------------


def test_summary_counts_the_shanghai_day_and_the_patrol_window(tiny_county, settings):
    settings.PATROL_ACTIVE_SECONDS = 600
    now = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    midnight = datetime(2026, 11, 23, 0, 0, tzinfo=SHANGHAI)
    received(submit(), midnight)  # first instant of the day: today
    received(submit(), midnight - timedelta(microseconds=1))  # last instant of yesterday: open, overdue
    received(submit(OUTSIDE), now - timedelta(minutes=5))  # triage, on time
    closed = received(submit(), now - timedelta(minutes=1))
    Report.objects.filter(pk=closed.pk).update(status=Report.Status.CLOSED)
    on_patrol = tracked_unit(tiny_county.teams["W"], code="car-1").unit
    gone_quiet = tracked_unit(tiny_county.teams["W"], code="car-2").unit
    never = tracked_unit(tiny_county.teams["W"], code="car-3").unit
    from gridops.models import Unit

    Unit.objects.filter(pk=on_patrol.pk).update(fix_at=now - timedelta(seconds=600), fix_point=Point(*INSIDE))
    Unit.objects.filter(pk=gone_quiet.pk).update(
        fix_at=now - timedelta(seconds=601), fix_point=Point(*INSIDE)
    )
    assert never.fix_at is None

    summary = command_summary(now=now)
    assert summary["reports_today"] == 3  # midnight, triage, closed
    assert summary["open"] == 3
    assert summary["triage"] == 1
    # The midnight report is 9 h old (limit 2 h) and yesterday's too; the triage one is 5 min old.
    assert summary["overdue"] == 2
    assert summary["units_on_patrol"] == 1
    assert summary["open_alerts"] == 0
    assert summary["at"].endswith("+08:00")


def test_summary_needs_sign_in(tiny_county):
    assert APIClient().get("/api/v1/summary/").status_code in (401, 403)


def test_summary_over_http(tiny_county, api):
    submit()
    Alert.objects.create(kind=Alert.Kind.DEVICE_SILENT, message="x", team=tiny_county.teams["W"])
    body = api.get("/api/v1/summary/").json()
    assert body["reports_today"] == 1 and body["open"] == 1 and body["open_alerts"] == 1


# --- filters ------------------------------------------------------------------------------------


def test_open_and_domain_filters(tiny_county, api, dispatcher):
    vending = submit()
    food = submit(matter="SC-001")
    closed = submit()
    Report.objects.filter(pk=closed.pk).update(status=Report.Status.CLOSED)
    register(food, dispatcher)

    def ids(query):
        response = api.get(f"/api/v1/reports/?{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("open=true") == {vending.pk, food.pk}
    assert ids("open=false") == {closed.pk}
    assert ids("domain=market") == {food.pk}
    assert ids("domain=comprehensive&open=true") == {vending.pk}


def test_bad_filter_values_are_field_errors(tiny_county, api):
    response = api.get("/api/v1/reports/?domain=astrology")
    assert response.status_code == 400 and "domain" in response.json()
    response = api.get("/api/v1/reports/?open=perhaps")
    assert response.status_code == 400 and "open" in response.json()


# --- cameras ------------------------------------------------------------------------------------


def test_cameras_layer(tiny_county, api):
    device = Device.objects.create(code="cam-001", name="球机", kind=Device.Kind.CAMERA)
    Camera.objects.create(
        device=device,
        name="丹东路口",
        location=Point(121.001, 29.001, srid=4326),
        heading=45,
        township=tiny_county.townships["W"],
        field_of_view=Polygon(
            ((121.002, 29.002), (121.008, 29.002), (121.008, 29.008), (121.002, 29.002)), srid=4326
        ),
    )
    revoked = Device.objects.create(
        code="cam-002", name="旧球机", kind=Device.Kind.CAMERA, revoked_at=timezone.now()
    )
    Camera.objects.create(device=revoked, name="石浦码头", location=Point(121.03, 29.01, srid=4326))
    body = api.get("/api/v1/cameras/").json()
    assert body["type"] == "FeatureCollection"
    by_code = {f["properties"]["code"]: f for f in body["features"]}
    first = by_code["cam-001"]
    assert first["geometry"] == {"type": "Point", "coordinates": [121.001, 29.001]}
    assert first["properties"]["heading"] == 45
    assert first["properties"]["field_of_view"]["coordinates"][0][0] == [121.002, 29.002]
    assert first["properties"]["township"] == {"code": "330225001", "name": "丹东街道"}
    assert first["properties"]["active"] is True
    assert by_code["cam-002"]["properties"] | {} and by_code["cam-002"]["properties"]["active"] is False
    assert by_code["cam-002"]["properties"]["field_of_view"] is None
    only_w = api.get("/api/v1/cameras/?township=330225001").json()
    assert [f["properties"]["code"] for f in only_w["features"]] == ["cam-001"]
