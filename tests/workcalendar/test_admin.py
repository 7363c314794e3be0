"""Administrators see the calendar by year and by working/rest, and a day added there counts at once."""

import re
from datetime import date

import pytest
from django.urls import reverse

from workcalendar.calendar import is_working_day

pytestmark = pytest.mark.django_db


def test_changelist_filters_by_year_and_working(admin_client):
    url = reverse("admin:workcalendar_calendarday_changelist")
    page = admin_client.get(url).content.decode()
    assert "节假日与调休" in page and "?year=2026" in page and "?year=2025" in page
    page = admin_client.get(url, {"year": "2026", "working__exact": "1"}).content.decode()
    assert "春节调休上班" in page and "元旦调休上班" in page and "星期六" in page
    assert "2025年1月26日" not in page  # a 2025 make-up day is filtered out
    assert re.search(r'<p class="paginator">\s*6 节假日与调休', page)
    assert admin_client.get(url, {"year": "abc"}).status_code == 200  # ignored, not a 500


def test_a_day_added_in_the_admin_counts_at_once(admin_client):
    assert is_working_day(date(2027, 6, 1))
    answer = admin_client.post(
        reverse("admin:workcalendar_calendarday_add"),
        {"date": "2027-06-01", "name": "县庆", "source": "县政府通知"},  # 上班 unchecked: a rest day
    )
    assert answer.status_code == 302
    assert not is_working_day(date(2027, 6, 1))
    duplicate = admin_client.post(
        reverse("admin:workcalendar_calendarday_add"), {"date": "2027-06-01", "name": "again"}
    )
    assert duplicate.status_code == 200 and "已存在" in duplicate.content.decode()
