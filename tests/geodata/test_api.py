"""The read API (/api/v1/) and the routing door, on the tiny tiled county (see tests/factories.py).

lat 29.04 ┌──────┬──────┬──────┬──────┐
          │ 0,3  │ 1,3  │ 2,3  │ 3,3  │   W = 丹东街道 330225001 (x 0–1)
lat 29.02 ├──────┼──────┼──────┼──────┤   E = 石浦镇 330225101 (x 2–3)
          │ 0,1  │ 1,1  │ 2,1  │ 3,1  │
lat 29.00 └──────┴──────┴──────┴──────┘   (rows 0 and 2 omitted; cells are 0.01°)
       121.00                      121.04
"""

import json
import math
import re
from datetime import timedelta

import pytest
import yaml
from django.contrib.gis.geos import MultiPolygon, Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from geodata.coords import from_wgs84
from geodata.models import CoverageVersion, EnforcementZone, Officer, Region, ZoneCell
from tests.factories import cell_square

API = "/api/v1"


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def get_ok(client: APIClient, url: str, **params) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def get_400(client: APIClient, url: str, field: str, **params) -> list[str]:
    response = client.get(url, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    assert body[field] and all(isinstance(m, str) and m for m in body[field])
    return body[field]


def codes(collection: dict) -> list[str]:
    return [f["properties"]["code"] for f in collection["features"]]


def vertex_count(geometry: dict) -> int:
    return sum(len(ring) for polygon in geometry["coordinates"] for ring in polygon)


# --- Regions -----------------------------------------------------------------------------------------


def test_regions_list_is_a_feature_collection(client, tiny_county):
    body = get_ok(client, f"{API}/regions/")
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 7
    county = body["features"][0]
    assert county["id"] == "330225"
    assert county["geometry"]["type"] == "MultiPolygon"
    assert county["properties"] == {
        "code": "330225",
        "name": "象山县",
        "level": "county",
        "level_display": "县（区）",
        "parent_code": None,
    }
    # GeoJSON order is lon, lat.
    lon, lat = county["geometry"]["coordinates"][0][0][0]
    assert 121 <= lon <= 121.04 and 29 <= lat <= 29.04


def test_regions_filters(client, tiny_county):
    assert codes(get_ok(client, f"{API}/regions/", level="town")) == ["330225101"]
    assert codes(get_ok(client, f"{API}/regions/", parent="330225")) == ["330225001", "330225101"]
    assert codes(get_ok(client, f"{API}/regions/", parent="330225001")) == ["330225001001", "330225001002"]
    village = get_ok(client, f"{API}/regions/", code="330225101002")["features"][0]
    assert village["properties"]["parent_code"] == "330225101"


def test_regions_geometry_can_be_left_out(client, tiny_county):
    body = get_ok(client, f"{API}/regions/", geometry="0")
    assert body["count"] == 7
    assert all(f["geometry"] is None for f in body["features"])


def test_regions_simplify_runs_in_the_database(client, tiny_county):
    """A round village (a 64-segment-per-quarter buffer) loses most of its vertices at 0.001°."""
    round_geom = MultiPolygon(Point(121.03, 29.03, srid=4326).buffer(0.004, quadsegs=64), srid=4326)
    Region.objects.create(
        code="330225101003", name="圆村", level=Region.Level.VILLAGE, parent=tiny_county.townships["E"],
        geom=round_geom,
    )  # fmt: skip
    full = get_ok(client, f"{API}/regions/", code="330225101003")["features"][0]["geometry"]
    with CaptureQueriesContext(connection) as queries:
        simple = get_ok(client, f"{API}/regions/", code="330225101003", simplify="0.001")
    simple_geom = simple["features"][0]["geometry"]
    assert any("ST_SimplifyPreserveTopology" in q["sql"] for q in queries.captured_queries)
    assert vertex_count(full) > 200
    assert 4 <= vertex_count(simple_geom) < 30


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"level": "planet"}, "level"),
        ({"parent": "999999"}, "parent"),
        ({"parent": "330225001001"}, "parent"),  # a village has no children
        ({"simplify": "abc"}, "simplify"),
        ({"simplify": "nan"}, "simplify"),
        ({"simplify": "-0.1"}, "simplify"),
        ({"simplify": "5"}, "simplify"),
        ({"geometry": "maybe"}, "geometry"),
    ],
)
def test_regions_bad_parameters_are_400_naming_the_field(client, tiny_county, params, field):
    get_400(client, f"{API}/regions/", field, **params)


