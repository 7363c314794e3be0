"""One case round the closed loop in Chromium, every step taken by the person whose step it is, on
their own page: the grid worker reports it from the phone (/report/) → the dispatcher registers it
and dispatches it to a unit on the wall (/command/) → the officer accepts, arrives and marks it
handled with an after-photo on the field page (/field/) → the grid worker verifies it on site from
the phone (its location recorded) → the dispatcher closes it. The record is intact, printable, and
the supervisor's dashboard counts the case.

lat 29.02 ┌──────┬──────┐
          │ W    │ W    │   ● 121.005 29.005: cell (0,0), 丹东街道, 一中队 (zh-1)
lat 29.00 └──────┴──────┘
       121.00       121.02
"""

import pytest
from django.contrib.auth.models import Group, User

from geodata.models import Officer
from gridops.models import Report
from gridops.record import record_verify
from tests.data import images
from tests.frontend.conftest import (
    PHONE_FIX,
    TINY_COUNTY_SERVICE_AREA,
    grid_worker,
    logged_page,
    login,
    screenshot,
)
from tests.gridops.units_factory import tracked_unit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "test-pass-123"
SITE = {"longitude": 121.0052, "latitude": 29.0051, "accuracy": 8}


def _user(username, group, **extra):
    user = User.objects.create_user(username, password=PASSWORD, **extra)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def county(asgi_server, settings, tmp_path):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    settings.MEDIA_ROOT = tmp_path / "media"
    county = build_tiny_county()
    _user("dispatcher", "dispatcher", first_name="值班调度")
    _user("supervisor", "supervisor", first_name="督查员")
    officer = _user("officer", "officer", first_name="执法队员")
    Officer.objects.create(team=county.teams["W"], user=officer, name="执法队员")
    tracked_unit(county.teams["W"], code="zh-1-car-1", name="一中队巡查车")
    return county


def open_case(browser, page_log, asgi_server, username, report_id):
    page = logged_page(
        browser,
        page_log,
        viewport={"width": 1600, "height": 1000},
        geolocation=SITE,
        permissions=["geolocation"],
    )
    login(page, asgi_server.url, username, PASSWORD, next_path="/command/")
    page.wait_for_selector("#live-indicator[data-state='live']")
    page.click(f"#queue [data-report-id='{report_id}']")
    page.wait_for_selector(f"#detail[data-report-id='{report_id}'] .detail-number")
    return page


def take(page, action, *, status, note=None, fill=None):
    page.click(f"#detail [data-action='{action}']")
    form = f"#detail form[data-step='{action}']"
    page.wait_for_selector(form)
    for selector, value in (fill or {}).items():
        field = f"{form} {selector}"
        if page.eval_on_selector(field, "e => e.tagName") == "SELECT":
            page.select_option(field, value)
        else:
            page.fill(field, value)
    if note is not None:
        page.fill(f"{form} textarea[name='note']", note)
    page.click(f"{form} .action-confirm")
    page.wait_for_selector(f"#detail[data-status='{status}']")


def offered(page) -> set[str]:
    return set(page.eval_on_selector_all("#detail .action-step", "bs => bs.map(b => b.dataset.action)"))


