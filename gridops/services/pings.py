"""GPS ping intake: one batch from one device → track rows, live position, out-of-zone alerts.

    validate each item (time, coordinates, CRS, speed/heading/accuracy)     pure Python, no DB
    inside/outside per fix for the team the device's unit had at its last batch here
    one statement (its own transaction): lock the unit row (one batch of a unit at a time: the
      geofence state is a read-modify-write), INSERT … SELECT FROM unnest(…) ON CONFLICT
      (device_id, fixed_at) DO NOTHING, the device's last_seen_at, and the live position moved to
      the newest fix when the geofence cannot change (the unit inside and every new fix inside its
      team's zones: the usual batch); it answers the unit's state and the duplicates' positions
    ── otherwise, if some stored fix is newer than the position: transaction ─────────────────
    the unit row locked again; the geofence over those fixes, in fix order
    one UPDATE of the unit (live position + outside_since)
    alerts raised / cleared, each with its outbox event
    ── after commit ─────────────────────────────────────────────────────────────────────────
    one ephemeral `unit.moved` notice if the live position moved

Why raw SQL for the insert: bulk_create would build one model instance per ping and cannot say
which rows were duplicates; one INSERT over unnest() arrays sends the whole batch in one round trip.
Measured on this 2-core machine (in-process, 100 batches of 100, best of 5 while other jobs shared
the CPU): a 100-ping batch costs ~2.8 ms wall / 2.2 ms CPU through this function (~36,000 pings/s)
and ~5 ms wall / 4 ms CPU through the HTTP view with Django's test client, device-key auth included
(~20,000 pings/s); medians under load were ~9 and ~13 ms. Before the array literals were built by
hand (_array) psycopg's list adapter alone cost ~2 ms.

Issue 7, profiled (py-spy --gil on both gridops_serve workers, 8 devices posting 100-fix batches):
the ORM's locking SELECT of the unit (select_related + only + select_for_update compiled afresh each
time) was ~20% of a worker's GIL time, more than the insert and the geofence together; it is now
part of the insert statement. Plain, well-formed items are validated by comparisons in one loop
(_validate_batch); the settings look-ups, helper calls and frozen dataclasses per item were ~6%.
In-process (bench DB, 300 batches of 100): 86 → 44–52 µs of Python CPU per fix, PostgreSQL 65 →
48–55 µs (with the two unused indexes and the spatial index dropped, migration 0006).

The live position only moves forward in fix time: late fixes (a tracker emptying its buffer after a
tunnel) are stored as track but never move the marker back, and never change the geofence state.

Geofence: a fix is inside when the cell holding it (routing index, lowest-code tie-break) belongs
to a zone of the unit's team in the coverage version in force, or — only evaluated for fixes that
are not — when it lies within GEOFENCE_TOLERANCE_METRES of the union of the team's cells. A unit
outside continuously (by fix time) for GEOFENCE_DWELL_SECONDS raises one out-of-zone alert; coming
back inside clears it. So GPS drift along the border and short excursions raise nothing.
"""

import logging
import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from geodata.coords import CRS_CHOICES, CoordinateError, in_service_area, point_from_request, to_wgs84
from geodata.errors import FieldError
from geodata.models import Region, Team
from geodata.routing import RoutingIndex, routing_index
from gridops.models import Alert, Device, Ping, Unit
from gridops.realtime import events
from gridops.realtime.outbox import live_send, outbox_emit
from gridops.services import pgbinary
from gridops.services.rows import prepared_cursor

logger = logging.getLogger("gridops.pings")

SPEED_MAX_KMH = 500.0  # a drone or a car on the expressway stays far below; more is a unit error
ACCURACY_MAX_M = 100_000.0
# Epoch values above this are milliseconds sent as seconds (year 5138 onwards): say so.
EPOCH_SECONDS_MAX = 1e11

# Per-item reason codes (stable: terminals and the simulator may act on them).
CODE_DUPLICATE = "duplicate"  # already stored (same device and fix time)
CODE_DUPLICATE_IN_BATCH = "duplicate_in_batch"  # the same fix time earlier in this batch
CODE_INVALID_ITEM = "invalid_item"
CODE_MISSING_TIME = "missing_time"
CODE_BAD_TIME = "bad_time"
CODE_TIME_IN_FUTURE = "time_in_future"
CODE_TIME_TOO_OLD = "time_too_old"
CODE_MISSING_COORDINATES = "missing_coordinates"
CODE_NOT_A_NUMBER = "not_a_number"
CODE_NOT_FINITE = "not_finite"
CODE_OUT_OF_RANGE = "out_of_range"
CODE_SWAPPED = "swapped"
CODE_OUTSIDE_SERVICE_AREA = "outside_service_area"
CODE_UNKNOWN_CRS = "unknown_crs"
CODE_BAD_SPEED = "bad_speed"
CODE_BAD_HEADING = "bad_heading"
CODE_BAD_ACCURACY = "bad_accuracy"


class PingBatchError(FieldError):
    """The request as a whole is unusable (not a list, empty, too large) → 400."""


