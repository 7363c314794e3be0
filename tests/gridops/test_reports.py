"""Report intake over HTTP and the dispatcher actions: validation, idempotency, routing, events.

Points used (the tiny county, cells of 0.01°, see tests/factories.py):

    29.04 ┌────┬────┬────┬────┐
          │    │    │    │    │
    29.02 ├────┼────C────┼────┤      C = (121.02, 29.02): corner of 4 cells, 2 townships
          │    │    │    │    │
    29.01 ├────┼────┼────┼────┤
          │ P  E    │    │    │      P = (121.005, 29.005): inside cell (0,0), W, team zh-1
    29.00 └────┴────┴────┴────┘      E = (121.01, 29.005): edge shared by cells (0,0) and (1,0)
       121.00  .01  .02  .03  .04     O = (121.05, 29.05): outside the grid, inside the service area
"""

import threading
import uuid

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from gridops.models import OutboxEvent, Report
from gridops.realtime import events
from gridops.services.reports import IdempotencyConflict, ReportInput, report_submit
from tests.data import images
from tests.gridops.prepared import prepared_runs, runs_since

URL = "/api/v1/reports/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _user(django_user_model, username: str, *groups: str, **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-123456", **extra)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def worker(django_user_model):
    return _user(django_user_model, "worker", "grid_worker", first_name="网格员甲")


@pytest.fixture
def dispatcher(django_user_model):
    return _user(django_user_model, "dispatcher", "dispatcher", first_name="调度员乙", is_staff=True)


@pytest.fixture
def citizen(django_user_model):
    return _user(django_user_model, "citizen")


@pytest.fixture
def api(tiny_county, worker):
    return _client(worker)


def body(**extra) -> dict:
    return {"lon": 121.005, "lat": 29.005, "description": "路口占道经营", **extra}


# --- submission and routing ---------------------------------------------------------------------


def test_grid_worker_report_is_routed_with_reasons(api):
    response = api.post(URL, body(matter="ZH-001", client_uuid=str(uuid.uuid4())), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["source"] == "grid_worker"
    assert data["routed"] is True and data["triage_queue"] is None
    assert data["team"]["code"] == "zh-1"
    assert data["township"]["code"] == "330225001"
    assert data["cell"]["code"] == "330225001001001"
    assert data["zone"]["name"] and data["coverage_version"]["name"] == "2026 版"
    assert [r["code"] for r in data["reasons"]][-1] == "team"
    assert data["status"] == "new"
    assert data["reporter"]["username"] == "worker"
    event = OutboxEvent.objects.get()
    assert event.type == events.REPORT_CREATED
    assert set(event.streams) == {"county", "township:330225001", "team:zh-1"}


def test_point_on_a_shared_edge_gets_the_lowest_code_cell(api):
    data = api.post(URL, body(lon=121.01, lat=29.005), format="json").json()
    assert data["cell"]["code"] == "330225001001001"
    assert data["reasons"][0]["code"] == "cell_tie_break"


def test_point_on_a_corner_of_two_townships_gets_one_cell_and_one_team(api):
    data = api.post(URL, body(lon=121.02, lat=29.02), format="json").json()
    assert data["cell"]["code"] == "330225001001004"  # lowest of the four codes: W township
    assert data["team"]["code"] == "zh-1"
    assert "4 个网格" in data["reasons"][0]["text"]


def test_county_handled_matter_goes_to_the_market_team(api):
    data = api.post(URL, body(lon=121.035, lat=29.035, matter="SC-001"), format="json").json()
    assert data["team"]["code"] == "market"
    assert data["township"]["code"] == "330225101"


def test_outside_the_grid_is_stored_for_triage(api):
    response = api.post(URL, body(lon=121.05, lat=29.05), format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["routed"] is False and data["team"] is None
    assert data["status"] == "triage" and data["triage_queue"] == "triage:outside_grid"
    assert Report.objects.get().status == Report.Status.TRIAGE


def test_matter_without_a_zone_goes_to_triage(api):
    data = api.post(URL, body(matter="YY-001"), format="json").json()
    assert data["routed"] is False and data["triage_queue"] == "triage:no_team"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"lon": 29.005, "lat": 121.005}, "lon"),  # swapped
        ({"lon": "NaN"}, "lon"),
        ({"lat": 95}, "lat"),
        ({"lon": "abc"}, "lon"),
        ({"lon": 100.0, "lat": 30.0}, "lon"),  # outside the service area
        ({"matter": "XX-999"}, "matter"),
        ({"crs": "mars"}, "crs"),
        ({"priority": 7}, "priority"),
        ({"accuracy": "far"}, "accuracy"),
        ({"client_uuid": "not-a-uuid"}, "client_uuid"),
        ({"reported_at": "yesterday"}, "reported_at"),
        ({"description": "长" * 2001}, "description"),
    ],
)
def test_caller_mistakes_answer_400_naming_the_field_and_store_nothing(api, values, field):
    response = api.post(URL, body(**values), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field][0], str)
    assert Report.objects.count() == 0 and OutboxEvent.objects.count() == 0


