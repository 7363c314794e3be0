"""Units, tracks and alerts over the REST API (/api/v1/units/, /api/v1/alerts/)."""

from datetime import timedelta

import pytest
import yaml
from django.contrib.auth.models import Group
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from gridops.models import Alert, OutboxEvent
from gridops.realtime import events
from gridops.services.pings import ping_batch_ingest
from tests.gridops.units_factory import fix, minutes_ago, tracked_unit

API = "/api/v1"


@pytest.fixture
def client(django_user_model) -> APIClient:
    """A signed-in supervisor (tracks are for signed-in users only)."""
    client = APIClient()
    user = django_user_model.objects.create_user("supervisor", password="pw-123456")
    user.groups.add(Group.objects.get_or_create(name="supervisor")[0])  # tracks: gridops/scopes.py
    client.force_authenticate(user)
    return client


def test_a_track_needs_sign_in(fleet):
    west, _ = fleet
    assert APIClient().get(f"{API}/units/{west.unit.pk}/track/").status_code in (401, 403)


@pytest.fixture
def fleet(tiny_county):
    west = tracked_unit(tiny_county.teams["W"], code="zh-1-car-1")
    east = tracked_unit(tiny_county.teams["E"], code="zh-2-car-1")
    return west, east


def get_ok(client: APIClient, url: str, **params) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def get_400(client: APIClient, url: str, field: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == [field], body
    return body[field][0]


# --- Units --------------------------------------------------------------------------------------------


def test_units_list_with_live_positions_and_team_filter(client, fleet):
    west, _east = fleet
    t = minutes_ago(2)
    ping_batch_ingest(device=west.device, items=[fix(t, 121.005, 29.005, speed=20, heading=45)])
    body = get_ok(client, f"{API}/units/")
    assert [u["code"] for u in body["results"]] == ["zh-1-car-1", "zh-2-car-1"]
    first = body["results"][0]
    assert first["point"] == [121.005, 29.005]
    assert (first["speed"], first["heading"]) == (20, 45)
    assert first["team"] == {"code": "zh-1", "name": "综合行政执法一中队"}
    assert first["fix_at"] == timezone.localtime(t).isoformat()
    assert first["outside_since"] is None
    assert body["results"][1]["point"] is None

    only_east = get_ok(client, f"{API}/units/", team="zh-2")
    assert [u["code"] for u in only_east["results"]] == ["zh-2-car-1"]
    assert "zh-9" in get_400(client, f"{API}/units/", "team", team="zh-9")
    get_400(client, f"{API}/units/", "outside", outside="maybe")


def test_units_outside_filter_and_detail(client, fleet):
    west, _east = fleet
    ping_batch_ingest(device=west.device, items=[fix(minutes_ago(2), 121.035, 29.035)])
    outside = get_ok(client, f"{API}/units/", outside="true")
    assert [u["code"] for u in outside["results"]] == ["zh-1-car-1"]
    detail = get_ok(client, f"{API}/units/{west.unit.pk}/", team="zh-2")  # list filters ignored
    assert detail["outside_since"] is not None
    missing = client.get(f"{API}/units/999999/")
    assert missing.status_code == 404
    assert "巡查单元" in missing.json()["detail"]


def test_units_list_is_a_constant_number_of_queries(client, tiny_county, django_assert_max_num_queries):
    for i in range(5):
        tracked_unit(tiny_county.teams["W"], code=f"car-{i}")
    with django_assert_max_num_queries(3):  # the caller's scope (gridops/scopes.py) + count + page
        client.get(f"{API}/units/")


# --- Track ------------------------------------------------------------------------------------------------


def test_track_is_split_where_the_tracker_was_silent(client, fleet):
    """Fixes at 0, 60, 120 s | 10 min gap | 720, 1020 (exactly 5 min later: joined) | gap | 1500 alone."""
    west, _east = fleet
    t0 = minutes_ago(60)
    steps = [(0, 121.001), (60, 121.002), (120, 121.003), (720, 121.010), (1020, 121.011), (1500, 121.015)]
    ping_batch_ingest(
        device=west.device,
        items=[fix(t0 + timedelta(seconds=s), lon, 29.005, speed=10.0 + s / 60) for s, lon in steps],
    )
    track = get_ok(client, f"{API}/units/{west.unit.pk}/track/")
    assert track["type"] == "Feature"
    assert track["geometry"] == {
        "type": "MultiLineString",
        "coordinates": [
            [[121.001, 29.005], [121.002, 29.005], [121.003, 29.005]],
            [[121.010, 29.005], [121.011, 29.005]],
        ],
    }
    props = track["properties"]
    assert props["count"] == 6
    assert props["gap_seconds"] == 300
    local = [timezone.localtime(t0 + timedelta(seconds=s)).isoformat() for s, _ in steps]
    assert props["times"] == [local[0:3], local[3:5]]
    assert props["speeds"] == [[10.0, 11.0, 12.0], [22.0, 27.0]]
    assert [s["count"] for s in props["segments"]] == [3, 2]
    assert props["isolated"] == [
        {"time": local[5], "point": [121.015, 29.005], "speed": 35.0, "heading": None},
    ]
    assert props["unit"] == {"id": west.unit.pk, "code": "zh-1-car-1", "name": west.unit.name}

    # A window holding only the first run; naive times are Asia/Shanghai.
    start = timezone.localtime(t0).replace(tzinfo=None).isoformat()
    end = timezone.localtime(t0 + timedelta(seconds=200)).replace(tzinfo=None).isoformat()
    window = get_ok(client, f"{API}/units/{west.unit.pk}/track/", start=start, end=end)
    assert len(window["geometry"]["coordinates"]) == 1
    assert window["properties"]["count"] == 3


def test_track_of_a_silent_unit_has_no_geometry(client, fleet):
    west, _east = fleet
    track = get_ok(client, f"{API}/units/{west.unit.pk}/track/")
    assert track["geometry"] is None
    assert track["properties"]["count"] == 0


def test_track_parameters_are_checked(client, fleet):
    west, _east = fleet
    url = f"{API}/units/{west.unit.pk}/track/"
    assert "7" in get_400(
        client, url, "end", start="2026-05-01T00:00:00+08:00", end="2026-05-09T00:00:00+08:00"
    )
    get_400(client, url, "start", start="2026-05-02T00:00:00+08:00", end="2026-05-01T00:00:00+08:00")
    get_400(client, url, "start", start="yesterday")
    get_400(client, url, "end", end="2026-13-01T00:00:00")
    assert client.get(f"{API}/units/999999/track/").status_code == 404


# --- Alerts -----------------------------------------------------------------------------------------------


@pytest.fixture
def alert(fleet, settings) -> Alert:
    settings.GEOFENCE_DWELL_SECONDS = 300
    west, _east = fleet
    t0 = minutes_ago(30)
    ping_batch_ingest(
        device=west.device,
        items=[fix(t0, 121.035, 29.035), fix(t0 + timedelta(seconds=300), 121.036, 29.035)],
    )
    return Alert.objects.get(unit=west.unit)


def test_alerts_list_and_filters(client, alert):
    body = get_ok(client, f"{API}/alerts/")
    (row,) = body["results"]
    assert row["id"] == alert.pk
    assert (row["kind"], row["status"]) == ("out_of_zone", "open")
    assert row["unit"]["code"] == "zh-1-car-1"
    assert row["team"] == {"code": "zh-1", "name": "综合行政执法一中队"}
    assert row["township"] == {"code": "330225101", "name": "石浦镇"}
    assert row["point"] == [121.036, 29.035]
    assert get_ok(client, f"{API}/alerts/", status="cleared")["results"] == []
    assert len(get_ok(client, f"{API}/alerts/", kind="out_of_zone", team="zh-1")["results"]) == 1
    assert get_ok(client, f"{API}/alerts/", team="zh-2")["results"] == []
    get_400(client, f"{API}/alerts/", "status", status="closed")


def test_acknowledging_an_alert(alert, django_user_model, fleet):
    client = APIClient()
    url = f"{API}/alerts/{alert.pk}/acknowledge/"
    assert client.post(url).status_code == 403  # anonymous
    west, _east = fleet
    assert client.post(url, **west.header).status_code in (401, 403)  # a device is not a person
    assert Alert.objects.get(pk=alert.pk).status == "open"

    duty = django_user_model.objects.create_user("duty", password="pw-123456")
    duty.groups.add(Group.objects.get_or_create(name="dispatcher")[0])  # alerts: gridops/scopes.py
    client.force_login(duty)
    response = client.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "acknowledged"
    assert response.json()["data"]["acknowledged_by"] == "duty"
    assert OutboxEvent.objects.filter(type=events.ALERT_UPDATED).count() == 1
    assert client.post(url).status_code == 200  # again: harmless, no second event
    assert OutboxEvent.objects.filter(type=events.ALERT_UPDATED).count() == 1

    ping_batch_ingest(device=west.device, items=[fix(minutes_ago(1), 121.005, 29.005)])  # back inside
    assert Alert.objects.get(pk=alert.pk).status == "cleared"
    conflict = client.post(url)
    assert conflict.status_code == 409
    assert list(conflict.json()) == ["status"]
    assert client.post(f"{API}/alerts/999999/acknowledge/").status_code == 404


def test_alerts_list_is_a_constant_number_of_queries(client, alert, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):  # + the caller's scope
        client.get(f"{API}/alerts/")


def test_openapi_schema_documents_the_endpoints_and_stays_valid(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    paths = schema["paths"]
    for path in (
        "/api/v1/pings/",
        "/api/v1/units/",
        "/api/v1/units/{id}/",
        "/api/v1/units/{id}/track/",
        "/api/v1/alerts/",
        "/api/v1/alerts/{id}/acknowledge/",
    ):
        assert path in paths, path
    assert {"deviceKey": []} in paths["/api/v1/pings/"]["post"]["security"]
