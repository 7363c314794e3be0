"""Camera alerts over HTTP with device keys: routing, merging of repeats, idempotency, refusals.

The camera stands at K and looks over the square V (its field of view), inside cell (0,0):

    29.010 ┌──────────────┬────
           │   V········  │          V = 121.002–121.008 E, 29.002–29.008 N
           │   ·      ·   │          K = (121.001, 29.001): the camera
           │   ·  +   ·   │          + = FOV centroid (121.005, 29.005)
           │   ·······    │          X = (121.015, 29.005): outside V (cell (1,0))
           │ K            │
    29.000 └──────────────┴────
        121.000        121.010
"""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone
from rest_framework.test import APIClient

from geodata.demo.catalogue import MATTERS_BY_CODE
from geodata.errors import FieldError
from geodata.models import Matter
from gridops.auth import device_key_issue, device_key_revoke
from gridops.models import Camera, Device, OutboxEvent, Report
from gridops.realtime import events
from gridops.services import cameras
from gridops.services.cameras import camera_alert_submit
from tests.data import images

URL = "/api/v1/camera-alerts/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def county(tiny_county):
    """The tiny county plus the catalogue matters that camera alert types map to."""
    for code in {cameras.CAMERA_ALERT_MATTERS[t] for t in ("street_vending", "exposed_rubbish")}:
        row = MATTERS_BY_CODE[code]
        Matter.objects.create(
            code=row.code,
            name=row.name,
            domain=row.domain,
            kind=row.kind,
            handled_by=row.handled_by,
            time_limit_days=row.time_limit_days,
        )
    return tiny_county


@pytest.fixture
def camera(county):
    device = Device.objects.create(code="cam-001", name="丹东路口球机", kind=Device.Kind.CAMERA)
    return Camera.objects.create(
        device=device,
        name="丹东路口",
        location=Point(121.001, 29.001, srid=4326),
        field_of_view=Polygon(
            ((121.002, 29.002), (121.008, 29.002), (121.008, 29.008), (121.002, 29.008), (121.002, 29.002)),
            srid=4326,
        ),
    )


@pytest.fixture
def key(camera):
    return device_key_issue(device=camera.device)


@pytest.fixture
def client(key):
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Device {key}")
    return c


def alert(client, **extra):
    return client.post(URL, {"alert_type": "street_vending", **extra}, format="json")


def test_new_alert_is_a_routed_camera_report_with_a_camera_reason(client, camera):
    response = alert(client, confidence=0.91, event_id="e1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["merged"] is False and data["repeat_count"] == 1
    report = data["report"]
    assert report["source"] == "camera" and report["alert_type"] == "street_vending"
    assert report["matter"]["code"] == "ZH-CF-001"
    assert report["team"]["code"] == "zh-1"
    assert report["point"]["coordinates"] == pytest.approx([121.005, 29.005])  # FOV centroid
    assert report["reasons"][-1]["code"] == "camera" and "丹东路口" in report["reasons"][-1]["text"]
    assert "91%" in report["description"]
    assert Report.objects.get().idempotency_key == "camera:cam-001:e1"
    assert OutboxEvent.objects.get().type == events.REPORT_CREATED
    camera.device.refresh_from_db()
    assert camera.device.last_seen_at is not None


def test_repeats_within_the_window_merge(client):
    first = alert(client)
    second = alert(client)
    third = alert(client)
    assert first.status_code == 201
    assert second.status_code == third.status_code == 200
    assert third.json()["merged"] is True and third.json()["repeat_count"] == 3
    assert Report.objects.count() == 1
    assert Report.objects.get().repeat_count == 3
    types = list(OutboxEvent.objects.order_by("id").values_list("type", flat=True))
    assert types == [events.REPORT_CREATED, events.REPORT_UPDATED, events.REPORT_UPDATED]


def test_after_the_window_a_new_report(client, settings):
    settings.CAMERA_MERGE_SECONDS = 1800
    long_ago = timezone.now() - timedelta(hours=2)
    first = alert(client, observed_at=long_ago.isoformat())
    second = alert(client)
    assert first.status_code == second.status_code == 201
    assert Report.objects.count() == 2


def test_a_different_type_is_not_merged(client):
    alert(client)
    other = client.post(URL, {"alert_type": "exposed_rubbish"}, format="json")
    assert other.status_code == 201
    assert Report.objects.count() == 2


def test_a_closed_report_does_not_absorb_repeats(client):
    alert(client)
    Report.objects.update(status=Report.Status.CLOSED)
    again = alert(client)
    assert again.status_code == 201 and again.json()["merged"] is False
    assert Report.objects.count() == 2


def test_a_registered_report_still_absorbs_repeats(client):
    alert(client)
    Report.objects.update(status=Report.Status.REGISTERED)
    assert alert(client).json()["merged"] is True


def test_retried_event_is_not_counted_twice(client):
    alert(client, event_id="a")
    merged = alert(client, event_id="b")
    retry_new = alert(client, event_id="a")
    retry_merged = alert(client, event_id="b")
    assert merged.json()["repeat_count"] == 2
    assert retry_new.json()["repeat_count"] == retry_merged.json()["repeat_count"] == 2
    assert retry_new.json()["merged"] is False and retry_merged.json()["merged"] is True
    assert Report.objects.get().repeat_count == 2
    assert OutboxEvent.objects.count() == 2


def test_a_given_point_inside_the_view_is_used(client):
    data = alert(client, lon=121.003, lat=29.007).json()
    assert data["report"]["point"]["coordinates"] == pytest.approx([121.003, 29.007])


def test_a_point_on_the_edge_of_the_view_is_inside(client):
    assert alert(client, lon=121.008, lat=29.005).status_code == 201


def test_a_point_outside_its_own_view_is_refused(client):
    response = alert(client, lon=121.015, lat=29.005)
    assert response.status_code == 400 and "lon" in response.json()
    assert Report.objects.count() == 0


def test_without_a_view_the_camera_location_is_used(client, camera):
    Camera.objects.filter(pk=camera.pk).update(field_of_view=None)
    data = alert(client).json()
    assert data["report"]["point"]["coordinates"] == pytest.approx([121.001, 29.001])


def test_unknown_type_lists_the_known_ones(client):
    response = client.post(URL, {"alert_type": "ufo"}, format="json")
    assert response.status_code == 400
    message = response.json()["alert_type"][0]
    assert "street_vending" in message and "smoke_fire" in message
    assert Report.objects.count() == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"confidence": 7}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"observed_at": "2999-01-01T00:00:00+08:00"}, "observed_at"),
        ({"observed_at": "soon"}, "observed_at"),
        ({"lon": "NaN", "lat": 29.005}, "lon"),
        ({"alert_type": ""}, "alert_type"),
    ],
)
def test_bad_values_are_field_errors(client, values, field):
    response = alert(client, **values)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Report.objects.count() == 0


