import pytest

from tests.workcalendar.schedules import ensure_bundled_schedules


@pytest.fixture(autouse=True)
def _calendar_cache_fresh():
    """Each test's database transaction is rolled back without a signal: drop the cached calendar
    before and after, so no test (here or elsewhere in this process) sees another's days."""
    from workcalendar.calendar import calendar_cache_clear

    calendar_cache_clear()
    yield
    calendar_cache_clear()


@pytest.fixture(autouse=True)
def _bundled_schedules(request, _calendar_cache_fresh):
    """The 2025/2026 holidays, even after a transactional test flushed the tables (schedules.py)."""
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
        ensure_bundled_schedules()
