"""Track replay: stops, trips and gaps, simplification, visited cells, and their API.

Tracks are drawn in ASCII. In a drawing each symbol of ORDER ('0'–'9', then 'a'–'z', 'A'–'Z') is a
fix, numbered in that order; fix k is taken at k × step seconds (plus any `pauses` before it); the
rest of the drawing ('.', ' ') is empty ground. Row 0 is north.
"""

import json
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.db.models import F, FloatField, Func
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from gridops.selectors import replay
from gridops.selectors.replay import Fixes, detect_stretches, douglas_peucker
from gridops.selectors.units import TRACK_GAP_SECONDS
from gridops.services.pings import ping_batch_ingest
from tests.gridops.units_factory import fix, minutes_ago, tracked_unit

ORDER = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ORIGIN = (121.005, 29.005)
API = "/api/v1"


def parse_drawing(drawing: str) -> list[tuple[int, int]]:
    """(row, column) of each fix of the drawing, in fix order."""
    found: dict[int, tuple[int, int]] = {}
    for row, line in enumerate(drawing.strip("\n").splitlines()):
        for col, char in enumerate(line):
            if char in ORDER:
                found[ORDER.index(char)] = (row, col)
    assert sorted(found) == list(range(len(found))), "fixes must be numbered without holes"
    return [found[k] for k in range(len(found))]


def fix_times(n: int, *, step: float, pauses: dict[int, float] | None = None) -> list[float]:
    pauses = pauses or {}
    times, t = [], 0.0
    for k in range(n):
        t += pauses.get(k, 0.0)
        times.append(t + k * step)
    return times


def ascii_track(
    drawing: str, *, step: float, metres_per_char: float = 10.0, pauses: dict[int, float] | None = None
) -> Fixes:
    """The drawing as fixes around ORIGIN, `metres_per_char` metres per character each way."""
    cells = parse_drawing(drawing)
    lat0 = ORIGIN[1]
    per_degree_lon = replay.METRES_PER_DEGREE * math.cos(math.radians(lat0))
    rows = [
        (
            t + 1_780_000_000,
            ORIGIN[0] + col * metres_per_char / per_degree_lon,
            lat0,  # rows are shifted below, after the mean latitude is known
            None,
            None,
        )
        for t, (row, col) in zip(fix_times(len(cells), step=step, pauses=pauses), cells, strict=True)
    ]
    fixes = Fixes.from_rows(rows)
    lat = (
        lat0
        - np.array([row for row, _col in cells], dtype=float) * metres_per_char / replay.METRES_PER_DEGREE
    )
    return Fixes(t=fixes.t, lon=fixes.lon, lat=lat, speed=fixes.speed, heading=fixes.heading)


def kinds(stretches) -> list[tuple[str, int, int]]:
    return [(s.kind, s.first, s.last) for s in stretches]


def stretches_of(drawing: str, *, step: float, metres_per_char: float = 10.0, **kwargs):
    fixes = ascii_track(
        drawing, step=step, metres_per_char=metres_per_char, pauses=kwargs.pop("pauses", None)
    )
    return fixes, detect_stretches(fixes, stop_seconds=300, stop_metres=50, **kwargs)


# --- Stops, trips, gaps (pure) ---------------------------------------------------------------------------


def test_a_stop_between_two_trips():
    """20 m per character, a fix every 60 s. Fixes 0–3 drive east 120 m apart; 3–a idle in a 60 × 20 m
    patch for 7 min (a stop); b–d drive on.

        0.....1.....2.....3456.....b.....c.....d
        ..................789a..................
    """
    drawing = """
0.....1.....2.....3456.....b.....c.....d
..................789a..................
"""
    fixes, stretches = stretches_of(drawing, step=60, metres_per_char=20)
    assert kinds(stretches) == [("trip", 0, 3), ("stop", 3, 10), ("trip", 10, 13)]
    trip_in, stop, trip_out = stretches
    assert trip_in.metres == pytest.approx(360, abs=0.01)
    assert trip_out.metres == pytest.approx(20 * math.hypot(6, 1) + 240, abs=0.01)
    assert fixes.t[stop.last] - fixes.t[stop.first] == 420
    lon, lat = stop.point
    assert lon == pytest.approx(np.mean(fixes.lon[3:11]))
    assert lat == pytest.approx(np.mean(fixes.lat[3:11]))


