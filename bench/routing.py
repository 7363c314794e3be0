#!/usr/bin/env python
"""Routing benchmark: single-lookup latency and bulk throughput, in-process and over HTTP, side by
side with their baselines, on the demo county and on a 100,000-cell county.

    .venv/bin/python bench/routing.py                 # 3,000 and 100,000 cells (make bench)
    .venv/bin/python bench/routing.py --cells 3000 --points 2000 --no-http

Baselines measured in the same run:
  * in-process bulk   vs raw shapely STRtree point-in-polygon over the same cells;
  * single lookup     vs one PostGIS ST_Covers round trip (prepared statement, GiST index).
It uses its own database (gridops_bench by default) so the demo database is left alone, prints a
table and writes bench/results/routing.json.
"""

import argparse
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import use_database, write_results  # noqa: E402  (ROOT on sys.path first)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def sample_points(n: int, seed: int = 7):
    """Points over the county's bounding box: mostly inside cells, some in the sea (outside)."""
    import numpy as np

    from geodata.demo.county import county_outline

    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = county_outline().bounds
    return rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)


def time_calls(fn, args_list) -> list[float]:
    out = []
    for args in args_list:
        t0 = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - t0) * 1e6)
    return out


def bench_in_process(points: int) -> dict:
    import shapely
    from django.db import connection
    from django.utils import timezone

    from geodata.routing import route, route_many, routing_index

    index = routing_index()
    lons, lats = sample_points(points)
    pairs = list(zip(lons.tolist(), lats.tolist(), strict=True))
    in_cell = (index.cells_at(lons, lats, timezone.now()) >= 0).tolist()
    inside = sum(in_cell)

    # warm-up
    for lon, lat in pairs[:200]:
        route(lon, lat).as_dict()
    # The engine as a caller sees it: the lookup plus the rendered answer with its reasons.
    route_us = time_calls(lambda lon, lat: route(lon, lat).as_dict(), pairs)
    tree = index.tree
    raw_single_us = time_calls(
        lambda lon, lat: tree.query(shapely.Point(lon, lat), predicate="intersects"), pairs
    )

    sql = (
        "SELECT id FROM geodata_gridcell WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
        "ORDER BY code LIMIT 1"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for lon, lat in pairs[:50]:
            raw.execute(sql, (lon, lat), prepare=True)
            raw.fetchall()

        def postgis(lon, lat):
            raw.execute(sql, (lon, lat), prepare=True)
            raw.fetchall()

        postgis_us = time_calls(postgis, pairs)

    bulk_n = max(points * 50, 100_000)
    blons, blats = sample_points(bulk_n, seed=11)
    # Alternate the two, three rounds each, and keep each one's best: neither pays the warm-up.
    raw_runs, ours_runs = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        tree.query(shapely.points(blons, blats), predicate="intersects")
        raw_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        route_many(blons, blats)
        ours_runs.append(time.perf_counter() - t0)
    raw_bulk_s, ours_bulk_s = min(raw_runs), min(ours_runs)

    def stats(values):
        return {"p50_us": round(percentile(values, 50), 1), "p99_us": round(percentile(values, 99), 1)}

    def inside_only(values):  # a report is made inside the grid: its costlier lookups on their own
        return [v for v, hit in zip(values, in_cell, strict=True) if hit]

    route_in, postgis_in = inside_only(route_us), inside_only(postgis_us)
    return {
        "points": points,
        "points_inside_cells": inside,
        "inside_route": stats(route_in) if route_in else None,
        "inside_postgis_covers": stats(postgis_in) if postgis_in else None,
        "inside_p99_ratio_to_postgis": (
            round(percentile(route_in, 99) / percentile(postgis_in, 99), 3) if route_in else None
        ),
        "single_route": stats(route_us),
        "single_raw_strtree": stats(raw_single_us),
        "single_postgis_covers": stats(postgis_us),
        "single_p99_ratio_to_postgis": round(percentile(route_us, 99) / percentile(postgis_us, 99), 3),
        "bulk_points": bulk_n,
        "bulk_route_many_points_per_s": round(bulk_n / ours_bulk_s),
        "bulk_raw_strtree_points_per_s": round(bulk_n / raw_bulk_s),
        "bulk_ratio_to_raw": round(raw_bulk_s / ours_bulk_s, 3),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_http(db_url: str, points: int, concurrency: int) -> dict:
    import http.client

    port = _free_port()
    env = dict(
        os.environ, DATABASE_URL=db_url, GRIDOPS_DEBUG="0", SECRET_KEY="bench", GRIDOPS_LOG_LEVEL="WARNING"
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/route/?lon=121.87&lat=29.47", timeout=2
                )
                break
            except Exception:
                time.sleep(0.3)
        else:
            raise RuntimeError("server did not start")
        lons, lats = sample_points(points, seed=13)
        paths = [f"/api/v1/route/?lon={lon:.6f}&lat={lat:.6f}" for lon, lat in zip(lons, lats, strict=True)]

        def run(chunk: list[str], out: list[float], statuses: list[int]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for path in chunk:
                t0 = time.perf_counter()
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                out.append((time.perf_counter() - t0) * 1e3)
                statuses.append(resp.status)
            conn.close()

        warm: list[float] = []
        run(paths[:100], warm, [])
        sequential: list[float] = []
        statuses: list[int] = []
        t0 = time.perf_counter()
        run(paths, sequential, statuses)
        seq_s = time.perf_counter() - t0

        concurrent: list[float] = []
        chunks = [paths[i::concurrency] for i in range(concurrency)]
        threads = [threading.Thread(target=run, args=(c, concurrent, statuses)) for c in chunks]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        conc_s = time.perf_counter() - t0
        bad = [s for s in statuses if s != 200]
        return {
            "requests": len(paths),
            "non_200": len(bad),
            "sequential_p50_ms": round(percentile(sequential, 50), 2),
            "sequential_p99_ms": round(percentile(sequential, 99), 2),
            "sequential_req_per_s": round(len(paths) / seq_s),
            "concurrency": concurrency,
            "concurrent_p50_ms": round(percentile(concurrent, 50), 2),
            "concurrent_p99_ms": round(percentile(concurrent, 99), 2),
            "concurrent_req_per_s": round(len(paths) / conc_s),
        }
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", default="3000,100000", help="comma-separated county sizes")
    parser.add_argument("--points", type=int, default=5000, help="single lookups per measurement")
    parser.add_argument("--http-requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--database", default="gridops_bench")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "routing.json"))
    args = parser.parse_args()

    db_url = use_database(args.database)
    from django.core.management import call_command

    from geodata.demo.load import geodata_demo_load
    from geodata.routing import routing_index_reset

    call_command("migrate", verbosity=0)
    results = {
        "benchmark": "routing",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "runs": [],
    }
    for cells in [int(c) for c in args.cells.split(",")]:
        t0 = time.perf_counter()
        summary = geodata_demo_load(cells=cells)
        load_s = time.perf_counter() - t0
        routing_index_reset()
        t0 = time.perf_counter()
        from geodata.routing import routing_index

        routing_index()
        build_s = time.perf_counter() - t0
        run = {
            "cells": cells,
            "demo_load_s": round(load_s, 2) if not summary.skipped else None,
            "index_build_s": round(build_s, 2),
            "in_process": bench_in_process(args.points),
        }
        if not args.no_http:
            run["http"] = bench_http(db_url, args.http_requests, args.concurrency)
        results["runs"].append(run)
        print_run(run)
    out = write_results(results, args.out)
    print(f"\nwrote {out}")
    return 0


def print_run(run: dict) -> None:
    ip = run["in_process"]
    print(f"\n== {run['cells']:,} cells (index built in {run['index_build_s']} s) ==")
    print(f"{'path':<44}{'p50':>12}{'p99':>12}")
    for label, key in (
        ("route() single lookup, in-process", "single_route"),
        ("raw STRtree query (baseline)", "single_raw_strtree"),
        ("PostGIS ST_Covers round trip (baseline)", "single_postgis_covers"),
    ):
        print(f"{label:<44}{ip[key]['p50_us']:>10.1f}µs{ip[key]['p99_us']:>10.1f}µs")
    print(f"route() p99 / PostGIS p99 = {ip['single_p99_ratio_to_postgis']}")
    if ip.get("inside_route"):
        print(
            f"  the {ip['points_inside_cells']:,} points inside cells alone: route() p50"
            f" {ip['inside_route']['p50_us']}µs p99 {ip['inside_route']['p99_us']}µs; PostGIS p99"
            f" {ip['inside_postgis_covers']['p99_us']}µs; ratio {ip['inside_p99_ratio_to_postgis']}"
        )
    print(
        f"bulk route_many: {ip['bulk_route_many_points_per_s']:,} points/s; raw STRtree: "
        f"{ip['bulk_raw_strtree_points_per_s']:,} points/s; ratio {ip['bulk_ratio_to_raw']}"
    )
    if "http" in run:
        h = run["http"]
        print(
            f"HTTP GET /api/v1/route/ sequential: p50 {h['sequential_p50_ms']} ms, "
            f"p99 {h['sequential_p99_ms']} ms, {h['sequential_req_per_s']} req/s"
        )
        print(
            f"HTTP GET /api/v1/route/ {h['concurrency']} clients: p50 {h['concurrent_p50_ms']} ms, "
            f"p99 {h['concurrent_p99_ms']} ms, {h['concurrent_req_per_s']} req/s; non-200: {h['non_200']}"
        )


if __name__ == "__main__":
    sys.exit(main())
