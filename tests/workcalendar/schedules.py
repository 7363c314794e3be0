"""The bundled 2025/2026 schedules for tests.

The data migration loads them into a fresh test database, but a transactional test
(`django_db(transaction=True)`) flushes every table when it ends, and the tests after it in the same
process then see no holidays at all. Tests that count on the real holidays call
`ensure_bundled_schedules()` first (tests/workcalendar/conftest.py does it for this directory).
"""

from workcalendar.loading import calendar_year_load
from workcalendar.schedule import bundled_schedule_path

BUNDLED_YEARS = (2025, 2026)


def ensure_bundled_schedules() -> None:
    """Load any missing or changed day of the bundled years (two queries per year when all is there)."""
    for year in BUNDLED_YEARS:
        path = bundled_schedule_path(year)
        plan = calendar_year_load(path=path, year=year)
        if plan.created or plan.changed:
            calendar_year_load(path=path, year=year, commit=True)
