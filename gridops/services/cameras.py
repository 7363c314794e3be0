"""Camera alerts: an AI camera says "street vending here"; we route it as a report or merge it.

    alert ─► alert type → matter (CAMERA_ALERT_MATTERS) ─► where: the given point if inside the
    camera's field of view, else the FOV centroid / the camera ─► lock the camera row ─►
    open report of this camera + type seen within CAMERA_MERGE_SECONDS?
        yes: repeat_count + 1, last_seen_at moves forward, `report.updated`
        no:  report_submit(source=camera) — routed with its reasons + "from camera X"

Why merge: a camera watching a vendor raises the same alert every few minutes for hours; the
dispatcher needs one report that says "seen 37 times", not 37 reports. Only open reports
(new / triage / acknowledged) absorb repeats: once closed, a new sighting is a new matter.

Why lock the camera row: two alerts of one camera arriving together would both find no open
report and both create one. Locking the camera (one row, held for milliseconds) serialises one
camera's alerts and nothing else.

Idempotency: the camera's own event id becomes the key "camera:<device code>:<event_id>". A new
report stores it as its idempotency key; a merged event is remembered in the report's
`routing["camera_events"]` (the last CAMERA_EVENTS_KEPT ids), so a camera retrying after a lost
response is not counted twice.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.coords import point_from_request
from geodata.demo.catalogue import CAMERA_ALERT_MATTERS as CATALOGUE_ALERT_MATTERS
from geodata.errors import FieldError
from geodata.models import Matter
from gridops.lifecycle import OPEN as OPEN_STATUSES
from gridops.models import Camera, Device, Report
from gridops.realtime import events
from gridops.realtime.outbox import outbox_emit
from gridops.services.photos import photos_discard, photos_prepare, photos_store
from gridops.services.reports import ReportInput, report_submit

logger = logging.getLogger("gridops.intake")

# Alert type (as the camera platform names it) → matter code. Defaults to the demo catalogue's
# mapping; a deployment whose catalogue differs updates this dict at start-up (e.g. in an
# AppConfig.ready) rather than editing the demo catalogue.
CAMERA_ALERT_MATTERS: dict[str, str] = dict(CATALOGUE_ALERT_MATTERS)

ALERT_TYPE_MAX = 32
EVENT_ID_MAX = 64
CAMERA_EVENTS_KEPT = 50


def _check_alert_type(alert_type: str) -> str:
    alert_type = (alert_type or "").strip()
    if alert_type not in CAMERA_ALERT_MATTERS:
        raise FieldError(
            "alert_type",
            _("未知告警类型 %(t)r，可选：%(known)s。")
            % {"t": alert_type, "known": ", ".join(sorted(CAMERA_ALERT_MATTERS))},
        )
    return alert_type


def _check_observed_at(observed_at: datetime | None, now: datetime) -> datetime:
    if observed_at is None:
        return now
    if timezone.is_naive(observed_at):
        observed_at = timezone.make_aware(observed_at)
    if observed_at > now + timedelta(seconds=settings.PING_MAX_FUTURE_SECONDS):
        raise FieldError("observed_at", _("告警时间晚于服务器时间，请校准摄像头时钟。"))
    return observed_at


def _check_confidence(confidence) -> float | None:
    if confidence in (None, ""):
        return None
    try:
        value = float(confidence)
    except (TypeError, ValueError):
        raise FieldError("confidence", _("置信度必须是 0 到 1 之间的数字。")) from None
    if not 0 <= value <= 1:
        raise FieldError("confidence", _("置信度必须是 0 到 1 之间的数字。"))
    return value


def _location(camera: Camera, lon, lat) -> tuple[object, object, str, bool]:
    """(lon, lat, crs, given) of the alert: the given point, checked against the field of view,
    else the FOV centroid, else the camera itself (both stored in WGS-84)."""
    given = lon not in (None, "") or lat not in (None, "")
    if not given:
        where = camera.field_of_view.centroid if camera.field_of_view else camera.location
        return where.x, where.y, "wgs84", False
    crs = camera.device.crs or "wgs84"
    wlon, wlat, _crs = point_from_request(lon, lat, crs)
    if camera.field_of_view and not camera.field_of_view.covers(Point(wlon, wlat, srid=4326)):
        raise FieldError(
            "lon",
            _("告警位置 (%(lon)s, %(lat)s) 不在摄像头“%(camera)s”的视场内。")
            % {"lon": lon, "lat": lat, "camera": camera.name},
        )
    return lon, lat, crs, True


def _matter_code(alert_type: str) -> tuple[str | None, str | None]:
    """(matter code to route with, problem) — a mapping to a matter missing from this county's
    catalogue is a configuration gap, not the camera's fault: route without a matter and say so."""
    code = CAMERA_ALERT_MATTERS[alert_type]
    if Matter.objects.filter(code=code, active=True).exists():
        return code, None
    logger.warning("camera alert type %s maps to matter %s, which is missing or inactive", alert_type, code)
    return None, code


def _find_open(camera: Camera, alert_type: str, observed_at: datetime) -> Report | None:
    window = timedelta(seconds=settings.CAMERA_MERGE_SECONDS)
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("matter", "team", "township", "cell")
        .filter(
            camera=camera,
            alert_type=alert_type,
            status__in=OPEN_STATUSES,
            last_seen_at__gte=observed_at - window,
            last_seen_at__lte=observed_at + window,
        )
        .order_by("-last_seen_at", "-id")
        .first()
    )


