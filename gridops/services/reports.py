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
from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.coords import point_from_request
from geodata.errors import FieldError
from geodata.models import Matter
from geodata.routing import route
from gridops.models import Camera, Device, Report
from gridops.realtime import events
from gridops.realtime.outbox import outbox_emit

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
        matter = Matter.objects.filter(code=data.matter_code).first()
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
    """Copy a routing answer (RouteResult.as_dict()) onto the report: who, and why."""
    report.routed = result["routed"]
    report.triage_queue = "" if result["routed"] else result["triage_queue"]
    report.cell_id = result["cell"]["id"] if result["cell"] else None
    report.township_id = result["township"]["id"] if result["township"] else None
    report.zone_id = result["zone"]["id"] if result["zone"] else None
    report.coverage_version_id = result["coverage_version"]["id"] if result["coverage_version"] else None
    report.team_id = result["team"]["id"] if result["team"] else None
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
) -> tuple[Report, bool]:
    """Validate, route and store a report; returns (report, created).

    Raises FieldError (→ 400) for bad input, IdempotencyConflict (→ 422) for a reused key.
    `photos` are uploaded files; they are checked and re-encoded by gridops.services.photos
    before anything is written, so a bad photo stores nothing.
    """
    key = (idempotency_key or "").strip() or None
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise FieldError("idempotency_key", _("幂等键不能超过 %(n)d 个字符。") % {"n": IDEMPOTENCY_KEY_MAX})
    fingerprint = data.fingerprint()
    if key is not None and Report.objects.filter(idempotency_key=key).exists():
        return _existing(key, fingerprint), False

    lon, lat, crs, matter, accuracy = _validate(data)
    prepared = _prepare_photos(photos)
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
        last_seen_at=received_at,
        idempotency_key=key,
        payload_hash=fingerprint if key else "",
        reported_at=data.reported_at,
        received_at=received_at,
    )
    apply_route(report, result)
    try:
        with transaction.atomic():
            report.save()
            _store_photos(report, prepared)
            outbox_emit(
                type=events.REPORT_CREATED,
                data=events.report_payload(report),
                streams=events.report_streams(report),
            )
    except IntegrityError:
        if key is not None and Report.objects.filter(idempotency_key=key).exists():
            return _existing(key, fingerprint), False  # a concurrent retry won the race
        raise
    if not report.routed:
        logger.info("report %s needs triage (%s)", report.number, report.triage_queue)
    return report, True


def _prepare_photos(photos) -> list:
    if not photos:
        return []
    from gridops.services.photos import photos_prepare

    return photos_prepare(files=list(photos))


def _store_photos(report: Report, prepared: list) -> None:
    if not prepared:
        return
    from gridops.services.photos import photos_store

    photos_store(report=report, prepared=prepared)
