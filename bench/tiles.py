#!/usr/bin/env python
"""Grid layer to the map: vector tiles vs GeoJSON, on the demo county and a 100,000-cell county.

    .venv/bin/python bench/tiles.py                   # 3,000 and 100,000 cells (make bench)
    .venv/bin/python bench/tiles.py --tiny            # a smoke run of a few seconds (tests/test_bench.py)

For each county size, in the same run:
  * baseline: one GeoJSON FeatureCollection of every cell valid today, built by PostGIS in one
    query (ST_AsGeoJSON at full precision, the fastest way to get them all to a browser);
  * today's bbox read: GET /api/v1/cells/?bbox=…&zoom=13 over one z12 tile's area (every page);
  * vector tiles: GET /api/v1/tiles/cells/{z}/{x}/{y}.pbf for every z12 tile over the county (time
    and size, raw and gzipped as browsers receive them: median, p99, max; at zoom 12 the tiles hold
    outlines only, see geodata/tiles.py), and every z14 tile of the county's densest z12 tile.

Requests go through Django's test Client in this process (routing, DRF, the tile query: all but the
socket); each request is made twice and the second timing kept (the first warms PostgreSQL's plan
and cache). Its own database (gridops_bench_tiles, kept between runs: the 100,000-cell county takes
a few minutes to generate). Prints a table and writes bench/results/tiles.json.
"""

import argparse
import gzip
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import use_database, write_results  # noqa: E402  (ROOT on sys.path first)

