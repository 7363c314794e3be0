"""GPS ping intake: validation per item, duplicates, the forward-only live position, the HTTP door.

The tiny county (tests/factories.py); team zh-1's zone is the west half:

    lat 29.04 ┌──────┬──────┬──────┬──────┐
              │  zh-1 (W)   │  zh-2 (E)   │
    lat 29.00 └──────┴──────┴──────┴──────┘
           121.00        121.02        121.04      · = the points used here: (121.005, 29.005) …
"""

import math
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.utils import timezone
from rest_framework.test import APIClient

from geodata.coords import from_wgs84
from gridops.auth import device_key_issue, device_key_revoke
from gridops.models import Device, Ping
from gridops.services.pings import DeviceNotBound, PingBatchError, ping_batch_ingest
from tests.gridops.prepared import prepared_runs, runs_since
from tests.gridops.units_factory import fix, minutes_ago, tracked_unit

URL = "/api/v1/pings/"


@pytest.fixture
def car(tiny_county):
    return tracked_unit(tiny_county.teams["W"])


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def post(client: APIClient, car, body, **headers):
    return client.post(URL, body, format="json", **car.header, **headers)


def statuses(result) -> dict[int, tuple[str, str]]:
    return {o["index"]: (o["status"], o["code"]) for o in result.items}


# --- The service -------------------------------------------------------------------------------------


def test_a_valid_batch_is_stored_and_moves_the_live_position(car, django_capture_on_commit_callbacks):
    t0 = minutes_ago(10)
    items = [
        fix(t0 + timedelta(seconds=5 * i), 121.005 + i * 1e-4, 29.005, speed=30, heading=90) for i in range(5)
    ]
    with django_capture_on_commit_callbacks() as callbacks:
        result = ping_batch_ingest(device=car.device, items=items)
    assert (result.accepted, result.duplicate, result.rejected, result.items) == (5, 0, 0, [])
    assert Ping.objects.filter(unit=car.unit).count() == 5
    car.unit.refresh_from_db()
    assert car.unit.fix_at == t0 + timedelta(seconds=20)
    assert car.unit.fix_point.x == pytest.approx(121.0054)
    assert (car.unit.fix_speed, car.unit.fix_heading) == (30, 90)
    assert len(callbacks) == 1  # one ephemeral unit.moved notice per batch, after commit
    body = result.as_dict()
    assert body["unit"]["point"] == [pytest.approx(121.0054), 29.005]
    assert body["unit"]["fix_at"] == timezone.localtime(t0 + timedelta(seconds=20)).isoformat()
    car.device.refresh_from_db()
    assert car.device.last_seen_at is not None


BATCH_STATEMENT, POSITION_UPDATE = "WITH unit AS", "UPDATE gridops_unit"


@pytest.mark.parametrize("prepared", [True, False])
def test_batches_are_stored_alike_with_and_without_prepared_statements(car, settings, prepared):
    """The batch statement and the walk's position update are prepared on the server once per
    connection (gridops/services/rows.py); GRIDOPS_PREPARED_STATEMENTS=0 gives the same rows."""
    settings.PREPARED_STATEMENTS = prepared
    before = prepared_runs(BATCH_STATEMENT, POSITION_UPDATE)
    t0 = minutes_ago(10)
    for batch in range(3):
        items = [
            fix(t0 + timedelta(seconds=30 * batch + 5 * i), 121.005 + i * 1e-4, 29.005) for i in range(4)
        ]
        result = ping_batch_ingest(device=car.device, items=items)
        assert (result.accepted, result.duplicate, result.rejected) == (4, 0, 0)
    assert Ping.objects.filter(unit=car.unit).count() == 12
    car.unit.refresh_from_db()
    assert car.unit.fix_at == t0 + timedelta(seconds=75)
    if prepared:
        # The device's first batch in this process assumes no team: the statement stores the fixes,
        # then the walk takes the lock (the statement again, without fixes) and moves the position.
        # The next two batches, inside their team's zones, are one statement each.
        assert sum(runs_since(before, BATCH_STATEMENT)) == 4
        assert sum(runs_since(before, POSITION_UPDATE)) == 1
    else:
        assert runs_since(before, BATCH_STATEMENT, POSITION_UPDATE) == []
    # Values as sent, whichever way the arrays travel (binary parameters when prepared, literals
    # otherwise): a sub-second time, a float that has no short decimal form, absent values as NULL.
    odd = t0 + timedelta(seconds=100, microseconds=123457)
    items = [
        {"t": odd.isoformat(), "lon": 121.0051234567891, "lat": 29.005, "speed": 0.1 + 0.2},
        fix(odd + timedelta(seconds=1), 121.006, 29.005, heading=360, accuracy=4.5),
    ]
    assert ping_batch_ingest(device=car.device, items=items).accepted == 2
    first, second = Ping.objects.filter(unit=car.unit, fixed_at__gte=odd).order_by("fixed_at")
    assert first.fixed_at == odd and first.point.x == 121.0051234567891 and first.speed == 0.1 + 0.2
    assert (first.heading, first.accuracy) == (None, None)
    assert (second.speed, second.heading, second.accuracy) == (None, 0.0, 4.5)


