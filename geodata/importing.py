"""Import the map of responsibility from GIS files: one core for every door.

The pipeline, as in mapit's ``add_areas_from_file``:

    read (pyogrio: GeoJSON, GeoPackage, Shapefile incl. GBK)
      → normalise the CRS to EPSG:4326 (EPSG:4490 is taken as identical; projected CRS reprojected)
      → validate every feature into a list of Problems (fatal or warning)
      → dry run by default: report what would be created / updated / skipped
      → commit: only when asked and only when no problem is fatal, in one transaction,
        with bulk writes and a single geodata revision bump.

Layers:
    region  Region rows (county, township-level, village-level); --level or a level field.
    cell    GridCell rows; the village comes from a field or the first 12 digits of the cell code,
            the township is the village's parent.
    zone    EnforcementZone rows of one draft coverage version, made of whole grid cells: a list of
            cell codes in a field, or a polygon that takes the cells whose representative point
            (point_on_surface) lies inside it.

The management command ``geodata_import`` is a thin door onto ``geodata_import_file``; an admin page
or a Celery task calls the same function.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyogrio
import pyproj
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.models import CoverageVersion, Domain, EnforcementZone, GridCell, Region, Team, ZoneCell
from geodata.revision import geodata_revision_bump
from geodata.selectors import gridcell_valid_on_q

LAYERS = ("region", "cell", "zone")

# The attributes each layer understands; a --map target outside these is refused (typo guard).
LAYER_FIELDS: dict[str, tuple[str, ...]] = {
    "region": ("code", "name", "level", "parent"),
    "cell": ("code", "name", "village", "valid_from", "valid_to"),
    "zone": ("name", "team", "domain", "cells"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {"region": ("code", "name"), "cell": ("code",), "zone": ()}

# EPSG:4490 (CGCS2000) and WGS-84 differ by centimetres: stored as 4326 without transformation.
SAME_AS_STORAGE_EPSG = (4326, 4490)
CGCS2000_EPSG = 4490
# Rough metres per degree, to turn a tolerance in metres into degrees for containment checks.
METRES_PER_DEGREE = 111_320.0
DEFAULT_TOLERANCE_M = 5.0
# Cells sharing only an edge with a zone polygon have an intersection area of ~0: not "partial".
PARTIAL_SHARE_EPSILON = 1e-6
# Reprojection round-off leaves vertices nanometres outside a shared border: not worth a warning.
NEGLIGIBLE_OVERHANG_M = 0.01
CELL_CODE_SEPARATORS = re.compile(r"[\s,;，；、|]+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input. ``index`` is the 0-based feature position in the file (None for
    the whole file); ``feature_id`` the feature's code or name when known."""

    index: int | None
    feature_id: str
    field: str
    reason: str
    fatal: bool = True

    @property
    def feature_label(self) -> str:
        if self.index is None:
            return _("（文件）")
        return f"#{self.index} {self.feature_id}".strip()


@dataclass
class PartialCell:
    """A cell cut by a zone polygon: ``share`` of its area lies inside; ``included`` when its
    representative point is inside (so the whole cell joins the zone)."""

    zone: str
    cell_code: str
    share: float
    included: bool


@dataclass
class ImportResult:
    layer: str
    path: str
    feature_count: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    committed: bool = False
    problems: list[Problem] = field(default_factory=list)
    partial_cells: list[PartialCell] = field(default_factory=list)
    new_version: str | None = None  # zone layer: the draft coverage version created (or to be)

    @property
    def fatal_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.fatal]

    @property
    def has_fatal(self) -> bool:
        return any(p.fatal for p in self.problems)

    def add(
        self, index: int | None, feature_id: str, field_name: str, reason: str, *, fatal: bool = True
    ) -> None:
        self.problems.append(Problem(index, feature_id, field_name, reason, fatal))

    def summary(self) -> str:
        if self.committed:
            head = _("已写入")
        elif self.has_fatal:
            head = _("未写入（存在致命问题）")
        else:
            head = _("试运行，未写入（加 --commit 写入）")
        version = _("；新建草稿覆盖版本“%(v)s”") % {"v": self.new_version} if self.new_version else ""
        return _(
            "%(head)s：%(layer)s 共 %(n)d 个要素；新建 %(created)d，更新 %(updated)d，跳过 %(skipped)d；"
            "致命问题 %(fatal)d，警告 %(warn)d%(version)s。"
        ) % {
            "version": version,
            "head": head,
            "layer": self.layer,
            "n": self.feature_count,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "fatal": len(self.fatal_problems),
            "warn": len(self.warnings),
        }


class _StopImport(Exception):
    """Raised inside the pipeline to stop at a whole-file problem already added to the result."""


@dataclass
class _Feature:
    index: int
    attrs: dict[str, Any]
    geom: Any  # shapely geometry or None

    def text(self, name: str) -> str:
        return _as_text(self.attrs.get(name))


# --- public core -------------------------------------------------------------------------------------


