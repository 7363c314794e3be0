"""The track-replay page (/replay/) in Chromium: one unit of 一中队 patrols the tiny county with a
stop and a data gap; the marker is where the timeline says at the slider's time, greyed during
the gap, and plays proportionally to real time.

lat 29.015        B━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ C ░░ gap 10 min ░░ D ━━━━━━━━━━━━━ E
                  ┃ leg 2: north, 5 min                                             leg 3: east, 5 min
                  ┃
lat 29.005  A ━━━━S   leg 1: east, 10 min; S = stop of 6 min
        121.002  121.018                                                        121.025        121.035

(B = S moved north; C is B, the last fix before the gap; fixes every 10 s.)
Timeline from T0 (yesterday 10:00 Beijing time, so the data is on one date whenever this runs):
    0 –  600 s  A → S      600 –  960 s  at S      960 – 1260 s  S → B
 1260 – 1860 s  no fix    1860 – 2160 s  D → E
"""

import json
import math
import re
from datetime import datetime, time, timedelta
from itertools import pairwise

import pytest
from django.contrib.auth.models import Group, User
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from gridops.services.pings import ping_batch_ingest
from tests.frontend.conftest import TINY_COUNTY_SERVICE_AREA, login, screenshot
from tests.gridops.units_factory import fix, tracked_unit

PASSWORD = "test-pass-123"
WALL = {"width": 1920, "height": 1080}
STEP_SECONDS = 10
A, S, B, D, E = (121.002, 29.005), (121.018, 29.005), (121.018, 29.015), (121.025, 29.015), (121.035, 29.015)
F, G = (121.03, 29.025), (121.03, 29.035)  # the second unit's short track
# The page's range starts 10 minutes before T0: slider value = seconds since then.
RANGE_LEAD_SECONDS = 600


def browser_test(test):
    """Drives Chromium: marked so `-m "not browser"` leaves it out."""
    return pytest.mark.browser(pytest.mark.slow(test))


def t0() -> datetime:
    yesterday = timezone.localdate() - timedelta(days=1)
    return timezone.make_aware(datetime.combine(yesterday, time(10, 0)))


def leg(start_s: int, seconds: int, a: tuple, b: tuple) -> list[tuple[int, float, float]]:
    """Fixes every STEP_SECONDS from a (at start_s) to b (at start_s + seconds), both included."""
    n = seconds // STEP_SECONDS
    return [
        (start_s + i * STEP_SECONDS, a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n)
        for i in range(n + 1)
    ]


def patrol() -> list[tuple[int, float, float]]:
    fixes = leg(0, 600, A, S)
    fixes += [(600 + i * STEP_SECONDS, *S) for i in range(1, 36)]  # the stop: 600 → 950 s at S
    fixes += leg(960, 300, S, B)
    fixes += leg(1860, 300, D, E)
    return fixes


def expected_at(seconds: float) -> tuple[float, float]:
    """Where the unit is `seconds` after T0 by linear interpolation between the fixes around it."""
    fixes = patrol()
    for (ta, xa, ya), (tb, xb, yb) in pairwise(fixes):
        if ta <= seconds <= tb:
            f = (seconds - ta) / (tb - ta)
            return xa + (xb - xa) * f, ya + (yb - ya) * f
    raise ValueError(seconds)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = (a[1] - b[1]) * 110_574
    return math.hypot(dx, dy)


def endpoint_served(name: str) -> bool:
    try:
        reverse(name, args=[1])
    except NoReverseMatch:
        return False
    return True


def supervisor() -> User:
    user = User.objects.create_user("supervisor", password=PASSWORD, first_name="督查员")
    user.groups.add(Group.objects.get_or_create(name="supervisor")[0])
    return user


@pytest.fixture
def patrolled(asgi_server, settings):
    """The tiny county, a supervisor and one unit of 一中队 with the patrol above stored."""
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    settings.TILE_URL = ""
    county = build_tiny_county()
    supervisor()
    tracked = tracked_unit(county.teams["W"], code="zh-1-car-1", name="巡查车一号")
    start = t0()
    items = [fix(start + timedelta(seconds=s), lon, lat) for s, lon, lat in patrol()]
    result = ping_batch_ingest(device=tracked.device, items=items)
    assert result.as_dict()["accepted"] == len(items), result.as_dict()
    # A second unit, of 二中队, on the same timeline: north along x = 121.03 for the first 5 min.
    other = tracked_unit(county.teams["E"], code="zh-2-car-1", name="巡查车二号")
    items = [fix(start + timedelta(seconds=s), lon, lat) for s, lon, lat in leg(0, 300, F, G)]
    ping_batch_ingest(device=other.device, items=items)
    return tracked.unit, other.unit


