"""When a case becomes overdue: one rule, in Python (payloads, serializers) and in SQL (counts,
queues), tested to agree.

Three clocks (gridops/lifecycle.py names the states):
- **response** (受理): a new or unrouted report must be registered (立案) by a dispatcher within
  REPORT_RESPONSE_MINUTES[priority] of being received (default 30 min urgent, 120 min normal);
  the command centre runs around the clock, so these are wall-clock minutes;
- **report-in** (报到): a case escalated to a county team must be taken on by it before
  `escalation_due_at` (CASE_ESCALATION_REPORT_IN_MINUTES after the call);
- **handling** (办理): from registration the matter's catalogue limit runs, in working days or
  working hours on the working calendar (workcalendar.calendar); the deadline is stored on the case
  (`due_at`) when it is registered and moved by approved extensions and suspensions.
Suspended (挂账) cases, and finished ones (closed, not registered, referred out), have no clock.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, DateTimeField, DurationField, ExpressionWrapper, F, Q, Value, When

from gridops import lifecycle
from gridops.models import Report

WAITING = lifecycle.WAITING
HANDLING = lifecycle.HANDLING_CLOCK
OPEN = lifecycle.OPEN
CLOCKED = (*WAITING, *HANDLING, Report.Status.ESCALATED)


def response_minutes(priority: int) -> int:
    limits = settings.REPORT_RESPONSE_MINUTES
    return limits.get(priority, limits[Report.Priority.NORMAL])


def report_due_at(report) -> datetime | None:
    """When this case becomes overdue, or None when no clock runs."""
    if report.received_at is None:
        return None
    if report.status in WAITING:
        return report.received_at + timedelta(minutes=response_minutes(report.priority))
    if report.status == Report.Status.ESCALATED:
        return report.escalation_due_at
    if report.status in HANDLING:
        return report.due_at
    return None


def due_at_expression():
    """`report_due_at` as an SQL expression over Report (NULL where no clock runs)."""
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
    whens.append(When(status=Report.Status.ESCALATED, then=F("escalation_due_at")))
    whens.append(When(status__in=HANDLING, then=F("due_at")))
    return Case(*whens, default=Value(None), output_field=DateTimeField())


def overdue_q(now: datetime) -> Q:
    """Open cases whose deadline has passed at `now` (use on a queryset annotated with
    `due_at_now=due_at_expression()`)."""
    return Q(status__in=CLOCKED, due_at_now__lt=now)
