"""The home page in a real browser: the tiny county of tests.factories on the map.

lat 29.04 ┌──────┬──────┬──────┬──────┐
          │ W-N  │ W-N  │ E-N  │ E-N  │   W = 丹东街道 (一中队), E = 石浦镇 (二中队)
lat 29.02 ├──────┼──────┼──────┼──────┤   市场监管 covers all 16 cells
          │ W-S  │ W-S  │ E-S  │ E-S  │
lat 29.00 └──────┴──────┴──────┴──────┘   ✕ 29.05 N 121.05 E: outside every cell
       121.00                       121.04
"""

import json
import re

import pytest

from tests.frontend.conftest import PNG_1X1


def browser_test(test):
    """Drives Chromium: marked so `-m "not browser"` leaves it out."""
    return pytest.mark.browser(pytest.mark.slow(test))


# A 1×1 transparent PNG served for intercepted tile requests.


def test_home_view_hands_state_to_the_page(client, tiny_county, settings):
    """Without a browser: header counts, role pages and the json_script state."""
    settings.TILE_URL = ""
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    overview = response.context["overview"]
    assert (overview.county_name, overview.townships, overview.villages, overview.cells) == (
        "象山县",
        2,
        4,
        16,
    )
    assert (overview.teams, overview.zones, overview.matters) == (4, 3, 4)
    pages = {p["key"]: p["available"] for p in response.context["role_pages"]}
    assert pages["admin"] and pages["api-docs"]
    html = response.content.decode()
    state = json.loads(
        re.search(r'<script id="home-state" type="application/json">(.*?)</script>', html).group(1)
    )
    assert state["api"]["route"] == "/api/v1/route/"
    assert state["tiles"] == {"url": "", "attribution": ""}
    assert state["i18n"]["notRouted"] == "不在网格内，转人工分拣"
    assert "onclick" not in html


def open_home(page, live_server):
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#map[data-state='ready']")
    return page


def map_data(page, key):
    return page.get_attribute("#map", f"data-{key}")


def set_view(page, lat, lon, zoom):
    page.evaluate(
        "([lat, lon, zoom]) => window.__gridopsMap.setView([lat, lon], zoom, {animate: false})",
        [lat, lon, zoom],
    )


def click_lat_lon(page, lat, lon):
    point = page.evaluate(
        "([lat, lon]) => {"
        " const p = window.__gridopsMap.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


@browser_test
def test_home_loads_with_no_basemap_no_errors_and_no_external_request(
    page, page_log, tiny_county_live, live_server, settings
):
    settings.TILE_URL = ""
    open_home(page, live_server)
    page.wait_for_selector("#map[data-cells-state='ready']")

    assert page_log.errors == []
    assert page_log.external_requests == []
    assert page.locator(".leaflet-tile").count() == 0
    assert page.inner_text(".county-name") == "象山县"
    counts = {
        key: page.inner_text(f"[data-count='{key}']")
        for key in ("townships", "villages", "cells", "teams", "zones", "matters")
    }
    assert counts == {
        "townships": "2",
        "villages": "4",
        "cells": "16",
        "teams": "4",
        "zones": "3",
        "matters": "4",
    }
    # Two township polygons drawn, labelled by name.
    assert map_data(page, "townships") == "2"
    assert page.locator(".leaflet-townships-pane path").count() == 2
    assert sorted(page.locator(".township-label").all_inner_texts()) == ["丹东街道", "石浦镇"]
    assert map_data(page, "villages") == "4"
    # Comprehensive zones by default: one per township team.
    assert map_data(page, "zones") == "2"
    # Role pages are linked once served; the admin is linked.
    assert page.locator("[data-role='command'] a").get_attribute("href") == "/command/"
    assert page.locator("[data-role='report'] a").get_attribute("href") == "/report/"
    assert page.locator("[data-role='planner'] a").get_attribute("href") == "/planner/"
    assert page.locator("[data-role='admin'] a").get_attribute("href") == "/admin/"


@browser_test
def test_basemap_tiles_requested_from_the_settings_template(
    page, page_log, tiny_county_live, live_server, settings
):
    settings.TILE_URL = f"{live_server.url}/test-tiles/{{z}}/{{x}}/{{y}}.png"
    settings.TILE_ATTRIBUTION = "测试底图"
    tile_requests = []

    def serve_tile(route):
        tile_requests.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG_1X1)

    page.route("**/test-tiles/**", serve_tile)
    open_home(page, live_server)
    page.wait_for_selector(".leaflet-tile-loaded")

    zoom = int(map_data(page, "zoom"))
    pattern = re.compile(rf"^{re.escape(live_server.url)}/test-tiles/(\d+)/\d+/\d+\.png$")
    assert tile_requests
    assert all(pattern.match(url) for url in tile_requests), tile_requests
    # Only tiles of the framed county are fetched, none of the default view before it.
    assert {int(pattern.match(url).group(1)) for url in tile_requests} == {zoom}
    assert "测试底图" in page.inner_text(".leaflet-control-attribution")
    assert page_log.external_requests == []
    assert page_log.errors == []


