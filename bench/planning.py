#!/usr/bin/env python
"""Coverage planning benchmark: publishing a coverage change of 1,000 cells (target ≤ 2 s), and
the planner's figures: per-zone figures of the 3,000-cell version and the pre-publish diff of a
draft moving 1,000 cells (each target < 1 s).

    .venv/bin/python bench/planning.py            # full run: demo county of 3,000 cells
    .venv/bin/python bench/planning.py --tiny     # a smoke run of a few seconds

Each run: a draft copied from the version in force (geodata.planning.draft_create), 1,000
comprehensive-zone cells each moved to another comprehensive zone (zone_set_cells, one call per
changed zone), then the draft's diff against the version in force
(gridops.selectors.planning.coverage_draft_diff) and the figures of the version in force
(coverage_zone_figures) timed FIGURE_REPEATS times each, then draft_publish timed (validation of
gaps/overlaps, status change, outbox event, revision bump), then the first routing lookup after it
(the routing index rebuilds). The figures count reports: before the runs the database gets --reports
reports (routed, received over the last 120 days, a fifth with a county-handled market matter, a
third open). It uses its own database (gridops_bench_planning) with the demo county, prints a table
and writes bench/results/planning.json.
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

TARGETS = {"publish_1000_cells_ms": 2000, "zone_figures_ms": 1000, "draft_diff_ms": 1000}
FIGURE_REPEATS = 5


def ensure_reports(*, count: int, seed: int = 5) -> int:
    """At least `count` reports in the bench database, routed as intake would (cell, team): points
    on the cells' surfaces, received over the last 120 days. Kept between runs."""
    import random
    from datetime import timedelta

    from django.contrib.gis.db.models.functions import PointOnSurface
    from django.db import connection
    from django.utils import timezone

    from geodata.models import Domain, GridCell, Matter
    from geodata.routing import route_many
    from gridops.models import Report

    have = Report.objects.count()
    if have >= count:
        return have
    rng = random.Random(seed)
    cells = list(GridCell.objects.annotate(p=PointOnSurface("geom")).values_list("p", flat=True))
    county_matter = (
        Matter.objects.filter(handled_by=Matter.Handler.COUNTY, domain=Domain.MARKET, active=True)
        .order_by("code")
        .first()
    )
    now = timezone.now()
    reports = []
    for matter in (None, county_matter):
        n = (count - have) // 5 if matter else (count - have) - (count - have) // 5
        points = [rng.choice(cells) for _ in range(n)]
        cell_ids, team_ids = route_many(
            [p.x for p in points], [p.y for p in points], matter=matter.code if matter else None
        )
        for point, cell_id, team_id in zip(points, cell_ids, team_ids, strict=True):
            routed = bool(team_id)
            reports.append(
                Report(
                    source=Report.Source.GRID_WORKER,
                    point=point,
                    matter=matter,
                    cell_id=int(cell_id) or None,
                    team_id=int(team_id) or None,
                    routed=routed,
                    triage_queue="" if routed else "triage:no_team",
                    status=(
                        (Report.Status.NEW if rng.random() < 1 / 3 else Report.Status.CLOSED)
                        if routed
                        else Report.Status.TRIAGE
                    ),
                    received_at=now - timedelta(seconds=rng.uniform(0, 120 * 86400)),
                )
            )
    Report.objects.bulk_create(reports, batch_size=2000)
    with connection.cursor() as cursor:  # planner statistics, as autovacuum would soon have them
        cursor.execute(f"ANALYZE {Report._meta.db_table}")
    return Report.objects.count()


def _median_ms(fn) -> float:
    times = []
    for _ in range(FIGURE_REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def one_run(*, run: int, moved: int) -> dict:
    from django.utils import timezone

    from geodata import planning
    from geodata.models import Domain, EnforcementZone, ZoneCell
    from geodata.routing import routing_index
    from geodata.selectors import coverage_version_in_force
    from gridops.selectors.planning import coverage_draft_diff, coverage_zone_figures

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
    in_force = coverage_version_in_force()
    diff = coverage_draft_diff(draft=draft, against=in_force)
    diff_ms = _median_ms(lambda: coverage_draft_diff(draft=draft, against=in_force))
    figures = coverage_zone_figures(version=in_force)
    figures_ms = _median_ms(lambda: coverage_zone_figures(version=in_force))
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
        "zone_figures_ms": round(figures_ms, 1),
        "zones": len(figures["zones"]),
        "draft_diff_ms": round(diff_ms, 1),
        "cells_changing_team": diff["cells_changing_team_count"],
        "open_cases_changing_owner": diff["open_cases_changing_owner_count"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="gridops_bench_planning")
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--moved", type=int, default=1000, help="cells moved between zones in the draft")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reports", type=int, default=6000, help="reports in the database (figures)")
    parser.add_argument("--tiny", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "planning.json"))
    args = parser.parse_args()
    if args.tiny:
        args.cells, args.moved, args.repeats, args.reports = 600, 200, 1, 1000

    use_database(args.database)
    from django.conf import settings
    from django.core.management import call_command

    settings.ROUTING_INDEX_CHECK_SECONDS = 0  # the first lookup after publishing rebuilds the index

    from geodata.demo.load import geodata_demo_load

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    geodata_demo_load(cells=args.cells)
    reports = ensure_reports(count=args.reports)
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
        "reports": reports,
        "prepare_s": round(prepare_s, 1),
        "targets": TARGETS,
        "publish_median_ms": round(statistics.median(publish), 1),
        "publish_best_ms": round(min(publish), 1),
        "zone_figures_median_ms": round(statistics.median(r["zone_figures_ms"] for r in runs), 1),
        "draft_diff_median_ms": round(statistics.median(r["draft_diff_ms"] for r in runs), 1),
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
    for key, label in (
        (
            "zone_figures",
            f"zone figures, {args.cells:,} cells ({runs[0]['zones']} zones, {reports:,} reports)",
        ),
        ("draft_diff", f"draft diff, {args.moved:,} cells moved"),
    ):
        median, target = results[f"{key}_median_ms"], TARGETS[f"{key}_ms"]
        print(
            f"{label}: median {median:.0f} ms — target < {target} ms: "
            + ("met" if median < target else "NOT met")
        )
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
