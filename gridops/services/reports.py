"""Report intake: one core for every door (grid-worker phone, 12345, citizens, Open311, cameras).

    validate (coordinates, CRS, matter, lengths) ─► idempotency ─► route ─► store + photos
        ─► outbox `report.created` (same transaction) ─► after commit: numbered and pushed

Idempotency: a phone that lost the response retries with the same `idempotency_key` (its client
UUID or the Idempotency-Key header) and gets the stored report back (`created=False`). The same key
with a different payload is a caller's mistake (IdempotencyConflict → 422). The key is unique in
the database, so two concurrent retries cannot both insert: the loser reads the winner's row.
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.coords import point_from_request
from geodata.errors import FieldError
from geodata.models import GridCell, Matter, Region, Team
from geodata.routing import route, routing_index
from gridops.models import Camera, CaseEvent, Device, Report, ReportPhoto
from gridops.realtime import events
from gridops.realtime.outbox import outbox_emit, outbox_event
from gridops.services.cases import actor_display_name, case_locked, record_append
from gridops.services.photos import photos_discard, photos_prepare, photos_store
from gridops.services.rows import insert_with_event, next_id

logger = logging.getLogger("gridops.intake")

DESCRIPTION_MAX = 2000
IDEMPOTENCY_KEY_MAX = 100


class IdempotencyConflict(FieldError):
    """The key was used before for a different report."""


@dataclass(frozen=True)
class ReportInput:
    """What a door hands the service, before validation (raw values as the caller sent them)."""

    source: str
    lon: object
    lat: object
    crs: str | None = None
    matter_code: str | None = None
    description: str = ""
    address: str = ""
    accuracy: object = None
    priority: int = Report.Priority.NORMAL
    reporter_name: str = ""
    reporter_phone: str = ""
    reported_at: datetime | None = None

    def fingerprint(self) -> str:
        """A hash of what makes two submissions 'the same report' for idempotency."""
        body = {
            "source": self.source,
            "lon": str(self.lon),
            "lat": str(self.lat),
            "crs": (self.crs or "wgs84").lower(),
            "matter": self.matter_code or "",
            "description": self.description.strip(),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _validate(data: ReportInput) -> tuple[float, float, str, Matter | None, float | None]:
    if data.source not in Report.Source.values:
        raise FieldError("source", _("未知来源 %(s)r。") % {"s": data.source})
    lon, lat, crs = point_from_request(data.lon, data.lat, data.crs)
    if len(data.description) > DESCRIPTION_MAX:
        raise FieldError("description", _("描述不能超过 %(n)d 个字。") % {"n": DESCRIPTION_MAX})
    accuracy = None
    if data.accuracy not in (None, ""):
        try:
            accuracy = float(data.accuracy)
        except (TypeError, ValueError):
            raise FieldError("accuracy", _("定位精度必须是数字（米）。")) from None
        if not 0 <= accuracy < 100_000:
            raise FieldError("accuracy", _("定位精度应在 0 到 100000 米之间。"))
    matter = None
    if data.matter_code:
        # The routing index holds the catalogue in memory (refreshed with the geodata revision).
        matter = routing_index().matters.get(data.matter_code)
        if matter is None:
            raise FieldError("matter", _("未知事项编码：%(code)s。") % {"code": data.matter_code})
        if not matter.active:
            raise FieldError("matter", _("事项 %(code)s 已停用。") % {"code": data.matter_code})
    if data.priority not in Report.Priority.values:
        raise FieldError("priority", _("紧急程度只能是 0（一般）或 1（紧急）。"))
    return lon, lat, crs, matter, accuracy


def _existing(key: str, fingerprint: str) -> Report:
    report = Report.objects.select_related("matter", "team", "township", "cell").get(idempotency_key=key)
    if report.payload_hash != fingerprint:
        logger.info("idempotency key %r reused with a different payload (report %s)", key, report.pk)
        raise IdempotencyConflict(
            "idempotency_key",
            _("该幂等键已用于另一条内容不同的上报（%(number)s），请为新上报生成新的键。")
            % {"number": report.number},
        )
    return report


def apply_route(report: Report, result: dict) -> None:
    """Copy a routing answer (RouteResult.as_dict()) onto the report: who, and why.

    The team, township and cell are attached as light instances built from the answer (id, code,
    name), so building the event payload and the 201 answer costs no query. Profiled: loading them
    lazily read three rows with their polygons and parsed them, ~3 ms per report.
    """
    report.routed = result["routed"]
    report.triage_queue = "" if result["routed"] else result["triage_queue"]
    team, township, cell = result["team"], result["township"], result["cell"]
    report.team = (
        Team(id=team["id"], code=team["code"], name=team["name"], kind=team["kind"], phone=team["phone"])
        if team
        else None
    )
    report.township = (
        Region(id=township["id"], code=township["code"], name=township["name"], level=township["level"])
        if township
        else None
    )
    report.cell = GridCell(id=cell["id"], code=cell["code"], name=cell["name"]) if cell else None
    report.zone_id = result["zone"]["id"] if result["zone"] else None
    report.coverage_version_id = result["coverage_version"]["id"] if result["coverage_version"] else None
    report.status = Report.Status.NEW if result["routed"] else Report.Status.TRIAGE
    report.routing = {
        "reasons": result["reasons"],
        "cell": result["cell"],
        "village": result["village"],
        "township": result["township"],
        "zone": result["zone"],
        "coverage_version": result["coverage_version"],
        "team": result["team"],
        "matter": result["matter"],
        "triage_queue": result["triage_queue"],
        "routed_at": timezone.now().isoformat(),
    }


def report_submit(
    *,
    data: ReportInput,
    reporter=None,
    device: Device | None = None,
    camera: Camera | None = None,
    alert_type: str = "",
    idempotency_key: str | None = None,
    photos=(),
    extra_reasons: Sequence[dict] = (),
) -> tuple[Report, bool]:
    """Validate, route and store a report; returns (report, created).

    Raises FieldError (→ 400) for bad input, IdempotencyConflict (→ 422) for a reused key.
    `photos` are uploaded files; they are checked and re-encoded by gridops.services.photos
    before anything is written, so a bad photo stores nothing. `extra_reasons` ({"code", "text"})
    are appended to the routing reasons, e.g. "came from camera X".
    A camera report's `last_seen_at` is the camera's own time (`data.reported_at`) when given,
    so the merge window of gridops.services.cameras runs from when the camera saw it.
    """
    key = (idempotency_key or "").strip() or None
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise FieldError("idempotency_key", _("幂等键不能超过 %(n)d 个字符。") % {"n": IDEMPOTENCY_KEY_MAX})
    fingerprint = data.fingerprint()
    # With photos, look for a stored report first so a retry does not re-encode them for nothing;
    # without, the unique key on insert is the check (one query fewer on the common path).
    if key is not None and photos and Report.objects.filter(idempotency_key=key).exists():
        return _existing(key, fingerprint), False

    lon, lat, crs, matter, accuracy = _validate(data)
    prepared = photos_prepare(files=photos) if photos else []
    received_at = timezone.now()
    result = route(lon, lat, matter=matter.code if matter else None, at=received_at).as_dict()

    report = Report(
        source=data.source,
        priority=data.priority,
        point=Point(lon, lat, srid=4326),
        input_crs=crs if crs != "cgcs2000" else "wgs84",
        accuracy=accuracy,
        address=data.address[:200],
        matter=matter,
        description=data.description.strip(),
        reporter=reporter if getattr(reporter, "is_authenticated", False) else None,
        reporter_name=data.reporter_name[:50],
        reporter_phone=data.reporter_phone[:30],
        device=device,
        camera=camera,
        alert_type=alert_type,
        last_seen_at=(data.reported_at or received_at) if camera is not None else received_at,
        idempotency_key=key,
        payload_hash=fingerprint if key else "",
        reported_at=data.reported_at,
        received_at=received_at,
    )
    apply_route(report, result)
    report.routing["reasons"].extend({"code": r["code"], "text": r["text"]} for r in extra_reasons)
    if not prepared:
        return _insert_without_photos(report, key, fingerprint)
    stored_photos: list = []
    try:
        with transaction.atomic():
            report.save()
            photos_store(report=report, prepared=prepared, into=stored_photos)
            report._prefetched_objects_cache = {
                "photos": _photo_queryset(report, stored_photos),
                "case_events": _filled(CaseEvent.objects.none(), []),  # no case record yet
            }
            outbox_emit(
                type=events.REPORT_CREATED,
                data=events.report_payload(report),
                streams=events.report_streams(report),
            )
    except IntegrityError:
        photos_discard(stored_photos)
        report.pk = None
        if key is not None and Report.objects.filter(idempotency_key=key).exists():
            return _existing(key, fingerprint), False  # a concurrent retry won the race
        raise
    except BaseException:
        photos_discard(stored_photos)
        raise
    if not report.routed:
        logger.info("report %s needs triage (%s)", report.number, report.triage_queue)
    return report, True


def _insert_without_photos(report: Report, key: str | None, fingerprint: str) -> tuple[Report, bool]:
    """The common path (no photos): the report and its event in one statement (services/rows.py)."""
    report.pk = next_id(Report)
    # No photos and no case record yet: empty results in place of the relations. Profiled under
    # load (py-spy --gil): building a related queryset was 2.5%; reading the empty case record
    # for the 201 answer cost a query and ~6%; even an unfilled .none() compiles its SQL (~3%).
    report._prefetched_objects_cache = {
        "photos": _filled(ReportPhoto.objects.none(), []),
        "case_events": _filled(CaseEvent.objects.none(), []),
    }
    event = outbox_event(
        type=events.REPORT_CREATED, data=events.report_payload(report), streams=events.report_streams(report)
    )
    try:
        insert_with_event(report, event)
    except IntegrityError:
        report.pk = None
        if key is not None and Report.objects.filter(idempotency_key=key).exists():
            return _existing(key, fingerprint), False  # a retry: the stored report is the answer
        raise
    if not report.routed:
        logger.info("report %s needs triage (%s)", report.number, report.triage_queue)
    return report, True


def _filled(queryset, rows: list):
    """`queryset` with `rows` as its result: reading it runs (and compiles) no query."""
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset


def _photo_queryset(report: Report, photos: list):
    """A queryset of the report's photos pre-filled with the rows just stored (no query to read)."""
    return _filled(report.photos.order_by("id"), sorted(photos, key=lambda p: p.pk))


