"""The demo county: real outline and names, exact tiling, teams and routing on it.

Loaded once for the module (600 cells keeps it quick) and wiped afterwards.
"""

import pytest
import shapely
from django.contrib.auth import get_user_model
from django.db import connection

from geodata.demo.county import COUNTY_CODE, build_demo_county, county_outline, division_names
from geodata.demo.load import COMPREHENSIVE_TEAMS, DEMO_USERS, geodata_demo_load, geodata_demo_wipe
from geodata.models import CoverageVersion, EnforcementZone, GridCell, Matter, Region, Team
from geodata.routing import route, routing_index_reset

CELLS = 600

REAL_TOWNSHIPS = (
    "丹东街道 丹西街道 爵溪街道 石浦镇 西周镇 鹤浦镇 贤庠镇 墙头镇 泗洲头镇 定塘镇 涂茨镇 大徐镇 新桥镇 "
    "东陈乡 晓塘乡 黄避岙乡 茅洋乡 高塘岛乡"
).split()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        summary = geodata_demo_load(cells=CELLS, force=True)
        routing_index_reset()
        yield summary
        geodata_demo_wipe()
        get_user_model().objects.all().delete()
        routing_index_reset()


def test_generation_is_deterministic():
    a = build_demo_county(cells=800, seed=5)
    b = build_demo_county(cells=800, seed=5)
    assert [c.code for c in a.cells] == [c.code for c in b.cells]
    assert all(x.geom.equals_exact(y.geom, 0) for x, y in zip(a.cells[:50], b.cells[:50], strict=True))


def test_township_names_and_codes_come_from_the_division_list():
    townships, villages = division_names()
    assert townships["330225001"] == "丹东街道"
    assert sorted(townships.values()) == sorted(REAL_TOWNSHIPS)
    assert sum(len(v) for v in villages.values()) > 300


@pytest.mark.django_db
def test_demo_regions(demo):
    county = Region.objects.get(code=COUNTY_CODE)
    assert county.name == "象山县"
    township_level = Region.objects.filter(parent=county)
    assert township_level.count() == 20
    assert sorted(
        township_level.filter(level__in=["subdistrict", "town", "township"]).values_list("name", flat=True)
    ) == sorted(REAL_TOWNSHIPS)
    assert township_level.filter(level="farm").count() == 1
    assert township_level.filter(level="park").count() == 1
    assert GridCell.objects.count() == CELLS
    assert Region.objects.filter(level__in=["village", "community"]).count() > 400


@pytest.mark.django_db
def test_demo_townships_tile_the_real_outline(demo):
    """No gaps, no overlaps, in PostGIS: the union of the 20 township-level areas equals the outline
    and the sum of their areas equals the outline's area."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT ST_Area(ST_SymDifference(ST_Union(t.geom), c.geom)),
                   SUM(ST_Area(t.geom)) - ST_Area(c.geom), ST_Area(c.geom)
            FROM geodata_region t JOIN geodata_region c ON c.id = t.parent_id
            WHERE c.code = %s GROUP BY c.geom
            """,
            [COUNTY_CODE],
        )
        sym_diff, area_excess, area = cursor.fetchone()
    assert sym_diff < area * 1e-9
    assert abs(area_excess) < area * 1e-9
    assert shapely.equals_exact(
        county_outline(), shapely.from_wkb(bytes(Region.objects.get(code=COUNTY_CODE).geom.wkb)), 0
    )


