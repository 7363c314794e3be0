"""The command centre in Chromium: the wall map, the case queue, the detail with its reasons and
the dispatcher's actions, live updates, and catching up after a server-side outage.

lat 29.04 ┌──────┬──────┬──────┬──────┐
          │ W    │ W    │ E    │ E    │   W = 丹东街道 (一中队), E = 石浦镇 (二中队)
lat 29.02 ├──────┼──────┼──────┼──────┤   ● 121.005 29.005 (一中队)   ● 121.035 29.005 (二中队)
          │ W    │ W    │ E    │ E    │   ✕ 121.05 29.05 outside every cell → triage
lat 29.00 └──────┴──────┴──────┴──────┘
       121.00                       121.04
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone

from gridops.models import Camera, Device, Report
from gridops.services.reports import ReportInput, report_submit
from tests.frontend.conftest import PNG_1X1, TINY_COUNTY_SERVICE_AREA, login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "test-pass-123"
WALL = {"width": 1920, "height": 1080}


def submit(lon=121.005, lat=29.005, description="占道经营", matter="ZH-001", priority=0) -> Report:
    report, _ = report_submit(
        data=ReportInput(
            source="grid_worker",
            lon=lon,
            lat=lat,
            matter_code=matter,
            description=description,
            priority=priority,
        )
    )
    return report


@pytest.fixture
def county(asgi_server, settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    county = build_tiny_county()
    device = Device.objects.create(code="cam-001", name="球机", kind=Device.Kind.CAMERA)
    Camera.objects.create(
        device=device,
        name="丹东路口",
        location=Point(121.001, 29.001, srid=4326),
        heading=45,
        field_of_view=Polygon(
            ((121.002, 29.002), (121.008, 29.002), (121.008, 29.008), (121.002, 29.002)), srid=4326
        ),
    )
    user = User.objects.create_user("dispatcher", password=PASSWORD, first_name="值班调度")
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    return county


def open_command(page, asgi_server):
    page.set_viewport_size(WALL)
    login(page, asgi_server.url, "dispatcher", PASSWORD, next_path="/command/")
    page.wait_for_selector("#map[data-state='ready']")
    page.wait_for_selector("#live-indicator[data-state='live']")


def wait_row(page, report_id: int, timeout: int = 15_000) -> None:
    """Wait for a report's queue row; on timeout, say what the page's live link was doing."""
    try:
        page.wait_for_selector(f"#queue [data-report-id='{report_id}']", timeout=timeout)
    except Exception as exc:
        state = page.evaluate(
            """() => ({
              link: document.getElementById('live-indicator').dataset.state,
              map: {...document.getElementById('map').dataset},
              queue: document.getElementById('queue').dataset.count,
              sockets: (window.__gridopsSockets || []).map((s) => s.readyState),
            })"""
        )
        raise AssertionError(f"report {report_id} not in the queue; page: {state}") from exc


def queue_ids(page) -> list[int]:
    ids = page.eval_on_selector_all("#queue [data-report-id]", "r => r.map(x => x.dataset.reportId)")
    return [int(i) for i in ids]


def test_anonymous_is_sent_to_sign_in(county, page, asgi_server):
    page.goto(f"{asgi_server.url}/command/")
    assert "/accounts/login/" in page.url and "next=/command/" in page.url


def test_queue_sorted_by_urgency_and_time_left_with_filters(county, page, page_log, asgi_server):
    old = submit(description="早上的")
    Report.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(hours=3))  # overdue
    normal = submit(121.035, 29.005, description="刚才的")
    urgent = submit(121.015, 29.015, description="紧急", priority=1)
    triage = submit(121.05, 29.05, description="网格外")
    food = submit(121.006, 29.006, description="无证", matter="SC-001")
    closed = submit(description="已办结")
    Report.objects.filter(pk=closed.pk).update(status=Report.Status.CLOSED)

    open_command(page, asgi_server)
    page.wait_for_function("document.querySelector('#queue').dataset.count === '5'")
    ids = queue_ids(page)
    # Urgent first; then by deadline: the overdue one, then the others in the order received.
    assert ids == [urgent.pk, old.pk, normal.pk, triage.pk, food.pk]
    assert page.get_attribute(f"#queue [data-report-id='{old.pk}']", "data-overdue") == "true"
    assert "超时" in page.inner_text(f"#queue [data-report-id='{old.pk}'] .queue-left")
    assert "剩" in page.inner_text(f"#queue [data-report-id='{normal.pk}'] .queue-left")
    assert closed.pk not in ids
    screenshot(page, "command-wall")

    # Today's figures: five open (one overdue), one in triage.
    assert page.inner_text("[data-figure='open']") == "5"
    assert page.inner_text("[data-figure='overdue']") == "1"
    assert page.inner_text("[data-figure='triage']") == "1"

    page.select_option("#queue-filters select[name='township']", "330225101")
    page.wait_for_function("document.querySelector('#queue').dataset.count === '1'")
    assert queue_ids(page) == [normal.pk]
    page.select_option("#queue-filters select[name='township']", "")
    page.select_option("#queue-filters select[name='domain']", "market")
    page.wait_for_function("document.querySelector('#queue').dataset.count === '1'")
    assert queue_ids(page) == [food.pk]
    page.select_option("#queue-filters select[name='domain']", "")
    page.select_option("#queue-filters select[name='team']", "zh-2")
    page.wait_for_function("document.querySelector('#queue').dataset.count === '1'")
    assert queue_ids(page) == [normal.pk]

    # A marker opens the detail too (the one in 石浦镇 stands alone at this zoom).
    page.click(f"path[data-report-id='{normal.pk}']")
    page.wait_for_selector(f"#detail[data-report-id='{normal.pk}'][data-status='new']")
    assert page.get_attribute("#queue .is-selected", "data-report-id") == str(normal.pk)
    page.click("#detail-close")
    page.wait_for_selector("#detail", state="hidden")

    # Layers: cameras drawn, layer toggles present, legend lists the statuses.
    assert page.locator(".camera-marker[data-camera-code='cam-001']").count() == 1
    toggles = page.inner_text(".leaflet-control-layers")
    for name in ("乡镇/街道", "村/社区", "网格", "执法片区", "摄像头", "今日上报", "巡查单元", "告警"):
        assert name in toggles
    assert page.locator("#status-legend [data-status='triage']").count() == 1
    assert not page_log.errors, page_log.errors
    assert not page_log.external_requests, page_log.external_requests


def test_new_report_appears_live_and_the_dispatcher_acts_on_it(county, page, page_log, asgi_server):
    open_command(page, asgi_server)
    report = submit(description="现场有人占道摆摊")
    row = f"#queue [data-report-id='{report.pk}']"
    wait_row(page, report.pk)
    page.wait_for_selector(".toast-report")  # a new one draws attention
    page.wait_for_function("document.querySelector(\"[data-figure='reports_today']\").textContent === '1'")

    page.click(row)
    page.wait_for_selector(f"#detail[data-report-id='{report.pk}'][data-status='new']")
    detail = page.inner_text("#detail")
    assert report.number in detail and "综合行政执法一中队" in detail
    reasons = page.eval_on_selector_all("#detail .detail-reasons li", "r => r.map(x => x.dataset.reason)")
    assert reasons and all(reasons), reasons  # every reason has its code
    assert "占道经营" in detail
    # The marker is on the map (opened out of its cluster if need be).
    page.wait_for_selector(f"path[data-report-id='{report.pk}']", state="attached")

    page.click("#detail [data-action='register']")
    page.click("#detail form[data-step='register'] .action-confirm")
    page.wait_for_selector("#detail[data-status='registered']")
    assert Report.objects.get(pk=report.pk).status == Report.Status.REGISTERED
    page.wait_for_selector(f"{row}[data-status='registered']")
    page.wait_for_selector("#detail .detail-timeline [data-event='register']")

    page.select_option("#detail select[name='team']", "zh-2")
    page.fill("#detail input[name='note']", "跨片区支援")
    page.click("#detail [data-action='assign']")
    page.wait_for_selector("#detail .detail-team[data-team-code='zh-2']")
    assert Report.objects.get(pk=report.pk).team.code == "zh-2"
    page.wait_for_selector("#detail .detail-reasons [data-reason='manual_assign']")
    assert "跨片区支援" in page.inner_text("#detail .detail-timeline")
    screenshot(page, "command-detail")
    assert not page_log.errors, page_log.errors


def test_a_refused_action_says_why(county, page, page_log, asgi_server):
    triage = submit(121.05, 29.05, description="网格外")
    open_command(page, asgi_server)
    page.click(f"#queue [data-report-id='{triage.pk}']")
    page.wait_for_selector("#detail[data-status='triage']")
    assert "待分拣" in page.inner_text("#detail .detail-team")
    # A triage report cannot be registered before it has a team: the step is not offered.
    assert not page.query_selector("#detail [data-action='register']")
    # Not registering needs a reason: a page that sends none anyway gets the service's message.
    page.click("#detail [data-action='not_register']")
    page.evaluate(
        "document.querySelector(\"#detail form[data-step='not_register'] textarea\").required = false"
    )
    page.click("#detail form[data-step='not_register'] .action-confirm")
    page.wait_for_selector("#detail .action-message.is-error")
    assert "说明" in page.inner_text("#detail .action-message")
    assert Report.objects.get(pk=triage.pk).status == Report.Status.TRIAGE
    assert not [e for e in page_log.errors if "400" not in e], page_log.errors


def test_catches_up_after_a_server_side_outage(county, page, page_log, asgi_server):
    first = submit(description="第一条")
    open_command(page, asgi_server)
    page.wait_for_selector(f"#queue [data-report-id='{first.pk}']")
    asgi_server.stop()  # the server closes every socket and refuses new ones
    page.wait_for_selector("#live-indicator[data-state='down']")
    missed = [submit(121.015, 29.015, description=f"断线期间 {i}") for i in range(5)]
    asgi_server.start()
    page.wait_for_selector("#live-indicator[data-state='live']", timeout=30_000)
    for report in missed:
        wait_row(page, report.pk, timeout=20_000)
    ids = queue_ids(page)
    assert len(ids) == len(set(ids)) == 6
    # Console errors from the refused reconnects are the browser's, not the page's.
    page_errors = [e for e in page_log.errors if "WebSocket" not in e and "ERR_CONNECTION" not in e]
    assert not page_errors, page_log.errors


def test_english(county, page, page_log, asgi_server):
    open_command(page, asgi_server)
    page.click(".lang-button[value='en']")
    page.wait_for_selector("#live-indicator[data-state='live']")
    assert page.inner_text(".command-title") == "Command centre"
    assert "Open" in page.inner_text("#figures")
    assert not page_log.errors, page_log.errors


def test_an_alert_draws_attention_and_is_acknowledged(county, page, page_log, asgi_server):
    from django.db import transaction

    from gridops.models import Alert
    from gridops.realtime import events
    from gridops.realtime.outbox import outbox_emit

    open_command(page, asgi_server)
    with transaction.atomic():
        alert = Alert.objects.create(
            kind=Alert.Kind.OUT_OF_ZONE,
            message="巡查车 zh-1-car-1 离开片区超过 5 分钟",
            team=county.teams["W"],
            township=county.townships["W"],
            point=Point(121.05, 29.05, srid=4326),
        )
        outbox_emit(
            type=events.ALERT_RAISED, data=events.alert_payload(alert), streams=events.alert_streams(alert)
        )
    page.wait_for_selector(f"#alert-list [data-alert-id='{alert.pk}']")
    page.wait_for_selector(".toast-alert")
    page.wait_for_selector(f".alert-marker[data-alert-id='{alert.pk}']", state="attached")
    page.wait_for_function("document.querySelector(\"[data-figure='open_alerts']\").textContent === '1'")
    page.click(f"#alert-list [data-alert-id='{alert.pk}'] [data-action='acknowledge-alert']")
    page.wait_for_selector(f"#alert-list [data-alert-id='{alert.pk}']", state="detached")
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.ACKNOWLEDGED
    assert page.locator(f".alert-marker[data-alert-id='{alert.pk}']").count() == 0
    page.wait_for_function("document.querySelector(\"[data-figure='open_alerts']\").textContent === '0'")
    assert not page_log.errors, page_log.errors


def test_basemap_from_the_tile_setting(county, page, page_log, asgi_server, settings):
    """No tiles by default (checked above: no external request); with TILE_URL the wall shows that
    basemap, credited, and a switch back to none."""
    settings.TILE_URL = f"{asgi_server.url}/test-tiles/{{z}}/{{x}}/{{y}}.png"
    settings.TILE_ATTRIBUTION = "测试底图"
    tiles = []

    def serve_tile(route):
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG_1X1)

    page.route("**/test-tiles/**", serve_tile)
    open_command(page, asgi_server)
    page.wait_for_selector(".leaflet-tile-loaded")
    assert tiles and all("/test-tiles/" in url for url in tiles)
    assert "测试底图" in page.inner_text(".leaflet-control-attribution")
    assert "无底图" in page.inner_text(".leaflet-control-layers-base")
    assert not page_log.errors, page_log.errors