def test_duplicates_within_the_batch_and_against_stored_pings(car, django_capture_on_commit_callbacks):
    t0 = minutes_ago(10)
    first = ping_batch_ingest(
        device=car.device, items=[fix(t0, 121.005, 29.005), fix(t0 + timedelta(seconds=5), 121.006, 29.005)]
    )
    assert first.accepted == 2
    again = [
        fix(t0, 121.005, 29.005),  # stored before
        fix(t0 + timedelta(seconds=10), 121.007, 29.005),
        {
            "t": (t0 + timedelta(seconds=10)).timestamp(),
            "lon": 121.008,
            "lat": 29.005,
        },  # same time, epoch form
        fix(t0 + timedelta(seconds=5), 121.006, 29.005),  # stored before
    ]
    with django_capture_on_commit_callbacks() as callbacks:
        result = ping_batch_ingest(device=car.device, items=again)
    assert (result.accepted, result.duplicate, result.rejected) == (1, 3, 0)
    assert statuses(result) == {
        0: ("duplicate", "duplicate"),
        2: ("duplicate", "duplicate_in_batch"),
        3: ("duplicate", "duplicate"),
    }
    assert Ping.objects.filter(unit=car.unit).count() == 3
    assert Ping.objects.get(fixed_at=t0 + timedelta(seconds=10)).point.x == pytest.approx(
        121.007
    )  # first wins
    assert len(callbacks) == 1

    with django_capture_on_commit_callbacks() as callbacks:
        resent = ping_batch_ingest(device=car.device, items=again)
    assert (resent.accepted, resent.duplicate) == (0, 4)
    assert callbacks == []  # nothing moved: no notice


def test_out_of_order_pings_are_track_but_never_move_the_unit_back(car):
    t0 = minutes_ago(10)
    ping_batch_ingest(device=car.device, items=[fix(t0, 121.010, 29.010)])
    late = ping_batch_ingest(device=car.device, items=[fix(t0 - timedelta(minutes=2), 121.001, 29.001)])
    assert late.accepted == 1
    assert Ping.objects.filter(unit=car.unit).count() == 2
    car.unit.refresh_from_db()
    assert car.unit.fix_at == t0
    assert (car.unit.fix_point.x, car.unit.fix_point.y) == (pytest.approx(121.010), pytest.approx(29.010))
    assert late.moved is False

    # A mixed batch: the newest accepted fix wins whatever its position in the request.
    mixed = [
        fix(t0 + timedelta(seconds=30), 121.012, 29.010),
        fix(t0 + timedelta(seconds=10), 121.011, 29.010),
        fix(t0 - timedelta(minutes=5), 121.000, 29.000),
    ]
    ping_batch_ingest(device=car.device, items=mixed)
    car.unit.refresh_from_db()
    assert car.unit.fix_at == t0 + timedelta(seconds=30)
    assert car.unit.fix_point.x == pytest.approx(121.012)


