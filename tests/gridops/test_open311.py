"""Open311 GeoReport v2 façade: round trips through the spec's JSON, on the tiny county.

lat 29.04 ┌──────┬──────┬──────┬──────┐
          │  W   │  W   │  E   │  E   │   W = 330225001, team zh-1 (综合行政执法一中队)
          │      │      │      │      │   E = 330225101, team zh-2
lat 29.00 └──────┴──────┴──────┴──────┘   market covers all; fishery has no zone
       121.00               121.02   121.04
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token

from gridops.models import Report

pytestmark = pytest.mark.django_db


def _token(username: str, group: str | None) -> str:
    user = get_user_model().objects.create_user(username=username, password="x")
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return Token.objects.create(user=user).key


@pytest.fixture
def api_key(tiny_county):
    return _token("hotline", "open311")


def _post(client, **data):
    return client.post("/open311/v2/requests.json", data)


def test_discovery_names_the_spec_and_json(client):
    body = client.get("/open311/v2/discovery.json").json()
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["application/json"]
    assert endpoint["url"].endswith("/open311/v2")
    assert body["changeset"].endswith("+08:00")


def test_services_list_the_active_catalogue(client, tiny_county):
    tiny_county.matters["fishing"].active = False
    tiny_county.matters["fishing"].save()
    services = client.get("/open311/v2/services.json").json()
    by_code = {s["service_code"]: s for s in services}
    assert set(by_code) == {"ZH-001", "SC-001", "SC-101"}
    vending = by_code["ZH-001"]
    assert vending["service_name"] == "占道经营"
    assert vending["metadata"] is False and vending["type"] == "realtime"
    assert vending["group"] == "综合行政执法"
    assert "城市市容和环境卫生管理条例" in vending["description"]
    assert "乡镇综合执法队" in vending["keywords"]
    # the no-extension form answers the same
    assert client.get("/open311/v2/services").json() == services


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        # a shared corner of four cells inside the grid: comprehensive + market cover it, fishery not
        ("121.02", "29.02", {"ZH-001", "SC-001", "SC-101"}),
        # the outer south-west corner of the grid still lies in a cell
        ("121.0", "29.0", {"ZH-001", "SC-001", "SC-101"}),
        # in the service area but outside every cell: nobody covers it
        ("121.05", "29.02", set()),
    ],
)
def test_services_are_location_aware(client, tiny_county, lon, lat, expected):
    services = client.get("/open311/v2/services.json", {"lat": lat, "long": lon}).json()
    assert {s["service_code"] for s in services} == expected


def test_service_definition_and_unknown_code(client, tiny_county):
    assert client.get("/open311/v2/services/ZH-001.json").json() == {
        "service_code": "ZH-001",
        "attributes": [],
    }
    missing = client.get("/open311/v2/services/NOPE.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404
    assert missing.json()[0]["description"].startswith("service_code:")


def test_post_then_get_by_id_and_by_filters(client, tiny_county, api_key):
    answer = _post(
        client,
        api_key=api_key,
        service_code="ZH-001",
        lat="29.005",
        long="121.005",
        address_string="丹东街道天安路 1 号",
        description="人行道上有占道经营的摊位",
        email="citizen@example.com",
        first_name="小明",
        last_name="王",
        phone="19900001234",
    )
    assert answer.status_code == 201, answer.content
    (created,) = answer.json()
    assert created["account_id"] is None
    assert "综合行政执法一中队" in created["service_notice"]
    request_id = created["service_request_id"]
    report = Report.objects.get()
    assert request_id == report.number
    assert report.source == Report.Source.OPEN311
    assert report.reporter_name == "王小明" and report.reporter_phone == "19900001234"

    (detail,) = client.get(f"/open311/v2/requests/{request_id}.json").json()
    assert detail["service_request_id"] == request_id
    assert detail["status"] == "open"
    assert detail["service_code"] == "ZH-001" and detail["service_name"] == "占道经营"
    assert detail["agency_responsible"] == "综合行政执法一中队"
    assert detail["address"] == "丹东街道天安路 1 号"
    assert detail["requested_datetime"].endswith("+08:00")
    assert detail["expected_datetime"].endswith("+08:00")
    assert (detail["lat"], detail["long"]) == pytest.approx((29.005, 121.005))
    # no personal data in a public GET, whatever the key is called
    text = client.get(f"/open311/v2/requests/{request_id}").content.decode()
    for secret in ("王小明", "小明", "19900001234", "citizen@example.com", "hotline"):
        assert secret not in text
    # the bare id finds it too
    assert client.get(f"/open311/v2/requests/{report.pk}.json").json()[0]["service_request_id"] == request_id

    listed = client.get("/open311/v2/requests.json", {"service_code": "ZH-001", "status": "open"}).json()
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert client.get("/open311/v2/requests.json", {"status": "closed"}).json() == []
    assert client.get("/open311/v2/requests.json", {"service_code": "SC-001"}).json() == []
    by_ids = client.get("/open311/v2/requests.json", {"service_request_id": f"{request_id},SJ20000101999999"})
    assert [r["service_request_id"] for r in by_ids.json()] == [request_id]
    old = (timezone.now() - timedelta(days=200)).isoformat()
    older = (timezone.now() - timedelta(days=150)).isoformat()
    assert client.get("/open311/v2/requests.json", {"start_date": old, "end_date": older}).json() == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Report.Status.NEW, "open"),
        (Report.Status.TRIAGE, "open"),
        (Report.Status.REGISTERED, "open"),
        (Report.Status.HANDLED, "open"),
        (Report.Status.SUSPENDED, "open"),
        (Report.Status.CLOSED, "closed"),
        (Report.Status.NOT_REGISTERED, "closed"),
        (Report.Status.REFERRED, "closed"),
    ],
)
def test_status_mapping(client, tiny_county, api_key, status, expected):
    (created,) = _post(client, api_key=api_key, service_code="SC-001", lat="29.035", long="121.035").json()
    Report.objects.update(status=status)
    (detail,) = client.get(f"/open311/v2/requests/{created['service_request_id']}.json").json()
    assert detail["status"] == expected
    assert detail["status_notes"] == Report.Status(status).label
    assert detail["agency_responsible"] == "县市场监管执法队"
    listed = client.get("/open311/v2/requests.json", {"status": expected}).json()
    assert len(listed) == 1


def test_point_outside_the_grid_goes_to_triage(client, tiny_county, api_key):
    (created,) = _post(client, api_key=api_key, service_code="ZH-001", lat="29.02", long="121.05").json()
    (detail,) = client.get(f"/open311/v2/requests/{created['service_request_id']}.json").json()
    assert detail["status"] == "open"
    assert detail["agency_responsible"] == "县指挥中心（人工分拣）"


def test_idempotent_replay_and_reused_key(client, tiny_county, api_key):
    data = {"api_key": api_key, "service_code": "ZH-001", "lat": "29.005", "long": "121.005"}
    first = _post(client, client_uuid="phone-1", description="a", **data)
    again = _post(client, client_uuid="phone-1", description="a", **data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    header = client.post(
        "/open311/v2/requests.json", {**data, "description": "a"}, HTTP_IDEMPOTENCY_KEY="phone-1"
    )
    assert header.status_code == 200
    reused = _post(client, client_uuid="phone-1", description="something else", **data)
    assert reused.status_code == 422
    assert reused.json()[0]["description"].startswith("client_uuid:")
    assert Report.objects.count() == 1


def test_json_body_is_accepted(client, tiny_county, api_key):
    answer = client.post(
        "/open311/v2/requests",
        {"api_key": api_key, "service_code": "ZH-001", "lat": 29.03, "long": 121.03},
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert Report.objects.get().team.code == "zh-2"


@pytest.mark.parametrize("body", [b"{not json", b"[" * 50_000, b'"\xff'])
def test_a_malformed_json_body_is_a_spec_error_not_a_500(client, tiny_county, body):
    """Nested deeper than the decoder recurses (RecursionError) included: it was a 500."""
    answer = client.post("/open311/v2/requests", body, content_type="application/json")
    assert answer.status_code == 400
    (error,) = answer.json()
    assert error["code"] == 400 and "JSON" in error["description"]
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"service_code": "NOPE", "lat": "29.005", "long": "121.005"}, "service_code"),
        ({"lat": "29.005", "long": "121.005"}, "service_code"),
        ({"service_code": "ZH-001", "long": "121.005"}, "lat"),
        ({"service_code": "ZH-001", "lat": "29.005"}, "long"),
        ({"service_code": "ZH-001", "lat": "abc", "long": "121.005"}, "lat"),
        # far outside the service area (Beijing)
        ({"service_code": "ZH-001", "lat": "39.9", "long": "116.4"}, "long"),
    ],
)
def test_caller_mistakes_are_spec_errors(client, tiny_county, api_key, data, field, caplog):
    answer = _post(client, api_key=api_key, **data)
    assert answer.status_code == 400
    (error,) = answer.json()
    assert error["code"] == 400
    assert error["description"].startswith(f"{field}:")
    assert Report.objects.count() == 0
    assert "open311 refused" in caplog.text


def test_bad_keys(client, tiny_county):
    base = {"service_code": "ZH-001", "lat": "29.005", "long": "121.005"}
    missing = _post(client, **base)
    assert missing.status_code == 401 and missing.json()[0]["description"].startswith("api_key:")
    assert _post(client, api_key="not-a-token", **base).status_code == 403
    outsider = _token("visitor", None)
    assert _post(client, api_key=outsider, **base).status_code == 403
    assert Report.objects.count() == 0


def test_bad_list_parameters(client, tiny_county):
    assert client.get("/open311/v2/requests.json", {"status": "pending"}).status_code == 400
    assert client.get("/open311/v2/requests.json", {"start_date": "yesterday"}).status_code == 400
    now = timezone.now()
    span = {"start_date": (now - timedelta(days=120)).isoformat(), "end_date": now.isoformat()}
    too_long = client.get("/open311/v2/requests.json", span)
    assert too_long.status_code == 400 and too_long.json()[0]["description"].startswith("end_date:")
    assert client.get("/open311/v2/requests/SJ20000101000001.json").status_code == 404
    assert client.get("/open311/v2/services.json", {"lat": "x", "long": "121"}).status_code == 400
    assert client.delete("/open311/v2/requests.json").status_code == 405
