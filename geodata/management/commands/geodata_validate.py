"""geodata_validate: a thin door onto geodata.coverage.coverage_validate."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from geodata.coverage import coverage_validate
from geodata.models import CoverageVersion


class Command(BaseCommand):
    help = _("检查覆盖版本（默认当前生效的已发布版本）：空白、重叠、无效几何、网格与村 / 乡镇不符。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--coverage-version", help=_("覆盖版本编号或名称"))
        parser.add_argument("--geojson", metavar="FILE", help=_("把问题网格写成 GeoJSON FeatureCollection"))
        parser.add_argument("--limit", type=int, default=200, help=_("文本输出最多列出的问题条数"))
        parser.add_argument("--fail-on-problems", action="store_true", help=_("发现问题时以非零状态退出"))

    def handle(self, *args, **options) -> None:
        version = None
        if options["coverage_version"]:
            text = options["coverage_version"].strip()
            found = list(CoverageVersion.objects.filter(pk=int(text))) if text.isdigit() else []
            found = found or list(CoverageVersion.objects.filter(name=text))
            if len(found) != 1:
                raise CommandError(_("覆盖版本 %(v)r 不存在或不唯一。") % {"v": text})
            version = found[0]
        report = coverage_validate(version=version)
        self.stdout.write(report.as_text(limit=options["limit"]))
        if options["geojson"]:
            Path(options["geojson"]).write_text(
                json.dumps(report.as_geojson(), ensure_ascii=False, indent=1), encoding="utf-8"
            )
            self.stdout.write(_("问题网格已写入 %(path)s。") % {"path": options["geojson"]})
        if options["fail_on_problems"] and not report.ok:
            raise CommandError(_("发现 %(n)d 个问题。") % {"n": len(report.problems)}, returncode=1)
