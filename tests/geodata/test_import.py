"""The import pipeline (geodata/importing.py) and its command geodata_import, on real files.

Coordinates follow the tiny county of tests/factories.py (cells of 0.01° from 121.00 E, 29.00 N).
"""

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command

from geodata.importing import geodata_import_file, problems_table
from geodata.models import CoverageVersion, EnforcementZone, GridCell, Region
from geodata.revision import geodata_revision_get

DATA = Path(__file__).resolve().parent.parent / "data"
GBK_MAP = {"code": "XZQDM", "name": "XZQMC", "level": "JB"}


def write_geojson(path: Path, rows: list[dict]) -> Path:
    gpd.GeoDataFrame(rows, crs="EPSG:4326").to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


def fatal_reasons(result) -> list[str]:
    return [f"{p.field}: {p.reason}" for p in result.fatal_problems]


@pytest.mark.django_db
def test_valid_regions_dry_run_writes_nothing():
    result = geodata_import_file(path=DATA / "tiny_regions.geojson", layer="region")

    assert result.problems == []
    assert (result.feature_count, result.created, result.committed) == (7, 7, False)
    assert not Region.objects.exists()


@pytest.mark.django_db
def test_valid_regions_and_cells_commit_writes_with_one_revision_bump():
    before, _changed_at = geodata_revision_get()
    regions = geodata_import_file(path=DATA / "tiny_regions.geojson", layer="region", commit=True)

    assert regions.committed and regions.created == 7
    assert geodata_revision_get()[0] == before + 1
    village = Region.objects.get(code="330225101002")
    assert (village.name, village.level, village.parent.code) == ("石浦镇N村", "village", "330225101")
    assert village.geom.srid == 4326 and village.geom.geom_type == "MultiPolygon"

    cells = geodata_import_file(path=DATA / "tiny_cells.geojson", layer="cell", commit=True)

    assert cells.problems == [] and cells.created == 16
    cell = GridCell.objects.get(code="330225101002004")
    assert (cell.village.code, cell.township.code) == ("330225101002", "330225101")
    assert str(cell.valid_from) == "2025-01-01"


def test_existing_codes_are_problems_without_update_and_identical_rows_skipped_with_it(tiny_county):
    refused = geodata_import_file(path=DATA / "tiny_regions.geojson", layer="region")
    assert len(refused.fatal_problems) == 7
    assert all("--update" in p.reason for p in refused.fatal_problems)

    result = geodata_import_file(path=DATA / "tiny_regions.geojson", layer="region", update=True, commit=True)

    assert result.problems == []
    assert (result.created, result.updated, result.skipped) == (0, 0, 7)


def test_bowtie_is_reported_with_its_reason_and_nothing_is_written(tiny_county):
    """A village whose ring crosses itself:

    (121.00, 29.01) ┐   ┌ (121.01, 29.01)
                     ╲ ╱
                      ╳   ← Self-intersection at (121.005, 29.005)
                     ╱ ╲
    (121.00, 29.00) ┘   └ (121.01, 29.00)
    """
    result = geodata_import_file(path=DATA / "bowtie_village.geojson", layer="region", commit=True)

    assert not result.committed
    (problem,) = result.problems
    assert problem.fatal and problem.index == 0 and problem.feature_id == "330225001003"
    assert "蝴蝶结" in problem.reason and "Self-intersection[121.005 29.005]" in problem.reason
    assert not Region.objects.filter(code="330225001003").exists()

    fixed = geodata_import_file(
        path=DATA / "bowtie_village.geojson", layer="region", fix_invalid=True, commit=True
    )

    assert fixed.committed and not fixed.has_fatal
    assert "make_valid" in fixed.warnings[0].reason
    village = Region.objects.get(code="330225001003")
    assert village.geom.valid and len(village.geom) == 2  # two triangles
    assert village.parent == tiny_county.townships["W"]


@pytest.mark.django_db
def test_gbk_shapefile_names_come_out_in_chinese():
    Region.objects.create(
        code="330225", name="象山县", level="county", geom=_multi(shapely.box(121.0, 29.0, 121.04, 29.04))
    )
    result = geodata_import_file(
        path=DATA / "gbk_townships.shp", layer="region", mapping=GBK_MAP, commit=True
    )

    assert result.committed, problems_table(result.problems)
    names = dict(Region.objects.filter(parent__code="330225").values_list("code", "name"))
    assert names == {"330225001": "丹东街道", "330225101": "石浦镇"}
    assert Region.objects.get(code="330225001").level == Region.Level.SUBDISTRICT  # JB = 街道


