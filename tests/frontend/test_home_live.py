"""The home map comes alive for a signed-in dispatcher: reports, units and alerts arrive over
/ws/live/ without a reload, and the link resumes after it breaks.

lat 29.04 ┌──────┬──────┬──────┬──────┐
          │ W    │ W    │ E    │ E    │   W = 丹东街道 (一中队), E = 石浦镇 (二中队)
lat 29.02 ├──────┼──────┼──────┼──────┤   ● 121.005 29.005 report (一中队)
          │ W    │ W    │ E    │ E    │   ✕ 121.05 29.05 outside every cell → triage
lat 29.00 └──────┴──────┴──────┴──────┘
       121.00                       121.04
"""

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from gridops.services.pings import ping_batch_ingest
from gridops.services.reports import ReportInput, report_submit
from tests.frontend.conftest import TINY_COUNTY_SERVICE_AREA, login
from tests.gridops.units_factory import fix, tracked_unit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "test-pass-123"


@pytest.fixture
def live_home(asgi_server, page, settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    county = build_tiny_county()
    user = User.objects.create_user("dispatcher", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    login(page, asgi_server.url, "dispatcher", PASSWORD)
    page.wait_for_selector("#map[data-state='ready']")
    page.wait_for_selector("#live-status[data-state='live']")
    return county


def submit(lon, lat, description="占道经营"):
    report, _ = report_submit(
        data=ReportInput(
            source="grid_worker", lon=lon, lat=lat, matter_code="ZH-001", description=description
        )
    )
    return report


def test_reports_and_units_appear_without_reload(live_home, page, page_log):
    routed = submit(121.005, 29.005)
    triage = submit(121.05, 29.05, "网格外")
    page.wait_for_selector(f"[data-report-id='{routed.pk}'][data-status='new']")
    page.wait_for_selector(f"[data-report-id='{triage.pk}'][data-status='triage']")
    feed = page.inner_text("#live-feed")
    assert routed.number in feed and "综合行政执法一中队" in feed
    assert triage.number in feed and "待分拣" in feed
    assert page.inner_text("[data-live-count='reports']") == "2"
    assert page.inner_text("[data-live-count='triage']") == "1"

    car = tracked_unit(live_home.teams["W"])
    now = timezone.now().replace(microsecond=0)
    ping_batch_ingest(device=car.device, items=[fix(now, 121.012, 29.012, heading=90, speed=30)])
    page.wait_for_selector(f".unit-marker[data-unit-id='{car.unit.pk}']")
    assert page.inner_text("[data-live-count='units']") == "1"
    assert not page_log.errors, page_log.errors
    assert not page_log.external_requests


def test_the_page_resumes_after_the_link_breaks(live_home, page):
    """Reports made while the websocket is down arrive once, in order, after it reconnects."""
    first = submit(121.005, 29.005, "第一条")
    page.wait_for_selector(f"[data-report-id='{first.pk}']")
    # Break the link the way a flaky network does: every open socket of the page is closed.
    page.evaluate("() => window.__gridopsSockets.forEach((s) => s.close(4000))")
    missed = [submit(121.015, 29.015, f"断线期间 {i}") for i in range(5)]
    for report in missed:
        page.wait_for_selector(f"[data-report-id='{report.pk}']", timeout=20_000)
    page.wait_for_selector("#live-status[data-state='live']")
    seqs = [
        int(s) for s in page.eval_on_selector_all("#live-feed li", "items => items.map(i => i.dataset.seq)")
    ]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == len(set(seqs)) == 6


def test_the_live_status_says_while_the_database_is_away(live_home, page, settings):
    """A heartbeat marked "database": "unavailable" (config/dbstate.py) turns the link indicator to
    "degraded" with its words; the next ordinary heartbeat turns it back to live."""
    from config import dbstate

    settings.LIVE_HEARTBEAT_SECONDS = 0.5
    page.evaluate(
        """() => {
          const status = document.getElementById("live-status");
          window.__liveStates = [];
          new MutationObserver(() => window.__liveStates.push([status.dataset.state, status.textContent]))
            .observe(status, { attributes: true, attributeFilter: ["data-state"] });
        }"""
    )
    dbstate.mark_unavailable("test")  # as a 503 or a console's failed call would
    page.wait_for_function(
        "() => window.__liveStates.some(([state]) => state === 'degraded')", timeout=20_000
    )
    page.wait_for_function(
        """() => {
          const states = window.__liveStates.map(([state]) => state);
          return states.lastIndexOf("live") > states.indexOf("degraded");
        }""",
        timeout=20_000,
    )
    states = page.evaluate("() => window.__liveStates")
    degraded = next(text for state, text in states if state == "degraded")
    assert "数据库暂不可用" in degraded
    assert not dbstate.unavailable()  # the probe found it again