class DeviceNotBound(FieldError):
    """The device is not the tracker of an active unit: nothing can be stored → 403."""


class _Rejected(Exception):
    def __init__(self, code: str, field: str, message: str) -> None:
        self.code, self.field, self.message = code, field, message


class Fix(NamedTuple):
    """One accepted item; a tuple because a batch builds hundreds (a frozen dataclass's __init__
    was ~1% of a worker's time)."""

    index: int
    fixed_at: datetime
    lon: float
    lat: float
    speed: float | None
    heading: float | None
    accuracy: float | None


@dataclass
class BatchResult:
    """The answer to one batch. `items` lists only the items that were not stored (duplicate or
    rejected), by index in the request; every index not listed was accepted."""

    unit: Unit
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    items: list[dict] = field(default_factory=list)
    moved: bool = False
    alerts_raised: list[Alert] = field(default_factory=list)
    alerts_cleared: list[Alert] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "items": self.items,
            "unit": events.unit_position_payload(self.unit),
        }


# --- Validation ------------------------------------------------------------------------------------


def _number(raw, code: str, field: str) -> float:
    if isinstance(raw, bool):
        raise _Rejected(code, field, _("必须是数字，收到 %(raw)r。") % {"raw": raw})
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _Rejected(code, field, _("必须是数字，收到 %(raw)r。") % {"raw": raw}) from None
    if not math.isfinite(value):
        raise _Rejected(code, field, _("必须是有限数字（不能是 NaN 或无穷）。"))
    return value


def _optional(item: dict, key: str):
    raw = item.get(key)
    return None if raw is None or raw == "" else raw