def test_a_stop_exactly_at_the_thresholds_counts():
    """Two fixes 300 s apart: 100 m apart puts each exactly 50 m from their centroid, a stop;
    110 m is a trip; 299 s is too short.

        0.........1        0..........1
    """
    _f, at_threshold = stretches_of("0.........1", step=300)
    assert kinds(at_threshold) == [("stop", 0, 1)]
    _f, too_far = stretches_of("0..........1", step=300)
    assert kinds(too_far) == [("trip", 0, 1)]
    assert too_far[0].metres == pytest.approx(110)
    _f, too_short = stretches_of("0.........1", step=299)
    assert kinds(too_short) == [("trip", 0, 1)]


def test_drift_within_50_metres_does_not_break_a_stop():
    """A parked car whose fixes wander up to ~40 m around where it stands, every 60 s for 11 min.

    ....2.....
    .0.....5..
    ....b.3...
    .6..4...9.
    ..a..18...
    .....7....
    """
    drawing = """
....2.....
.0.....5..
....b.3...
.6..4...9.
..a..18...
.....7....
"""
    fixes, stretches = stretches_of(drawing, step=60)
    assert kinds(stretches) == [("stop", 0, 11)]
    x, y = replay.local_metres(fixes)
    assert np.hypot(x - x.mean(), y - y.mean()).max() < 50


def test_a_gap_in_the_middle_of_a_stop_splits_it():
    """Idle at one corner; the tracker is silent for 10 min after fix 5, then idles again:
    two stops and a gap between them, no trip and no distance across the gap.

        012.......
        543.......
        ..........
        ......6789
        ......ba..
    """
    drawing = """
012.......
543.......
..........
......6789
......ba..
"""
    fixes, stretches = stretches_of(drawing, step=60, pauses={6: 600})
    assert kinds(stretches) == [("stop", 0, 5), ("gap", 5, 6), ("stop", 6, 11)]
    assert fixes.t[6] - fixes.t[5] == 660
    assert sum(s.metres for s in stretches) == 0


def test_gaps_end_trips_and_are_not_distance():
    """Driving east, 20 m per character; a 6-minute silence after fix 2; 5 min exactly before fix 5
    joins the line.

    0.....1.....2.............................3.....4.....5
    """
    drawing = "0.....1.....2.............................3.....4.....5"
    _fixes, stretches = stretches_of(drawing, step=30, metres_per_char=20, pauses={3: 330, 5: 270})
    assert kinds(stretches) == [("trip", 0, 2), ("gap", 2, 3), ("trip", 3, 5)]
    assert [round(s.metres) for s in stretches] == [240, 0, 240]


def test_one_fix_and_no_fix():
    one = ascii_track("0", step=60)
    assert detect_stretches(one, stop_seconds=300, stop_metres=50) == []
    empty = Fixes.from_rows([])
    assert len(empty) == 0
    assert detect_stretches(empty, stop_seconds=300, stop_metres=50) == []


# --- Simplification (pure) ----------------------------------------------------------------------------------


def test_douglas_peucker_keeps_corners_and_ends():
    """An L driven fix by fix: only the two ends and the corner survive a 1 m tolerance.

    0123456
    ......7
    ......8
    ......9
    """
    fixes = ascii_track("0123456\n......7\n......8\n......9", step=5)
    x, y = replay.local_metres(fixes)
    assert douglas_peucker(x, y, tolerance=1.0).tolist() == [0, 6, 9]
    assert douglas_peucker(x[:2], y[:2], tolerance=1.0).tolist() == [0, 1]