# --- Triage and hand-over -------------------------------------------------------------------------
# Assigning is the one step that is not in the lifecycle table (it changes the team, not the state
# of the work): it is recorded in the case's hash-chained record like every other step
# (gridops.services.cases.record_append) and pushed as `case.updated`.

ASSIGNABLE = (Report.Status.NEW, Report.Status.TRIAGE, Report.Status.REGISTERED)
NOTE_MAX = 500


def report_assign(*, report: Report, team: Team, actor, note: str = "") -> Report:
    """Assign (or reassign) a report to a team by hand.

    The routing reasons are kept and a reason recording the manual assignment (who, when, from
    which team, the note) is appended. A triage report becomes routed and `new`; a reassigned
    report (new or registered, not yet dispatched) goes back to `new` so the new team registers
    it. The event also goes to the old team's stream, so its console learns the report left.
    Assigning to the team already responsible is a no-op.
    """
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise FieldError("note", _("备注不能超过 %(n)d 个字。") % {"n": NOTE_MAX})
    with transaction.atomic():
        report = case_locked(report)
        if report.status not in ASSIGNABLE:
            raise FieldError(
                "status",
                _("该上报状态为“%(status)s”，不能再指派。") % {"status": report.get_status_display()},
            )
        if report.team_id == team.pk and report.routed:
            return report
        old_team = report.team
        now = timezone.now()
        who = actor_display_name(actor)
        when = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
        if old_team is None:
            text = _("%(who)s 于 %(when)s 将待分拣上报手动指派给 %(team)s。") % {
                "who": who,
                "when": when,
                "team": team.name,
            }
        else:
            text = _("%(who)s 于 %(when)s 将上报由 %(old)s 改派给 %(team)s。") % {
                "who": who,
                "when": when,
                "old": old_team.name,
                "team": team.name,
            }
        if note:
            text += _("备注：%(note)s") % {"note": note}
        report.routing.setdefault("reasons", []).append(
            {
                "code": "manual_assign",
                "text": text,
                "actor": getattr(actor, "username", None),
                "at": timezone.localtime(now).isoformat(),
                "from_team": old_team.code if old_team else None,
                "to_team": team.code,
                "note": note,
            }
        )
        before = report.status
        report.team = team
        report.routed = True
        report.triage_queue = ""
        report.status = Report.Status.NEW
        report.registered_at = report.due_at = None
        record_append(
            report=report,
            action="assign",
            from_status=before,
            actor=actor,
            at=now,
            note=note,
            data={"from_team": old_team.code if old_team else None, "to_team": team.code},
        )
        report.save()
        streams = events.report_streams(report)
        if old_team is not None:
            streams.append(events.team_stream(old_team.code))
        outbox_emit(
            type=events.CASE_UPDATED, data=events.case_payload(report, action="assign"), streams=streams
        )
    logger.info(
        "report %s assigned to %s by %s (was %s)",
        report.number,
        team.code,
        getattr(actor, "username", actor),
        old_team.code if old_team else "triage",
    )
    return report
