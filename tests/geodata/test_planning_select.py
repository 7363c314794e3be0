"""Selecting whole cells for the planner page: geodata.planning.cells_in and
POST /api/v1/coverage-versions/{id}/cells-in/ (+ GET …/membership/).

The tiny county (tests/factories.py), cells of 0.01° from 121.00 E, 29.00 N; (x, y) = column, row:

    lat 29.04 ┌──────┬──────┬──────┬──────┐
              │ 0,3  │ 1,3  │ 2,3  │ 3,3  │   丹东街道 330225001: x 0–1 (villages …001 S, …002 N)
    lat 29.03 ├──────┼──────┼──────┼──────┤   石浦镇   330225101: x 2–3
              │ 0,2  │ 1,2  │ 2,2  │ 3,2  │
    lat 29.02 ├──────┼──────┼──────┼──────┤
              │ 0,1  │ 1,1  │ 2,1  │ 3,1  │
    lat 29.01 ├──────┼──────┼──────┼──────┤
              │ 0,0  │ 1,0  │ 2,0  │ 3,0  │
    lat 29.00 └──────┴──────┴──────┴──────┘
           121.00  121.01  121.02  121.03  121.04

Rule: a cell is in when at least half of its area lies inside the polygon; touching along an edge
or at a corner puts nothing inside, so it is out.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from geodata import planning
from geodata.errors import FieldError
from geodata.planning import MAX_SELECTION_VERTICES, cells_in


def box(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def ids(county, *keys) -> list[int]:
    """Ids of the cells at the given (x, y), in cell-code order (the order cells_in answers in)."""
    cells = sorted((county.cells[k] for k in keys), key=lambda c: c.code)
    return [c.pk for c in cells]


def url(version) -> str:
    return f"/api/v1/coverage-versions/{version.pk}/cells-in/"


# --- the half-area rule ----------------------------------------------------------------------------


def test_a_polygon_on_one_cells_outline_selects_that_cell_only(tiny_county):
    """The outline of (2, 0) shares edges with (1, 0), (3, 0), (2, 1) and corners with (1, 1), (3, 1):

    ┌──────┬──────┬──────┐
    │ 1,1  │ 2,1  │ 3,1  │
    ├──────╆━━━━━━╅──────┤
    │ 1,0  ┃▓▓▓▓▓▓┃ 3,0  │   ▓ = polygon = cell (2, 0)
    └──────┺━━━━━━┹──────┘
    """
    assert cells_in(polygon=box(121.02, 29.0, 121.03, 29.01)) == ids(tiny_county, (2, 0))


def test_exactly_half_inside_is_in_and_a_hair_less_is_out(tiny_county):
    """West half of (1, 0): exactly 50 % → in. The same minus 1/100 of the width: 49.5 % → out.

    121.01  121.015  121.02
      ┌───────┬───────┐
      │▓▓▓▓▓▓▓│       │  (1, 0)
      └───────┴───────┘
    """
    assert cells_in(polygon=box(121.01, 29.0, 121.015, 29.01)) == ids(tiny_county, (1, 0))
    assert cells_in(polygon=box(121.01, 29.0, 121.0149, 29.01)) == []


def test_a_diagonal_half_is_in(tiny_county):
    """The triangle below the diagonal of (0, 0) is half its area.

    ┌──────╱
    │    ╱▓│
    │  ╱▓▓▓│   (0, 0)
    │╱▓▓▓▓▓│
    └──────┘
    """
    triangle = {
        "type": "Polygon",
        "coordinates": [[[121.0, 29.0], [121.01, 29.0], [121.01, 29.01], [121.0, 29.0]]],
    }
    assert cells_in(polygon=triangle) == ids(tiny_county, (0, 0))


def test_a_polygon_across_cells_takes_those_mostly_inside(tiny_county):
    """A square x 121.004 → 121.016, y 29.004 → 29.016 over the corner the four cells (0–1, 0–1)
    share has 0.006 × 0.006 of each inside (36 %): none is selected. The band below, x 121.004 →
    121.016, y 29.00 → 29.01, has 60 % of (0, 0) and 60 % of (1, 0): both are.

        121.00  121.004   121.01   121.016  121.02
          ┌───────┬─────────┬────────┬───────┐
          │       │▓▓▓▓▓▓▓▓▓│▓▓▓▓▓▓▓▓│       │  y 29.00 → 29.01
          └───────┴─────────┴────────┴───────┘
    """
    assert cells_in(polygon=box(121.004, 29.004, 121.016, 29.016)) == []
    assert cells_in(polygon=box(121.004, 29.0, 121.016, 29.01)) == ids(tiny_county, (0, 0), (1, 0))


def test_touching_at_a_corner_or_outside_the_county_selects_nothing(tiny_county):
    """A square north-east of the county meeting (3, 3) at its corner (121.04, 29.04); another far
    outside the county.

                      ┌────┐
                      │▓▓▓▓│
             ┌──────┐─┘────┘
             │ 3,3  │
    """
    assert cells_in(polygon=box(121.04, 29.04, 121.05, 29.05)) == []
    assert cells_in(polygon=box(121.5, 29.5, 121.6, 29.6)) == []


def test_a_multipolygon_and_a_polygon_with_a_hole(tiny_county):
    """Two parts, (0, 0) and (3, 3); then the whole county with a hole over (1, 1) → 15 cells."""
    multi = {
        "type": "MultiPolygon",
        "coordinates": [
            box(121.0, 29.0, 121.01, 29.01)["coordinates"],
            box(121.03, 29.03, 121.04, 29.04)["coordinates"],
        ],
    }
    assert cells_in(polygon=multi) == ids(tiny_county, (0, 0), (3, 3))
    holed = box(121.0, 29.0, 121.04, 29.04)
    holed["coordinates"].append(list(reversed(box(121.01, 29.01, 121.02, 29.02)["coordinates"][0])))
    selected = cells_in(polygon=holed)
    assert len(selected) == 15 and tiny_county.cells[(1, 1)].pk not in selected


def test_only_cells_valid_today_are_selected(tiny_county):
    retired = tiny_county.cells[(2, 0)]
    retired.valid_to = timezone.localdate()
    retired.save(update_fields=["valid_to"])
    assert cells_in(polygon=box(121.02, 29.0, 121.04, 29.01)) == ids(tiny_county, (3, 0))
    assert cells_in(
        polygon=box(121.02, 29.0, 121.04, 29.01), on=timezone.localdate() - timedelta(days=1)
    ) == ids(tiny_county, (2, 0), (3, 0))


# --- regions ---------------------------------------------------------------------------------------


def test_regions_select_every_cell_of_townships_and_villages(tiny_county):
    west = tiny_county.townships["W"].code
    east_north = tiny_county.villages["E-N"].code
    assert cells_in(regions=[west]) == ids(tiny_county, *[(x, y) for x in (0, 1) for y in range(4)])
    assert cells_in(regions=[east_north]) == ids(tiny_county, *[(x, y) for x in (2, 3) for y in (2, 3)])
    both = cells_in(regions=[west, east_north, west])
    assert len(both) == 12 and set(both) == set(cells_in(regions=[west])) | set(
        cells_in(regions=[east_north])
    )


@pytest.mark.parametrize(
    ("regions", "says"),
    [
        (["330225999"], "330225999"),  # no such township
        (["330225"], "330225"),  # the county itself is not a selectable unit
        ([], "至少"),
        ("330225001", "至少"),  # a string, not a list
        ([330225001], "文本"),
    ],
)
def test_bad_regions_name_the_field(tiny_county, regions, says):
    with pytest.raises(FieldError) as refused:
        cells_in(regions=regions)
    assert refused.value.field == "regions" and says in refused.value.message


# --- bad polygons ----------------------------------------------------------------------------------


def bowtie() -> dict:
    """Self-intersecting: the edges cross at (121.005, 29.005).

    ╲  ╱
     ╳
    ╱  ╲
    """
    return {
        "type": "Polygon",
        "coordinates": [[[121.0, 29.0], [121.01, 29.01], [121.01, 29.0], [121.0, 29.01], [121.0, 29.0]]],
    }


def too_many_vertices() -> dict:
    n = MAX_SELECTION_VERTICES
    ring = [[121.0 + 0.01 * i / n, 29.0 + 0.0001 * (i % 2)] for i in range(n)]
    ring += [[121.01, 29.01], [121.0, 29.01], ring[0]]
    return {"type": "Polygon", "coordinates": [ring]}


def swapped() -> dict:
    shape = box(121.0, 29.0, 121.01, 29.01)
    shape["coordinates"] = [[[lat, lon] for lon, lat in shape["coordinates"][0]]]
    return shape


@pytest.mark.parametrize(
    ("polygon", "says"),
    [
        (bowtie(), "自相交"),
        (too_many_vertices(), "顶点过多"),
        (swapped(), "颠倒"),
        (box(200.0, 29.0, 201.0, 29.01), "超出范围"),
        ({"type": "Polygon", "coordinates": [[[121.0, 29.0], [121.01, 29.0], [121.01, 29.01]]]}, "闭合"),
        ({"type": "Point", "coordinates": [121.0, 29.0]}, "Polygon"),
        ({"type": "Polygon", "coordinates": []}, "没有坐标"),
        (
            {
                "type": "Polygon",
                "coordinates": [[["121", 29.0], [121.01, 29.0], [121.0, 29.01], ["121", 29.0]]],
            },
            "两个数字",
        ),
        ("POLYGON((121 29, 121.01 29, 121 29.01, 121 29))", "Polygon"),
    ],
    ids=[
        "self-intersection",
        "too-many-vertices",
        "swapped",
        "out-of-range",
        "open-ring",
        "point",
        "empty",
        "string-number",
        "wkt",
    ],
)
def test_bad_polygons_name_the_field(tiny_county, polygon, says):
    with pytest.raises(FieldError) as refused:
        cells_in(polygon=polygon)
    assert refused.value.field == "polygon" and says in refused.value.message, refused.value.message


def test_exactly_one_of_polygon_and_regions(tiny_county):
    for kwargs in ({}, {"polygon": box(121.0, 29.0, 121.01, 29.01), "regions": ["330225001"]}):
        with pytest.raises(FieldError) as refused:
            cells_in(**kwargs)
        assert refused.value.field == "polygon"


# --- API ---------------------------------------------------------------------------------------------


def test_api_answers_cells_and_count(tiny_county, api):
    answer = api.post(url(tiny_county.version), {"polygon": box(121.0, 29.0, 121.02, 29.01)}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"cells": ids(tiny_county, (0, 0), (1, 0)), "count": 2}
    answer = api.post(
        url(tiny_county.version), {"regions": [tiny_county.villages["W-S"].code]}, format="json"
    )
    assert answer.json()["count"] == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"polygon": bowtie()}, "polygon"),
        ({"polygon": too_many_vertices()}, "polygon"),
        ({"polygon": swapped()}, "polygon"),
        ({"polygon": box(121.0, 95.0, 121.01, 95.01)}, "polygon"),
        ({"regions": ["999999999"]}, "regions"),
        ({}, "polygon"),
    ],
)
def test_api_refuses_bad_input_with_a_field_message(tiny_county, api, body, field):
    answer = api.post(url(tiny_county.version), body, format="json")
    assert answer.status_code == 400, answer.content
    assert list(answer.json()) == [field] and answer.json()[field][0]


def test_api_is_for_planners_only(tiny_county, db):
    body = {"polygon": box(121.0, 29.0, 121.01, 29.01)}
    anonymous = APIClient().post(url(tiny_county.version), body, format="json")
    assert anonymous.status_code in (401, 403)
    someone = User.objects.create_user("dispatcher-x", password="x")
    client = APIClient()
    client.force_authenticate(someone)
    assert client.post(url(tiny_county.version), body, format="json").status_code == 403
    assert client.get(f"/api/v1/coverage-versions/{tiny_county.version.pk}/membership/").status_code == 403


def test_api_unknown_version_is_404(tiny_county, api):
    answer = api.post("/api/v1/coverage-versions/987654/cells-in/", {"regions": ["330225001"]}, format="json")
    assert answer.status_code == 404


def test_membership_lists_zones_with_cell_ids_and_the_revision(tiny_county, api, planner):
    draft = planning.draft_create(name="草稿", actor=planner)
    west = draft.zones.get(team=tiny_county.teams["W"])
    moved = tiny_county.cells[(1, 0)].pk
    keep = [c for c in west.zone_cells.values_list("cell_id", flat=True) if c != moved]
    planning.zone_set_cells(zone=west, cell_ids=keep, expected_revision=0)

    answer = api.get(f"/api/v1/coverage-versions/{draft.pk}/membership/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["version"]["id"] == draft.pk and body["version"]["revision"] == 1
    assert body["version"]["status"] == "draft"
    zones = {z["team"]["code"]: z for z in body["zones"]}
    assert set(zones) == {"zh-1", "zh-2", "market"}
    assert zones["zh-1"]["cells"] == sorted(keep) and moved not in zones["zh-1"]["cells"]
    assert len(zones["market"]["cells"]) == 16
    assert body["cells"] == {c.code: c.pk for c in tiny_county.cells.values()}
