#!/usr/bin/env python
"""Command-centre benchmark: /command/ load time, and live event → marker on screen latency.

    .venv/bin/python bench/ui.py            # full run (make bench)
    .venv/bin/python bench/ui.py --tiny     # a smoke run, under a minute (tests/test_bench.py)

    (a) load time of /command/ in Chromium (1920×1080, signed in as a dispatcher), N loads, each in
        a new browser context (empty HTTP cache, same session cookie): from navigation start to
        DOMContentLoaded, to `#map[data-state=ready]`, to live (`#live-indicator[data-state=live]`
        and the queue rendered, `#queue[data-count]`) and to every open report on the map
        (`#map[data-live-reports]` ≥ the open reports). Once with the demo's own data (no report),
        once with R open reports (R live markers);
    (b) event → marker on screen with R live markers: reports are POSTed over HTTP at a steady rate
        and in a burst; latency = the page's `gridops:report-drawn` (dispatched at the animation
        frame that draws the new report, `Date.now()`) − `time.time()` just before the POST (one
        machine, one clock), split where the websocket frame reached the browser (DevTools) and
        where the page's message handler ran. A report not drawn within 10 s of its POST is lost;
        drawn twice, duplicated. The CPU of Chromium and of the server in each phase (and with the
        page idle), the page's JS heap and DOM size before and after.

It builds its own database from scratch (gridops_bench_ui: `geodata_demo` with its default cells,
the demo devices as `make demo-devices` makes them, a dispatcher with a password), serves it as
`make demo` does (`gridops_serve --workers 2` with the outbox relay, no simulator) on a free port,
and drives Debian's Chromium with Playwright. Prints a table and writes bench/results/ui.json.
"""

import argparse
import http.client
import json
import os
import platform
import random
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import use_database, write_results  # noqa: E402  (ROOT on sys.path first)
from bench.intake import (  # noqa: E402  (ROOT on sys.path first)
    WORKERS,
    _free_port,
    percentile,
    say,
    start_server,
    stop_server,
)

CHROMIUM = "/usr/bin/chromium"
# --enable-precise-memory-info: performance.memory is otherwise rounded to coarse buckets.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--enable-precise-memory-info"]
VIEWPORT = {"width": 1920, "height": 1080}
DISPATCHER = "bench-dispatcher"
PASSWORD = "bench-ui-pass-123"
LOST_AFTER_MS = 10_000
TARGETS = {"lost": 0, "duplicated": 0}

# Installed before the page's own scripts: timestamps (ms since navigation start) of the moments
# the page reaches each state, taken by a MutationObserver on the few attributes that say so (no
# polling, so the figure is when the page got there, not when the bench looked); every
# `gridops:report-drawn` as [id, at]; and when each report.created came off the websocket.
PAGE_PROBE = """
(() => {
  const expectReports = %d;
  const marks = (window.__benchMarks = {});
  window.__benchDrawn = [];
  window.__benchHeard = [];
  // When each report.created reached the page (before the page's own listener runs): splits the
  // latency into server + network and the page's own work.
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const at = Date.now();
        const frame = JSON.parse(event.data);
        for (const m of Array.isArray(frame) ? frame : [frame]) {
          if (m.type === "report.created") window.__benchHeard.push([m.data.id, at]);
        }
      });
    }
  };
  document.addEventListener("gridops:report-drawn", (e) => {
    window.__benchDrawn.push([e.detail.id, e.detail.at]);
  });
  const stamp = (key, yes) => { if (yes && marks[key] === undefined) marks[key] = performance.now(); };
  const look = () => {
    const map = document.getElementById("map");
    const live = document.getElementById("live-indicator");
    const queue = document.getElementById("queue");
    stamp("mapReady", map?.dataset.state === "ready");
    stamp("live", live?.dataset.state === "live");
    stamp("queue", queue?.dataset.count !== undefined);
    const shown = map?.dataset.liveReports;
    stamp("markers", shown !== undefined && Number(shown) >= expectReports);
    marks.failed = map?.dataset.state === "error";
    marks.done = ["mapReady", "live", "queue", "markers"].every((k) => marks[k] !== undefined);
  };
  new MutationObserver(look).observe(document, {
    subtree: true,
    attributes: true,
    attributeFilter: ["data-state", "data-count", "data-live-reports"],
  });
})();
"""


# --- Setup --------------------------------------------------------------------------------------------


