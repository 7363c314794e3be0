"""Out-of-zone alerts: a unit of team zh-1 (zone = the west half) leaving and coming back.

    lat 29.04 ┌─────────────┬─────────────┐
              │             │             │
              │  zh-1 (W)   │  zh-2 (E)   │      ○ in    = (121.005, 29.005)
              │   ○         │        ●    │      ● out   = (121.035, 29.035), ~1.5 km from W
              │             │             │      ◌ drift = 121.0203 (29 m east of the border)
    lat 29.00 └─────────────┴─◌───────────┘      ◍ far   = 121.0207 (68 m east of the border)
           121.00        121.02        121.04

Dwell: GEOFENCE_DWELL_SECONDS (300 s), by fix time. Tolerance: GEOFENCE_TOLERANCE_METRES (50 m).
"""

from datetime import timedelta

import pytest

from gridops.models import Alert, OutboxEvent, Unit
from gridops.realtime import events
from gridops.services.pings import alert_acknowledge, ping_batch_ingest
from tests.gridops.units_factory import fix, minutes_ago, tracked_unit

IN = (121.005, 29.005)
OUT = (121.035, 29.035)
OUT_OF_GRID = (121.06, 29.02)
DRIFT = (121.0203, 29.01)
FAR = (121.0207, 29.01)


@pytest.fixture
def car(tiny_county, settings):
    settings.GEOFENCE_DWELL_SECONDS = 300
    settings.GEOFENCE_TOLERANCE_METRES = 50.0
    return tracked_unit(tiny_county.teams["W"], name="一中队巡查车1")


def send(car, t0, *steps) -> None:
    """steps: (seconds after t0, (lon, lat))."""
    ping_batch_ingest(device=car.device, items=[fix(t0 + timedelta(seconds=s), *p) for s, p in steps])


def unit(car) -> Unit:
    return Unit.objects.get(pk=car.unit.pk)


def alerts(car):
    return list(Alert.objects.filter(unit=car.unit).order_by("id"))


def test_a_short_excursion_raises_nothing(car):
    t0 = minutes_ago(30)
    send(car, t0, (0, IN), (60, OUT), (120, OUT_OF_GRID), (240, OUT))
    assert unit(car).outside_since == t0 + timedelta(seconds=60)
    send(car, t0, (300, IN))  # back after 4 minutes outside
    assert unit(car).outside_since is None
    assert alerts(car) == []
    assert not OutboxEvent.objects.exists()


def test_staying_out_raises_exactly_one_alert_across_batches_and_returning_clears_it(car):
    t0 = minutes_ago(30)
    send(car, t0, (0, IN), (60, OUT), (120, OUT))
    send(car, t0, (180, OUT), (300, OUT))  # 240 s outside: not yet
    assert alerts(car) == []
    send(car, t0, (360, OUT), (420, OUT_OF_GRID))  # 300 s at 360: one alert
    send(car, t0, (480, OUT), (600, OUT))  # still out: still one alert
    (alert,) = alerts(car)
    assert (alert.kind, alert.status, alert.team_id) == ("out_of_zone", "open", car.unit.team_id)
    assert alert.raised_at == t0 + timedelta(seconds=360)
    assert alert.message == "巡查单元 一中队巡查车1 驶离辖区已超过 5 分钟"
    assert alert.township.code == "330225101"  # where it is: the east township
    assert (alert.point.x, alert.point.y) == OUT
    assert unit(car).outside_since == t0 + timedelta(seconds=60)
    raised = OutboxEvent.objects.get(type=events.ALERT_RAISED)
    assert raised.data["id"] == alert.pk
    assert set(raised.streams) == {"county", "team:zh-1", "township:330225101"}

    send(car, t0, (660, IN))
    alert.refresh_from_db()
    assert (alert.status, alert.cleared_at) == ("cleared", t0 + timedelta(seconds=660))
    assert unit(car).outside_since is None
    updated = OutboxEvent.objects.get(type=events.ALERT_UPDATED)
    assert (updated.data["id"], updated.data["status"]) == (alert.pk, "cleared")

    # A second excursion is a second alert.
    send(car, t0, (700, OUT), (1000, OUT))
    assert [a.status for a in alerts(car)] == ["cleared", "open"]


