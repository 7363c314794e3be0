"""geodata_import: a thin door onto geodata.importing.geodata_import_file. Dry run unless --commit."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from geodata.importing import (
    DEFAULT_TOLERANCE_M,
    LAYERS,
    geodata_import_file,
    parse_mapping,
    problems_table,
)


class Command(BaseCommand):
    help = _(
        "从 GeoJSON / GeoPackage / Shapefile 导入行政区域、网格或执法片区（默认试运行，加 --commit 写入）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help=_("输入文件（.geojson / .gpkg / .shp）"))
        parser.add_argument("--layer", required=True, choices=LAYERS, help=_("导入为：region、cell 或 zone"))
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="TARGET=FIELD",
            help=_("字段映射，可重复，例如 --map code=XZQDM --map name=XZQMC --map parent=SJDM"),
        )
        parser.add_argument("--level", help=_("region 图层的层级（文件没有 level 字段时），如 town、village"))
        parser.add_argument("--encoding", help=_("属性编码，如 GBK（Shapefile 缺 .cpg 时）"))
        parser.add_argument("--source-layer", help=_("GeoPackage 等多图层文件中的图层名"))
        parser.add_argument("--assume-crs", help=_("文件没有坐标系时采用的坐标系，如 EPSG:4490"))
        parser.add_argument("--update", action="store_true", help=_("数据库中已有的代码改为更新"))
        parser.add_argument(
            "--fix-invalid", action="store_true", help=_("用 make_valid 修复无效几何（记为警告）")
        )
        parser.add_argument(
            "--tolerance",
            type=float,
            default=DEFAULT_TOLERANCE_M,
            help=_("超出所属村 / 县域的容差（米），容差内只警告；默认 %(default)s"),
        )
        parser.add_argument("--coverage-version", help=_("zone 图层：覆盖版本编号或名称"))
        parser.add_argument("--create-version", action="store_true", help=_("覆盖版本不存在时新建草稿"))
        parser.add_argument("--team", help=_("zone 图层：文件没有 team 字段时的队伍编号"))
        parser.add_argument("--commit", action="store_true", help=_("没有致命问题时写入数据库"))

    def handle(self, *args, **options) -> None:
        try:
            mapping = parse_mapping(options["map"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        result = geodata_import_file(
            path=options["path"],
            layer=options["layer"],
            mapping=mapping,
            level=options["level"],
            encoding=options["encoding"],
            source_layer=options["source_layer"],
            assume_crs=options["assume_crs"],
            update=options["update"],
            fix_invalid=options["fix_invalid"],
            tolerance_m=options["tolerance"],
            version=options["coverage_version"],
            create_version=options["create_version"],
            team=options["team"],
            commit=options["commit"],
        )
        if result.problems:
            self.stdout.write(problems_table(result.problems))
            self.stdout.write("")
        summary = result.summary()
        if result.has_fatal:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary) if result.committed else summary)
