"""The database refuses what the model forbids, whatever door a write comes through."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import DataError, IntegrityError, connection, transaction

from geodata.models import CoverageVersion, Domain, GridCell, Matter, Region, Team
from tests.factories import cell_square, square


def refused(callable_) -> bool:
    try:
        with transaction.atomic():
            callable_()
    except (IntegrityError, DataError):
        return True
    return False


def bow_tie() -> MultiPolygon:
    """
    (121.0, 29.01) ●───● (121.01, 29.01)
                    ╲ ╱
                     ╳        the ring crosses itself: not a valid polygon
                    ╱ ╲
    (121.0, 29.0)  ●───● (121.01, 29.0)
    """
    ring = ((121.0, 29.0), (121.01, 29.01), (121.01, 29.0), (121.0, 29.01), (121.0, 29.0))
    return MultiPolygon(Polygon(ring), srid=4326)


def test_invalid_geometry_is_refused(tiny_county):
    village = tiny_county.villages["W-S"]
    assert refused(
        lambda: GridCell.objects.create(
            code="330225001001099", name="坏网格", village=village, township=village.parent, geom=bow_tie()
        )
    )
    assert refused(
        lambda: Region.objects.create(code="330225300", name="坏乡", level="township", geom=bow_tie())
    )


def test_valid_geometry_with_raw_sql_still_checked(tiny_county):
    """Even SQL that bypasses Django meets the constraint."""
    cell = tiny_county.cells[(0, 0)]
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE geodata_gridcell SET geom = ST_GeomFromText(%s, 4326) WHERE id = %s",
            [bow_tie().wkt, cell.id],
        )


@pytest.mark.parametrize(
    "code, level",
    [("33022", "county"), ("3302250011", "town"), ("33022500100", "village"), ("330225001", "village")],
)
def test_region_code_must_match_level(db, code, level):
    assert refused(
        lambda: Region.objects.create(code=code, name="x", level=level, geom=square(121, 29, 121.1, 29.1))
    )


@pytest.mark.parametrize("code", ["33022500100100", "3302250010010012", "33022500100100A"])
def test_cell_code_is_fifteen_digits(tiny_county, code):
    village = tiny_county.villages["W-S"]
    assert refused(
        lambda: GridCell.objects.create(
            code=code, name="x", village=village, township=village.parent, geom=cell_square(0, 0)
        )
    )


def test_cell_validity_range(tiny_county):
    cell = tiny_county.cells[(0, 0)]
    cell.valid_to = cell.valid_from
    assert refused(cell.save)


def test_team_kind_and_domain_agree(db):
    assert refused(
        lambda: Team.objects.create(code="a", name="a", kind="comprehensive", domain=Domain.MARKET)
    )
    assert refused(
        lambda: Team.objects.create(code="b", name="b", kind="professional", domain=Domain.COMPREHENSIVE)
    )
    Team.objects.create(code="c", name="c", kind="professional", domain=Domain.MARKET)


def test_county_matter_names_a_department(db):
    assert refused(
        lambda: Matter.objects.create(
            code="X-1", name="x", domain=Domain.COMPREHENSIVE, kind="penalty", handled_by="county"
        )
    )


def test_published_version_has_an_effective_time(db):
    assert refused(lambda: CoverageVersion.objects.create(name="v", status="published"))


def test_geometry_indexes_are_named_gist(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'geodata_%%'")
        gist = {name for name, definition in cursor.fetchall() if "USING gist" in definition}
    assert {"geodata_region_geom_gist", "geodata_gridcell_geom_gist", "geodata_zone_geom_gist"} <= gist
