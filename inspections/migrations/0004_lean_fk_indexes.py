"""Three foreign keys lose their own indexes: a unique constraint leads with each (conflict:
(officer, target); draw result: (draw, position) and (draw, target); visit target: (visit, target)).

Only the indexes go, CONCURRENTLY (so outside a transaction): Django's AlterField of db_index
would also drop and re-add the foreign key constraints, and re-adding one validates every row while
writes wait. The names are the ones Django created (derived from table and column, the same on every
database). Guarded by tests/test_indexes.py.
"""

import django.db.models.deletion
from django.db import migrations, models

_DROPPED = [
    ("inspections_conflict_officer_id_c56a0697", "inspections_conflict", "(officer_id)"),
    ("inspections_drawresult_draw_id_27937dd5", "inspections_drawresult", "(draw_id)"),
    ("inspections_visittarget_visit_id_cf9f5f02", "inspections_visittarget", "(visit_id)"),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("geodata", "0007_lean_fk_indexes"),
        ("inspections", "0003_spatial_index_once"),
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
                    model_name="conflict",
                    name="officer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="conflicts",
                        to="geodata.officer",
                        verbose_name="执法人员",
                    ),
                ),
                migrations.AlterField(
                    model_name="drawresult",
                    name="draw",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="results",
                        to="inspections.draw",
                        verbose_name="抽查",
                    ),
                ),
                migrations.AlterField(
                    model_name="visittarget",
                    name="visit",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="visit_targets",
                        to="inspections.jointvisit",
                    ),
                ),
            ],
        ),
    ]
