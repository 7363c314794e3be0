"""Track replay reads: stops, trips and gaps; tracks simplified for a zoom; cells a unit visited.

The detection is done by pure functions over `Fixes` (numpy arrays: epoch seconds, lon, lat, speed,
heading, in fix order), so they are unit-tested on synthetic tracks without a database; the
`unit_*` wrappers read a unit's pings once and call them. Distances use a local equirectangular
projection around the track (metres east/north of its first fix): within a county its error is far
below GPS noise, and it vectorises.

    fixes ──► runs (split where two fixes are more than TRACK_GAP_SECONDS apart: a gap)
                └─► stops (≥ stop_seconds within stop_metres of the running centroid)
                └─► trips (the stretches between stops, gaps and the run's ends)
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import shapely
from django.conf import settings
from django.db import connection
from django.utils import timezone

from geodata.models import EnforcementZone, GridCell, ZoneCell
from geodata.selectors import coverage_version_in_force
from gridops.lifecycle import step_label
from gridops.models import CaseEvent, Report, Unit
from gridops.selectors.units import TRACK_GAP_SECONDS

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180
# Web-mercator ground resolution at the equator, metres per pixel at zoom 0 (256-px tiles).
METRES_PER_PIXEL_ZOOM0 = 156_543.03392
ZOOM_MIN, ZOOM_MAX = 0, 20
# Comparisons in metres allow this much for floating point: a fix drawn exactly 50 m away is in.
_EPSILON_M = 1e-6


@dataclass(frozen=True)
class Fixes:
    """A unit's fixes in time order: epoch seconds, WGS-84 lon/lat, speed (km/h), heading (°)."""

    t: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    speed: np.ndarray
    heading: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def from_rows(cls, rows) -> "Fixes":
        """From (epoch, lon, lat[, speed, heading]) rows; None speed/heading become NaN."""
        if rows and len(rows[0]) < 5:
            rows = [tuple(r) + (None,) * (5 - len(r)) for r in rows]
        arr = np.array(rows, dtype=float).reshape(-1, 5)
        return cls(t=arr[:, 0], lon=arr[:, 1], lat=arr[:, 2], speed=arr[:, 3], heading=arr[:, 4])


def local_metres(fixes: Fixes) -> tuple[np.ndarray, np.ndarray]:
    """Metres east and north of the first fix (equirectangular at the track's mean latitude)."""
    if len(fixes) == 0:
        return np.zeros(0), np.zeros(0)
    lat0 = math.radians(float(np.mean(fixes.lat)))
    x = (fixes.lon - fixes.lon[0]) * METRES_PER_DEGREE * math.cos(lat0)
    y = (fixes.lat - fixes.lat[0]) * METRES_PER_DEGREE
    return x, y


def run_bounds(t: np.ndarray, *, gap_seconds: int = TRACK_GAP_SECONDS) -> list[tuple[int, int]]:
    """[first, last] index pairs of the runs without a gap (> gap_seconds; exactly gap_seconds joins)."""
    if len(t) == 0:
        return []
    breaks = np.flatnonzero(np.diff(t) > gap_seconds)
    firsts = np.r_[0, breaks + 1]
    lasts = np.r_[breaks, len(t) - 1]
    return [(int(a), int(b)) for a, b in zip(firsts, lasts, strict=True)]


@dataclass(frozen=True)
class Stretch:
    """A stop, trip or gap as indices into the fixes (first and last inclusive)."""

    kind: str  # "stop" | "trip" | "gap"
    first: int
    last: int
    metres: float = 0.0
    point: tuple[float, float] | None = None  # a stop's centroid, lon/lat


def cluster_end(x, y, i: int, last: int, *, limit: float) -> int:
    """One past the last fix of the cluster grown from fix i: the next fix joins while it lies
    within `limit` metres of the cluster's running centroid, itself included."""
    cx, cy, n = x[i], y[i], 1
    j = i + 1
    while j <= last and math.hypot(x[j] - cx, y[j] - cy) * n / (n + 1) <= limit:
        n += 1
        cx += (x[j] - cx) / n
        cy += (y[j] - cy) / n
        j += 1
    return j