def prepare(cells: int | None) -> tuple[dict, str]:
    """The default demo county and devices, a dispatcher; returns (plan, a grid worker's API token)."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection

    from geodata.models import Matter
    from gridops.services.demo_devices import demo_devices_ensure

    call_command("migrate", verbosity=0)
    call_command("geodata_demo", *([f"--cells={cells}"] if cells else []), verbosity=0)
    tokens = demo_devices_ensure().tokens
    user = User.objects.create_user(DISPATCHER, password=PASSWORD, first_name="压测调度员")
    user.groups.add(Group.objects.get(name="dispatcher"))
    with connection.cursor() as cursor:
        cursor.execute(
            "select st_x(p), st_y(p) from (select st_pointonsurface(geom) p from geodata_gridcell) s"
        )
        points = [(round(x, 6), round(y, 6)) for x, y in cursor.fetchall()]
    matters = list(Matter.objects.filter(handled_by="township", active=True).values_list("code", flat=True))
    return {"points": points, "matters": matters}, tokens["gridworker"]


# --- Reports over HTTP --------------------------------------------------------------------------------


def post_reports(
    port: int, token: str, plan: dict, *, count: int, rate: float | None, connections: int, seed: int
) -> list[dict]:
    """POST `count` reports, open loop: report n is due at start + n / rate (None: as fast as the
    connections go), sent by whichever connection is free. Returns one row per report:
    {"sent_ms": time.time() in ms just before the request, "status", "id"}."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        lon, lat = rng.choice(plan["points"])
        bodies.append(
            {
                "lon": lon,
                "lat": lat,
                "crs": "wgs84",
                "matter": rng.choice(plan["matters"]),
                "description": "压测上报：指挥中心上图延迟",
                "client_uuid": str(uuid.uuid4()),
                "priority": 0,
            }
        )
    rows: list[dict | None] = [None] * count
    lock = threading.Lock()
    next_n = iter(range(count))
    started = time.monotonic() + 0.1
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }

    def sender() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while True:
                with lock:
                    n = next(next_n, None)
                if n is None:
                    return
                if rate:
                    delay = started + n / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                data = json.dumps(bodies[n], ensure_ascii=False).encode()
                sent_ms = time.time() * 1000
                t0 = time.perf_counter()
                conn.request("POST", "/api/v1/reports/", body=data, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
                rows[n] = {
                    "sent_ms": sent_ms,
                    "post_ms": (time.perf_counter() - t0) * 1e3,
                    "status": answer.status,
                    "id": json.loads(body)["id"] if answer.status == 201 else None,
                }
        finally:
            conn.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in rows if r is not None]


# --- Browser ------------------------------------------------------------------------------------------


class Browser:
    """One Chromium; contexts signed in as the dispatcher (one login, its storage state reused)."""

    def __init__(self, base_url: str) -> None:
        from playwright.sync_api import sync_playwright

        self.base_url = base_url
        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.errors: list[str] = []
        context = self.browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{base_url}/accounts/login/?next=/command/")
        page.fill("#id_username", DISPATCHER)
        page.fill("#id_password", PASSWORD)
        page.click(".login-form button[type=submit]")
        page.wait_for_url(f"{base_url}/command/", wait_until="domcontentloaded")
        self.storage_state = context.storage_state()
        context.close()

    def open_command(
        self, expect_reports: int, *, frames: "SocketFrames | None" = None, timeout_s: float = 90
    ):
        """A new context and page on /command/, waited for until every state is reached;
        returns (context, page, timings in ms since navigation start)."""
        context = self.browser.new_context(
            viewport=VIEWPORT, locale="zh-CN", storage_state=self.storage_state
        )
        context.add_init_script(PAGE_PROBE % expect_reports)
        page = context.new_page()
        if frames is not None:
            frames.attach(context, page)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console.error: {message.text}") if message.type == "error" else None
            ),
        )
        page.goto(f"{self.base_url}/command/", wait_until="domcontentloaded")
        page.wait_for_function(
            "() => window.__benchMarks.done || window.__benchMarks.failed", timeout=timeout_s * 1000
        )
        timings = page.evaluate(
            """() => {
              const nav = performance.getEntriesByType("navigation")[0];
              return {...window.__benchMarks, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd};
            }"""
        )
        if timings.get("failed"):
            raise RuntimeError("the command centre failed to load (#map[data-state=error])")
        return context, page, timings

    def close(self) -> None:
        self.browser.close()
        self._playwright.stop()


