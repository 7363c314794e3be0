"""The grid worker's phone page /report/ in real Chromium on a phone-sized, geolocated context.

lat 29.04 ┌──────┬──────┬──────┬──────┐
          │ W    │ W    │ E    │ E    │   W = 丹东街道 (一中队), E = 石浦镇 (二中队)
lat 29.02 ├──────┼──────┼──────┼──────┤
          │ W    │ W    │ E    │ E    │   ● 121.005 29.005: the phone's GPS fix (一中队)
lat 29.00 └──●───┴──────┴──────┴──────┘
       121.00                       121.04
"""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from PIL import Image

from frontend.phone import frequent_matter_codes
from gridops.models import Report
from gridops.services.cases import case_transition
from gridops.services.reports import ReportInput, report_submit
from tests.frontend.conftest import TINY_COUNTY_SERVICE_AREA, grid_worker, screenshot

PASSWORD = "test-pass-123"


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


# --- the view (no browser) --------------------------------------------------------------------------


@pytest.mark.django_db
def test_report_page_requires_sign_in(client):
    response = client.get("/report/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/report/")


@pytest.mark.django_db
def test_frequent_matters_are_the_users_own_top_matters(settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    county = build_tiny_county()
    worker = grid_worker(county)
    other = grid_worker(county, "other")

    def submit(user, code, n, days_ago=0):
        for _ in range(n):
            report, _ = report_submit(
                data=ReportInput(source="grid_worker", lon=121.005, lat=29.005, matter_code=code),
                reporter=user,
            )
            if days_ago:
                Report.objects.filter(pk=report.pk).update(
                    received_at=timezone.now() - timedelta(days=days_ago)
                )

    submit(worker, "SC-001", 2)
    submit(worker, "ZH-001", 3)
    submit(worker, "YY-001", 5, days_ago=120)  # too old
    submit(other, "SC-101", 9)  # someone else's
    assert frequent_matter_codes(user=worker) == ["ZH-001", "SC-001"]


@pytest.mark.django_db
def test_page_state_for_a_grid_worker(client, settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    county = build_tiny_county()
    worker = grid_worker(county)
    client.force_login(worker)
    response = client.get("/report/")
    assert response.status_code == 200
    state = response.context["page_state"]
    assert state["user"]["id"] == worker.pk
    assert state["live"]["stream"] == "township:330225001"
    assert state["api"]["reports"] == "/api/v1/reports/"
    assert 'id="report-state"' in response.content.decode()
    assert "onclick" not in response.content.decode()


# --- the browser ------------------------------------------------------------------------------------


def choose_vending(page):
    page.fill("#matter-search", "占道")
    page.click(".matter-option[data-code='ZH-001']")
    page.wait_for_selector("#route-box[data-state='routed']")


def browser_failures(errors):
    """Console errors other than Chromium's own notes of failed loads (offline, 4xx on purpose)."""
    noise = ("Failed to load resource", "ERR_INTERNET_DISCONNECTED", "WebSocket connection")
    return [e for e in errors if not any(n in e for n in noise)]


@pytest.mark.browser
@pytest.mark.slow
def test_locate_route_send_with_photo(worker_page, phone, page_log, tmp_path):
    county, worker = worker_page
    assert "±12" in phone.inner_text("#geo-status")
    assert "综合行政执法一中队" in phone.inner_text("#route-box")
    assert county.cells[(0, 0)].name in phone.inner_text("#route-box")
    # The answer follows the matter: food licensing is the county market team's, everywhere.
    phone.fill("#matter-search", "SC-001")
    phone.click(".matter-option[data-code='SC-001']")
    phone.wait_for_selector("#route-box [data-team-code='market']")
    choose_vending(phone)
    phone.wait_for_selector("#route-box [data-team-code='zh-1']")
    assert phone.get_attribute("#matter-chosen", "data-code") == "ZH-001"
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, "report-phone")

    photo = tmp_path / "scene.jpg"
    photo.write_bytes(jpeg_bytes())
    phone.set_input_files("#photo-input", str(photo))
    phone.wait_for_selector(".photo-preview img")
    phone.fill("#description", "人行道上摆摊")
    phone.click("#submit-button")
    phone.wait_for_selector("#send-result[data-state='sent']")
    result = phone.inner_text("#send-result")
    assert "已发送至综合行政执法一中队" in result

    report = Report.objects.get(description="人行道上摆摊")
    assert report.reporter == worker and report.matter.code == "ZH-001"
    assert report.photos.count() == 1
    assert report.accuracy == 12
    assert report.routing["reasons"][0]["text"] in result
    phone.wait_for_selector(f"#my-reports [data-report-id='{report.pk}'][data-status='new']")
    assert phone.inner_text("#outbox-count") == "0"
    screenshot(phone, "report-phone-sent")
    assert page_log.errors == []
    assert page_log.external_requests == []


@pytest.mark.browser
@pytest.mark.slow
def test_offline_reports_arrive_once(worker_page, phone, page_log):
    phone.context.set_offline(True)
    for text in ("离线上报一", "离线上报二"):
        phone.fill("#description", text)
        phone.click("#submit-button")
    phone.wait_for_function("document.querySelectorAll('#outbox-list [data-state=queued]').length === 2")
    assert phone.inner_text("#outbox-count") == "2"
    assert not Report.objects.exists()
    phone.eval_on_selector("#outbox", "el => el.scrollIntoView()")
    screenshot(phone, "report-phone-queue")

    phone.context.set_offline(False)
    phone.wait_for_selector("#outbox-count[data-count='0']", timeout=20_000)
    for text in ("离线上报一", "离线上报二"):
        assert Report.objects.filter(description=text).count() == 1
    assert Report.objects.count() == 2
    for report in Report.objects.all():
        phone.wait_for_selector(f"#my-reports [data-report-id='{report.pk}']")
    assert browser_failures(page_log.errors) == []
    assert page_log.external_requests == []


@pytest.mark.browser
@pytest.mark.slow
def test_lost_answer_is_retried_without_a_duplicate(worker_page, phone, page_log):
    posts = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.post_data_json.get("client_uuid"))
        if len(posts) == 1:
            route.fetch()  # reaches the server, which commits the report
            route.abort("connectionreset")  # …but the phone never hears back
        else:
            route.continue_()

    phone.route("**/api/v1/reports/", lose_first_answer)
    phone.fill("#description", "回执丢失")
    phone.click("#submit-button")
    phone.wait_for_selector("#send-result[data-state='sent']", timeout=20_000)
    assert len(posts) == 2 and posts[0] == posts[1]
    assert Report.objects.filter(description="回执丢失").count() == 1
    assert phone.inner_text("#outbox-count") == "0"
    assert "综合行政执法一中队" in phone.inner_text("#send-result")