def test_region_detail_by_code(client, tiny_county):
    body = get_ok(client, f"{API}/regions/330225001/")
    assert body["type"] == "Feature"
    assert body["properties"]["name"] == "丹东街道"
    assert body["properties"]["level_display"] == "街道"
    assert client.get(f"{API}/regions/999999/").status_code == 404
    assert client.get(f"{API}/regions/abc/").status_code == 404


# --- Grid cells --------------------------------------------------------------------------------------


def test_cells_list_properties(client, tiny_county, django_user_model):
    cell = tiny_county.cells[(0, 0)]
    cell.workers.add(django_user_model.objects.create(username="worker1"))
    body = get_ok(client, f"{API}/cells/")
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 16
    first = body["features"][0]
    assert first["id"] == cell.code == "330225001001001"
    assert first["geometry"]["type"] == "MultiPolygon"
    props = first["properties"]
    assert props["village"] == {"code": "330225001001", "name": "丹东街道S村"}
    assert props["township"] == {"code": "330225001", "name": "丹东街道"}
    assert props["workers_count"] == 1
    assert props["valid_from"] == cell.valid_from.isoformat()
    assert props["valid_to"] is None


def bbox(*values: float) -> str:
    return ",".join(str(v) for v in values)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        # strictly inside cell (0,0)
        ((121.002, 29.002, 121.008, 29.008), [(0, 0)]),
        # exactly cell (0,0): its three neighbours touch its edges and corner, boundary included
        ((121.0, 29.0, 121.01, 29.01), [(0, 0), (1, 0), (0, 1), (1, 1)]),
        # east of the grid, touching only the east edge of cell (3,0)
        ((121.04, 29.002, 121.05, 29.008), [(3, 0)]),
        # north-east of the grid, touching only the corner of cell (3,3)
        ((121.04, 29.04, 121.05, 29.05), [(3, 3)]),
        # a thin box along the edge between columns 1 and 2, row 0
        ((121.0195, 29.001, 121.0205, 29.002), [(1, 0), (2, 0)]),
        # clear of the grid
        ((121.041, 29.0, 121.05, 29.04), []),
    ],
)
def test_cells_bbox(client, tiny_county, box, expected):
    body = get_ok(client, f"{API}/cells/", bbox=bbox(*box))
    assert sorted(codes(body)) == sorted(tiny_county.cells[xy].code for xy in expected)


