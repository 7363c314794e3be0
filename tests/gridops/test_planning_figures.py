"""Coverage-planning figures and the pre-publish diff (gridops.selectors.planning + API).

The tiny county (tests/factories.py; cells of 0.01°, origin 121.00 E 29.00 N), with the reports
used here (Rn = report n; * = team base; ═ = a cell the draft moves from 一中队 to 二中队;
# = a cell the draft takes out of the 市场监管 zone):

    lat 29.04 ┌──────┬──────┬──────┬──────┐
              │ R9   │      │      │R10 # │   y=3     W zone (一中队 zh-1, comprehensive): x 0–1
    lat 29.03 ├──────┼──────┼──────┼──────┤           E zone (二中队 zh-2, comprehensive): x 2–3
              │ R13  │ R2  R4 R11  │      │   y=2     market zone (市场监管): all 16 cells
    lat 29.02 ├──────┼─────R5──────┼──────┤           zh-1 base * at the centre of (0,0),
              │ R1   │ ═    │      │ R8   │   y=1     zh-2 base * at the centre of (3,3),
    lat 29.01 ├──────┼──────┼──────┼──────┤           market has no base
              │ *R3  │ ═ R6 │      │ R7   │   y=0
    lat 29.00 └──────┴──────┴──────┴──────┘           R12 lies outside the grid (121.05, 29.05)
           121.00  121.01  121.02  121.03  121.04
              x=0     x=1     x=2     x=3

R4 lies on the edge x = 121.02 between (1,2) and (2,2); R5 on the corner of (1,1), (2,1), (1,2),
(2,2): routing gives each the lowest-code cell, a W cell, so each counts once, in W.
"""

from datetime import timedelta
from math import cos, radians, sin, sqrt

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.gis.geos import Point
from django.urls import resolve, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from geodata import planning
from geodata.models import CoverageVersion, Domain, EnforcementZone, Officer, Team, ZoneCell
from geodata.routing import route
from gridops.models import Report
from gridops.selectors.planning import DIFF_LIST_CAP, coverage_draft_diff, coverage_zone_figures
from gridops.services.reports import apply_route

# --- hand arithmetic on the WGS-84 ellipsoid (local radii at the mid-latitude) ---------------------

WGS84_A, WGS84_E2 = 6378137.0, 0.00669437999014


def _radii(lat: float) -> tuple[float, float]:
    """(meridional M, prime-vertical N) radii of curvature in metres at latitude `lat`."""
    w = 1 - WGS84_E2 * sin(radians(lat)) ** 2
    return WGS84_A * (1 - WGS84_E2) / w**1.5, WGS84_A / sqrt(w)


def rect_km2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    m, n = _radii((lat0 + lat1) / 2)
    return m * radians(lat1 - lat0) * n * cos(radians((lat0 + lat1) / 2)) * radians(lon1 - lon0) / 1e6


def dist_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    mid = (a[1] + b[1]) / 2
    m, n = _radii(mid)
    dx = n * cos(radians(mid)) * radians(b[0] - a[0])
    dy = m * radians(b[1] - a[1])
    return sqrt(dx * dx + dy * dy) / 1000


# One statement each, the diff also reading the version in force and the teams.
FIGURES_QUERIES = 1
DIFF_QUERIES = 3


def close(value: float, expected: float, rel: float = 0.01) -> bool:
    return abs(value - expected) <= rel * abs(expected)


# --- fixture ---------------------------------------------------------------------------------------


def per_month(n: int) -> float:
    return round(n * 30 / 90, 2)