def geodata_import_file(
    *,
    path: str | Path,
    layer: str,
    mapping: Mapping[str, str] | None = None,
    level: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
    assume_crs: str | None = None,
    update: bool = False,
    fix_invalid: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    version: int | str | None = None,
    create_version: bool = False,
    team: str | None = None,
    commit: bool = False,
) -> ImportResult:
    """Read, validate and (only with ``commit=True`` and no fatal problem) write one layer.

    ``mapping`` maps our attribute names to the file's fields, e.g. ``{"code": "XZQDM"}``; an attribute
    not mapped is looked up under its own name, case-insensitively."""
    result = ImportResult(layer=layer, path=str(path))
    if layer not in LAYERS:
        result.add(
            None,
            "",
            "layer",
            _("未知图层 %(layer)r，可选：%(choices)s。") % {"layer": layer, "choices": ", ".join(LAYERS)},
        )
        return result
    try:
        frame = _read(path, encoding=encoding, source_layer=source_layer, result=result)
        frame = _to_storage_crs(frame, assume_crs=assume_crs, result=result)
        features = _features(frame, layer=layer, mapping=mapping or {}, result=result)
        result.feature_count = len(features)
        planner = {"region": _RegionPlan, "cell": _CellPlan, "zone": _ZonePlan}[layer]
        plan = planner(
            result=result,
            level=level,
            update=update,
            fix_invalid=fix_invalid,
            tolerance_deg=tolerance_m / METRES_PER_DEGREE,
            version=version,
            create_version=create_version,
            team=team,
        )
        plan.validate(features)
    except _StopImport:
        return result
    if commit and not result.has_fatal:
        with transaction.atomic():
            plan.apply()
            geodata_revision_bump()
        result.committed = True
    return result


def geodata_import_validate(**kwargs: Any) -> ImportResult:
    """The dry run: same arguments as ``geodata_import_file``, never writes."""
    kwargs["commit"] = False
    return geodata_import_file(**kwargs)


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``["code=XZQDM", "name=XZQMC"]`` → ``{"code": "XZQDM", "name": "XZQMC"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ValueError(_("字段映射 %(pair)r 格式应为 目标=源字段，例如 code=XZQDM。") % {"pair": pair})
        mapping[target.strip()] = source.strip()
    return mapping


def problems_table(problems: Sequence[Problem]) -> str:
    """A plain-text table (feature, field, level, reason) that lines up Chinese text in a terminal."""
    headers = (_("要素"), _("字段"), _("级别"), _("原因"))
    rows = [(p.feature_label, p.field, _("致命") if p.fatal else _("警告"), p.reason) for p in problems]
    return text_table(headers, rows)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [_display_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], _display_width(cell))

    def line(cells: Sequence[str]) -> str:
        padded = [c + " " * (widths[i] - _display_width(c)) for i, c in enumerate(cells[:-1])]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join(
        [line(headers), line(["-" * w for w in widths[:-1]] + ["-" * widths[-1]])] + [line(r) for r in rows]
    )


# --- read ---------------------------------------------------------------------------------------------


def _read(path: str | Path, *, encoding: str | None, source_layer: str | None, result: ImportResult):
    path = Path(path)
    if not path.exists():
        result.add(None, "", _("文件"), _("文件不存在：%(path)s") % {"path": path})
        raise _StopImport
    kwargs: dict[str, Any] = {}
    if encoding:
        kwargs["encoding"] = encoding
    if source_layer:
        kwargs["layer"] = source_layer
    try:
        frame = pyogrio.read_dataframe(path, **kwargs)
    except Exception as exc:  # pyogrio raises several DataSource/Field errors; all mean "cannot read"
        result.add(None, "", _("文件"), _("无法读取：%(error)s") % {"error": exc})
        raise _StopImport from None
    if path.suffix.lower() == ".shp" and not encoding and not path.with_suffix(".cpg").exists():
        _refuse_mojibake(frame, result)
    return frame


def _refuse_mojibake(frame, result: ImportResult) -> None:
    """A Shapefile without .cpg read as Latin-1 that decodes as GBK is almost surely Chinese text:
    importing it would store mojibake names, so it is fatal until the encoding is given."""
    for column in frame.columns:
        if column == frame.geometry.name:
            continue
        for value in frame[column].dropna().head(20):
            if not isinstance(value, str) or not any("\x80" <= ch <= "\xff" for ch in value):
                continue
            try:
                value.encode("latin-1").decode("gbk")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            result.add(
                None,
                "",
                column,
                _(
                    "Shapefile 没有 .cpg，文字看起来是 GBK 编码（读出为乱码，如 %(value)r）；"
                    "请加 --encoding GBK（确实不是中文时用 --encoding latin-1）。"
                )
                % {"value": value},
            )
            raise _StopImport


