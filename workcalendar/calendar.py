"""Working days and working hours on the Asia/Shanghai calendar: the clock of every time limit.

Rules (docs/CALENDAR.md has worked examples):

- **Working day**: Monday–Friday, unless a CalendarDay row says otherwise (a holiday is a rest day,
  a make-up Saturday/Sunday 调休上班 is a working day).
- **Working time**: the WORKING_HOURS periods of working days, each half-open ([08:30, 12:00) and
  [13:30, 17:30) by default); the close of a working day is the end of its last period.
- ``add_working_days(start=, days=N)``, N ≥ 1: the close of the N-th working day *after* the day of
  ``start`` (the day the clock starts is not counted, as in Chinese administrative law:
  期间开始之日不计算在内). Received on Friday 16:00 with 1 working day → due Monday at 17:30;
  received on Saturday → counting starts on Monday, so 1 working day is due Monday at 17:30.
  N = 0 ("same day", 当日): the close of the working day on which the clock is running — the day of
  ``start`` if ``start`` is before its close, otherwise the next working day.
- ``add_working_hours(start=, hours=H)``: the earliest moment by which H hours of working time have
  passed since ``start`` (time outside working hours does not count). A limit that runs out exactly
  at a period's end is due then (12:00, not 13:30). H = 0 answers ``start`` itself.
- ``working_time_between(start=, end=)``: the working time from start to end; negative when end is
  before start ("overdue by"), so ``working_time_between(start=now, end=due)`` is the time left.

Every datetime argument must be aware (any time zone); answers are aware Asia/Shanghai datetimes.
Naive datetimes, negative or non-finite amounts raise ValueError. (China has kept UTC+8 without
daylight saving since 1991, so wall-clock arithmetic in Asia/Shanghai is exact.)

Speed: the timers ask this for thousands of cases a minute, so no call touches the database. Each
process keeps one immutable snapshot: the overrides, and the sorted working days of 2000–2099,
from which the working time since 2000-01-01 of any moment is a binary search. A change saved
through the ORM in this process replaces the snapshot at once (workcalendar/signals.py); other
processes compare a cheap stamp (row count, last update) at most every WORKCALENDAR_CHECK_SECONDS.
"""

from __future__ import annotations

import math
import threading
import time as monotonic_clock
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
_MICRO = 1_000_000


@dataclass(frozen=True)
class _Snapshot:
    overrides: dict[date, bool]
    working_days: list[date]  # sorted, FIRST_DAY..LAST_DAY
    periods: tuple[tuple[int, int], ...]  # working periods in microseconds after midnight
    day_us: int  # working time of one working day
    stamp: tuple
    version: int


_lock = threading.Lock()
_state: dict = {"snapshot": None, "version": 0, "checked_at": 0.0}


def calendar_cache_clear() -> None:
    """Forget this process's snapshot: the next question reloads it (signals call this)."""
    _state["version"] += 1


def _stamp() -> tuple:
    from workcalendar.models import CalendarDay

    row = CalendarDay.objects.aggregate(n=Count("id"), last=Max("updated"))
    return (row["n"], row["last"])


def _load(version: int) -> _Snapshot:
    from workcalendar.hours import working_hours_from_settings
    from workcalendar.models import CalendarDay

    stamp = _stamp()
    overrides = dict(CalendarDay.objects.values_list("date", "working"))
    working_days = []
    day = FIRST_DAY
    one = timedelta(days=1)
    while day <= LAST_DAY:
        if overrides.get(day, day.weekday() < 5):
            working_days.append(day)
        day += one
    periods = tuple(
        ((start.hour * 60 + start.minute) * 60 * _MICRO, (end.hour * 60 + end.minute) * 60 * _MICRO)
        for start, end in working_hours_from_settings()
    )
    return _Snapshot(
        overrides=overrides,
        working_days=working_days,
        periods=periods,
        day_us=sum(end - start for start, end in periods),
        stamp=stamp,
        version=version,
    )


def _calendar() -> _Snapshot:
    snapshot: _Snapshot | None = _state["snapshot"]
    version = _state["version"]
    now = monotonic_clock.monotonic()
    if snapshot is not None and snapshot.version == version:
        if now - _state["checked_at"] < getattr(settings, "WORKCALENDAR_CHECK_SECONDS", 5.0):
            return snapshot
        if _stamp() == snapshot.stamp:
            _state["checked_at"] = now
            return snapshot
    with _lock:
        snapshot = _load(version)
        _state["snapshot"] = snapshot
        _state["checked_at"] = now
    return snapshot


# --- arguments --------------------------------------------------------------------------------------