def test_bad_items_are_rejected_with_reasons_while_the_good_ones_are_stored(car, settings):
    now = timezone.now()
    t = minutes_ago(5)
    items = [
        fix(t, 121.005, 29.005),  # 0 ok
        fix(now + timedelta(seconds=settings.PING_MAX_FUTURE_SECONDS + 60), 121.005, 29.005),  # 1 future
        fix(now - timedelta(seconds=settings.PING_MAX_AGE_SECONDS + 60), 121.005, 29.005),  # 2 ancient
        fix(t + timedelta(seconds=1), 200.0, 29.005),  # 3 out of range
        fix(t + timedelta(seconds=2), float("nan"), 29.005),  # 4 NaN
        fix(t + timedelta(seconds=3), 29.005, 121.005),  # 5 swapped
        fix(t + timedelta(seconds=4), 116.40, 39.90),  # 6 Beijing: outside the service area
        fix(t + timedelta(seconds=5), "abc", 29.005),  # 7 not a number
        {"t": t.isoformat(), "lat": 29.005},  # 8 no lon
        fix(t + timedelta(seconds=6), 121.005, 29.005, speed=-3),  # 9 bad speed
        fix(t + timedelta(seconds=7), 121.005, 29.005, heading=400),  # 10 bad heading
        {"lon": 121.005, "lat": 29.005},  # 11 no time
        {"t": "2026-05-01T09:30:00", "lon": 121.005, "lat": 29.005},  # 12 no offset
        {"t": "yesterday", "lon": 121.005, "lat": 29.005},  # 13 not a time
        "121.005,29.005",  # 14 not an object
        fix(t + timedelta(seconds=8), 121.005, 29.005, crs="utm"),  # 15 unknown CRS
        fix(t + timedelta(seconds=9), 121.006, 29.005, speed=45.5, heading=360, accuracy=8),  # 16 ok
        fix(t + timedelta(seconds=10), math.inf, 29.005),  # 17 infinite
        {"t": t.timestamp() * 1000, "lon": 121.005, "lat": 29.005},  # 18 milliseconds
    ]
    result = ping_batch_ingest(device=car.device, items=items)
    assert (result.accepted, result.duplicate, result.rejected) == (2, 0, 17)
    codes = {i: code for i, (_status, code) in statuses(result).items()}
    assert codes == {
        1: "time_in_future",
        2: "time_too_old",
        3: "out_of_range",
        4: "not_finite",
        5: "swapped",
        6: "outside_service_area",
        7: "not_a_number",
        8: "missing_coordinates",
        9: "bad_speed",
        10: "bad_heading",
        11: "missing_time",
        12: "bad_time",
        13: "bad_time",
        14: "invalid_item",
        15: "unknown_crs",
        17: "not_finite",
        18: "bad_time",
    }
    by_index = {o["index"]: o for o in result.items}
    assert all(o["message"] and o["field"] for o in result.items)
    assert "颠倒" in by_index[5]["message"]
    assert by_index[8]["field"] == "lon"
    assert by_index[15]["field"] == "crs"
    assert by_index[18]["message"].endswith("（是否误用了毫秒？）。")
    stored = Ping.objects.filter(unit=car.unit).order_by("fixed_at")
    assert [p.fixed_at for p in stored] == [t, t + timedelta(seconds=9)]
    assert (stored[1].speed, stored[1].heading, stored[1].accuracy) == (45.5, 0, 8)  # 360° is north


