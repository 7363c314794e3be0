"""Export the map of responsibility to GIS files that ``geodata_import`` reads back unchanged.

The attribute names are the importer's own (code, name, level, parent, village, ...), so an export
re-imports with no --map. Shapefile limits: field names of 10 characters (ours fit), text of 254
bytes: a zone's cell list longer than that is left out, and the zone re-imports from its polygon
(the union of its cells, whose representative points all lie inside it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from geodata.models import CoverageVersion, EnforcementZone, GridCell, Region

FORMATS = {"geojson": "GeoJSON", "gpkg": "GPKG", "shp": "ESRI Shapefile"}
EXTENSIONS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp"}
SHAPEFILE_TEXT_LIMIT = 254


class ExportError(ValueError):
    """A caller's mistake (unknown format, layer or version); the message is for the user."""


@dataclass
class ExportResult:
    path: str
    layer: str
    format: str
    count: int = 0
    warnings: list[str] = field(default_factory=list)


def geodata_export_file(
    *,
    path: str | Path,
    layer: str,
    levels: list[str] | None = None,
    version: int | str | None = None,
    format: str | None = None,
    encoding: str = "UTF-8",
) -> ExportResult:
    """Write regions (optionally of some levels), grid cells, or the zones of one coverage version."""
    path = Path(path)
    fmt = (format or EXTENSIONS.get(path.suffix.lower(), "")).lower()
    if fmt not in FORMATS:
        raise ExportError(
            _("无法确定输出格式：请用扩展名 .geojson / .gpkg / .shp 或 --format %(choices)s。")
            % {"choices": "|".join(FORMATS)}
        )
    result = ExportResult(path=str(path), layer=layer, format=fmt)
    if layer == "region":
        frame = _regions_frame(levels)
    elif layer == "cell":
        frame = _cells_frame()
    elif layer == "zone":
        frame = _zones_frame(_version(version))
    else:
        raise ExportError(_("未知图层 %(layer)r，可选：region, cell, zone。") % {"layer": layer})
    if fmt == "shp" and "cells" in frame.columns:
        too_long = frame["cells"].map(lambda s: len(s.encode(encoding)) > SHAPEFILE_TEXT_LIMIT)
        if too_long.any():
            frame = frame.drop(columns=["cells"])
            result.warnings.append(
                _("Shapefile 文本字段最长 254 字节：网格清单已省略，片区按多边形重新导入。")
            )
    kwargs = {"driver": FORMATS[fmt], "engine": "pyogrio"}
    if fmt == "shp":
        kwargs["encoding"] = encoding  # GDAL writes it into the .cpg
    elif fmt == "gpkg":
        kwargs["layer"] = layer
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_file(path, **kwargs)
    result.count = len(frame)
    return result


def _frame(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
    shapes = shapely.from_wkb([bytes(g.wkb) for g in geoms]) if geoms else []
    return gpd.GeoDataFrame(rows, geometry=list(shapes), crs=f"EPSG:{settings.SRID}")


def _regions_frame(levels: list[str] | None) -> gpd.GeoDataFrame:
    qs: QuerySet[Region] = Region.objects.order_by("code")
    if levels:
        unknown = sorted(set(levels) - set(Region.Level.values))
        if unknown:
            raise ExportError(
                _("未知层级：%(levels)s，可选：%(choices)s。")
                % {"levels": ", ".join(unknown), "choices": ", ".join(Region.Level.values)}
            )
        qs = qs.filter(level__in=levels)
    data = list(qs.values_list("code", "name", "level", "parent__code", "geom"))
    rows = [{"code": c, "name": n, "level": lv, "parent": p or ""} for c, n, lv, p, _g in data]
    return _frame(rows, [g for *_rest, g in data])


def _cells_frame() -> gpd.GeoDataFrame:
    data = list(
        GridCell.objects.order_by("code").values_list(
            "code", "name", "village__code", "township__code", "valid_from", "valid_to", "geom"
        )
    )
    rows = [
        {
            "code": c,
            "name": n,
            "village": v,
            "township": t,
            "valid_from": vf.isoformat(),
            "valid_to": vt.isoformat() if vt else "",
        }
        for c, n, v, t, vf, vt, _g in data
    ]
    return _frame(rows, [g for *_rest, g in data])


def _version(version: int | str | None) -> CoverageVersion:
    if version in (None, ""):
        raise ExportError(_("导出片区需要 --coverage-version（覆盖版本编号或名称）。"))
    text = str(version).strip()
    found = list(CoverageVersion.objects.filter(pk=int(text)) if text.isdigit() else [])
    found = found or list(CoverageVersion.objects.filter(name=text))
    if len(found) != 1:
        raise ExportError(_("覆盖版本 %(v)r 不存在或不唯一。") % {"v": text})
    return found[0]


def _zones_frame(version: CoverageVersion) -> gpd.GeoDataFrame:
    zones = list(
        EnforcementZone.objects.filter(version=version, geom__isnull=False)
        .select_related("team")
        .prefetch_related("cells")
        .order_by("domain", "name")
    )
    rows = [
        {
            "name": z.name,
            "team": z.team.code,
            "domain": z.domain,
            "version": version.name,
            "cells": ",".join(sorted(c.code for c in z.cells.all())),
        }
        for z in zones
    ]
    return _frame(rows, [z.geom for z in zones])