def test_gbk_shapefile_without_cpg_needs_the_encoding(tiny_county):
    garbled = geodata_import_file(path=DATA / "gbk_nocpg_townships.shp", layer="region", mapping=GBK_MAP)

    assert garbled.has_fatal and "--encoding GBK" in garbled.fatal_problems[0].reason

    result = geodata_import_file(
        path=DATA / "gbk_nocpg_townships.shp", layer="region", mapping=GBK_MAP, encoding="GBK", update=True
    )

    assert not result.has_fatal and result.skipped == 2  # same names and shapes as the factory


def test_file_without_crs_is_refused_unless_assume_crs(tiny_county):
    refused = geodata_import_file(path=DATA / "no_crs_villages.shp", layer="region", level="village")

    assert [p.field for p in refused.fatal_problems] == ["CRS"]
    assert "--assume-crs" in refused.fatal_problems[0].reason

    result = geodata_import_file(
        path=DATA / "no_crs_villages.shp", layer="region", assume_crs="EPSG:4490", update=True
    )

    assert not result.has_fatal, fatal_reasons(result)
    assert result.skipped == 4  # CGCS2000 taken as WGS-84: identical to the stored villages


def test_gcj02_is_not_an_assumable_crs(tiny_county):
    result = geodata_import_file(path=DATA / "no_crs_villages.shp", layer="region", assume_crs="GCJ-02")

    assert "GCJ-02" in result.fatal_problems[0].reason


def test_projected_geopackage_is_reprojected(tiny_county):
    result = geodata_import_file(
        path=DATA / "tiny_villages_gk.gpkg", layer="region", update=True, commit=True
    )

    assert not result.has_fatal, fatal_reasons(result)
    assert "EPSG:4326" in result.warnings[0].reason
    village = Region.objects.get(code="330225001001")
    assert village.geom.equals_exact(tiny_county.villages["W-S"].geom, 1e-7)


def test_unknown_parent_and_wrong_code_length(tiny_county, tmp_path):
    rows = [
        {
            "code": "330225009001",
            "name": "无主村",
            "level": "village",
            "geometry": shapely.box(121.0, 29.0, 121.01, 29.01),
        },
        {
            "code": "330225001",
            "name": "短码村",
            "level": "village",
            "geometry": shapely.box(121.0, 29.0, 121.01, 29.01),
        },
    ]
    result = geodata_import_file(
        path=write_geojson(tmp_path / "v.geojson", rows), layer="region", commit=True
    )

    assert not result.committed
    assert [(p.index, p.field) for p in result.fatal_problems] == [(1, "code"), (0, "parent")]
    assert "330225009" in result.fatal_problems[1].reason
    assert "12" in result.fatal_problems[0].reason


def test_duplicate_codes_within_the_file(db, tmp_path):
    square = shapely.box(121.0, 29.0, 121.04, 29.04)
    rows = [{"code": "330225", "name": "象山县", "level": "county", "geometry": square}] * 2
    result = geodata_import_file(path=write_geojson(tmp_path / "dup.geojson", rows), layer="region")

    assert [(p.index, p.field) for p in result.fatal_problems] == [(1, "code")]
    assert "#0" in result.fatal_problems[0].reason


def test_feature_outside_the_county(tiny_county, tmp_path):
    """The county is 121.00–121.04 E. Three new villages of 丹东街道 (W):

    121.00                   121.04     121.2
      ┌────── county ──────────┐
      │                      ┌─┼┐ B: 3 m over the edge  → warning (tolerance 5 m)
      │                      └─┼┘
      │                     ┌──┼──┐ C: 100 m over       → fatal
      └────────────────────────┘          ┌─┐ A: far away → fatal
                                          └─┘
    """
    over = 3 / 111_320
    rows = [
        {
            "code": "330225001101",
            "name": "A",
            "level": "village",
            "geometry": shapely.box(121.2, 29.0, 121.21, 29.01),
        },
        {
            "code": "330225001102",
            "name": "B",
            "level": "village",
            "geometry": shapely.box(121.03, 29.03, 121.04 + over, 29.04),
        },
        {
            "code": "330225001103",
            "name": "C",
            "level": "village",
            "geometry": shapely.box(121.03, 29.0, 121.041, 29.01),
        },
    ]
    result = geodata_import_file(path=write_geojson(tmp_path / "out.geojson", rows), layer="region")

    by_index = {p.index: p for p in result.problems}
    assert by_index[0].fatal and "完全位于县域之外" in by_index[0].reason
    assert not by_index[1].fatal and "约 3.0 米" in by_index[1].reason
    assert by_index[2].fatal and "约 111" in by_index[2].reason