def _stops_in_run(x, y, t, first: int, last: int, *, stop_seconds: float, stop_metres: float):
    """Greedy: from each fix, grow a cluster while the next fix lies within stop_metres of the
    cluster's running centroid, itself included (so two fixes of a car parked between them, drifting
    40 m either way, still belong together); long enough → a stop (and carry on after it), else
    move one fix on."""
    stops = []
    limit = stop_metres + _EPSILON_M
    # Where no stop can start, skip without the loop (a moving vehicle: nearly every fix). A stop
    # from fix i must contain fix k, the first at least stop_seconds later. Each fix joining a
    # cluster of n moves its centroid by at most limit/n, so after m fixes the centroid is within
    # limit·H(m−1) of fix i, and fix k is within 2·limit of the centroid it joined: fix k lies within
    # limit·(2 + H(k−i)) ≤ limit·(3 + ln(k−i)) of fix i. Farther, or no such k: no stop from i.
    idx = np.arange(first, last + 1)
    k = np.searchsorted(t, t[idx] + stop_seconds, side="left")
    within = k <= last
    kk = np.where(within, k, last)
    reach = limit * (3.0 + np.log(np.maximum(kk - idx, 1)))
    possible = within & (np.hypot(x[kk] - x[idx], y[kk] - y[idx]) <= reach)
    candidates = idx[possible]
    if not len(candidates):
        return stops
    # The greedy loop reads single fixes: Python floats cost a third of numpy scalars there
    # (bench/replay.py, 24 h track: stop detection 39 → 13 ms).
    xs, ys = x.tolist(), y.tolist()
    i = int(candidates[0])
    while i <= last:
        j = cluster_end(xs, ys, i, last, limit=limit)
        if t[j - 1] - t[i] >= stop_seconds and j - 1 > i:
            stops.append((i, j - 1))
            i = j
        else:
            i += 1
        # On to the next fix where a stop may start.
        c = int(np.searchsorted(candidates, i, side="left"))
        if c >= len(candidates):
            break
        i = int(candidates[c])
    return stops


def detect_stretches(
    fixes: Fixes,
    *,
    stop_seconds: float,
    stop_metres: float,
    gap_seconds: int = TRACK_GAP_SECONDS,
) -> list[Stretch]:
    """The track cut into stops, trips and gaps, in time order.

    Within a run stops and trips tile the time from its first to its last fix: a trip starts at
    the fix that ends the previous stop (or at the run's first fix) and ends at the fix that starts
    the next stop (or at the run's last fix). A gap joins the last fix of a run to the first of the
    next; its distance is never counted. A run of one fix has neither stop nor trip.
    """
    x, y = local_metres(fixes)
    t = fixes.t
    step = np.hypot(np.diff(x), np.diff(y)) if len(t) > 1 else np.zeros(0)
    cumulative = np.r_[0.0, np.cumsum(step)]
    out: list[Stretch] = []
    runs = run_bounds(t, gap_seconds=gap_seconds)
    for k, (first, last) in enumerate(runs):
        if k > 0:
            out.append(Stretch("gap", runs[k - 1][1], first))
        stops = _stops_in_run(x, y, t, first, last, stop_seconds=stop_seconds, stop_metres=stop_metres)
        cursor = first
        for a, b in stops:
            if a > cursor:
                out.append(Stretch("trip", cursor, a, metres=float(cumulative[a] - cumulative[cursor])))
            out.append(
                Stretch(
                    "stop",
                    a,
                    b,
                    point=(float(np.mean(fixes.lon[a : b + 1])), float(np.mean(fixes.lat[a : b + 1]))),
                )
            )
            cursor = b
        if last > cursor:
            out.append(Stretch("trip", cursor, last, metres=float(cumulative[last] - cumulative[cursor])))
    return out


def douglas_peucker(x: np.ndarray, y: np.ndarray, *, tolerance: float) -> np.ndarray:
    """Indices (sorted) of the vertices Douglas–Peucker keeps at `tolerance` (same unit as x, y).
    The first and last vertex are always kept. Iterative, vectorised per segment."""
    n = len(x)
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        dx, dy = x[b] - x[a], y[b] - y[a]
        px, py = x[a + 1 : b] - x[a], y[a + 1 : b] - y[a]
        length = math.hypot(dx, dy)
        if length == 0:
            dist = np.hypot(px, py)
        else:
            # Distance to the segment, not the infinite line: a track that doubles back keeps its turn.
            u = np.clip((px * dx + py * dy) / (length * length), 0.0, 1.0)
            dist = np.hypot(px - u * dx, py - u * dy)
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            m = a + 1 + k
            keep[m] = True
            stack.append((a, m))
            stack.append((m, b))
    return np.flatnonzero(keep)


