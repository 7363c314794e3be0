"""Working days and working hours on the Asia/Shanghai calendar, at fixed (constructed) moments.

Default WORKING_HOURS: 08:30–12:00 and 13:30–17:30 (7.5 h a day). Calendars used below:

    2025-03      Mo Tu We Th Fr Sa Su           2026-02 (春节)   Mo Tu We Th Fr Sa Su
                  3  4  5  6  7  8  9                           9 10 11 12 13 [14]15
                 10 11 12 13 14 15 16                         (16 17 18 19 20 21 22)
                                                              (23)24 25 26 27 [28] 1
    ( ) holiday (rest), [ ] make-up working Saturday 调休上班; 2/15 and 2/22 are Sundays of the holiday.
"""

import importlib
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from workcalendar.calendar import (
    add_working_days,
    add_working_hours,
    calendar_cache_clear,
    is_working_day,
    next_working_moment,
    working_day_length,
    working_time_between,
)
from workcalendar.hours import parse_working_hours
from workcalendar.models import CalendarDay

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


# --- working days ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, working",
    [
        (date(2025, 3, 7), True),  # Friday
        (date(2025, 3, 8), False),  # Saturday
        (date(2025, 3, 9), False),  # Sunday
        (date(2025, 1, 1), False),  # 元旦, a Wednesday
        (date(2025, 1, 26), True),  # Sunday, 春节调休上班
        (date(2025, 2, 4), False),  # last day of 春节 2025, a Tuesday
        (date(2025, 2, 8), True),  # Saturday, 春节调休上班
        (date(2025, 4, 27), True),  # Sunday, 劳动节调休上班
        (date(2025, 5, 5), False),
        (date(2025, 6, 2), False),  # 端午, a Monday
        (date(2025, 9, 28), True),
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),
        (date(2026, 1, 2), False),  # 元旦 2026, a Friday
        (date(2026, 1, 4), True),  # Sunday, 元旦调休上班
        (date(2026, 2, 14), True),  # Saturday, 春节调休上班
        (date(2026, 2, 16), False),
        (date(2026, 2, 23), False),  # Monday, last day of 春节 2026
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, 春节调休上班
        (date(2026, 4, 6), False),
        (date(2026, 5, 5), False),
        (date(2026, 5, 9), True),
        (date(2026, 6, 19), False),
        (date(2026, 9, 20), True),
        (date(2026, 9, 25), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),  # Thursday after 国庆 2026
        (date(2026, 10, 10), True),
    ],
)
def test_working_days_follow_the_week_and_the_state_council_schedule(day, working):
    assert is_working_day(day) is working


def test_is_working_day_wants_a_date_not_a_datetime():
    with pytest.raises(ValueError, match="date"):
        is_working_day(at(2025, 3, 7, 10))


def test_one_working_day_from_friday_afternoon_is_monday_at_closing():
    assert add_working_days(start=at(2025, 3, 7, 16), days=1) == at(2025, 3, 10, 17, 30)
    assert add_working_days(start=at(2025, 3, 7, 16), days=2) == at(2025, 3, 11, 17, 30)
    assert add_working_days(start=at(2025, 3, 7, 23, 59), days=1) == at(2025, 3, 10, 17, 30)


def test_counting_starts_on_the_next_working_day_after_a_weekend_receipt():
    assert add_working_days(start=at(2025, 3, 8, 10), days=1) == at(2025, 3, 10, 17, 30)
    assert add_working_days(start=at(2025, 3, 9, 10), days=1) == at(2025, 3, 10, 17, 30)
    # The day of receipt never counts, even before opening time.
    assert add_working_days(start=at(2025, 3, 10, 7), days=1) == at(2025, 3, 11, 17, 30)


@pytest.mark.parametrize(
    "days, due",
    [
        (1, at(2026, 2, 13, 17, 30)),
        (2, at(2026, 2, 14, 17, 30)),  # the make-up Saturday counts
        (3, at(2026, 2, 24, 17, 30)),  # the nine days of 春节 do not
        (6, at(2026, 2, 27, 17, 30)),
        (7, at(2026, 2, 28, 17, 30)),  # the second make-up Saturday
        (8, at(2026, 3, 2, 17, 30)),
    ],
)
def test_working_days_across_spring_festival_2026(days, due):
    assert add_working_days(start=at(2026, 2, 12, 10), days=days) == due