@pytest.mark.browser
@pytest.mark.slow
def test_refused_report_is_kept_as_failed_and_deletable(worker_page, phone, page_log, settings):
    # The place was routed; then the service area moves away from it: the server answers 400.
    settings.SERVICE_AREA_BBOX = (121.1, 29.1, 121.2, 29.2)
    phone.fill("#description", "服务区外")
    phone.click("#submit-button")
    item = phone.wait_for_selector("#outbox-list [data-state='failed']")
    message = item.query_selector(".outbox-error").inner_text()
    assert "服务区" in message, message
    assert phone.inner_text("#outbox-count") == "1"
    assert not Report.objects.exists()
    item.query_selector("button[data-action='delete']").click()
    phone.wait_for_selector("#outbox-count[data-count='0']")
    assert phone.query_selector("#outbox-list [data-client-uuid]") is None
    assert browser_failures(page_log.errors) == []


@pytest.mark.browser
@pytest.mark.slow
def test_my_reports_update_live(worker_page, phone, page_log):
    _county, worker = worker_page
    phone.wait_for_selector("#live-status[data-state='live']")
    phone.fill("#description", "等待受理")
    phone.click("#submit-button")
    phone.wait_for_selector("#send-result[data-state='sent']")
    report = Report.objects.get(description="等待受理")
    phone.wait_for_selector(f"[data-report-id='{report.pk}'][data-status='new']")

    dispatcher = User.objects.create_user("dispatcher", password=PASSWORD)
    dispatcher.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    case_transition(report=report, action="register", actor=dispatcher)
    phone.wait_for_selector(f"[data-report-id='{report.pk}'][data-status='registered']")
    assert "已立案" in phone.inner_text(f"[data-report-id='{report.pk}']")

    # A report of this worker made elsewhere (another phone) appears too: needs reporter_id.
    other, _ = report_submit(
        data=ReportInput(
            source="grid_worker", lon=121.006, lat=29.006, matter_code="ZH-001", description="另一台手机"
        ),
        reporter=worker,
    )
    phone.wait_for_selector(f"[data-report-id='{other.pk}']")
    assert page_log.errors == []