def _to_storage_crs(frame, *, assume_crs: str | None, result: ImportResult):
    crs = frame.crs
    if crs is None:
        if not assume_crs:
            result.add(
                None,
                "",
                "CRS",
                _(
                    "文件没有坐标系（如 Shapefile 缺 .prj）；"
                    "确认坐标系后用 --assume-crs EPSG:4490 或 EPSG:4326 指定。"
                ),
            )
            raise _StopImport
        crs = _parse_crs(assume_crs, result)
        frame = frame.set_crs(crs)
        result.add(
            None,
            "",
            "CRS",
            _("文件没有坐标系，按 --assume-crs 视为 %(crs)s。") % {"crs": assume_crs},
            fatal=False,
        )
    epsg = crs.to_epsg()
    if epsg in SAME_AS_STORAGE_EPSG:
        frame = frame.set_crs(settings.SRID, allow_override=True)
    else:
        if not (crs.is_geographic or crs.is_projected):
            result.add(None, "", "CRS", _("不支持的坐标系：%(crs)s。") % {"crs": crs.name})
            raise _StopImport
        geodetic = crs.geodetic_crs
        # A CGCS2000-based projection goes back to CGCS2000 lon/lat, which we take as WGS-84 unchanged.
        target = (
            CGCS2000_EPSG if geodetic is not None and geodetic.to_epsg() == CGCS2000_EPSG else settings.SRID
        )
        try:
            frame = frame.to_crs(target).set_crs(settings.SRID, allow_override=True)
        except Exception as exc:  # pyproj.exceptions.CRSError and friends: no usable transformation
            result.add(
                None, "", "CRS", _("无法从坐标系 %(crs)s 转换：%(error)s") % {"crs": crs.name, "error": exc}
            )
            raise _StopImport from None
        result.add(None, "", "CRS", _("坐标已从 %(crs)s 转换为 EPSG:4326。") % {"crs": crs.name}, fatal=False)
    geoms = frame.geometry.values
    present = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)] if len(geoms) else geoms
    if len(present):
        minx, miny, maxx, maxy = shapely.total_bounds(present)
        if not all(map(math.isfinite, (minx, miny, maxx, maxy))) or not (
            -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
        ):
            result.add(
                None,
                "",
                "CRS",
                _("坐标超出经纬度范围（%(bounds)s）：文件声明的坐标系可能不对。")
                % {"bounds": f"{minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g}"},
            )
            raise _StopImport
    return frame


def _parse_crs(text: str, result: ImportResult) -> pyproj.CRS:
    if text.strip().lower().replace("-", "") in ("gcj02", "bd09"):
        result.add(
            None, "", "CRS", _("GCJ-02 / BD-09 不是 EPSG 坐标系，请先转换为 WGS-84 或 CGCS2000 再导入。")
        )
        raise _StopImport
    try:
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        result.add(None, "", "CRS", _("未知坐标系 %(crs)r，例如 EPSG:4490。") % {"crs": text})
        raise _StopImport from None


def _features(frame, *, layer: str, mapping: Mapping[str, str], result: ImportResult) -> list[_Feature]:
    allowed = LAYER_FIELDS[layer]
    for target in mapping:
        if target not in allowed:
            result.add(
                None,
                "",
                target,
                _("图层 %(layer)s 没有属性 %(target)r，可映射：%(allowed)s。")
                % {"layer": layer, "target": target, "allowed": ", ".join(allowed)},
            )
    columns = {c.lower(): c for c in frame.columns if c != frame.geometry.name}
    sources: dict[str, str] = {}
    for target in allowed:
        wanted = mapping.get(target, target)
        column = columns.get(wanted.lower())
        if column is not None:
            sources[target] = column
        elif target in mapping:
            result.add(
                None,
                "",
                target,
                _("文件中没有字段 %(field)r；可用字段：%(columns)s。")
                % {"field": wanted, "columns": ", ".join(columns.values())},
            )
        elif target in REQUIRED_FIELDS[layer]:
            result.add(
                None,
                "",
                target,
                _("文件中没有字段 %(field)r，请用 --map %(field)s=源字段 指定；可用字段：%(columns)s。")
                % {"field": target, "columns": ", ".join(columns.values())},
            )
    if result.has_fatal:
        raise _StopImport
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    geoms = list(frame.geometry.values)
    return [
        _Feature(index=i, attrs={t: rec[c] for t, c in sources.items()}, geom=geoms[i])
        for i, rec in enumerate(records)
    ]


# --- validate + apply, per layer ----------------------------------------------------------------------


