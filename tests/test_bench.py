"""The routing benchmark still runs end to end (tiny sizes: figures are not asserted here — timing
thresholds do not belong in tests on shared machines; the JSON shape and the sanity of the
counts are)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *args: str, out: Path) -> subprocess.CompletedProcess:
    """Run a benchmark script from the repository root with `args` and `--out out`; fail with the
    end of its stderr when it does not exit 0."""
    done = subprocess.run(
        [sys.executable, script, *args, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_routing_benchmark_runs(tmp_path):
    out = tmp_path / "routing.json"
    done = run_bench(
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
        out=out,
    )
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
    done = run_bench("bench/intake.py", "--tiny", "--database", "gridops_bench_intake_smoke", out=out)
    assert "report → 3 consoles" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    reports, console, pings = result["reports"], result["console"], result["pings"]
    assert reports["created"] > 0 and reports["non_201"] == 0
    assert reports["p50_ms"] <= reports["p99_ms"]
    assert console["created"] == console["posted"] > 0
    assert console["lost"] == 0 and console["duplicated"] == 0
    assert console["deliveries"] == console["created"] * console["consoles"]
    # (b) ran once per number of consoles asked for, each with nothing lost or duplicated.
    runs = result["console_runs"]
    assert [r["consoles"] for r in runs] == [3, 5, 5] and "report → 5 consoles" in done.stdout
    assert runs[0] == console
    # (b') the largest fan-out again at a rate the server sustains: 60% of (a)'s.
    within = runs[-1]
    assert within["within_capacity"] == 0.6 and "(b') 5 consoles" in done.stdout
    assert within["target_per_s"] == max(5.0, round(0.6 * reports["reports_per_s"]))
    for run in runs:
        assert run["created"] == run["posted"] > 0 and run["lost"] == 0 and run["duplicated"] == 0
        assert run["deliveries"] == run["created"] * run["consoles"]
        # Where the time went, from the outbox rows: every stage measured, p50 ≤ p99.
        stages = run["stages"]
        assert list(stages) == ["sent_to_written", "written_to_numbered", "numbered_to_console"]
        for stage in stages.values():
            assert stage["p50_ms"] is not None and stage["p50_ms"] <= stage["p99_ms"]
    assert "(b) where the time goes" in done.stdout
    # (a') the fixed-rate run without consoles: every report accepted, latencies measured.
    fixed = result["fixed_rate"]
    assert fixed["created"] == fixed["posted"] > 0 and fixed["statuses"] == {"201": fixed["posted"]}
    assert fixed["post_p50_ms"] <= fixed["post_p99_ms"] and fixed["post_p99_from_due_ms"] is not None
    assert pings["accepted"] > 0 and pings["non_200"] == 0 and pings["rejected"] == 0
    # The baselines ran beside them, and the ratios are theirs.
    hello, copy = result["hello"], result["copy_baseline"]
    assert hello["requests"] > 0 and hello["non_200"] == 0
    assert result["reports_vs_hello"] == round(reports["reports_per_s"] / hello["requests_per_s"], 3)
    # The obvious way (bench/obvious.py) on the same server with the same clients: every report
    # accepted and stored routed to a team, the ratio ours to it.
    obvious = result["obvious"]
    assert obvious["created"] > 0 and obvious["non_201"] == 0 and "the obvious way" in done.stdout
    assert obvious["stored"] == obvious["stored_routed"] == obvious["created"]
    assert result["reports_vs_obvious"] == round(reports["reports_per_s"] / obvious["reports_per_s"], 2)
    # The same work outside Django's handler and DRF (bench/lean.py, served through the bench
    # settings' ASGI_APPLICATION): every report accepted and stored routed, its ratio to /healthz.
    lean = result["lean"]
    assert lean["created"] > 0 and lean["non_201"] == 0 and "outside Django and DRF" in done.stdout
    assert lean["stored"] == lean["stored_routed"] == lean["created"]
    assert result["lean_vs_hello"] == round(lean["reports_per_s"] / hello["requests_per_s"], 3)
    # What (a)'s 25% leaves a report's Python, from the same run's CPU parts.
    budget = result["reports_budget"]
    assert budget is not None and "a report's Python beyond a hello" in done.stdout
    parts = reports["server_cpu_ms_per_request_by_part"]
    outside = sum(v for k, v in parts.items() if k != "workers")
    assert budget["workers_allowed_ms"] == pytest.approx(
        hello["server_cpu_ms_per_request"] * 4 - outside, abs=2e-3
    )
    assert budget["workers_spent_ms"] == parts["workers"]
    assert 0 < budget["ceiling"] and budget["beyond_hello_spent_ms"] == pytest.approx(
        parts["workers"] - hello["server_cpu_ms_per_request_by_part"]["workers"], abs=2e-3
    )
    assert copy["rows"] >= pings["accepted"] and copy["rows_per_s"] > 0
    assert result["pings_vs_copy"] == round(pings["pings_per_s"] / copy["rows_per_s"], 3)


@pytest.mark.slow
@pytest.mark.browser
def test_ui_benchmark_runs(tmp_path):
    """bench/ui.py --tiny: the command centre loads in Chromium with and without open reports, and
    every report posted over HTTP is drawn on the map exactly once; speed is not asserted."""
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is not installed (Debian package chromium)")
    out = tmp_path / "ui.json"
    done = run_bench("bench/ui.py", "--tiny", "--database", "gridops_bench_ui_smoke", out=out)
    assert "event → marker drawn, 50 markers" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    for load in result["load"].values():
        assert load["loads"] == len(load["samples"]) == 3
        for key in ("dcl_ms", "map_ready_ms", "live_and_queue_ms", "markers_ms"):
            assert 0 < load[key]["p50_ms"] <= load[key]["max_ms"]
    assert result["load"]["reports"]["open_reports"] == 50
    for variant in ("steady", "burst"):
        latency = result["latency"][variant]
        assert latency["created"] == latency["posted"] == 20
        assert latency["drawn"] == 20
        assert latency["lost"] == 0 and latency["duplicated"] == 0
        assert 0 < latency["latency_p50_ms"] <= latency["latency_p99_ms"] <= latency["latency_max_ms"]
    assert result["page"]["after"]["live_reports"] == 50 + 2 * 20
    assert result["page_errors"] == []


@pytest.mark.slow
def test_replay_benchmark_runs(tmp_path):
    """bench/replay.py --tiny: tracks, stops and visited cells of synthetic days come back through
    the API for every unit; speed is not asserted."""
    out = tmp_path / "replay.json"
    done = run_bench("bench/replay.py", "--tiny", "--database", "gridops_bench_replay_smoke", out=out)
    assert "GET track/?zoom=14" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["pings_per_unit"] == 720 and result["units"] == 2
    for row in result["one_unit"].values():
        assert 0 < row["best_ms"] <= row["median_ms"]
        assert row["bytes"] > 0
    assert 1 < result["vertices"]["zoom14"] < result["vertices"]["full"]
    assert result["stops_found"] > 0
    assert 0 < result["fleet"]["best_ms"] <= result["fleet"]["median_ms"]
    page = result["fleet_over_http"]
    assert page["units"] == 2 and page["connections"] >= 1
    assert 0 < page["best_ms"] <= page["median_ms"]
    assert page["bytes"] > 0


@pytest.mark.slow
def test_retention_benchmark_runs(tmp_path):
    """bench/retention.py --tiny: both ways delete every old fix and keep every recent one (the
    bench itself checks that and fails otherwise); ours in batches of at most 5,000 rows."""
    out = tmp_path / "retention.json"
    done = run_bench("bench/retention.py", "--tiny", "--database", "gridops_bench_retention_smoke", out=out)
    assert "one DELETE (the obvious way)" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    old, recent = result["units"] * result["old_per_unit"], result["units"] * result["recent_per_unit"]
    assert old > 0 and recent > 0
    for name in ("ours", "obvious"):
        assert result[name]["deleted"] == old and result[name]["recent_kept"] == recent
        assert result[name]["rows_per_s"] > 0
    # One delete statement per unit (each has fewer than 5,000 old fixes here) and one list of units.
    assert result["ours"]["statements"] == result["units"] + 1 and result["obvious"]["statements"] == 1


@pytest.mark.slow
def test_planning_benchmark_runs(tmp_path):
    """bench/planning.py --tiny: a draft moves cells between zones and is published; the figure is
    measured, not asserted."""
    out = tmp_path / "planning.json"
    run_bench("bench/planning.py", "--tiny", "--database", "gridops_bench_planning_smoke", out=out)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["moved_cells"] > 0 and result["runs"]
    assert 0 < result["publish_best_ms"] <= result["publish_median_ms"]


@pytest.mark.slow
def test_tiles_benchmark_runs(tmp_path):
    """bench/tiles.py --tiny: vector tiles and the GeoJSON baselines of a small county; the figures
    are measured, not asserted."""
    out = tmp_path / "tiles.json"
    run_bench("bench/tiles.py", "--tiny", "--database", "gridops_bench_tiles_smoke", out=out)
    (run,) = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert run["cells"] == 600
    assert run["z12_tiles"]["with_cells"] > 0
    assert 0 < run["z12_tiles"]["kb"]["median"] <= run["z12_tiles"]["kb"]["max"]
    assert run["z12_tiles"]["gzip_kb"]["max"] < run["z12_tiles"]["kb"]["max"]
    # A tile of the densest area is smaller than the GeoJSON of the same area and of the county.
    dense = run["densest_z12"]
    assert 0 < dense["mvt_kb"] < dense["bbox_geojson_kb"] < run["geojson_all"]["kb"]


@pytest.mark.slow
def test_memory_benchmark_runs(tmp_path):
    """bench/memory.py --tiny: a fresh process measures itself before and after the routing index."""
    out = tmp_path / "memory.json"
    run_bench("bench/memory.py", "--tiny", "--database", "gridops_bench_memory_smoke", out=out)
    (run,) = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert run["cells"] == 600
    assert 0 < run["django_and_app"] <= run["with_index"] <= run["after_use"]
    assert run["index_mb"] == pytest.approx(run["with_index"] - run["django_and_app"], abs=0.2)


@pytest.mark.slow
def test_jt808_benchmark_runs(tmp_path):
    """bench/jt808.py --tiny: terminals sign in over TCP, every location report is answered OK
    and stored once, and every fix reaches every console on /ws/live/; speed is not asserted."""
    out = tmp_path / "jt808.json"
    done = run_bench("bench/jt808.py", "--tiny", "--database", "gridops_bench_jt808_smoke", out=out)
    assert "0x0200 from 20 terminals" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    a, b = result["throughput"], result["latency"]
    assert a["answered_ok"] > 0 and a["answered_other"] == 0
    assert a["pings_stored"] == a["answered_ok"] + b["fixes_sent"]
    assert b["fixes_sent"] > 0 and b["answered"] == {"0": b["fixes_sent"]}
    # Positions reach every console, or a later one of the same unit does (one per unit per second).
    assert b["missed"] == 0 and b["deliveries"] + b["superseded"] == b["fixes_sent"] * b["consoles"]
    assert 0 < b["latency_p50_ms"] <= b["latency_p99_ms"] <= b["latency_max_ms"]


@pytest.mark.slow
def test_statements_benchmark_runs(tmp_path):
    """bench/statements.py: both bindings write through the real services and are measured."""
    out = tmp_path / "statements.json"
    done = run_bench(
        "bench/statements.py",
        "--cells",
        "500",
        "--rounds",
        "2",
        "--reports",
        "20",
        "--batches",
        "3",
        "--database",
        "gridops_bench_statements_smoke",
        out=out,
    )
    assert "prepared statements against Django's client-side binding" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    for path in ("report", "ping_batch"):
        for side in ("django", "prepared"):
            figures = result[path][side]
            assert len(figures["client_us"]["runs"]) == 2
            assert figures["client_us"]["median"] > 0 and figures["wall_us"]["median"] > 0
        assert set(result[path]["prepared_vs_django"]) == {"client_us", "postgres_us", "wall_us"}


def test_consoles_are_spread_evenly_over_processes():
    from bench.intake import _split

    assert _split(50, 5) == [10] * 5
    assert _split(7, 2) == [4, 3]
    assert _split(3, 1) == [3]
    assert sum(_split(23, 3)) == 23 and max(_split(23, 3)) - min(_split(23, 3)) <= 1