def test_geos_simplification_keeps_the_same_vertices_as_douglas_peucker():
    rng = np.random.default_rng(5)
    x, y = np.cumsum(rng.normal(0, 20, 2000)), np.cumsum(rng.normal(0, 20, 2000))
    for tolerance in (0.5, 8.4, 50.0, 1e6):
        ours = replay.simplify_indices(x, y, tolerance=tolerance)
        assert ours.tolist() == douglas_peucker(x, y, tolerance=tolerance).tolist()
        assert ours[0] == 0 and ours[-1] == 1999
    still = np.zeros(10)
    assert replay.simplify_indices(still, still, tolerance=1.0).tolist() == [0, 9]


def test_zoom_tolerance_is_one_pixel():
    assert replay.zoom_tolerance_metres(zoom=0, latitude=0) == pytest.approx(156543.03392)
    at_14 = replay.zoom_tolerance_metres(zoom=14, latitude=29.0)
    assert at_14 == pytest.approx(156543.03392 * math.cos(math.radians(29.0)) / 2**14)
    assert 8 < at_14 < 9


def test_iso_times_match_django_localtime():
    stamps = [1_780_000_000.0, 1_780_000_000.25, 1_780_000_001.731369, 1_780_086_399.0]
    expected = [timezone.localtime(datetime.fromtimestamp(t, tz=UTC)).isoformat() for t in stamps]
    assert replay.iso_times(np.array(stamps)) == expected
    assert replay.iso_times(np.zeros(0)) == []


# --- Visited cells (pure) ----------------------------------------------------------------------------------


def test_cell_dwell_counts_time_between_fixes_in_the_same_cell():
    t = np.array([0, 30, 60, 90, 120, 500, 530], dtype=float)
    cells = np.array([1, 1, 2, 1, 1, -1, -1])
    dwell = replay.cell_dwell(t, cells)
    assert dwell == {1: (60.0, 0.0), 2: (0.0, 60.0)}
    gap = replay.cell_dwell(np.array([0.0, 400.0, 430.0]), np.array([3, 3, 3]))
    assert gap == {3: (30.0, 0.0)}  # 400 s without a fix is not time spent there


# --- API ----------------------------------------------------------------------------------------------------


@pytest.fixture
def client(django_user_model) -> APIClient:
    client = APIClient()
    user = django_user_model.objects.create_user("supervisor", password="pw-123456")
    user.groups.add(Group.objects.get_or_create(name="supervisor")[0])  # tracks: gridops/scopes.py
    client.force_login(user)
    return client


@pytest.fixture
def west(tiny_county):
    return tracked_unit(tiny_county.teams["W"], code="zh-1-car-1")


def ingest(tracked, fixes: Fixes, t0) -> None:
    items = [
        fix(t0 + timedelta(seconds=float(s - fixes.t[0])), float(lon), float(lat), speed=10)
        for s, lon, lat in zip(fixes.t, fixes.lon, fixes.lat, strict=True)
    ]
    for i in range(0, len(items), 1000):
        ping_batch_ingest(device=tracked.device, items=items[i : i + 1000])


def local(t) -> str:
    return timezone.localtime(t).isoformat()


def test_url_names_of_the_contract(db):
    assert reverse("api:unit-track", args=[7]) == "/api/v1/units/7/track/"
    assert reverse("api:unit-stops", args=[7]) == "/api/v1/units/7/stops/"
    assert reverse("api:unit-visited-cells", args=[7]) == "/api/v1/units/7/visited-cells/"
    assert reverse("api:unit-track-gpx", args=[7]) == "/api/v1/units/7/track.gpx"
    assert reverse("api:unit-track-geojson", args=[7]) == "/api/v1/units/7/track.geojson"