@pytest.mark.django_db
def test_every_cell_lies_in_exactly_one_village(demo):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*) FROM geodata_gridcell g JOIN geodata_region v ON v.id = g.village_id
            WHERE NOT ST_Covers(v.geom, g.geom) OR g.township_id <> v.parent_id
            """
        )
        assert cursor.fetchone()[0] == 0
        # interiors of cells never overlap: pairs whose intersection has area
        cursor.execute(
            """
            SELECT COUNT(*) FROM geodata_gridcell a JOIN geodata_gridcell b
              ON a.id < b.id AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')
            """
        )
        assert cursor.fetchone()[0] == 0
    for code in GridCell.objects.values_list("code", flat=True)[:50]:
        assert len(code) == 15 and code.isdigit()


@pytest.mark.django_db
def test_demo_teams_zones_and_catalogue(demo):
    version = CoverageVersion.objects.get(status=CoverageVersion.Status.PUBLISHED)
    comprehensive = Team.objects.filter(kind=Team.Kind.COMPREHENSIVE)
    assert comprehensive.count() == len(COMPREHENSIVE_TEAMS)
    cross = [t for t in COMPREHENSIVE_TEAMS if len(t[2]) > 1]
    assert len(cross) >= 5  # several teams cover more than one township
    assert set(Team.objects.filter(kind=Team.Kind.PROFESSIONAL).values_list("domain", flat=True)) >= {
        "market",
        "ecology",
        "transport",
        "culture",
        "agriculture",
        "emergency",
        "resources",
        "health",
        "fishery",
    }
    # the comprehensive coverage is complete and without overlap
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT z.domain, COUNT(*) FILTER (WHERE n <> 1) FROM (
              SELECT z.domain, zc.cell_id, COUNT(*) n FROM geodata_zonecell zc
              JOIN geodata_enforcementzone z ON z.id = zc.zone_id WHERE z.version_id = %s
              GROUP BY z.domain, zc.cell_id) x JOIN geodata_enforcementzone z ON z.domain = x.domain
            GROUP BY z.domain
            """,
            [version.id],
        )
        assert all(bad == 0 for _domain, bad in cursor.fetchall())
    assert EnforcementZone.objects.filter(version=version, domain="comprehensive").count() == 8
    matters = Matter.objects.all()
    assert matters.count() >= 60
    assert set(matters.values_list("kind", flat=True)) == {"penalty", "inspection", "coercion", "other"}
    assert set(matters.values_list("handled_by", flat=True)) == {"township", "county"}


@pytest.mark.django_db
def test_demo_users_one_per_role(demo):
    User = get_user_model()
    for username, role, _display in DEMO_USERS:
        user = User.objects.get(username=username)
        assert user.groups.filter(name=role).exists()
    assert User.objects.get(username="gridworker").grid_cells.count() == 5
    assert User.objects.get(username="officer").officer.team.code == "zh-chengqu"


@pytest.mark.django_db
def test_routing_on_the_demo_county(demo):
    """A point in the farm goes to 定塘中队 (which covers 定塘镇 and the farm); a point in the
    industrial park to 城区中队; the sea is outside; a county market matter in the south goes to
    石浦市场监管所."""
    farm = Region.objects.get(level="farm")
    p = farm.township_cells.first().geom.point_on_surface
    result = route(p.x, p.y)
    assert result.township["code"] == farm.code
    assert result.team["code"] == "zh-dingtang"

    park = Region.objects.get(level="park")
    p = park.township_cells.first().geom.point_on_surface
    assert route(p.x, p.y).team["code"] == "zh-chengqu"

    assert not route(122.3, 29.3).routed  # East China Sea

    market_matter = Matter.objects.filter(handled_by="county", domain="market").first()
    shipu = Region.objects.get(code="330225101").township_cells.first().geom.point_on_surface
    assert route(shipu.x, shipu.y, matter=market_matter.code).team["code"] == "sc-shipu"
    dandong = Region.objects.get(code="330225001").township_cells.first().geom.point_on_surface
    assert route(dandong.x, dandong.y, matter=market_matter.code).team["code"] == "sc-dancheng"


@pytest.mark.django_db
def test_reload_is_skipped_when_already_loaded(demo):
    again = geodata_demo_load(cells=CELLS)
    assert again.skipped


@pytest.mark.django_db
def test_in_memory_routing_agrees_with_postgis(demo):
    """The engine and PostGIS give the same cell for random points and for cell vertices (points
    shared by two to four cells), with the same tie-break: the lowest code among covering cells."""
    import numpy as np

    from geodata.routing import route_many

    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = county_outline().bounds
    lons = list(rng.uniform(minx, maxx, 1500))
    lats = list(rng.uniform(miny, maxy, 1500))
    for cell in GridCell.objects.order_by("code")[:60]:
        for lon, lat in cell.geom[0].exterior_ring.coords[:-1]:
            lons.append(lon)
            lats.append(lat)
    cell_ids, _teams = route_many(lons, lats)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.i, (SELECT g.id FROM geodata_gridcell g
                         WHERE ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
                         ORDER BY g.code LIMIT 1)
            FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(lon, lat, i) ORDER BY p.i
            """,
            [lons, lats],
        )
        expected = [row[1] or 0 for row in cursor.fetchall()]
    assert list(cell_ids) == expected
    assert sum(1 for e in expected if e) > 500
