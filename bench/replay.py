#!/usr/bin/env python
"""Track replay benchmark: a day of pings read back through the replay API.

    .venv/bin/python bench/replay.py            # full run (make bench)
    .venv/bin/python bench/replay.py --tiny     # a smoke run of a few seconds (tests/test_bench.py)

    (a) one unit, 24 h of fixes every 5 s (17,280 pings): GET /api/v1/units/{id}/track/ without and
        with zoom (14, 12), GET …/stops/ and GET …/visited-cells/ over the same day;
    (b) 20 units, each with its own 17,280 pings: every track of the day at zoom 14, one after the
        other in this process, total time;
    (c) the same 20 tracks as the replay page loads them: all asked for at once over HTTP (six
        keep-alive connections, a browser's limit per host) from the server `make demo` runs
        (`gridops_serve`, one worker per core), from the first request to the last answer.

Requests of (a) and (b) go through Django's test Client in this process (URL routing, auth, DRF,
JSON rendering: all but the socket), each timed several times; the table shows the median and the
best. The tracks are synthetic: drives of ~30 km/h between cells of the unit's team's zone with
stops of 5–15 min and ~5 m of GPS noise, inserted with COPY. It uses its own database
(gridops_bench_replay) with the demo county, prints a table and writes bench/results/replay.json.
"""

import argparse
import io
import math
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

TARGETS = {"track_24h_ms": 200, "fleet_20_units_ms": 1000}
STEP_SECONDS = 5
# A browser opens at most six HTTP/1.1 connections per host: the replay page's requests share them.
BROWSER_CONNECTIONS = 6