def test_items_in_any_accepted_form_are_stored_alike(car):
    """Plain numbers and an ISO time take the quick way through validation; numbers as strings,
    an upper-case CRS or a padded time go the careful way. Both store the same values, and a
    boolean is never taken for a number on either way."""
    t = minutes_ago(4)
    plain = fix(t, 121.005, 29.005, speed=30, heading=360, accuracy=8, crs="wgs84")
    spelled = {
        "t": f" {(t + timedelta(seconds=1)).isoformat()} ",
        "lon": "121.005",
        "lat": "29.005",
        "speed": "30",
        "heading": "360",
        "accuracy": "8",
        "crs": "WGS84",
    }
    epoch = {"t": int((t + timedelta(seconds=2)).timestamp()), "lon": 121, "lat": 29.005, "heading": 90}
    booleans = [
        fix(t + timedelta(seconds=3), True, 29.005),
        fix(t + timedelta(seconds=4), 121.005, 29.005, speed=True),
    ]
    result = ping_batch_ingest(device=car.device, items=[plain, spelled, epoch, *booleans])
    assert statuses(result) == {3: ("rejected", "not_a_number"), 4: ("rejected", "bad_speed")}
    stored = list(Ping.objects.filter(unit=car.unit).order_by("fixed_at"))
    assert [p.fixed_at for p in stored] == [t + timedelta(seconds=k) for k in range(3)]
    first, second, third = ((p.point.x, p.point.y, p.speed, p.heading, p.accuracy) for p in stored)
    assert first == second == (121.005, 29.005, 30.0, 0.0, 8.0)  # 360° is north, stored as 0
    assert third == (121.0, 29.005, None, 90.0, None)


