"""Delete GPS fixes older than the retention (what Celery beat does every night at 03:30).

    manage.py gridops_pings_prune                        GRIDOPS_PING_RETENTION_DAYS (0: nothing to do)
    manage.py gridops_pings_prune --days 180             once, with another retention
    manage.py gridops_pings_prune --days 180 --dry-run   count only

Exit status 0; --days below 1 or --batch below 1 is refused (status 1).
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridops.services.ping_retention import BATCH, pings_prune


class Command(BaseCommand):
    help = "Delete GPS fixes older than GRIDOPS_PING_RETENTION_DAYS (or --days), in batches per unit."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="retention in days (GRIDOPS_PING_RETENTION_DAYS)")
        parser.add_argument("--dry-run", action="store_true", help="count the fixes, delete nothing")
        parser.add_argument("--batch", type=int, default=BATCH, help=f"rows per statement (default {BATCH})")

    def handle(self, *args, days, dry_run, batch, **options):
        if days is None:
            days = settings.PING_RETENTION_DAYS
            if days == 0:
                self.stdout.write("GRIDOPS_PING_RETENTION_DAYS is 0: every fix is kept (--days prunes once)")
                return
        if days < 1:
            raise CommandError("--days must be at least 1")
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        pruned = pings_prune(older_than=timedelta(days=days), batch=batch, dry_run=dry_run)
        when = timezone.localtime(pruned.cutoff).strftime("%Y-%m-%d %H:%M:%S %z")
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"fixes before {when} ({days} days): {verb} {pruned.deleted} from {pruned.units} units"
        )