def synthetic_day(stops: list[tuple[float, float]], n: int, seed: int):
    """n fixes, one every STEP_SECONDS: drive at ~30 km/h from stop to stop, idle 5–15 min at
    each, with ~5 m of noise. Returns arrays lon, lat, speed (km/h), heading (°)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    metres_per_degree = 6_371_008.8 * math.pi / 180
    cos_lat = math.cos(math.radians(stops[0][1]))
    lon, lat = np.empty(n), np.empty(n)
    speed, heading = np.zeros(n), np.zeros(n)
    i = 0
    x, y = stops[0]
    while i < n:
        idle = int(rng.integers(60, 180))  # 5–15 min at 5 s
        for _ in range(min(idle, n - i)):
            lon[i], lat[i] = x, y
            i += 1
        there = int(rng.integers(0, len(stops)))
        tx, ty = stops[there]
        dx, dy = (tx - x) * metres_per_degree * cos_lat, (ty - y) * metres_per_degree
        distance = math.hypot(dx, dy)
        steps = max(1, int(distance / (8.3 * STEP_SECONDS)))
        course = math.degrees(math.atan2(dx, dy)) % 360
        for k in range(1, steps + 1):
            if i >= n:
                break
            lon[i], lat[i] = x + (tx - x) * k / steps, y + (ty - y) * k / steps
            speed[i], heading[i] = 30.0, course
            i += 1
        x, y = tx, ty
    noise = rng.normal(0, 5, (2, n))
    lon += noise[0] / (metres_per_degree * cos_lat)
    lat += noise[1] / metres_per_degree
    return lon, lat, speed, heading


def prepare(*, cells: int, units: int, pings: int, end) -> list[int]:
    """Demo county, `units` bench units of the comprehensive teams with `pings` fixes each
    ending at `end`. Returns the unit ids."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from geodata.demo.load import geodata_demo_load
    from geodata.models import Team, ZoneCell
    from geodata.selectors import coverage_version_in_force
    from gridops.models import Device, Ping, Unit

    call_command("migrate", verbosity=0)
    geodata_demo_load(cells=cells)
    get_user_model().objects.filter(username="bench-replay").delete()
    user = get_user_model().objects.create_user("bench-replay", password="bench-replay-pw")
    # Tracks are read by supervisors (gridops/scopes.py); no scope row: the whole county.
    user.groups.add(Group.objects.get_or_create(name="supervisor")[0])
    version = coverage_version_in_force()
    teams = list(Team.objects.filter(kind=Team.Kind.COMPREHENSIVE, zones__version=version).distinct())
    Unit.objects.filter(code__startswith="bench-replay-").delete()
    Device.objects.filter(code__startswith="bench-replay-").delete()
    start = end - timedelta(seconds=STEP_SECONDS * (pings - 1))
    epochs = start.timestamp() + STEP_SECONDS * np.arange(pings)
    ids = []
    for u in range(units):
        team = teams[u % len(teams)]
        code = f"bench-replay-{u + 1:02d}"
        device = Device.objects.create(code=code, name=code, kind=Device.Kind.TRACKER)
        unit = Unit.objects.create(code=code, name=code, kind=Unit.Kind.VEHICLE, team=team, device=device)
        geoms = ZoneCell.objects.filter(zone__version=version, zone__team=team).values_list(
            "cell__geom", flat=True
        )[:40]
        centroids = [(g.centroid.x, g.centroid.y) for g in geoms]
        lon, lat, speed, heading = synthetic_day(centroids, pings, seed=u)
        buffer = io.StringIO()
        for t, x, y, s, h in zip(epochs, lon, lat, speed, heading, strict=True):
            buffer.write(f"{t:.0f}\tSRID=4326;POINT({x:.7f} {y:.7f})\t{s}\t{h}\n")
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bench_ping_in "
                "(t float8, point geometry(Point, 4326), speed float8, heading float8)"
            )
            cursor.execute("TRUNCATE bench_ping_in")
            with cursor.cursor.copy("COPY bench_ping_in (t, point, speed, heading) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute(
                "INSERT INTO gridops_ping (unit_id, device_id, fixed_at, received_at, point, speed, heading) "
                "SELECT %s, %s, to_timestamp(t), to_timestamp(t), point, speed, heading FROM bench_ping_in",
                [unit.pk, device.pk],
            )
        ids.append(unit.pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE gridops_ping")
    assert Ping.objects.filter(unit_id=ids[0]).count() == pings
    return ids


def timed(client, url: str, params: dict, repeats: int) -> dict:
    samples, size = [], 0
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        response = client.get(url, params)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, (url, response.status_code, response.content[:500])
        samples.append(elapsed)
        size = len(response.content)
    samples = samples[1:]  # the first warms caches (routing index, prepared plans)
    return {
        "median_ms": round(statistics.median(samples), 1),
        "best_ms": round(min(samples), 1),
        "bytes": size,
        "samples_ms": [round(s, 1) for s in samples],
    }


def fleet_over_http(port: int, token: str, ids: list[int], window: dict, repeats: int) -> dict:
    """Every unit's track at zoom 14 asked for at once, as replay.js does (Promise.all), over
    BROWSER_CONNECTIONS keep-alive connections; wall time from the first request to the last answer."""
    import http.client
    import queue
    import threading
    from urllib.parse import urlencode

    query = urlencode({**window, "zoom": 14})
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}

    def run_once() -> tuple[float, int]:
        todo: queue.Queue = queue.Queue()
        for unit_id in ids:
            todo.put(unit_id)
        sizes, errors = [], []

        def connection_worker():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                while True:
                    try:
                        unit_id = todo.get_nowait()
                    except queue.Empty:
                        return
                    conn.request("GET", f"/api/v1/units/{unit_id}/track/?{query}", headers=headers)
                    response = conn.getresponse()
                    body = response.read()
                    if response.status != 200:
                        errors.append((unit_id, response.status, body[:300]))
                    sizes.append(len(body))
            finally:
                conn.close()

        threads = [threading.Thread(target=connection_worker) for _ in range(BROWSER_CONNECTIONS)]
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = (time.perf_counter() - t0) * 1000
        assert not errors, errors
        assert len(sizes) == len(ids)
        return elapsed, sum(sizes)

    runs = [run_once() for _ in range(max(2, repeats // 2) + 1)][1:]  # the first warms the workers
    samples = [ms for ms, _ in runs]
    return {
        "units": len(ids),
        "zoom": 14,
        "connections": BROWSER_CONNECTIONS,
        "median_ms": round(statistics.median(samples), 1),
        "best_ms": round(min(samples), 1),
        "samples_ms": [round(s, 1) for s in samples],
        "bytes": runs[-1][1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="gridops_bench_replay")
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--pings", type=int, default=17_280, help="fixes per unit (17,280 = 24 h at 5 s)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "replay.json"))
    args = parser.parse_args()
    if args.tiny:
        args.cells, args.units, args.pings, args.repeats = 600, 2, 720, 2

    db_url = use_database(args.database)
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    end = timezone.now().replace(microsecond=0)
    t0 = time.perf_counter()
    ids = prepare(cells=args.cells, units=args.units, pings=args.pings, end=end)
    prepare_s = time.perf_counter() - t0
    start = end - timedelta(seconds=STEP_SECONDS * (args.pings - 1))
    window = {"start": timezone.localtime(start).isoformat(), "end": timezone.localtime(end).isoformat()}

    client = Client()
    client.login(username="bench-replay", password="bench-replay-pw")
    base = f"/api/v1/units/{ids[0]}/"
    one = {
        "track": timed(client, base + "track/", window, args.repeats),
        "track_zoom14": timed(client, base + "track/", {**window, "zoom": 14}, args.repeats),
        "track_zoom12": timed(client, base + "track/", {**window, "zoom": 12}, args.repeats),
        "stops": timed(client, base + "stops/", window, args.repeats),
        "visited_cells": timed(client, base + "visited-cells/", window, args.repeats),
    }
    fleet_runs = []
    for _ in range(max(2, args.repeats // 2) + 1):
        t0 = time.perf_counter()
        for unit_id in ids:
            response = client.get(f"/api/v1/units/{unit_id}/track/", {**window, "zoom": 14})
            assert response.status_code == 200
        fleet_runs.append((time.perf_counter() - t0) * 1000)
    fleet_runs = fleet_runs[1:]
    from rest_framework.authtoken.models import Token

    from bench.intake import WORKERS, _free_port, start_server, stop_server

    token, _ = Token.objects.get_or_create(user=get_user_model().objects.get(username="bench-replay"))
    connections.close_all()
    port = _free_port()
    server = start_server(db_url, port, os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        over_http = fleet_over_http(port, token.key, ids, window, args.repeats)
    finally:
        stop_server(server)
    over_http["web_workers"] = WORKERS
    track14 = client.get(base + "track/", {**window, "zoom": 14}).json()
    stops = client.get(base + "stops/", window).json()
    results = {
        "benchmark": "replay",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "cells": args.cells,
        "units": args.units,
        "pings_per_unit": args.pings,
        "prepare_s": round(prepare_s, 1),
        "targets": TARGETS,
        "one_unit": one,
        "vertices": {
            "full": args.pings,
            "zoom14": sum(len(line) for line in (track14["geometry"] or {}).get("coordinates", [])),
        },
        "stops_found": len(stops["stops"]),
        "fleet": {
            "units": args.units,
            "zoom": 14,
            "median_ms": round(statistics.median(fleet_runs), 1),
            "best_ms": round(min(fleet_runs), 1),
            "samples_ms": [round(s, 1) for s in fleet_runs],
        },
        "fleet_over_http": over_http,
    }
    out = write_results(results, args.out)
    print_results(results)
    print(f"\nwrote {out}")
    return 0


def print_results(r: dict) -> None:
    n = r["pings_per_unit"]
    print(f"\n== replay on {r['cells']:,} cells, {n:,} pings per unit ({r['machine']['cpus']} CPUs) ==")
    print(f"{'request':<52}{'median':>10}{'best':>10}{'size':>11}   target")
    labels = {
        "track": ("GET track/ (full)", f"≤ {TARGETS['track_24h_ms']} ms"),
        "track_zoom14": ("GET track/?zoom=14", f"≤ {TARGETS['track_24h_ms']} ms"),
        "track_zoom12": ("GET track/?zoom=12", ""),
        "stops": ("GET stops/", ""),
        "visited_cells": ("GET visited-cells/", ""),
    }
    for key, (label, target) in labels.items():
        row = r["one_unit"][key]
        print(
            f"{label:<52}{row['median_ms']:>8.1f}ms{row['best_ms']:>8.1f}ms"
            f"{row['bytes'] / 1024:>9.0f}kB   {target}"
        )
    fleet = r["fleet"]
    label = f"{fleet['units']} units × track/?zoom=14, one after the other"
    target = f"≤ {TARGETS['fleet_20_units_ms']} ms"
    print(f"{label:<52}{fleet['median_ms']:>8.1f}ms{fleet['best_ms']:>8.1f}ms{'':>11}   {target}")
    page = r["fleet_over_http"]
    label = f"{page['units']} at once over HTTP ({page['connections']} conn., {page['web_workers']} workers)"
    print(
        f"{label:<52}{page['median_ms']:>8.1f}ms{page['best_ms']:>8.1f}ms"
        f"{page['bytes'] / 1024:>9.0f}kB   {target}"
    )
    v = r["vertices"]
    print(f"vertices at zoom 14: {v['zoom14']:,} of {v['full']:,}; stops found: {r['stops_found']}")


if __name__ == "__main__":
    sys.exit(main())
