"""Ping retention: fixes older than GRIDOPS_PING_RETENTION_DAYS are deleted (none by default).

A province's trackers write ~130 M fixes a day (docs/CAPACITY.md); without a limit the fix table
only grows. Only the track replay reads old fixes (gridops/selectors/replay.py), so a track older
than the retention is gone from the replay; unit positions, reports, cases, alerts and indicators
do not read the fix table.

Deleted per unit and in batches through the (unit, fixed_at) index, each batch a statement of its
own (committed on its own outside a transaction): no statement holds its locks and snapshot for
the whole backlog (one `DELETE … WHERE fixed_at < cutoff` did: 319 ms for 950,000 fixes here, a
province's day of fixes being ~140 times that), none scans the whole table. Autovacuum then hands
the space to new fixes. A batch names its rows by `ctid` (a TID scan): written as
`id IN (SELECT id …)`, PostgreSQL hashed the 5,000 ids and scanned the whole table for each batch
(79 ms a batch on ~1 M fixes against 1.7 ms; 107,000 against 1,978,000 rows/s in
bench/retention.py, where one DELETE managed 2,978,000).
Partitioning the table by month, so that a month is dropped at once, was measured and not done
(docs/PERFORMANCE.md, "GPS pings").

Run daily by Celery beat (gridops.tasks.pings_prune) and by hand with `gridops_pings_prune`.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from gridops.models import Ping, Unit

logger = logging.getLogger("gridops.retention")

BATCH = 5000


@dataclass(frozen=True)
class Pruned:
    cutoff: datetime  # fixes with fixed_at before it are (or, dry, would be) deleted
    deleted: int
    units: int  # units that had such fixes

    def as_dict(self) -> dict:
        return {"cutoff": self.cutoff.isoformat(), "deleted": self.deleted, "units": self.units}


def pings_prune(
    *, older_than: timedelta, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False
) -> Pruned:
    """Delete every fix whose `fixed_at` is before `now − older_than` (a fix exactly at the cutoff
    stays); `dry_run` counts them instead."""
    if older_than <= timedelta(0):
        raise ValueError("older_than must be positive")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    cutoff = (now or timezone.now()) - older_than
    table = connection.ops.quote_name(Ping._meta.db_table)
    deleted = units = 0
    with connection.cursor() as cursor:
        for unit_id in list(Unit.objects.order_by("pk").values_list("pk", flat=True)):
            if dry_run:
                where = "WHERE unit_id = %s AND fixed_at < %s"
                cursor.execute(f"SELECT count(*) FROM {table} {where}", [unit_id, cutoff])
                found = cursor.fetchone()[0]
            else:
                found = 0
                while True:
                    cursor.execute(
                        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table}"
                        " WHERE unit_id = %s AND fixed_at < %s ORDER BY fixed_at LIMIT %s))",
                        [unit_id, cutoff, batch],
                    )
                    found += cursor.rowcount
                    if cursor.rowcount < batch:
                        break
            deleted += found
            units += bool(found)
    result = Pruned(cutoff=cutoff, deleted=deleted, units=units)
    logger.info(
        "pings before %s: %s %d from %d units",
        timezone.localtime(cutoff).isoformat(),
        "would delete" if dry_run else "deleted",
        deleted,
        units,
    )
    return result