def _remember_event(report: Report, event_key: str | None) -> None:
    if event_key:
        seen = report.routing.get("camera_events", [])
        report.routing["camera_events"] = [*seen, event_key][-CAMERA_EVENTS_KEPT:]


def _replayed(camera: Camera, event_key: str | None) -> Report | None:
    """The report an already-seen camera event went into (new or merged), if any."""
    if not event_key:
        return None
    return (
        Report.objects.select_related("matter", "team", "township", "cell")
        .filter(camera=camera)
        .filter(idempotency_key=event_key)
        .first()
        or Report.objects.select_related("matter", "team", "township", "cell")
        .filter(camera=camera, routing__camera_events__contains=[event_key])
        .order_by("-id")
        .first()
    )


def camera_alert_submit(
    *,
    camera: Camera,
    alert_type: str,
    observed_at: datetime | None = None,
    lon=None,
    lat=None,
    confidence=None,
    snapshot=None,
    idempotency_key: str | None = None,
) -> tuple[Report, bool]:
    """Record one camera alert; returns (report, merged).

    `merged` is True when the alert was folded into an open report of the same camera and type
    (or was a retry of an event already recorded); False when a new report was created.
    Raises FieldError (→ 400) for an unknown type, a point outside the camera's view, bad values.
    """
    now = timezone.now()
    alert_type = _check_alert_type(alert_type)
    observed = _check_observed_at(observed_at, now)
    confidence = _check_confidence(confidence)
    key = (idempotency_key or "").strip() or None
    if key is not None and len(key) > 100:
        raise FieldError("event_id", _("事件编号过长。"))
    lon, lat, crs, given = _location(camera, lon, lat)
    try:
        prepared = photos_prepare(files=[snapshot]) if snapshot else []
    except FieldError as exc:
        raise FieldError("snapshot", exc.message) from None

    stored_photos: list = []
    try:
        with transaction.atomic():
            Camera.objects.select_for_update().filter(pk=camera.pk).values_list("pk", flat=True).get()
            Device.objects.filter(pk=camera.device_id).update(last_seen_at=now)
            replay = _replayed(camera, key)
            if replay is not None:  # a retry: the same answer, nothing counted twice
                return replay, replay.idempotency_key != key
            report = _find_open(camera, alert_type, observed)
            if report is not None:
                report.repeat_count += 1
                report.last_seen_at = max(report.last_seen_at or observed, observed)
                _remember_event(report, key)
                report.save(update_fields=["repeat_count", "last_seen_at", "routing"])
                if prepared and report.photos.count() < settings.PHOTO_MAX_PER_REPORT:
                    photos_store(report=report, prepared=prepared, into=stored_photos)
                outbox_emit(
                    type=events.REPORT_UPDATED,
                    data=events.report_payload(report),
                    streams=events.report_streams(report),
                )
                logger.info(
                    "camera %s alert %s merged into %s (x%d)",
                    camera.device.code,
                    alert_type,
                    report.number,
                    report.repeat_count,
                )
                return report, True
            report, _created = _create(
                camera=camera,
                alert_type=alert_type,
                observed=observed,
                lon=lon,
                lat=lat,
                crs=crs,
                given=given,
                confidence=confidence,
                prepared=prepared,
                key=key,
            )
            return report, False
    except BaseException:
        photos_discard(stored_photos)
        raise


def _create(
    *,
    camera: Camera,
    alert_type: str,
    observed: datetime,
    lon,
    lat,
    crs: str,
    given: bool,
    confidence: float | None,
    prepared: list,
    key: str | None,
) -> tuple[Report, bool]:
    matter_code, missing = _matter_code(alert_type)
    where = (
        _("告警位置取自摄像头上报的坐标（在其视场内）。")
        if given
        else _("告警位置取摄像头视场中心。")
        if camera.field_of_view
        else _("告警位置取摄像头安装位置。")
    )
    reasons = [
        {
            "code": "camera",
            "text": _("来自摄像头“%(camera)s”（设备 %(device)s）的“%(type)s”告警。%(where)s")
            % {"camera": camera.name, "device": camera.device.code, "type": alert_type, "where": where},
        }
    ]
    if missing:
        reasons.append(
            {
                "code": "camera_matter_missing",
                "text": _("告警类型对应的事项 %(code)s 不在本地事项清单中，按未指定事项处理。")
                % {"code": missing},
            }
        )
    description = _("摄像头“%(camera)s”告警：%(type)s") % {"camera": camera.name, "type": alert_type}
    if confidence is not None:
        description += _("（置信度 %(p).0f%%）") % {"p": confidence * 100}
    report, created = report_submit(
        data=ReportInput(
            source=Report.Source.CAMERA,
            lon=lon,
            lat=lat,
            crs=crs,
            matter_code=matter_code,
            description=description,
            reported_at=observed,
        ),
        device=camera.device,
        camera=camera,
        alert_type=alert_type,
        idempotency_key=key,
        photos=prepared,
        extra_reasons=reasons,
    )
    if created:
        logger.info("camera %s alert %s → new report %s", camera.device.code, alert_type, report.number)
    return report, created