def slider_to(page, seconds_after_t0: float) -> None:
    page.evaluate(
        """(value) => {
          const slider = document.getElementById('time-slider');
          slider.value = String(value);
          slider.dispatchEvent(new Event('input', { bubbles: true }));
        }""",
        RANGE_LEAD_SECONDS + seconds_after_t0,
    )


def marker_at(page, unit_id: int) -> tuple[tuple[float, float], str]:
    latlng = page.get_attribute("#map", f"data-unit-{unit_id}-latlng")
    lat, lng = (float(v) for v in latlng.split(","))
    return (lng, lat), page.get_attribute("#map", f"data-unit-{unit_id}-state")


def open_and_load(page, asgi_server, *units) -> None:
    page.set_viewport_size(WALL)
    login(page, asgi_server.url, "supervisor", PASSWORD, next_path="/replay/")
    page.wait_for_selector("#map[data-state='ready']")
    start = timezone.localtime(t0()) - timedelta(seconds=RANGE_LEAD_SECONDS)
    for unit in units:
        page.check(f"#unit-picker input[value='{unit.pk}']")
    page.fill("#range-date", start.date().isoformat())
    page.fill("#range-from", start.strftime("%H:%M"))
    page.fill("#range-to", "10:50")
    page.click("#load-button")
    page.wait_for_selector("#map[data-replay='ready']")


