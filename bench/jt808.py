#!/usr/bin/env python
"""JT/T 808 gateway benchmark: positions/s through one gateway process, and frame → console latency.

    .venv/bin/python bench/jt808.py            # full run: 500 terminals
    .venv/bin/python bench/jt808.py --tiny     # a smoke run of a few seconds (tests/test_bench.py)

    (a) throughput: N terminals connected at once (each registered and authenticated, 0x0100 →
        0x8100, 0x0102 → 0x8001) send 0x0200 location reports as fast as the gateway answers, in
        bursts of B frames per write (terminals do not wait for each answer); positions/s = fixes
        answered "OK" (stored or duplicate; the gateway answers only after ping_batch_ingest
        returned) per second, cross-checked against the Ping rows in the database;
    (b) latency: the same N terminals each report a fix every P seconds of real time while C
        consoles listen on /ws/live/?stream=county; latency = console receive time − the time the
        terminal wrote the frame (CLOCK_MONOTONIC is system-wide, so processes compare), matched on
        (unit code, fix time) of `unit.moved`.

It builds its own database (gridops_bench_jt808: the demo county, N extra vehicles with terminal
numbers across the comprehensive teams), starts the web server as `make demo` does (gridops_serve:
uvicorn workers + the outbox relay process) for the consoles, and ONE gateway process
(`manage.py gridops_jt808`); terminals and consoles run in separate processes (asyncio).
Prints a table and writes bench/results/jt808.json.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import use_database, write_results  # noqa: E402  (ROOT on sys.path first)
from bench.intake import _free_ports, percentile, say, start_server, stop_server  # noqa: E402
from gridops.jt808 import protocol as p  # noqa: E402  (pure: no Django needed)

TERMINAL_BASE = 15_000_000_000  # terminal numbers 015000000000 + n


# --- terminals ---------------------------------------------------------------------------------------


class AsyncTerminal:
    def __init__(self, port: int, number: str) -> None:
        self.port, self.number = port, number
        self.serial = 0
        self.reader_p = p.FrameReader()
        self.inbox: list[p.Frame] = []

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def frame(self, msg_id: int, body: bytes) -> bytes:
        self.serial = (self.serial + 1) & 0xFFFF
        return p.frame_encode(msg_id, self.number, self.serial, body)

    async def receive(self) -> p.Frame:
        while not self.inbox:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("gateway closed the connection")
            self.inbox.extend(f for f in self.reader_p.feed(data) if isinstance(f, p.Frame))
        return self.inbox.pop(0)

    async def request(self, msg_id: int, body: bytes) -> p.Frame:
        self.writer.write(self.frame(msg_id, body))
        await self.writer.drain()
        return await self.receive()

    async def sign_in(self) -> None:
        reg = p.Registration(33, 225, "BENCH", "B-808", self.number[-7:], 1, "浙B" + self.number[-5:])
        reply = await self.request(p.REGISTER, p.register_encode(reg))
        _, result, code = p.register_response_decode(reply.body)
        if result != p.REGISTER_OK:
            raise RuntimeError(f"terminal {self.number}: registration result {result}")
        reply = await self.request(p.AUTHENTICATE, p.authenticate_encode(code))
        if p.platform_response_decode(reply.body)[2] != p.RESULT_OK:
            raise RuntimeError(f"terminal {self.number}: authentication refused")

    def close(self) -> None:
        self.writer.close()


def _location(lon: float, lat: float, at: datetime, k: int) -> bytes:
    return p.location_encode(
        p.Location(0, p.STATUS_ACC | p.STATUS_POSITIONED, lat, lon, 5, 20 + k % 30, (k * 7) % 360, at)
    )


def _terminals_worker(port: int, terminals: list[dict], args, ready, go, out) -> None:
    """(a) then (b), in one process holding all N connections."""

    async def connect_all() -> list[AsyncTerminal]:
        conns = [AsyncTerminal(port, t["number"]) for t in terminals]
        sem = asyncio.Semaphore(50)  # sign in 50 at a time: registration writes to the database

        async def one(term: AsyncTerminal) -> None:
            async with sem:
                await term.connect()
                await term.sign_in()

        await asyncio.gather(*(one(t) for t in conns))
        return conns

    async def throughput(conns: list[AsyncTerminal]) -> dict:
        start_fix = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=20)
        results: dict[int, int] = {}
        deadline = time.monotonic() + args.seconds

        async def run(i: int, term: AsyncTerminal) -> None:
            lon, lat = terminals[i]["point"]
            k = 0
            while time.monotonic() < deadline:
                burst = []
                for _ in range(args.burst):
                    at = start_fix + timedelta(seconds=k)  # one fix per second of fix time: all distinct
                    burst.append(term.frame(p.LOCATION, _location(lon + (k % 50) * 1e-5, lat, at, k)))
                    k += 1
                term.writer.write(b"".join(burst))
                await term.writer.drain()
                for _ in burst:
                    reply = await term.receive()
                    result = p.platform_response_decode(reply.body)[2]
                    results[result] = results.get(result, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(run(i, t) for i, t in enumerate(conns)))
        elapsed = time.monotonic() - started
        ok = results.get(p.RESULT_OK, 0)
        return {
            "terminals": len(conns),
            "burst": args.burst,
            "seconds": round(elapsed, 2),
            "answered_ok": ok,
            "answered_other": sum(v for r, v in results.items() if r != p.RESULT_OK),
            "positions_per_s": round(ok / elapsed, 1),
        }

    async def latency(conns: list[AsyncTerminal]) -> dict:
        sent: dict[str, float] = {}  # "code|epoch" → monotonic send time
        results: dict[int, int] = {}
        answer_ms: list[float] = []  # frame written → its 0x8001 read (the fix is stored by then)
        deadline = time.monotonic() + args.latency_seconds

        async def run(i: int, term: AsyncTerminal) -> None:
            lon, lat = terminals[i]["point"]
            await asyncio.sleep(args.period * i / len(conns))  # spread over one period
            k, last = 0, None
            while time.monotonic() < deadline:
                t0 = time.monotonic()
                at = datetime.now(UTC).replace(microsecond=0)
                if last is not None and at <= last:  # fix times are whole seconds: keep them distinct
                    at = last + timedelta(seconds=1)
                last = at
                term.writer.write(term.frame(p.LOCATION, _location(lon + (k % 50) * 1e-5, lat, at, k)))
                sent[f"{terminals[i]['unit']}|{int(at.timestamp())}"] = t0
                await term.writer.drain()
                reply = await term.receive()
                answer_ms.append((time.monotonic() - t0) * 1e3)
                result = p.platform_response_decode(reply.body)[2]
                results[result] = results.get(result, 0) + 1
                k += 1
                await asyncio.sleep(max(0.0, args.period - (time.monotonic() - t0)))

        await asyncio.gather(*(run(i, t) for i, t in enumerate(conns)))
        return {
            "sent": sent,
            "answered": {str(r): v for r, v in results.items()},
            "answer_p50_ms": percentile(answer_ms, 50),
            "answer_p99_ms": percentile(answer_ms, 99),
        }

    async def main() -> dict:
        t0 = time.monotonic()
        conns = await connect_all()
        signed_in_s = time.monotonic() - t0
        a = await throughput(conns)
        ready.set()  # consoles may connect now
        go.wait()
        b = await latency(conns)
        for c in conns:
            c.close()
        return {"sign_in_seconds": round(signed_in_s, 2), "throughput": a, "latency": b}

    out.put(asyncio.run(main()))


# --- consoles ----------------------------------------------------------------------------------------


def _consoles_worker(port: int, token: str, consoles: int, connected_evt, stop, out) -> None:
    import websockets

    async def console(i: int, seen: list[dict]) -> None:
        url = f"ws://127.0.0.1:{port}/ws/live/?stream=county&token={token}"
        async with websockets.connect(
            url, origin=f"http://127.0.0.1:{port}", max_size=None, open_timeout=30
        ) as ws:
            seen[i]["_connected"] = 1.0
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.2)
                except TimeoutError:
                    if stop.is_set():
                        return
                    continue
                now = time.monotonic()
                frame = json.loads(raw)
                for m in frame if isinstance(frame, list) else [frame]:
                    if m.get("type") != "unit.moved":
                        continue
                    d = m.get("data") or {}
                    if not d.get("fix_at"):
                        continue
                    key = f"{d['code']}|{int(datetime.fromisoformat(d['fix_at']).timestamp())}"
                    seen[i].setdefault(key, now)

    async def main() -> list[dict]:
        seen: list[dict] = [{} for _ in range(consoles)]
        tasks = [asyncio.create_task(console(i, seen)) for i in range(consoles)]
        while sum("_connected" in s for s in seen) < consoles:
            for t in tasks:
                if t.done() and t.exception():
                    raise t.exception()
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        connected_evt.set()
        await asyncio.gather(*tasks)
        return seen

    out.put(asyncio.run(main()))


# --- setup ---------------------------------------------------------------------------------------------


def prepare(cells: int, terminals: int) -> tuple[list[dict], str]:
    """Demo county, N vehicles with terminal numbers, a dispatcher token; returns (terminals, token)."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from geodata.demo.load import geodata_demo_load
    from geodata.models import Team, ZoneCell
    from gridops.models import Device, Unit

    call_command("migrate", verbosity=0)
    geodata_demo_load(cells=cells)
    teams = list(Team.objects.filter(kind=Team.Kind.COMPREHENSIVE).order_by("code"))
    points: dict[int, list] = {}
    for team_id, geom in ZoneCell.objects.filter(zone__team__in=teams).values_list(
        "zone__team_id", "cell__geom"
    ):
        c = geom.point_on_surface
        points.setdefault(team_id, []).append((round(c.x, 6), round(c.y, 6)))
    teams = [t for t in teams if points.get(t.pk)]
    devices = Device.objects.bulk_create(
        [
            Device(
                code=f"jt808-bench-{n:04d}",
                name=f"压测车载终端{n}",
                kind=Device.Kind.TRACKER,
                jt808_terminal=f"{TERMINAL_BASE + n:012d}",
            )
            for n in range(terminals)
        ]
    )
    units = Unit.objects.bulk_create(
        [
            Unit(
                code=f"jt808-car-{n:04d}",
                name=f"压测巡查车{n}",
                kind=Unit.Kind.VEHICLE,
                team=teams[n % len(teams)],
                device=d,
            )
            for n, d in enumerate(devices)
        ]
    )
    rows = [
        {
            "number": d.jt808_terminal,
            "unit": u.code,
            "point": points[u.team_id][n // len(teams) % len(points[u.team_id])],
        }
        for n, (d, u) in enumerate(zip(devices, units, strict=True))
    ]
    dispatcher, _ = User.objects.get_or_create(username="bench-dispatcher")
    dispatcher.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    token = Token.objects.get_or_create(user=dispatcher)[0].key
    return rows, token


def _wait_while_running(event, timeout: float, *, gateway: subprocess.Popen, worker, log: Path) -> bool:
    """event.wait(timeout), but fail at once when the gateway or the worker process has died
    instead of waiting out the timeout (a dead gateway left the smoke run hanging ten minutes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if event.wait(1.0):
            return True
        if gateway.poll() is not None:
            raise RuntimeError(f"the gateway exited ({gateway.returncode}): {log.read_text()[-2000:]}")
        if not worker.is_alive():
            raise RuntimeError(f"the terminals' process exited ({worker.exitcode}) before finishing (a)")
    return False


def start_gateway(db_url: str, port: int, redis_url: str, log: Path) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        GRIDOPS_DEBUG="0",
        SECRET_KEY="bench-jt808",
        GRIDOPS_LOG_LEVEL="WARNING",
        GRIDOPS_OUTBOX_RELAY="process",  # as docker-compose: the relay process numbers, NOTIFY wakes it
    )
    gateway = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "gridops_jt808",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--stats-every",
            "0",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    import socket

    deadline = time.time() + 60
    while time.time() < deadline:
        if gateway.poll() is not None:
            raise RuntimeError(f"gateway exited at start: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return gateway
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gateway did not start")


def stop_gateway(gateway: subprocess.Popen) -> None:
    try:
        os.killpg(gateway.pid, signal.SIGTERM)
        gateway.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(gateway.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="gridops_bench_jt808")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--terminals", type=int, default=500)
    parser.add_argument("--burst", type=int, default=10, help="(a) frames per write per terminal")
    parser.add_argument("--seconds", type=float, default=20, help="(a) duration")
    parser.add_argument("--consoles", type=int, default=5, help="(b) websocket consoles")
    parser.add_argument("--period", type=float, default=5.0, help="(b) seconds between a terminal's fixes")
    parser.add_argument("--latency-seconds", type=float, default=30, help="(b) duration")
    parser.add_argument("--tiny", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "jt808.json"))
    args = parser.parse_args()
    if args.tiny:
        args.cells, args.terminals, args.seconds = 600, 20, 2
        args.consoles, args.period, args.latency_seconds = 2, 1.5, 4

    db_url = use_database(args.database, fresh=True, redis_url=args.redis_url)
    from django.db import connection, connections

    say(f"preparing the database ({args.terminals} terminals)")
    terminals, token = prepare(args.cells, args.terminals)
    connections.close_all()

    web_port, gw_port = _free_ports(2)
    log = Path(tempfile.mkstemp(prefix="jt808-gateway-", suffix=".log")[1])
    server = start_server(db_url, web_port, args.redis_url)
    gateway = None
    try:
        gateway = start_gateway(db_url, gw_port, args.redis_url, log)
        ctx = multiprocessing.get_context("fork")
        ready, go, stop, consoles_ready = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event()
        term_q, console_q = ctx.Queue(), ctx.Queue()
        say(f"gateway on {gw_port}, web on {web_port}; {args.terminals} terminals signing in, then (a)")
        terms = ctx.Process(target=_terminals_worker, args=(gw_port, terminals, args, ready, go, term_q))
        terms.start()
        if not _wait_while_running(ready, args.seconds + 600, gateway=gateway, worker=terms, log=log):
            raise RuntimeError("terminals did not finish (a)")
        say("(b) consoles connecting")
        consoles = ctx.Process(
            target=_consoles_worker, args=(web_port, token, args.consoles, consoles_ready, stop, console_q)
        )
        consoles.start()
        if not consoles_ready.wait(60):
            raise RuntimeError("consoles did not connect")
        go.set()
        got = term_q.get(timeout=args.latency_seconds + 600)
        terms.join(30)
        time.sleep(8.0)  # the last fixes reach the consoles (a heartbeat, every 5 s, brings lost notices)
        stop.set()
        seen = console_q.get(timeout=60)
        consoles.join(30)
    finally:
        if gateway is not None:
            stop_gateway(gateway)
        stop_server(server)

    connection.connect()
    from gridops.models import Ping

    stored = Ping.objects.filter(device__jt808_terminal__isnull=False).count()
    sent = got["latency"].pop("sent")
    # A console is sent at most one position per unit per LIVE_POSITION_SECONDS (the latest): when
    # two fixes of a unit reach the server's consoles within that time (fixes bunched by a slow
    # moment), the earlier is superseded, not lost. Missed: neither it nor a later fix arrived.
    latencies, missed, superseded = [], 0, 0
    for console_seen in seen:
        latest: dict[str, int] = {}
        for key in console_seen:
            if "|" in key:
                code, at = key.rsplit("|", 1)
                latest[code] = max(latest.get(code, 0), int(at))
        for key, t0 in sent.items():
            code, at = key.rsplit("|", 1)
            if key in console_seen:
                latencies.append((console_seen[key] - t0) * 1e3)
            elif latest.get(code, 0) > int(at):
                superseded += 1
            else:
                missed += 1
    gateway_log = log.read_text(encoding="utf-8", errors="replace").splitlines()
    log.unlink()
    results = {
        "benchmark": "jt808",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "cells": args.cells,
        "sign_in_seconds": got["sign_in_seconds"],
        "throughput": {**got["throughput"], "pings_stored": stored},
        "latency": {
            "terminals": args.terminals,
            "period_s": args.period,
            "consoles": args.consoles,
            "fixes_sent": len(sent),
            "answered": got["latency"]["answered"],
            "answer_p50_ms": got["latency"]["answer_p50_ms"],
            "answer_p99_ms": got["latency"]["answer_p99_ms"],
            "deliveries": len(latencies),
            "superseded": superseded,
            "missed": missed,
            "latency_p50_ms": percentile(latencies, 50),
            "latency_p99_ms": percentile(latencies, 99),
            "latency_max_ms": percentile(latencies, 100),
        },
        "gateway_totals": next((line for line in reversed(gateway_log) if line.startswith("[jt808")), ""),
    }
    out = write_results(results, args.out)
    print_results(results)
    print(f"\nwrote {out}")
    return 0


def print_results(r: dict) -> None:
    a, b = r["throughput"], r["latency"]
    rows = [
        (
            f"(a) 0x0200 from {a['terminals']} terminals, bursts of {a['burst']}",
            f"{a['positions_per_s']} positions/s",
            f"{a['answered_ok']} answered OK, {a['answered_other']} other; {a['pings_stored']} pings stored",
        ),
        (
            f"(b) frame → {b['consoles']} consoles, 1 fix/{b['period_s']} s each",
            f"{b['fixes_sent']} fixes",
            f"p50 {b['latency_p50_ms']} ms, p99 {b['latency_p99_ms']} ms, max {b['latency_max_ms']} ms, "
            f"superseded {b['superseded']}, missed {b['missed']}; "
            f"0x8001 answer p50 {b['answer_p50_ms']} ms, p99 {b['answer_p99_ms']} ms",
        ),
    ]
    print(f"\n== JT/T 808 gateway, one process, on {r['cells']:,} cells ({r['machine']['cpus']} CPUs) ==")
    print(f"{a['terminals']} terminals signed in (0x0100 + 0x0102) in {r['sign_in_seconds']} s")
    print(f"{'measure':<52}{'throughput':>22}   {'detail'}")
    for label, rate, detail in rows:
        print(f"{label:<52}{rate:>22}   {detail}")
    print(r["gateway_totals"])


if __name__ == "__main__":
    sys.exit(main())
