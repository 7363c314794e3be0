"""Drop the three indexes of gridops_ping that no query uses (see the Ping model's docstring): the
foreign keys' own single-column indexes (the composite (device_id, fixed_at) unique index and the
(unit_id, fixed_at) index lead with the same columns) and the GiST index on the point.

Only the indexes go: Django's AlterField of db_index would also drop and re-add both foreign key
constraints, and re-adding one validates every stored fix while inserts wait. The names are the
ones 0001 created (Django derives them from the table and column, so every database has these).
"""

import django.contrib.gis.db.models.fields
import django.db.models.deletion
from django.db import migrations, models

_INDEXES = {
    "gridops_ping_device_id_147dcdd9": "(device_id)",
    "gridops_ping_unit_id_39a4fb5c": "(unit_id)",
    "gridops_ping_point_51a67621_id": "USING gist (point)",
}


class Migration(migrations.Migration):
    dependencies = [
        ("gridops", "0005_device_key_rotation"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "gridops_ping" {columns}',
                )
                for name, columns in _INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="ping",
                    name="device",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="gridops.device",
                    ),
                ),
                migrations.AlterField(
                    model_name="ping",
                    name="point",
                    field=django.contrib.gis.db.models.fields.PointField(
                        spatial_index=False, srid=4326, verbose_name="位置"
                    ),
                ),
                migrations.AlterField(
                    model_name="ping",
                    name="unit",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="pings",
                        to="gridops.unit",
                    ),
                ),
            ],
        ),
    ]
