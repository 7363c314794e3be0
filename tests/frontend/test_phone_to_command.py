"""The two pages together: a grid worker reports from the phone page (emulated geolocation) and
the report appears on the command centre open in another browser context, without a reload, with
the routing reasons in its detail; the dispatcher's registration (立案) reaches the phone live."""

import pytest
from django.contrib.auth.models import Group, User

from gridops.models import Report
from tests.frontend.conftest import TINY_COUNTY_SERVICE_AREA, grid_worker, logged_page, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "test-pass-123"


@pytest.fixture
def county(asgi_server, settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    county = build_tiny_county()
    grid_worker(county, password=PASSWORD)
    dispatcher = User.objects.create_user("dispatcher", password=PASSWORD)
    dispatcher.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    return county


def test_a_phone_report_reaches_the_wall_and_the_registration_reaches_the_phone(
    county, browser, phone, page_log, asgi_server
):
    wall = logged_page(browser, page_log, viewport={"width": 1920, "height": 1080})
    try:
        login(wall, asgi_server.url, "dispatcher", PASSWORD, next_path="/command/")
        wall.wait_for_selector("#live-indicator[data-state='live']")

        login(phone, asgi_server.url, "worker", PASSWORD, next_path="/report/")
        phone.wait_for_selector("#route-box[data-state='routed']")
        phone.fill("#matter-search", "占道")
        phone.click(".matter-option[data-code='ZH-001']")
        phone.wait_for_selector("#route-box [data-team-code='zh-1']")
        phone.fill("#description", "菜场门口占道摆卖")
        phone.click("#submit-button")
        phone.wait_for_selector("#send-result[data-state='sent']")
        report = Report.objects.get(description="菜场门口占道摆卖")

        # On the wall, without a reload: the queue row, then the detail with the reasons.
        row = f"#queue [data-report-id='{report.pk}']"
        wall.wait_for_selector(row)
        wall.click(row)
        wall.wait_for_selector(f"#detail[data-report-id='{report.pk}'][data-status='new']")
        shown = wall.eval_on_selector_all("#detail .detail-reasons li", "r => r.map(x => x.textContent)")
        assert shown == [reason["text"] for reason in report.routing["reasons"]]
        assert "综合行政执法一中队" in wall.inner_text("#detail .detail-team")

        # The dispatcher registers it; the worker's "my reports" follows without a reload.
        wall.click("#detail [data-action='register']")
        wall.click("#detail form[data-step='register'] .action-confirm")
        wall.wait_for_selector("#detail[data-status='registered']")
        phone.wait_for_selector(f"#my-reports [data-report-id='{report.pk}'][data-status='registered']")
        assert not page_log.errors, page_log.errors
        assert not page_log.external_requests, page_log.external_requests
    finally:
        wall.context.close()
