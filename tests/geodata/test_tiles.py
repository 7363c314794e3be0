"""Grid cells as vector tiles: GET /api/v1/tiles/cells/{z}/{x}/{y}.pbf (geodata/tiles.py).

The tiny county (tests/factories.py) against the web-mercator tiles of zoom 12 and 16:

    lon 121.00       121.0254 (x = 3425 at z12 starts here)      121.04
         ┌──────┬──────┬───┆──┬──────┐
         │ 0    │ 1    │ 2 ┆  │ 3    │   columns x = 0..3 of cells of 0.01°
         └──────┴──────┴───┆──┴──────┘
         └── tile 3424 ────┘└── tile 3425 ──
    Column 2 straddles the tile edge: its cells are in both tiles, clipped; columns 0–1 only in
    3424 (plus the buffer: a cell whose outline is within 64/4096 of a tile's width of its edge is
    drawn in the buffer), column 3 only in 3425.
"""

import gzip
import math
from datetime import timedelta

import pytest
from django.utils import timezone

from geodata.tiles import OUTLINE_EXTENT, TILE_BUFFER, TILE_EXTENT, cell_tile
from tests.factories import cell_square
from tests.geodata.mvt import decode


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (
        int((lon + 180) / 360 * n),
        int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n),
    )


def codes(tile: bytes) -> set[str]:
    layers = decode(tile)
    return {f.properties["code"] for f in layers["cells"].features} if layers else set()


def url(z: int, x: int, y: int) -> str:
    return f"/api/v1/tiles/cells/{z}/{x}/{y}.pbf"


@pytest.fixture
def county(tiny_county):
    return tiny_county


def test_a_tile_holds_the_cells_it_meets(county, client):
    x, y = tile_of(121.005, 29.005, 12)
    assert (x, y) == (3424, tile_of(121.035, 29.035, 12)[1])  # the county lies in one tile row
    response = client.get(url(12, x, y))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert "max-age=" in response["Cache-Control"]
    layer = decode(response.content)["cells"]
    assert layer.extent == OUTLINE_EXTENT and layer.version == 2  # outlines: the coarser grid
    assert len(layer.features) == 12  # columns 0, 1 and the straddling 2; not 3
    assert all(f.type == 3 and len(f.rings) == 1 for f in layer.features)
    # Below the detail zoom: outlines only.
    assert all(f.properties == {} for f in layer.features)


def test_from_the_detail_zoom_each_cell_has_its_names(county, client, settings):
    assert settings.GRID_TILE_DETAIL_ZOOM == 13
    x, y = tile_of(121.005, 29.005, 13)
    layer = decode(client.get(url(13, x, y)).content)["cells"]
    assert layer.extent == TILE_EXTENT
    by_code = {f.properties["code"]: f for f in layer.features}
    west = {county.cells[(cx, cy)].code for cx in range(2) for cy in range(4)}
    assert west <= set(by_code)
    assert by_code[county.cells[(0, 0)].code].properties == {
        "code": county.cells[(0, 0)].code,
        "name": county.cells[(0, 0)].name,
        "township": "330225001",
        "township_name": "丹东街道",
        "village": "330225001001",
        "village_name": "丹东街道S村",
    }
    settings.GRID_TILE_DETAIL_ZOOM = 12
    x, y = tile_of(121.005, 29.005, 12)
    assert codes(client.get(url(12, x, y)).content) == {
        county.cells[(cx, cy)].code for cx in range(3) for cy in range(4)
    }


def test_gzip_when_the_client_accepts_it(county, client):
    x, y = tile_of(121.005, 29.005, 13)
    plain = client.get(url(13, x, y))
    packed = client.get(url(13, x, y), headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content)


def test_a_cell_across_the_tile_edge_is_in_both_tiles_clipped_to_the_buffer(county, client, settings):
    settings.GRID_TILE_DETAIL_ZOOM = 12
    x, y = tile_of(121.005, 29.005, 12)
    left = decode(client.get(url(12, x, y)).content)["cells"]
    right = decode(client.get(url(12, x + 1, y)).content)["cells"]
    straddling = county.cells[(2, 0)].code
    assert straddling in {f.properties["code"] for f in left.features}
    assert straddling in {f.properties["code"] for f in right.features}
    assert {f.properties["code"] for f in right.features} == {
        county.cells[(cx, cy)].code for cx in (2, 3) for cy in range(4)
    }
    for layer in (left, right):
        for feature in layer.features:
            for ring in feature.rings:
                for px, py in ring:
                    assert -TILE_BUFFER <= px <= TILE_EXTENT + TILE_BUFFER
                    assert -TILE_BUFFER <= py <= TILE_EXTENT + TILE_BUFFER


