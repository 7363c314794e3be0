"""Every realtime event type, who it concerns and what it carries. The JS has one switch over these.

A websocket frame is a JSON array of messages; each message is
    {"seq": int | null, "type": "<type>", "stream": "<stream>", "data": {...}}
`seq` numbers a message within the console's stream (gap-free: a gap means "resume"); ephemeral
messages (unit positions, heartbeats) carry `seq: null` and are not replayed on resume — a console
that reconnects reloads positions from /api/v1/units/.

Streams: "county" (everything), "township:<code>", "team:<code>". A console listens to one stream.
"""

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gridops.deadlines import report_due_at

# Sequenced: stored in the outbox, replayed on resume.
REPORT_CREATED = "report.created"
REPORT_UPDATED = "report.updated"
ALERT_RAISED = "alert.raised"
ALERT_UPDATED = "alert.updated"
CASE_UPDATED = "case.updated"
COVERAGE_PUBLISHED = "coverage.published"
SEQUENCED_TYPES = (
    REPORT_CREATED,
    REPORT_UPDATED,
    ALERT_RAISED,
    ALERT_UPDATED,
    CASE_UPDATED,
    COVERAGE_PUBLISHED,
)

# Ephemeral: notices only (the database row is the record).
UNIT_MOVED = "unit.moved"
HEARTBEAT = "heartbeat"
RELOAD = "reload"
RESUMED = "resumed"
ERROR = "error"  # {"seq": null, "type": "error", "data": {"<field>": ["<message>"]}}
EPHEMERAL_TYPES = (UNIT_MOVED, HEARTBEAT, RELOAD, RESUMED, ERROR)

COUNTY_STREAM = "county"


def township_stream(code: str) -> str:
    return f"township:{code}"


def team_stream(code: str) -> str:
    return f"team:{code}"


def stream_group(stream: str) -> str:
    """Channels group names allow ASCII letters, digits, hyphens, underscores and periods."""
    return "live." + stream.replace(":", ".")


def local_iso(value) -> str | None:
    """A time as ISO 8601 in Asia/Shanghai (+08:00), or None.

    In the site's zone (settings.TIME_ZONE), as timezone.localtime() gives it when no other zone is
    activated (none ever is); without localtime's look-up of the current zone, which a report's
    answer and event paid eleven times (~4 µs each)."""
    if not value:
        return None
    if value.tzinfo is None:
        raise ValueError("local_iso() cannot be applied to a naive datetime")
    return value.astimezone(timezone.get_default_timezone()).isoformat()


def local_iso_text(text: str | None) -> str | None:
    """A time kept as ISO 8601 text in a JSON field (stored in UTC), shown in Asia/Shanghai like
    every other time of the API; text that is not a time with its offset is shown as stored."""
    try:
        value = parse_datetime(text) if text else None
    except ValueError:  # well-formed but impossible (a 13th month)
        value = None
    if value is None or value.tzinfo is None:
        return text or None
    return local_iso(value)


def ref(obj, *fields: str) -> dict | None:
    """A related object as a small dict of the named fields, or None."""
    if obj is None:
        return None
    return {f: getattr(obj, f) for f in fields}


def place_streams(obj) -> list[str]:
    """Who hears of something with a township and a team (a report, an alert): the county, that
    township and that team."""
    streams = [COUNTY_STREAM]
    if obj.township_id:
        streams.append(township_stream(obj.township.code))
    if obj.team_id:
        streams.append(team_stream(obj.team.code))
    return streams


report_streams = place_streams


def report_payload(report) -> dict:
    """What a console needs to draw and list a report (the detail comes from the REST API)."""
    return {
        "id": report.pk,
        "number": report.number,
        "source": report.source,
        "status": report.status,
        "priority": report.priority,
        "point": [report.point.x, report.point.y],
        "matter": ref(report.matter, "code", "name", "domain"),
        "description": report.description[:140],
        "team": ref(report.team, "code", "name"),
        "township": ref(report.township, "code", "name"),
        "cell": ref(report.cell, "code", "name"),
        "routed": report.routed,
        "triage_queue": report.triage_queue or None,
        "alert_type": report.alert_type or None,
        "repeat_count": report.repeat_count,
        "photos": report.photos.count() if report.pk else 0,
        "received_at": local_iso(report.received_at),
        "last_seen_at": local_iso(report.last_seen_at),
        "due_at": local_iso(report_due_at(report)),
        "reporter_id": report.reporter_id,
    }


def case_payload(report, *, action: str) -> dict:
    """A step of the closed loop: the report's payload plus what the step changed (the detail and
    the full record come from the REST API)."""
    unit = report.assigned_unit if report.assigned_unit_id else None
    return {
        **report_payload(report),
        "action": action,
        "record_seq": report.record_seq,
        "assigned_unit": ref(unit, "id", "code", "name"),
        "handler_id": report.handler_id,
        "rework_count": report.rework_count,
        "extension_count": report.extension_count,
        "extension_pending": bool(report.extension_request),
    }


alert_streams = place_streams


def alert_payload(alert) -> dict:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "status": alert.status,
        "message": alert.message,
        "unit": ref(alert.unit, "id", "code", "name") if alert.unit_id else None,
        "team": ref(alert.team, "code", "name"),
        "township": ref(alert.township, "code", "name"),
        "point": [alert.point.x, alert.point.y] if alert.point else None,
        "raised_at": local_iso(alert.raised_at),
        "cleared_at": local_iso(alert.cleared_at),
        "data": alert.data,
        "report": alert.report_id,
    }


def unit_streams(unit) -> list[str]:
    return [COUNTY_STREAM, team_stream(unit.team.code)]


def unit_position_payload(unit) -> dict:
    return {
        "id": unit.pk,
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "team": unit.team.code,
        "point": [unit.fix_point.x, unit.fix_point.y] if unit.fix_point else None,
        "heading": unit.fix_heading,
        "speed": unit.fix_speed,
        "fix_at": local_iso(unit.fix_at),
        "outside_since": local_iso(unit.outside_since),
    }