class _Plan:
    """Validates the features of one layer into rows with an action, then (on commit) writes them."""

    def __init__(
        self,
        *,
        result: ImportResult,
        level: str | None,
        update: bool,
        fix_invalid: bool,
        tolerance_deg: float,
        version: int | str | None,
        create_version: bool,
        team: str | None,
    ) -> None:
        self.result = result
        self.level = level
        self.update = update
        self.fix_invalid = fix_invalid
        self.tolerance_deg = tolerance_deg
        self.version = version
        self.create_version = create_version
        self.team = team

    def validate(self, features: list[_Feature]) -> None:
        raise NotImplementedError

    def apply(self) -> None:
        raise NotImplementedError

    def count(self, existing: Any, unchanged: bool) -> str:
        """Record what a valid row will do: create, update, or skip (already identical)."""
        if existing is None:
            self.result.created += 1
            return "create"
        if unchanged:
            self.result.skipped += 1
            return "skip"
        self.result.updated += 1
        return "update"

    def polygonal(self, feature: _Feature, feature_id: str):
        """The feature's geometry as a valid shapely MultiPolygon, or None after adding a problem."""
        add = self.result.add
        geom = feature.geom
        if geom is None or shapely.is_missing(geom) or geom.is_empty:
            add(feature.index, feature_id, _("几何"), _("几何为空。"))
            return None
        geom = shapely.force_2d(geom)
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            add(
                feature.index,
                feature_id,
                _("几何"),
                _("几何类型为 %(type)s，需要面（Polygon / MultiPolygon）。") % {"type": geom.geom_type},
            )
            return None
        vertices = shapely.get_num_coordinates(geom)
        if vertices > settings.IMPORT_MAX_VERTICES:  # before the validity check, which is O(n log n)
            add(
                feature.index,
                feature_id,
                _("几何"),
                _("顶点过多：%(count)d 个，上限 %(limit)d 个（请先简化）。")
                % {"count": vertices, "limit": settings.IMPORT_MAX_VERTICES},
            )
            return None
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            if _is_bowtie(geom):
                message = _("自相交（蝴蝶结形）多边形：%(reason)s") % {"reason": reason}
            else:
                message = _("几何无效：%(reason)s") % {"reason": reason}
            if not self.fix_invalid:
                add(
                    feature.index,
                    feature_id,
                    _("几何"),
                    message + _("（可加 --fix-invalid 用 make_valid 修复）"),
                )
                return None
            geom = _polygonal_part(shapely.make_valid(geom))
            if geom is None:
                add(feature.index, feature_id, _("几何"), message + _("；make_valid 后没有剩下面。"))
                return None
            add(feature.index, feature_id, _("几何"), message + _("；已用 make_valid 修复。"), fatal=False)
        return _multi(geom)

    def check_inside(self, index: int, feature_id: str, geom, container, label: str) -> bool:
        """Inside the container: fine. Out by no more than the tolerance: a warning. Further: fatal.
        Returns False when fatal."""
        if container is None or container.covers(geom):
            return True
        if not geom.intersects(container):
            self.result.add(
                index, feature_id, _("几何"), _("完全位于%(container)s之外。") % {"container": label}
            )
            return False
        overhang = geom.difference(container)
        if overhang.is_empty:
            return True
        metres = _max_distance(overhang, container) * METRES_PER_DEGREE
        if metres < NEGLIGIBLE_OVERHANG_M:
            return True
        tolerance = self.tolerance_deg * METRES_PER_DEGREE
        self.result.add(
            index,
            feature_id,
            _("几何"),
            _("超出%(container)s约 %(metres).1f 米（容差 %(tolerance).1f 米）。")
            % {"container": label, "metres": metres, "tolerance": tolerance},
            fatal=metres > tolerance,
        )
        return metres <= tolerance

    @staticmethod
    def county_geoms() -> dict[str, Any]:
        return {
            code: _prepared(_shapely(geom))
            for code, geom in Region.objects.filter(level=Region.Level.COUNTY).values_list("code", "geom")
        }

    @staticmethod
    def county_for(code: str, counties: dict[str, Any]):
        if code[:6] in counties:
            return counties[code[:6]]
        if len(counties) == 1:
            return next(iter(counties.values()))
        return None


@dataclass
class _RegionRow:
    index: int
    code: str
    name: str
    level: str
    parent_code: str | None
    geom: Any
    existing: Region | None = None
    action: str = ""