def simplify_indices(x: np.ndarray, y: np.ndarray, *, tolerance: float) -> np.ndarray:
    """The indices `douglas_peucker` keeps, computed by GEOS: each vertex carries its index as Z,
    which GEOS's Douglas–Peucker keeps untouched on the vertices it keeps (a 24 h track at zoom 14
    keeps thousands of vertices; one numpy call per kept vertex cost ~100 ms, GEOS ~2 ms)."""
    n = len(x)
    if n <= 2:
        return np.arange(n)
    line = shapely.linestrings(x, y, np.arange(n, dtype=float))
    kept = shapely.get_coordinates(
        shapely.simplify(line, tolerance, preserve_topology=False), include_z=True
    )[:, 2]
    if len(kept) < 2:  # every vertex on one spot: GEOS may collapse the line
        return np.array([0, n - 1])
    return np.rint(kept).astype(np.int64)


def zoom_tolerance_metres(*, zoom: int, latitude: float) -> float:
    """About one screen pixel at `zoom` at `latitude`, in metres (web mercator, 256-px tiles)."""
    return METRES_PER_PIXEL_ZOOM0 * math.cos(math.radians(latitude)) / 2**zoom


def cell_dwell(
    t: np.ndarray, cells: np.ndarray, *, gap_seconds: int = TRACK_GAP_SECONDS
) -> dict[int, tuple[float, float]]:
    """cell → (seconds, first fix time there) from each fix's cell (-1: outside every cell).

    Time counts between two consecutive fixes both in the same cell and at most gap_seconds apart,
    so one fix alone in a cell (GPS drift over its border) adds nothing."""
    out: dict[int, tuple[float, float]] = {}
    if len(t) == 0:
        return out
    for cell in np.unique(cells[cells >= 0]).tolist():
        idx = np.flatnonzero(cells == cell)
        first = float(t[idx[0]])
        pairs = idx[:-1][np.diff(idx) == 1]  # fix i and i+1 both in the cell
        dt = t[pairs + 1] - t[pairs]
        out[int(cell)] = (float(dt[dt <= gap_seconds].sum()), first)
    return out


# --- Database wrappers ------------------------------------------------------------------------------


# The fixes come back as one bytea of big-endian float8s (5 per fix, in fix order), read by numpy in
# one call. Measured on a 24 h track (17,280 fixes, bench/replay.py): fetchall() of the same five
# columns spent 25 ms turning text into Python floats and a binary COPY 30 ms (one Python call per
# row); this takes ~1 ms on top of the query itself. date_part, not EXTRACT: since PostgreSQL 14
# EXTRACT computes a numeric, and casting it back was 18 of the query's 45 ms (EXPLAIN ANALYZE).
_FIXES_SQL = """
    SELECT string_agg(
        float8send(date_part('epoch', fixed_at)) || float8send(ST_X(point))
        || float8send(ST_Y(point)) || float8send(COALESCE(speed, 'NaN'::float8))
        || float8send(COALESCE(heading, 'NaN'::float8)),
        ''::bytea ORDER BY fixed_at
    )
    FROM gridops_ping
    WHERE unit_id = %s AND fixed_at >= %s AND fixed_at <= %s
"""


def unit_fixes(*, unit: Unit, start: datetime, end: datetime) -> Fixes:
    """The unit's pings in [start, end] in fix order, as arrays (one query, no Python per row)."""
    with connection.cursor() as cursor:
        cursor.execute(_FIXES_SQL, [unit.pk, start, end])
        (data,) = cursor.fetchone()
    values = np.frombuffer(bytes(data or b""), dtype=">f8").astype(np.float64).reshape(-1, 5)
    return Fixes(*values.T)


def epoch_iso(value: float) -> str:
    """Epoch seconds as ISO 8601 in Asia/Shanghai (+08:00), like the track's times."""
    return timezone.localtime(datetime.fromtimestamp(value, tz=UTC)).isoformat()


def _unit_ref(unit: Unit) -> dict:
    return {"id": unit.pk, "code": unit.code, "name": unit.name}