def _report(
    tc, lon: float, lat: float, *, ago: timedelta, status=Report.Status.NEW, matter=None, now
) -> Report:
    """A report routed now (the tiny version is in force) and received `ago` before `now`."""
    matter = tc.matters[matter] if matter else None
    report = Report(source=Report.Source.GRID_WORKER, point=Point(lon, lat, srid=4326), matter=matter)
    apply_route(report, route(lon, lat, matter=matter.code if matter else None).as_dict())
    report.received_at = now - ago
    if report.routed or status != Report.Status.NEW:
        report.status = status
    report.save()
    return report


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def county(tiny_county, now):
    tc = tiny_county
    Officer.objects.create(team=tc.teams["W"], name="甲", status=Officer.Status.STAFF)
    Officer.objects.create(team=tc.teams["W"], name="乙", status=Officer.Status.AUXILIARY)
    Officer.objects.create(team=tc.teams["E"], name="丙", status=Officer.Status.STAFF)
    Officer.objects.create(team=tc.teams["fishery"], name="丁", status=Officer.Status.STAFF)
    d = timedelta(days=1)
    s = Report.Status
    r = {
        1: _report(tc, 121.005, 29.015, ago=10 * d, now=now),
        2: _report(tc, 121.015, 29.025, ago=90 * d - timedelta(hours=1), status=s.CLOSED, now=now),
        3: _report(tc, 121.005, 29.005, ago=90 * d + timedelta(hours=1), now=now),
        4: _report(tc, 121.02, 29.025, ago=3 * d, now=now),
        5: _report(tc, 121.02, 29.02, ago=2 * d, now=now),
        6: _report(tc, 121.015, 29.005, ago=20 * d, status=s.CLOSED, now=now),
        7: _report(tc, 121.035, 29.005, ago=5 * d, now=now),
        8: _report(tc, 121.035, 29.015, ago=6 * d, matter="food", now=now),
        9: _report(tc, 121.005, 29.035, ago=7 * d, matter="delegated_market", status=s.CLOSED, now=now),
        10: _report(tc, 121.035, 29.035, ago=8 * d, matter="food", now=now),
        11: _report(tc, 121.025, 29.025, ago=4 * d, matter="fishing", status=s.TRIAGE, now=now),
        12: _report(tc, 121.05, 29.05, ago=1 * d, status=s.TRIAGE, now=now),
        13: _report(tc, 121.005, 29.025, ago=9 * d, now=now),
    }
    # A dispatcher handed R13 to 二中队 although its cell is 一中队's.
    Report.objects.filter(pk=r[13].pk).update(team=tc.teams["E"])
    tc.reports = r
    return tc


def test_the_fixture_is_routed_as_drawn(county):
    r, c, t = county.reports, county.cells, county.teams
    assert r[4].cell_id == c[(1, 2)].pk and r[5].cell_id == c[(1, 1)].pk  # edge and corner → W cells
    assert r[8].team_id == t["market"].pk and r[9].team_id == t["W"].pk  # county vs delegated matter
    assert r[9].matter.domain == Domain.MARKET
    assert not r[11].routed and r[11].cell_id == c[(2, 2)].pk
    assert not r[12].routed and r[12].cell_id is None


# --- per-zone figures -------------------------------------------------------------------------------