def test_the_ping_table_keeps_only_the_indexes_its_queries_use(db):
    """Every stored fix updates every index of gridops_ping: the dedup key and track reads by unit
    and time only (migration 0006 dropped the foreign keys' own indexes and the spatial index)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'gridops_ping'")
        columns = sorted(row[0].split(" USING ", 1)[1] for row in cursor.fetchall())
    assert columns == ["btree (device_id, fixed_at)", "btree (id)", "btree (unit_id, fixed_at)"]


def test_gcj02_input_is_converted_to_wgs84(tiny_county):
    car = tracked_unit(tiny_county.teams["W"], code="phone-1", crs="gcj02")
    lon, lat = 121.011, 29.013
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert abs(glon - lon) > 1e-3  # GCJ-02 moves points by hundreds of metres here
    wlon, wlat = from_wgs84(121.012, 29.013, "wgs84")
    t = minutes_ago(3)
    ping_batch_ingest(
        device=car.device,
        items=[
            {"t": t.isoformat(), "lon": glon, "lat": glat},  # the device's CRS (gcj02)
            {"t": (t + timedelta(seconds=5)).isoformat(), "lon": wlon, "lat": wlat, "crs": "wgs84"},
        ],
    )
    first, second = Ping.objects.filter(unit=car.unit).order_by("fixed_at")
    assert (first.point.x, first.point.y) == (pytest.approx(lon, abs=1e-6), pytest.approx(lat, abs=1e-6))
    assert (second.point.x, second.point.y) == (pytest.approx(121.012), pytest.approx(29.013))


def test_a_device_without_an_active_unit_cannot_post(tiny_county):
    device = Device.objects.create(code="trk-loose", name="未绑定终端", kind=Device.Kind.TRACKER)
    with pytest.raises(DeviceNotBound) as exc:
        ping_batch_ingest(device=device, items=[fix(minutes_ago(1), 121.005, 29.005)])
    assert exc.value.field == "device"
    car = tracked_unit(tiny_county.teams["W"], code="retired")
    car.unit.active = False
    car.unit.save()
    with pytest.raises(DeviceNotBound):
        ping_batch_ingest(device=car.device, items=[fix(minutes_ago(1), 121.005, 29.005)])
    assert not Ping.objects.exists()


@pytest.mark.parametrize("items", [[], {"t": 1}, "x"])
def test_a_malformed_batch_is_refused_whole(car, items):
    with pytest.raises(PingBatchError) as exc:
        ping_batch_ingest(device=car.device, items=items)
    assert exc.value.field == "items"


# --- HTTP ----------------------------------------------------------------------------------------------


def test_http_batch_with_some_rejected_items_answers_200(client, car):
    t = minutes_ago(2)
    response = post(
        client,
        car,
        {"items": [fix(t, 121.005, 29.005), fix(t + timedelta(seconds=5), "NaN", 29.005)]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (1, 0, 1)
    assert body["items"] == [
        {
            "index": 1,
            "status": "rejected",
            "code": "not_finite",
            "field": "lon",
            "message": body["items"][0]["message"],
        }
    ]
    assert body["unit"]["code"] == car.unit.code
    assert body["unit"]["point"] == [121.005, 29.005]


def test_http_accepts_a_bare_list(client, car):
    response = post(client, car, [fix(minutes_ago(1), 121.005, 29.005)])
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize(
    "body",
    [{"pings": []}, {"items": []}, {"items": "121,29"}, 42],
)
def test_http_malformed_requests_answer_400_with_the_field(client, car, body):
    response = post(client, car, body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["items"]


def test_http_invalid_json_answers_400(client, car):
    response = client.post(URL, "{not json", content_type="application/json", **car.header)
    assert response.status_code == 400


def test_http_batch_too_large(client, car, settings):
    settings.PING_MAX_BATCH = 5
    t = minutes_ago(5)
    items = [fix(t + timedelta(seconds=i), 121.005, 29.005) for i in range(6)]
    response = post(client, car, {"items": items})
    assert response.status_code == 400
    assert "5" in response.json()["items"][0]
    assert not Ping.objects.exists()


def test_http_device_without_unit_answers_403(client, tiny_county):
    device = Device.objects.create(code="trk-loose", name="未绑定终端", kind=Device.Kind.TRACKER)
    key = device_key_issue(device=device)
    response = client.post(
        URL,
        {"items": [fix(minutes_ago(1), 121.005, 29.005)]},
        format="json",
        HTTP_AUTHORIZATION=f"Device {key}",
    )
    assert response.status_code == 403
    assert "未绑定" in response.json()["device"][0]


def test_http_revoked_or_wrong_key_answers_401(client, car):
    body = {"items": [fix(minutes_ago(1), 121.005, 29.005)]}
    wrong = client.post(URL, body, format="json", HTTP_AUTHORIZATION=f"Device {car.key[:-2]}xx")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"] == "Device"
    device_key_revoke(device=car.device)
    revoked = post(client, car, body)
    assert revoked.status_code == 401
    assert not Ping.objects.exists()


def test_http_a_signed_in_user_cannot_post_pings(client, car):
    user = get_user_model().objects.create_user("dispatcher", password="pw-123456")
    client.force_login(user)
    response = client.post(URL, {"items": [fix(minutes_ago(1), 121.005, 29.005)]}, format="json")
    assert response.status_code == 401
    assert not Ping.objects.exists()


def test_http_a_camera_key_cannot_post_pings(client, tiny_county):
    camera = Device.objects.create(code="cam-1", name="摄像头", kind=Device.Kind.CAMERA)
    key = device_key_issue(device=camera)
    response = client.post(
        URL,
        {"items": [fix(minutes_ago(1), 121.005, 29.005)]},
        format="json",
        HTTP_AUTHORIZATION=f"Device {key}",
    )
    assert response.status_code == 403
    assert "定位终端" in response.json()["detail"]


def test_http_query_count_of_a_batch_is_small_and_does_not_grow_with_its_size(
    client, car, django_assert_max_num_queries
):
    t0 = minutes_ago(30)
    post(client, car, [fix(t0, 121.005, 29.005)])  # warms the routing index
    small = [fix(t0 + timedelta(seconds=1 + i), 121.005, 29.005 + i * 1e-5) for i in range(10)]
    large = [fix(t0 + timedelta(seconds=100 + i), 121.005, 29.005 + i * 1e-5) for i in range(100)]
    # The routing revision check and the batch statement (the unit's lock, the insert, the position
    # and the device's last_seen_at): a unit inside its zones needs no more. The device key was
    # read by the first batch and is checked against its stamp in Redis since (gridops/auth.py).
    with django_assert_max_num_queries(2) as small_queries:
        assert post(client, car, small).json()["accepted"] == 10
    with django_assert_max_num_queries(2) as large_queries:
        assert post(client, car, large).json()["accepted"] == 100
    assert len(large_queries.captured_queries) == len(small_queries.captured_queries)
    assert Ping.objects.filter(unit=car.unit).count() == 111


def test_a_batch_whose_newest_fix_is_already_stored_moves_to_its_newest_new_fix(car):
    """The batch statement moves the position only to the batch's newest fix (the time the geofence
    was worked out for); when that fix was stored before without moving the unit, the walk under
    the lock moves it to the newest fix stored now."""
    t0 = minutes_ago(10)
    ping_batch_ingest(device=car.device, items=[fix(t0, 121.005, 29.005)])
    Ping.objects.create(
        unit=car.unit, device=car.device, fixed_at=t0 + timedelta(seconds=20), point=Point(121.007, 29.005)
    )
    result = ping_batch_ingest(
        device=car.device,
        items=[
            fix(t0 + timedelta(seconds=10), 121.006, 29.005),
            fix(t0 + timedelta(seconds=20), 121.007, 29.005),
        ],
    )
    assert (result.accepted, result.duplicate, result.moved) == (1, 1, True)
    car.unit.refresh_from_db()
    assert car.unit.fix_at == t0 + timedelta(seconds=10)
    assert car.unit.fix_point.x == pytest.approx(121.006)


@pytest.mark.django_db(transaction=True)
def test_batches_of_one_device_at_once_store_everything_and_end_at_the_newest_fix(transactional_db, car):
    """Out of a transaction each batch is one statement, its own transaction, holding the unit's lock
    only while it runs; batches of one device racing (a tracker retrying while the first is in
    flight) still store every fix once and leave the position at the newest."""
    import threading

    from django.db import connection

    t0 = minutes_ago(30)
    ping_batch_ingest(device=car.device, items=[fix(t0, 121.005, 29.005)])  # the team is known now
    barrier = threading.Barrier(4)
    errors: list = []

    def send(k: int) -> None:
        try:
            barrier.wait()
            for i in range(10):  # thread k sends seconds 1 + 4i + k: interleaved in fix time
                at = t0 + timedelta(seconds=1 + 4 * i + k)
                ping_batch_ingest(device=car.device, items=[fix(at, 121.005 + k * 1e-4, 29.005)])
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Ping.objects.filter(unit=car.unit).count() == 41
    car.unit.refresh_from_db()
    assert car.unit.fix_at == t0 + timedelta(seconds=40)
    assert car.unit.outside_since is None


def test_the_usual_batch_is_one_statement_and_a_changed_team_domain_is_walked(car):
    """Once a device's team is known here, a batch inside its zones moves the unit in the batch
    statement alone; after its team's domain changes, the statement does not trust the geofence
    worked out for the old one and the walk under the lock moves the unit (a township team made a
    professional one: kind and domain go together)."""
    from geodata.models import Team

    t0 = minutes_ago(10)

    def send(seconds: int, lon: float) -> bool:
        items = [fix(t0 + timedelta(seconds=seconds), lon, 29.005)]
        return ping_batch_ingest(device=car.device, items=items).moved

    assert send(0, 121.005)
    before = prepared_runs(POSITION_UPDATE)
    assert send(10, 121.006)
    assert runs_since(before, POSITION_UPDATE) == []
    Team.objects.filter(pk=car.unit.team_id).update(kind="professional", domain="market")
    assert send(20, 121.007)
    assert sum(runs_since(before, POSITION_UPDATE)) == 1
    car.unit.refresh_from_db()
    assert car.unit.fix_at == t0 + timedelta(seconds=20)


def test_moving_the_position_updates_the_unit_in_place(car):
    """No column a batch's move writes is indexed (migration 0008), so each move is a HOT update:
    no new entry in any of the unit table's indexes."""
    from django.db import connection

    def updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'gridops_unit'"
            )
            return cursor.fetchone()

    before = updates()
    t0 = minutes_ago(20)
    for k in range(4):
        result = ping_batch_ingest(
            device=car.device, items=[fix(t0 + timedelta(seconds=k), 121.005, 29.005 + k * 1e-4)]
        )
        assert result.accepted == 1
    after = updates()
    moved = after[0] - before[0]
    assert moved >= 4
    assert after[1] - before[1] == moved
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'gridops_unit'")
        indexed = " ".join(row[0] for row in cursor.fetchall())
    assert not [
        c for c in ("fix_at", "fix_point", "fix_speed", "fix_heading", "outside_since") if c in indexed
    ]
