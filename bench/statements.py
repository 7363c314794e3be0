#!/usr/bin/env python
"""Prepared statements against Django's client-side binding, side by side, in one process.

    .venv/bin/python bench/statements.py                 # 6 rounds × 400 reports and 60 ping batches
    .venv/bin/python bench/statements.py --rounds 2 --reports 50 --batches 5   # a smoke run

The two hottest writes run through their services, exactly as a request runs them: a report
(`report_submit`: validate, route, one INSERT of the report and its event) and a GPS batch of 100
fixes (`ping_batch_ingest`: lock the unit and insert, then move the live position). Rounds
alternate GRIDOPS_PREPARED_STATEMENTS on and off, so the machine's load falls on both alike.

Per report and per batch it reads this thread's CPU (time.thread_time: the relay thread that
after-commit callbacks wake is not counted) and the CPU of this connection's PostgreSQL backend
(/proc, so the server must be local), which is where parsing and planning happen. Wall time is
printed too but swings with the neighbours. Writes bench/results/statements.json.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import process_cpu_seconds, use_database, write_results  # noqa: E402  (ROOT on sys.path first)

BATCH = 100


def _measure(run, n: int, backend: int) -> dict:
    """Run `run(k)` for k in range(n); CPU of this thread and of the backend, and wall, per call (µs)."""
    cpu0, pg0, wall0 = time.thread_time(), process_cpu_seconds(backend), time.perf_counter()
    for k in range(n):
        run(k)
    cpu1, pg1, wall1 = time.thread_time(), process_cpu_seconds(backend), time.perf_counter()
    return {
        "client_us": (cpu1 - cpu0) * 1e6 / n,
        "postgres_us": (pg1 - pg0) * 1e6 / n,
        "wall_us": (wall1 - wall0) * 1e6 / n,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="gridops_bench_statements")
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each setting, interleaved")
    parser.add_argument("--reports", type=int, default=400, help="reports per round")
    parser.add_argument("--batches", type=int, default=60, help="ping batches of 100 per round")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "statements.json"))
    args = parser.parse_args()

    use_database(args.database, fresh=True)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from geodata.demo.load import geodata_demo_load
    from geodata.models import GridCell, Matter
    from gridops.models import Device
    from gridops.services.demo_devices import demo_devices_ensure
    from gridops.services.pings import ping_batch_ingest
    from gridops.services.reports import ReportInput, report_submit

    call_command("migrate", verbosity=0)
    geodata_demo_load(cells=args.cells)
    credentials = demo_devices_ensure(cameras=0)
    points = [
        (p.x, p.y) for p in (g.point_on_surface for g in GridCell.objects.values_list("geom", flat=True))
    ]
    matters = list(Matter.objects.filter(handled_by="township", active=True).values_list("code", flat=True))
    device = Device.objects.get(code=credentials.units[0]["device"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    rng = random.Random(7)
    # Fix times move forward across all rounds (no duplicates), one a second from six days ago: room
    # for ~5,000 batches within the seven days a fix is accepted (PING_MAX_AGE_SECONDS).
    clock = {"t": time.time() - 6 * 86400}

    def one_report(_k: int) -> None:
        lon, lat = rng.choice(points)
        report_submit(
            data=ReportInput(
                source="grid_worker",
                lon=round(lon, 6),
                lat=round(lat, 6),
                matter_code=rng.choice(matters),
                description="压测：预备语句对照",
            )
        )

    def one_batch(_k: int) -> None:
        lon, lat = rng.choice(points)
        start = datetime.fromtimestamp(clock["t"], UTC)
        clock["t"] += BATCH
        items = [
            {"t": (start + timedelta(seconds=i)).isoformat(), "lon": lon, "lat": lat, "speed": 20}
            for i in range(BATCH)
        ]
        result = ping_batch_ingest(device=device, items=items)
        assert result.accepted == BATCH, result.as_dict()

    # Warm both paths (routing index, statement caches, the prepared statements themselves).
    for prepared in (True, False):
        settings.PREPARED_STATEMENTS = prepared
        for k in range(20):
            one_report(k)
        for k in range(3):
            one_batch(k)

    samples: dict[str, dict[str, list]] = {
        name: {"prepared": [], "django": []} for name in ("report", "ping_batch")
    }
    for r in range(args.rounds):
        for prepared in (True, False) if r % 2 == 0 else (False, True):
            settings.PREPARED_STATEMENTS = prepared
            side = "prepared" if prepared else "django"
            samples["report"][side].append(_measure(one_report, args.reports, backend))
            samples["ping_batch"][side].append(_measure(one_batch, args.batches, backend))
        print(f"round {r + 1}/{args.rounds} done", flush=True)

    def summary(runs: list[dict]) -> dict:
        return {
            key: {
                "median": round(statistics.median(run[key] for run in runs), 1),
                "runs": [round(run[key], 1) for run in runs],
            }
            for key in ("client_us", "postgres_us", "wall_us")
        }

    results = {
        "benchmark": "statements",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "cells": args.cells,
        "rounds": args.rounds,
        "reports_per_round": args.reports,
        "batches_per_round": args.batches,
        "batch_size": BATCH,
    }
    print(f"\n== prepared statements against Django's client-side binding ({args.rounds} rounds each) ==")
    print(f"{'path':<22}{'binding':<10}{'client CPU':>14}{'PostgreSQL CPU':>18}{'wall':>12}   (medians, µs)")
    for name, sides in samples.items():
        results[name] = {side: summary(runs) for side, runs in sides.items()}
        for side in ("django", "prepared"):
            s = results[name][side]
            print(
                f"{name:<22}{side:<10}{s['client_us']['median']:>14.0f}{s['postgres_us']['median']:>18.0f}"
                f"{s['wall_us']['median']:>12.0f}"
            )
        d, p = results[name]["django"], results[name]["prepared"]
        results[name]["prepared_vs_django"] = {
            key: round(p[key]["median"] / d[key]["median"], 3) if d[key]["median"] else None
            for key in ("client_us", "postgres_us", "wall_us")
        }
        print(
            f"{'':<22}{'ratio':<10}"
            + "".join(
                _ratio_text(results[name]["prepared_vs_django"][k], w)
                for k, w in (("client_us", 14), ("postgres_us", 18), ("wall_us", 12))
            )
        )
    out = write_results(results, args.out)
    print(f"\nwrote {out}")
    connection.close()
    return 0


def _ratio_text(ratio: float | None, width: int) -> str:
    """A ratio, or "–" where the baseline measured nothing: /proc counts a backend's CPU in clock
    ticks (10 ms), so a smoke run's few statements can read as 0 µs."""
    return f"{ratio:>{width}.2f}" if ratio is not None else f"{'–':>{width}}"


if __name__ == "__main__":
    sys.exit(main())