# Pixels of the cell tiles' canvases that something was drawn on.
DRAWN_TILE_PIXELS = """() => [...document.querySelectorAll('.leaflet-cells-pane canvas.leaflet-tile')]
    .map((c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data)
    .reduce((n, px) => { for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n += 1; return n; }, 0)"""


@browser_test
def test_cells_are_drawn_from_zoom_13_and_fetched_by_bbox(page, page_log, tiny_county_live, live_server):
    open_home(page, live_server)

    set_view(page, 29.02, 121.02, 9)
    try:
        page.wait_for_selector("#map[data-cells-state='zoom'][data-cell-tiles='off']")
    except Exception as exc:
        state = page.evaluate(
            "() => ({...document.getElementById('map').dataset, z: window.__gridopsMap.getZoom()})"
        )
        raise AssertionError(f"cells never said 'zoom': {state}") from exc
    assert page.is_visible("#cell-hint")
    assert page.inner_text("#cell-hint") == "放大查看网格"
    assert map_data(page, "cells") == "0"

    # From zoom 10 to 12 the outlines come as vector tiles, drawn on canvas; no bbox GeoJSON.
    with page.expect_response(lambda r: "/api/v1/tiles/cells/11/" in r.url) as tile:
        set_view(page, 29.02, 121.02, 11)
    assert tile.value.status == 200
    assert tile.value.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    page.wait_for_selector("#map[data-cell-tiles='on']")
    page.wait_for_function(f"({DRAWN_TILE_PIXELS})() > 0")
    assert not page.is_visible("#cell-hint")
    assert map_data(page, "cells") == "0"

    with page.expect_request(lambda r: "/api/v1/cells/" in r.url and "zoom=14" in r.url) as request:
        set_view(page, 29.02, 121.02, 14)
    assert re.search(r"bbox=[\d.]+%2C[\d.]+%2C[\d.]+%2C[\d.]+", request.value.url)
    page.wait_for_selector("#map[data-cells-state='ready']")
    assert not page.is_visible("#cell-hint")
    assert map_data(page, "cells") == "16"
    assert map_data(page, "cell-tiles") == "off"
    assert page.locator(".leaflet-cells-pane path").count() == 16
    assert page.locator(".leaflet-cells-pane canvas").count() == 0

    # Moving re-fetches for the new view: far east only part of the county is in the box.
    with page.expect_request(lambda r: "/api/v1/cells/" in r.url and "zoom=17" in r.url):
        set_view(page, 29.035, 121.035, 17)
    page.wait_for_function("document.querySelector('#map').dataset.cellsState === 'ready'")
    assert 0 < int(map_data(page, "cells")) < 16
    assert page_log.errors == []