def test_corners_and_the_outside(county, client):
    """At zoom 16 a tile (~0.0055°) is smaller than a cell: the tile holding the county's
    south-west corner meets one cell; a tile far outside the grid is empty (200, no bytes)."""
    x, y = tile_of(121.0001, 29.0001, 16)
    assert codes(client.get(url(16, x, y)).content) == {county.cells[(0, 0)].code}
    x, y = tile_of(121.5, 29.5, 16)
    empty = client.get(url(16, x, y))
    assert empty.status_code == 200 and empty.content == b""


def test_only_cells_valid_today(county, client, settings):
    settings.GRID_TILE_DETAIL_ZOOM = 12
    today = timezone.localdate()
    expired = county.cells[(1, 1)]
    expired.valid_from, expired.valid_to = today - timedelta(days=30), today
    expired.save()
    future = county.cells[(0, 1)]
    future.valid_from = today + timedelta(days=1)
    future.save()
    x, y = tile_of(121.005, 29.005, 12)
    got = codes(client.get(url(12, x, y)).content)
    assert expired.code not in got and future.code not in got
    assert county.cells[(0, 0)].code in got


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (url(5, 0, 0), "z"),  # below GRID_TILE_MIN_ZOOM: cells would be sub-pixel
        (url(23, 0, 0), "z"),
        (url(12, 4096, 0), "x"),
        (url(12, 0, 4096), "y"),
    ],
)
def test_tiles_outside_the_pyramid_are_400_naming_the_coordinate(county, client, path, field):
    response = client.get(path)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_the_min_zoom_comes_from_settings(county, client, settings):
    settings.GRID_TILE_MIN_ZOOM = 12
    x, y = tile_of(121.005, 29.005, 11)
    assert client.get(url(11, x, y)).status_code == 400
    settings.GRID_TILE_MIN_ZOOM = 11
    assert client.get(url(11, x, y)).status_code == 200


def test_the_selector_and_the_view_agree(county, client):
    x, y = tile_of(121.005, 29.005, 14)
    assert client.get(url(14, x, y)).content == cell_tile(z=14, x=x, y=y, on=timezone.localdate())


def test_the_tile_geometry_is_the_cell_in_tile_pixels(county, client):
    """Cell (0, 0) at zoom 16 in the tile holding its south-west corner: its west and south edges
    are at the pixels computed here from the web-mercator formulas (±1 for quantisation)."""
    z = 16
    x, y = tile_of(121.0001, 29.0001, z)
    feature = decode(client.get(url(z, x, y)).content)["cells"].features[0]
    n = 2**z

    def pixel(lon, lat):
        fx = (lon + 180) / 360 * n - x
        fy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n - y
        return fx * TILE_EXTENT, fy * TILE_EXTENT

    west, south = pixel(121.0, 29.0)
    xs = [px for ring in feature.rings for px, _ in ring]
    ys = [py for ring in feature.rings for _, py in ring]
    assert abs(min(xs) - round(west)) <= 1
    assert abs(max(ys) - round(south)) <= 1
    assert cell_square(0, 0).extent[:2] == (121.0, 29.0)


def test_a_redrawn_cell_is_drawn_where_it_now_lies(county, client):
    """Tiles read the web-mercator outline PostgreSQL keeps beside each cell (geom_mercator, a
    generated column): it follows every write of `geom`, by the ORM or by SQL."""
    from django.db import connection

    from geodata.models import GridCell

    def mismatched() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM geodata_gridcell WHERE ST_SRID(geom_mercator) <> 3857"
                " OR NOT ST_Equals(geom_mercator, ST_Transform(geom, 3857))"
            )
            return cursor.fetchone()[0]

    assert mismatched() == 0
    cell = GridCell.objects.get(code=county.cells[(0, 0)].code)
    z = 16
    x, y = tile_of(121.0001, 29.0001, z)
    assert cell.code in codes(client.get(url(z, x, y)).content)
    cell.geom = county.cells[(3, 3)].geom  # redrawn far away (north-east corner of the county)
    cell.save()
    assert mismatched() == 0
    assert cell.code not in codes(client.get(url(z, x, y)).content)
    x2, y2 = tile_of(121.035, 29.035, z)
    assert cell.code in codes(client.get(url(z, x2, y2)).content)
