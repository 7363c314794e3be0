"""Dispatch recommendation (gridops/selectors/dispatch.py): the responsible team's units, available
and nearest first by a fresh fix, each with its reasons.

    29.02 ┌─────────┬─────────┐
          │  ▲far   │         │     ● case at (121.005, 29.005), team zh-1
    29.01 ├─────────┼─────────┤     ▲near 0.5 km east, ▲far ~1.1 km north, ▲stale 10 m away but
          │ ● ▲near │  ▲east  │       its fix is 20 min old, ▲busy 0.2 km with 3 cases in hand,
    29.00 └─────────┴─────────┘       ▲east belongs to zh-2, ✈ a drone of zh-1 right on the spot
       121.00     121.01     121.02
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point
from django.utils import timezone
from rest_framework.test import APIClient

from gridops.models import Report, Unit
from gridops.selectors.dispatch import dispatch_recommend
from gridops.services.reports import ReportInput, report_submit

CASE = (121.005, 29.005)


def _unit(team, code, lon, lat, *, minutes_ago=1, kind=Unit.Kind.VEHICLE):
    return Unit.objects.create(
        code=code,
        name=code,
        kind=kind,
        team=team,
        fix_at=timezone.now() - timedelta(minutes=minutes_ago) if minutes_ago is not None else None,
        fix_point=Point(lon, lat, srid=4326) if minutes_ago is not None else None,
    )


def _case(lon=CASE[0], lat=CASE[1]) -> Report:
    report, _ = report_submit(data=ReportInput(source="citizen", lon=lon, lat=lat, matter_code="ZH-001"))
    return report


@pytest.fixture
def units(tiny_county, settings):
    settings.DISPATCH_FIX_FRESH_SECONDS = 600
    settings.DISPATCH_MAX_CASES_IN_HAND = 3
    w, e = tiny_county.teams["W"], tiny_county.teams["E"]
    made = {
        "near": _unit(w, "near", 121.0101, 29.005),
        "far": _unit(w, "far", 121.005, 29.015),
        "stale": _unit(w, "stale", 121.0051, 29.005, minutes_ago=20),
        "nofix": _unit(w, "nofix", 0, 0, minutes_ago=None),
        "busy": _unit(w, "busy", 121.007, 29.005),
        "east": _unit(e, "east", 121.015, 29.005),
        "drone": _unit(w, "drone", 121.005, 29.005, kind=Unit.Kind.DRONE),
    }
    for _ in range(3):
        Report.objects.filter(pk=_case().pk).update(status=Report.Status.HANDLING, assigned_unit=made["busy"])
    return made


def test_available_units_nearest_first_then_busy_then_stale(units):
    rows = dispatch_recommend(report=_case())
    assert [r["unit"]["code"] for r in rows] == ["near", "far", "busy", "stale", "nofix"]
    near, far, busy, stale, nofix = rows
    assert near["recommended"] and far["recommended"]
    assert not busy["recommended"] and busy["in_hand"] == 3 and busy["fresh"]
    assert not stale["recommended"] and stale["distance_m"] is None  # 10 m away, but we do not know that
    # 0.0051° of longitude at 29° N ≈ 496 m; 0.01° of latitude ≈ 1,108 m (spheroid, within 1 %).
    assert near["distance_m"] == pytest.approx(496, rel=0.01)
    assert far["distance_m"] == pytest.approx(1108, rel=0.01)
    assert any("0.5 公里" in reason for reason in near["reasons"])
    assert any("已过期" in reason for reason in stale["reasons"])
    assert any("上限" in reason for reason in busy["reasons"])
    assert any("没有定位" in reason for reason in nofix["reasons"])
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]


def test_only_the_responsible_team_and_no_drones(units):
    codes = {r["unit"]["code"] for r in dispatch_recommend(report=_case())}
    assert "east" not in codes and "drone" not in codes


def test_a_case_without_a_team_has_no_recommendation(units):
    assert dispatch_recommend(report=_case(121.05, 29.05)) == []  # outside the grid: triage


def test_the_case_itself_does_not_count_as_in_hand(units):
    report = _case()
    Report.objects.filter(pk=report.pk).update(status=Report.Status.DISPATCHED, assigned_unit=units["near"])
    near = next(r for r in dispatch_recommend(report=report) if r["unit"]["code"] == "near")
    assert near["in_hand"] == 0


def test_the_api_is_for_dispatchers(units, django_user_model):
    report = _case()
    dispatcher = django_user_model.objects.create_user("d", password="x")
    dispatcher.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    worker = django_user_model.objects.create_user("w", password="x")
    client = APIClient()
    client.force_authenticate(worker)
    assert client.get(f"/api/v1/reports/{report.pk}/recommend/").status_code == 403
    client.force_authenticate(dispatcher)
    response = client.get(f"/api/v1/reports/{report.pk}/recommend/")
    assert response.status_code == 200 and response.json()[0]["unit"]["code"] == "near"
    assert client.get("/api/v1/reports/999999/recommend/").status_code == 404