class SocketFrames:
    """When each report.created frame came off the network into the browser, by the DevTools
    protocol (the browser's own timestamps, not when Python hears of them): the moment between
    the server's work and the page's. Its clock is monotonic; the websocket handshake event carries
    the wall time too, which gives the offset."""

    def __init__(self) -> None:
        self.offset_s: float | None = None
        self.received: dict[int, float] = {}  # report id -> wall time in ms (the first frame)

    def attach(self, context, page) -> None:
        session = context.new_cdp_session(page)
        session.on("Network.webSocketWillSendHandshakeRequest", self._handshake)
        session.on("Network.webSocketFrameReceived", self._frame)
        session.send("Network.enable")

    def _handshake(self, event: dict) -> None:
        self.offset_s = event["wallTime"] - event["timestamp"]

    def _frame(self, event: dict) -> None:
        if self.offset_s is None:
            return
        at = (event["timestamp"] + self.offset_s) * 1000
        try:
            frame = json.loads(event["response"]["payloadData"])
        except (KeyError, ValueError):
            return
        for message in frame if isinstance(frame, list) else [frame]:
            if isinstance(message, dict) and message.get("type") == "report.created":
                self.received.setdefault(message["data"]["id"], at)


class CpuMeter:
    """CPU used over a window, in cores: by Chromium (every process of it, from the DevTools
    protocol) and by the server (every process of its session, the workers and the relay, from
    /proc). On two cores, the browser drawing a wall map competes with the server it listens to."""

    def __init__(self, browser: Browser, server_session: int) -> None:
        self.cdp = browser.browser.new_browser_cdp_session()
        self.server_session = server_session
        self.tick = os.sysconf("SC_CLK_TCK")
        self.started = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        chromium = sum(p["cpuTime"] for p in self.cdp.send("SystemInfo.getProcessInfo")["processInfo"])
        server = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == self.server_session:  # field 6, the session id
                server += (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
        return time.monotonic(), chromium, server

    def restart(self) -> None:
        self.started = self._sample()

    def cores(self) -> dict:
        (t0, c0, s0), (t1, c1, s1) = self.started, self._sample()
        return {
            "seconds": round(t1 - t0, 1),
            "chromium_cores": round((c1 - c0) / (t1 - t0), 2),
            "server_cores": round((s1 - s0) / (t1 - t0), 2),
        }


def _spread(values: list[float]) -> dict:
    return {"p50_ms": percentile(values, 50), "max_ms": percentile(values, 100)}


def bench_loads(browser: Browser, loads: int, open_reports: int) -> dict:
    samples = []
    for i in range(loads):
        context, _page, t = browser.open_command(open_reports)
        context.close()
        sample = {
            "dcl_ms": round(t["dcl"], 1),
            "map_ready_ms": round(t["mapReady"], 1),
            "live_and_queue_ms": round(max(t["live"], t["queue"]), 1),
            "markers_ms": round(t["markers"], 1),
        }
        samples.append(sample)
        say(f"  load {i + 1}/{loads}: {sample}")
    figures = {key: _spread([s[key] for s in samples]) for key in samples[0]}
    return {"open_reports": open_reports, "loads": loads, **figures, "samples": samples}


def bench_latency(
    page,
    frames: SocketFrames,
    cpu: CpuMeter,
    port: int,
    token: str,
    plan: dict,
    *,
    label: str,
    count: int,
    rate: float,
    seed: int,
) -> dict:
    page.evaluate("() => { window.__benchDrawn.length = 0; window.__benchHeard.length = 0; }")
    say(f"(b) {label}: {count} reports at {rate}/s")
    cpu.restart()
    rows = post_reports(port, token, plan, count=count, rate=rate, connections=4, seed=seed)
    sent_span_s = (max(r["sent_ms"] for r in rows) - min(r["sent_ms"] for r in rows)) / 1000
    created = {r["id"]: r["sent_ms"] for r in rows if r["status"] == 201}
    deadline = time.monotonic() + LOST_AFTER_MS / 1000
    drawn: list[list] = []
    while time.monotonic() < deadline:
        drawn = page.evaluate("() => window.__benchDrawn.slice()")
        if set(created) <= {report_id for report_id, _at in drawn}:
            break
        page.wait_for_timeout(200)
    page.wait_for_timeout(500)  # a duplicate, if any, comes right after the first
    used = cpu.cores()
    drawn = page.evaluate("() => window.__benchDrawn.slice()")
    heard = dict(reversed(page.evaluate("() => window.__benchHeard.slice()")))  # the first of each id
    first: dict[int, float] = {}
    times: dict[int, int] = {}
    for report_id, at in drawn:
        times[report_id] = times.get(report_id, 0) + 1
        first.setdefault(report_id, at)
    latencies = [
        first[i] - sent for i, sent in created.items() if i in first and first[i] - sent <= LOST_AFTER_MS
    ]
    # Where the time goes: POST → frame in the browser (server, relay, channel layer, network);
    # frame → the page's message handler (waiting for the page's main thread); handler → drawn.
    net = frames.received
    server = [net[i] - sent for i, sent in created.items() if i in net]
    waiting = [heard[i] - net[i] for i in created if i in heard and i in net]
    working = [first[i] - heard[i] for i in created if i in first and i in heard]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    return {
        "target_per_s": rate,
        "posted": len(rows),
        "created": len(created),
        "achieved_per_s": round((len(rows) - 1) / sent_span_s, 1) if sent_span_s else None,
        "statuses": statuses,
        "post_p50_ms": percentile([r["post_ms"] for r in rows], 50),
        "post_p99_ms": percentile([r["post_ms"] for r in rows], 99),
        "drawn": len(latencies),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
        "latency_max_ms": percentile(latencies, 100),
        "split": {
            "post_to_frame_p50_ms": percentile(server, 50),
            "post_to_frame_p99_ms": percentile(server, 99),
            "frame_to_handler_p50_ms": percentile(waiting, 50),
            "frame_to_handler_p99_ms": percentile(waiting, 99),
            "handler_to_drawn_p50_ms": percentile(working, 50),
            "handler_to_drawn_p99_ms": percentile(working, 99),
        },
        "cpu": used,
        "lost": len(created) - len(latencies),
        "duplicated": sum(1 for i in created if times.get(i, 0) > 1),
    }


def page_memory(page) -> dict:
    return page.evaluate(
        """() => {
          const mb = (bytes) => (performance.memory ? +(bytes / 2 ** 20).toFixed(1) : null);
          return {
            js_heap_used_mb: mb(performance.memory?.usedJSHeapSize),
            js_heap_total_mb: mb(performance.memory?.totalJSHeapSize),
            dom_nodes: document.getElementsByTagName("*").length,
            live_reports: Number(document.getElementById("map").dataset.liveReports),
          };
        }"""
    )


# --- Main ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="gridops_bench_ui")
    redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    parser.add_argument("--redis-url", default=f"{redis_base}/9", help="a Redis database of its own")
    parser.add_argument("--cells", type=int, help="demo grid cells (default: geodata_demo's own)")
    parser.add_argument("--loads", type=int, default=7, help="(a) page loads per data set")
    parser.add_argument("--reports", type=int, default=500, help="open reports (live markers)")
    parser.add_argument("--events", type=int, default=200, help="(b) reports posted per variant")
    parser.add_argument("--steady-rate", type=float, default=5, help="(b) reports/s, steady")
    parser.add_argument("--burst-rate", type=float, default=50, help="(b) reports/s, burst")
    parser.add_argument("--idle-seconds", type=float, default=5, help="(b) CPU of the idle page first")
    parser.add_argument(
        "--no-animations",
        action="store_true",
        help="(b) diagnosis: CSS animations off in the measured page, to see what they cost",
    )
    parser.add_argument("--tiny", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "ui.json"))
    args = parser.parse_args()
    if args.tiny:
        args.cells, args.loads, args.reports, args.events, args.steady_rate = 600, 3, 50, 20, 10
        args.idle_seconds = 1
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} is not installed (Debian package chromium)", file=sys.stderr)
        return 2

    db_url = use_database(args.database, fresh=True, redis_url=args.redis_url)
    from django.db import connections

    say("preparing the database (default demo county and devices)")
    plan, token = prepare(args.cells)
    connections.close_all()

    port = _free_port()
    server = start_server(db_url, port, args.redis_url)
    browser = None
    try:
        say(f"server on port {port}; signing in")
        browser = Browser(f"http://127.0.0.1:{port}")
        say(f"(a) {args.loads} loads, demo data")
        load_demo = bench_loads(browser, args.loads, 0)
        say(f"creating {args.reports} open reports")
        seeded = post_reports(port, token, plan, count=args.reports, rate=None, connections=4, seed=1)
        refused = [r for r in seeded if r["status"] != 201]
        if refused:
            raise RuntimeError(f"{len(refused)} of the {args.reports} reports were refused: {refused[:3]}")
        say(f"(a) {args.loads} loads, {args.reports} open reports")
        load_reports = bench_loads(browser, args.loads, args.reports)

        frames = SocketFrames()
        context, page, _timings = browser.open_command(args.reports, frames=frames)
        if args.no_animations:
            page.add_style_tag(content="*, *::before, *::after { animation: none !important; }")
        memory_before = page_memory(page)
        cpu = CpuMeter(browser, server.pid)
        page.wait_for_timeout(args.idle_seconds * 1000)
        idle = cpu.cores()
        say(f"(b) idle page with {args.reports} markers: {idle}")
        steady = bench_latency(
            page,
            frames,
            cpu,
            port,
            token,
            plan,
            label="steady",
            count=args.events,
            rate=args.steady_rate,
            seed=2,
        )
        burst = bench_latency(
            page,
            frames,
            cpu,
            port,
            token,
            plan,
            label="burst",
            count=args.events,
            rate=args.burst_rate,
            seed=3,
        )
        memory_after = page_memory(page)
        context.close()
        chromium = browser.browser.version
    finally:
        if browser is not None:
            browser.close()
        stop_server(server)

    results = {
        "benchmark": "ui",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "web_workers": WORKERS,
            "platform": platform.platform(),
            "chromium": chromium,
        },
        "viewport": VIEWPORT,
        "targets": TARGETS,
        "load": {"demo": load_demo, "reports": load_reports},
        "latency": {
            "open_reports": args.reports,
            "css_animations": not args.no_animations,
            "idle_cpu": idle,
            "steady": steady,
            "burst": burst,
        },
        "page": {"before": memory_before, "after": memory_after},
        "page_errors": browser.errors,
    }
    out = write_results(results, args.out)
    print_results(results)
    print(f"\nwrote {out}")
    return 0