def test_zone_figures_match_the_hand_worked_values(county, now, django_assert_max_num_queries):
    with django_assert_max_num_queries(FIGURES_QUERIES):
        figures = coverage_zone_figures(version=county.version, now=now)
    assert figures["window_days"] == 90
    assert figures["version"] == {
        "id": county.version.pk,
        "name": "2026 版",
        "status": "published",
        "revision": 0,
    }
    zones = {z["team"]["code"]: z for z in figures["zones"]}
    assert set(zones) == {"zh-1", "zh-2", "market"}
    west, east, market = zones["zh-1"], zones["zh-2"], zones["market"]

    assert west["cells"] == east["cells"] == 8 and market["cells"] == 16
    assert close(west["area_km2"], rect_km2(121.00, 29.00, 121.02, 29.04))
    assert close(east["area_km2"], rect_km2(121.02, 29.00, 121.04, 29.04))
    assert close(market["area_km2"], rect_km2(121.00, 29.00, 121.04, 29.04))
    assert 8.5 < west["area_km2"] < 8.7  # ~2.17 km2 a cell at 29° N: degrees would give 0.0008

    # 一中队's base (121.005, 29.005): the farthest corner of x 0–1 is (121.02, 29.04).
    assert close(west["base_to_farthest_cell_km"], dist_km((121.005, 29.005), (121.02, 29.04)))
    # 二中队's base (121.035, 29.035): the farthest corner of x 2–3 is (121.02, 29.00).
    assert close(east["base_to_farthest_cell_km"], dist_km((121.035, 29.035), (121.02, 29.00)))
    assert west["base_to_farthest_cell_km"] > dist_km((121.005, 29.005), (121.00, 29.04))
    assert market["base_to_farthest_cell_km"] is None  # no base

    assert west["townships"] == [{"code": "330225001", "name": "丹东街道"}]
    assert east["townships"] == [{"code": "330225101", "name": "石浦镇"}]
    assert [t["code"] for t in market["townships"]] == ["330225001", "330225101"]

    assert (west["officers"], east["officers"], market["officers"]) == (2, 1, 0)
    # W: R1 R2 (just inside 90 days) R4 (edge) R5 (corner) R6 R9 (township-handled market matter) R13
    # (in W's cell whoever holds it now); not R3 (just outside 90 days). E: R7 only — R11 (fishery)
    # has no fishery zone. market: R8 R10 (county-handled). R12 is in no cell.
    assert (west["reports_90d"], east["reports_90d"], market["reports_90d"]) == (7, 1, 2)
    assert west["reports_per_officer"] == 3.5 and east["reports_per_officer"] == 1.0
    assert market["reports_per_officer"] is None

    teams = {t["code"]: t for t in figures["teams"]}
    assert set(teams) == {"zh-1", "zh-2", "market"}  # 渔业 has officers but no zone
    assert teams["zh-1"] == {
        "code": "zh-1",
        "name": "综合行政执法一中队",
        "domain": "comprehensive",
        "zones": 1,
        "cells": 8,
        "officers": 2,
        "reports_90d": 7,
        "reports_per_officer": 3.5,
    }
    assert figures["balance"] == {"max_per_officer": 3.5, "min_per_officer": 1.0, "ratio": 3.5}


def test_team_figures_sum_over_its_zones_and_the_window_follows_now(county, now):
    draft = planning.draft_create(name="拆分", actor=None)
    west = EnforcementZone.objects.get(version=draft, team=county.teams["W"])
    north = [county.cells[(x, y)].pk for x in (0, 1) for y in (2, 3)]
    planning.zone_split(zone=west, cell_ids=north, name="一中队北片", expected_revision=0)
    draft.refresh_from_db()
    figures = coverage_zone_figures(version=draft, now=now)
    w_zones = sorted((z for z in figures["zones"] if z["team"]["code"] == "zh-1"), key=lambda z: z["name"])
    # north: R2 R4 R9 R13; south: R1 R5 R6
    assert [(z["name"], z["cells"], z["reports_90d"]) for z in w_zones] == [
        ("一中队北片", 4, 4),
        ("综合行政执法一中队片区", 4, 3),
    ]
    assert close(w_zones[0]["area_km2"], rect_km2(121.00, 29.02, 121.02, 29.04))
    team = next(t for t in figures["teams"] if t["code"] == "zh-1")
    assert (team["zones"], team["cells"], team["officers"], team["reports_90d"]) == (2, 8, 2, 7)
    assert figures["version"]["status"] == "draft" and figures["version"]["revision"] == 1

    # A day later R2 (89 days 23 hours old today) has left the window.
    later = coverage_zone_figures(version=county.version, now=now + timedelta(days=1))
    assert next(z for z in later["zones"] if z["team"]["code"] == "zh-1")["reports_90d"] == 6


