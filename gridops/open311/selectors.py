"""Reads of the Open311 façade: the catalogue as GeoReport "services" and reports as "requests".

Everything public goes through these builders, which name the fields they return one by one, so
reporter data (name, phone, account) can never leak into a public GET by accident.

Status mapping (GeoReport knows only open/closed):
    every state with work still to do (gridops.lifecycle.OPEN)     → open
    closed, not registered, referred out (lifecycle.FINISHED)       → closed
"""

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.models import Domain, Matter
from geodata.routing import route
from gridops import lifecycle
from gridops.models import Report

SPECIFICATION_URL = "http://wiki.open311.org/GeoReport_v2"
MAX_SPAN = timedelta(days=90)  # the spec's default window and maximum span for GET requests
MAX_RESULTS = 1000  # the spec lets a server cap a list at 1000 requests

OPEN_STATUSES = lifecycle.OPEN
CLOSED_STATUSES = lifecycle.FINISHED


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 with the local offset (+08:00), as the spec requires a time zone."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def open311_status(status: str) -> str:
    return "closed" if status in CLOSED_STATUSES else "open"


def _service(matter: Matter) -> dict:
    handler = Matter.Handler(matter.handled_by).label
    basis = matter.legal_basis.strip()
    description = _("承办：%(handler)s；办理时限 %(days)d 日。") % {
        "handler": handler,
        "days": matter.time_limit_days,
    }
    if basis:
        description = _("法律依据：%(basis)s。") % {"basis": basis.rstrip("。")} + description
    return {
        "service_code": matter.code,
        "service_name": matter.name,
        "description": description,
        "metadata": False,  # no extra attributes: a definition has an empty attribute list
        "type": "realtime",  # a request becomes a report (and a number) at once
        "keywords": ",".join(
            [str(Domain(matter.domain).label), str(Matter.Kind(matter.kind).label), str(handler)]
        ),
        "group": str(Domain(matter.domain).label),
    }


def open311_service_list(*, lon: float | None = None, lat: float | None = None) -> list[dict]:
    """Active matters as GeoReport services; with a point, only those some team covers there.

    A matter is served at a point when routing a report of that matter there would reach a team,
    i.e. a zone of the matter's responsible domain (comprehensive for township-handled matters)
    holds the point's cell in the coverage in force. That is one in-memory lookup per domain,
    not per matter.
    """
    matters = list(Matter.objects.filter(active=True).order_by("code"))
    if lon is None or lat is None:
        return [_service(m) for m in matters]
    covered: dict[str, bool] = {}
    out = []
    for matter in matters:
        domain = matter.responsible_domain
        if domain not in covered:
            covered[domain] = route(lon, lat, matter=matter.code).routed
        if covered[domain]:
            out.append(_service(matter))
    return out


def open311_service_get(*, code: str) -> Matter | None:
    return Matter.objects.filter(code=code, active=True).first()


def open311_service_definition(*, matter: Matter) -> dict:
    return {"service_code": matter.code, "attributes": []}


def _requests_queryset() -> QuerySet[Report]:
    return Report.objects.select_related("matter", "team").only(
        "id",
        "status",
        "point",
        "address",
        "description",
        "received_at",
        "last_seen_at",
        "triage_queue",
        "matter__code",
        "matter__name",
        "matter__time_limit_days",
        "team__name",
    )


def report_id_from_request_id(value: str) -> int | None:
    """A report's id from its number (SJ20260501000012) or from the bare id; None if neither."""
    text = value.strip()
    if text.upper().startswith("SJ") and len(text) > 10 and text[2:].isdigit():
        return int(text[10:])
    if text.isdigit():
        return int(text)
    return None


def open311_request_get(*, request_id: str) -> Report | None:
    pk = report_id_from_request_id(request_id)
    if pk is None:
        return None
    report = _requests_queryset().filter(pk=pk).first()
    if report is None:
        return None
    if not request_id.strip().isdigit() and report.number != request_id.strip().upper():
        return None  # right id, wrong day: a mistyped number must not find another report
    return report


def open311_request_list(
    *,
    request_ids: list[str] | None = None,
    service_codes: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: list[str] | None = None,
) -> list[Report]:
    """Reports as the spec filters them: by ids (other filters then ignored), or by service
    codes, status and a received window (the last 90 days by default), newest first, at most 1000."""
    queryset = _requests_queryset()
    if request_ids:
        ids = [pk for pk in (report_id_from_request_id(r) for r in request_ids) if pk is not None]
        wanted = {r.strip().upper() for r in request_ids}
        found = queryset.filter(pk__in=ids).order_by("-received_at", "-id")[:MAX_RESULTS]
        return [r for r in found if r.number in wanted or str(r.pk) in wanted]
    end = end or timezone.now()
    start = start or end - MAX_SPAN
    queryset = queryset.filter(received_at__gte=start, received_at__lte=end)
    if service_codes:
        queryset = queryset.filter(matter__code__in=service_codes)
    if statuses:
        internal: list[str] = []
        if "open" in statuses:
            internal += OPEN_STATUSES
        if "closed" in statuses:
            internal += CLOSED_STATUSES
        queryset = queryset.filter(status__in=internal)
    return list(queryset.order_by("-received_at", "-id")[:MAX_RESULTS])


def open311_request_dict(report: Report) -> dict:
    """The public view of a report: no reporter name, phone, account or device."""
    matter = report.matter
    if report.team_id:
        agency = report.team.name
    else:
        agency = _("县指挥中心（人工分拣）")
    expected = None
    if matter is not None and report.status in OPEN_STATUSES:
        expected = _iso(report.received_at + timedelta(days=matter.time_limit_days))
    return {
        "service_request_id": report.number,
        "status": open311_status(report.status),
        "status_notes": str(Report.Status(report.status).label),
        "service_name": matter.name if matter else "",
        "service_code": matter.code if matter else "",
        "description": report.description,
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": _iso(report.received_at),
        "updated_datetime": _iso(report.last_seen_at or report.received_at),
        "expected_datetime": expected,
        "address": report.address,
        "address_id": None,
        "zipcode": None,
        "lat": report.point.y,
        "long": report.point.x,
        "media_url": None,
    }


def open311_service_notice(report: Report) -> str:
    if report.team_id:
        return _("已受理，由%(team)s办理。") % {"team": report.team.name}
    return _("已受理，正在人工分拣责任单位。")


def open311_discovery(*, base_url: str, changed: datetime | None = None) -> dict:
    changeset = _iso(changed or timezone.now())
    return {
        "changeset": changeset,
        "contact": _("象山县综合行政执法指挥中心（演示）"),
        "key_service": _("API 密钥即平台用户的 API 令牌（DRF Token），由系统管理员签发。"),
        "endpoints": [
            {
                "specification": SPECIFICATION_URL,
                "url": base_url,
                "changeset": changeset,
                "type": "production",
                "formats": ["application/json"],
            }
        ],
    }
