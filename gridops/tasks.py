"""Celery tasks of operations (beat schedule in config/settings.py CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from gridops.services.cases import case_timers_sweep as sweep


@shared_task(name="gridops.tasks.case_timers_sweep")
def case_timers_sweep() -> dict:
    """Every minute: warn before case deadlines, raise at them, chase county teams that have not
    reported in on an escalated case (gridops.services.cases.case_timers_sweep; idempotent, so a
    redelivered or overlapping run does nothing twice)."""
    return sweep()