@browser_test
def test_replay_marker_follows_the_slider_and_the_play_clock(patrolled, page, page_log, asgi_server):
    unit, other = patrolled
    open_and_load(page, asgi_server, unit, other)
    # The slider spans the range in seconds (09:50 → 10:50); the clock starts at the first fix.
    assert page.get_attribute("#time-slider", "max") == "3600"
    assert page.input_value("#time-slider") == str(RANGE_LEAD_SECONDS)
    assert "10:00:00" in page.inner_text("#time-now")

    # Between two fixes of leg 1: interpolated, within a metre.
    slider_to(page, 305)
    where, state = marker_at(page, unit.pk)
    assert state == "moving"
    assert metres(where, expected_at(305)) < 1, (where, expected_at(305))
    assert "10:05:05" in page.inner_text("#time-now")
    # The second unit on the same timeline: its track ended at 300 s, it waits at G; its own colour.
    where, state = marker_at(page, other.pk)
    assert state == "after" and metres(where, G) < 1
    colour = "n => getComputedStyle(n).getPropertyValue('--team').trim()"
    assert page.eval_on_selector(f".replay-unit[data-unit-id='{unit.pk}']", colour) != page.eval_on_selector(
        f".replay-unit[data-unit-id='{other.pk}']", colour
    )
    slider_to(page, 155)
    where, state = marker_at(page, other.pk)
    assert state == "moving" and metres(where, (F[0], F[1] + (G[1] - F[1]) * 155 / 300)) < 1
    # On leg 2 (heading north): the arrow is rotated to ≈ 0°.
    slider_to(page, 1100)
    where, _ = marker_at(page, unit.pk)
    assert metres(where, expected_at(1100)) < 1
    rotation = page.eval_on_selector(
        f".replay-unit[data-unit-id='{unit.pk}'] .unit-arrow", "n => n.style.transform"
    )
    assert rotation in ("rotate(0deg)", "rotate(360deg)"), rotation

    # In the gap: greyed at B, the last fix before it, never on the straight line B → D.
    for seconds in (1300, 1560, 1850):
        slider_to(page, seconds)
        where, state = marker_at(page, unit.pk)
        assert state == "gap"
        assert metres(where, B) < 1, (seconds, where)
    marker = f".replay-unit[data-unit-id='{unit.pk}']"
    assert page.get_attribute(marker, "data-state") == "gap"
    assert page.inner_text(f"{marker} .unit-label") == "信号中断"
    assert "grayscale" in page.eval_on_selector(marker, "n => getComputedStyle(n).filter")
    # After the gap it moves again from D.
    slider_to(page, 1865)
    where, state = marker_at(page, unit.pk)
    assert state == "moving" and metres(where, expected_at(1865)) < 1

    # Play at 60× for about a second of real time: about a minute of replay time.
    slider_to(page, 0)
    page.select_option("#speed", "60")
    page.click("#play-button")
    measured = page.evaluate(
        """async () => {
          const map = document.getElementById('map');
          const replay0 = Number(map.dataset.timeMs);
          const real0 = performance.now();
          await new Promise((resolve) => setTimeout(resolve, 1000));
          return { replay: Number(map.dataset.timeMs) - replay0, real: performance.now() - real0 };
        }"""
    )
    page.click("#play-button")
    assert page.get_attribute("#player", "data-state") == "paused"
    ratio = measured["replay"] / measured["real"]
    assert 30 <= ratio <= 90, measured
    # Paused: the clock holds still.
    held = page.get_attribute("#map", "data-time-ms")
    page.wait_for_timeout(300)
    assert page.get_attribute("#map", "data-time-ms") == held

    # Stops and trips: listed once the stops API is served; until then the panel says so.
    result = f".unit-result[data-unit-id='{unit.pk}']"
    if endpoint_served("api:unit-stops"):
        page.wait_for_selector(f"{result} .stop-list[data-state='ready']")
        assert page.locator(f"{result} .stop-row").count() == 1
        # 6 min at S, plus the fixes of the legs that fall within 50 m of it.
        assert 360 <= int(page.get_attribute(f"{result} .stop-row", "data-seconds")) <= 420
        assert re.search(r"停留 [67]分", page.inner_text(f"{result} .stop-list"))
        assert page.locator(f"{result} .trip-row").count() >= 2
        assert page.locator(".stop-label").count() == 1
    else:
        page.wait_for_selector(f"{result} .stop-list[data-state='unavailable']")
        assert "暂不可用" in page.inner_text(f"{result} .stop-list")
    if endpoint_served("api:unit-visited-cells"):
        page.wait_for_selector(f"{result} .unit-summary [data-summary='coverage']")
        assert "%" in page.inner_text(f"{result} [data-summary='coverage']")
    else:
        assert "暂不可用" in page.inner_text(f"{result} [data-summary='coverage']")

    # Exports per unit, for the range shown (naive times: Beijing time).
    if endpoint_served("api:unit-track-gpx"):
        href = page.get_attribute(f"{result} [data-export='gpx']", "href")
        assert href.startswith(f"/api/v1/units/{unit.pk}/track.gpx?start=")
        answer = page.request.get(f"{asgi_server.url}{href}")
        assert answer.status == 200 and "<trkseg>" in answer.text()
    if endpoint_served("api:unit-track-geojson"):
        href = page.get_attribute(f"{result} [data-export='geojson']", "href")
        assert href.startswith(f"/api/v1/units/{unit.pk}/track.geojson?start=")

    slider_to(page, 1100)
    screenshot(page, "replay")

    # Printed: the map and the summary, no controls.
    page.emulate_media(media="print")
    assert not page.is_visible("#replay-form") and not page.is_visible("#player")
    assert page.is_visible("#map") and page.is_visible(f"{result} .unit-summary")
    page.emulate_media(media="screen")
    assert not page_log.errors, page_log.errors
    assert not page_log.external_requests, page_log.external_requests


@browser_test
def test_replay_says_unavailable_for_a_missing_endpoint(patrolled, page, page_log, asgi_server, monkeypatch):
    """Before the replay backend is served: stops not wired up (no URL in the page state), the
    visited cells answering 404. The timeline still plays; the panels say 暂不可用."""
    from frontend import replay

    served = replay.unit_endpoint_templates()
    monkeypatch.setattr(
        replay,
        "unit_endpoint_templates",
        lambda: {**served, "stops": None, "visitedCells": "/api/v1/units/{id}/no-such-endpoint/"},
    )
    unit, _ = patrolled
    open_and_load(page, asgi_server, unit)
    result = f".unit-result[data-unit-id='{unit.pk}']"
    page.wait_for_selector(f"{result} .unit-summary[data-state='ready']")
    assert page.get_attribute(f"{result} .stop-list", "data-state") == "unavailable"
    assert page.get_attribute(f"{result} .trip-list", "data-state") == "unavailable"
    assert "暂不可用" in page.inner_text(f"{result} [data-summary='coverage']")
    slider_to(page, 305)
    where, _ = marker_at(page, unit.pk)
    assert metres(where, expected_at(305)) < 1
    # The browser itself logs the 404 of the missing endpoint; nothing else may go wrong.
    assert all("404" in e for e in page_log.errors), page_log.errors


