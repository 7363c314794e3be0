"""The coverage editor (/planner/): who may open it, and in Chromium a planner's whole round —
draft, draw, validate, a stale save refused, publish with a reason, routing follows.

The tiny county (tests/factories.py); the draft moves cells (2, 0) and (2, 1) from 二中队 (E) to
一中队 (W) by drawing, and takes (0, 3) out of W to leave a deliberate gap:

    y=3  │ W→gap │  W   │  E   │  E   │
    y=2  │  W    │  W   │  E   │  E   │
    y=1  │  W    │  W   │ E→W  │  E   │     drawn polygon: x 121.02–121.03, y 29.00–29.02
    y=0  │  W    │  W   │ E→W  │  E   │     routed point 121.025 E, 29.005 N lies in (2, 0)
         121.00  121.01 121.02 121.03 121.04
"""

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import NoReverseMatch, reverse

from geodata import planning
from geodata.models import CoverageVersion, EnforcementZone, ZoneCell
from tests.factories import ORIGIN, STEP
from tests.frontend.conftest import TINY_COUNTY_SERVICE_AREA, login, screenshot

PASSWORD = "test-pass-123"
MOVED_POINT = (121.025, 29.005)


def browser_test(test):
    """Drives Chromium: marked so `-m "not browser"` leaves it out."""
    return pytest.mark.browser(pytest.mark.slow(test))


def make_planner(username: str = "planner") -> User:
    user = User.objects.create_user(username, password=PASSWORD, first_name="规划员")
    user.groups.add(Group.objects.get_or_create(name="planner")[0])
    return user


def served(name: str) -> bool:
    try:
        reverse(name, args=[1])
    except NoReverseMatch:
        return False
    return True


