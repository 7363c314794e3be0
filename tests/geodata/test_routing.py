"""Routing edge cases on the tiny county (see tests/factories.py for its map)."""

from datetime import timedelta

import numpy as np
import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from geodata.coords import from_wgs84, to_wgs84
from geodata.models import CoverageVersion, EnforcementZone, GridCell, Matter, ZoneCell
from geodata.routing import (
    TRIAGE_NO_COVERAGE,
    TRIAGE_NO_TEAM,
    TRIAGE_OUTSIDE_GRID,
    RoutingError,
    route,
    route_many,
)


def reason_codes(result):
    return [r.code for r in result.reasons]


def test_point_inside_a_cell(tiny_county):
    """
    29.01 ┌──────┐
          │  •   │   (121.005, 29.005): inside cell (0,0), village W-S, team 一中队
    29.00 └──────┘
       121.00  121.01
    """
    result = route(121.005, 29.005)
    assert result.routed
    assert result.cell["code"] == tiny_county.cells[(0, 0)].code
    assert result.village["code"] == "330225001001"
    assert result.township["name"] == "丹东街道"
    assert result.team["code"] == "zh-1"
    assert result.coverage_version["id"] == tiny_county.version.id
    assert reason_codes(result) == ["cell", "region", "matter_none", "zone", "team"]
    assert "综合行政执法一中队" in result.reasons[-1].text


def test_point_on_shared_edge_gets_lowest_code(tiny_county):
    """
    ┌──────┬──────┐
    │(0,0) •(1,0) │   x = 121.01 is the edge shared by cells (0,0) and (1,0):
    └──────┴──────┘   both cover the point, the lower code wins, every time.
    """
    a, b = tiny_county.cells[(0, 0)], tiny_county.cells[(1, 0)]
    expected = min(a.code, b.code)
    for _ in range(3):
        result = route(121.01, 29.005)
        assert result.cell["code"] == expected
        assert reason_codes(result)[0] == "cell_tie_break"
        assert "2 个网格" in result.reasons[0].text


def test_point_on_township_border_edge(tiny_county):
    """
    │ W (1,0) • E (2,0) │   x = 121.02 separates the townships (and teams):
                            the point goes to the lower code, 丹东街道 (330225001…).
    """
    result = route(121.02, 29.015)
    assert result.cell["code"] == tiny_county.cells[(1, 1)].code
    assert result.team["code"] == "zh-1"


def test_point_on_shared_vertex_of_four_cells(tiny_county):
    """
    ┌──────┬──────┐
    │(1,2) │(2,2) │
    ├──────•──────┤   (121.02, 29.02) is a vertex of four cells in four villages
    │(1,1) │(2,1) │   and two townships: exactly one wins, the lowest code.
    └──────┴──────┘
    """
    four = [tiny_county.cells[k] for k in [(1, 1), (2, 1), (1, 2), (2, 2)]]
    result = route(121.02, 29.02)
    assert result.cell["code"] == min(c.code for c in four)
    assert "4 个网格" in result.reasons[0].text


def test_points_on_outer_boundary_and_corner_are_inside(tiny_county):
    """The county's outer edge and corner belong to the cells they bound (covers, not contains)."""
    assert route(121.0, 29.0).cell["code"] == tiny_county.cells[(0, 0)].code
    assert route(121.04, 29.04).cell["code"] == tiny_county.cells[(3, 3)].code
    assert route(121.025, 29.0).cell["code"] == tiny_county.cells[(2, 0)].code


@pytest.mark.parametrize("lon, lat", [(120.999999, 29.005), (121.05, 29.05), (121.02, 28.99), (121.5, 29.5)])
def test_point_outside_the_grid_goes_to_triage(tiny_county, lon, lat):
    result = route(lon, lat)
    assert not result.routed
    assert result.cell is None and result.team is None
    assert result.triage_queue == TRIAGE_OUTSIDE_GRID
    assert reason_codes(result) == ["outside_grid"]


def test_point_in_a_hole_goes_to_triage(tiny_county):
    """
    ┌─────────────┐
    │   ┌─────┐   │   cell (0,0) redrawn with a hole (121.003–121.007, 29.003–29.007) that
    │   │  •  │   │   no cell covers: the point in the hole is outside the grid; the hole's
    │   └─────┘   │   edge still belongs to the cell.
    └─────────────┘
    """
    cell = tiny_county.cells[(0, 0)]
    shell = ((121.0, 29.0), (121.01, 29.0), (121.01, 29.01), (121.0, 29.01), (121.0, 29.0))
    hole = ((121.003, 29.003), (121.003, 29.007), (121.007, 29.007), (121.007, 29.003), (121.003, 29.003))
    cell.geom = MultiPolygon(Polygon(shell, hole), srid=4326)
    cell.save()
    assert route(121.005, 29.005).triage_queue == TRIAGE_OUTSIDE_GRID
    assert route(121.003, 29.005).cell["code"] == cell.code
    assert route(121.001, 29.001).cell["code"] == cell.code


def test_township_matter_goes_to_comprehensive_team(tiny_county):
    result = route(121.035, 29.035, matter="ZH-001")
    assert result.team["code"] == "zh-2"
    assert result.matter["code"] == "ZH-001"
    assert "matter" in reason_codes(result)


def test_delegated_professional_matter_goes_to_comprehensive_team(tiny_county):
    """A 市场监管 matter delegated to townships is handled by the township team, not the county."""
    result = route(121.005, 29.005, matter="SC-101")
    assert result.team["code"] == "zh-1"
    assert "已赋权乡镇" in next(r.text for r in result.reasons if r.code == "matter")