TARGETS = {"z12_tile_ms": 50, "z12_tile_kb": 100}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The web-mercator tile x, y containing lon/lat at zoom z."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """west, south, east, north of a tile in degrees."""
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
    }


def timed_get(client, url: str, params: dict | None = None) -> tuple[float, int, bytes]:
    client.get(url, params or {})  # warm: plan, cache
    t0 = time.perf_counter()
    response = client.get(url, params or {})
    elapsed = (time.perf_counter() - t0) * 1000
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    body = response.content if not response.streaming else b"".join(response.streaming_content)
    return elapsed, len(body), body


def geojson_all_cells() -> tuple[float, int]:
    """One FeatureCollection of every cell valid today, built by PostGIS: ms and bytes."""
    from django.db import connection
    from django.utils import timezone

    sql = """
        SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
            'type', 'Feature', 'id', c.code, 'geometry', ST_AsGeoJSON(c.geom)::json,
            'properties', json_build_object('code', c.code, 'name', c.name,
                                            'township', t.code, 'village', v.code))))::text
        FROM geodata_gridcell c
        JOIN geodata_region t ON t.id = c.township_id
        JOIN geodata_region v ON v.id = c.village_id
        WHERE c.valid_from <= %(on)s AND (c.valid_to IS NULL OR c.valid_to > %(on)s)
    """
    on = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(sql, {"on": on})  # warm
        cursor.fetchone()
        t0 = time.perf_counter()
        cursor.execute(sql, {"on": on})
        (text,) = cursor.fetchone()
        elapsed = (time.perf_counter() - t0) * 1000
    return elapsed, len(text.encode())


def county_extent() -> tuple[float, float, float, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM geodata_gridcell) s"
        )
        return cursor.fetchone()


def bench_county(cells: int, *, max_tiles: int | None) -> dict:
    from django.test import Client

    from geodata.demo.load import geodata_demo_load

    t0 = time.perf_counter()
    summary = geodata_demo_load(cells=cells)
    load_s = None if summary.skipped else round(time.perf_counter() - t0, 1)
    client = Client()

    all_ms, all_bytes = geojson_all_cells()

    west, south, east, north = county_extent()
    x0, y0 = tile_of(west, north, 12)
    x1, y1 = tile_of(east, south, 12)
    z12 = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    if max_tiles is not None:
        z12 = z12[:max_tiles]
    tile_ms, tile_kb, tile_gz_kb, filled = [], [], [], []
    for x, y in z12:
        ms, size, body = timed_get(client, f"/api/v1/tiles/cells/12/{x}/{y}.pbf")
        if size:
            tile_ms.append(ms)
            tile_kb.append(size / 1024)
            tile_gz_kb.append(len(gzip.compress(body, compresslevel=5)) / 1024)
            filled.append((size, x, y))
    assert filled, "no z12 tile holds a cell"
    _, dense_x, dense_y = max(filled)

    # What the pages read today for the same area: the bbox GeoJSON at zoom 13.
    w, s, e, n = tile_bounds(12, dense_x, dense_y)
    bbox_ms, bbox_bytes, _ = timed_get(
        client, "/api/v1/cells/", {"bbox": f"{w:.6f},{s:.6f},{e:.6f},{n:.6f}", "zoom": 13, "page_size": 10000}
    )
    dense_ms, dense_size, _ = timed_get(client, f"/api/v1/tiles/cells/12/{dense_x}/{dense_y}.pbf")

    z14_ms, z14_kb = [], []
    for x in range(dense_x * 4, dense_x * 4 + 4):
        for y in range(dense_y * 4, dense_y * 4 + 4):
            ms, size, _ = timed_get(client, f"/api/v1/tiles/cells/14/{x}/{y}.pbf")
            if size:
                z14_ms.append(ms)
                z14_kb.append(size / 1024)
    return {
        "cells": cells,
        "demo_load_s": load_s,
        "geojson_all": {"ms": round(all_ms, 1), "kb": round(all_bytes / 1024, 1)},
        "z12_tiles": {
            "tiles": len(z12),
            "with_cells": len(tile_ms),
            "ms": spread(tile_ms),
            "kb": spread(tile_kb),
            "gzip_kb": spread(tile_gz_kb),
        },
        "densest_z12": {
            "tile": [12, dense_x, dense_y],
            "mvt_ms": round(dense_ms, 1),
            "mvt_kb": round(dense_size / 1024, 1),
            "bbox_geojson_ms": round(bbox_ms, 1),
            "bbox_geojson_kb": round(bbox_bytes / 1024, 1),
        },
        "z14_tiles": {"with_cells": len(z14_ms), "ms": spread(z14_ms), "kb": spread(z14_kb)}
        if z14_ms
        else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", default="3000,100000", help="comma-separated county sizes")
    parser.add_argument("--database", default="gridops_bench_tiles")
    parser.add_argument("--tiny", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "tiles.json"))
    args = parser.parse_args()
    sizes = [600] if args.tiny else [int(c) for c in args.cells.split(",")]

    use_database(args.database)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    results = {
        "benchmark": "tiles",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "targets": TARGETS,
        "runs": [bench_county(cells, max_tiles=6 if args.tiny else None) for cells in sizes],
    }
    out = write_results(results, args.out)
    print_results(results)
    print(f"\nwrote {out}")
    return 0


def print_results(r: dict) -> None:
    for run in r["runs"]:
        print(f"\n== grid layer on {run['cells']:,} cells ==")
        g = run["geojson_all"]
        print(f"{'one GeoJSON of all cells (PostGIS, baseline)':<52}{g['ms']:>9.1f} ms{g['kb']:>11,.0f} kB")
        d = run["densest_z12"]
        print(
            f"{'bbox GeoJSON at zoom 13 over the densest z12 tile':<52}{d['bbox_geojson_ms']:>9.1f} ms"
            f"{d['bbox_geojson_kb']:>11,.1f} kB"
        )
        print(f"{'MVT of that tile':<52}{d['mvt_ms']:>9.1f} ms{d['mvt_kb']:>11,.1f} kB")
        t = run["z12_tiles"]
        label = f"MVT z12, {t['with_cells']} tiles with cells: median / p99 / max"
        print(
            f"{label:<52}{t['ms']['median']:>6.1f} / {t['ms']['p99']:.1f} / {t['ms']['max']:.1f} ms   "
            f"{t['kb']['median']:.1f} / {t['kb']['p99']:.1f} / {t['kb']['max']:.1f} kB "
            f"(gzip {t['gzip_kb']['median']:.1f} / {t['gzip_kb']['p99']:.1f} / {t['gzip_kb']['max']:.1f})   "
            f"target ≤ {r['targets']['z12_tile_ms']} ms, ≤ {r['targets']['z12_tile_kb']} kB"
        )
        if run["z14_tiles"]:
            t = run["z14_tiles"]
            label = f"MVT z14 in the densest z12 tile ({t['with_cells']}): median / max"
            print(
                f"{label:<52}{t['ms']['median']:>6.1f} / {t['ms']['max']:.1f} ms   "
                f"{t['kb']['median']:.1f} / {t['kb']['max']:.1f} kB"
            )


if __name__ == "__main__":
    sys.exit(main())
