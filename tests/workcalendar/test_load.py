"""`manage.py workcalendar_load`: next year's schedule (or a county's local days) from a JSON file;
a dry run writes nothing, problems are listed and stop a commit."""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from workcalendar.calendar import is_working_day
from workcalendar.models import CalendarDay
from workcalendar.schedule import bundled_schedule_path, schedule_read

pytestmark = pytest.mark.django_db

GOOD_2027 = {
    "year": 2027,
    "source": "测试文件",
    "days": [
        {"date": "2027-01-01", "working": False, "name": "元旦"},
        {"date": "2027-01-09", "working": True, "name": "测试调休上班"},  # a Saturday
    ],
}


def write(tmp_path, data, name="cn_2027.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run(*args) -> str:
    out = StringIO()
    call_command("workcalendar_load", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_dry_run_writes_nothing(tmp_path):
    out = run(write(tmp_path, GOOD_2027))
    assert "试运行" in out and "+ 2027-01-01" in out
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    assert is_working_day(date(2027, 1, 1))


def test_commit_writes_and_the_calendar_follows(tmp_path):
    out = run(write(tmp_path, GOOD_2027), "--commit")
    assert "已写入" in out
    assert CalendarDay.objects.filter(date__year=2027).count() == 2
    assert not is_working_day(date(2027, 1, 1)) and is_working_day(date(2027, 1, 9))
    # Loading the same file again changes nothing.
    assert "新增 0 天，修改 0 天，不变 2 天" in run(write(tmp_path, GOOD_2027), "--commit")


def test_problems_are_listed_and_nothing_is_written_even_with_commit(tmp_path):
    bad = {
        "year": 2027,
        "source": "测试文件",
        "days": [
            {"date": "2027-02-30", "working": False, "name": "不存在的日子"},
            {"date": "2027-01-01", "working": False, "name": "元旦"},
            {"date": "2027-01-01", "working": False, "name": "元旦"},
            {"date": "2026-12-31", "working": False, "name": "去年"},
            {"date": "2027-03-01", "working": "no", "name": "坏的 working"},
            {"date": "2027-03-02", "working": False, "name": ""},
            {"date": "2027-03-03", "working": True, "name": "周三本来就上班"},
        ],
    }
    with pytest.raises(CommandError) as failure:
        run(write(tmp_path, bad), "--commit")
    assert "致命问题" in str(failure.value)
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    assert not CalendarDay.objects.filter(date=date(2026, 12, 31)).exists()

    _schedule, problems = schedule_read(write(tmp_path, bad))
    messages = {(p.where, p.fatal): p.message for p in problems}
    assert "YYYY-MM-DD" in messages[("days[0]", True)]
    assert "重复" in messages[("2027-01-01", True)]
    assert "2027" in messages[("2026-12-31", True)]
    assert "working" in messages[("2027-03-01", True)]
    assert "name" in messages[("2027-03-02", True)]
    assert "不改变" in messages[("2027-03-03", False)]  # a warning only


def test_the_dry_run_prints_the_problems(tmp_path):
    bad = dict(GOOD_2027, days=[*GOOD_2027["days"], {"date": "2027-13-01", "working": False, "name": "x"}])
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("workcalendar_load", str(write(tmp_path, bad)), stdout=out)
    assert "2027-13-01" in out.getvalue() and "错误" in out.getvalue()
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_a_file_for_another_year_is_refused(tmp_path):
    with pytest.raises(CommandError):
        run(write(tmp_path, GOOD_2027), "--year", "2028", "--commit")
    assert not CalendarDay.objects.filter(date__year=2027).exists()


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"year": "2027", "days": []}', '{"year": 2027}'])
def test_unreadable_files_are_refused(tmp_path, content):
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError):
        run(path, "--commit")


def test_local_days_survive_a_reload_unless_replaced(tmp_path):
    CalendarDay.objects.create(date=date(2027, 6, 1), working=False, name="县庆")
    run(write(tmp_path, GOOD_2027), "--commit")
    assert CalendarDay.objects.filter(date=date(2027, 6, 1)).exists()
    out = run(write(tmp_path, GOOD_2027), "--replace")  # dry run shows what would go
    assert "- 2027-06-01" in out and CalendarDay.objects.filter(date=date(2027, 6, 1)).exists()
    run(write(tmp_path, GOOD_2027), "--replace", "--commit")
    assert not CalendarDay.objects.filter(date=date(2027, 6, 1)).exists()
    assert is_working_day(date(2027, 6, 1))


def test_a_changed_day_is_updated(tmp_path):
    run(write(tmp_path, GOOD_2027), "--commit")
    changed = dict(GOOD_2027, days=[{"date": "2027-01-01", "working": False, "name": "元旦节"}])
    out = run(write(tmp_path, changed), "--commit")
    assert "~ 2027-01-01" in out and "修改 1 天" in out
    assert CalendarDay.objects.get(date=date(2027, 1, 1)).name == "元旦节"


def test_the_bundled_schedules_load_as_they_are():
    for year in (2025, 2026):
        out = run("--year", year)
        assert f"不变 {CalendarDay.objects.filter(date__year=year).count()} 天" in out
        schedule, problems = schedule_read(bundled_schedule_path(year), year=year)
        assert problems == [] and schedule.source.startswith("国办发明电")


def test_no_file_and_no_year_is_an_error():
    with pytest.raises(CommandError):
        run()