def test_cell_outside_its_village_beyond_tolerance(tiny_county, tmp_path):
    """New cells of village 330225001001 (W-S: 121.00–121.02 E, 29.00–29.02 N):

    29.02 ┌──── W-S ────┐
          │        ┌────┼──┐  005 pokes 100 m into E-S → fatal
          │ ┌──┐   └────┼──┘
          │ └──┘ 006 inside → created
    29.00 └─────────────┘
    """
    rows = [
        {"code": "330225001001005", "geometry": shapely.box(121.015, 29.01, 121.021, 29.015)},
        {"code": "330225001001006", "geometry": shapely.box(121.001, 29.001, 121.002, 29.002)},
    ]
    result = geodata_import_file(path=write_geojson(tmp_path / "c.geojson", rows), layer="cell")

    (problem,) = result.problems
    assert problem.index == 0 and problem.fatal and "所属村 330225001001" in problem.reason
    assert result.created == 1


def test_zone_from_cell_codes_into_a_new_draft_version(tiny_county, tmp_path):
    rows = [{"team": "zh-1", "name": "西南片", "cells": "330225001001001, 330225001001002", "geometry": None}]
    path = write_geojson(tmp_path / "z.geojson", rows)
    result = geodata_import_file(
        path=path, layer="zone", version="2027 草稿", create_version=True, commit=True
    )

    assert result.committed, problems_table(result.problems)
    version = CoverageVersion.objects.get(name="2027 草稿")
    assert version.status == CoverageVersion.Status.DRAFT
    zone = EnforcementZone.objects.get(version=version)
    assert sorted(zone.cells.values_list("code", flat=True)) == ["330225001001001", "330225001001002"]
    assert zone.domain == "comprehensive" and zone.geom.equals(
        shapely_to_geos(shapely.box(121.0, 29.0, 121.02, 29.01))
    )


def test_zone_from_polygon_takes_cells_by_representative_point_and_reports_partial_ones(
    tiny_county, tmp_path
):
    """The polygon covers column 0 and 60% of column 1 in rows 0–1:

    29.02 ┌──────┬───┐──┐
          │ 003  │ 004  │   004 and 002: 60% inside, representative point (x = 121.015)
    29.01 ├──────┼───┤──┤   inside the polygon → taken whole, reported as partial
          │ 001  │ 002  │
    29.00 └──────┴───┘──┘
       121.00  121.01 121.016
    """
    rows = [{"team": "zh-1", "name": "西南片", "geometry": shapely.box(121.0, 29.0, 121.016, 29.02)}]
    path = write_geojson(tmp_path / "z.geojson", rows)
    result = geodata_import_file(path=path, layer="zone", version="2027 草稿", create_version=True)

    assert not result.has_fatal and result.created == 1
    partial = sorted((p.cell_code, round(p.share, 2), p.included) for p in result.partial_cells)
    assert partial == [("330225001001002", 0.6, True), ("330225001001004", 0.6, True)]
    assert not CoverageVersion.objects.filter(name="2027 草稿").exists()  # dry run


def test_zone_import_refuses_a_published_version(tiny_county, tmp_path):
    rows = [{"team": "zh-1", "name": "西南片", "cells": "330225001001001", "geometry": None}]
    path = write_geojson(tmp_path / "z.geojson", rows)
    result = geodata_import_file(path=path, layer="zone", version=str(tiny_county.version.pk))

    assert "草稿" in result.fatal_problems[0].reason


def test_command_dry_run_commit_and_failure(db, capsys):
    call_command("geodata_import", str(DATA / "tiny_regions.geojson"), "--layer", "region")
    assert "试运行" in capsys.readouterr().out
    assert not Region.objects.exists()

    call_command("geodata_import", str(DATA / "tiny_regions.geojson"), "--layer", "region", "--commit")
    assert "已写入" in capsys.readouterr().out
    assert Region.objects.count() == 7

    with pytest.raises(CommandError) as excinfo:
        call_command("geodata_import", str(DATA / "bowtie_village.geojson"), "--layer", "region", "--commit")
    assert excinfo.value.returncode == 1
    out = capsys.readouterr().out
    assert "330225001003" in out and "Self-intersection" in out


def test_command_field_mapping(db, capsys):
    Region.objects.create(
        code="330225", name="象山县", level="county", geom=_multi(shapely.box(121.0, 29.0, 121.04, 29.04))
    )
    call_command(
        "geodata_import",
        str(DATA / "gbk_nocpg_townships.shp"),
        "--layer",
        "region",
        "--encoding",
        "GBK",
        "--map",
        "code=XZQDM",
        "--map",
        "name=XZQMC",
        "--map",
        "level=JB",
        "--commit",
    )
    assert Region.objects.get(code="330225101").name == "石浦镇"


def _multi(polygon):
    return shapely_to_geos(shapely.MultiPolygon([polygon]))


def shapely_to_geos(geom):
    from django.contrib.gis.geos import GEOSGeometry

    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4326)