def test_stops_endpoint(client, west):
    """The drawing of test_a_stop_between_two_trips (20 m per character), a gap of 10 min after
    fix d, then e–f."""
    drawing = """
0.....1.....2.....3456.....b.....c.....d.....e.....f
..................789a..............................
"""
    fixes = ascii_track(drawing, step=60, metres_per_char=20, pauses={14: 600})
    t0 = minutes_ago(60)
    ingest(west, fixes, t0)
    url = f"{API}/units/{west.unit.pk}/stops/"
    response = client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit"] == {"id": west.unit.pk, "code": "zh-1-car-1", "name": west.unit.name}
    assert (body["stop_seconds"], body["stop_metres"]) == (300, 50)
    at = [local(t0 + timedelta(seconds=float(s - fixes.t[0]))) for s in fixes.t]
    (stop,) = body["stops"]
    assert (stop["start"], stop["end"], stop["seconds"], stop["fixes"]) == (at[3], at[10], 420, 8)
    assert stop["point"][0] == pytest.approx(np.mean(fixes.lon[3:11]), abs=1e-6)
    assert [(t["start"], t["end"], t["fixes"]) for t in body["trips"]] == [
        (at[0], at[3], 4),
        (at[10], at[13], 4),
        (at[14], at[15], 2),
    ]
    assert body["trips"][0]["metres"] == pytest.approx(360, abs=0.5)
    assert body["gaps"] == [{"start": at[13], "end": at[14], "seconds": 660}]
    totals = body["totals"]
    assert totals["stopped_seconds"] == 420
    assert totals["gap_seconds"] == 660
    assert totals["moving_seconds"] == 180 + 180 + 60
    assert totals["metres"] == pytest.approx(360 + 20 * math.hypot(6, 1) + 240 + 120, abs=1)

    stricter = client.get(url, {"stop_seconds": 600}).json()
    assert stricter["stops"] == [] and stricter["stop_seconds"] == 600
    empty = client.get(url, {"start": local(t0 - timedelta(hours=3)), "end": local(t0 - timedelta(hours=2))})
    assert empty.status_code == 200
    assert empty.json()["stops"] == empty.json()["trips"] == empty.json()["gaps"] == []
    assert empty.json()["totals"] == {
        "metres": 0,
        "moving_seconds": 0,
        "stopped_seconds": 0,
        "gap_seconds": 0,
    }


class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


def unit_track(*, unit, start: datetime, end: datetime, gap_seconds: int = TRACK_GAP_SECONDS) -> dict:
    """The reference: the track built row by row in Python, as the API first did (the array-built
    gridops.selectors.replay.unit_track_feature must give the same answer, faster).

    The unit's pings in [start, end] as one GeoJSON Feature.

    geometry: a MultiLineString, one line per run of fixes without a gap > `gap_seconds`
    (null when no run has two fixes). properties.times / speeds / headings are nested like the
    coordinates (times[k][j] is the time of coordinates[k][j]); a fix alone between two gaps
    cannot make a line and is listed in properties.isolated instead.
    """
    rows = (
        unit.pings.filter(fixed_at__gte=start, fixed_at__lte=end)
        .order_by("fixed_at")
        .annotate(x=_X(F("point")), y=_Y(F("point")))
        .values_list("fixed_at", "x", "y", "speed", "heading")
    )
    gap = timedelta(seconds=gap_seconds)
    runs: list[list[tuple]] = []
    previous = None
    for row in rows.iterator(chunk_size=5000):
        if previous is None or row[0] - previous > gap:
            runs.append([])
        runs[-1].append(row)
        previous = row[0]

    def iso(value: datetime) -> str:
        return timezone.localtime(value).isoformat()

    lines = [run for run in runs if len(run) > 1]
    isolated = [run[0] for run in runs if len(run) == 1]
    return {
        "type": "Feature",
        "id": unit.pk,
        "geometry": (
            {"type": "MultiLineString", "coordinates": [[[r[1], r[2]] for r in run] for run in lines]}
            if lines
            else None
        ),
        "properties": {
            "unit": {"id": unit.pk, "code": unit.code, "name": unit.name},
            "start": iso(start),
            "end": iso(end),
            "count": sum(len(run) for run in runs),
            "gap_seconds": gap_seconds,
            "segments": [
                {"start": iso(run[0][0]), "end": iso(run[-1][0]), "count": len(run)} for run in lines
            ],
            "times": [[iso(r[0]) for r in run] for run in lines],
            "speeds": [[r[3] for r in run] for run in lines],
            "headings": [[r[4] for r in run] for run in lines],
            "isolated": [
                {"time": iso(r[0]), "point": [r[1], r[2]], "speed": r[3], "heading": r[4]} for r in isolated
            ],
        },
    }


