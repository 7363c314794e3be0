"""Reads for the command centre: today's figures and the cameras layer.

"Today" is the calendar day in settings.TIME_ZONE (Asia/Shanghai), whatever the server's clock
zone. Overdue follows gridops/deadlines.py (response limit before acknowledgement, the matter's
handling limit after).

With `visible_to`, every figure and the cameras count only what that user's scope holds
(gridops/scopes.py): a township dispatcher's "open" is their township's open reports.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from gridops import scopes
from gridops.deadlines import OPEN, due_at_expression, overdue_q
from gridops.models import Alert, Camera, Report, Unit


def local_day_start(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def command_summary(*, now: datetime | None = None, visible_to=None) -> dict:
    """Today's reports, open and overdue reports, triage, units on patrol, open alerts."""
    now = now or timezone.now()
    reports, units, alerts = Report.objects.all(), Unit.objects.all(), Alert.objects.all()
    if visible_to is not None:
        reports = scopes.report_queryset_for(visible_to, reports)
        units = scopes.unit_queryset_for(visible_to, units)
        alerts = scopes.alert_queryset_for(visible_to, alerts)
    reports = reports.annotate(due_at_now=due_at_expression()).aggregate(
        today=Count("id", filter=Q(received_at__gte=local_day_start(now))),
        open=Count("id", filter=Q(status__in=OPEN)),
        triage=Count("id", filter=Q(status=Report.Status.TRIAGE)),
        overdue=Count("id", filter=overdue_q(now)),
    )
    patrolling = units.filter(fix_at__gte=now - timedelta(seconds=settings.PATROL_ACTIVE_SECONDS)).count()
    return {
        "reports_today": reports["today"],
        "open": reports["open"],
        "triage": reports["triage"],
        "overdue": reports["overdue"],
        "units_on_patrol": patrolling,
        "open_alerts": alerts.filter(status=Alert.Status.OPEN).count(),
        "at": timezone.localtime(now).isoformat(),
    }


def camera_list(*, township: str | None = None, visible_to=None) -> QuerySet[Camera]:
    """Registered cameras; with `visible_to`, a scoped user's townships only (county-wide: all)."""
    qs = Camera.objects.select_related("device", "township").defer("township__geom").order_by("name", "id")
    if visible_to is not None:
        places = scopes.indicator_scope(visible_to)
        if places is not None:
            qs = qs.filter(township__code__in=places[0])
    if township:
        qs = qs.filter(township__code=township)
    return qs