@browser_test
def test_click_inside_a_cell_shows_the_responsible_team_and_reasons(
    page, page_log, tiny_county_live, live_server
):
    open_home(page, live_server)
    page.wait_for_selector("#map[data-cells-state='ready']")

    click_lat_lon(page, 29.005, 121.005)
    page.wait_for_selector(".route-banner")
    assert page.get_attribute(".route-banner", "data-routed") == "true"
    assert page.inner_text(".team-name") == "综合行政执法一中队"
    facts = page.inner_text(".route-facts")
    cell = tiny_county_live.cells[(0, 0)]
    assert cell.code in facts
    assert "丹东街道" in facts
    assert page.locator(".reasons li").count() >= 3
    # The matched cell is highlighted on the map.
    assert page.locator(".leaflet-cells-pane path[stroke='#f59e0b']").count() == 1

    # Asking for a county-handled matter re-routes the same point to the professional team.
    page.wait_for_function("document.querySelectorAll('#matter-select option').length > 1")
    page.select_option("#matter-select", "SC-001")
    page.wait_for_function("document.querySelector('.team-name')?.textContent === '县市场监管执法队'")
    assert "无证从事食品经营" in page.inner_text(".route-facts")
    assert page_log.errors == []


@browser_test
def test_click_outside_every_cell_goes_to_manual_triage(page, page_log, tiny_county_live, live_server):
    open_home(page, live_server)
    set_view(page, 29.03, 121.03, 13)

    click_lat_lon(page, 29.05, 121.05)
    page.wait_for_selector(".route-banner")
    assert page.get_attribute(".route-banner", "data-routed") == "false"
    assert page.inner_text(".route-banner") == "不在网格内，转人工分拣"
    assert page.locator(".team-name").count() == 0
    assert page_log.errors == []


@browser_test
def test_legend_lists_every_team_with_a_distinct_colour(page, tiny_county_live, live_server):
    open_home(page, live_server)

    items = page.locator("#team-legend .team")
    names = items.all_inner_texts()
    assert len(names) == 4
    for team in ("综合行政执法一中队", "综合行政执法二中队", "县市场监管执法队", "县渔业执法队"):
        assert any(team in text for text in names)
    colours = {
        code: page.get_attribute(f"#team-legend .team[data-team-code='{code}']", "data-colour")
        for code in ("zh-1", "zh-2", "market")
    }
    assert all(colours.values()) and len(set(colours.values())) == 3
    # A team with no zone in the published coverage says so.
    assert "未划片区" in page.inner_text("#team-legend .team[data-team-code='fishery']")

    # Showing the market domain draws its single zone, in the market team's colour.
    page.select_option("#zone-domain", "market")
    assert map_data(page, "zones") == "1"
    assert page.locator(f".leaflet-zones-pane path[fill='{colours['market']}']").count() == 1


@browser_test
def test_english_switch_shows_english_labels(page, page_log, tiny_county_live, live_server):
    open_home(page, live_server)
    page.click("button.lang-button[value='en']")
    page.wait_for_selector("html[lang='en']")
    page.wait_for_selector("#map[data-state='ready']")

    assert page.inner_text("#legend-title") == "Legend"
    assert "Townships" in page.inner_text(".counts")
    assert "Zone planner" in page.inner_text("[data-role='planner']")
    assert "Townships / subdistricts" in page.inner_text(".leaflet-control-layers")

    set_view(page, 29.02, 121.02, 11)
    assert page.inner_text("#cell-hint") == "Zoom in to see grid cells"
    click_lat_lon(page, 29.05, 121.05)
    page.wait_for_selector(".route-banner")
    assert page.inner_text(".route-banner") == "Outside every grid cell: sent to manual triage"

    page.click("button.lang-button[value='zh-hans']")
    page.wait_for_selector("html[lang='zh-hans']")
    assert page.inner_text("#legend-title") == "图例"
    assert page_log.errors == []


@browser_test
def test_screenshot(page, tiny_county_live, live_server):
    """Not an assertion of looks: writes /tmp/home.png for a person to look at."""
    open_home(page, live_server)
    page.wait_for_selector("#map[data-cells-state='ready']")
    click_lat_lon(page, 29.015, 121.025)
    page.wait_for_selector(".route-banner")
    page.screenshot(path="/tmp/home.png")
