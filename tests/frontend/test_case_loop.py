"""One case round the closed loop in Chromium, every step taken on the command centre's detail by
the person whose step it is: a grid worker's report → the dispatcher registers and dispatches it
to a unit → the officer accepts, arrives and marks it handled with an after-photo → a supervisor
verifies it on site (the browser's location is recorded) → the dispatcher closes it. The record
is intact and each person saw only their own steps.

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
from gridops.services.reports import ReportInput, report_submit
from tests.data import images
from tests.frontend.conftest import TINY_COUNTY_SERVICE_AREA, logged_page, login, screenshot
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
    report, _ = report_submit(
        data=ReportInput(
            source="grid_worker", lon=121.005, lat=29.005, matter_code="ZH-001", description="占道摆摊"
        )
    )

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

    field = open_case(browser, page_log, asgi_server, "officer", report.pk)
    assert offered(field) >= {"accept"} and "close" not in offered(field)
    take(field, "accept", status="accepted")
    take(field, "start", status="handling")
    photo = tmp_path / "after.jpg"
    photo.write_bytes(images.jpeg_bytes(64, 48))
    field.click("#detail [data-action='handle']")
    field.set_input_files("#detail form[data-step='handle'] input[name='photos']", str(photo))
    field.fill("#detail form[data-step='handle'] textarea[name='note']", "已劝离，路面恢复")
    field.click("#detail form[data-step='handle'] .action-confirm")
    field.wait_for_selector("#detail[data-status='handled']")
    field.wait_for_selector("#detail .detail-timeline [data-event='handle'] .timeline-photos img")
    assert "verify_pass" not in offered(field)  # nobody verifies their own work

    boss = open_case(browser, page_log, asgi_server, "supervisor", report.pk)
    take(boss, "verify_pass", status="verified", note="现场复核无摊点")
    screenshot(boss, "case-verified")

    desk.wait_for_selector("#detail[data-status='verified']")  # the live update reached the wall
    take(desk, "close", status="closed")
    desk.wait_for_selector(f"#queue [data-report-id='{report.pk}']", state="detached")  # left the queue

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
    verify = steps[5]
    assert verify.actor.username == "supervisor"
    assert verify.point.coords == pytest.approx((SITE["longitude"], SITE["latitude"]))
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
    # The supervisor's dashboard counts it: registered and closed today, closed on time, by the township team.
    boss.goto(f"{asgi_server.url}/dashboard/")
    boss.wait_for_selector("#dashboard[data-state='ready']")
    assert boss.locator(".count[data-count='closed'] .count-value").inner_text() == "1"
    assert boss.locator(".card[data-indicator='closure_rate'] .card-fraction").inner_text() == "1 / 1"
    assert boss.locator(".card[data-indicator='township_share'] .card-fraction").inner_text() == "1 / 1"
    for page in (desk, field, boss):
        page.context.close()
    assert not page_log.errors, page_log.errors