def test_cells_bbox_uses_the_spatial_index_operator(client, tiny_county):
    with CaptureQueriesContext(connection) as queries:
        get_ok(client, f"{API}/cells/", bbox="121.0,29.0,121.01,29.01")
    assert any("ST_Intersects" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize(
    "value",
    [
        "121,29,121.1",  # three numbers
        "121,29,121.1,29.1,5",  # five
        "a,b,c,d",
        "nan,29,121.1,29.1",
        "121,29,inf,29.1",
        "121.1,29,121,29.1",  # min lon > max lon
        "121,29.1,121.1,29",  # min lat > max lat
        "121,29,121,29.1",  # zero width
        "121,-95,121.1,29",  # latitude out of range
        "-190,29,121,29.1",  # longitude out of range
        "",
    ],
)
def test_cells_bad_bbox_is_400(client, tiny_county, value):
    if value == "":
        # An empty bbox means no bbox.
        assert get_ok(client, f"{API}/cells/", bbox="")["count"] == 16
        return
    get_400(client, f"{API}/cells/", "bbox", bbox=value)


def test_cells_by_village_and_township(client, tiny_county):
    assert len(codes(get_ok(client, f"{API}/cells/", village="330225001001"))) == 4
    assert len(codes(get_ok(client, f"{API}/cells/", township="330225101"))) == 8
    both = get_ok(client, f"{API}/cells/", township="330225101", village="330225101002")
    assert sorted(codes(both)) == sorted(
        tiny_county.cells[xy].code for xy in [(2, 2), (3, 2), (2, 3), (3, 3)]
    )
    get_400(client, f"{API}/cells/", "village", village="330225001")  # a township code
    get_400(client, f"{API}/cells/", "township", township="330225001001")  # a village code
    assert "abc" in get_400(client, f"{API}/cells/", "township", township="abc")[0]


def test_cells_zoom_simplifies_below_14_in_the_database(client, tiny_county):
    with CaptureQueriesContext(connection) as low:
        body = get_ok(client, f"{API}/cells/", zoom="10")
    assert any("ST_SimplifyPreserveTopology" in q["sql"] for q in low.captured_queries)
    # A 0.01° square is far above the ~0.0014° tolerance of zoom 10: it keeps its 5 vertices.
    assert all(vertex_count(f["geometry"]) == 5 for f in body["features"])
    with CaptureQueriesContext(connection) as high:
        get_ok(client, f"{API}/cells/", zoom="15")
    assert not any("ST_SimplifyPreserveTopology" in q["sql"] for q in high.captured_queries)


@pytest.mark.parametrize("value", ["abc", "-1", "25", "12.5", "nan"])
def test_cells_bad_zoom_is_400(client, tiny_county, value):
    get_400(client, f"{API}/cells/", "zoom", zoom=value)


def test_cells_valid_today_by_default_and_at_another_day(client, tiny_county):
    today = timezone.localdate()
    expired = tiny_county.cells[(0, 0)]
    expired.valid_to = today  # the first day it is no longer valid
    expired.save()
    future = tiny_county.cells[(1, 0)]
    future.valid_from = today + timedelta(days=10)
    future.save()
    now_codes = codes(get_ok(client, f"{API}/cells/"))
    assert expired.code not in now_codes and future.code not in now_codes
    assert len(now_codes) == 14
    yesterday = codes(get_ok(client, f"{API}/cells/", at=(today - timedelta(days=1)).isoformat()))
    assert expired.code in yesterday and future.code not in yesterday
    later = codes(get_ok(client, f"{API}/cells/", at=(today + timedelta(days=10)).isoformat()))
    assert expired.code not in later and future.code in later
    # A detail lookup finds a cell whatever its validity.
    assert get_ok(client, f"{API}/cells/{expired.code}/")["properties"]["valid_to"] == today.isoformat()


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01", "2026-02-30", "20260101x"])
def test_cells_bad_at_is_400(client, tiny_county, value):
    get_400(client, f"{API}/cells/", "at", at=value)


def test_cell_detail(client, tiny_county):
    cell = tiny_county.cells[(3, 3)]
    body = get_ok(client, f"{API}/cells/{cell.code}/")
    assert body["id"] == cell.code
    assert body["properties"]["township"]["name"] == "石浦镇"
    assert body["geometry"]["coordinates"][0][0][0] == [121.03, 29.03]
    missing = client.get(f"{API}/cells/330225001001999/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "没有网格“330225001001999”。"}
    assert client.get(f"{API}/cells/nope/").status_code == 404


def test_cells_pagination(client, tiny_county):
    body = get_ok(client, f"{API}/cells/", page_size="5")
    assert body["count"] == 16 and len(body["features"]) == 5
    assert "page=2" in body["next"] and body["previous"] is None
    last = get_ok(client, f"{API}/cells/", page_size="5", page="4")
    assert len(last["features"]) == 1
    assert len(get_ok(client, f"{API}/cells/", page_size="100000")["features"]) == 16
    assert client.get(f"{API}/cells/", {"page": "99"}).status_code == 404


def test_cells_list_query_count_does_not_grow_with_rows(
    client, tiny_county, django_user_model, django_assert_max_num_queries
):
    workers = [django_user_model.objects.create(username=f"w{i}") for i in range(3)]
    for cell in tiny_county.cells.values():
        cell.workers.add(*workers)
    # count + page; nothing per cell (villages, townships and worker counts are in the page query)
    with django_assert_max_num_queries(2):
        body = get_ok(client, f"{API}/cells/", bbox="121,29,121.04,29.04", zoom="12")
    assert {f["properties"]["workers_count"] for f in body["features"]} == {3}


# --- Teams -------------------------------------------------------------------------------------------


def test_teams_list(client, tiny_county):
    Officer.objects.create(team=tiny_county.teams["W"], name="张三", certificate_no="33020001")
    Officer.objects.create(team=tiny_county.teams["W"], name="李四", status=Officer.Status.AUXILIARY)
    body = get_ok(client, f"{API}/teams/")
    assert body["type"] == "FeatureCollection"
    teams = {f["properties"]["code"]: f for f in body["features"]}
    assert set(teams) == {"zh-1", "zh-2", "market", "fishery"}
    zh1 = teams["zh-1"]
    assert zh1["geometry"] == {"type": "Point", "coordinates": [121.005, 29.005]}
    assert zh1["properties"]["officers_count"] == 2
    assert zh1["properties"]["kind_display"] == "乡镇综合执法队"
    assert zh1["properties"]["townships"] == [{"code": "330225001", "name": "丹东街道"}]
    assert [t["name"] for t in teams["market"]["properties"]["townships"]] == ["丹东街道", "石浦镇"]
    assert teams["market"]["geometry"] is None
    assert teams["fishery"]["properties"]["townships"] == []


def test_teams_townships_come_from_the_version_in_force(client, tiny_county):
    """A later draft moving everything to 一中队 changes nothing until it is published and in force."""
    draft = CoverageVersion.objects.create(name="草稿")
    zone = EnforcementZone.objects.create(
        version=draft, team=tiny_county.teams["W"], name="全县", domain="comprehensive"
    )
    ZoneCell.objects.bulk_create(ZoneCell(zone=zone, cell=c) for c in tiny_county.cells.values())
    townships = get_ok(client, f"{API}/teams/zh-1/")["properties"]["townships"]
    assert [t["code"] for t in townships] == ["330225001"]
    draft.status = CoverageVersion.Status.PUBLISHED
    draft.effective_from = timezone.now() - timedelta(minutes=1)
    draft.save()
    townships = get_ok(client, f"{API}/teams/zh-1/")["properties"]["townships"]
    assert [t["code"] for t in townships] == ["330225001", "330225101"]


def test_teams_filters(client, tiny_county):
    assert set(codes(get_ok(client, f"{API}/teams/", kind="professional"))) == {"market", "fishery"}
    assert codes(get_ok(client, f"{API}/teams/", domain="market")) == ["market"]
    get_400(client, f"{API}/teams/", "kind", kind="army")
    get_400(client, f"{API}/teams/", "domain", domain="space")


def test_team_detail_roster_hides_phones_from_anonymous_readers(client, tiny_county, django_user_model):
    Officer.objects.create(
        team=tiny_county.teams["E"], name="王五", certificate_no="33020009", phone="13800000000"
    )
    body = get_ok(client, f"{API}/teams/zh-2/")
    assert body["properties"]["officers"] == [
        {
            "id": body["properties"]["officers"][0]["id"],
            "name": "王五",
            "status": "staff",
            "status_display": "在编",
            "certificate_no": "33020009",
            "phone": None,
        }
    ]
    client.force_authenticate(django_user_model.objects.create(username="dispatcher"))
    assert get_ok(client, f"{API}/teams/zh-2/")["properties"]["officers"][0]["phone"] == "13800000000"
    assert client.get(f"{API}/teams/nope/").status_code == 404


# --- Coverage versions and zones ------------------------------------------------------------------------


def test_coverage_versions(client, tiny_county):
    draft = CoverageVersion.objects.create(name="草稿", based_on=tiny_county.version)
    body = get_ok(client, f"{API}/coverage-versions/")
    assert body["count"] == 2
    by_id = {v["id"]: v for v in body["results"]}
    published = by_id[tiny_county.version.pk]
    assert published["status"] == "published" and published["status_display"] == "已发布"
    assert published["zones_count"] == 3 and published["in_force"] is True
    assert by_id[draft.pk]["in_force"] is False and by_id[draft.pk]["based_on_name"] == "2026 版"
    detail = get_ok(client, f"{API}/coverage-versions/{tiny_county.version.pk}/")
    assert detail["name"] == "2026 版"
    assert client.get(f"{API}/coverage-versions/abc/").status_code == 404
    assert client.get(f"{API}/coverage-versions/999999/").status_code == 404


def test_zones_list(client, tiny_county):
    body = get_ok(client, f"{API}/zones/")
    assert body["type"] == "FeatureCollection" and body["count"] == 3
    zones = {f["properties"]["team"]["code"]: f for f in body["features"]}
    w = zones["zh-1"]
    assert w["id"] == w["properties"]["id"] == tiny_county.zones["W"].pk
    assert w["geometry"]["type"] == "MultiPolygon"
    assert w["properties"]["team"] == {"code": "zh-1", "name": "综合行政执法一中队", "kind": "comprehensive"}
    assert w["properties"]["cells_count"] == 8
    assert w["properties"]["version"] == tiny_county.version.pk
    assert w["properties"]["townships"] == [{"code": "330225001", "name": "丹东街道"}]
    market = zones["market"]["properties"]
    assert market["cells_count"] == 16 and market["domain_display"] == "市场监管"
    assert [t["code"] for t in market["townships"]] == ["330225001", "330225101"]


def test_zones_filters(client, tiny_county):
    draft = CoverageVersion.objects.create(name="草稿")
    EnforcementZone.objects.create(
        version=draft, team=tiny_county.teams["W"], name="新片区", domain="comprehensive"
    )
    assert get_ok(client, f"{API}/zones/")["count"] == 4
    assert get_ok(client, f"{API}/zones/", version="published")["count"] == 3
    assert codes_of_zones(get_ok(client, f"{API}/zones/", version=str(draft.pk))) == ["新片区"]
    assert get_ok(client, f"{API}/zones/", team="zh-1", version="published")["count"] == 1
    assert get_ok(client, f"{API}/zones/", domain="market")["count"] == 1
    get_400(client, f"{API}/zones/", "version", version="abc")
    get_400(client, f"{API}/zones/", "version", version="999999")
    get_400(client, f"{API}/zones/", "team", team="nope")
    get_400(client, f"{API}/zones/", "domain", domain="space")


def codes_of_zones(collection: dict) -> list[str]:
    return [f["properties"]["name"] for f in collection["features"]]


def test_zones_published_is_empty_when_nothing_is_in_force(client, tiny_county):
    CoverageVersion.objects.update(effective_from=timezone.now() + timedelta(days=1))
    assert get_ok(client, f"{API}/zones/", version="published")["count"] == 0


def test_zone_detail(client, tiny_county):
    zone = tiny_county.zones["E"]
    body = get_ok(client, f"{API}/zones/{zone.pk}/")
    assert body["properties"]["name"] == zone.name
    assert client.get(f"{API}/zones/abc/").status_code == 404
    assert client.get(f"{API}/zones/999999/").status_code == 404


def test_zones_list_query_count_does_not_grow_with_rows(client, tiny_county, django_assert_max_num_queries):
    version = tiny_county.version
    for i in range(5):
        zone = EnforcementZone.objects.create(
            version=version, team=tiny_county.teams["fishery"], name=f"渔业{i}", domain="fishery",
            geom=cell_square(i % 4, 0),
        )  # fmt: skip
        ZoneCell.objects.create(zone=zone, cell=tiny_county.cells[(i % 4, 0)])
    with django_assert_max_num_queries(3):  # the version filter, count, page
        body = get_ok(client, f"{API}/zones/", version=str(version.pk))
    assert body["count"] == 8


# --- Matters -----------------------------------------------------------------------------------------------


def test_matters(client, tiny_county):
    body = get_ok(client, f"{API}/matters/")
    assert [m["code"] for m in body["results"]] == ["SC-001", "SC-101", "YY-001", "ZH-001"]
    zh = get_ok(client, f"{API}/matters/ZH-001/")
    assert zh["name"] == "占道经营" and zh["handled_by_display"] == "乡镇综合执法队"
    assert zh["responsible_domain"] == "comprehensive"
    assert get_ok(client, f"{API}/matters/SC-001/")["responsible_domain"] == "market"
    assert client.get(f"{API}/matters/XX-999/").status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "占道"}, ["ZH-001"]),
        ({"q": "sc-"}, ["SC-001", "SC-101"]),
        ({"q": "食品"}, ["SC-001"]),
        ({"domain": "market"}, ["SC-001", "SC-101"]),
        ({"handled_by": "county"}, ["SC-001", "YY-001"]),
        ({"kind": "inspection"}, []),
        ({"active": "true"}, ["SC-001", "SC-101", "YY-001", "ZH-001"]),
        ({"active": "0"}, []),
    ],
)
def test_matters_filters(client, tiny_county, params, expected):
    assert [m["code"] for m in get_ok(client, f"{API}/matters/", **params)["results"]] == expected


