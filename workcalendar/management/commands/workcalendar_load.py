"""workcalendar_load: a thin door onto workcalendar.loading.calendar_year_load. Dry run unless --commit."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from workcalendar.loading import calendar_year_load, problems_table
from workcalendar.schedule import bundled_schedule_path


class Command(BaseCommand):
    help = _(
        "导入一年的节假日与调休安排（JSON，见 docs/CALENDAR.md）；默认试运行，加 --commit 写入。"
        "不给文件时用随代码附带的 workcalendar/data/cn_<年>.json。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help=_("安排文件（JSON）"))
        parser.add_argument("--year", type=int, help=_("年份：文件必须是这一年的安排"))
        parser.add_argument(
            "--replace", action="store_true", help=_("删除该年中文件没有列出的日子（默认保留，如本地调整）")
        )
        parser.add_argument("--commit", action="store_true", help=_("没有致命问题时写入数据库"))

    def handle(self, *args, **options) -> None:
        path = options["path"]
        if path is None:
            if options["year"] is None:
                raise CommandError(_("请给出安排文件，或用 --year 选择随代码附带的安排。"))
            path = bundled_schedule_path(options["year"])
        result = calendar_year_load(
            path=path, year=options["year"], replace=options["replace"], commit=options["commit"]
        )
        if result.problems:
            self.stdout.write(problems_table(result.problems))
            self.stdout.write("")
        for day in result.created + result.changed:
            mark = "+" if day in result.created else "~"
            working = _("上班") if day.working else _("休息")
            self.stdout.write(f"{mark} {day.date.isoformat()} {working} {day.name}")
        for day in result.removed:
            self.stdout.write(f"- {day.isoformat()}")
        summary = result.summary()
        if result.has_fatal:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary) if result.committed else summary)
