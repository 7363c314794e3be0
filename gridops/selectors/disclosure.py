"""The public disclosure of closed penalty cases (行政处罚结果公开): what may be shown to anyone.

Only closed cases whose matter is a penalty (Matter.Kind.PENALTY) are listed, and only these
fields, named one by one so personal data cannot leak in by accident: the case number, the matter
and its legal basis, the township and village (never the point, the cell or the address), the team
that handled it and the dates received and closed. No free text is published — a description or
a note may name people in ways no pattern catches — nor reporters, handlers, photos or the record.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.paginator import Paginator
from django.utils import timezone

from geodata.models import Matter
from gridops.models import Report

PAGE_SIZE = 50


@dataclass(frozen=True)
class PublicCase:
    number: str
    matter: str
    matter_code: str
    legal_basis: str
    township: str
    village: str
    team: str
    received_on: date
    closed_on: date | None


def _public(report: Report) -> PublicCase:
    village = (report.routing or {}).get("village") or {}
    return PublicCase(
        number=report.number,
        matter=report.matter.name,
        matter_code=report.matter.code,
        legal_basis=report.matter.legal_basis,
        township=report.township.name if report.township_id else "",
        village=village.get("name", ""),
        team=report.team.name if report.team_id else "",
        received_on=timezone.localtime(report.received_at).date(),
        closed_on=timezone.localtime(report.closed_at).date() if report.closed_at else None,
    )


def public_closed_cases(*, township: str | None = None, month: date | None = None, page: int = 1):
    """(a page of PublicCase, the paginator page) newest closure first; `month` is any day of it."""
    queryset = (
        Report.objects.filter(status=Report.Status.CLOSED, matter__kind=Matter.Kind.PENALTY)
        .select_related("matter", "township", "team")
        .only(
            "id",
            "received_at",
            "closed_at",
            "routing",
            "matter__name",
            "matter__code",
            "matter__legal_basis",
            "township__name",
            "team__name",
        )
        .order_by("-closed_at", "-id")
    )
    if township:
        queryset = queryset.filter(township__code=township)
    if month is not None:
        first = month.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        zone = timezone.get_current_timezone()
        queryset = queryset.filter(
            closed_at__gte=datetime.combine(first, time.min, zone),
            closed_at__lt=datetime.combine(following, time.min, zone),
        )
    paginator = Paginator(queryset, PAGE_SIZE)
    current = paginator.get_page(page)
    return [_public(r) for r in current.object_list], current