class _RegionPlan(_Plan):
    PARENT_LEVELS: dict[str, tuple[str, ...]] = {
        **dict.fromkeys(Region.TOWNSHIP_LEVELS, (Region.Level.COUNTY,)),
        **dict.fromkeys(Region.VILLAGE_LEVELS, Region.TOWNSHIP_LEVELS),
    }
    DEPTH: dict[str, int] = {Region.Level.COUNTY: 0, **dict.fromkeys(Region.TOWNSHIP_LEVELS, 1)}

    def validate(self, features: list[_Feature]) -> None:
        add = self.result.add
        default_level = None
        if self.level:
            default_level = _parse_level(self.level)
            if default_level is None:
                add(
                    None,
                    "",
                    "level",
                    _("未知层级 %(level)r，可选：%(choices)s。")
                    % {"level": self.level, "choices": ", ".join(Region.Level.values)},
                )
                raise _StopImport
        rows: dict[str, _RegionRow] = {}
        seen: dict[str, int] = {}
        for feature in features:
            code = _as_code(feature.attrs.get("code"))
            if not code:
                add(feature.index, "", "code", _("缺少区划代码。"))
                continue
            if code in seen:
                add(
                    feature.index,
                    code,
                    "code",
                    _("代码在文件中重复（与要素 #%(other)d 相同）。") % {"other": seen[code]},
                )
                rows.pop(code, None)
                continue
            seen[code] = feature.index
            raw_level = feature.text("level")
            level = _parse_level(raw_level) if raw_level else default_level
            if level is None:
                add(
                    feature.index,
                    code,
                    "level",
                    _("层级 %(level)r 无法识别；请用 --level 或 level 字段。") % {"level": raw_level},
                )
                continue
            expected = Region.CODE_LENGTH[level]
            if not code.isdigit() or len(code) != expected:
                add(
                    feature.index,
                    code,
                    "code",
                    _("代码 %(code)s 长度 %(n)d 与层级“%(level)s”不符：需要 %(expected)d 位数字。")
                    % {
                        "code": code,
                        "n": len(code),
                        "level": Region.Level(level).label,
                        "expected": expected,
                    },
                )
                continue
            name = feature.text("name")
            if not name:
                add(feature.index, code, "name", _("缺少名称。"))
            parent_code = _as_code(feature.attrs.get("parent")) or None
            if parent_code is None and level != Region.Level.COUNTY:
                # Statistical codes nest: a township's first 6 digits are its county,
                # a village's first 9 its township.
                parent_code = code[: 6 if level in Region.TOWNSHIP_LEVELS else 9]
            geom = self.polygonal(feature, code)
            if name and geom is not None:
                rows[code] = _RegionRow(feature.index, code, name, level, parent_code, geom)

        wanted = set(rows) | {r.parent_code for r in rows.values() if r.parent_code}
        in_db = {r.code: r for r in Region.objects.filter(code__in=wanted).select_related("parent")}
        counties = self.county_geoms()
        for row in rows.values():
            if row.level == Region.Level.COUNTY and row.code not in counties:
                counties[row.code] = _prepared(row.geom)
        for row in rows.values():
            if row.parent_code:
                parent = rows.get(row.parent_code) or in_db.get(row.parent_code)
                if parent is None:
                    add(
                        row.index,
                        row.code,
                        "parent",
                        _("上级代码 %(parent)s 不存在（数据库和文件中都没有）。")
                        % {"parent": row.parent_code},
                    )
                    continue
                if parent.level not in self.PARENT_LEVELS.get(row.level, ()):
                    add(
                        row.index,
                        row.code,
                        "parent",
                        _("上级 %(parent)s 的层级是“%(plevel)s”，不能作为“%(level)s”的上级。")
                        % {
                            "parent": row.parent_code,
                            "plevel": Region.Level(parent.level).label,
                            "level": Region.Level(row.level).label,
                        },
                    )
                    continue
                county = self.county_for(row.code, counties)
                if not self.check_inside(row.index, row.code, row.geom, county, _("县域")):
                    continue
            row.existing = in_db.get(row.code)
            if row.existing is not None and not self.update:
                add(row.index, row.code, "code", _("代码已存在于数据库；如需更新请加 --update。"))
                continue
            unchanged = row.existing is not None and (
                row.existing.name == row.name
                and row.existing.level == row.level
                and (row.existing.parent.code if row.existing.parent else None) == row.parent_code
                and _same_geom(row.existing.geom, row.geom)
            )
            row.action = self.count(row.existing, unchanged)
        self.rows = rows

    def apply(self) -> None:
        ordered = sorted(self.rows.values(), key=lambda r: (self.DEPTH.get(r.level, 2), r.code))
        by_code = {r.code: r for r in Region.objects.filter(code__in={r.parent_code for r in ordered})}
        updates: list[Region] = []
        for depth in (0, 1, 2):
            new: list[Region] = []
            for row in ordered:
                if self.DEPTH.get(row.level, 2) != depth:
                    continue
                parent = by_code.get(row.parent_code) if row.parent_code else None
                if row.action == "create":
                    region = Region(code=row.code, name=row.name, level=row.level, parent=parent)
                    region.geom = _geos(row.geom)
                    new.append(region)
                else:
                    region = row.existing
                    if row.action == "update":
                        region.name, region.level, region.parent = row.name, row.level, parent
                        region.geom = _geos(row.geom)
                        updates.append(region)
                by_code[row.code] = region
            # Bulk writes skip the per-save signals: the import bumps the revision once.
            Region.objects.bulk_create(new)
        Region.objects.bulk_update(updates, ["name", "level", "parent", "geom"])


@dataclass
class _CellRow:
    index: int
    code: str
    name: str
    village: Region
    geom: Any
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    existing: GridCell | None = None
    action: str = ""


