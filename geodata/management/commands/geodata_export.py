"""geodata_export: a thin door onto geodata.exporting.geodata_export_file."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from geodata.exporting import FORMATS, ExportError, geodata_export_file


class Command(BaseCommand):
    help = _("把行政区域、网格或某覆盖版本的执法片区导出为 GeoJSON / GeoPackage / Shapefile。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help=_("输出文件；格式按扩展名（.geojson / .gpkg / .shp）或 --format"))
        parser.add_argument("--layer", required=True, choices=("region", "cell", "zone"))
        parser.add_argument(
            "--level", action="append", default=[], help=_("region 图层只导出这些层级，可重复，如 town")
        )
        parser.add_argument("--coverage-version", help=_("zone 图层：覆盖版本编号或名称"))
        parser.add_argument("--format", choices=tuple(FORMATS), help=_("输出格式"))
        parser.add_argument(
            "--encoding", default="UTF-8", help=_("Shapefile 属性编码（写入 .cpg），默认 UTF-8")
        )

    def handle(self, *args, **options) -> None:
        try:
            result = geodata_export_file(
                path=options["path"],
                layer=options["layer"],
                levels=options["level"] or None,
                version=options["coverage_version"],
                format=options["format"],
                encoding=options["encoding"],
            )
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        self.stdout.write(
            self.style.SUCCESS(
                _("已导出 %(n)d 个要素（%(layer)s）到 %(path)s。")
                % {"n": result.count, "layer": result.layer, "path": result.path}
            )
        )