@pytest.mark.parametrize("field", ["domain", "kind", "handled_by", "active"])
def test_matters_bad_filter_is_400(client, tiny_county, field):
    get_400(client, f"{API}/matters/", field, **{field: "nonsense"})


def test_api_is_read_only(client, tiny_county, django_user_model):
    assert client.post(f"{API}/matters/", {"code": "X"}).status_code == 403
    client.force_authenticate(django_user_model.objects.create(username="someone"))
    assert client.post(f"{API}/matters/", {"code": "X"}).status_code == 405
    assert client.delete(f"{API}/cells/{tiny_county.cells[(0, 0)].code}/").status_code == 405


# --- Routing ---------------------------------------------------------------------------------------------


def test_route_without_matter_goes_to_the_township_team(client, tiny_county):
    body = get_ok(client, f"{API}/route/", lon="121.005", lat="29.005")
    assert body["routed"] is True
    assert body["input"] == {"lon": "121.005", "lat": "29.005", "crs": "wgs84"}
    assert body["point"] == {"lon": 121.005, "lat": 29.005}
    assert body["cell"]["code"] == tiny_county.cells[(0, 0)].code
    assert body["township"]["code"] == "330225001"
    assert body["team"]["code"] == "zh-1"
    assert body["coverage_version"]["id"] == tiny_county.version.pk
    assert body["reasons"] and all(r["code"] and r["text"] for r in body["reasons"])
    assert body["triage_queue"] is None