def test_snapshot_becomes_a_photo_without_exif(client):
    response = client.post(
        URL,
        {"alert_type": "street_vending", "snapshot": images.upload("snap.jpg", images.jpeg_bytes())},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["report"]["photo_count"] == 1


def test_bad_snapshot_is_a_snapshot_field_error(client):
    response = client.post(
        URL, {"alert_type": "street_vending", "snapshot": images.upload("s.jpg", b"nope")}, format="multipart"
    )
    assert response.status_code == 400 and "snapshot" in response.json()


def test_a_tracker_key_is_forbidden(county):
    tracker = Device.objects.create(code="trk-1", name="车载终端", kind=Device.Kind.TRACKER)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Device {device_key_issue(device=tracker)}")
    assert alert(c).status_code == 403


def test_a_camera_device_without_a_camera_row_is_forbidden(county):
    device = Device.objects.create(code="cam-x", name="未登记", kind=Device.Kind.CAMERA)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Device {device_key_issue(device=device)}")
    response = alert(c)
    assert response.status_code == 403


def test_revoked_key_is_refused(client, camera):
    device_key_revoke(device=camera.device)
    assert alert(client).status_code in (401, 403)
    assert Report.objects.count() == 0


def test_no_key_and_user_sessions_are_refused(county, django_user_model):
    assert APIClient().post(URL, {"alert_type": "street_vending"}, format="json").status_code == 401
    c = APIClient()
    c.force_login(django_user_model.objects.create_user(username="u", password="pw-123456"))
    assert c.post(URL, {"alert_type": "street_vending"}, format="json").status_code in (401, 403)


def test_a_mapped_matter_missing_from_the_catalogue_routes_without_it(client, camera):
    response = client.post(URL, {"alert_type": "smoke_fire"}, format="json")  # ZH-CF-014 not loaded
    assert response.status_code == 201
    report = response.json()["report"]
    assert report["matter"] is None and report["team"]["code"] == "zh-1"
    assert "camera_matter_missing" in [r["code"] for r in report["reasons"]]


def test_service_refuses_unknown_types_directly(camera):
    with pytest.raises(FieldError) as err:
        camera_alert_submit(camera=camera, alert_type="ufo")
    assert err.value.field == "alert_type"


@pytest.mark.django_db(transaction=True)
def test_two_first_alerts_at_once_make_one_report(transactional_db, camera):
    """The camera row lock serialises one camera's alerts: the second sees the first's report."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    results: list = []

    def send() -> None:
        try:
            barrier.wait()
            results.append(camera_alert_submit(camera=camera, alert_type="street_vending"))
        except Exception as exc:  # surfaced by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(merged for _, merged in results) == [False, True]
    assert Report.objects.get().repeat_count == 2