def test_a_case_received_on_a_holiday_counts_from_the_first_working_day_after_it():
    assert add_working_days(start=at(2026, 2, 17, 10), days=1) == at(2026, 2, 24, 17, 30)
    assert add_working_hours(start=at(2026, 2, 17, 10), hours=1) == at(2026, 2, 24, 9, 30)
    assert next_working_moment(at=at(2026, 2, 17, 10)) == at(2026, 2, 24, 8, 30)


@pytest.mark.parametrize(
    "start, due",
    [
        (at(2025, 3, 10, 10), at(2025, 3, 10, 17, 30)),  # during the day: today
        (at(2025, 3, 10, 7), at(2025, 3, 10, 17, 30)),  # before opening: today
        (at(2025, 3, 10, 12, 30), at(2025, 3, 10, 17, 30)),  # lunch: today
        (at(2025, 3, 10, 17, 30), at(2025, 3, 11, 17, 30)),  # at closing: tomorrow
        (at(2025, 3, 7, 18), at(2025, 3, 10, 17, 30)),  # Friday evening: Monday
        (at(2025, 3, 8, 9), at(2025, 3, 10, 17, 30)),  # Saturday: Monday
        (at(2026, 2, 13, 18), at(2026, 2, 14, 17, 30)),  # the make-up Saturday
    ],
)
def test_zero_working_days_is_the_close_of_the_working_day_the_clock_runs_in(start, due):
    assert add_working_days(start=start, days=0) == due


# --- working hours --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, hours, due",
    [
        (at(2025, 3, 10, 9), 2, at(2025, 3, 10, 11)),
        (at(2025, 3, 10, 11), 2, at(2025, 3, 10, 14, 30)),  # spans lunch
        (at(2025, 3, 10, 8, 30), 3.5, at(2025, 3, 10, 12)),  # runs out at 12:00, not 13:30
        (at(2025, 3, 10, 8, 30), 7.5, at(2025, 3, 10, 17, 30)),  # one full day
        (at(2025, 3, 10, 17), 1, at(2025, 3, 11, 9)),  # overnight
        (at(2025, 3, 10, 6), 1, at(2025, 3, 10, 9, 30)),  # before opening
        (at(2025, 3, 10, 12, 30), 0.5, at(2025, 3, 10, 14)),  # during lunch
        (at(2025, 3, 10, 20), 0.25, at(2025, 3, 11, 8, 45)),  # evening
        (at(2025, 3, 7, 17), 1, at(2025, 3, 10, 9)),  # across the weekend
        (at(2025, 3, 8, 10), 1, at(2025, 3, 10, 9, 30)),  # received on Saturday
        (at(2026, 2, 13, 17), 1, at(2026, 2, 14, 9)),  # into the make-up Saturday
        (at(2026, 2, 14, 17), 1, at(2026, 2, 24, 9)),  # over the whole of 春节
        (at(2025, 3, 10, 9), 16, at(2025, 3, 12, 10)),  # two days and one hour
    ],
)
def test_working_hours_count_only_working_time(start, hours, due):
    assert add_working_hours(start=start, hours=hours) == due


def test_zero_hours_is_the_start_itself_in_shanghai_time():
    start = datetime(2025, 3, 8, 2, 0, tzinfo=UTC)  # Saturday 10:00 in Shanghai
    due = add_working_hours(start=start, hours=0)
    assert due == start and due.tzinfo == SH and due.hour == 10