def test_track_with_zoom_is_simplified_with_its_times(client, west):
    fixes = ascii_track("0123456789\n.........a\n.........b\n.........c", step=5)
    t0 = minutes_ago(30)
    ingest(west, fixes, t0)
    url = f"{API}/units/{west.unit.pk}/track/"
    full = client.get(url).json()
    assert "simplified" not in full["properties"]
    start, end = full["properties"]["start"], full["properties"]["end"]
    reference = unit_track(unit=west.unit, start=parse_datetime(start), end=parse_datetime(end))
    assert full == json.loads(json.dumps(reference))  # the array-built track is the same answer
    simple = client.get(url, {"zoom": 16}).json()
    props = simple["properties"]
    assert props["simplified"] is True and props["tolerance_m"] > 0
    assert props["count"] == 13
    (line,) = simple["geometry"]["coordinates"]
    assert len(line) == 3
    full_line = full["geometry"]["coordinates"][0]
    kept = [full_line.index(c) for c in line]
    assert kept == [0, 9, 12]
    assert props["times"] == [[full["properties"]["times"][0][i] for i in kept]]


def test_visited_cells(client, west, tiny_county):
    """A quarter-cell (0.0025°) per character over the tiny county's 4 × 4 cells, so each cell is a
    4 × 4 block; the bottom row of blocks is y=0. Team 一中队 has the 8 cells of columns x=0–1.
    A fix every 30 s: 0–3 in (0,0) for 90 s, 4–6 and 8–9 in (1,0) for 60 + 30 s, 7 a single fix
    drifting into (2,0), a–d in (2,1) (not the team's) for 90 s.

        x=0 x=1 x=2 x=3
        ................   y=3
        ................
        ................
        ................
        ................   y=2
        ................
        ................
        ................
        .........ab.....   y=1
        .........dc.....
        ................
        ................
        ................   y=0
        .01...45.7......
        .32....6........
        ......98........
    """
    drawing = """
................
................
................
................
................
................
................
................
.........ab.....
.........dc.....
................
................
................
.01...45.7......
.32....6........
......98........
"""
    cells = parse_drawing(drawing)
    t0 = minutes_ago(60)
    items = [
        fix(t0 + timedelta(seconds=30 * k), 121.0 + (col + 0.5) * 0.0025, 29.04 - (row + 0.5) * 0.0025)
        for k, (row, col) in enumerate(cells)
    ]
    ping_batch_ingest(device=west.device, items=items)
    url = f"{API}/units/{west.unit.pk}/visited-cells/"
    window = {"start": local(t0 - timedelta(minutes=1)), "end": local(t0 + timedelta(minutes=30))}
    body = client.get(url, window).json()
    assert (body["dwell_seconds"], body["assigned"], body["visited"], body["percentage"]) == (60, 8, 2, 25.0)
    by_code = {f["properties"]["code"]: f["properties"] for f in body["cells"]["features"]}
    code = {xy: c.code for xy, c in tiny_county.cells.items()}
    assert set(by_code) == {code[(x, y)] for x in (0, 1) for y in range(4)} | {code[(2, 1)]}
    assert by_code[code[(0, 0)]] == {
        "code": code[(0, 0)],
        "name": tiny_county.cells[(0, 0)].name,
        "assigned": True,
        "visited": True,
        "first_at": local(t0),
        "seconds": 90,
    }
    assert by_code[code[(1, 0)]]["seconds"] == 90 and by_code[code[(1, 0)]]["visited"]
    assert by_code[code[(2, 1)]]["assigned"] is False and by_code[code[(2, 1)]]["visited"] is True
    assert code[(2, 0)] not in by_code  # one drifting fix is not a visit
    assert by_code[code[(0, 3)]] == {
        **by_code[code[(0, 3)]],
        "visited": False,
        "first_at": None,
        "seconds": 0,
    }
    feature = body["cells"]["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"

    exactly = client.get(url, {**window, "dwell_seconds": 90}).json()
    assert exactly["visited"] == 2
    strict = client.get(url, {**window, "dwell_seconds": 91}).json()
    assert (strict["visited"], strict["percentage"]) == (0, 0.0)
    default_range = client.get(url).json()  # today, 00:00 Asia/Shanghai → now
    assert default_range["start"].endswith("T00:00:00+08:00")


def test_visited_cells_with_nothing_assigned(client, tiny_county):
    fisher = tracked_unit(tiny_county.teams["fishery"], code="yy-boat-1")
    body = client.get(f"{API}/units/{fisher.unit.pk}/visited-cells/").json()
    assert (body["assigned"], body["visited"], body["percentage"]) == (0, 0, 0.0)
    assert body["cells"] == {"type": "FeatureCollection", "features": []}


def test_gpx_and_geojson_exports(client, west):
    drawing = "0.....1.....2.....3.....4"
    fixes = ascii_track(drawing, step=60, pauses={3: 600})
    t0 = minutes_ago(60)
    ingest(west, fixes, t0)
    gpx = client.get(f"{API}/units/{west.unit.pk}/track.gpx")
    assert gpx.status_code == 200, gpx.content
    assert gpx["Content-Type"] == "application/gpx+xml"
    day = timezone.localtime(timezone.now() - timedelta(hours=24)).date().isoformat()
    assert gpx["Content-Disposition"] == f'attachment; filename="zh-1-car-1_{day}.gpx"'
    root = ET.fromstring(gpx.content)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert root.get("version") == "1.1"
    segments = root.findall("g:trk/g:trkseg", ns)
    assert [len(s.findall("g:trkpt", ns)) for s in segments] == [3, 2]
    first = segments[0].find("g:trkpt", ns)
    assert float(first.get("lon")) == pytest.approx(fixes.lon[0])
    assert first.find("g:time", ns).text == t0.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    geojson = client.get(f"{API}/units/{west.unit.pk}/track.geojson")
    assert geojson.status_code == 200
    assert geojson["Content-Type"] == "application/geo+json"
    assert geojson["Content-Disposition"] == f'attachment; filename="zh-1-car-1_{day}.geojson"'
    feature = geojson.json()
    assert feature["type"] == "Feature" and feature["properties"]["count"] == 5
    track = client.get(f"{API}/units/{west.unit.pk}/track/").json()
    assert feature["geometry"] == track["geometry"]
    assert feature["properties"]["times"] == track["properties"]["times"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("track/", {"zoom": "21"}, "zoom"),
        ("track/", {"zoom": "-1"}, "zoom"),
        ("track/", {"zoom": "near"}, "zoom"),
        ("stops/", {"start": "yesterday"}, "start"),
        ("stops/", {"start": "2026-05-02T00:00:00+08:00", "end": "2026-05-01T00:00:00+08:00"}, "start"),
        ("stops/", {"start": "2026-05-01T00:00:00+08:00", "end": "2026-05-09T00:00:00+08:00"}, "end"),
        ("stops/", {"stop_seconds": "0"}, "stop_seconds"),
        ("stops/", {"stop_metres": "nan"}, "stop_metres"),
        ("visited-cells/", {"dwell_seconds": "-5"}, "dwell_seconds"),
        ("visited-cells/", {"end": "2026-13-01T00:00:00"}, "end"),
        ("track.gpx", {"start": "soon"}, "start"),
        ("track.geojson", {"end": "later"}, "end"),
    ],
)
def test_bad_parameters_are_400_with_the_field(client, west, path, params, field):
    response = client.get(f"{API}/units/{west.unit.pk}/{path}", params)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


