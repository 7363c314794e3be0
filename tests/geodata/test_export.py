"""Export (geodata/exporting.py, geodata_export) and the round trip back through the importer."""

import pytest
from django.core.management import CommandError, call_command

from geodata.exporting import geodata_export_file
from geodata.importing import geodata_import_file, problems_table
from geodata.models import CoverageVersion, EnforcementZone, Region

FORMATS = ("geojson", "gpkg", "shp")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", ["region", "cell"])
def test_round_trip_regions_and_cells(tiny_county, tmp_path, fmt, layer):
    exported = geodata_export_file(path=tmp_path / f"out.{fmt}", layer=layer)

    result = geodata_import_file(path=exported.path, layer=layer, update=True)

    assert result.problems == [], problems_table(result.problems)
    assert result.feature_count == exported.count == (7 if layer == "region" else 16)
    assert result.skipped == exported.count  # identical to what is stored


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_zones_into_a_new_draft(tiny_county, tmp_path, fmt):
    exported = geodata_export_file(
        path=tmp_path / f"zones.{fmt}", layer="zone", version=tiny_county.version.pk
    )

    result = geodata_import_file(
        path=exported.path, layer="zone", version="草稿", create_version=True, commit=True
    )

    assert result.problems == [], problems_table(result.problems)
    assert result.feature_count == exported.count == 3 and result.created == 3
    draft = CoverageVersion.objects.get(name="草稿")
    for old in tiny_county.zones.values():
        new = EnforcementZone.objects.get(version=draft, team=old.team)
        assert set(new.cells.values_list("code", flat=True)) == set(old.cells.values_list("code", flat=True))
    if fmt == "shp":  # the 16-cell market zone's list is longer than a DBF text field
        assert exported.warnings


def test_shapefile_with_gbk_encoding_writes_cpg_and_reads_back_in_chinese(tiny_county, tmp_path):
    path = tmp_path / "townships.shp"
    geodata_export_file(path=path, layer="region", levels=["subdistrict", "town"], encoding="GBK")

    assert path.with_suffix(".cpg").read_text().strip().upper() == "GBK"
    assert "丹东街道".encode("gbk") in path.with_suffix(".dbf").read_bytes()
    result = geodata_import_file(path=path, layer="region", update=True, commit=True)
    assert result.skipped == 2
    assert Region.objects.get(code="330225001").name == "丹东街道"


def test_command_exports_by_extension_or_format(tiny_county, tmp_path, capsys):
    call_command("geodata_export", str(tmp_path / "villages.gpkg"), "--layer", "region", "--level", "village")
    assert "已导出 4 个要素" in capsys.readouterr().out

    call_command("geodata_export", str(tmp_path / "cells.data"), "--layer", "cell", "--format", "geojson")
    assert (tmp_path / "cells.data").exists()

    with pytest.raises(CommandError):
        call_command("geodata_export", str(tmp_path / "zones.geojson"), "--layer", "zone")