def test_any_time_zone_in_shanghai_out():
    utc_start = datetime(2025, 3, 7, 8, 0, tzinfo=UTC)  # Friday 16:00 in Shanghai
    due = add_working_days(start=utc_start, days=1)
    assert due == at(2025, 3, 10, 17, 30) and due.utcoffset() == timedelta(hours=8)
    assert str(due.tzinfo) == "Asia/Shanghai"
    assert add_working_hours(start=utc_start, hours=2) == at(2025, 3, 10, 9)
    assert add_working_hours(start=utc_start, hours=1) == at(2025, 3, 7, 17)


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_working_days(start=at(2025, 3, 10), days=-1),
        lambda: add_working_days(start=at(2025, 3, 10), days=1.5),
        lambda: add_working_days(start=at(2025, 3, 10), days=True),
        lambda: add_working_days(start=datetime(2025, 3, 10, 9), days=1),  # naive
        lambda: add_working_hours(start=at(2025, 3, 10), hours=-0.5),
        lambda: add_working_hours(start=at(2025, 3, 10), hours=math.nan),
        lambda: add_working_hours(start=at(2025, 3, 10), hours=math.inf),
        lambda: add_working_hours(start=datetime(2025, 3, 10, 9), hours=1),  # naive
        lambda: working_time_between(start=datetime(2025, 3, 10, 9), end=at(2025, 3, 10, 10)),
        lambda: next_working_moment(at=datetime(2025, 3, 10, 9)),
        lambda: add_working_days(start=at(2099, 12, 30), days=5),  # beyond the calendar
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


# --- elapsed working time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end, elapsed",
    [
        (at(2025, 3, 10, 9), at(2025, 3, 10, 11), timedelta(hours=2)),
        (at(2025, 3, 10, 11), at(2025, 3, 10, 14), timedelta(hours=1.5)),  # lunch does not count
        (at(2025, 3, 7, 16), at(2025, 3, 10, 9), timedelta(hours=2)),  # nor the weekend
        (at(2026, 2, 13, 16), at(2026, 2, 24, 9), timedelta(hours=9.5)),  # 1.5 + Sat 7.5 + 0.5
        (at(2025, 3, 8, 9), at(2025, 3, 9, 18), timedelta(0)),
        (at(2025, 3, 10, 11), at(2025, 3, 10, 9), timedelta(hours=-2)),  # overdue by
    ],
)
def test_working_time_between(start, end, elapsed):
    assert working_time_between(start=start, end=end) == elapsed


def test_adding_hours_and_measuring_them_agree():
    starts = [at(2026, 2, 12, 8) + timedelta(minutes=97 * i) for i in range(60)]
    for start in starts:
        for hours in (0.1, 1, 3.5, 4, 7.5, 20, 60):
            due = add_working_hours(start=start, hours=hours)
            assert working_time_between(start=start, end=due) == timedelta(hours=hours), (start, hours)
            # The earliest such moment: a minute earlier the time had not yet run out.
            assert working_time_between(start=start, end=due - timedelta(minutes=1)) < timedelta(hours=hours)


@pytest.mark.parametrize(
    "moment, expected",
    [
        (at(2025, 3, 10, 9), at(2025, 3, 10, 9)),
        (at(2025, 3, 10, 12), at(2025, 3, 10, 13, 30)),  # periods are half-open
        (at(2025, 3, 10, 17, 30), at(2025, 3, 11, 8, 30)),
        (at(2026, 2, 13, 18), at(2026, 2, 14, 8, 30)),  # the make-up Saturday
    ],
)
def test_next_working_moment(moment, expected):
    assert next_working_moment(at=moment) == expected


def test_a_working_day_is_seven_and_a_half_hours_by_default():
    assert working_day_length() == timedelta(hours=7.5)


# --- the calendar changes ---------------------------------------------------------------------------


def test_a_local_day_added_now_changes_the_next_answer():
    start = at(2025, 3, 7, 16)
    assert add_working_days(start=start, days=1) == at(2025, 3, 10, 17, 30)
    closure = CalendarDay.objects.create(date=date(2025, 3, 10), working=False, name="台风停工")
    assert not is_working_day(date(2025, 3, 10))
    assert add_working_days(start=start, days=1) == at(2025, 3, 11, 17, 30)
    assert add_working_hours(start=start, hours=2) == at(2025, 3, 11, 9)

    closure.working = True  # edited in the admin: the closure is called off
    closure.save()
    assert add_working_days(start=start, days=1) == at(2025, 3, 10, 17, 30)
    closure.delete()
    assert is_working_day(date(2025, 3, 10))


