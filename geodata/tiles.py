"""Grid cells as Mapbox vector tiles (MVT), cut by PostGIS.

A province has ~200,000 cells: one GeoJSON of them all is tens of megabytes, and even a bbox query
per map move sends every vertex at full precision. A vector tile carries only the cells of one
256-px tile, with coordinates quantised to its 4096 × 4096 grid (ST_AsMVTGeom) and each repeated
property value stored once per tile, so a map pans over any number of cells with small,
cacheable answers (figures in docs/PERFORMANCE.md, from bench/tiles.py).

    z/x/y ──► ST_TileEnvelope (web mercator) ──► cells valid on the day whose geometry meets it
          ──► ST_AsMVTGeom (clip with a buffer, quantise) ──► ST_AsMVT, layer "cells"

Below settings.GRID_TILE_DETAIL_ZOOM a tile holds the cells' outlines only (see cell_tile); the view
gzips tiles for clients that accept it. The tile is read by the `&&` bounding-box operator on the
cells' GiST index (the envelope is transformed to the cells' SRID once). Cells are stored in WGS-84
(settings.SRID); tiles are in EPSG:3857, as every web map draws them, and PostgreSQL keeps each
cell's web-mercator outline in the generated column `geom_mercator` (migration geodata 0005), so a
tile transforms nothing per cell.
"""

from datetime import date

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from geodata.errors import FieldError

TILE_LAYER = "cells"
TILE_EXTENT = 4096  # the MVT default: 1/16 of a pixel at 256 px
TILE_BUFFER = 64  # pixels of the extent kept beyond the edge, so outlines join across tiles
# Outline tiles (below GRID_TILE_DETAIL_ZOOM) on a coarser grid: 1/4 pixel is finer than a line can
# be drawn, and the smaller deltas compress better — the densest zoom-12 tile of the 100,000-cell
# county: 100 → 79 kB gzipped (150 → 145 kB raw), bench/tiles.py.
OUTLINE_EXTENT = 1024
OUTLINE_BUFFER = 16
TILE_ZOOM_MAX = 22

_CELL_TILE_SQL = """
    WITH bounds AS (
        SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
               ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), %(srid)s) AS native
    )
    -- One level: ST_AsMVT skips rows whose geometry is NULL (a cell found by the bounding box whose
    -- outline falls outside the tile once clipped), so no `geom IS NOT NULL` filter is needed. With
    -- that filter the planner evaluated ST_AsMVTGeom twice per cell (94 ms for the densest zoom-12
    -- tile), and a MATERIALIZED CTE to avoid it cost ~3 ms of its own.
    SELECT ST_AsMVT(cells.*, '{layer}', {extent}, 'geom') FROM (
        SELECT
            ST_AsMVTGeom(c.geom_mercator, bounds.mercator, {extent}, {buffer}, true) AS geom
            {properties}
        FROM geodata_gridcell c
        {joins}
        CROSS JOIN bounds
        WHERE c.geom && bounds.native
          AND c.valid_from <= %(on)s AND (c.valid_to IS NULL OR c.valid_to > %(on)s)
    ) cells
"""
_OUTLINES_SQL = _CELL_TILE_SQL.format(
    extent=OUTLINE_EXTENT, buffer=OUTLINE_BUFFER, layer=TILE_LAYER, properties="", joins=""
)
_DETAILED_SQL = _CELL_TILE_SQL.format(
    extent=TILE_EXTENT,
    buffer=TILE_BUFFER,
    layer=TILE_LAYER,
    properties=""",
            c.code, c.name,
            t.code AS township, t.name AS township_name,
            v.code AS village, v.name AS village_name""",
    joins="""JOIN geodata_region t ON t.id = c.township_id
        JOIN geodata_region v ON v.id = c.village_id""",
)


def tile_coordinates_check(*, z: int, x: int, y: int) -> None:
    """A FieldError naming the coordinate when z/x/y is not a tile of the web-mercator pyramid."""
    if not settings.GRID_TILE_MIN_ZOOM <= z <= TILE_ZOOM_MAX:
        raise FieldError(
            "z",
            _("缩放级别应在 {low}–{high} 之间（更小的级别上网格不足一个像素）").format(
                low=settings.GRID_TILE_MIN_ZOOM, high=TILE_ZOOM_MAX
            ),
        )
    side = 2**z
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < side:
            raise FieldError(name, _("第 {z} 级的瓦片编号应在 0–{last} 之间").format(z=z, last=side - 1))


def cell_tile(*, z: int, x: int, y: int, on: date) -> bytes:
    """The MVT of the cells valid on `on` that meet tile z/x/y (b"" when none do).

    From settings.GRID_TILE_DETAIL_ZOOM up each cell carries its code, name, township and village
    (code and name); below it, outlines only. Why: at zoom 12 a tile of the 100,000-cell bench
    county holds 6,289 cells, and their names and codes were 72% of the tile (520 kB with them,
    146 kB without; bench/tiles.py), while a map that far out draws outlines and asks the cells
    API for the one a user clicks. Raises FieldError for a z/x/y outside the pyramid or below
    settings.GRID_TILE_MIN_ZOOM."""
    tile_coordinates_check(z=z, x=x, y=y)
    # The index search uses the envelope grown by the buffer, so a cell just outside the tile whose
    # outline is drawn in the buffer is found too.
    margin = TILE_BUFFER / TILE_EXTENT
    with connection.cursor() as cursor:
        cursor.execute(
            _DETAILED_SQL if z >= settings.GRID_TILE_DETAIL_ZOOM else _OUTLINES_SQL,
            {"z": z, "x": x, "y": y, "margin": margin, "srid": settings.SRID, "on": on},
        )
        (data,) = cursor.fetchone()
    return bytes(data or b"")