def test_one_batch_holding_a_whole_excursion(car):
    t0 = minutes_ago(30)
    send(car, t0, (0, IN), (60, OUT), (200, OUT), (400, OUT), (500, IN), (560, OUT))
    first, *rest = alerts(car)
    assert rest == []
    assert first.status == "cleared"
    assert unit(car).outside_since == t0 + timedelta(seconds=560)
    assert list(OutboxEvent.objects.order_by("id").values_list("type", flat=True)) == [
        events.ALERT_RAISED,
        events.ALERT_UPDATED,
    ]


def test_out_of_order_fixes_do_not_change_the_geofence_state(car):
    t0 = minutes_ago(30)
    send(car, t0, (0, OUT), (400, OUT))
    assert len(alerts(car)) == 1
    send(car, t0, (200, IN))  # late: stored as track, but the unit did not come back at 400 s
    assert alerts(car)[0].status == "open"
    assert unit(car).outside_since == t0


def test_an_acknowledged_alert_is_not_raised_again_and_is_cleared_on_return(car, django_user_model):
    t0 = minutes_ago(30)
    send(car, t0, (0, OUT), (300, OUT))
    (alert,) = alerts(car)
    alert_acknowledge(alert=alert, user=django_user_model.objects.create_user("duty"))
    send(car, t0, (600, OUT), (900, OUT))
    (alert,) = alerts(car)
    assert alert.status == "acknowledged"
    send(car, t0, (960, IN))
    (alert,) = alerts(car)
    assert alert.status == "cleared"


def test_gps_drift_just_outside_the_border_is_inside(car):
    t0 = minutes_ago(30)
    send(car, t0, (0, IN), *[(60 * k, DRIFT) for k in range(1, 10)])
    assert unit(car).outside_since is None
    assert alerts(car) == []
    send(car, t0, (600, FAR))  # beyond the tolerance: outside
    assert unit(car).outside_since == t0 + timedelta(seconds=600)


@pytest.mark.parametrize(
    ("team", "point"),
    [
        ("W", (121.02, 29.01)),  # the W/E border: the tie-break gives the W cell
        ("E", (121.02, 29.01)),  # the same border seen from the east: the zone covers it
        ("W", (121.0, 29.0)),  # outer corner
        ("E", (121.04, 29.04)),  # outer corner
        ("E", (121.02, 29.02)),  # four cells meet
        ("W", (121.0, 29.025)),  # outer edge
    ],
)
def test_points_exactly_on_the_zone_border_are_inside_even_without_tolerance(
    tiny_county, settings, team, point
):
    settings.GEOFENCE_DWELL_SECONDS = 300
    settings.GEOFENCE_TOLERANCE_METRES = 0.0
    car = tracked_unit(tiny_county.teams[team])
    t0 = minutes_ago(30)
    send(car, t0, (0, point), (600, point))
    assert unit(car).outside_since is None
    assert alerts(car) == []
    send(car, t0, (660, (121.0203, 29.04) if team == "W" else (121.0197, 29.0)))  # 29 m over the border
    assert unit(car).outside_since == t0 + timedelta(seconds=660)


def test_a_team_without_a_zone_has_nothing_to_leave(tiny_county):
    car = tracked_unit(tiny_county.teams["fishery"], code="boat-1")
    t0 = minutes_ago(30)
    send(car, t0, (0, OUT_OF_GRID), (900, OUT_OF_GRID))
    assert unit(car).outside_since is None
    assert alerts(car) == []