@pytest.mark.browser
@pytest.mark.slow
def test_english_switch(worker_page, phone, page_log):
    phone.click(".lang-button[value='en']")
    phone.wait_for_selector("html[lang='en']")
    phone.wait_for_selector("#route-box[data-state='routed']")
    # Strings already in locale/ are English at once; the page's new ones once the lead adds them.
    assert "Grid cell" in phone.inner_text("#route-box")
    assert "Location" in phone.inner_text("#place-title")
    screenshot(phone, "report-phone-en")
    assert page_log.errors == []
    assert page_log.external_requests == []


@pytest.mark.browser
@pytest.mark.slow
def test_busy_server_keeps_the_report_queued_then_sends_it(worker_page, phone, page_log):
    answers = []

    def busy_once(route):
        if route.request.method != "POST":
            route.continue_()
            return
        answers.append(route.request.url)
        if len(answers) == 1:
            route.fulfill(status=503, content_type="application/json", body='{"detail": "busy"}')
        else:
            route.continue_()

    phone.route("**/api/v1/reports/", busy_once)
    phone.fill("#description", "服务器忙")
    phone.click("#submit-button")
    phone.wait_for_selector("#outbox-list [data-state='queued']")
    phone.wait_for_selector("#send-result[data-state='sent']", timeout=20_000)
    assert len(answers) == 2
    assert Report.objects.filter(description="服务器忙").count() == 1
    assert browser_failures(page_log.errors) == []


@pytest.mark.browser
@pytest.mark.slow
def test_client_uuid_without_crypto_random_uuid(worker_page, phone):
    """Older phones (and plain-http pages) have no crypto.randomUUID: getRandomValues makes a v4."""
    uuids = phone.evaluate(
        """async () => {
            const { newClientUuid } = await import("/static/frontend/outbox.js");
            crypto.randomUUID = undefined;
            return [newClientUuid(), newClientUuid()];
        }"""
    )
    pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    assert all(re.match(pattern, u) for u in uuids) and uuids[0] != uuids[1]


@pytest.mark.browser
@pytest.mark.slow
def test_a_tap_on_the_map_chooses_the_place(worker_page, phone, page_log):
    """The GPS puts the worker in 丹东街道; a tap in 石浦镇 (east) asks for that place instead."""
    phone.wait_for_function("Number(document.getElementById('report-map').dataset.cells) > 0")
    phone.evaluate("window.__gridopsMap.setView([29.015, 121.025], 15, { animate: false })")
    box = phone.locator("#report-map").bounding_box()
    phone.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    phone.wait_for_selector("#geo-status[data-state='tapped']")
    phone.wait_for_selector("#route-box [data-team-code='zh-2']")
    assert "石浦镇" in phone.inner_text("#route-box")
    place = phone.get_attribute("#report-map", "data-place")
    lon, lat = (float(v) for v in place.split(","))
    assert abs(lon - 121.025) < 0.001 and abs(lat - 29.015) < 0.001
    phone.fill("#description", "点选位置")
    phone.click("#submit-button")
    phone.wait_for_selector("#send-result[data-state='sent']")
    assert "综合行政执法二中队" in phone.inner_text("#send-result")
    assert Report.objects.get(description="点选位置").team.code == "zh-2"
    assert page_log.errors == []