class _CellPlan(_Plan):
    def validate(self, features: list[_Feature]) -> None:
        add = self.result.add
        candidates: list[tuple[_Feature, str, str]] = []
        seen: dict[str, int] = {}
        for feature in features:
            code = _as_code(feature.attrs.get("code"))
            if not code:
                add(feature.index, "", "code", _("缺少网格编码。"))
                continue
            if not code.isdigit() or len(code) != 15:
                add(
                    feature.index,
                    code,
                    "code",
                    _("网格编码 %(code)s 应为 15 位数字（村代码 12 位 + 序号 3 位），实际 %(n)d 位。")
                    % {"code": code, "n": len(code)},
                )
                continue
            if code in seen:
                add(
                    feature.index,
                    code,
                    "code",
                    _("网格编码在文件中重复（与要素 #%(other)d 相同）。") % {"other": seen[code]},
                )
                continue
            seen[code] = feature.index
            village_code = _as_code(feature.attrs.get("village")) or code[:12]
            if village_code != code[:12]:
                add(
                    feature.index,
                    code,
                    "village",
                    _("网格编码前 12 位 %(prefix)s 与村代码 %(village)s 不一致。")
                    % {"prefix": code[:12], "village": village_code},
                )
                continue
            candidates.append((feature, code, village_code))
        codes = [c for _f, c, _v in candidates]
        regions = {
            r.code: r
            for r in Region.objects.filter(code__in={v for _f, _c, v in candidates}).select_related("parent")
        }
        existing = {c.code: c for c in GridCell.objects.filter(code__in=codes)}
        counties = self.county_geoms()
        village_shapes: dict[str, Any] = {}
        rows: dict[str, _CellRow] = {}
        for feature, code, village_code in candidates:
            village = regions.get(village_code)
            if village is None:
                add(
                    feature.index,
                    code,
                    "village",
                    _("村代码 %(village)s 不存在于数据库（请先导入村级区域）。") % {"village": village_code},
                )
                continue
            if village.level not in Region.VILLAGE_LEVELS:
                add(
                    feature.index,
                    code,
                    "village",
                    _("%(village)s 的层级是“%(level)s”，不是村（社区）。")
                    % {"village": village_code, "level": village.get_level_display()},
                )
                continue
            if village.parent is None or not village.parent.is_township_level:
                add(
                    feature.index,
                    code,
                    "village",
                    _("村 %(village)s 没有乡镇级上级，无法确定所属乡镇。") % {"village": village_code},
                )
                continue
            dates = {}
            for name in ("valid_from", "valid_to"):
                try:
                    dates[name] = _as_date(feature.attrs.get(name))
                except ValueError:
                    add(
                        feature.index,
                        code,
                        name,
                        _("日期 %(value)r 无法识别（应为 YYYY-MM-DD）。")
                        % {"value": feature.attrs.get(name)},
                    )
                    dates[name] = False
            if dates["valid_from"] is False or dates["valid_to"] is False:
                continue
            geom = self.polygonal(feature, code)
            if geom is None:
                continue
            if village_code not in village_shapes:
                village_shapes[village_code] = _prepared(_shapely(village.geom))
            village_label = _("所属村 %(village)s") % {"village": village_code}
            in_village = self.check_inside(
                feature.index, code, geom, village_shapes[village_code], village_label
            )
            county = self.county_for(code, counties)
            if not (self.check_inside(feature.index, code, geom, county, _("县域")) and in_village):
                continue
            seq = code[12:]
            # Stored names are data: Chinese whatever language the operator reads.
            name = feature.text("name") or f"{village.name}第{int(seq)}网格"
            row = _CellRow(feature.index, code, name, village, geom, dates["valid_from"], dates["valid_to"])
            row.existing = existing.get(code)
            if row.existing is not None and not self.update:
                add(row.index, code, "code", _("网格编码已存在于数据库；如需更新请加 --update。"))
                continue
            start = row.valid_from or (row.existing.valid_from if row.existing else timezone.localdate())
            if row.valid_to is not None and row.valid_to <= start:
                add(row.index, code, "valid_to", _("失效日期必须晚于生效日期。"))
                continue
            row.valid_from = start
            unchanged = row.existing is not None and (
                row.existing.name == row.name
                and row.existing.village_id == village.pk
                and row.existing.township_id == village.parent_id
                and row.existing.valid_from == row.valid_from
                and row.existing.valid_to == row.valid_to
                and _same_geom(row.existing.geom, geom)
            )
            row.action = self.count(row.existing, unchanged)
            rows[code] = row
        self.rows = rows

    def apply(self) -> None:
        new: list[GridCell] = []
        updates: list[GridCell] = []
        for row in self.rows.values():
            if row.action == "skip":
                continue
            cell = row.existing or GridCell(code=row.code)
            cell.name, cell.village, cell.township = row.name, row.village, row.village.parent
            cell.geom, cell.valid_from, cell.valid_to = _geos(row.geom), row.valid_from, row.valid_to
            (new if row.action == "create" else updates).append(cell)
        GridCell.objects.bulk_create(new)
        GridCell.objects.bulk_update(
            updates, ["name", "village", "township", "geom", "valid_from", "valid_to"]
        )


@dataclass
class _ZoneRow:
    index: int
    name: str
    team: Team
    cell_ids: set[int]
    existing: EnforcementZone | None = None
    action: str = ""


