"""The geodata revision counter: bumped by every write to the map of responsibility, read (at most
every ROUTING_INDEX_CHECK_SECONDS) by each process's routing index to notice it is stale."""

from django.db import connection
from django.utils import timezone

from geodata.models import GeodataRevision


def geodata_revision_bump() -> None:
    """One statement, safe under concurrency; visible to others when the transaction commits."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {GeodataRevision._meta.db_table} (id, revision, changed_at) VALUES (1, 1, %s) "
            "ON CONFLICT (id) DO UPDATE SET revision = EXCLUDED.revision + "
            f"{GeodataRevision._meta.db_table}.revision, changed_at = EXCLUDED.changed_at",
            [timezone.now()],
        )


def geodata_revision_get() -> tuple[int, object]:
    """(counter, time of the last bump). The time makes the pair unique even when a rolled-back
    transaction had bumped the counter to a number that a later commit reuses."""
    row = GeodataRevision.objects.filter(id=1).values_list("revision", "changed_at").first()
    return row or (0, None)