def _parse_time(raw) -> datetime:
    """ISO 8601 with an offset, or epoch seconds (number or numeric string)."""
    if raw is None or raw == "":
        raise _Rejected(CODE_MISSING_TIME, "t", _("缺少定位时间 t。"))
    if isinstance(raw, str) and not raw.strip().replace(".", "", 1).isdigit():
        try:
            parsed = datetime.fromisoformat(raw.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise _Rejected(
                CODE_BAD_TIME,
                "t",
                _("定位时间应为带时区的 ISO 8601 时间或 Unix 秒，收到 %(raw)r。") % {"raw": raw},
            )
        if parsed.tzinfo is None:
            # A naive time is ambiguous (device local time? UTC?): an 8-hour error on the map.
            raise _Rejected(
                CODE_BAD_TIME,
                "t",
                _("定位时间必须带时区，例如 2026-05-01T09:30:00+08:00，收到 %(raw)r。") % {"raw": raw},
            )
        return parsed
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Rejected(CODE_BAD_TIME, "t", _("定位时间应为带时区的 ISO 8601 时间或 Unix 秒。"))
    try:
        epoch = float(raw)
    except ValueError:  # str.isdigit() accepts digits float() does not (e.g. "³")
        raise _Rejected(CODE_BAD_TIME, "t", _("定位时间应为带时区的 ISO 8601 时间或 Unix 秒。")) from None
    if not math.isfinite(epoch):
        raise _Rejected(CODE_BAD_TIME, "t", _("定位时间应为带时区的 ISO 8601 时间或 Unix 秒。"))
    if epoch > EPOCH_SECONDS_MAX:
        raise _Rejected(CODE_BAD_TIME, "t", _("定位时间应为 Unix 秒，收到的数值过大（是否误用了毫秒？）。"))
    try:
        return datetime.fromtimestamp(epoch, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _Rejected(CODE_BAD_TIME, "t", _("定位时间应为带时区的 ISO 8601 时间或 Unix 秒。")) from None


def _coordinate_rejection(lon_raw, lat_raw, crs: str) -> _Rejected:
    """Name the coordinate problem with a code, using geodata.coords for the wording (the slow,
    explanatory path: only taken for items the fast path refused)."""
    try:
        point_from_request(lon_raw, lat_raw, crs)
    except CoordinateError as exc:
        error = exc
    else:  # the fast path refused something the careful path accepts: cannot happen, but be safe
        return _Rejected(CODE_OUTSIDE_SERVICE_AREA, "lon", _("坐标不在服务区域内。"))
    if error.field == "crs":
        return _Rejected(CODE_UNKNOWN_CRS, "crs", error.message)
    values = []
    for raw in (lon_raw, lat_raw):
        try:
            values.append(float(raw) if not isinstance(raw, bool) else None)
        except (TypeError, ValueError):
            values.append(None)
    if any(v is None for v in values):
        return _Rejected(CODE_NOT_A_NUMBER, error.field, error.message)
    lon, lat = values
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return _Rejected(CODE_NOT_FINITE, error.field, error.message)
    try:  # the message already says "swapped" when the reversed pair lands in the service area
        point_from_request(lat, lon, crs)
    except CoordinateError:
        pass
    else:
        return _Rejected(CODE_SWAPPED, error.field, error.message)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return _Rejected(CODE_OUT_OF_RANGE, error.field, error.message)
    return _Rejected(CODE_OUTSIDE_SERVICE_AREA, error.field, error.message)


def _validate_item(item, index: int, *, default_crs: str, earliest: datetime, latest: datetime) -> Fix:
    if not isinstance(item, dict):
        raise _Rejected(CODE_INVALID_ITEM, "items", _("每个定位点应为 JSON 对象。"))
    fixed_at = _parse_time(item.get("t"))
    if fixed_at > latest:
        raise _Rejected(
            CODE_TIME_IN_FUTURE,
            "t",
            _("定位时间晚于服务器时间超过 %(n)d 秒（设备时钟不准？）。")
            % {"n": settings.PING_MAX_FUTURE_SECONDS},
        )
    if fixed_at < earliest:
        raise _Rejected(
            CODE_TIME_TOO_OLD,
            "t",
            _("定位时间早于 %(days)s 天前，不再接收。")
            % {"days": round(settings.PING_MAX_AGE_SECONDS / 86400, 1)},
        )

    lon_raw, lat_raw = item.get("lon"), item.get("lat")
    if lon_raw is None or lat_raw is None or lon_raw == "" or lat_raw == "":
        missing = "lon" if lon_raw is None or lon_raw == "" else "lat"
        raise _Rejected(CODE_MISSING_COORDINATES, missing, _("缺少坐标 %(f)s。") % {"f": missing})
    crs = item.get("crs") or default_crs
    # Fast path for the common case (finite numbers in the service area); anything else goes the
    # explanatory way through geodata.coords.point_from_request.
    try:
        if isinstance(lon_raw, bool) or isinstance(lat_raw, bool) or not isinstance(crs, str):
            raise ValueError
        lon, lat = float(lon_raw), float(lat_raw)
        crs = crs.lower()
        if crs != "wgs84":
            if crs not in CRS_CHOICES:
                raise ValueError
            if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError
            lon, lat = to_wgs84(lon, lat, crs)
        if not (math.isfinite(lon) and math.isfinite(lat) and in_service_area(lon, lat)):
            raise ValueError
    except (TypeError, ValueError):
        raise _coordinate_rejection(lon_raw, lat_raw, crs if isinstance(crs, str) else str(crs)) from None

    speed = _optional(item, "speed")
    if speed is not None:
        speed = _number(speed, CODE_BAD_SPEED, "speed")
        if not 0 <= speed <= SPEED_MAX_KMH:
            raise _Rejected(
                CODE_BAD_SPEED, "speed", _("速度应在 0 到 %(max)d km/h 之间。") % {"max": SPEED_MAX_KMH}
            )
    heading = _optional(item, "heading")
    if heading is not None:
        heading = _number(heading, CODE_BAD_HEADING, "heading")
        if not 0 <= heading <= 360:
            raise _Rejected(CODE_BAD_HEADING, "heading", _("方向应在 0 到 360 度之间。"))
        heading %= 360  # 360 is north too; stored as 0
    accuracy = _optional(item, "accuracy")
    if accuracy is not None:
        accuracy = _number(accuracy, CODE_BAD_ACCURACY, "accuracy")
        if not 0 <= accuracy <= ACCURACY_MAX_M:
            raise _Rejected(CODE_BAD_ACCURACY, "accuracy", _("定位精度应在 0 到 100000 米之间。"))
    return Fix(index, fixed_at, lon, lat, speed, heading, accuracy)


_NUMBER = (float, int)  # exact types: bool (a subclass of int) goes the careful way and is refused


def _validate_batch(
    items: list, *, default_crs: str, earliest: datetime, latest: datetime
) -> tuple[list[Fix], list[dict]]:
    """The accepted fixes (first of each fix time) and the outcomes of the others.

    Most items are a well-formed fix in WGS-84: those are taken in one pass of plain comparisons
    (numbers of exact type, an ISO time with an offset, within the service area); anything else,
    or anything out of range, goes through _validate_item, which names the reason. Both paths
    accept exactly the same items with the same values: the fast one only skips the explanations.
    """
    min_lon, min_lat, max_lon, max_lat = settings.SERVICE_AREA_BBOX
    device_wgs84 = isinstance(default_crs, str) and default_crs.lower() == "wgs84"
    outcomes: list[dict] = []
    fixes: list[Fix] = []
    seen: set[datetime] = set()
    fromisoformat, fromtimestamp = datetime.fromisoformat, datetime.fromtimestamp
    for i, item in enumerate(items):
        fix = None
        if type(item) is dict and (device_wgs84 if item.get("crs") in (None, "") else item["crs"] == "wgs84"):
            t, lon, lat = item.get("t"), item.get("lon"), item.get("lat")
            fixed_at = None
            if type(t) is str:
                try:
                    fixed_at = fromisoformat(t)
                except ValueError:
                    pass
                else:
                    if fixed_at.tzinfo is None:  # naive: refused with its reason below
                        fixed_at = None
            elif type(t) in _NUMBER and 0 <= t <= EPOCH_SECONDS_MAX:
                fixed_at = fromtimestamp(t, tz=UTC)
            if (
                fixed_at is not None
                and earliest <= fixed_at <= latest
                and type(lon) in _NUMBER
                and type(lat) in _NUMBER
                and min_lon <= lon <= max_lon
                and min_lat <= lat <= max_lat
            ):
                speed, heading, accuracy = item.get("speed"), item.get("heading"), item.get("accuracy")
                if (
                    (speed is None or (type(speed) in _NUMBER and 0 <= speed <= SPEED_MAX_KMH))
                    and (heading is None or (type(heading) in _NUMBER and 0 <= heading <= 360))
                    and (accuracy is None or (type(accuracy) in _NUMBER and 0 <= accuracy <= ACCURACY_MAX_M))
                ):
                    fix = Fix(
                        i,
                        fixed_at,
                        float(lon),
                        float(lat),
                        None if speed is None else float(speed),
                        None if heading is None else float(heading) % 360,  # 360 is north too
                        None if accuracy is None else float(accuracy),
                    )
        if fix is None:
            try:
                fix = _validate_item(item, i, default_crs=default_crs, earliest=earliest, latest=latest)
            except _Rejected as r:
                outcomes.append(
                    {"index": i, "status": "rejected", "code": r.code, "field": r.field, "message": r.message}
                )
                continue
        if fix.fixed_at in seen:
            outcomes.append(
                {
                    "index": i,
                    "status": "duplicate",
                    "code": CODE_DUPLICATE_IN_BATCH,
                    "message": _("本批中已有相同定位时间的点。"),
                }
            )
            continue
        seen.add(fix.fixed_at)
        fixes.append(fix)
    return fixes, outcomes


# --- Storage -----------------------------------------------------------------------------------------

# A batch is one statement (one round trip, no ORM compilation: building the locking SELECT through
# the ORM was ~20% of a worker's time per batch, py-spy --gil):
#   - `unit` locks the device's active unit row; the insert reads the unit from it, so the lock is
#     taken before any row goes in, and nothing goes in when the device has no active unit (no row
#     comes back: DeviceNotBound);
#   - `stored` inserts the fixes, skipping those already stored; their 1-based positions come back
#     (usually none, so the answer is one row whatever the batch size);
#   - `moved` moves the live position to the newest stored fix when the geofence cannot change:
#     the unit was inside (outside_since NULL), every stored fix newer than its position is inside
#     the zones of the team (and domain) the caller assumed (`inside`, worked out before the
#     statement for that team, in force at `newest_at`), and the newest of them is the batch's
#     newest fix (the time the caller worked the geofence out for). Otherwise nothing moves and
#     the caller takes the unit's lock again in a transaction and walks the geofence fix by fix
#     (_geofence_walk): a unit outside or leaving, a batch of late fixes, a device's first batch
#     in a process (no team assumed yet);
#   - `seen` is the device's last_seen_at.
# Why: a batch of a unit inside its zones, the usual case, used to be BEGIN, this lock-and-insert,
# the position's UPDATE and COMMIT: four round trips, each ~29 µs of the worker's CPU and ~22 µs of
# PostgreSQL's whatever it carries (a `SELECT 1` loop). In autocommit the statement is its own
# transaction, so the lock lasts only as long as the statement, which is all the usual case needs.
# The six arrays (and the inside flags) go as binary parameters (`%b`) when statements are prepared
# (server-side binding), instead of array literals (`isoformat()` and `repr()` of every value,
# parsed again by PostgreSQL). Measured: the unnest alone, 100 fixes, 3,000 runs: PostgreSQL
# 1.27 → 0.73 µs and the caller 2.22 → 1.06 µs per fix; ping_batch_ingest in-process, batches of
# 100, old and new code in turn: Python 6.1–6.4 → 5.2–5.9 µs, PostgreSQL 13.0–14.0 → 12.5–14.0 µs
# per fix. They are built in PostgreSQL's binary format by services/pgbinary.py (one struct.pack
# each): psycopg's array dumper took ~300 µs of a 100-fix batch, those ~57 µs. Django's own cursor
# (GRIDOPS_PREPARED_STATEMENTS=0) binds on the client, which has no binary parameters: there the
# literals stay.
_BATCH_TEMPLATE = """
WITH unit AS (
    SELECT u.id, u.code, u.name, u.kind, u.fix_at, ST_X(u.fix_point), ST_Y(u.fix_point), u.fix_speed,
           u.fix_heading, u.outside_since, t.id AS team_id, t.code AS team_code, t.name AS team_name,
           t.domain
    FROM {unit} u JOIN {team} t ON t.id = u.team_id
    WHERE u.device_id = %s AND u.active
    FOR UPDATE OF u
),
fix AS (
    SELECT *
    FROM unnest({a}::timestamptz[], {a}::float8[], {a}::float8[], {a}::float8[], {a}::float8[], {a}::float8[],
                {a}::bool[])
        WITH ORDINALITY AS f(fixed_at, lon, lat, speed, heading, accuracy, inside, position)
),
stored AS (
    INSERT INTO {ping}
        (unit_id, device_id, fixed_at, received_at, point, speed, heading, accuracy)
    SELECT unit.id, %s, fix.fixed_at, %s, ST_SetSRID(ST_MakePoint(fix.lon, fix.lat), {srid}),
           fix.speed, fix.heading, fix.accuracy
    FROM unit, fix
    ON CONFLICT (device_id, fixed_at) DO NOTHING
    RETURNING fixed_at
),
forward AS (
    SELECT fix.fixed_at, fix.lon, fix.lat, fix.speed, fix.heading, fix.inside
    FROM fix JOIN stored USING (fixed_at) CROSS JOIN unit
    WHERE unit.fix_at IS NULL OR fix.fixed_at > unit.fix_at
),
newest AS (
    SELECT * FROM forward ORDER BY fixed_at DESC LIMIT 1
),
moved AS (
    UPDATE {unit} u
    SET fix_at = newest.fixed_at, fix_point = ST_SetSRID(ST_MakePoint(newest.lon, newest.lat), {srid}),
        fix_speed = newest.speed, fix_heading = newest.heading
    FROM unit, newest
    WHERE u.id = unit.id AND unit.team_id = %s AND unit.domain = %s AND unit.outside_since IS NULL
          AND newest.fixed_at = %s
          AND NOT EXISTS (SELECT 1 FROM forward WHERE NOT forward.inside)
    RETURNING u.id
),
seen AS (
    UPDATE {device} SET last_seen_at = %s WHERE id = %s AND EXISTS (SELECT 1 FROM unit)
)
SELECT unit.*, ARRAY(SELECT position FROM fix WHERE fixed_at NOT IN (SELECT fixed_at FROM stored)),
       EXISTS (SELECT 1 FROM forward), EXISTS (SELECT 1 FROM moved)
FROM unit
"""


def _batch_sql(array_placeholder: str) -> str:
    return _BATCH_TEMPLATE.format(
        unit=Unit._meta.db_table,
        team=Team._meta.db_table,
        ping=Ping._meta.db_table,
        device=Device._meta.db_table,
        srid=settings.SRID,
        a=array_placeholder,
    )


_BATCH_SQL = _batch_sql("%s")  # array literals
_BATCH_BINARY_SQL = _batch_sql("%b")  # arrays as binary parameters

# The position and the geofence state after a walk. The WHERE clause keeps the position moving
# forward only, even if a caller forgot the row lock.
_UPDATE_UNIT_SQL = f"""
UPDATE {Unit._meta.db_table}
SET fix_at = %s, fix_point = ST_SetSRID(ST_MakePoint(%s, %s), {settings.SRID}), fix_speed = %s,
    fix_heading = %s, outside_since = %s
WHERE id = %s AND (fix_at IS NULL OR fix_at < %s)
"""

# The team (id, domain) of each device's unit at its last batch in this process: the team a batch's
# geofence is worked out for before the statement. A stale entry (the unit moved to another team, the
# team to another domain, the device to another unit) costs one walk under the lock, never a wrong
# answer: the statement checks the team and its domain.
_team_of_device: dict[int, tuple[int, str]] = {}


def _array(values) -> str:
    """A PostgreSQL array literal of floats or booleans. psycopg's list adapter checks every element
    against a quoting regex (~2 ms for the six arrays of a 100-ping batch); these never need it."""
    return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"


def _from_db(model, values: dict):
    """An instance with only these columns loaded (the others deferred, as .only() leaves them)."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, fields, [values[name] for name in fields])


class _Stored(NamedTuple):
    unit: Unit  # as it is after the statement
    fixes: list[Fix]  # the fixes stored (the others were duplicates)
    forward: bool  # some stored fix was newer than the unit's position
    moved: bool  # the statement moved the position to the newest of them


def _move_to(unit: Unit, fix: Fix) -> None:
    """The unit in memory at `fix`, as the statement that moved it left its row."""
    unit.fix_at, unit.fix_point = fix.fixed_at, _point(fix.lon, fix.lat)
    unit.fix_speed, unit.fix_heading = fix.speed, fix.heading


def _store(
    device: Device,
    fixes: list[Fix],
    received_at: datetime,
    *,
    team_id: int | None = None,
    domain: str | None = None,
    inside: list[bool] | None = None,
    newest_at: datetime | None = None,
) -> _Stored:
    """Run the batch statement (see above). Without `team_id` and `domain` (the team the geofence
    was worked out for) nothing moves; with no fixes it only takes the unit's lock and answers its
    state."""
    times = [f.fixed_at for f in fixes]
    numbers = [
        [f.lon for f in fixes],
        [f.lat for f in fixes],
        [f.speed for f in fixes],
        [f.heading for f in fixes],
        [f.accuracy for f in fixes],
    ]
    inside = inside if inside is not None else [False] * len(fixes)
    if settings.PREPARED_STATEMENTS:
        sql = _BATCH_BINARY_SQL
        columns = [
            pgbinary.timestamptz_array(times),
            *map(pgbinary.float8_array, numbers),
            pgbinary.bool_array(inside),
        ]
    else:
        sql = _BATCH_SQL
        columns = ["{" + ",".join([t.isoformat() for t in times]) + "}", *map(_array, [*numbers, inside])]
    with prepared_cursor() as cursor:  # parsed and planned once per connection (services/rows.py)
        cursor.execute(
            sql,
            [device.pk, *columns, device.pk, received_at, team_id, domain, newest_at, received_at, device.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise DeviceNotBound(
            "device", _("设备 %(code)s 未绑定在用的巡查单元，不能上传定位。") % {"code": device.code}
        )
    uid, code, name, kind, fix_at, fix_lon, fix_lat, fix_speed, fix_heading, outside_since = row[:10]
    team_id, team_code, team_name, team_domain = row[10:14]
    duplicates, forward, moved = row[14:17]
    team = _from_db(Team, {"id": team_id, "code": team_code, "name": team_name, "domain": team_domain})
    unit = _from_db(
        Unit,
        {
            "id": uid,
            "code": code,
            "name": name,
            "kind": kind,
            "team_id": team_id,
            "device_id": device.pk,
            "active": True,
            "fix_at": fix_at,
            # When the statement moved the unit, _move_to below replaces it: no point built for it.
            "fix_point": None if fix_lon is None or moved else _point(fix_lon, fix_lat),
            "fix_speed": fix_speed,
            "fix_heading": fix_heading,
            "outside_since": outside_since,
        },
    )
    unit.team = team
    if duplicates:
        skipped = set(duplicates)
        fixes = [f for position, f in enumerate(fixes, 1) if position not in skipped]
    if moved:
        _move_to(unit, next(f for f in fixes if f.fixed_at == newest_at))
    return _Stored(unit, fixes, forward, moved)


# --- Geofence --------------------------------------------------------------------------------------

# Team outlines in local metres, per routing index (rebuilt with it): {(version id, team id): geom}.
_outline_cache: dict[tuple[int, int], object] = {}
_outline_index: RoutingIndex | None = None
_outline_lock = threading.Lock()
_METRES_PER_DEGREE_LAT = 110_574.0
_METRES_PER_DEGREE_LON_EQUATOR = 111_320.0


def _metres_scale() -> tuple[float, float]:
    """Equirectangular scale at the middle of the service area: within 1 % over a county, plenty
    for a tolerance of tens of metres."""
    _, min_lat, _, max_lat = settings.SERVICE_AREA_BBOX
    mid = math.radians((min_lat + max_lat) / 2)
    return _METRES_PER_DEGREE_LON_EQUATOR * math.cos(mid), _METRES_PER_DEGREE_LAT


def _team_outline(index: RoutingIndex, version, team_id: int, domain: str):
    """The union of the cells of the team's zones, in local metres (None if the team has none)."""
    global _outline_index
    with _outline_lock:
        if _outline_index is not index:
            _outline_cache.clear()
            _outline_index = index
        key = (version.id, team_id)
        if key not in _outline_cache:
            zones = version.zone_of_cell.get(domain)
            outline = None
            if zones is not None:
                positions = np.flatnonzero(index.team_of_zone[zones] == team_id)
                if len(positions):
                    kx, ky = _metres_scale()
                    cells = index.tree.geometries.take(positions)
                    outline = shapely.transform(shapely.union_all(cells), lambda c: c * (kx, ky))
                    shapely.prepare(outline)
            _outline_cache[key] = outline
        return _outline_cache[key]


@dataclass
class _Fence:
    inside: np.ndarray  # bool per fix
    lons: np.ndarray
    lats: np.ndarray
    at: datetime
    index: RoutingIndex

    def township_id(self, k: int) -> int | None:
        """The township of the cell holding fix k (None outside the grid): only an alert needs it."""
        position = int(self.index.cells_at(self.lons[k : k + 1], self.lats[k : k + 1], self.at)[0])
        return self.index.cell_township[position] if position >= 0 else None


def _geofence(team_id: int, domain: str, fixes: list[Fix], at: datetime) -> _Fence | None:
    """Inside/outside per fix for the team's zones in force at `at`, or None when the team has no
    zone in force (nothing to leave)."""
    index = routing_index()
    version = index.version_at(at)
    if version is None:
        return None
    zones = version.zone_of_cell.get(domain)
    if zones is None:
        return None
    outline = _team_outline(index, version, team_id, domain)
    if outline is None:  # no cell of the team in force: none of its cells could hold a fix either
        return None
    lons = np.fromiter((f.lon for f in fixes), dtype=float, count=len(fixes))
    lats = np.fromiter((f.lat for f in fixes), dtype=float, count=len(fixes))
    kx, ky = _metres_scale()
    xs, ys = lons * kx, lats * ky
    # Inside the union of the team's cells: one prepared point-in-polygon per fix, no geometry
    # made (measured, 100 fixes: 21 µs, against 87 µs for the cell of each fix from the routing
    # index). A fix it leaves out may still be inside: on the union's border (in a team cell by
    # the routing index's rule, which counts a cell's border), or within the tolerance.
    inside = shapely.contains_xy(outline, xs, ys)
    if not inside.all():
        out = np.flatnonzero(~inside)
        positions = index.cells_at(lons[out], lats[out], at)
        in_grid = positions >= 0
        zone_ids = np.where(in_grid, zones[np.where(in_grid, positions, 0)], 0)
        inside[out] = in_grid & (index.team_of_zone[zone_ids] == team_id)
        out = out[~inside[out]]
        if len(out):
            points = shapely.points(xs[out], ys[out])
            inside[out] = shapely.dwithin(outline, points, settings.GEOFENCE_TOLERANCE_METRES)
    return _Fence(inside=inside, lons=lons, lats=lats, at=at, index=index)


def _active_alerts(unit: Unit) -> list[Alert]:
    """The unit's current out-of-zone alert(s): open or acknowledged, not yet cleared."""
    alerts = list(
        Alert.objects.select_related("team", "township")
        .defer("township__geom")  # the payload needs the code and name, not the polygon
        .filter(
            unit=unit,
            kind=Alert.Kind.OUT_OF_ZONE,
            status__in=[Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED],
        )
        .order_by("raised_at")
    )
    for alert in alerts:
        alert.unit = unit
    return alerts


def _alert_raise(unit: Unit, fix: Fix, township_id: int | None, outside_since: datetime) -> Alert:
    minutes = max(1, round(settings.GEOFENCE_DWELL_SECONDS / 60))
    # Stored in the site language: the alert list and every console show the same text.
    with translation.override(settings.LANGUAGE_CODE):
        message = _("巡查单元 %(unit)s 驶离辖区已超过 %(minutes)d 分钟") % {
            "unit": unit.name,
            "minutes": minutes,
        }
    township = Region.objects.only("id", "code", "name").get(pk=township_id) if township_id else None
    alert = Alert.objects.create(
        kind=Alert.Kind.OUT_OF_ZONE,
        status=Alert.Status.OPEN,
        unit=unit,
        team=unit.team,
        township=township,
        point=_point(fix.lon, fix.lat),
        message=message,
        data={
            "outside_since": timezone.localtime(outside_since).isoformat(),
            "fix_at": timezone.localtime(fix.fixed_at).isoformat(),
            "dwell_seconds": settings.GEOFENCE_DWELL_SECONDS,
        },
        raised_at=fix.fixed_at,
    )
    outbox_emit(
        type=events.ALERT_RAISED, data=events.alert_payload(alert), streams=events.alert_streams(alert)
    )
    logger.info(
        "out-of-zone alert %s raised for unit %s (outside since %s)", alert.pk, unit.code, outside_since
    )
    return alert


def _alert_clear(alert: Alert, fix: Fix) -> None:
    alert.status = Alert.Status.CLEARED
    alert.cleared_at = fix.fixed_at
    alert.data = {**alert.data, "returned_at": timezone.localtime(fix.fixed_at).isoformat()}
    alert.save(update_fields=["status", "cleared_at", "data"])
    outbox_emit(
        type=events.ALERT_UPDATED, data=events.alert_payload(alert), streams=events.alert_streams(alert)
    )
    logger.info("out-of-zone alert %s cleared: unit %s back inside", alert.pk, alert.unit_id)


def _point(lon: float, lat: float) -> Point:
    return Point(lon, lat, srid=settings.SRID)


def _apply_geofence(unit: Unit, forward: list[Fix], result: BatchResult) -> datetime | None:
    """Walk the new fixes in time order; raise or clear alerts; return the new outside_since."""
    outside_since = unit.outside_since
    fence = _geofence(unit.team.pk, unit.team.domain, forward, forward[-1].fixed_at)
    if fence is None:
        return outside_since
    if outside_since is None and fence.inside.all():
        return None  # the common case: inside and staying inside, no alert to look at
    dwell = timedelta(seconds=settings.GEOFENCE_DWELL_SECONDS)
    active = _active_alerts(unit)
    for k, fix in enumerate(forward):
        if fence.inside[k]:
            if outside_since is not None:
                outside_since = None
                for alert in active:
                    _alert_clear(alert, fix)
                    result.alerts_cleared.append(alert)
                active = []
            continue
        if outside_since is None:
            outside_since = fix.fixed_at
        if not active and fix.fixed_at - outside_since >= dwell:
            alert = _alert_raise(unit, fix, fence.township_id(k), outside_since)
            active = [alert]
            result.alerts_raised.append(alert)
    return outside_since


def _geofence_walk(unit: Unit, stored: list[Fix], result: BatchResult) -> bool:
    """Under the unit's lock: walk the stored fixes newer than its position in fix time (raising
    or clearing alerts), then move the position and the geofence state. Late fixes are track only:
    the live position and the geofence move forward in fix time. Whether the position moved."""
    forward = sorted(
        (f for f in stored if unit.fix_at is None or f.fixed_at > unit.fix_at), key=lambda f: f.fixed_at
    )
    if not forward:
        return False
    newest = forward[-1]
    outside_since = _apply_geofence(unit, forward, result)
    with prepared_cursor() as cursor:
        cursor.execute(
            _UPDATE_UNIT_SQL,
            [
                newest.fixed_at,
                newest.lon,
                newest.lat,
                newest.speed,
                newest.heading,
                outside_since,
                unit.pk,
                newest.fixed_at,
            ],
        )
    _move_to(unit, newest)
    unit.outside_since = outside_since
    return True


# --- The service -----------------------------------------------------------------------------------


def ping_batch_ingest(
    *, device: Device, items: list[dict], received_at: datetime | None = None
) -> BatchResult:
    """Store one batch of GPS fixes from `device` (see the module docstring).

    Bad items are rejected one by one (index, code, field, message) while the good ones are stored;
    a fix already stored, or repeated within the batch, counts as a duplicate. Raises PingBatchError
    when `items` is not a non-empty list of at most PING_MAX_BATCH, DeviceNotBound when the device
    is not the tracker of an active unit.
    """
    if not isinstance(items, list):
        raise PingBatchError("items", _("items 应为定位点列表。"))
    if not items:
        raise PingBatchError("items", _("items 不能为空。"))
    if len(items) > settings.PING_MAX_BATCH:
        raise PingBatchError(
            "items",
            _("每批最多 %(max)d 个定位点，收到 %(n)d 个；请分批上传。")
            % {"max": settings.PING_MAX_BATCH, "n": len(items)},
        )
    received_at = received_at or timezone.now()
    earliest = received_at - timedelta(seconds=settings.PING_MAX_AGE_SECONDS)
    latest = received_at + timedelta(seconds=settings.PING_MAX_FUTURE_SECONDS)

    fixes, outcomes = _validate_batch(items, default_crs=device.crs, earliest=earliest, latest=latest)

    # The geofence for the team this device's unit had last time, before the statement: with it
    # the statement can move the position itself when nothing else can change (see _BATCH_TEMPLATE).
    assumed = _team_of_device.get(device.pk)
    team_id = domain = inside = newest_at = None
    if assumed is not None and fixes:
        team_id, domain = assumed
        newest_at = max(f.fixed_at for f in fixes)
        fence = _geofence(team_id, domain, fixes, newest_at)
        inside = [True] * len(fixes) if fence is None else fence.inside.tolist()
    batch = _store(
        device, fixes, received_at, team_id=team_id, domain=domain, inside=inside, newest_at=newest_at
    )
    unit, stored = batch.unit, batch.fixes
    _team_of_device[device.pk] = (unit.team_id, unit.team.domain)
    device.last_seen_at = received_at
    result = BatchResult(unit=unit, accepted=len(stored))
    if len(stored) < len(fixes):
        stored_indexes = {f.index for f in stored}
        outcomes.extend(
            {
                "index": f.index,
                "status": "duplicate",
                "code": CODE_DUPLICATE,
                "message": _("该定位点已接收过。"),
            }
            for f in fixes
            if f.index not in stored_indexes
        )
    if batch.moved:
        result.moved = True
    elif batch.forward:
        with transaction.atomic():
            result.unit = unit = _store(device, [], received_at).unit  # the lock, and the unit as it is now
            result.moved = _geofence_walk(unit, stored, result)
    if result.moved:
        live_send(
            type=events.UNIT_MOVED,
            data=events.unit_position_payload(unit),
            streams=events.unit_streams(unit),
        )

    outcomes.sort(key=lambda o: o["index"])
    result.items = outcomes
    result.rejected = sum(1 for o in outcomes if o["status"] == "rejected")
    result.duplicate = len(outcomes) - result.rejected
    if result.rejected:
        first = next(o for o in outcomes if o["status"] == "rejected")
        logger.info(
            "pings from %s: %d accepted, %d duplicate, %d rejected (first: #%d %s %s)",
            device.code,
            result.accepted,
            result.duplicate,
            result.rejected,
            first["index"],
            first["code"],
            first["message"],
        )
    return result


# --- Alerts ----------------------------------------------------------------------------------------


class AlertStateError(FieldError):
    """The alert cannot make that move (e.g. acknowledging a cleared alert) → 409."""


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    """A dispatcher has seen the alert. Acknowledging twice is harmless (no second event); a
    cleared alert cannot be acknowledged. An acknowledged out-of-zone alert is still the unit's
    current one: it is cleared when the unit comes back, and no second alert is raised meanwhile."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).select_related("unit", "team").get(pk=alert.pk)
        if alert.status == Alert.Status.ACKNOWLEDGED:
            return alert
        if alert.status != Alert.Status.OPEN:
            raise AlertStateError("status", _("告警已解除，无需确认。"))
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.data = {
            **alert.data,
            "acknowledged_by": user.get_username(),
            "acknowledged_at": timezone.localtime().isoformat(),
        }
        alert.save(update_fields=["status", "data"])
        outbox_emit(
            type=events.ALERT_UPDATED, data=events.alert_payload(alert), streams=events.alert_streams(alert)
        )
    logger.info("alert %s acknowledged by %s", alert.pk, user.get_username())
    return alert