class _ZonePlan(_Plan):
    def validate(self, features: list[_Feature]) -> None:
        add = self.result.add
        self.target_version = self._resolve_version()
        teams = list(Team.objects.all())
        team_by_key = {t.code: t for t in teams} | {t.name: t for t in teams}
        default_team = None
        if self.team:
            default_team = team_by_key.get(self.team)
            if default_team is None:
                add(None, "", "team", _("执法队伍 %(team)r 不存在。") % {"team": self.team})
                raise _StopImport
        existing = {}
        if self.target_version is not None:
            existing = {
                (z.team_id, z.name): z for z in self.target_version.zones.prefetch_related("zone_cells")
            }
        valid_q = gridcell_valid_on_q(on=timezone.localdate())
        rows: dict[tuple[int, str], _ZoneRow] = {}
        seen: dict[tuple[int, str], int] = {}
        cell_owner: dict[tuple[str, int], str] = {}
        for feature in features:
            team_key = feature.text("team")
            team = team_by_key.get(team_key) if team_key else default_team
            if team is None:
                add(
                    feature.index,
                    feature.text("name"),
                    "team",
                    _("执法队伍 %(team)r 不存在；请用 team 字段或 --team 指定队伍编号。")
                    % {"team": team_key},
                )
                continue
            name = feature.text("name") or f"{team.name}片区"
            raw_domain = feature.text("domain")
            if raw_domain:
                domain = _parse_choice(raw_domain, Domain)
                if domain != team.domain:
                    add(
                        feature.index,
                        name,
                        "domain",
                        _("领域 %(domain)r 与队伍“%(team)s”的领域“%(team_domain)s”不符。")
                        % {"domain": raw_domain, "team": team.name, "team_domain": team.get_domain_display()},
                    )
                    continue
            key = (team.pk, name)
            if key in seen:
                add(
                    feature.index,
                    name,
                    "name",
                    _("同一队伍的片区名称在文件中重复（与要素 #%(other)d 相同）。") % {"other": seen[key]},
                )
                rows.pop(key, None)
                continue
            seen[key] = feature.index
            listed = _as_code_list(feature.attrs.get("cells"))
            if listed:
                found = dict(GridCell.objects.filter(code__in=listed).values_list("code", "pk"))
                missing = [c for c in listed if c not in found]
                if missing:
                    add(
                        feature.index,
                        name,
                        "cells",
                        _("网格编码不存在：%(codes)s") % {"codes": _short_list(missing)},
                    )
                    continue
                expired = GridCell.objects.filter(pk__in=found.values()).exclude(valid_q)
                for code in expired.values_list("code", flat=True):
                    add(
                        feature.index,
                        name,
                        "cells",
                        _("网格 %(code)s 当前不在有效期内。") % {"code": code},
                        fatal=False,
                    )
                cell_ids = set(found.values())
            else:
                geom = self.polygonal(feature, name)
                if geom is None:
                    continue
                cell_ids = self._cells_by_representative_point(feature.index, name, geom, valid_q)
            if not cell_ids:
                add(feature.index, name, "cells", _("片区没有包含任何网格。"))
                continue
            for cell_id in cell_ids:
                owner = cell_owner.setdefault((team.domain, cell_id), name)
                if owner != name:
                    add(
                        feature.index,
                        name,
                        "cells",
                        _("网格（id %(id)d）同时属于同一领域的片区“%(other)s”。")
                        % {"id": cell_id, "other": owner},
                        fatal=False,
                    )
            row = _ZoneRow(feature.index, name, team, cell_ids, existing.get(key))
            if row.existing is not None and not self.update:
                add(feature.index, name, "name", _("该版本中已有同名片区；如需更新请加 --update。"))
                continue
            unchanged = (
                row.existing is not None and {zc.cell_id for zc in row.existing.zone_cells.all()} == cell_ids
            )
            row.action = self.count(row.existing, unchanged)
            rows[key] = row
        self.rows = rows

    def _resolve_version(self) -> CoverageVersion | None:
        add = self.result.add
        if self.version in (None, ""):
            add(None, "", "version", _("请用 --coverage-version 指定覆盖版本（编号或名称）。"))
            raise _StopImport
        text = str(self.version).strip()
        found = list(
            CoverageVersion.objects.filter(Q(name=text) | (Q(pk=int(text)) if text.isdigit() else Q()))
        )
        if len(found) > 1:
            add(None, "", "version", _("有多个覆盖版本匹配 %(v)r，请用编号。") % {"v": text})
            raise _StopImport
        if not found:
            if not self.create_version or text.isdigit():
                add(
                    None,
                    "",
                    "version",
                    _("覆盖版本 %(v)r 不存在（可加 --create-version 新建草稿）。") % {"v": text},
                )
                raise _StopImport
            self.result.new_version = text
            return None
        version = found[0]
        if version.status != CoverageVersion.Status.DRAFT:
            add(
                None,
                "",
                "version",
                _("覆盖版本“%(v)s”状态为%(status)s；只能导入到草稿版本。")
                % {"v": version.name, "status": version.get_status_display()},
            )
            raise _StopImport
        return version

    def _cells_by_representative_point(self, index: int, name: str, geom, valid_q: Q) -> set[int]:
        """Cells whose point_on_surface lies in the polygon; cells it cuts are reported as partial."""
        found = list(
            GridCell.objects.filter(valid_q, geom__intersects=_geos(geom)).values_list("pk", "code", "geom")
        )
        if not found:
            return set()
        shapes = shapely.from_wkb([bytes(g.wkb) for _pk, _code, g in found])
        shapely.prepare(geom)
        inside = shapely.covers(geom, shapely.point_on_surface(shapes))
        shares = shapely.area(shapely.intersection(shapes, geom)) / shapely.area(shapes)
        ids: set[int] = set()
        for (pk, code, _g), included, share in zip(found, inside, shares, strict=True):
            if included:
                ids.add(pk)
            if PARTIAL_SHARE_EPSILON < share < 1 - PARTIAL_SHARE_EPSILON:
                self.result.partial_cells.append(PartialCell(name, code, float(share), bool(included)))
                self.result.add(
                    index,
                    name,
                    _("几何"),
                    (
                        _("网格 %(code)s 仅 %(pct).0f%% 位于多边形内，按代表点已纳入。")
                        if included
                        else _("网格 %(code)s 有 %(pct).0f%% 位于多边形内，按代表点未纳入。")
                    )
                    % {"code": code, "pct": share * 100},
                    fatal=False,
                )
        return ids

    def apply(self) -> None:
        version = self.target_version
        if version is None:
            # bulk_create: no post_save signal, the import bumps the revision once.
            (version,) = CoverageVersion.objects.bulk_create(
                [
                    CoverageVersion(
                        name=str(self.version).strip(),
                        note=f"由导入创建：{self.result.path}",
                    )
                ]
            )
        todo = [r for r in self.rows.values() if r.action in ("create", "update")]
        all_ids = set().union(*(r.cell_ids for r in todo)) if todo else set()
        shapes = {
            pk: _shapely(g) for pk, g in GridCell.objects.filter(pk__in=all_ids).values_list("pk", "geom")
        }
        new: list[EnforcementZone] = []
        updates: list[EnforcementZone] = []
        for row in todo:
            zone = row.existing or EnforcementZone(version=version, team=row.team, name=row.name)
            zone.domain = row.team.domain
            zone.geom = _geos(_valid_union([shapes[i] for i in row.cell_ids]))
            (new if row.action == "create" else updates).append(zone)
        EnforcementZone.objects.bulk_create(new)
        EnforcementZone.objects.bulk_update(updates, ["domain", "geom"])
        with connection.cursor() as cursor:
            for row in todo:
                if row.existing is not None:
                    # Raw delete: QuerySet.delete() would fire a post_delete (and a revision bump) per row.
                    cursor.execute(
                        f"DELETE FROM {ZoneCell._meta.db_table} "
                        "WHERE zone_id = %s AND NOT (cell_id = ANY(%s))",
                        [row.existing.pk, sorted(row.cell_ids)],
                    )
        zone_of = {(z.team_id, z.name): z for z in [*new, *updates]}
        ZoneCell.objects.bulk_create(
            [
                ZoneCell(zone=zone_of[(r.team.pk, r.name)], cell_id=i)
                for r in todo
                for i in sorted(r.cell_ids)
            ],
            ignore_conflicts=True,
        )


