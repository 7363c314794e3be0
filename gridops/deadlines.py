"""Time limits of a report until the case loop takes over (issue 6 brings registration, dispatch
and per-stage limits; its deadlines will replace these where a case exists).

Two clocks, both counted from when the report was received:
- **response** (受理): a new or unrouted report must be acknowledged by a dispatcher within
  REPORT_RESPONSE_MINUTES[priority] (default 30 min urgent, 120 min normal);
- **handling** (办理): an acknowledged report must be closed within its matter's catalogue time
  limit (`Matter.time_limit_days`), or REPORT_DEFAULT_HANDLING_DAYS when it has no matter.
Closed and rejected reports have no deadline.

`report_due_at` answers for one report in Python (payloads, serializers); `overdue_q` is the same
rule as a query filter (the command centre's "overdue" count), and tests check they agree.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Coalesce

from gridops.models import Report

WAITING = (Report.Status.NEW, Report.Status.TRIAGE)
HANDLING = (Report.Status.ACKNOWLEDGED,)
OPEN = WAITING + HANDLING


def response_minutes(priority: int) -> int:
    limits = settings.REPORT_RESPONSE_MINUTES
    return limits.get(priority, limits[Report.Priority.NORMAL])


def report_due_at(report) -> datetime | None:
    """When this report becomes overdue, or None when no clock runs (closed, rejected)."""
    if report.received_at is None:
        return None
    if report.status in WAITING:
        return report.received_at + timedelta(minutes=response_minutes(report.priority))
    if report.status in HANDLING:
        days = report.matter.time_limit_days if report.matter_id else settings.REPORT_DEFAULT_HANDLING_DAYS
        return report.received_at + timedelta(days=days)
    return None


def due_at_expression():
    """`report_due_at` as an SQL expression over Report (NULL where no clock runs)."""
    from django.db.models import Case, When

    one_day = Value(timedelta(days=1), output_field=DurationField())
    handling_days = Coalesce(F("matter__time_limit_days"), Value(settings.REPORT_DEFAULT_HANDLING_DAYS))
    whens = [
        When(
            status__in=WAITING,
            priority=priority,
            then=ExpressionWrapper(
                F("received_at") + Value(timedelta(minutes=minutes), output_field=DurationField()),
                output_field=DateTimeField(),
            ),
        )
        for priority, minutes in settings.REPORT_RESPONSE_MINUTES.items()
    ]
    whens.append(
        When(
            status__in=HANDLING,
            then=ExpressionWrapper(F("received_at") + handling_days * one_day, output_field=DateTimeField()),
        )
    )
    return Case(*whens, default=Value(None), output_field=DateTimeField())


def overdue_q(now: datetime) -> Q:
    """Open reports whose deadline has passed at `now` (use on a queryset annotated with
    `due_at=due_at_expression()`)."""
    return Q(status__in=OPEN, due_at__lt=now)