def test_route_with_matters(client, tiny_county):
    east = {"lon": "121.035", "lat": "29.035"}
    assert get_ok(client, f"{API}/route/", matter="ZH-001", **east)["team"]["code"] == "zh-2"
    food = get_ok(client, f"{API}/route/", matter="SC-001", **east)
    assert food["team"]["code"] == "market" and food["matter"]["code"] == "SC-001"
    fishing = get_ok(client, f"{API}/route/", matter="YY-001", **east)
    assert fishing["routed"] is False and fishing["triage_queue"]


def test_route_outside_the_grid_is_not_routed(client, tiny_county):
    body = get_ok(client, f"{API}/route/", lon="121.5", lat="29.5")
    assert body["routed"] is False
    assert body["cell"] is None and body["team"] is None
    assert body["triage_queue"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "29.005"}, "lon"),
        ({"lon": "121.005"}, "lat"),
        ({"lon": "", "lat": ""}, "lon"),
        ({"lon": "abc", "lat": "29.005"}, "lon"),
        ({"lon": "121.005", "lat": "abc"}, "lat"),
        ({"lon": "nan", "lat": "29.005"}, "lon"),
        ({"lon": "121.005", "lat": "NaN"}, "lat"),
        ({"lon": "inf", "lat": "29.005"}, "lon"),
        ({"lon": "29.005", "lat": "121.005"}, "lon"),  # swapped
        ({"lon": "200", "lat": "29"}, "lon"),
        ({"lon": "121", "lat": "-95"}, "lat"),
        ({"lon": "10", "lat": "10"}, "lon"),  # far outside the service area
        ({"lon": "121.005", "lat": "29.005", "crs": "mars"}, "crs"),
        ({"lon": "121.005", "lat": "29.005", "matter": "XX-999"}, "matter"),
        ({"lon": "121.005", "lat": "29.005", "at": "yesterday"}, "at"),
    ],
)
def test_route_caller_mistakes_are_400_naming_the_field(client, tiny_county, params, field):
    get_400(client, f"{API}/route/", field, **params)


