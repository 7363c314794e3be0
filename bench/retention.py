#!/usr/bin/env python
"""Ping retention benchmark: deleting a year-old backlog of fixes, the way the nightly task does.

    .venv/bin/python bench/retention.py            # full run (make bench)
    .venv/bin/python bench/retention.py --tiny     # a smoke run of a few seconds (tests/test_bench.py)

The demo county's units (demo devices) each get N old fixes (one a second, 400 days ago) beside a
day of recent ones, inserted by one INSERT … SELECT generate_series per unit. Then, on the same
rows inserted again each time, side by side:

    (a) gridops.services.ping_retention.pings_prune: per unit, 5,000 rows a statement through the
        (unit, fixed_at) index, as `gridops_pings_prune` and the nightly task run it;
    (b) the obvious way: one `DELETE FROM gridops_ping WHERE fixed_at < cutoff`.

For each: rows deleted per second, and the longest single statement (how long one statement holds
its row locks and keeps its snapshot: the whole run for (b)). Every old fix must be gone and every
recent one kept. Uses its own database (gridops_bench_retention), prints a table and writes
bench/results/retention.json.
"""

import argparse
import os
import platform
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import use_database, write_results  # noqa: E402  (ROOT on sys.path first)

RETENTION = timedelta(days=365)


def fill(units: list[tuple[int, int]], old_per_unit: int, recent_per_unit: int) -> None:
    """Old fixes from 400 days ago and recent ones from the last day, one a second per unit."""
    from django.db import connection

    insert = """
        INSERT INTO gridops_ping (unit_id, device_id, fixed_at, received_at, point)
        SELECT %s, %s, now() - %s + g * interval '1 second', now(),
               ST_SetSRID(ST_MakePoint(121.8 + g * 1e-7, 29.4), 4326)
        FROM generate_series(1, %s) g
    """
    with connection.cursor() as cursor:
        for unit_id, device_id in units:
            cursor.execute(insert, [unit_id, device_id, timedelta(days=400), old_per_unit])
            cursor.execute(insert, [unit_id, device_id, timedelta(days=1), recent_per_unit])
        cursor.execute("ANALYZE gridops_ping")


def counts() -> tuple[int, int]:
    """(fixes older than the retention, the others)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE fixed_at < now() - %s),"
            " count(*) FILTER (WHERE fixed_at >= now() - %s) FROM gridops_ping",
            [RETENTION, RETENTION],
        )
        return cursor.fetchone()


class StatementTimes:
    """The duration of every statement run through Django's connection (execute_wrapper)."""

    def __init__(self) -> None:
        self.ms: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms.append((time.perf_counter() - started) * 1e3)


def run_ours() -> dict:
    from django.db import connection

    from gridops.services.ping_retention import pings_prune

    times = StatementTimes()
    started = time.perf_counter()
    with connection.execute_wrapper(times):
        pruned = pings_prune(older_than=RETENTION)
    seconds = time.perf_counter() - started
    return {
        "deleted": pruned.deleted,
        "seconds": round(seconds, 3),
        "rows_per_s": round(pruned.deleted / seconds),
        "statements": len(times.ms),
        "longest_statement_ms": round(max(times.ms), 1),
    }


def run_obvious() -> dict:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM gridops_ping WHERE fixed_at < now() - %s", [RETENTION])
        deleted = cursor.rowcount
    seconds = time.perf_counter() - started
    return {
        "deleted": deleted,
        "seconds": round(seconds, 3),
        "rows_per_s": round(deleted / seconds),
        "statements": 1,
        "longest_statement_ms": round(seconds * 1e3, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="gridops_bench_retention")
    parser.add_argument("--old", type=int, default=50_000, help="old fixes per unit")
    parser.add_argument("--recent", type=int, default=2_000, help="recent fixes per unit (kept)")
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "retention.json"))
    args = parser.parse_args()
    if args.tiny:
        args.old, args.recent, args.cells = 300, 20, 600

    use_database(args.database, fresh=True)
    from django.core.management import call_command
    from django.db import connection

    from geodata.demo.load import geodata_demo_load
    from gridops.models import Unit
    from gridops.services.demo_devices import demo_devices_ensure

    call_command("migrate", verbosity=0)
    geodata_demo_load(cells=args.cells)
    demo_devices_ensure(cameras=0)
    units = list(Unit.objects.filter(device__isnull=False).order_by("pk").values_list("pk", "device_id"))

    runs = {}
    for name, run in (("ours", run_ours), ("obvious", run_obvious)):
        fill(units, args.old, args.recent)
        old, recent = counts()
        result = run()
        left_old, left_recent = counts()
        if not (result["deleted"] == old and left_old == 0 and left_recent == recent):
            raise RuntimeError(
                f"{name}: deleted {result['deleted']} of {old} old fixes, {left_old} left; "
                f"{left_recent} of {recent} recent ones kept"
            )
        runs[name] = {**result, "recent_kept": left_recent}
        with connection.cursor() as cursor:  # the next run starts from an empty table
            cursor.execute("TRUNCATE gridops_ping")

    results = {
        "benchmark": "retention",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "units": len(units),
        "old_per_unit": args.old,
        "recent_per_unit": args.recent,
        **runs,
        "rate_vs_obvious": round(runs["ours"]["rows_per_s"] / runs["obvious"]["rows_per_s"], 2),
    }
    out = write_results(results, args.out)
    print(
        f"\n== ping retention: {len(units)} units × {args.old:,} old fixes"
        f" (+ {args.recent:,} recent, kept) =="
    )
    print(f"{'':44}{'rows/s':>12}{'time':>10}{'statements':>12}{'longest':>12}")
    for name, label in (
        ("ours", "per unit, 5,000 a statement (ours)"),
        ("obvious", "one DELETE (the obvious way)"),
    ):
        r = runs[name]
        print(
            f"{label:44}{r['rows_per_s']:>12,}{r['seconds']:>9.2f}s{r['statements']:>12,}"
            f"{r['longest_statement_ms']:>10.1f}ms"
        )
    print(f"ours at {results['rate_vs_obvious']:.0%} of the one DELETE's rate")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
