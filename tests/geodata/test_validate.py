"""Coverage validation (geodata/coverage.py, geodata_validate) on the tiny county of tests/factories.py:

┌──────┬──────┬──────┬──────┐
│ W-N  │ W-N  │ E-N  │ E-N  │   comprehensive: 一中队 covers W, 二中队 covers E
├──────┼──────┼──────┼──────┤   市场监管 covers everything; 渔业 has no zone (so no gaps)
│ W-N  │ W-N  │ E-N  │ E-N  │
├──────┼──────┼──────┼──────┤
│ W-S  │ W-S  │ E-S  │ E-S  │
├──────┼──────┼──────┼──────┤
│ W-S  │ W-S  │ E-S  │ E-S  │
└──────┴──────┴──────┴──────┘
"""

import json

import pytest
from django.core.management import CommandError, call_command

from geodata.coverage import (
    CELL_OUTSIDE_VILLAGE,
    GAP,
    NO_VERSION,
    OVERLAP,
    TOWNSHIP_MISMATCH,
    ZONE_GEOM_MISMATCH,
    coverage_validate,
)
from geodata.models import CoverageVersion, ZoneCell
from tests.factories import square


def kinds(report) -> dict[str, set[str | None]]:
    out: dict[str, set[str | None]] = {}
    for p in report.problems:
        out.setdefault(p.kind, set()).add(p.cell_code)
    return out


def test_clean_coverage_reports_nothing_in_a_fixed_number_of_queries(
    tiny_county, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        report = coverage_validate()

    assert report.version == tiny_county.version
    assert report.cell_count == 16
    assert report.problems == []


def test_cell_removed_from_its_zone_is_a_gap(tiny_county):
    """Cell (0,0) leaves 一中队's zone: no comprehensive zone holds it any more.

    ┌──┬──┐
    │W │W │
    ├──┼──┤
    │░░│W │  ░ = gap (市场监管 still covers it, so only the comprehensive domain has the gap)
    └──┴──┘
    """
    cell = tiny_county.cells[(0, 0)]
    ZoneCell.objects.filter(zone=tiny_county.zones["W"], cell=cell).delete()

    report = coverage_validate()

    gaps = report.of_kind(GAP)
    assert [(p.cell_code, p.domain) for p in gaps] == [(cell.code, "comprehensive")]
    # The zone's stored polygon still includes the cell: larger than its cells now.
    assert kinds(report)[ZONE_GEOM_MISMATCH] == {None}


def test_cell_in_two_comprehensive_zones_is_an_overlap(tiny_county):
    """Cell (2,0) of 二中队 is added to 一中队 as well:

    ┌──┬──┬──┬──┐
    │W │W │E │E │
    └──┴──┴▓▓┴──┘   ▓ = in W and E
    """
    cell = tiny_county.cells[(2, 0)]
    ZoneCell.objects.create(zone=tiny_county.zones["W"], cell=cell)

    report = coverage_validate()

    (overlap,) = report.of_kind(OVERLAP)
    assert (overlap.cell_code, overlap.domain) == (cell.code, "comprehensive")
    assert set(overlap.zones) == {tiny_county.zones["W"].name, tiny_county.zones["E"].name}
    # 一中队's polygon does not cover the cell it now claims.
    assert kinds(report)[ZONE_GEOM_MISMATCH] == {cell.code}


def test_cell_moved_outside_its_village_and_wrong_township(tiny_county):
    """Cell (1,1) of village W-S is shifted half a cell east, into 石浦镇's village E-S:

        29.02 ┌──────┬──────┐┄┄┄┐
              │      │ W-S  ┆(1,1) now 121.015–121.025
        29.01 ├──────┼──────┼┄┄┄┘
        121.00   121.01  121.02 (village border)
    And cell (3,3) says its township is 丹东街道, while its village E-N belongs to 石浦镇.
    """
    moved = tiny_county.cells[(1, 1)]
    moved.geom = square(121.015, 29.01, 121.025, 29.02)
    moved.save()
    wrong = tiny_county.cells[(3, 3)]
    wrong.township = tiny_county.townships["W"]
    wrong.save()

    report = coverage_validate()

    found = kinds(report)
    assert found[CELL_OUTSIDE_VILLAGE] == {moved.code}
    assert found[TOWNSHIP_MISMATCH] == {wrong.code}
    assert moved.code in found[ZONE_GEOM_MISMATCH]


def test_no_published_version_in_force(tiny_county):
    CoverageVersion.objects.update(status=CoverageVersion.Status.DRAFT)

    report = coverage_validate()

    assert [p.kind for p in report.problems] == [NO_VERSION]


def test_command_text_geojson_and_exit_code(tiny_county, tmp_path, capsys):
    call_command("geodata_validate", "--fail-on-problems")
    assert "未发现问题" in capsys.readouterr().out

    cell = tiny_county.cells[(0, 0)]
    ZoneCell.objects.filter(zone=tiny_county.zones["W"], cell=cell).delete()
    out_file = tmp_path / "problems.geojson"
    call_command("geodata_validate", "--geojson", str(out_file))  # reports, exits 0 without the flag
    text = capsys.readouterr().out
    assert cell.code in text and "空白" in text

    collection = json.loads(out_file.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    gap = next(f for f in collection["features"] if f["properties"]["problem"] == GAP)
    assert gap["properties"]["cell"] == cell.code and gap["properties"]["zones"] == []
    assert gap["geometry"]["type"] == "MultiPolygon"

    with pytest.raises(CommandError) as excinfo:
        call_command("geodata_validate", "--coverage-version", tiny_county.version.name, "--fail-on-problems")
    assert excinfo.value.returncode == 1
