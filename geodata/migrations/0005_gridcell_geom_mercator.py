"""Grid cells in web mercator, kept by PostgreSQL beside the WGS-84 outline, for vector tiles.

geodata/tiles.py transformed every cell of a tile to EPSG:3857 on each request: ~10 of the ~50 ms
of the densest zoom-12 tile of the 100,000-cell county (6,674 cells; bench/tiles.py). A stored
generated column is computed once when a cell is written (ST_Transform is IMMUTABLE) and can never
disagree with `geom`. It is not a model field: only the tile SQL reads it, so the ORM never fetches
a second geometry per cell, and inserts and updates need not name it. The tile's index search stays
on `geom`'s GiST index, so no second index is kept.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE geodata_gridcell
    ADD COLUMN geom_mercator geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED
"""
BACKWARD = "ALTER TABLE geodata_gridcell DROP COLUMN geom_mercator"


class Migration(migrations.Migration):
    dependencies = [("geodata", "0004_user_scope")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
