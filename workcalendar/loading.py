"""Loading a year's schedule into CalendarDay: the one core behind `manage.py workcalendar_load`.

Read → validate (a list of problems) → plan (what would be created, changed, removed) → write only
with commit=True and no fatal problem. Without `replace` the rows of that year that the file does not
mention are kept (a county's local days survive the State Council's schedule); with it they go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from workcalendar.calendar import calendar_cache_clear
from workcalendar.models import CalendarDay
from workcalendar.schedule import Problem, ScheduleDay, schedule_read


@dataclass
class LoadResult:
    year: int | None
    problems: list[Problem] = field(default_factory=list)
    created: list[ScheduleDay] = field(default_factory=list)
    changed: list[ScheduleDay] = field(default_factory=list)
    unchanged: int = 0
    removed: list[date] = field(default_factory=list)
    kept: list[date] = field(default_factory=list)  # rows of the year not in the file, left alone
    committed: bool = False

    @property
    def has_fatal(self) -> bool:
        return any(p.fatal for p in self.problems)

    def summary(self) -> str:
        if self.year is None or (self.has_fatal and not self.created and not self.changed):
            return _("有 %(count)s 个致命问题，未写入。") % {"count": sum(p.fatal for p in self.problems)}
        counts = {
            "year": self.year,
            "created": len(self.created),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "removed": len(self.removed),
            "kept": len(self.kept),
        }
        text = (
            _(
                "%(year)s 年：新增 %(created)s 天，修改 %(changed)s 天，不变 %(unchanged)s 天，"
                "删除 %(removed)s 天，保留文件未列出的 %(kept)s 天。"
            )
            % counts
        )
        if self.committed:
            return text + _("已写入。")
        if self.has_fatal:
            return text + _("有致命问题，未写入。")
        return text + _("试运行，未写入（加 --commit 写入）。")


def calendar_year_load(
    *, path: str | Path, year: int | None = None, replace: bool = False, commit: bool = False
) -> LoadResult:
    schedule, problems = schedule_read(path, year=year)
    result = LoadResult(year=schedule.year if schedule else None, problems=problems)
    if schedule is None:
        return result

    existing = {row.date: row for row in CalendarDay.objects.filter(date__year=schedule.year)}
    in_file = {day.date for day in schedule.days}
    for day in schedule.days:
        row = existing.get(day.date)
        if row is None:
            result.created.append(day)
        elif (row.working, row.name, row.source) != (day.working, day.name, day.source):
            result.changed.append(day)
        else:
            result.unchanged += 1
    not_in_file = sorted(set(existing) - in_file)
    if replace:
        result.removed = not_in_file
    else:
        result.kept = not_in_file

    if not commit or result.has_fatal:
        return result
    with transaction.atomic():
        CalendarDay.objects.filter(date__in=result.removed).delete()
        for day in result.created + result.changed:
            CalendarDay.objects.update_or_create(
                date=day.date, defaults={"working": day.working, "name": day.name, "source": day.source}
            )
        transaction.on_commit(calendar_cache_clear)
    result.committed = True
    return result


def problems_table(problems: list[Problem]) -> str:
    """Problems as aligned lines for the command line."""
    width = max((len(p.where) for p in problems), default=0)
    fatal, warning = _("错误"), _("警告")
    return "\n".join(
        f"{p.where.ljust(width)}  {fatal if p.fatal else warning}  {p.message}" for p in problems
    )