def test_the_market_team_covers_the_whole_county(tiny_county):
    car = tracked_unit(tiny_county.teams["market"], code="market-1")
    t0 = minutes_ago(30)
    send(car, t0, (0, IN), (300, OUT), (600, OUT))
    assert alerts(car) == []
    send(car, t0, (660, OUT_OF_GRID), (1000, OUT_OF_GRID))
    assert len(alerts(car)) == 1


def test_a_unit_moved_to_another_team_is_fenced_by_its_new_team_at_once(car, tiny_county):
    """A batch's geofence is worked out before its statement for the team the unit had at its last
    batch; the statement moves the position only if that is still the unit's team. Here the unit
    goes to the east team between two batches: the next fix, inside the west zone, is outside its
    new team's zone from that fix on."""
    t0 = minutes_ago(30)
    send(car, t0, (0, IN))
    send(car, t0, (60, IN))  # the usual batch: inside, one statement
    assert unit(car).outside_since is None
    Unit.objects.filter(pk=car.unit.pk).update(team=tiny_county.teams["E"])
    send(car, t0, (120, IN))
    moved = unit(car)
    assert moved.fix_at == t0 + timedelta(seconds=120)
    assert moved.outside_since == t0 + timedelta(seconds=120)
    send(car, t0, (180, OUT))  # inside the east zone: back inside
    assert unit(car).outside_since is None


@pytest.mark.parametrize("tolerance", [0.0, 50.0])
def test_the_fence_agrees_with_the_cell_of_each_fix_on_lines_corners_and_outside(
    tiny_county, settings, tolerance
):
    """_geofence takes most fixes by a point-in-polygon test on the union of the team's cells; the
    rule it stands for is: inside when the routing index's cell of the fix is the team's (a cell
    counts its border), else when within the tolerance of the union. Both, on every grid line and
    corner, just beside them, outside the grid and at random."""
    import random

    import numpy as np
    import shapely

    from geodata.routing import routing_index
    from gridops.services import pings

    settings.GEOFENCE_TOLERANCE_METRES = tolerance
    team = tiny_county.teams["W"]
    rng = random.Random(7)
    lines = [121.0 + 0.01 * i for i in range(5)], [29.0 + 0.01 * i for i in range(5)]
    points = [(x, y) for x in lines[0] for y in lines[1]]  # every corner
    points += [(x, rng.uniform(28.99, 29.05)) for x in lines[0] for _ in range(8)]  # on vertical lines
    points += [(rng.uniform(120.99, 121.05), y) for y in lines[1] for _ in range(8)]  # on horizontal lines
    points += [(x + d, y) for x, y in points[:25] for d in (-1e-9, 1e-9, -3e-4, 3e-4, -6e-4)]  # just beside
    points += [(rng.uniform(120.98, 121.06), rng.uniform(28.98, 29.06)) for _ in range(300)]
    at = minutes_ago(1)
    fixes = [pings.Fix(i, at, x, y, None, None, None) for i, (x, y) in enumerate(points)]
    fence = pings._geofence(team.id, team.domain, fixes, at)

    index = routing_index()
    version = index.version_at(at)
    zones = version.zone_of_cell[team.domain]
    lons, lats = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    positions = index.cells_at(lons, lats, at)
    in_grid = positions >= 0
    expected = in_grid & (
        index.team_of_zone[np.where(in_grid, zones[np.where(in_grid, positions, 0)], 0)] == team.id
    )
    kx, ky = pings._metres_scale()
    outline = pings._team_outline(index, version, team.id, team.domain)
    rest = ~expected
    expected[rest] = shapely.dwithin(outline, shapely.points(lons[rest] * kx, lats[rest] * ky), tolerance)
    assert fence.inside.tolist() == expected.tolist()
    assert 0 < int(expected.sum()) < len(points)
    # The township of an alert's fix comes from the cell of that fix.
    k = points.index((121.0, 29.0))
    assert fence.township_id(k) == index.cell_township[positions[k]]