@pytest.mark.parametrize("path", ["track/", "stops/", "visited-cells/", "track.gpx", "track.geojson"])
def test_unknown_unit_is_404_and_anonymous_is_refused(client, west, path):
    assert client.get(f"{API}/units/999999/{path}").status_code == 404
    if path != "track/":  # the track predates replay and is open to read like the wall map
        assert APIClient().get(f"{API}/units/{west.unit.pk}/{path}").status_code in (401, 403)


def test_openapi_documents_the_replay_endpoints(client, db):
    import yaml
    from drf_spectacular.validation import validate_schema

    schema = yaml.safe_load(client.get("/api/schema/").content)
    validate_schema(schema)
    for path in ("stops/", "visited-cells/", "track.gpx", "track.geojson"):
        assert f"/api/v1/units/{{id}}/{path}" in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/v1/units/{id}/track/"]["get"]["parameters"]}
    assert {"start", "end", "zoom"} <= params


def test_simplification_keeps_both_ends_of_a_stop(settings):
    """A straight road east, 10 m per character, a fix every 120 s; 3–6 crawl 30 m in 6 min, a stop
    (≤ 50 m, ≥ 300 s). Douglas–Peucker alone keeps only the ends of a straight line, and a player
    interpolating by time would slide the marker through the stop; the ends of the stop are kept.

        0...........1...........2...........3456...........7...........8
    """
    settings.REPLAY_STOP_SECONDS, settings.REPLAY_STOP_METRES = 300, 50
    fixes = ascii_track("0...........1...........2...........3456...........7...........8", step=120)
    stretches = replay.detect_stretches(fixes, stop_seconds=300, stop_metres=50)
    assert kinds(stretches) == [("trip", 0, 3), ("stop", 3, 6), ("trip", 6, 8)]
    x, y = replay.local_metres(fixes)
    assert replay.simplify_indices(x, y, tolerance=30).tolist() == [0, 8]
    assert replay._simplify_keeping_stops(x, y, fixes.t, 0, 8, tolerance=30).tolist() == [0, 3, 6, 8]
    # Without a stop nothing more than Douglas–Peucker keeps.
    moving = ascii_track("0...........1...........2...........3...........4", step=60)
    mx, my = replay.local_metres(moving)
    assert replay._simplify_keeping_stops(mx, my, moving.t, 0, 4, tolerance=30).tolist() == [0, 4]