# --- access (no browser) -----------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(client, db):
    response = client.get("/planner/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_signed_in_non_planner_gets_403(client, db):
    User.objects.create_user("dispatcher", password=PASSWORD)
    client.login(username="dispatcher", password=PASSWORD)
    assert client.get("/planner/").status_code == 403


def test_planner_and_superuser_get_the_page_with_its_state(client, tiny_county):
    make_planner()
    client.login(username="planner", password=PASSWORD)
    response = client.get("/planner/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    html = response.content.decode()
    assert "onclick" not in html
    state = json.loads(
        re.search(r'<script id="planner-state" type="application/json">(.*?)</script>', html).group(1)
    )
    version = state["planning"]["version"]
    assert version["cellsIn"] == "/api/v1/coverage-versions/{id}/cells-in/"
    assert version["membership"] == "/api/v1/coverage-versions/{id}/membership/"
    assert state["planning"]["zone"] == "/api/v1/zones/{id}/"
    # Figures and diff: the address when gridops serves them, null (→ "统计暂不可用") when not.
    assert (version["figures"] is not None) == served("api:coverage-version-figures")
    assert (version["diff"] is not None) == served("api:coverage-version-diff")
    assert state["i18n"]["stale"] == "草稿已被他人修改（当前修订号 %(n)s），您的修改未保存"
    assert state["now"].endswith("+08:00")

    User.objects.create_superuser("root", password=PASSWORD)
    client.login(username="root", password=PASSWORD)
    assert client.get("/planner/").status_code == 200


def test_home_page_links_the_planner(client, db):
    response = client.get("/")
    pages = {p["key"]: p for p in response.context["role_pages"]}
    assert pages["planner"]["available"] and pages["planner"]["url"] == "/planner/"


# --- in Chromium --------------------------------------------------------------------------------------


def cell_centre(x: int, y: int) -> tuple[float, float]:
    return ORIGIN[0] + (x + 0.5) * STEP, ORIGIN[1] + (y + 0.5) * STEP


def screen_point(page, lon: float, lat: float) -> tuple[float, float]:
    """Where (lon, lat) is on the screen, in page pixels."""
    return tuple(
        page.evaluate(
            """([lat, lon]) => {
              const map = window.__gridopsMap;
              const p = map.latLngToContainerPoint([lat, lon]);
              const r = map.getContainer().getBoundingClientRect();
              return [r.left + p.x, r.top + p.y];
            }""",
            [lat, lon],
        )
    )


def click_map(page, lon: float, lat: float) -> None:
    # A click computed while the map is still zooming or panning (a zone was just selected and
    # framed) lands somewhere else: wait for it to stand still first.
    # A raw mouse click has no actionability check: a modal dialog still open would take it.
    page.wait_for_function(
        "() => { const m = window.__gridopsMap;"
        " return m && !m._animatingZoom && !(m._panAnim && m._panAnim._inProgress)"
        " && !document.querySelector('dialog[open]'); }"
    )
    x, y = screen_point(page, lon, lat)
    page.mouse.click(x, y)


def wait_saved(page, revision: int) -> None:
    page.wait_for_selector(f"#planner[data-revision='{revision}'][data-busy='false']")
    page.wait_for_selector("#validation-badge:not([data-state='unknown'])")


def badge(page) -> tuple[int, int]:
    element = page.locator("#validation-badge")
    return int(element.get_attribute("data-gaps")), int(element.get_attribute("data-overlaps"))


def cell_path(page, cell):
    return page.locator(f"path.planner-cell[data-cell-code='{cell.code}']")


def zone_cells(zone_id: int) -> set[int]:
    return set(ZoneCell.objects.filter(zone_id=zone_id).values_list("cell_id", flat=True))


@pytest.fixture
def planner_page(asgi_server, page, settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    settings.TILE_URL = ""
    county = build_tiny_county()
    make_planner()
    page.set_viewport_size({"width": 1600, "height": 1000})
    login(page, asgi_server.url, "planner", PASSWORD, next_path="/planner/")
    page.wait_for_selector("#planner[data-state='ready']")
    page.wait_for_selector("#validation-badge[data-state='ok']")
    return county


@browser_test
def test_planner_draws_validates_publishes_and_routing_follows(planner_page, page, page_log, asgi_server):
    county = planner_page
    # The version in force is shown read-only, its cells coloured by team, no problems.
    assert page.get_attribute("#planner", "data-status") == "published"
    assert page.is_visible("#read-only") and not page.is_visible("#edit-tools")
    assert page.locator("path.planner-cell").count() == 16
    assert page.locator("path.planner-cell[data-state='covered']").count() == 16
    assert page.inner_text("#validation-badge") == "缺口 0 · 重叠 0"
    figures_served = served("api:coverage-version-figures")
    page.wait_for_selector(f"#figures[data-state='{'ready' if figures_served else 'unavailable'}']")
    if not figures_served:
        assert page.inner_text("#figures") == "统计暂不可用"
    else:
        # Per team: sortable; 市场监管 (16 cells) first when sorted by cells, descending.
        first_team = "#figures table[data-table='teams'] tbody tr:first-child td:first-child"
        page.click("#figures table[data-table='teams'] th .sort-button[data-column='cells']")
        assert page.inner_text(first_team) == "县市场监管执法队"
        page.click("#figures table[data-table='teams'] th .sort-button[data-column='cells']")
        assert page.inner_text(first_team) != "县市场监管执法队"

    # 新建草稿: a copy of the version in force, editable at revision 0.
    page.click("#new-draft")
    page.fill("#zone-dialog input[name='name']", "2027 调整")
    page.click("#zone-dialog-ok")
    page.wait_for_selector("#planner[data-status='draft'][data-state='ready']")
    draft = CoverageVersion.objects.get(name="2027 调整")
    assert page.get_attribute("#planner", "data-version") == str(draft.pk)
    assert page.get_attribute("#planner", "data-revision") == "0"
    west = EnforcementZone.objects.get(version=draft, team=county.teams["W"])
    east = EnforcementZone.objects.get(version=draft, team=county.teams["E"])

    # Select 一中队's zone and draw a polygon over (2, 0) and (2, 1) of 二中队 with Geoman.
    page.click(f".zone-button[data-zone-id='{west.pk}']")
    assert page.get_attribute(f".zone-button[data-zone-id='{west.pk}']", "aria-pressed") == "true"
    page.click("#draw-button")
    corners = [(121.02, 29.0), (121.03, 29.0), (121.03, 29.02), (121.02, 29.02), (121.02, 29.0)]
    for lon, lat in corners:
        click_map(page, lon, lat)
    wait_saved(page, 1)
    moved_keys = [(2, 0), (2, 1)]
    moved = [county.cells[k] for k in moved_keys]
    assert zone_cells(west.pk) >= {c.pk for c in moved}
    # Both teams now claim them: two overlaps, listed and outlined.
    assert badge(page) == (0, 2)
    listed = page.locator(".problem-list[data-kind='overlap'] .problem").evaluate_all(
        "nodes => nodes.map(n => n.dataset.cell)"
    )
    assert sorted(listed) == sorted(c.code for c in moved)
    for cell in moved:
        assert cell_path(page, cell).get_attribute("data-state") == "overlap"

    # Take them out of 二中队 by clicking them (remove mode): the overlaps go.
    page.click(f".zone-button[data-zone-id='{east.pk}']")
    page.check("input[name='mode'][value='remove']")
    for revision, key in enumerate(moved_keys, start=2):
        click_map(page, *cell_centre(*key))
        wait_saved(page, revision)
    assert badge(page) == (0, 0)
    assert not zone_cells(east.pk) & {c.pk for c in moved}

    # A deliberate gap: (0, 3) out of 一中队 → listed and hatched.
    page.click(f".zone-button[data-zone-id='{west.pk}']")
    gap_cell = county.cells[(0, 3)]
    click_map(page, *cell_centre(0, 3))
    wait_saved(page, 4)
    assert badge(page) == (1, 0)
    assert page.inner_text("#validation-badge") == "缺口 1 · 重叠 0"
    assert page.locator(".problem-list[data-kind='gap'] .problem").evaluate_all(
        "nodes => nodes.map(n => n.dataset.cell)"
    ) == [gap_cell.code]
    gap_path = cell_path(page, gap_cell)
    assert gap_path.get_attribute("data-state") == "gap"
    assert "url(" in gap_path.evaluate("n => getComputedStyle(n).fill")
    page.click(f".problem[data-cell='{gap_cell.code}']")  # zooms to the cell
    page.wait_for_function(
        "([lat, lon]) => window.__gridopsMap.getBounds().contains([lat, lon])"
        " && window.__gridopsMap.getZoom() >= 15",
        arg=[cell_centre(0, 3)[1], cell_centre(0, 3)[0]],
    )
    # Back to the whole county for the screenshot, once the zoom animation is over (Leaflet would
    # otherwise finish it after our fitBounds).
    page.wait_for_function("() => !window.__gridopsMap._animatingZoom")
    page.evaluate(
        "() => { const map = window.__gridopsMap;"
        " map.fitBounds([[29.0, 121.0], [29.04, 121.04]], {animate: false, padding: [20, 20]}); }"
    )
    page.wait_for_function("() => window.__gridopsMap.getZoom() < 15")
    screenshot(page, "planner-validation")

    # Someone else saves the draft first (another session, same revision): the page's next save
    # is refused with 409, the banner says so, and nothing of ours is written.
    draft.refresh_from_db()
    market = EnforcementZone.objects.get(version=draft, team=county.teams["market"])
    planning.zone_set_cells(zone=market, cell_ids=zone_cells(market.pk), expected_revision=draft.revision)
    page.check("input[name='mode'][value='add']")
    click_map(page, *cell_centre(0, 3))
    page.wait_for_selector("#stale-banner:not([hidden])")
    assert page.inner_text("#stale-text") == "草稿已被他人修改（当前修订号 5），您的修改未保存"
    assert gap_cell.pk not in zone_cells(west.pk)
    page.click("#stale-reload")
    page.wait_for_selector("#stale-banner[hidden]", state="attached")
    page.wait_for_selector("#planner[data-revision='5'][data-state='ready']")
    page.wait_for_selector("#validation-badge[data-gaps='1']")

    # Publish: the dialog shows the diff; without a reason it is refused and says why.
    page.click("#publish-button")
    page.wait_for_selector("#publish-dialog[open]")
    assert page.is_visible("#publish-warning") and "1 处缺口" in page.inner_text("#publish-warning")
    diff_served = served("api:coverage-version-diff")
    page.wait_for_selector(f"#publish-diff[data-state='{'ready' if diff_served else 'unavailable'}']")
    if diff_served:
        assert page.get_attribute("#publish-diff .diff-count", "data-count") == "3"  # 2 moved, 1 gap
    screenshot(page, "planner-publish-dialog")
    page.click("#publish-submit")
    page.wait_for_selector("#publish-error:not([hidden])")
    assert page.get_attribute("#publish-error", "data-field") == "override_reason"
    assert "理由" in page.inner_text("#publish-error")
    draft.refresh_from_db()
    assert draft.status == CoverageVersion.Status.DRAFT

    page.fill("#publish-reason", "东片两个网格划入一中队；(0,3) 移交开发区")
    page.click("#publish-submit")
    page.wait_for_selector("#publish-dialog:not([open])", state="attached")
    page.wait_for_selector(
        f"#planner[data-status='published'][data-version='{draft.pk}'][data-state='ready']"
    )
    draft.refresh_from_db()
    assert draft.status == CoverageVersion.Status.PUBLISHED and "开发区" in draft.note
    assert page.is_visible("#read-only")

    # Routing follows: a point in the moved cell (2, 0) now goes to 一中队.
    answer = page.request.get(
        f"{asgi_server.url}/api/v1/route/?lon={MOVED_POINT[0]}&lat={MOVED_POINT[1]}"
    ).json()
    assert answer["team"]["code"] == "zh-1", answer
    assert answer["coverage_version"]["id"] == draft.pk

    # The only console errors are the two refusals this test provoked (409, then 400).
    unexpected = [e for e in page_log.errors if "409" not in e and "400" not in e]
    assert not unexpected, page_log.errors
    assert page_log.external_requests == []


@browser_test
def test_region_pick_marks_and_new_zone_split_merge_delete(planner_page, page, page_log):
    county = planner_page
    page.click("#new-draft")
    page.click("#zone-dialog-ok")
    page.wait_for_selector("#planner[data-status='draft'][data-state='ready']")
    draft = CoverageVersion.objects.filter(status=CoverageVersion.Status.DRAFT).get()

    # Mark the cells of village 石浦镇N村 by picking it, then make a 渔业 zone of them.
    page.check("input[name='mode'][value='mark']")
    page.select_option("#region-select", county.villages["E-N"].code)
    page.click("#region-apply")
    page.wait_for_selector("path.planner-cell[data-marked='true'] >> nth=3")
    assert page.locator("path.planner-cell[data-marked='true']").count() == 4
    page.click("#create-zone")
    page.fill("#zone-dialog input[name='name']", "东北渔区")
    page.select_option("#zone-dialog select[name='team']", "fishery")
    assert page.input_value("#zone-dialog select[name='domain']") == "fishery"
    page.click("#zone-dialog-ok")
    page.wait_for_selector("#planner[data-revision='1'][data-state='ready']")
    fishery = EnforcementZone.objects.get(version=draft, name="东北渔区")
    assert fishery.domain == "fishery" and len(zone_cells(fishery.pk)) == 4
    assert page.input_value("#domain-select") == "fishery"
    page.wait_for_selector(f".zone-button[data-zone-id='{fishery.pk}'][aria-pressed='true']")

    # Split the two northern-most cells off, then merge them back, then delete the zone.
    click_map(page, *cell_centre(2, 3))
    click_map(page, *cell_centre(3, 3))
    assert page.locator("path.planner-cell[data-marked='true']").count() == 2
    page.click("#split-zone")
    page.fill("#zone-dialog input[name='name']", "东北渔区北")
    page.click("#zone-dialog-ok")
    page.wait_for_selector("#planner[data-revision='2'][data-state='ready']")
    north = EnforcementZone.objects.get(version=draft, name="东北渔区北")
    assert zone_cells(north.pk) == {county.cells[(2, 3)].pk, county.cells[(3, 3)].pk}
    assert len(zone_cells(fishery.pk)) == 2

    page.click("#merge-zones")
    page.check(f"#zone-dialog input[name='zones'][value='{fishery.pk}']")
    page.fill("#zone-dialog input[name='name']", "东北渔区")
    page.click("#zone-dialog-ok")
    page.wait_for_selector("#planner[data-revision='3'][data-state='ready']")
    # The merged zone keeps the lower id (the original) and takes all four cells back.
    assert not EnforcementZone.objects.filter(pk=north.pk).exists()
    assert len(zone_cells(fishery.pk)) == 4
    page.wait_for_selector(f".zone-button[data-zone-id='{fishery.pk}'][aria-pressed='true']")

    # Hand the zone to the market team, in the market domain, renamed: its cells stay.
    page.click("#edit-zone")
    assert page.input_value("#zone-dialog select[name='team']") == "fishery"
    page.fill("#zone-dialog input[name='name']", "东北市场片")
    page.select_option("#zone-dialog select[name='team']", "market")
    page.select_option("#zone-dialog select[name='domain']", "market")
    page.click("#zone-dialog-ok")
    page.wait_for_selector("#planner[data-revision='4'][data-state='ready']")
    fishery.refresh_from_db()
    assert (fishery.team.code, fishery.domain, fishery.name) == ("market", "market", "东北市场片")
    assert len(zone_cells(fishery.pk)) == 4
    assert page.input_value("#domain-select") == "market"

    page.wait_for_selector(f".zone-button[data-zone-id='{fishery.pk}'][aria-pressed='true']")
    page.click("#delete-zone")
    assert "东北市场片" in page.inner_text("#zone-dialog-text")
    page.click("#zone-dialog-ok")
    page.wait_for_selector("#planner[data-revision='5'][data-state='ready']")
    assert not EnforcementZone.objects.filter(pk=fishery.pk).exists()
    assert not page_log.errors, page_log.errors


@browser_test
def test_non_planner_gets_403_in_the_browser(asgi_server, page, page_log, settings):
    User.objects.create_user("dispatcher", password=PASSWORD)
    login(page, asgi_server.url, "dispatcher", PASSWORD, next_path="/")
    response = page.goto(f"{asgi_server.url}/planner/")
    assert response.status == 403
