"""A year's schedule file (workcalendar/data/cn_<year>.json and the files counties write), read and
validated without touching the database: the data migration and `workcalendar_load` share it.

    {"year": 2026, "source": "国办发明电〔2025〕7号", "title": "…",
     "days": [{"date": "2026-02-15", "working": false, "name": "春节"},
              {"date": "2026-02-14", "working": true, "name": "春节调休上班", "source": "…"}, …]}

Only dates that differ from the default week (Monday–Friday working) are needed; a holiday on a
weekend may be listed for its name. `source` on a day overrides the file's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.utils.translation import gettext as _

DATA_DIR = Path(__file__).resolve().parent / "data"
NAME_MAX = 50
SOURCE_MAX = 200


@dataclass(frozen=True)
class ScheduleDay:
    date: date
    working: bool
    name: str
    source: str


@dataclass(frozen=True)
class Problem:
    where: str  # "file", "days[3]", "2026-02-15"
    message: str
    fatal: bool = True


@dataclass
class Schedule:
    year: int
    source: str
    days: list[ScheduleDay] = field(default_factory=list)


def bundled_schedule_path(year: int) -> Path:
    """The official mainland schedule shipped with the code for a year."""
    return DATA_DIR / f"cn_{year}.json"


def schedule_read(path: str | Path, *, year: int | None = None) -> tuple[Schedule | None, list[Problem]]:
    """Read and validate a schedule file. The schedule is None when a problem makes it unusable;
    any fatal problem means nothing may be written."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [Problem("file", _("文件不存在：%(path)s") % {"path": path})]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, [Problem("file", _("不是 UTF-8 编码的 JSON：%(error)s") % {"error": exc})]
    return schedule_parse(data, year=year)


def schedule_parse(data: object, *, year: int | None = None) -> tuple[Schedule | None, list[Problem]]:
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [Problem("file", _("顶层必须是对象，含 year、source、days"))]
    file_year = data.get("year")
    if isinstance(file_year, bool) or not isinstance(file_year, int) or not 2000 <= file_year <= 2099:
        return None, [Problem("year", _("year 必须是 2000–2099 之间的整数"))]
    if year is not None and file_year != year:
        problems.append(
            Problem(
                "year",
                _("文件是 %(file)s 年的安排，而指定的是 %(year)s 年") % {"file": file_year, "year": year},
            )
        )
    source = data.get("source", "")
    if not isinstance(source, str) or len(source) > SOURCE_MAX:
        problems.append(Problem("source", _("source 必须是不超过 %(max)s 字的文本") % {"max": SOURCE_MAX}))
        source = ""
    elif not source.strip():
        problems.append(Problem("source", _("没有 source（发文字号），建议注明依据"), fatal=False))
    days = data.get("days")
    if not isinstance(days, list):
        return None, [*problems, Problem("days", _("days 必须是列表"))]

    schedule = Schedule(year=file_year, source=source.strip())
    seen: dict[date, int] = {}
    for index, item in enumerate(days):
        where = f"days[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(where, _("每一天必须是对象，含 date、working、name")))
            continue
        raw_date = item.get("date")
        try:
            if not isinstance(raw_date, str) or len(raw_date) != 10:
                raise ValueError
            day = date.fromisoformat(raw_date)
        except ValueError:
            problems.append(Problem(where, _("日期“%(date)s”无效，应为 YYYY-MM-DD") % {"date": raw_date}))
            continue
        where = raw_date
        if day.year != file_year:
            problems.append(Problem(where, _("日期不在 %(year)s 年") % {"year": file_year}))
        if day in seen:
            problems.append(Problem(where, _("日期重复（与 days[%(first)s] 相同）") % {"first": seen[day]}))
            continue
        seen[day] = index
        working = item.get("working")
        if not isinstance(working, bool):
            problems.append(Problem(where, _("working 必须是 true（上班）或 false（休息）")))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
            problems.append(Problem(where, _("name 必须是 1–%(max)s 字的文本") % {"max": NAME_MAX}))
            continue
        day_source = item.get("source", schedule.source)
        if not isinstance(day_source, str) or len(day_source) > SOURCE_MAX:
            problems.append(Problem(where, _("source 必须是不超过 %(max)s 字的文本") % {"max": SOURCE_MAX}))
            continue
        if working and day.weekday() < 5:
            problems.append(Problem(where, _("周一至周五本来就上班，这一行不改变任何结果"), fatal=False))
        schedule.days.append(ScheduleDay(day, working, name.strip(), day_source.strip()))
    schedule.days.sort(key=lambda d: d.date)
    return schedule, problems