def _local(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a datetime, got {moment!r}.")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got {moment!r}.")
    local = moment.astimezone(SHANGHAI)
    if not FIRST_DAY <= local.date() <= LAST_DAY:
        raise ValueError(f"{name} is outside the calendar ({FIRST_DAY.year}–{LAST_DAY.year}).")
    return local


def _beyond_calendar() -> ValueError:
    return ValueError(f"the answer is beyond the calendar ({FIRST_DAY.year}–{LAST_DAY.year}).")


# --- working time since FIRST_DAY: the one measure every answer is read from -------------------------


def _micro_of_day(local: datetime) -> int:
    return ((local.hour * 60 + local.minute) * 60 + local.second) * _MICRO + local.microsecond


def _working_us(cal: _Snapshot, local: datetime) -> int:
    """Working time (µs) from FIRST_DAY 00:00 to `local`."""
    day = local.date()
    index = bisect_left(cal.working_days, day)  # working days before this day
    total = index * cal.day_us
    if index < len(cal.working_days) and cal.working_days[index] == day:
        now = _micro_of_day(local)
        total += sum(min(max(now - start, 0), end - start) for start, end in cal.periods)
    return total


def _at(day: date, micro: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + timedelta(microseconds=micro)


def _moment(cal: _Snapshot, total: int, *, earliest: bool) -> datetime:
    """The moment at which `total` µs of working time have passed since FIRST_DAY. Between two
    working periods one total names a whole gap: `earliest` picks its start (a deadline is due when
    the time runs out), otherwise its end (the next moment the clock runs)."""
    index, rest = divmod(total, cal.day_us)
    if earliest and rest == 0 and index > 0:
        index, rest = index - 1, cal.day_us
    if index >= len(cal.working_days):
        raise _beyond_calendar()
    day = cal.working_days[index]
    for start, end in cal.periods:
        length = end - start
        if rest < length or (earliest and rest == length):
            return _at(day, start + rest)
        rest -= length
    raise AssertionError("unreachable: rest < day_us")  # pragma: no cover


def _close(cal: _Snapshot, day: date) -> datetime:
    return _at(day, cal.periods[-1][1])


# --- the questions --------------------------------------------------------------------------------


def is_working_day(day: date) -> bool:
    """Is this calendar date (in Asia/Shanghai) a working day?"""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError(f"day must be a date (convert a datetime in Asia/Shanghai first), got {day!r}.")
    override = _calendar().overrides.get(day)
    return override if override is not None else day.weekday() < 5


def next_working_moment(*, at: datetime) -> datetime:
    """`at` itself when it falls in working time, else the start of the next working period."""
    cal = _calendar()
    return _moment(cal, _working_us(cal, _local(at, "at")), earliest=False)


def add_working_days(*, start: datetime, days: int) -> datetime:
    """The close of the `days`-th working day after the day of `start` (0: the close of the working
    day on which the clock is running). See the module docstring."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValueError(f"days must be a whole number, got {days!r}.")
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}.")
    cal = _calendar()
    local = _local(start, "start")
    if days == 0:
        running = _moment(cal, _working_us(cal, local), earliest=False)
        return _close(cal, running.date())
    index = bisect_right(cal.working_days, local.date()) + days - 1
    if index >= len(cal.working_days):
        raise _beyond_calendar()
    return _close(cal, cal.working_days[index])


def add_working_hours(*, start: datetime, hours: float) -> datetime:
    """The earliest moment by which `hours` of working time have passed since `start`."""
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not math.isfinite(hours):
        raise ValueError(f"hours must be a finite number, got {hours!r}.")
    if hours < 0:
        raise ValueError(f"hours must not be negative, got {hours}.")
    local = _local(start, "start")
    amount = round(hours * 3600 * _MICRO)
    if amount == 0:
        return local
    cal = _calendar()
    return _moment(cal, _working_us(cal, local) + amount, earliest=True)


def working_time_between(*, start: datetime, end: datetime) -> timedelta:
    """Working time from `start` to `end` (negative when `end` is earlier)."""
    cal = _calendar()
    return timedelta(
        microseconds=_working_us(cal, _local(end, "end")) - _working_us(cal, _local(start, "start"))
    )


def working_day_length() -> timedelta:
    """The working time of one working day (7.5 hours with the default WORKING_HOURS)."""
    return timedelta(microseconds=_calendar().day_us)


def calendar_year_day_count(*, year: int) -> int:
    """How many CalendarDay rows a year has (0: its schedule was never loaded)."""
    from workcalendar.models import CalendarDay

    return CalendarDay.objects.filter(date__year=year).count()
