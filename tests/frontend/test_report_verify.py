"""The grid worker verifies (核查) the handling of their own reports from the phone page /report/.

A report the worker made is taken round the loop by a dispatcher and an officer of 一中队 (zh-1)
through the service; the phone sees every status live, and once the officer marks it handled
(待核查) the report stands out (待您核查) and the worker checks the handler's note and after-photo
on site: fail with a note (返工, rework 1) → handled again → pass (核查通过). Each verification
records where the phone is (PHONE_FIX).

lat 29.02 ┌──────┬──────┐
          │ W    │ W    │   W = 丹东街道, 一中队 (zh-1)
lat 29.00 └──●───┴──────┘   ● 121.005 29.005: the phone's GPS fix, cell (0, 0)
       121.00       121.02
"""

import pytest
from django.contrib.auth.models import Group, User

from frontend.phone import REPORT_STATIC_FILES
from geodata.models import Officer
from gridops.models import CaseEvent, Report
from gridops.record import record_verify
from gridops.services.cases import Step, case_transition
from gridops.services.reports import ReportInput, report_submit
from tests.data import images
from tests.frontend.conftest import PHONE_FIX, TINY_COUNTY_SERVICE_AREA, grid_worker, screenshot
from tests.frontend.test_report_page import browser_failures

PASSWORD = "test-pass-123"
HERE = pytest.approx((PHONE_FIX["longitude"], PHONE_FIX["latitude"]), abs=1e-6)


def _user(username: str, group: str, **extra) -> User:
    user = User.objects.create_user(username, password=PASSWORD, **extra)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def _crew(county):
    """A dispatcher, and an officer of 一中队 (zh-1) who will be the handler."""
    dispatcher = _user("dispatcher", "dispatcher", first_name="值班调度")
    officer = _user("officer", "officer", first_name="执法队员")
    Officer.objects.create(team=county.teams["W"], user=officer, name="执法队员")
    return dispatcher, officer


def _step(report, action, actor, **kwargs) -> Report:
    return case_transition(report=report, action=action, actor=actor, step=Step(**kwargs))


def _handle(report, officer, note) -> Report:
    photo = images.upload("after.jpg", images.jpeg_bytes(64, 48))
    return _step(report, "handle", officer, note=note, photos=(photo,))


def _row(report) -> str:
    return f"#my-reports [data-report-id='{report.pk}']"


def _to_handled(phone, report, dispatcher, officer, note="已劝离，路面恢复通行") -> Report:
    """register → dispatch → accept → start → handle, each seen live on the phone with its label."""
    for action, actor, status, label in (
        ("register", dispatcher, "registered", "已立案"),
        ("dispatch", dispatcher, "dispatched", "已派遣"),
        ("accept", officer, "accepted", "已签收"),
        ("start", officer, "handling", "处置中"),
    ):
        report = _step(report, action, actor)
        phone.wait_for_selector(f"{_row(report)}[data-status='{status}']")
        assert label in phone.inner_text(f"{_row(report)} .status-badge")
    report = _handle(report, officer, note)
    phone.wait_for_selector(f"{_row(report)}[data-status='handled'][data-verify='pending']")
    return report


def _open_card(phone, report) -> None:
    phone.click(f"{_row(report)} .verify-open")
    phone.wait_for_selector(f"#verify-card[data-report-id='{report.pk}'][data-state='ready']")


# --- the view (no browser) --------------------------------------------------------------------------