def test_figures_cost_one_query_however_many_zones(county, now, django_assert_max_num_queries):
    """Six one-cell 渔业 zones made without a polygon (not through the planning services): the
    distance falls back to the cells. The base sits on the county's south-west corner."""
    Team.objects.filter(pk=county.teams["fishery"].pk).update(base=Point(121.0, 29.0, srid=4326))
    for i in range(6):
        zone = EnforcementZone.objects.create(
            version=county.version, team=county.teams["fishery"], name=f"渔业{i}", domain=Domain.FISHERY
        )
        ZoneCell.objects.create(zone=zone, cell=county.cells[(i % 4, i // 4)])
    with django_assert_max_num_queries(FIGURES_QUERIES):
        figures = coverage_zone_figures(version=county.version, now=now)
    fishery = sorted((z for z in figures["zones"] if z["domain"] == "fishery"), key=lambda z: z["name"])
    assert len(fishery) == 6
    for i, zone in enumerate(fishery):
        far_corner = (121.0 + 0.01 * (i % 4 + 1), 29.0 + 0.01 * (i // 4 + 1))
        assert close(zone["base_to_farthest_cell_km"], dist_km((121.0, 29.0), far_corner)), zone["name"]
        assert close(zone["area_km2"], rect_km2(121.0, 29.0, 121.01, 29.01), rel=0.02)
    assert next(t for t in figures["teams"] if t["code"] == "fishery")["zones"] == 6
    # R11 (fishery matter) lies in (2,2), which none of these zones holds.
    assert sum(z["reports_90d"] for z in fishery) == 0


def test_empty_zone_and_no_officers(county, now):
    EnforcementZone.objects.create(version=county.version, team=county.teams["market"], name="空片区")
    zone = next(
        z for z in coverage_zone_figures(version=county.version, now=now)["zones"] if z["name"] == "空片区"
    )
    assert zone["cells"] == 0 and zone["area_km2"] == 0 and zone["townships"] == []
    assert zone["base_to_farthest_cell_km"] is None and zone["reports_per_officer"] is None


def test_balance_is_null_without_officers(tiny_county, now):
    figures = coverage_zone_figures(version=tiny_county.version, now=now)
    assert figures["balance"] == {"max_per_officer": None, "min_per_officer": None, "ratio": None}


# --- the pre-publish diff ---------------------------------------------------------------------------


@pytest.fixture
def draft(county):
    """Cells (1,0) and (1,1) move from 一中队 to 二中队; (3,3) leaves the market zone (a gap)."""
    draft = planning.draft_create(name="2027 草稿", actor=None)
    c = county.cells
    moved = {c[(1, 0)].pk, c[(1, 1)].pk}
    west = EnforcementZone.objects.get(version=draft, team=county.teams["W"])
    east = EnforcementZone.objects.get(version=draft, team=county.teams["E"])
    market = EnforcementZone.objects.get(version=draft, team=county.teams["market"])

    def cells(zone):
        return set(ZoneCell.objects.filter(zone=zone).values_list("cell_id", flat=True))

    planning.zone_set_cells(zone=west, cell_ids=cells(west) - moved, expected_revision=0)
    planning.zone_set_cells(zone=east, cell_ids=cells(east) | moved, expected_revision=1)
    planning.zone_set_cells(zone=market, cell_ids=cells(market) - {c[(3, 3)].pk}, expected_revision=2)
    draft.refresh_from_db()
    return draft


def test_diff_lists_exactly_the_cells_that_change_team(county, draft, now, django_assert_max_num_queries):
    with django_assert_max_num_queries(DIFF_QUERIES):
        diff = coverage_draft_diff(draft=draft, now=now)
    assert diff["draft"] == {"id": draft.pk, "name": "2027 草稿", "revision": 3}
    assert diff["against"]["id"] == county.version.pk  # the version in force
    c = county.cells
    zh1 = {"code": "zh-1", "name": "综合行政执法一中队"}
    zh2 = {"code": "zh-2", "name": "综合行政执法二中队"}
    market = {"code": "market", "name": "县市场监管执法队"}
    assert diff["cells_changing_team"] == [
        {"cell": {"id": c[(1, 0)].pk, "code": c[(1, 0)].code, "name": c[(1, 0)].name},
         "domain": "comprehensive", "from": zh1, "to": zh2},
        {"cell": {"id": c[(1, 1)].pk, "code": c[(1, 1)].code, "name": c[(1, 1)].name},
         "domain": "comprehensive", "from": zh1, "to": zh2},
        {"cell": {"id": c[(3, 3)].pk, "code": c[(3, 3)].code, "name": c[(3, 3)].name},
         "domain": "market", "from": market, "to": None},
    ]  # fmt: skip
    assert diff["cells_changing_team_count"] == 3


def test_diff_lists_open_cases_that_would_change_owner(county, draft, now):
    r = county.reports
    diff = coverage_draft_diff(draft=draft, now=now)
    cases = diff["open_cases_changing_owner"]
    # Oldest first: R13 (9 days, handed to 二中队 by hand: the draft's team for its cell is 一中队),
    # R10 (8 days, market matter in the cell leaving the market zone), R5 (2 days, corner report in
    # a moved cell). Not R6: closed, though in a moved cell. Not R11: in triage, no owner.
    assert [case["id"] for case in cases] == [r[13].pk, r[10].pk, r[5].pk]
    assert diff["open_cases_changing_owner_count"] == 3
    r13, r10, r5 = cases
    assert r5 == {
        "id": r[5].pk,
        "number": Report.objects.get(pk=r[5].pk).number,
        "matter": None,
        "cell": county.cells[(1, 1)].code,
        "from": {"code": "zh-1", "name": "综合行政执法一中队"},
        "to": {"code": "zh-2", "name": "综合行政执法二中队"},
        "coverage_changed": True,
    }
    assert r10["matter"] == {"code": "SC-001", "name": "无证从事食品经营"}
    assert r10["from"]["code"] == "market" and r10["to"] is None and r10["coverage_changed"]
    assert r13["from"]["code"] == "zh-2" and r13["to"]["code"] == "zh-1"
    assert r13["coverage_changed"] is False


def test_diff_monthly_workload_before_and_after(county, draft, now):
    diff = coverage_draft_diff(draft=draft, now=now)
    rows = {row["team"]["code"]: row for row in diff["monthly_workload"]}
    # Reports of the last 90 days with a cell: R1 R2 R4 R5 R6 R7 R8 R9 R10 R11 R13.
    # before: zh-1 R1 R2 R4 R5 R6 R9 R13 = 7; zh-2 R7 = 1; market R8 R10 = 2; nobody R11 = 1.
    # after:  zh-1 loses R5 R6 → 5; zh-2 gains them → 3; market keeps R8 → 1; nobody R10 R11 → 2.
    assert set(rows) == {"zh-1", "zh-2", "market"}
    assert rows["zh-1"] == {
        "team": {"code": "zh-1", "name": "综合行政执法一中队"},
        "before": per_month(7),
        "after": per_month(5),
        "delta": -0.67,
    }
    assert (rows["zh-2"]["before"], rows["zh-2"]["after"], rows["zh-2"]["delta"]) == (0.33, 1.0, 0.67)
    assert (rows["market"]["before"], rows["market"]["after"]) == (per_month(2), per_month(1))
    assert diff["unattributed"] == {"before": per_month(1), "after": per_month(2), "delta": 0.33}
    assert diff["window_days"] == 90


def test_diff_against_itself_is_empty_and_without_a_version_in_force_everything_is_new(county, draft, now):
    same = coverage_draft_diff(draft=draft, against=draft, now=now)
    assert same["cells_changing_team"] == [] and same["cells_changing_team_count"] == 0
    assert all(row["delta"] == 0 for row in same["monthly_workload"])
    # Owners are compared with the reports' current teams, not with `against`: the same three
    # cases, but none of their cells is moved by this comparison.
    r = county.reports
    cases = same["open_cases_changing_owner"]
    assert [case["id"] for case in cases] == [r[13].pk, r[10].pk, r[5].pk]
    assert not any(case["coverage_changed"] for case in cases)

    CoverageVersion.objects.filter(pk=county.version.pk).update(effective_from=now + timedelta(days=1))
    fresh = coverage_draft_diff(draft=draft, now=now)
    assert fresh["against"] is None
    assert fresh["cells_changing_team_count"] == 16 + 15  # comprehensive 16 + market 15, all from nobody
    assert all(row["from"] is None for row in fresh["cells_changing_team"])


def test_diff_lists_are_capped_but_counted(county, draft, now, monkeypatch):
    monkeypatch.setattr("gridops.selectors.planning.DIFF_LIST_CAP", 2)
    # The SQL reads the cap from the parameters, so patching the module constant is enough.
    diff = coverage_draft_diff(draft=draft, now=now)
    assert len(diff["cells_changing_team"]) == 2 and diff["cells_changing_team_count"] == 3
    assert len(diff["open_cases_changing_owner"]) == 2 and diff["open_cases_changing_owner_count"] == 3
    assert DIFF_LIST_CAP == 500


# --- API --------------------------------------------------------------------------------------------


def _user(username: str, *groups: str, **extra) -> User:
    user = User.objects.create_user(username, password="x", **extra)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def _client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _figures_url(pk: int) -> str:
    return reverse("api:coverage-version-figures", args=[pk])


def _diff_url(pk: int) -> str:
    return reverse("api:coverage-version-diff", args=[pk])


def test_urls_sit_beside_the_coverage_version_router():
    assert _figures_url(7) == "/api/v1/coverage-versions/7/figures/"
    assert _diff_url(7) == "/api/v1/coverage-versions/7/diff/"
    assert resolve("/api/v1/coverage-versions/7/figures/").url_name == "coverage-version-figures"
    assert resolve("/api/v1/coverage-versions/7/diff/").url_name == "coverage-version-diff"
    # geodata's router keeps its own routes
    assert resolve("/api/v1/coverage-versions/7/").url_name == "coverage-version-detail"
    assert resolve("/api/v1/coverage-versions/7/validate/").url_name == "coverage-version-validate"


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (("planner",), 200),
        (("supervisor",), 200),
        (("dispatcher",), 200),
        ("superuser", 200),
        (("grid_worker",), 403),
        ((), 403),
    ],
)
def test_who_may_read_the_figures(county, draft, who, expected):
    user = _user("u", is_superuser=True) if who == "superuser" else _user("u", *who)
    client = _client(user)
    assert client.get(_figures_url(county.version.pk)).status_code == expected
    assert client.get(_diff_url(draft.pk)).status_code == expected


def test_anonymous_is_refused(county):
    assert _client(None).get(_figures_url(county.version.pk)).status_code in (401, 403)
    assert _client(None).get(_diff_url(county.version.pk)).status_code in (401, 403)


def test_api_answers_the_selectors(county, draft):
    client = _client(_user("p", "planner"))
    figures = client.get(_figures_url(county.version.pk)).json()
    assert {z["team"]["code"]: z["reports_90d"] for z in figures["zones"]} == {
        "zh-1": 7,
        "zh-2": 1,
        "market": 2,
    }
    diff = client.get(_diff_url(draft.pk)).json()
    assert diff["against"]["id"] == county.version.pk and diff["cells_changing_team_count"] == 3
    explicit = client.get(_diff_url(draft.pk), {"against": draft.pk}).json()
    assert explicit["against"]["id"] == draft.pk and explicit["cells_changing_team_count"] == 0


def test_unknown_version_is_404_and_a_bad_against_is_400_naming_it(county, draft):
    client = _client(_user("p", "planner"))
    missing = CoverageVersion.objects.order_by("-pk").first().pk + 100
    answer = client.get(_figures_url(missing))
    assert answer.status_code == 404 and str(missing) in answer.json()["detail"]
    assert client.get(_diff_url(missing)).status_code == 404
    assert client.get(_figures_url(10**20)).status_code == 404  # past bigint: still 404, not 500
    for bad in ("abc", "-1", str(missing), "1.5", str(10**20)):
        answer = client.get(_diff_url(draft.pk), {"against": bad})
        assert answer.status_code == 400, bad
        assert list(answer.json()) == ["against"] and answer.json()["against"][0]
