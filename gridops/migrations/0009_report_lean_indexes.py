"""Fewer indexes on gridops_report: each one is written by every new report and, since a case's
step changes its indexed status (no HOT update), by every step of every case.

- Dropped, another index leading with the same column answering the same look-ups: the team's
  (team_id, status), the township's (township_id, received_at), the camera's
  (camera_id, alert_type, received_at) WHERE camera_id IS NOT NULL.
- Dropped: the two LIKE-only copies (varchar_pattern_ops) Django adds beside a text column's index;
  no query matches status or the idempotency key with LIKE.
- Partial: device, assigned unit, handler and escalated-from are empty on most rows; only the rows
  that have one are indexed (what a look-up or a deleted unit, user, team or device needs).
- Renamed, not rebuilt: Django's own status index and idempotency key constraint, to the names
  the model now gives them.

Built and dropped CONCURRENTLY (so this migration runs outside a transaction): a county's report
table keeps taking reports meanwhile. The old names are the ones 0001 created (Django derives them
from the table and column, so every database has these). Measured (docs/PERFORMANCE.md, twelfth
session): a phone's new report (no device, camera, unit, handler or deadline yet) writes 12 index
entries instead of 21.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_PARTIAL = ("device", "assigned_unit", "handler", "escalated_from")
_DROPPED = {
    "gridops_report_team_id_d2c38855": "(team_id)",
    "gridops_report_township_id_25ed8436": "(township_id)",
    "gridops_report_camera_id_fb969eb8": "(camera_id)",
    "gridops_report_status_623b0376_like": "(status varchar_pattern_ops)",
    "gridops_report_idempotency_key_659fa3cf_like": "(idempotency_key varchar_pattern_ops)",
    "gridops_report_device_id_8cfa31a6": "(device_id)",
    "gridops_report_assigned_unit_id_216c6896": "(assigned_unit_id)",
    "gridops_report_handler_id_f22bd5c3": "(handler_id)",
    "gridops_report_escalated_from_id_b5d9d8fe": "(escalated_from_id)",
}
_DATABASE = [
    *(
        migrations.RunSQL(
            # Dropped first: a concurrent build that failed (a run of this migration stopped
            # half-way) leaves an INVALID index of the name, which IF NOT EXISTS would keep.
            sql=[
                f'DROP INDEX CONCURRENTLY IF EXISTS "gridops_report_{name}"',
                f'CREATE INDEX CONCURRENTLY "gridops_report_{name}" '
                f'ON "gridops_report" ("{name}_id") WHERE "{name}_id" IS NOT NULL',
            ],
            reverse_sql=f'DROP INDEX CONCURRENTLY IF EXISTS "gridops_report_{name}"',
        )
        for name in _PARTIAL
    ),
    *(
        migrations.RunSQL(
            sql=f'DROP INDEX CONCURRENTLY IF EXISTS "{index}"',
            reverse_sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index}" ON "gridops_report" {columns}',
        )
        for index, columns in _DROPPED.items()
    ),
    migrations.RunSQL(
        sql='ALTER INDEX IF EXISTS "gridops_report_status_623b0376" RENAME TO "gridops_report_status"',
        reverse_sql='ALTER INDEX IF EXISTS "gridops_report_status" '
        'RENAME TO "gridops_report_status_623b0376"',
    ),
    migrations.RunSQL(
        sql='ALTER TABLE "gridops_report" RENAME CONSTRAINT "gridops_report_idempotency_key_key" '
        'TO "gridops_report_idempotency_key"',
        reverse_sql='ALTER TABLE "gridops_report" RENAME CONSTRAINT "gridops_report_idempotency_key" '
        'TO "gridops_report_idempotency_key_key"',
    ),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("geodata", "0006_spatial_index_once"),
        ("gridops", "0008_unit_position_not_indexed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=_DATABASE,
            state_operations=[
                migrations.AlterField(
                    model_name="report",
                    name="assigned_unit",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="cases",
                        to="gridops.unit",
                        verbose_name="派遣单元",
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="camera",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="reports",
                        to="gridops.camera",
                        verbose_name="摄像头",
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="device",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="reports",
                        to="gridops.device",
                        verbose_name="设备",
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="escalated_from",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="geodata.team",
                        verbose_name="提请队伍",
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="handler",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="handled_cases",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="承办人",
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="idempotency_key",
                    field=models.CharField(blank=True, max_length=100, null=True, verbose_name="幂等键"),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("new", "待受理"),
                            ("triage", "待分拣"),
                            ("registered", "已立案"),
                            ("not_registered", "不予立案"),
                            ("dispatched", "已派遣"),
                            ("accepted", "已签收"),
                            ("handling", "处置中"),
                            ("handled", "待核查"),
                            ("verified", "核查通过"),
                            ("closed", "已结案"),
                            ("escalated", "待县级报到"),
                            ("referred", "已移送"),
                            ("suspended", "挂账"),
                        ],
                        default="new",
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="reports",
                        to="geodata.team",
                        verbose_name="责任队伍",
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="township",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="geodata.region",
                        verbose_name="乡镇（街道）",
                    ),
                ),
                migrations.AddIndex(
                    model_name="report",
                    index=models.Index(fields=["status"], name="gridops_report_status"),
                ),
                migrations.AddIndex(
                    model_name="report",
                    index=models.Index(
                        condition=models.Q(("device__isnull", False)),
                        fields=["device"],
                        name="gridops_report_device",
                    ),
                ),
                migrations.AddIndex(
                    model_name="report",
                    index=models.Index(
                        condition=models.Q(("assigned_unit__isnull", False)),
                        fields=["assigned_unit"],
                        name="gridops_report_assigned_unit",
                    ),
                ),
                migrations.AddIndex(
                    model_name="report",
                    index=models.Index(
                        condition=models.Q(("handler__isnull", False)),
                        fields=["handler"],
                        name="gridops_report_handler",
                    ),
                ),
                migrations.AddIndex(
                    model_name="report",
                    index=models.Index(
                        condition=models.Q(("escalated_from__isnull", False)),
                        fields=["escalated_from"],
                        name="gridops_report_escalated_from",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="report",
                    constraint=models.UniqueConstraint(
                        fields=("idempotency_key",), name="gridops_report_idempotency_key"
                    ),
                ),
            ],
        ),
    ]
