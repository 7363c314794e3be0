#!/usr/bin/env python
"""Coverage planning benchmark: publishing a coverage change of 1,000 cells (target ≤ 2 s).

    .venv/bin/python bench/planning.py            # full run: demo county of 3,000 cells
    .venv/bin/python bench/planning.py --tiny     # a smoke run of a few seconds

Each run: a draft copied from the version in force (geodata.planning.draft_create), 1,000
comprehensive-zone cells each moved to another comprehensive zone (zone_set_cells, one call per
changed zone), then draft_publish timed (validation of gaps/overlaps, status change, outbox event,
revision bump), then the first routing lookup after it (the routing index rebuilds). It uses its own
database (gridops_bench_planning) with the demo county, prints a table and writes
bench/results/planning.json.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import use_database, write_results  # noqa: E402  (ROOT on sys.path first)

TARGETS = {"publish_1000_cells_ms": 2000}


def one_run(*, run: int, moved: int) -> dict:
    from django.utils import timezone

    from geodata import planning
    from geodata.models import Domain, EnforcementZone, ZoneCell
    from geodata.routing import routing_index

    t0 = time.perf_counter()
    draft = planning.draft_create(name=f"bench {run}", actor=None)
    copy_ms = (time.perf_counter() - t0) * 1000
    zones = list(EnforcementZone.objects.filter(version=draft, domain=Domain.COMPREHENSIVE).order_by("id"))
    cells_of = {z.pk: set() for z in zones}
    for zone_id, cell_id in ZoneCell.objects.filter(zone__in=zones).values_list("zone_id", "cell_id"):
        cells_of[zone_id].add(cell_id)
    order = {z.pk: i for i, z in enumerate(zones)}
    memberships = sorted((cell, zone) for zone, cells in cells_of.items() for cell in cells)
    step = max(1, len(memberships) // moved)
    changed = set()
    for cell, zone in memberships[::step][:moved]:
        target = zones[(order[zone] + 1) % len(zones)].pk
        cells_of[zone].discard(cell)
        cells_of[target].add(cell)
        changed |= {zone, target}
    t0 = time.perf_counter()
    for zone in zones:
        if zone.pk in changed:
            draft.refresh_from_db(fields=["revision"])
            planning.zone_set_cells(zone=zone, cell_ids=cells_of[zone.pk], expected_revision=draft.revision)
    edit_ms = (time.perf_counter() - t0) * 1000
    draft.refresh_from_db()
    effective = timezone.now() + timedelta(seconds=1)
    t0 = time.perf_counter()
    planning.draft_publish(draft=draft, effective_from=effective, actor=None, override_reason="bench")
    publish_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    routing_index()
    rebuild_ms = (time.perf_counter() - t0) * 1000
    return {
        "copy_ms": round(copy_ms, 1),
        "edit_ms": round(edit_ms, 1),
        "zones_edited": len(changed),
        "publish_ms": round(publish_ms, 1),
        "index_rebuild_ms": round(rebuild_ms, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="gridops_bench_planning")
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--moved", type=int, default=1000, help="cells moved between zones in the draft")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "planning.json"))
    args = parser.parse_args()
    if args.tiny:
        args.cells, args.moved, args.repeats = 600, 200, 1

    use_database(args.database)
    from django.conf import settings
    from django.core.management import call_command

    settings.ROUTING_INDEX_CHECK_SECONDS = 0  # the first lookup after publishing rebuilds the index

    from geodata.demo.load import geodata_demo_load

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    geodata_demo_load(cells=args.cells)
    prepare_s = time.perf_counter() - t0
    runs = [one_run(run=i + 1, moved=args.moved) for i in range(args.repeats)]
    publish = [r["publish_ms"] for r in runs]
    results = {
        "benchmark": "planning",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "cells": args.cells,
        "moved_cells": args.moved,
        "prepare_s": round(prepare_s, 1),
        "targets": TARGETS,
        "publish_median_ms": round(statistics.median(publish), 1),
        "publish_best_ms": round(min(publish), 1),
        "runs": runs,
    }
    out = write_results(results, args.out)
    print(f"\n== planning on {args.cells:,} cells, {args.moved:,} cells moved ({os.cpu_count()} CPUs) ==")
    print(f"{'run':<6}{'copy':>10}{'edit':>10}{'zones':>7}{'publish':>10}{'index':>10}")
    for i, r in enumerate(runs, 1):
        print(
            f"{i:<6}{r['copy_ms']:>8.0f}ms{r['edit_ms']:>8.0f}ms{r['zones_edited']:>7}"
            f"{r['publish_ms']:>8.0f}ms{r['index_rebuild_ms']:>8.0f}ms"
        )
    target = TARGETS["publish_1000_cells_ms"]
    median = results["publish_median_ms"]
    print(
        f"publish median {median:.0f} ms — target ≤ {target} ms: "
        + ("met" if median <= target else "NOT met")
    )
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
