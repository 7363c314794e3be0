"""Celery tasks of the working calendar (beat runs `calendar_check` every six hours)."""

import logging
from datetime import date

from celery import shared_task
from django.utils import timezone

from workcalendar.calendar import calendar_year_day_count

logger = logging.getLogger(__name__)

# The State Council publishes next year's schedule in October or November; from this day on a
# missing one is worth a warning every day (deadlines in January would be computed without it).
NEXT_YEAR_EXPECTED_FROM = (12, 1)


@shared_task(name="workcalendar.tasks.calendar_check")
def calendar_check(today: str | None = None) -> dict:
    """Warn in the log when this year's schedule, or after 1 December next year's, is missing.
    `today` (YYYY-MM-DD) is for tests; the answer is returned for whoever asked."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    current = calendar_year_day_count(year=day.year)
    upcoming = calendar_year_day_count(year=day.year + 1)
    current_missing = current == 0
    next_missing = upcoming == 0 and (day.month, day.day) >= NEXT_YEAR_EXPECTED_FROM
    if current_missing:
        logger.warning(
            "working calendar: no holidays or make-up days loaded for %s; time limits count every "
            "Monday-Friday as a working day. Load the schedule: manage.py workcalendar_load FILE --commit",
            day.year,
        )
    if next_missing:
        logger.warning(
            "working calendar: the %s schedule is not loaded yet (the State Council publishes it in "
            "November); load it with manage.py workcalendar_load FILE --commit",
            day.year + 1,
        )
    return {
        "today": day.isoformat(),
        "year": day.year,
        "days": current,
        "next_year": day.year + 1,
        "next_year_days": upcoming,
        "ok": not (current_missing or next_missing),
    }