def print_results(r: dict) -> None:
    def split(v: dict, part: str) -> str:
        return f"{round(v['split'][part + '_p50_ms'])}/{round(v['split'][part + '_p99_ms'])}"

    def spread(figure: dict) -> str:
        return f"{figure['p50_ms']:.0f} / {figure['max_ms']:.0f}"

    print(
        f"\n== command centre /command/ ({r['machine']['cpus']} CPUs, Chromium {r['machine']['chromium']}) =="
    )
    print(
        f"{'load, ms from navigation start (p50 / max)':<44}{'DOMContentLoaded':>18}{'map ready':>14}"
        f"{'live + queue':>14}{'all markers':>14}"
    )
    for load in r["load"].values():
        label = f"{load['open_reports']} open reports, {load['loads']} loads"
        print(
            f"{label:<44}{spread(load['dcl_ms']):>18}{spread(load['map_ready_ms']):>14}"
            f"{spread(load['live_and_queue_ms']):>14}{spread(load['markers_ms']):>14}"
        )
    lat = r["latency"]
    label = f"event → marker drawn, {lat['open_reports']} markers"
    print(
        f"\n{label:<44}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'lost':>6}{'dup':>5}{'posted':>10}"
        "   p50/p99: POST → frame | → handler | → drawn   CPU cores: Chromium, server"
    )
    for name in ("steady", "burst"):
        v = lat[name]
        label = f"{name}: {v['created']} reports at {v['target_per_s']:g}/s"
        print(
            f"{label:<44}{v['latency_p50_ms']:>9}{v['latency_p99_ms']:>9}{v['latency_max_ms']:>9}"
            f"{v['lost']:>6}{v['duplicated']:>5}{str(v['achieved_per_s']) + '/s':>10}"
            + "   "
            + " | ".join(split(v, part) for part in ("post_to_frame", "frame_to_handler", "handler_to_drawn"))
            + f"   {v['cpu']['chromium_cores']}, {v['cpu']['server_cores']}"
        )
    idle = lat["idle_cpu"]
    print(
        f"CPU of the idle page with {lat['open_reports']} markers ({idle['seconds']} s): "
        f"Chromium {idle['chromium_cores']} cores, server {idle['server_cores']} cores"
    )
    before, after = r["page"]["before"], r["page"]["after"]
    print(
        f"\npage: JS heap {before['js_heap_used_mb']} → {after['js_heap_used_mb']} MB, "
        f"{before['dom_nodes']} → {after['dom_nodes']} DOM nodes, "
        f"{before['live_reports']} → {after['live_reports']} live reports; "
        f"page errors: {len(r['page_errors'])}"
    )


if __name__ == "__main__":
    sys.exit(main())