def test_route_missing_coordinates_say_required(client, tiny_county):
    body = client.get(f"{API}/route/").json()
    assert set(body) == {"lon", "lat"}
    assert "必填" in body["lon"][0]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_route_converts_chinese_datums_to_the_same_cell(client, tiny_county, crs):
    lon, lat = 121.015, 29.025  # middle of cell (1, 2)
    sent_lon, sent_lat = from_wgs84(lon, lat, crs)
    assert math.dist((sent_lon, sent_lat), (lon, lat)) > 0.001  # hundreds of metres apart
    body = get_ok(client, f"{API}/route/", lon=repr(sent_lon), lat=repr(sent_lat), crs=crs)
    assert body["cell"]["code"] == tiny_county.cells[(1, 2)].code
    assert body["input"]["crs"] == crs
    assert math.dist((body["point"]["lon"], body["point"]["lat"]), (lon, lat)) < 1e-6


def test_route_at_a_time_before_any_coverage(client, tiny_county):
    before = (timezone.now() - timedelta(days=60)).isoformat()
    body = get_ok(client, f"{API}/route/", lon="121.005", lat="29.005", at=before)
    assert body["routed"] is False and body["coverage_version"] is None


# --- Schema and docs ---------------------------------------------------------------------------------------


ENDPOINTS = [
    "/api/v1/regions/",
    "/api/v1/regions/{code}/",
    "/api/v1/cells/",
    "/api/v1/cells/{code}/",
    "/api/v1/teams/",
    "/api/v1/teams/{code}/",
    "/api/v1/coverage-versions/",
    "/api/v1/coverage-versions/{id}/",
    "/api/v1/zones/",
    "/api/v1/zones/{id}/",
    "/api/v1/matters/",
    "/api/v1/matters/{code}/",
    "/api/v1/route/",
]


@pytest.mark.django_db
def test_schema_is_valid_openapi_3_with_every_endpoint(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    assert set(ENDPOINTS) <= set(schema["paths"])
    route_params = {p["name"] for p in schema["paths"]["/api/v1/route/"]["get"]["parameters"]}
    assert {"lon", "lat", "matter", "crs"} <= route_params
    cell_params = {p["name"] for p in schema["paths"]["/api/v1/cells/"]["get"]["parameters"]}
    assert {"bbox", "village", "township", "zoom", "at", "page", "page_size"} <= cell_params
    as_json = client.get("/api/schema/", {"format": "json"})
    assert (
        as_json.status_code == 200 and json.loads(as_json.content)["paths"].keys() == schema["paths"].keys()
    )


@pytest.mark.django_db
def test_docs_page_uses_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls, html
    assert all(u.startswith("/static/") for u in urls), urls
    assert "//cdn" not in html and "unpkg" not in html and "jsdelivr" not in html