def test_one_case_round_the_whole_loop(county, browser, page_log, asgi_server, tmp_path):
    # The grid worker reports it from the phone page, here at the cell (0, 0).
    worker = grid_worker(county)
    phone = logged_page(
        browser,
        page_log,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation=PHONE_FIX,
        permissions=["geolocation"],
    )
    login(phone, asgi_server.url, "worker", "test-pass-123", next_path="/report/")
    phone.wait_for_selector("#route-box[data-state='routed']")
    phone.click(".matter-option[data-code='ZH-001']")
    phone.fill("#description", "占道摆摊")
    phone.click("#submit-button")
    phone.wait_for_selector("#send-result[data-state='sent']")
    report = Report.objects.get(description="占道摆摊")
    assert report.reporter == worker

    desk = open_case(browser, page_log, asgi_server, "dispatcher", report.pk)
    assert offered(desk) == {"register", "not_register"}
    take(desk, "register", status="registered")
    # The dispatch form lists the team's units with the reasons of the one picked (this one has no fix yet).
    desk.click("#detail [data-action='dispatch']")
    desk.select_option("#detail form[data-step='dispatch'] select[name='unit']", "zh-1-car-1")
    desk.wait_for_selector("#detail .recommend-reasons li")
    assert "没有定位" in desk.inner_text("#detail .recommend-reasons")
    desk.fill("#detail form[data-step='dispatch'] textarea[name='note']", "就近派遣")
    desk.click("#detail form[data-step='dispatch'] .action-confirm")
    desk.wait_for_selector("#detail[data-status='dispatched']")
    assert "一中队巡查车" in desk.inner_text("#detail .detail-facts")
    assert "accept" not in offered(desk)  # the dispatcher does not accept for the officer

    # The officer gets it on the field page and works it there.
    field = logged_page(
        browser,
        page_log,
        viewport={"width": 390, "height": 844},
        geolocation=SITE,
        permissions=["geolocation"],
    )
    login(field, asgi_server.url, "officer", PASSWORD, next_path="/field/")
    item = f".case-list[data-list='waiting'] [data-report-id='{report.pk}']"
    field.wait_for_selector(item)
    field.click(f"{item} .case-open")
    field.click("#case-sheet[data-status='dispatched'] [data-action='accept']")
    field.click("#case-sheet[data-status='accepted'] [data-action='start']")
    field.click("#case-sheet[data-status='handling'] [data-action='handle']")
    form = "#case-sheet form[data-step='handle']"
    photo = tmp_path / "after.jpg"
    photo.write_bytes(images.jpeg_bytes(64, 48))
    field.set_input_files(f"{form} input[type=file]", str(photo))
    field.wait_for_selector(f"{form} .photo-preview img")
    field.fill(f"{form} textarea[name='note']", "已劝离，路面恢复")
    field.click(f"{form} .step-confirm")
    field.wait_for_selector("#case-sheet[data-status='handled']")

    # The grid worker who reported it verifies it on site, from the phone (nobody verifies their own work).
    row = f"#my-reports [data-report-id='{report.pk}']"
    phone.wait_for_selector(f"{row}[data-status='handled'] .verify-open")
    phone.click(f"{row} .verify-open")
    phone.wait_for_selector(f"#verify-card[data-report-id='{report.pk}'][data-state='ready']")
    assert "已劝离" in phone.inner_text("#verify-card")
    phone.click("#verify-card [data-action='verify_pass']")
    phone.wait_for_selector(f"{row}[data-status='verified']")

    desk.wait_for_selector("#detail[data-status='verified']")  # the live update reached the wall
    take(desk, "close", status="closed")
    desk.wait_for_selector(f"#queue [data-report-id='{report.pk}']", state="detached")  # left the queue
    phone.wait_for_selector(f"{row}[data-status='closed']")

    report = Report.objects.get(pk=report.pk)
    assert report.status == Report.Status.CLOSED
    steps = list(report.case_events.order_by("seq"))
    assert [s.action for s in steps] == [
        "register",
        "dispatch",
        "accept",
        "start",
        "handle",
        "verify_pass",
        "close",
    ]
    assert [s.actor.username for s in steps] == [
        "dispatcher",
        "dispatcher",
        "officer",
        "officer",
        "officer",
        "worker",
        "dispatcher",
    ]
    assert steps[3].point.coords == pytest.approx((SITE["longitude"], SITE["latitude"]))  # arrival
    assert steps[5].point.coords == pytest.approx(
        (PHONE_FIX["longitude"], PHONE_FIX["latitude"])
    )  # verification
    assert steps[4].photos.count() == 1
    assert record_verify(reports=[report]) == (1, [])

    # The printable record, opened from the detail's link.
    with desk.context.expect_page() as opened:
        desk.click("#detail .record-link")
    printable = opened.value
    printable.wait_for_selector(".record-chain[data-chain='intact']")
    assert len(printable.query_selector_all(".record-steps tbody tr")) == 7
    screenshot(printable, "case-record")
    printable.close()

    # The supervisor's dashboard counts it: registered and closed today, on time, by the township team.
    boss = logged_page(browser, page_log, viewport={"width": 1600, "height": 1000})
    login(boss, asgi_server.url, "supervisor", PASSWORD, next_path="/dashboard/")
    boss.wait_for_selector("#dashboard[data-state='ready']")
    assert boss.locator(".count[data-count='closed'] .count-value").inner_text() == "1"
    assert boss.locator(".card[data-indicator='closure_rate'] .card-fraction").inner_text() == "1 / 1"
    assert boss.locator(".card[data-indicator='township_share'] .card-fraction").inner_text() == "1 / 1"
    screenshot(boss, "case-loop-dashboard")
    for page in (phone, desk, field, boss):
        page.context.close()
    assert not page_log.errors, page_log.errors