def test_missing_coordinates_are_named(api):
    response = api.post(URL, {"description": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"lon", "lat"}


def test_gcj02_input_is_converted_and_remembered(api):
    from geodata.coords import from_wgs84

    lon, lat = from_wgs84(121.005, 29.005, "gcj02")
    data = api.post(URL, body(lon=lon, lat=lat, crs="gcj02"), format="json").json()
    assert data["input_crs"] == "gcj02"
    assert data["point"]["coordinates"] == pytest.approx([121.005, 29.005], abs=1e-6)


# --- who may report, and as what ----------------------------------------------------------------


def test_anonymous_is_refused(tiny_county):
    response = APIClient().post(URL, body(), format="json")
    assert response.status_code in (401, 403)
    assert Report.objects.count() == 0


def test_device_keys_cannot_submit_user_reports(tiny_county):
    from gridops.auth import device_key_issue
    from gridops.models import Device

    device = Device.objects.create(code="trk-1", name="车载终端", kind=Device.Kind.TRACKER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_key_issue(device=device)}")
    assert client.post(URL, body(), format="json").status_code == 403
    assert client.get(URL).status_code == 403


def test_session_needs_csrf(tiny_county, citizen):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    refused = client.post(URL, body(), content_type="application/json")
    assert refused.status_code == 403
    client.get(reverse("admin:login"))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(URL, body(), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
    assert accepted.json()["source"] == "citizen"


def test_hotline_source_only_for_dispatchers(tiny_county, dispatcher, citizen):
    refused = _client(citizen).post(URL, body(source="hotline"), format="json")
    assert refused.status_code == 400 and "source" in refused.json()
    ok = _client(dispatcher).post(
        URL, body(source="hotline", reporter_phone="13812341234", reporter_name="王女士"), format="json"
    )
    assert ok.status_code == 201 and ok.json()["source"] == "hotline"
    assert ok.json()["reporter_phone"] == "13812341234"  # a dispatcher sees it


def test_reporter_phone_is_masked_for_users_who_are_not_dispatchers(tiny_county, dispatcher, worker):
    tiny_county.cells[(0, 0)].workers.add(worker)  # the report is in their cell (gridops/scopes.py)
    report_id = (
        _client(dispatcher)
        .post(URL, body(source="hotline", reporter_phone="13812341234"), format="json")
        .json()["id"]
    )
    detail = _client(worker).get(f"{URL}{report_id}/").json()
    assert detail["reporter_phone"] == "138****1234"
    listed = _client(worker).get(URL).json()["results"][0]
    assert listed["reporter_phone"] == "138****1234"
    assert _client(dispatcher).get(f"{URL}{report_id}/").json()["reporter_phone"] == "13812341234"


# --- idempotency --------------------------------------------------------------------------------


def test_retry_with_the_same_client_uuid_returns_the_same_report(api):
    key = str(uuid.uuid4())
    first = api.post(URL, body(client_uuid=key), format="json")
    again = api.post(URL, body(client_uuid=key), format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Report.objects.count() == 1
    assert OutboxEvent.objects.count() == 1


def test_idempotency_key_header_works_too_and_must_agree_with_the_body(api):
    key = str(uuid.uuid4())
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    assert api.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 200
    same = api.post(URL, body(client_uuid=key), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert same.status_code == 200  # the header and the body name the same key
    clash = api.post(URL, body(client_uuid=str(uuid.uuid4())), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert clash.status_code == 400 and "client_uuid" in clash.json()
    assert Report.objects.count() == 1


def test_same_key_different_payload_is_422_and_stores_nothing(api):
    key = str(uuid.uuid4())
    api.post(URL, body(client_uuid=key), format="json")
    response = api.post(URL, body(client_uuid=key, description="另一件事"), format="json")
    assert response.status_code == 422
    assert "client_uuid" in response.json()
    assert Report.objects.count() == 1 and OutboxEvent.objects.count() == 1


def test_keys_are_per_user(tiny_county, worker, citizen):
    key = str(uuid.uuid4())
    a = _client(worker).post(URL, body(client_uuid=key), format="json")
    b = _client(citizen).post(URL, body(client_uuid=key), format="json")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_the_same_key_store_one_report(transactional_db, tiny_county):
    key = f"race-{uuid.uuid4()}"
    barrier = threading.Barrier(2)
    results: list = []

    def submit() -> None:
        try:
            barrier.wait()
            report, created = report_submit(
                data=ReportInput(source="citizen", lon=121.005, lat=29.005, description="同一件事"),
                idempotency_key=key,
            )
            results.append((report.pk, created))
        except Exception as exc:  # surfaced by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, tuple) for r in results), results
    assert len({pk for pk, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, True]
    assert Report.objects.filter(idempotency_key=key).count() == 1
    assert OutboxEvent.objects.filter(type=events.REPORT_CREATED).count() == 1


def test_service_conflict_is_an_idempotency_conflict(tiny_county):
    report_submit(data=ReportInput(source="citizen", lon=121.005, lat=29.005), idempotency_key="k1")
    with pytest.raises(IdempotencyConflict):
        report_submit(data=ReportInput(source="citizen", lon=121.015, lat=29.005), idempotency_key="k1")


# --- bounded work, bounded bodies ---------------------------------------------------------------


@pytest.mark.parametrize("n_photos", [0, 1, 3])
def test_submission_runs_a_bounded_number_of_queries(tiny_county, django_assert_max_num_queries, n_photos):
    """At most 12 whatever the number of photos: key check, matter, geodata revision, savepoint,
    report, photos (one INSERT for all of them), team/township/cell and photo count for the event
    payload, outbox row, release."""
    report_submit(data=ReportInput(source="citizen", lon=121.035, lat=29.035))  # warm the routing index
    photos = [images.upload(f"{i}.jpg", images.jpeg_bytes()) for i in range(n_photos)]
    with django_assert_max_num_queries(12):
        report_submit(
            data=ReportInput(source="citizen", lon=121.005, lat=29.005, matter_code="ZH-001"),
            idempotency_key=str(uuid.uuid4()),
            photos=photos,
        )


REPORT_INSERT = 'WITH row AS (INSERT INTO "gridops_report"'


def test_report_insert_is_prepared_once_and_reused(tiny_county):
    """The report-and-event statement is parsed and planned once per connection, then only
    executed (gridops/services/rows.py): PostgreSQL's own view of this connection says so."""
    before = prepared_runs(REPORT_INSERT)
    for lon in (121.005, 121.015, 121.025):
        report_submit(data=ReportInput(source="citizen", lon=lon, lat=29.005, matter_code="ZH-001"))
    assert runs_since(before, REPORT_INSERT) == [
        3
    ]  # the same shape each time: one statement, run three times
    assert Report.objects.filter(matter__code="ZH-001").count() == 3


def test_report_insert_without_prepared_statements(tiny_county, settings):
    """GRIDOPS_PREPARED_STATEMENTS=0 (a transaction-mode PgBouncer before 1.21): the same rows,
    with no prepared statement run."""
    settings.PREPARED_STATEMENTS = False
    before = prepared_runs(REPORT_INSERT)
    report, created = report_submit(data=ReportInput(source="citizen", lon=121.005, lat=29.005))
    assert created and report.routed
    assert runs_since(before, REPORT_INSERT) == []
    stored = Report.objects.get(pk=report.pk)
    assert (stored.point.x, stored.point.y) == (121.005, 29.005)
    assert OutboxEvent.objects.filter(type=events.REPORT_CREATED, data__id=report.pk).exists()


def test_oversized_json_body_is_413_not_500(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api.post(URL, body(description="x" * 20_000), format="json")
    assert response.status_code == 413
    assert "body" in response.json()
    assert Report.objects.count() == 0


def test_oversized_json_body_without_a_truthful_length_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    import json

    payload = json.dumps(body(description="x" * 20_000)).encode()
    response = api.generic("POST", URL, payload, content_type="application/json", CONTENT_LENGTH="100")
    assert response.status_code in (400, 413)
    assert Report.objects.count() == 0


def test_oversized_multipart_form_fields_are_4xx_not_500(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(URL, {**body(description="x" * 5000)}, format="multipart")
    assert 400 <= response.status_code < 500
    assert isinstance(response.json(), dict)
    assert Report.objects.count() == 0


def test_invalid_json_is_400(api):
    response = api.generic("POST", URL, b"{not json", content_type="application/json")
    assert response.status_code == 400


# --- multipart with photos and the detail -----------------------------------------------------------


def test_multipart_report_with_photos_serves_urls_without_exif(api, settings):
    response = api.post(
        URL,
        {
            **body(),
            "photos": [
                images.upload("a.jpg", images.jpeg_bytes()),
                images.upload("b.png", images.png_bytes()),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    photos = response.json()["photos"]
    assert len(photos) == 2
    assert photos[0]["image"].startswith("http://testserver/media/reports/")
    assert photos[0]["thumbnail"].startswith("http://testserver/media/reports/")
    served = api.get(photos[0]["image"].removeprefix("http://testserver"))
    assert served.status_code == 200
    content = b"".join(served.streaming_content)
    assert content[:2] == b"\xff\xd8" and b"Exif" not in content[:200]
    assert served["Cache-Control"] == "private, max-age=3600" and served["Content-Type"] == "image/jpeg"


def test_photo_files_are_served_only_for_reports_the_caller_may_see(api, django_user_model, settings):
    """gridops/api/media.py; every role against every report: test_scopes_matrix.py."""
    response = api.post(
        URL, {**body(), "photos": [images.upload("a.jpg", images.jpeg_bytes())]}, format="multipart"
    )
    path = response.json()["photos"][0]["thumbnail"].removeprefix("http://testserver")
    assert api.get(path).status_code == 200
    anonymous = APIClient().get(path)  # not signed in: DRF's 403 "not authenticated" (session first)
    assert anonymous.status_code == 403 and "身份认证信息未提供" in anonymous.json()["detail"]
    stranger = _client(_user(django_user_model, "stranger", "grid_worker"))  # no cells, not the reporter
    assert stranger.get(path).status_code == 404
    # Nothing but a stored photo's name is served, whatever lies in MEDIA_ROOT.
    (settings.MEDIA_ROOT / "notes.txt").write_text("not a photo")
    for other in ("/media/notes.txt", "/media/../config/settings.py", "/media/reports/", path + "x"):
        assert api.get(other).status_code == 404, other


def test_bad_photo_over_http_is_400_naming_photos(api):
    response = api.post(
        URL, {**body(), "photos": [images.upload("x.jpg", b"plain text")]}, format="multipart"
    )
    assert response.status_code == 400
    assert "第 1 张照片" in response.json()["photos"][0]
    assert Report.objects.count() == 0


def test_detail_has_timeline_and_404_in_chinese(api):
    report_id = api.post(URL, body(), format="json").json()["id"]
    detail = api.get(f"{URL}{report_id}/").json()
    assert [t["event"] for t in detail["timeline"]] == ["received", "routed"]
    # Every time the API shows is in Asia/Shanghai, the routing time kept as text in UTC included.
    assert all(t["at"].endswith("+08:00") for t in detail["timeline"]), detail["timeline"]
    assert detail["village"]["code"] == "330225001001"
    missing = api.get(f"{URL}999999/")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]


# --- list ---------------------------------------------------------------------------------------


def test_list_filters_and_pagination(tiny_county, worker, citizen, dispatcher):
    # The worker reads through a county-wide dispatcher: a grid worker sees only their own
    # reports and their cells' (gridops/scopes.py).
    c = _client(citizen)
    w = _client(worker)
    w.post(URL, body(), format="json")
    w.post(URL, body(lon=121.05, lat=29.05), format="json")
    c.post(URL, body(lon=121.035, lat=29.035, matter="SC-001"), format="json")

    def ids(client, **params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        return [r["team"]["code"] if r["team"] else None for r in response.json()["results"]]

    assert ids(w) == [None, "zh-1"]  # only their own: the citizen's report is not in their cells
    w = _client(dispatcher)
    assert ids(w) == ["market", None, "zh-1"]  # newest first
    assert ids(w, team="zh-1") == ["zh-1"]
    assert ids(w, township="330225101") == ["market"]
    assert ids(w, routed="false") == [None]
    assert ids(w, status="triage") == [None]
    assert ids(w, source="citizen") == ["market"]
    assert ids(w, matter="SC-001") == ["market"]
    assert ids(_client(worker), mine="1") == [None, "zh-1"]
    assert ids(w, since="2999-01-01T00:00:00+08:00") == []
    page = w.get(URL, {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    bad = w.get(URL, {"status": "nonsense"})
    assert bad.status_code == 400 and "status" in bad.json()
    bad = w.get(URL, {"since": "tomorrow"})
    assert bad.status_code == 400 and "since" in bad.json()


def test_list_needs_sign_in(tiny_county):
    assert APIClient().get(URL).status_code in (401, 403)


# --- dispatcher actions -------------------------------------------------------------------------


REGISTER = {"action": "register"}


def test_registering_writes_an_event_and_is_idempotent(api, dispatcher):
    report_id = api.post(URL, body(), format="json").json()["id"]
    d = _client(dispatcher)
    response = d.post(f"{URL}{report_id}/transition/", REGISTER, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "registered"
    assert response.json()["timeline"][-1]["event"] == "register"
    updated = OutboxEvent.objects.filter(type=events.CASE_UPDATED)
    assert updated.count() == 1
    assert updated.get().data["status"] == "registered"
    assert set(updated.get().streams) == {"county", "township:330225001", "team:zh-1"}
    assert d.post(f"{URL}{report_id}/transition/", REGISTER, format="json").status_code == 200
    assert updated.count() == 1  # a double click writes nothing more


def test_only_dispatchers_act(api):
    report_id = api.post(URL, body(), format="json").json()["id"]
    assert api.post(f"{URL}{report_id}/transition/", REGISTER, format="json").status_code == 403
    assert api.post(f"{URL}{report_id}/assign/", {"team": "zh-2"}, format="json").status_code == 403


def test_triage_report_cannot_be_registered_before_assignment(api, dispatcher):
    report_id = api.post(URL, body(lon=121.05, lat=29.05), format="json").json()["id"]
    response = _client(dispatcher).post(f"{URL}{report_id}/transition/", REGISTER, format="json")
    assert response.status_code == 400 and "status" in response.json()


def test_assigning_a_triage_report_routes_it_keeping_the_reasons(api, dispatcher):
    report_id = api.post(URL, body(lon=121.05, lat=29.05), format="json").json()["id"]
    response = _client(dispatcher).post(
        f"{URL}{report_id}/assign/", {"team": "zh-2", "note": "靠近石浦"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["routed"] is True and data["status"] == "new" and data["triage_queue"] is None
    assert data["team"]["code"] == "zh-2"
    codes = [r["code"] for r in data["reasons"]]
    assert codes == ["outside_grid", "manual_assign"]
    assert "调度员乙" in data["reasons"][-1]["text"] and "靠近石浦" in data["reasons"][-1]["text"]
    event = OutboxEvent.objects.get(type=events.CASE_UPDATED)
    assert set(event.streams) == {"county", "team:zh-2"}


def test_reassignment_tells_the_old_team(api, dispatcher):
    report_id = api.post(URL, body(), format="json").json()["id"]
    d = _client(dispatcher)
    d.post(f"{URL}{report_id}/transition/", REGISTER, format="json")
    data = d.post(f"{URL}{report_id}/assign/", {"team": "zh-2"}, format="json").json()
    assert data["team"]["code"] == "zh-2" and data["status"] == "new"
    assert data["reasons"][-1]["from_team"] == "zh-1"
    event = OutboxEvent.objects.filter(type=events.CASE_UPDATED).latest("id")
    assert {"team:zh-1", "team:zh-2", "township:330225001", "county"} == set(event.streams)


def test_assign_mistakes_are_field_errors(api, dispatcher):
    report_id = api.post(URL, body(), format="json").json()["id"]
    d = _client(dispatcher)
    unknown = d.post(f"{URL}{report_id}/assign/", {"team": "nope"}, format="json")
    assert unknown.status_code == 400 and "team" in unknown.json()
    missing = d.post(f"{URL}{report_id}/assign/", {}, format="json")
    assert missing.status_code == 400 and "team" in missing.json()
    Report.objects.filter(pk=report_id).update(status=Report.Status.CLOSED)
    closed = d.post(f"{URL}{report_id}/assign/", {"team": "zh-2"}, format="json")
    assert closed.status_code == 400 and "status" in closed.json()
    assert not OutboxEvent.objects.filter(type=events.CASE_UPDATED).exists()


def test_hand_written_report_shapes_match_their_declared_fields():
    """The serializers write rows by hand for speed; the declared fields (the OpenAPI schema) must
    name exactly the keys they write."""
    from gridops.api.report_serializers import ReportDetailSerializer, ReportSerializer

    for serializer_class in (ReportSerializer, ReportDetailSerializer):
        declared = list(serializer_class().fields)
        written = inspect_keys(serializer_class)
        assert written == declared, serializer_class.__name__


def inspect_keys(serializer_class) -> list[str]:
    """The keys to_representation writes, read from a report built in memory."""
    from django.contrib.gis.geos import Point
    from django.utils import timezone

    from gridops.models import Report

    report = Report(
        id=1,
        source=Report.Source.CITIZEN,
        point=Point(121.0, 29.0, srid=4326),
        received_at=timezone.now(),
        routing={},
    )
    report._prefetched_objects_cache = {"photos": Report.objects.none(), "case_events": Report.objects.none()}
    return list(serializer_class(context={}).to_representation(report))