def unit_stops(
    *,
    unit: Unit,
    start: datetime,
    end: datetime,
    stop_seconds: int | None = None,
    stop_metres: float | None = None,
) -> dict:
    """Stops, trips and gaps of the unit in [start, end] with their totals (see detect_stretches)."""
    stop_seconds = settings.REPLAY_STOP_SECONDS if stop_seconds is None else stop_seconds
    stop_metres = settings.REPLAY_STOP_METRES if stop_metres is None else stop_metres
    fixes = unit_fixes(unit=unit, start=start, end=end)
    stretches = detect_stretches(fixes, stop_seconds=stop_seconds, stop_metres=stop_metres)
    t = fixes.t

    def span(s: Stretch) -> dict:
        return {
            "start": epoch_iso(t[s.first]),
            "end": epoch_iso(t[s.last]),
            "seconds": round(float(t[s.last] - t[s.first])),
        }

    stops = [
        {**span(s), "point": [round(s.point[0], 7), round(s.point[1], 7)], "fixes": s.last - s.first + 1}
        for s in stretches
        if s.kind == "stop"
    ]
    trips = [
        {**span(s), "metres": round(s.metres, 1), "fixes": s.last - s.first + 1}
        for s in stretches
        if s.kind == "trip"
    ]
    gaps = [span(s) for s in stretches if s.kind == "gap"]
    return {
        "unit": _unit_ref(unit),
        "start": timezone.localtime(start).isoformat(),
        "end": timezone.localtime(end).isoformat(),
        "stop_seconds": stop_seconds,
        "stop_metres": stop_metres,
        "count": len(fixes),
        "stops": stops,
        "trips": trips,
        "gaps": gaps,
        "totals": {
            "metres": round(sum(s.metres for s in stretches if s.kind == "trip"), 1),
            "moving_seconds": sum(x["seconds"] for x in trips),
            "stopped_seconds": sum(x["seconds"] for x in stops),
            "gap_seconds": sum(x["seconds"] for x in gaps),
        },
    }


def iso_times(t: np.ndarray) -> list[str]:
    """Epoch seconds as ISO 8601 in Asia/Shanghai, vectorised; the same strings as
    `timezone.localtime(value).isoformat()` (microseconds only when there are some)."""
    if len(t) == 0:
        return []
    us = np.rint(t * 1e6).astype(np.int64)
    first, last = (datetime.fromtimestamp(v / 1e6, tz=UTC) for v in (us[0], us[-1]))
    offset = timezone.localtime(first).utcoffset()
    if timezone.localtime(last).utcoffset() != offset:  # not since 1991 in Asia/Shanghai
        return [epoch_iso(v) for v in t.tolist()]
    local = (us + int(offset.total_seconds() * 1e6)).astype("datetime64[us]")
    whole = us % 1_000_000 == 0
    text = np.where(
        whole, np.datetime_as_string(local, unit="s"), np.datetime_as_string(local, unit="us")
    ).astype(object)
    sign = "-" if offset.total_seconds() < 0 else "+"
    minutes = int(abs(offset.total_seconds())) // 60
    return (text + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}").tolist()


def _nullable(values: np.ndarray) -> list:
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def _simplify_keeping_stops(x, y, t, first: int, last: int, *, tolerance: float) -> np.ndarray:
    """Indices of the line first..last kept at `tolerance`, with the first and last fix of every stop
    (REPLAY_STOP_SECONDS within REPLAY_STOP_METRES) kept too, and nothing of a stop in between.

    Douglas–Peucker looks at places only: a car that stops for ten minutes on a straight road and
    drives on loses both ends of its stop, and a player interpolating the kept vertices by time
    slides the marker slowly through the stop. Cutting the line at the stops and simplifying each
    trip on its own keeps positions within the tolerance and the times of the stops exact."""
    stops = _stops_in_run(
        x,
        y,
        t,
        first,
        last,
        stop_seconds=settings.REPLAY_STOP_SECONDS,
        stop_metres=settings.REPLAY_STOP_METRES,
    )
    pieces = []
    cursor = first
    for a, b in stops:
        if a > cursor:
            pieces.append(
                cursor + simplify_indices(x[cursor : a + 1], y[cursor : a + 1], tolerance=tolerance)
            )
        pieces.append(np.array([a, b], dtype=np.int64))
        cursor = b
    if last > cursor:
        pieces.append(
            cursor + simplify_indices(x[cursor : last + 1], y[cursor : last + 1], tolerance=tolerance)
        )
    return np.unique(np.concatenate(pieces)) if pieces else np.array([first, last], dtype=np.int64)