# --- small helpers -----------------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    try:
        if value != value:  # pandas NaT / NA
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _as_code(value: Any) -> str:
    """Codes may arrive as text, integers, or floats (a numeric DBF field): always digits as text."""
    return _as_text(value).replace(" ", "")


def _as_code_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = [_as_code(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    else:
        items = CELL_CODE_SEPARATORS.split(_as_text(value))
    return list(dict.fromkeys(i for i in items if i))


def _as_date(value: Any) -> datetime.date | None:
    text = _as_text(value)
    if not text:
        return None
    if isinstance(value, datetime.datetime) or hasattr(value, "to_pydatetime"):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(text[:10].replace("/", "-"))


def _parse_choice(text: str, choices) -> str | None:
    wanted = text.strip().lower()
    for value, label in choices.choices:
        if wanted in (str(value).lower(), str(label).lower()):
            return value
    return None


def _parse_level(text: str) -> str | None:
    """A level by value (``town``) or Chinese label (``镇``); ``街道``/``乡镇``-style labels are common."""
    aliases = {
        "街道": "subdistrict",
        "镇": "town",
        "乡": "township",
        "村": "village",
        "社区": "community",
        "县": "county",
        "区": "county",
        "园区": "park",
        "农场": "farm",
    }
    return _parse_choice(text, Region.Level) or aliases.get(text.strip())


def _is_bowtie(geom) -> bool:
    """A ring that crosses itself (not just touches) is a bow-tie: its ring is not simple."""
    polygons = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    return any(not ring.is_simple for p in polygons for ring in [p.exterior, *p.interiors])


def _polygonal_part(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom if not geom.is_empty else None
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _multi(geom):
    return shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom


def _valid_union(shapes: list) -> Any:
    merged = shapely.union_all(shapes)
    if not merged.is_valid:
        merged = _polygonal_part(shapely.make_valid(merged))
    return _multi(merged)


def _geos(geom) -> MultiPolygon:
    return GEOSGeometry(memoryview(shapely.to_wkb(_multi(geom))), srid=settings.SRID)


def _shapely(geom: GEOSGeometry):
    return shapely.from_wkb(bytes(geom.wkb))


def _prepared(geom):
    shapely.prepare(geom)
    return geom


def _same_geom(stored: GEOSGeometry, geom) -> bool:
    """Equal up to vertex order and ring orientation (Shapefile writers reorient rings)."""
    return bool(shapely.equals_exact(shapely.normalize(_shapely(stored)), shapely.normalize(geom), 1e-9))


def _max_distance(overhang, container) -> float:
    points = shapely.points(shapely.get_coordinates(overhang))
    return float(shapely.distance(container, points).max()) if len(points) else 0.0


def _short_list(items: Sequence[str], limit: int = 10) -> str:
    shown = "、".join(items[:limit])
    return shown + (_("等 %(n)d 个") % {"n": len(items)} if len(items) > limit else "")


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
