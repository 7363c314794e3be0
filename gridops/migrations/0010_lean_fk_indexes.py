"""The case record's foreign keys lose their own indexes: the unique (report, seq) constraint and the
(actor, at) index lead with the same columns. Every step of every case writes a case event, so two
index entries fewer per step.

Only the indexes go, CONCURRENTLY (so outside a transaction): Django's AlterField of db_index
would also drop and re-add the foreign key constraints, and re-adding one validates every row while
writes wait. The names are the ones Django created (derived from table and column, the same on every
database). Guarded by tests/test_indexes.py.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_DROPPED = [
    ("gridops_caseevent_actor_id_99093e9b", "gridops_caseevent", "(actor_id)"),
    ("gridops_caseevent_report_id_06ce3666", "gridops_caseevent", "(report_id)"),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("gridops", "0009_report_lean_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
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
                    model_name="caseevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="操作人",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="report",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="case_events",
                        to="gridops.report",
                    ),
                ),
            ],
        ),
    ]
