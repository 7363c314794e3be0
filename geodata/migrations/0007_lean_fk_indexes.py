"""A zone's cells lose the zone's own index: the unique (zone, cell) constraint leads with it.

Only the indexes go, CONCURRENTLY (so outside a transaction): Django's AlterField of db_index
would also drop and re-add the foreign key constraints, and re-adding one validates every row while
writes wait. The names are the ones Django created (derived from table and column, the same on every
database). Guarded by tests/test_indexes.py.
"""

import django.db.models.deletion
from django.db import migrations, models

_DROPPED = [
    ("geodata_zonecell_zone_id_a5b9984a", "geodata_zonecell", "(zone_id)"),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("geodata", "0006_spatial_index_once"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX CONCURRENTLY IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index}" ON "{table}" {columns}',
                )
                for index, table, columns in _DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="zonecell",
                    name="zone",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="zone_cells",
                        to="geodata.enforcementzone",
                    ),
                ),
            ],
        ),
    ]