@pytest.mark.django_db
def test_page_state_carries_the_loop_statuses_and_the_verification_strings(client, settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    worker = grid_worker(build_tiny_county())
    client.force_login(worker)
    response = client.get("/report/")
    state = response.context["page_state"]
    assert {
        code: state["statuses"][code] for code in ("registered", "dispatched", "handling", "handled")
    } == {
        "registered": "已立案",
        "dispatched": "已派遣",
        "handling": "处置中",
        "handled": "待核查",
    }
    assert set(state["statuses"]) == set(Report.Status.values)
    assert state["i18n"]["verifyBadge"] == "待您核查"
    html = response.content.decode()
    assert 'id="verify-card"' in html and 'id="verify-link"' in html and "onclick" not in html
    # The service worker keeps the new modules too (the offline page must not miss an import).
    assert {"frontend/verify.js", "frontend/dom.js"} <= set(REPORT_STATIC_FILES)


@pytest.mark.django_db
def test_english_page_state_has_english_statuses(client, settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    worker = grid_worker(build_tiny_county())
    client.force_login(worker)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    state = client.get("/report/").context["page_state"]
    # Labels come from Report.Status, translated for the request.
    assert state["statuses"]["new"] == "Awaiting acceptance"


# --- the browser ------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_worker_fails_then_passes_the_verification(worker_page, phone, page_log, settings, tmp_path):
    county, worker = worker_page
    settings.MEDIA_ROOT = tmp_path / "media"
    dispatcher, officer = _crew(county)
    phone.wait_for_selector("#live-status[data-state='live']")
    scene = tmp_path / "scene.jpg"
    scene.write_bytes(images.jpeg_bytes(64, 48))
    phone.set_input_files("#photo-input", str(scene))
    phone.wait_for_selector(".photo-preview img")
    phone.fill("#description", "人行道占道摆摊")
    phone.click("#submit-button")
    phone.wait_for_selector("#send-result[data-state='sent']")
    report = Report.objects.get(description="人行道占道摆摊")
    # An older report of the worker's, still new: the one waiting for verification goes above it.
    older, _ = report_submit(
        data=ReportInput(source="grid_worker", lon=121.006, lat=29.006, description="另一件"), reporter=worker
    )
    phone.wait_for_selector(f"{_row(older)}[data-status='new']")
    assert phone.get_attribute("#verify-link", "hidden") is not None  # nothing to verify yet

    report = _to_handled(phone, report, dispatcher, officer)
    # It stands out: first in the list, 待您核查, counted in the header and the list title.
    first = phone.eval_on_selector("#my-reports", "ol => ol.firstElementChild.dataset.reportId")
    assert first == str(report.pk)
    assert "待您核查" in phone.inner_text(_row(report))
    assert phone.get_attribute("#verify-count", "data-count") == "1"
    assert phone.get_attribute("#verify-link", "hidden") is None
    assert phone.inner_text("#mine [data-verify-count]") == "1"
    assert phone.query_selector(f"{_row(older)} .verify-open") is None
    phone.evaluate("window.scrollTo(0, 0)")
    assert phone.locator("#verify-link").is_visible()  # the header says so wherever one is
    screenshot(phone, "report-phone-verify-header")
    phone.eval_on_selector("#mine", "el => el.scrollIntoView({block: 'start'})")
    screenshot(phone, "report-phone-verify-list")

    _open_card(phone, report)
    card = "#verify-card"
    assert phone.inner_text(f"{card} [data-field='handle-note']") == "已劝离，路面恢复通行"
    assert phone.inner_text(f"{card} [data-field='handler']") == "执法队员"
    # What the worker saw (their photo) beside what the handler left (the after-photo).
    assert phone.get_attribute(f"{card} .verify-photos.is-before", "data-count") == "1"
    assert phone.get_attribute(f"{card} .verify-photos.is-after", "data-count") == "1"
    before = phone.get_attribute(f"{card} .is-before a", "href")
    after = phone.get_attribute(f"{card} .is-after a", "href")
    assert before != after
    phone.wait_for_function(
        "document.querySelector('#verify-card .is-after img').complete"
        " && document.querySelector('#verify-card .is-after img').naturalWidth > 0"
    )
    offered = phone.eval_on_selector_all(f"{card} .verify-action", "bs => bs.map(b => b.dataset.action)")
    assert offered == ["verify_pass", "verify_fail"]
    assert "核查通过" in phone.inner_text(f"{card} [data-action='verify_pass']")
    # Big enough for a thumb.
    for action in offered:
        assert phone.locator(f"{card} [data-action='{action}']").bounding_box()["height"] >= 44
    phone.eval_on_selector(f"{card} .verify-handled", "el => el.scrollIntoView({block: 'start'})")
    screenshot(phone, "report-phone-verify")

    # Fail needs a note: said on the page, nothing sent.
    phone.click(f"{card} [data-action='verify_fail']")
    phone.wait_for_selector(f"{card} .verify-message[data-kind='error']")
    assert "须填写原因" in phone.inner_text(f"{card} .verify-message")
    assert not CaseEvent.objects.filter(report=report, action="verify_fail").exists()

    phone.fill("#verify-note", "路口仍有两处摊点")
    phone.click(f"{card} [data-action='verify_fail']")
    phone.wait_for_selector(f"{card}[data-state='done'][data-result='verify_fail']")
    assert "处置中" in phone.inner_text(f"{card} .verify-message")
    phone.wait_for_selector(f"{_row(report)}[data-status='handling']")
    assert "返工 1 次" in phone.inner_text(_row(report))
    assert phone.get_attribute("#verify-count", "data-count") == "0"
    report.refresh_from_db()
    assert report.status == Report.Status.HANDLING and report.rework_count == 1
    failed = CaseEvent.objects.get(report=report, action="verify_fail")
    assert failed.actor == worker and failed.note == "路口仍有两处摊点"
    assert failed.point.coords == HERE

    # The officer goes back; the phone hears it and offers the verification again.
    report = _handle(report, officer, "两处摊点已清理")
    phone.wait_for_selector(f"{_row(report)}[data-status='handled'][data-verify='pending']")
    assert phone.get_attribute("#verify-count", "data-count") == "1"
    _open_card(phone, report)
    assert phone.inner_text(f"{card} [data-field='handle-note']") == "两处摊点已清理"
    assert "已返工 1 次" in phone.inner_text(card)
    photo = tmp_path / "check.jpg"
    photo.write_bytes(images.jpeg_bytes(64, 48))
    phone.set_input_files("#verify-photo", str(photo))
    phone.wait_for_selector(f"{card} .verify-photo-chosen[data-count='1']")
    phone.click(f"{card} [data-action='verify_pass']")
    phone.wait_for_selector(f"{card}[data-state='done'][data-result='verify_pass']")
    phone.wait_for_selector(f"{_row(report)}[data-status='verified']")
    assert "核查通过" in phone.inner_text(f"{_row(report)} .status-badge")
    assert phone.query_selector(f"{_row(report)} .verify-open") is None

    report.refresh_from_db()
    assert report.status == Report.Status.VERIFIED and report.rework_count == 1
    passed = CaseEvent.objects.get(report=report, action="verify_pass")
    assert passed.actor == worker and passed.point.coords == HERE
    assert passed.photos.count() == 1
    assert [e.action for e in report.case_events.order_by("seq")][-3:] == [
        "verify_fail",
        "handle",
        "verify_pass",
    ]
    assert record_verify(reports=[report]) == (1, [])
    # Listed again (a reload): the row still says it was reworked once.
    phone.reload()
    phone.wait_for_selector(f"{_row(report)}[data-status='verified']")
    assert "返工 1 次" in phone.inner_text(_row(report))
    assert page_log.errors == []
    assert page_log.external_requests == []


@pytest.mark.browser
@pytest.mark.slow
def test_someone_elses_verification_reaches_the_open_card(worker_page, phone, page_log, settings, tmp_path):
    county, worker = worker_page
    settings.MEDIA_ROOT = tmp_path / "media"
    dispatcher, officer = _crew(county)
    phone.wait_for_selector("#live-status[data-state='live']")
    report, _ = report_submit(
        data=ReportInput(source="grid_worker", lon=121.005, lat=29.005, description="垃圾堆放"),
        reporter=worker,
    )
    phone.wait_for_selector(f"{_row(report)}[data-status='new']")
    report = _to_handled(phone, report, dispatcher, officer)
    _open_card(phone, report)
    phone.fill("#verify-note", "正在写的意见")

    _step(report, "verify_pass", dispatcher, lon=121.0051, lat=29.0051)  # the dispatcher was quicker
    phone.wait_for_selector("#verify-card[data-state='stale']")
    assert "核查通过" in phone.inner_text("#verify-card .verify-message")
    assert phone.query_selector("#verify-card .verify-action") is None
    phone.wait_for_selector(f"{_row(report)}[data-status='verified']")
    assert phone.get_attribute("#verify-count", "data-count") == "0"
    assert not CaseEvent.objects.filter(report=report, actor=worker).exists()
    assert page_log.errors == []


@pytest.mark.browser
@pytest.mark.slow
def test_refused_verification_shows_the_api_message(worker_page, phone, page_log, settings, tmp_path):
    """The case is suspended (挂账) between the tap and the server: the API's 400 is shown."""
    county, worker = worker_page
    settings.MEDIA_ROOT = tmp_path / "media"
    dispatcher, officer = _crew(county)
    supervisor = _user("supervisor", "supervisor")
    phone.wait_for_selector("#live-status[data-state='live']")
    report, _ = report_submit(
        data=ReportInput(source="grid_worker", lon=121.005, lat=29.005, description="违规广告牌"),
        reporter=worker,
    )
    phone.wait_for_selector(f"{_row(report)}[data-status='new']")
    report = _to_handled(phone, report, dispatcher, officer)
    _open_card(phone, report)

    def suspend_first(route):
        _step(report, "suspend", supervisor, note="待上级研究")
        route.continue_()

    phone.route(f"**/api/v1/reports/{report.pk}/transition/", suspend_first)
    phone.click("#verify-card [data-action='verify_pass']")
    phone.wait_for_selector("#verify-card .verify-message[data-kind='error']")
    message = phone.inner_text("#verify-card .verify-message")
    assert "未能核查" in message and "挂账" in message, message
    report.refresh_from_db()
    assert report.status == Report.Status.SUSPENDED
    assert not CaseEvent.objects.filter(report=report, action="verify_pass").exists()
    phone.wait_for_selector(f"{_row(report)}[data-status='suspended']")
    assert browser_failures(page_log.errors) == []


@pytest.mark.browser
@pytest.mark.slow
def test_no_location_no_verification(worker_page, phone, page_log, settings, tmp_path):
    county, worker = worker_page
    settings.MEDIA_ROOT = tmp_path / "media"
    dispatcher, officer = _crew(county)
    phone.wait_for_selector("#live-status[data-state='live']")
    report, _ = report_submit(
        data=ReportInput(source="grid_worker", lon=121.005, lat=29.005, description="井盖缺失"),
        reporter=worker,
    )
    phone.wait_for_selector(f"{_row(report)}[data-status='new']")
    report = _to_handled(phone, report, dispatcher, officer)
    _open_card(phone, report)
    phone.context.clear_permissions()  # the worker turned location off
    phone.click("#verify-card [data-action='verify_pass']")
    phone.wait_for_selector("#verify-card .verify-message[data-kind='error']")
    assert "无法获取您的位置" in phone.inner_text("#verify-card .verify-message")
    assert phone.get_attribute("#verify-card", "data-state") == "ready"
    report.refresh_from_db()
    assert report.status == Report.Status.HANDLED
    assert not CaseEvent.objects.filter(report=report, action__startswith="verify").exists()
    assert page_log.errors == []


@pytest.mark.browser
@pytest.mark.slow
def test_another_workers_report_never_offers_verification(
    worker_page, phone, page_log, settings, tmp_path, asgi_server
):
    county, worker = worker_page
    settings.MEDIA_ROOT = tmp_path / "media"
    dispatcher, officer = _crew(county)
    neighbour = grid_worker(county, "neighbour")
    phone.wait_for_selector("#live-status[data-state='live']")
    theirs, _ = report_submit(
        data=ReportInput(source="grid_worker", lon=121.005, lat=29.005, description="邻居的上报"),
        reporter=neighbour,
    )
    for action, actor in (
        ("register", dispatcher),
        ("dispatch", dispatcher),
        ("accept", officer),
        ("start", officer),
    ):
        theirs = _step(theirs, action, actor)
    theirs = _handle(theirs, officer, "已处理")
    # A report of the worker's own made after it: once that one is listed, the neighbour's events
    # (same township stream) have reached the page too, and were left out.
    mine, _ = report_submit(
        data=ReportInput(source="grid_worker", lon=121.005, lat=29.005, description="我的"), reporter=worker
    )
    phone.wait_for_selector(f"{_row(mine)}[data-status='new']")
    assert phone.query_selector(_row(theirs)) is None
    assert phone.query_selector("#my-reports .verify-open") is None
    assert phone.get_attribute("#verify-count", "data-count") == "0"

    # Nor does the API offer it to this worker, nor take it.
    detail = phone.request.get(f"{asgi_server.url}/api/v1/reports/{theirs.pk}/").json()
    assert detail["status"] == "handled"
    assert not {a["action"] for a in detail["case"]["allowed_actions"]} & {"verify_pass", "verify_fail"}
    csrf = next(c["value"] for c in phone.context.cookies() if c["name"] == settings.CSRF_COOKIE_NAME)
    refused = phone.request.post(
        f"{asgi_server.url}/api/v1/reports/{theirs.pk}/transition/",
        data={"action": "verify_pass", "lon": "121.005", "lat": "29.005"},
        headers={"X-CSRFToken": csrf, "Referer": phone.url},
    )
    assert refused.status == 403 and "action" in refused.json()
    theirs.refresh_from_db()
    assert theirs.status == Report.Status.HANDLED
    assert page_log.errors == []