def unit_track_feature(
    *,
    unit: Unit,
    start: datetime,
    end: datetime,
    zoom: int | None = None,
    gap_seconds: int = TRACK_GAP_SECONDS,
) -> dict:
    """The track Feature of gridops.selectors.units.unit_track, built over arrays (the same answer:
    tests/gridops/test_replay.py compares them), simplified for `zoom` when one is given.

    With a zoom each line is simplified by Douglas–Peucker in metres at about one screen pixel
    (`zoom_tolerance_metres` at the track's mean latitude); every kept vertex keeps its own time,
    speed and heading, and every line its first and last fix. Measured on a 24 h track of 17,280
    fixes (bench/replay.py): the per-row Python of unit_track cost ~250 ms of a 276 ms answer.
    """
    fixes = unit_fixes(unit=unit, start=start, end=end)
    runs = run_bounds(fixes.t, gap_seconds=gap_seconds)
    lines = [(a, b) for a, b in runs if b > a]
    isolated = np.array([a for a, b in runs if a == b], dtype=np.int64)
    tolerance = None
    if zoom is not None:
        latitude = float(np.mean(fixes.lat)) if len(fixes) else 0.0
        tolerance = zoom_tolerance_metres(zoom=zoom, latitude=latitude)
        x, y = local_metres(fixes)
        kept = [_simplify_keeping_stops(x, y, fixes.t, a, b, tolerance=tolerance) for a, b in lines]
    else:
        kept = [np.arange(a, b + 1) for a, b in lines]
    index = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    offsets = np.r_[0, np.cumsum([len(k) for k in kept])].tolist()
    coords = np.column_stack([fixes.lon[index], fixes.lat[index]]).tolist()
    times = iso_times(fixes.t[index])
    speeds = _nullable(fixes.speed[index])
    headings = _nullable(fixes.heading[index])

    def nest(values: list) -> list[list]:
        return [values[offsets[k] : offsets[k + 1]] for k in range(len(kept))]

    isolated_times = iso_times(fixes.t[isolated])
    iso_speeds, iso_headings = _nullable(fixes.speed[isolated]), _nullable(fixes.heading[isolated])
    properties = {
        "unit": _unit_ref(unit),
        "start": timezone.localtime(start).isoformat(),
        "end": timezone.localtime(end).isoformat(),
        "count": len(fixes),
        "gap_seconds": gap_seconds,
        "segments": [
            {"start": times[offsets[k]], "end": times[offsets[k + 1] - 1], "count": b - a + 1}
            for k, (a, b) in enumerate(lines)
        ],
        "times": nest(times),
        "speeds": nest(speeds),
        "headings": nest(headings),
        "isolated": [
            {
                "time": isolated_times[k],
                "point": [float(fixes.lon[i]), float(fixes.lat[i])],
                "speed": iso_speeds[k],
                "heading": iso_headings[k],
            }
            for k, i in enumerate(isolated.tolist())
        ],
    }
    if tolerance is not None:
        properties["simplified"] = True
        properties["tolerance_m"] = round(tolerance, 3)
    return {
        "type": "Feature",
        "id": unit.pk,
        "geometry": {"type": "MultiLineString", "coordinates": nest(coords)} if lines else None,
        "properties": properties,
    }


def assigned_cell_ids(*, unit: Unit, at: datetime | None = None) -> set[int]:
    """Cells of the zones of the unit's team (any domain) in the coverage version in force at `at`."""
    version = coverage_version_in_force(at=at)
    if version is None:
        return set()
    zones = EnforcementZone.objects.filter(version=version, team_id=unit.team_id)
    return set(ZoneCell.objects.filter(zone__in=zones).values_list("cell_id", flat=True))


