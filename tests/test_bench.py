"""The routing benchmark still runs end to end (tiny sizes: figures are not asserted here — timing
thresholds do not belong in tests on shared machines; the JSON shape and the sanity of the
counts are)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_routing_benchmark_runs(tmp_path):
    out = tmp_path / "routing.json"
    done = subprocess.run(
        [
            sys.executable,
            "bench/routing.py",
            "--cells",
            "600",
            "--points",
            "300",
            "--http-requests",
            "200",
            "--concurrency",
            "2",
            "--database",
            "gridops_bench_smoke",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "route() single lookup" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    (run,) = result["runs"]
    assert run["cells"] == 600
    in_process = run["in_process"]
    assert 0 < in_process["points_inside_cells"] < in_process["points"]
    for key in ("single_route", "single_raw_strtree", "single_postgis_covers"):
        assert in_process[key]["p50_us"] <= in_process[key]["p99_us"]
    assert in_process["bulk_route_many_points_per_s"] > 0
    assert run["http"]["non_200"] == 0
    assert run["http"]["requests"] == 200


@pytest.mark.slow
def test_intake_benchmark_runs(tmp_path):
    """bench/intake.py --tiny: every phase runs over real HTTP and websockets; correctness (no
    report lost or duplicated on any console, no refused request) is asserted, speed is not."""
    out = tmp_path / "intake.json"
    done = subprocess.run(
        [
            sys.executable,
            "bench/intake.py",
            "--tiny",
            "--database",
            "gridops_bench_intake_smoke",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "report → 3 consoles" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    reports, console, pings = result["reports"], result["console"], result["pings"]
    assert reports["created"] > 0 and reports["non_201"] == 0
    assert reports["p50_ms"] <= reports["p99_ms"]
    assert console["created"] == console["posted"] > 0
    assert console["lost"] == 0 and console["duplicated"] == 0
    assert console["deliveries"] == console["created"] * console["consoles"]
    assert pings["accepted"] > 0 and pings["non_200"] == 0 and pings["rejected"] == 0