@browser_test
def test_replay_asks_for_a_unit_first(patrolled, page, page_log, asgi_server):
    page.set_viewport_size(WALL)
    login(page, asgi_server.url, "supervisor", PASSWORD, next_path="/replay/")
    page.wait_for_selector("#map[data-state='ready']")
    page.click("#load-button")
    assert page.inner_text("#form-message") == "请选择至少一个巡查单元"
    assert page.get_attribute("#map", "data-replay") == "idle"
    assert not page_log.errors, page_log.errors


def test_replay_view_needs_sign_in_and_hands_units_to_the_page(client, tiny_county):
    from tests.gridops.units_factory import tracked_unit as make_unit

    unit = make_unit(tiny_county.teams["W"], code="zh-1-car-1", name="巡查车一号").unit
    response = client.get("/replay/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    client.force_login(supervisor())
    response = client.get("/replay/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    html = response.content.decode()
    state = json.loads(
        re.search(r'<script id="replay-state" type="application/json">(.*?)</script>', html).group(1)
    )
    assert state["units"] == [
        {
            "id": unit.pk,
            "code": "zh-1-car-1",
            "name": "巡查车一号",
            "kind": "vehicle",
            "team": {"code": "zh-1", "name": "综合行政执法一中队"},
        }
    ]
    assert state["unitApi"]["track"] == "/api/v1/units/{id}/track/"
    assert state["speeds"] == [1, 2, 5, 10, 30, 60, 120]
    assert state["defaultRange"]["from"] == "00:00"
    assert state["i18n"]["signalLost"] == "信号中断"
    assert "onclick" not in html

    from frontend.views import role_pages

    assert {p["key"]: p["available"] for p in role_pages()}["replay"]


@browser_test
def test_replay_shows_the_units_case_steps_at_their_moment(
    patrolled, page, page_log, asgi_server, monkeypatch
):
    """A case dispatched to the unit while it patrolled: its steps are listed beside the track and
    appear on the map only once the replay clock reaches them (the arrival at S, 700 s after T0)."""
    from geodata.models import Officer
    from gridops.services.cases import Step, case_transition
    from gridops.services.reports import ReportInput, report_submit

    unit, _other = patrolled
    dispatcher = User.objects.create_user("desk", password=PASSWORD)
    dispatcher.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    officer = User.objects.create_user("officer", password=PASSWORD, first_name="队员")
    officer.groups.add(Group.objects.get_or_create(name="officer")[0])
    Officer.objects.create(team=unit.team, user=officer, name="队员")
    report, _ = report_submit(data=ReportInput(source="citizen", lon=S[0], lat=S[1], matter_code="ZH-001"))
    # The steps happen at T0 + 620 … 700 s (django.utils.timezone.now is what the service reads).
    base, clock = t0(), {}
    monkeypatch.setattr("django.utils.timezone.now", lambda: clock["now"])

    def at(seconds: int) -> None:
        clock["now"] = base + timedelta(seconds=seconds)

    at(620)
    report = case_transition(report=report, action="register", actor=dispatcher)
    at(640)
    report = case_transition(report=report, action="dispatch", actor=dispatcher, step=Step(unit=unit.code))
    at(660)
    report = case_transition(report=report, action="accept", actor=officer)
    at(700)
    case_transition(report=report, action="start", actor=officer, step=Step(lon=S[0], lat=S[1]))
    monkeypatch.undo()

    open_and_load(page, asgi_server, unit)
    result = f".unit-result[data-unit-id='{unit.pk}']"
    page.wait_for_selector(f"{result} .activity-list[data-state='ready']")
    actions = page.eval_on_selector_all(f"{result} .activity-row", "rows => rows.map(r => r.dataset.action)")
    assert actions == ["register", "dispatch", "accept", "start"]
    arrival = ".activity-marker[data-action='start']"
    slider_to(page, 650)
    assert "is-future" in page.get_attribute(arrival, "class")
    slider_to(page, 710)
    assert "is-future" not in page.get_attribute(arrival, "class")
    assert "is-recent" in page.get_attribute(arrival, "class")
    # Clicking a step in the list moves the clock to its moment.
    page.click(f"{result} .activity-row[data-action='dispatch'] .seek")
    assert abs(int(page.input_value("#time-slider")) - (RANGE_LEAD_SECONDS + 640)) <= 1
    assert not page_log.errors, page_log.errors
