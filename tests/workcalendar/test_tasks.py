"""The calendar check that beat runs, in this process (dates given, not today's)."""

import logging
from datetime import date

import pytest
from django.conf import settings

from config import celery_app
from workcalendar.models import CalendarDay
from workcalendar.tasks import calendar_check

pytestmark = pytest.mark.django_db


def test_before_december_a_missing_next_year_is_fine(caplog):
    with caplog.at_level(logging.WARNING, logger="workcalendar"):
        answer = calendar_check(today="2026-11-30")
    assert answer["ok"] and answer["days"] == 39 and answer["next_year_days"] == 0
    assert not caplog.records


def test_from_december_a_missing_next_year_is_warned(caplog):
    with caplog.at_level(logging.WARNING, logger="workcalendar"):
        answer = calendar_check(today="2026-12-01")
    assert not answer["ok"] and answer["next_year"] == 2027
    assert "2027 schedule is not loaded" in caplog.text


def test_a_loaded_next_year_silences_the_warning(caplog):
    CalendarDay.objects.create(date=date(2027, 1, 1), working=False, name="元旦")
    with caplog.at_level(logging.WARNING, logger="workcalendar"):
        assert calendar_check(today="2026-12-20")["ok"]
    assert not caplog.records


def test_a_year_without_any_schedule_is_warned(caplog):
    with caplog.at_level(logging.WARNING, logger="workcalendar"):
        answer = calendar_check(today="2028-03-01")
    assert not answer["ok"] and "no holidays or make-up days loaded for 2028" in caplog.text


def test_every_periodic_task_exists():
    celery_app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in celery_app.tasks, entry
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai" and celery_app.conf.task_acks_late
