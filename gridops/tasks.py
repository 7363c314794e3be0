"""Celery tasks of operations (beat schedule in config/settings.py CELERY_BEAT_SCHEDULE)."""

from datetime import timedelta

from celery import shared_task

from gridops.services.cases import case_timers_sweep as sweep


@shared_task(name="gridops.tasks.case_timers_sweep")
def case_timers_sweep() -> dict:
    """Every minute: warn before case deadlines, raise at them, chase county teams that have not
    reported in on an escalated case (gridops.services.cases.case_timers_sweep; idempotent, so a
    redelivered or overlapping run does nothing twice)."""
    return sweep()


@shared_task(name="gridops.tasks.pings_prune")
def pings_prune() -> dict:
    """Every night: delete GPS fixes older than PING_RETENTION_DAYS (gridops.services.
    ping_retention; nothing while it is 0). Idempotent: a second run finds nothing more."""
    from django.conf import settings

    from gridops.services.ping_retention import pings_prune as prune

    if settings.PING_RETENTION_DAYS <= 0:
        return {"kept": "every fix (GRIDOPS_PING_RETENTION_DAYS=0)"}
    return prune(older_than=timedelta(days=settings.PING_RETENTION_DAYS)).as_dict()