def test_a_change_made_by_another_process_is_noticed_by_the_stamp_check(settings):
    assert is_working_day(date(2026, 2, 14))
    # QuerySet.update sends no signal: what this process sees when another one edits the table.
    CalendarDay.objects.filter(date=date(2026, 2, 14)).update(working=False, updated=at(2030, 1, 1))
    settings.WORKCALENDAR_CHECK_SECONDS = 3600
    calendar_cache_clear()  # load the changed state once…
    assert not is_working_day(date(2026, 2, 14))
    CalendarDay.objects.filter(date=date(2026, 2, 14)).update(working=True, updated=at(2030, 1, 2))
    assert not is_working_day(date(2026, 2, 14))  # …cached: not checked again within the hour
    settings.WORKCALENDAR_CHECK_SECONDS = 0
    assert is_working_day(date(2026, 2, 14))  # checked on every call: the stamp changed


def test_answers_come_from_memory(settings, django_assert_num_queries):
    settings.WORKCALENDAR_CHECK_SECONDS = 3600
    add_working_days(start=at(2026, 2, 12, 10), days=1)  # loads the snapshot
    with django_assert_num_queries(0):
        for i in range(500):
            start = at(2026, 1, 1) + timedelta(hours=7 * i)
            add_working_days(start=start, days=i % 20)
            add_working_hours(start=start, hours=i % 40)
            working_time_between(start=start, end=start + timedelta(days=9))
            is_working_day(start.date())


# --- WORKING_HOURS ------------------------------------------------------------------------------------


def test_other_working_hours_change_the_answers(settings):
    settings.WORKING_HOURS = [("09:00", "17:00")]
    assert working_day_length() == timedelta(hours=8)
    assert add_working_hours(start=at(2025, 3, 10, 11), hours=2) == at(2025, 3, 10, 13)
    assert add_working_days(start=at(2025, 3, 7, 16), days=1) == at(2025, 3, 10, 17)


@pytest.mark.parametrize(
    "value",
    [
        [],
        "08:30-17:30",
        [("08:30",)],
        [("8:30", "12:00")],
        [("08:30", "25:00")],
        [("12:00", "08:30")],
        [("08:30", "12:00"), ("11:00", "17:30")],  # overlap
        [("13:30", "17:30"), ("08:30", "12:00")],  # out of order
        [(830, 1200)],
    ],
)
def test_bad_working_hours_are_refused(value):
    with pytest.raises(ImproperlyConfigured, match="WORKING_HOURS"):
        parse_working_hours(value)


def test_bad_working_hours_stop_start_up(settings):
    settings.WORKING_HOURS = [("17:30", "08:30")]
    with pytest.raises(ImproperlyConfigured, match="WORKING_HOURS"):
        django_apps.get_app_config("workcalendar").ready()


# --- the bundled schedule ---------------------------------------------------------------------------


def test_the_data_migration_loads_2025_and_2026():
    assert ("workcalendar", "0002_china_public_holidays") in MigrationRecorder(
        connection
    ).applied_migrations()
    migration = importlib.import_module("workcalendar.migrations.0002_china_public_holidays")
    migration.unload(django_apps, None)
    assert not CalendarDay.objects.filter(date__year__in=(2025, 2026)).exists()
    migration.load(django_apps, None)
    assert CalendarDay.objects.filter(date__year=2025).count() == 33  # 28 holiday days + 5 make-up
    assert CalendarDay.objects.filter(date__year=2026).count() == 39  # 33 holiday days + 6 make-up
    makeup = CalendarDay.objects.get(date=date(2026, 2, 14))
    assert (makeup.working, makeup.name, makeup.source) == (True, "春节调休上班", "国办发明电〔2025〕7号")
    new_year = CalendarDay.objects.get(date=date(2025, 1, 1))
    assert (new_year.working, new_year.name, new_year.source) == (False, "元旦", "国办发明电〔2024〕12号")
    assert set(CalendarDay.objects.filter(working=True).values_list("date", flat=True)) == {
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    # Every make-up day is a weekend day, every weekday holiday is a rest day.
    assert all(
        d.weekday() >= 5 for d in CalendarDay.objects.filter(working=True).values_list("date", flat=True)
    )