def _stops_without_pruning(x, y, t, first, last, *, stop_seconds, stop_metres):
    """The greedy rule of replay._stops_in_run tried from every fix (no skipping)."""
    stops, i, limit = [], first, stop_metres + replay._EPSILON_M
    while i <= last:
        j = replay.cluster_end(x, y, i, last, limit=limit)
        if t[j - 1] - t[i] >= stop_seconds and j - 1 > i:
            stops.append((i, j - 1))
            i = j
        else:
            i += 1
    return stops


@pytest.mark.parametrize("seed", range(12))
def test_skipping_fixes_where_no_stop_can_start_finds_the_same_stops(seed):
    """Random walks mixing driving, crawling (the centroid creeps) and parking, fixes every 1–10 s."""
    rng = np.random.default_rng(seed)
    n = 3000
    speed = rng.choice([0.0, 0.3, 1.5, 12.0], size=n // 50).repeat(50)  # m/s, in spells of 50 fixes
    dt = rng.uniform(1, 10, size=n)
    heading = np.cumsum(rng.normal(0, 0.3, size=n))
    step = speed * dt
    x = np.cumsum(step * np.cos(heading) + rng.normal(0, 4, size=n))
    y = np.cumsum(step * np.sin(heading) + rng.normal(0, 4, size=n))
    t = np.cumsum(dt)
    for stop_seconds, stop_metres in ((300, 50), (120, 20), (600, 100)):
        expected = _stops_without_pruning(
            x, y, t, 0, n - 1, stop_seconds=stop_seconds, stop_metres=stop_metres
        )
        found = replay._stops_in_run(x, y, t, 0, n - 1, stop_seconds=stop_seconds, stop_metres=stop_metres)
        assert found == expected