def unit_visited_cells(
    *, unit: Unit, start: datetime, end: datetime, dwell_seconds: int | None = None
) -> dict:
    """The unit's assigned cells and the cells it visited (≥ dwell_seconds inside) in [start, end]."""
    from geodata.routing import routing_index  # the in-memory cell index routing keeps warm

    dwell_seconds = settings.REPLAY_VISIT_SECONDS if dwell_seconds is None else dwell_seconds
    fixes = unit_fixes(unit=unit, start=start, end=end)
    index = routing_index()
    positions = index.cells_at(fixes.lon, fixes.lat, end) if len(fixes) else np.zeros(0, dtype=np.int64)
    cell_of_fix = np.where(positions >= 0, index.cell_ids[np.maximum(positions, 0)], -1)
    dwell = cell_dwell(fixes.t, cell_of_fix)
    visited = {cell for cell, (seconds, _first) in dwell.items() if seconds >= dwell_seconds}
    assigned = assigned_cell_ids(unit=unit, at=end)
    cells = (
        GridCell.objects.filter(pk__in=assigned | visited).only("id", "code", "name", "geom").order_by("code")
    )
    features = []
    for cell in cells:
        seconds, first = dwell.get(cell.pk, (0.0, None))
        is_visited = cell.pk in visited
        features.append(
            {
                "type": "Feature",
                "id": cell.pk,
                "geometry": {"type": cell.geom.geom_type, "coordinates": cell.geom.coords},
                "properties": {
                    "code": cell.code,
                    "name": cell.name,
                    "assigned": cell.pk in assigned,
                    "visited": is_visited,
                    "first_at": epoch_iso(first) if is_visited else None,
                    "seconds": round(seconds),
                },
            }
        )
    n_visited = len(assigned & visited)
    return {
        "unit": _unit_ref(unit),
        "start": timezone.localtime(start).isoformat(),
        "end": timezone.localtime(end).isoformat(),
        "dwell_seconds": dwell_seconds,
        "assigned": len(assigned),
        "visited": n_visited,
        "percentage": round(100.0 * n_visited / len(assigned), 1) if assigned else 0.0,
        "cells": {"type": "FeatureCollection", "features": features},
    }


def track_gpx(*, unit: Unit, start: datetime, end: datetime) -> str:
    """GPX 1.1 of the unit's track: one <trkseg> per run without a gap (a lone fix is a segment
    of one point, so nothing recorded is dropped), times in UTC as GPX requires."""
    from xml.sax.saxutils import escape, quoteattr

    fixes = unit_fixes(unit=unit, start=start, end=end)
    name = escape(f"{unit.name}（{unit.code}）")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="GridOps" xmlns="http://www.topografix.com/GPX/1/1">',
        f"<metadata><name>{name}</name><time>{_utc(start.timestamp())}</time></metadata>",
        f"<trk><name>{name}</name>",
    ]
    for first, last in run_bounds(fixes.t):
        out.append("<trkseg>")
        for i in range(first, last + 1):
            lat, lon = quoteattr(repr(float(fixes.lat[i]))), quoteattr(repr(float(fixes.lon[i])))
            out.append(f"<trkpt lat={lat} lon={lon}><time>{_utc(fixes.t[i])}</time></trkpt>")
        out.append("</trkseg>")
    out.append("</trk></gpx>")
    return "\n".join(out) + "\n"


def _utc(epoch: float) -> str:
    value = datetime.fromtimestamp(float(epoch), tz=UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def unit_activity(*, unit: Unit, start: datetime, end: datetime, limit: int = 1000) -> dict:
    """What the unit did in the period besides driving, at its moment and place, for the replay's
    timeline: the steps of the cases dispatched to it (dispatch, accept, arrival, handled,
    verification … with where each was taken, or the case's place) and the reports its own device
    sent (a patrol that found something). Oldest first."""

    steps = (
        CaseEvent.objects.filter(report__assigned_unit=unit, at__gte=start, at__lt=end)
        .select_related("report__matter")
        .order_by("at", "seq")[:limit]
    )
    items = []
    for step in steps:
        report = step.report
        point = step.point or report.point
        items.append(
            {
                "at": timezone.localtime(step.at).isoformat(),
                "kind": "case_step",
                "action": step.action,
                "label": step_label(step.action),
                "actor_name": step.actor_name,
                "note": step.note,
                "point": [point.x, point.y],
                "located": step.point is not None,
                "report": {
                    "id": report.pk,
                    "number": report.number,
                    "matter": report.matter.name if report.matter_id else None,
                },
            }
        )
    if unit.device_id:
        reports = Report.objects.filter(device_id=unit.device_id, received_at__gte=start, received_at__lt=end)
        for report in reports.select_related("matter").order_by("received_at")[:limit]:
            items.append(
                {
                    "at": timezone.localtime(report.received_at).isoformat(),
                    "kind": "report",
                    "action": "reported",
                    "label": str(report.get_source_display()),
                    "actor_name": unit.name,
                    "note": report.description[:140],
                    "point": [report.point.x, report.point.y],
                    "located": True,
                    "report": {
                        "id": report.pk,
                        "number": report.number,
                        "matter": report.matter.name if report.matter_id else None,
                    },
                }
            )
    items.sort(key=lambda item: item["at"])
    return {
        "unit": _unit_ref(unit),
        "start": timezone.localtime(start).isoformat(),
        "end": timezone.localtime(end).isoformat(),
        "events": items,
    }