def test_county_matter_goes_to_department_team(tiny_county):
    result = route(121.005, 29.005, matter="SC-001")
    assert result.team["code"] == "market"
    assert result.zone["domain"] == "market"
    assert "市场监管" in next(r.text for r in result.reasons if r.code == "matter")


def test_reasons_follow_the_callers_language_lookup_by_lookup(tiny_county):
    """route() reads the language once per lookup and caches texts per language: an English
    lookup between two Chinese ones gets English reasons and domain names, and neither leaks into
    the other."""
    from django.utils import translation

    def matter_text() -> str:
        return next(r.text for r in route(121.005, 29.005, matter="SC-001").reasons if r.code == "matter")

    chinese = matter_text()
    with translation.override("en"):
        english = matter_text()
        cell = route(121.005, 29.005).reasons[0].text
    assert "市场监管" in chinese and chinese == matter_text()
    assert english.startswith("Matter SC-001") and "Market regulation" in english  # the name is data
    assert cell.startswith("The point")


def test_county_matter_without_jurisdiction_goes_to_triage(tiny_county):
    """渔业 has a team but no zone: the cell is known, no team is, so a person decides."""
    result = route(121.005, 29.005, matter="YY-001")
    assert not result.routed
    assert result.cell is not None
    assert result.team is None
    assert result.triage_queue == TRIAGE_NO_TEAM


def test_unknown_and_inactive_matter_are_refused(tiny_county):
    with pytest.raises(RoutingError) as err:
        route(121.005, 29.005, matter="NOPE-1")
    assert err.value.field == "matter"
    Matter.objects.filter(code="ZH-001").update(active=False)
    from geodata.revision import geodata_revision_bump

    geodata_revision_bump()
    with pytest.raises(RoutingError):
        route(121.005, 29.005, matter="ZH-001")


def test_no_published_coverage_goes_to_triage(tiny_county):
    CoverageVersion.objects.update(status=CoverageVersion.Status.DRAFT)
    result = route(121.005, 29.005)
    assert result.cell is not None
    assert result.triage_queue == TRIAGE_NO_COVERAGE


def test_routing_uses_the_version_in_force_at_the_time(tiny_county):
    """A new version effective tomorrow gives cell (0,0) to 二中队; today it is still 一中队."""
    tomorrow = timezone.now() + timedelta(days=1)
    v2 = CoverageVersion.objects.create(
        name="2027 版",
        status=CoverageVersion.Status.PUBLISHED,
        effective_from=tomorrow,
        published_at=timezone.now(),
    )
    zone = EnforcementZone.objects.create(
        version=v2, team=tiny_county.teams["E"], name="全域", domain="comprehensive"
    )
    ZoneCell.objects.bulk_create(ZoneCell(zone=zone, cell=c) for c in tiny_county.cells.values())
    assert route(121.005, 29.005).team["code"] == "zh-1"
    later = route(121.005, 29.005, at=tomorrow + timedelta(hours=1))
    assert later.team["code"] == "zh-2"
    assert later.coverage_version["id"] == v2.id


def test_expired_cell_is_not_routed(tiny_county):
    cell = tiny_county.cells[(0, 0)]
    cell.valid_to = timezone.localdate()
    cell.save()
    assert route(121.005, 29.005).triage_queue == TRIAGE_OUTSIDE_GRID
    yesterday = timezone.now() - timedelta(days=1)
    assert route(121.005, 29.005, at=yesterday).cell["code"] == cell.code


def test_overlapping_zones_are_flagged_and_resolved_deterministically(tiny_county):
    """Cell (0,0) also put in 二中队's zone: routing still answers, names the overlap."""
    ZoneCell.objects.create(zone=tiny_county.zones["E"], cell=tiny_county.cells[(0, 0)])
    result = route(121.005, 29.005)
    assert result.team["code"] == "zh-1"  # the zone with the lower id
    assert "zone_overlap" in reason_codes(result)


def test_index_notices_changes(tiny_county):
    assert route(121.005, 29.005).team["code"] == "zh-1"
    ZoneCell.objects.filter(zone=tiny_county.zones["W"], cell=tiny_county.cells[(0, 0)]).delete()
    assert route(121.005, 29.005).triage_queue == TRIAGE_NO_TEAM


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_gcj02_and_bd09_input_route_like_wgs84(tiny_county, crs):
    """A phone on a GCJ-02 (or BD-09) basemap reports the same place in shifted coordinates."""
    lon, lat = 121.015, 29.025
    shifted = from_wgs84(lon, lat, crs)
    assert abs(shifted[0] - lon) > 0.001  # the shift is hundreds of metres
    back = to_wgs84(*shifted, crs)
    assert abs(back[0] - lon) < 1e-6 and abs(back[1] - lat) < 1e-6
    assert route(*back).cell["code"] == route(lon, lat).cell["code"]


def test_route_many_matches_route(tiny_county):
    rng = np.random.default_rng(1)
    lons = np.concatenate([rng.uniform(120.995, 121.045, 300), [121.01, 121.02, 121.0, 121.5]])
    lats = np.concatenate([rng.uniform(28.995, 29.045, 300), [29.005, 29.02, 29.0, 29.5]])
    cell_ids, team_ids = route_many(lons, lats)
    for i in range(len(lons)):
        single = route(float(lons[i]), float(lats[i]))
        assert cell_ids[i] == (single.cell["id"] if single.cell else 0)
        assert team_ids[i] == (single.team["id"] if single.team else 0)


def test_route_many_by_county_matter(tiny_county):
    cell_ids, team_ids = route_many([121.005, 121.035, 121.5], [29.005, 29.035, 29.5], matter="SC-001")
    market = tiny_county.teams["market"].id
    assert list(team_ids) == [market, market, 0]
    assert cell_ids[2] == 0 and GridCell.objects.filter(id=cell_ids[0]).exists()
