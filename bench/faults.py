#!/usr/bin/env python
"""Faults on real processes: what callers and consoles see when Redis or PostgreSQL go away.

    .venv/bin/python bench/faults.py            # the issue's sizes (~12 minutes)
    .venv/bin/python bench/faults.py --tiny     # a smoke run (tests/test_bench.py)
    .venv/bin/python bench/faults.py --only b   # one scenario (a, b, c or d; repeatable)

Everything runs against THROW-AWAY servers started here — a PostgreSQL cluster initdb'ed in a
temporary directory (tests/faults/pg_server.py) and a redis-server on a spare port
(tests/gridops/redis_server.py) — never the shared ones, which this script does not touch.
`manage.py gridops_serve` (workers + outbox relay) is pointed at them; phones and consoles talk
to it over real TCP (tests/faults/harness.py).

    (a) Redis stopped for 30 s while reports are posted and consoles listen: every write answers
        2xx; consoles that stayed connected, and consoles that reconnect afterwards with `since`,
        have every report.created once.
    (b) PostgreSQL stopped (fast: sessions terminated by the administrator; immediate: killed,
        crash recovery on start) and started again under load (report clients and GPS devices
        retrying the same request until answered): callers get 503 + Retry-After, never 500;
        every report answered 201/200 and every ping answered "accepted" is in the database;
        time from the database accepting connections again to the first 2xx, and until every
        client has had a 2xx.
    (c) Consoles reconnecting every few seconds (half closing cleanly, half dropping the TCP
        connection) while reports flow: 0 missing, 0 duplicated, 0 gaps.
    (d) Phones sending 10,000 reports through a proxy that drops 20% of the answers after the
        server committed; a phone resends with the same client_uuid until it gets an answer:
        exactly 10,000 reports stored, 0 duplicates.

Prints a table and writes bench/results/faults.json. The tests in tests/faults/ run the same
scenario functions with small sizes.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_results  # noqa: E402  (ROOT on sys.path first)
from tests.faults.harness import ConnectionLost, Console, DropProxy, Http, Server, report_body, seed  # noqa: E402
from tests.faults.pg_server import PgServer  # noqa: E402

_T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {text}", flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))], 1)


@dataclass
class Stack:
    """The throw-away PostgreSQL with one seeded database, and where servers write their logs."""

    pg: PgServer
    db_url: str
    data: dict
    log_dir: Path
    workers: int = 1
    redis_url: str = "redis://127.0.0.1:6390/0"  # replaced by the scenario that needs a Redis
    servers: list = field(default_factory=list)

    @classmethod
    def build(cls, cells: int, workers: int) -> "Stack":
        pg = PgServer()
        pg.start()
        try:
            db_url = pg.create_database("gridops_faults")
            data = seed(db_url, cells)
        except BaseException:
            pg.destroy()
            raise
        return cls(
            pg=pg,
            db_url=db_url,
            data=data,
            log_dir=Path(tempfile.mkdtemp(prefix="gridops-faults-")),
            workers=workers,
        )

    def server(self, redis_url: str, **env) -> Server:
        server = Server(self.db_url, redis_url, workers=self.workers, log_dir=self.log_dir, **env)
        server.start()
        self.servers.append(server)
        return server

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.pg.url("gridops_faults", scheme="postgresql")) as conn:
            return conn.execute(sql, params or []).fetchall()

    def stored_report_keys(self, marker_prefix: str) -> Counter:
        """client_uuid → how many reports hold it, of the reports whose description starts with
        `marker_prefix` (keys are stored per user as "u<user id>:<key>")."""
        rows = self.query(
            "select idempotency_key from gridops_report where description like %s", [marker_prefix + "%"]
        )
        return Counter((key or "").split(":", 1)[-1] for (key,) in rows)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.pg.destroy()
        if not os.environ.get("GRIDOPS_FAULTS_KEEP_LOGS"):  # set it to read the servers' logs
            shutil.rmtree(self.log_dir, ignore_errors=True)


def _redis(port: int | None = None):
    from tests.gridops.redis_server import RedisServer, free_port

    return RedisServer(port or free_port())


async def _wait_all(consoles: list[Console], expected: set[str], seconds: float) -> None:
    """Read every console until each has every expected marker, or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(expected <= set(c.markers()) for c in consoles):
            return
        for c in consoles:
            if c.ws is None:
                await c.connect()
        await asyncio.gather(*(c.read_for(0.3) for c in consoles))


def _console_figures(consoles: list[Console], expected: set[str]) -> dict:
    per = []
    for c in consoles:
        got = Counter(c.markers())
        per.append(
            {
                "received": len(got),
                "missing": len(expected - set(got)),
                "duplicated": c.duplicates + sum(n - 1 for n in got.values() if n > 1),
                "gaps": c.gaps,
                "connects": c.connects,
                "reloads": c.reloads,
            }
        )
    return {
        "consoles": len(consoles),
        "missing": sum(p["missing"] for p in per),
        "duplicated": sum(p["duplicated"] for p in per),
        "gaps": sum(p["gaps"] for p in per),
        "reloads": sum(p["reloads"] for p in per),
        "connects": sum(p["connects"] for p in per),
        "per_console": per,
    }


class Poster:
    """Posts marked reports at `rate` per second over `connections` keep-alive connections until
    stopped; a report is resent (same client_uuid) after a lost connection or a 503."""

    def __init__(self, port: int, stack: Stack, marker: str, rate: float, connections: int = 4) -> None:
        self.port, self.stack, self.marker, self.rate, self.connections = (
            port,
            stack,
            marker,
            rate,
            connections,
        )
        self.statuses: Counter = Counter()
        self.created: set[str] = set()  # markers answered 201/200
        self.answered_at: dict[str, float] = {}  # marker → time.monotonic() of its 201/200
        self.uuids: set[str] = set()
        self.latencies_ms: list[float] = []
        self.stop = asyncio.Event()
        self._n = 0

    async def run(self) -> None:
        started = time.monotonic()
        token = self.stack.data["tokens"]["gridworker"]

        async def sender(i: int) -> None:
            rng = random.Random(i)
            http = Http(self.port, timeout=60)
            while not self.stop.is_set():
                n = self._n
                self._n += 1
                delay = started + n / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                marker = f"{self.marker}{n}"
                body = report_body(rng, self.stack.data["plan"], marker)
                while True:
                    t0 = time.monotonic()
                    try:
                        status, _headers, _ = await http.request(
                            "POST", "/api/v1/reports/", body, {"Authorization": f"Token {token}"}
                        )
                    except ConnectionLost:
                        self.statuses["lost"] += 1
                        await asyncio.sleep(0.2)
                        continue
                    self.latencies_ms.append((time.monotonic() - t0) * 1e3)
                    self.statuses[status] += 1
                    if status in (200, 201):
                        self.created.add(marker)
                        self.answered_at[marker] = time.monotonic()
                        self.uuids.add(body["client_uuid"])
                        break
                    if status != 503:
                        break  # counted; a scenario fails on it
                    await asyncio.sleep(0.2)
            http.close()

        await asyncio.gather(*(sender(i) for i in range(self.connections)))

    def answered_before(self, moment: float) -> set[str]:
        """The markers answered 2xx before `moment` (time.monotonic())."""
        return {marker for marker, at in self.answered_at.items() if at < moment}

    def non_2xx(self) -> dict:
        return {str(k): v for k, v in self.statuses.items() if k not in (200, 201)}


# --- (a) Redis stopped under load ------------------------------------------------------------------


def scenario_redis_down(stack: Stack, *, down_seconds: float, rate: float, consoles: int) -> dict:
    """Half the consoles stay connected through the outage, half leave when Redis stops and come
    back (with `since`) after it returns."""
    redis = _redis()
    redis.start()
    try:
        server = stack.server(redis.url, GRIDOPS_LIVE_HEARTBEAT_SECONDS="2")
        marker = f"fa{int(time.time())}-"

        async def run() -> dict:
            token = stack.data["tokens"]["dispatcher"]
            everyone = [Console(server.port, token, marker) for _ in range(consoles)]
            staying, leaving = everyone[: (consoles + 1) // 2], everyone[(consoles + 1) // 2 :]
            for c in everyone:
                await c.connect()
            await asyncio.gather(*(c.read_for(1.0) for c in everyone))
            poster = Poster(server.port, stack, marker, rate)
            posting = asyncio.create_task(poster.run())

            async def keep_reading(cs: list[Console], seconds: float) -> None:
                await asyncio.gather(*(c.read_for(seconds) for c in cs if c.ws is not None))

            await keep_reading(everyone, 2.0)
            for c in leaving:
                await c.close()
            say(f"(a) redis-server stopped for {down_seconds:g} s")
            await asyncio.to_thread(redis.stop)
            stopped = time.monotonic()
            while time.monotonic() - stopped < down_seconds:
                await keep_reading(staying, 1.0)
            await asyncio.to_thread(redis.start)
            say("(a) redis-server back (empty)")
            for c in leaving:
                await c.connect()
            await keep_reading(everyone, 3.0)
            poster.stop.set()
            await posting
            await _wait_all(everyone, poster.created, 30)
            stored = stack.stored_report_keys(marker)
            figures = _console_figures(everyone, poster.created)
            for c in everyone:
                await c.close()
            return {
                "down_seconds": down_seconds,
                "rate_per_s": rate,
                "answered_2xx": len(poster.created),
                "non_2xx": poster.non_2xx(),
                "post_p50_ms": percentile(poster.latencies_ms, 50),
                "post_max_ms": percentile(poster.latencies_ms, 100),
                "stored": sum(stored.values()),
                "stored_missing": len(poster.uuids - set(stored)),
                "staying": _console_figures(staying, poster.created),
                "resuming": _console_figures(leaving, poster.created),
                **{k: figures[k] for k in ("missing", "duplicated", "gaps")},
                "server_500s": server.log_text().count("Internal Server Error"),
            }

        return asyncio.run(run())
    finally:
        for server in list(stack.servers):
            server.stop()
            stack.servers.remove(server)
        redis.stop()


# --- (b) PostgreSQL restarted under load -----------------------------------------------------------


def scenario_pg_restart(
    stack: Stack, *, mode: str, down_seconds: float, clients: int, devices: int, settle_seconds: float = 3.0
) -> dict:
    redis = _redis()
    redis.start()
    try:
        server = stack.server(redis.url)
        marker = f"fb{mode[0]}{int(time.time())}-"
        result = asyncio.run(
            _pg_restart_load(stack, server, marker, mode, down_seconds, clients, devices, settle_seconds)
        )
        stored = stack.stored_report_keys(marker)
        result["reports_stored"] = sum(stored.values())
        result["reports_acknowledged_missing"] = len(result.pop("_uuids") - set(stored))
        result["reports_duplicated"] = sum(n - 1 for n in stored.values() if n > 1)
        accepted: dict[str, set[str]] = result.pop("_accepted")
        missing = 0
        for code, stamps in accepted.items():
            rows = stack.query(
                "select to_char(p.fixed_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
                " from gridops_ping p join gridops_device d on d.id = p.device_id where d.code = %s",
                [code],
            )
            have = {r[0] for r in rows}
            missing += len(stamps - have)
        result["pings_accepted_missing"] = missing
        result["server_500s"] = server.log_text().count("Internal Server Error")
        return result
    finally:
        for server in list(stack.servers):
            server.stop()
            stack.servers.remove(server)
        redis.stop()


_PG_RUNS = 0


async def _pg_restart_load(
    stack: Stack,
    server: Server,
    marker: str,
    mode: str,
    down_seconds: float,
    clients: int,
    devices: int,
    settle: float,
) -> dict:
    from datetime import UTC, datetime, timedelta

    global _PG_RUNS
    run, _PG_RUNS = _PG_RUNS, _PG_RUNS + 1
    loop_stop = asyncio.Event()
    events: list[tuple[float, float, object, str]] = []  # (sent, answered, status, client)
    retry_after_missing = 0
    uuids: set[str] = set()
    accepted: dict[str, set[str]] = {}
    pings = Counter()
    token = stack.data["tokens"]["gridworker"]

    async def reporter(i: int) -> None:
        nonlocal retry_after_missing
        rng = random.Random(100 + i)
        http = Http(server.port, timeout=60)
        n = 0
        while not loop_stop.is_set():
            body = report_body(rng, stack.data["plan"], f"{marker}{i}.{n}")
            n += 1
            while True:
                t0 = time.monotonic()
                try:
                    status, headers, _ = await http.request(
                        "POST", "/api/v1/reports/", body, {"Authorization": f"Token {token}"}
                    )
                except ConnectionLost:
                    status, headers = "lost", {}
                events.append((t0, time.monotonic(), status, f"r{i}"))
                if status in (200, 201):
                    uuids.add(body["client_uuid"])
                    break
                if status == 503 and "retry-after" not in headers:
                    retry_after_missing += 1
                if status not in (503, "lost"):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.02)
        http.close()

    async def device(d: dict, k: int) -> None:
        nonlocal retry_after_missing
        rng = random.Random(d["key"])
        http = Http(server.port, timeout=60)
        # Fixes of distinct hours per device and per run (a run must not resend another's fixes).
        stamp = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2 + 30 * k + 2.5 * run)
        mine = accepted.setdefault(d["device"], set())
        while not loop_stop.is_set():
            items = []
            for _ in range(20):
                stamp += timedelta(seconds=1)
                lon, lat = rng.choice(d["points"])
                items.append({"t": stamp.isoformat(), "lon": lon, "lat": lat, "speed": 10.0, "accuracy": 8.0})
            while True:
                t0 = time.monotonic()
                try:
                    status, headers, body = await http.request(
                        "POST", "/api/v1/pings/", {"items": items}, {"Authorization": f"Device {d['key']}"}
                    )
                except ConnectionLost:
                    status, headers, body = "lost", {}, b""
                events.append((t0, time.monotonic(), status, f"d{k}"))
                if status == 200:
                    answer = json.loads(body)
                    not_stored = {item["index"] for item in answer["items"]}
                    for index, item in enumerate(items):
                        if index not in not_stored:
                            mine.add(item["t"][:19])
                    pings["accepted"] += answer["accepted"]
                    pings["duplicate"] += answer["duplicate"]
                    pings["rejected"] += answer["rejected"]
                    break
                if status == 503 and "retry-after" not in headers:
                    retry_after_missing += 1
                if status not in (503, "lost"):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)
        http.close()

    tasks = [asyncio.create_task(reporter(i)) for i in range(clients)]
    tasks += [asyncio.create_task(device(d, k)) for k, d in enumerate(stack.data["devices"][:devices])]
    await asyncio.sleep(settle)
    say(f"(b) PostgreSQL stop -m {mode}, down {down_seconds:g} s")
    t_stop = time.monotonic()
    await asyncio.to_thread(stack.pg.stop, mode)
    await asyncio.sleep(down_seconds)
    t_start = time.monotonic()
    await asyncio.to_thread(stack.pg.start)
    t_ready = time.monotonic()  # the cluster accepts connections again
    say(f"(b) PostgreSQL started again ({(t_ready - t_start) * 1e3:.0f} ms)")
    # Keep the load on until every client has had a 2xx after the restart, then a little more.
    deadline = time.monotonic() + 120
    names = {e[3] for e in events}
    while time.monotonic() < deadline:
        recovered = {e[3] for e in events if e[1] >= t_ready and e[2] in (200, 201)}
        if recovered >= names:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(settle)
    loop_stop.set()
    await asyncio.gather(*tasks)

    statuses = Counter(str(e[2]) for e in events)
    during = [e for e in events if t_stop <= e[1] and e[0] <= t_ready]
    after_ready_2xx = [e for e in events if e[1] >= t_ready and e[2] in (200, 201)]
    firsts = {}
    for e in sorted(after_ready_2xx, key=lambda e: e[1]):
        firsts.setdefault(e[3], e[1])
    non_2xx_after_ready = [e for e in events if e[0] >= t_ready and e[2] not in (200, 201)]
    return {
        "mode": mode,
        "down_seconds": down_seconds,
        "clients": clients,
        "devices": devices,
        "requests": len(events),
        "statuses": dict(statuses),
        "http_500": sum(v for k, v in statuses.items() if k.isdigit() and int(k) >= 500 and k != "503"),
        "other_4xx": sum(v for k, v in statuses.items() if k.isdigit() and 400 <= int(k) < 500),
        "answered_503": statuses.get("503", 0),
        "retry_after_missing": retry_after_missing,
        "outage_answer_p50_ms": percentile([(e[1] - e[0]) * 1e3 for e in during if e[2] == 503], 50),
        "outage_answer_max_ms": percentile([(e[1] - e[0]) * 1e3 for e in during if e[2] == 503], 100),
        "pg_start_ms": round((t_ready - t_start) * 1e3),
        "first_2xx_after_ready_ms": round((min(firsts.values()) - t_ready) * 1e3) if firsts else None,
        "all_clients_2xx_after_ready_ms": round((max(firsts.values()) - t_ready) * 1e3) if firsts else None,
        "unavailable_to_callers_ms": round((min(firsts.values()) - t_stop) * 1e3) if firsts else None,
        "non_2xx_after_ready": len(non_2xx_after_ready),
        "reports_acknowledged": len(uuids),
        "pings": dict(pings),
        "_uuids": uuids,
        "_accepted": accepted,
    }


# --- (c) consoles reconnecting ----------------------------------------------------------------------


def scenario_reconnecting_consoles(
    stack: Stack, *, consoles: int, seconds: float, rate: float, every: tuple[float, float] = (2.0, 5.0)
) -> dict:
    redis = _redis()
    redis.start()
    try:
        server = stack.server(redis.url)
        marker = f"fc{int(time.time())}-"

        async def run() -> dict:
            token = stack.data["tokens"]["dispatcher"]
            everyone = [Console(server.port, token, marker) for _ in range(consoles)]
            for c in everyone:
                await c.connect()
            await asyncio.gather(*(c.read_for(1.0) for c in everyone))
            poster = Poster(server.port, stack, marker, rate)
            posting = asyncio.create_task(poster.run())
            until = time.monotonic() + seconds

            async def cycle(i: int, c: Console) -> None:
                rng = random.Random(i)
                k = 0
                while time.monotonic() < until:
                    await c.read_for(rng.uniform(*every))
                    if c.ws is not None:
                        if k % 2 == i % 2:
                            await c.close()  # a clean close
                        else:
                            c.ws.transport.abort()  # the TCP connection just goes (Wi-Fi, laptop lid)
                            c.ws = None
                    k += 1
                    await asyncio.sleep(rng.uniform(0, 1.0))  # events keep arriving meanwhile
                    await c.connect()

            await asyncio.gather(*(cycle(i, c) for i, c in enumerate(everyone)))
            poster.stop.set()
            await posting
            await _wait_all(everyone, poster.created, 30)
            figures = _console_figures(everyone, poster.created)
            for c in everyone:
                await c.close()
            return {
                "seconds": seconds,
                "rate_per_s": rate,
                "reconnect_every_s": list(every),
                "reports": len(poster.created),
                "non_2xx": poster.non_2xx(),
                **figures,
            }

        return asyncio.run(run())
    finally:
        for server in list(stack.servers):
            server.stop()
            stack.servers.remove(server)
        redis.stop()


# --- (d) phones retrying through lost answers --------------------------------------------------------


def scenario_dropped_answers(stack: Stack, *, reports: int, phones: int, drop: float) -> dict:
    redis = _redis()
    redis.start()
    proxy = None
    try:
        server = stack.server(redis.url)
        proxy = DropProxy(server.port, drop)
        proxy.start()
        marker = f"fd{int(time.time())}-"
        token = stack.data["tokens"]["gridworker"]

        async def run() -> dict:
            queue = iter(range(reports))
            statuses: Counter = Counter()
            attempts = Counter()
            uuids: set[str] = set()
            started = time.monotonic()

            async def phone(i: int) -> None:
                rng = random.Random(1000 + i)
                http = Http(proxy.port, timeout=60)
                for n in queue:
                    body = report_body(rng, stack.data["plan"], f"{marker}{n}")
                    tries = 0
                    while True:
                        tries += 1
                        try:
                            status, _headers, _ = await http.request(
                                "POST", "/api/v1/reports/", body, {"Authorization": f"Token {token}"}
                            )
                        except ConnectionLost:
                            statuses["lost"] += 1
                            continue  # resend the same report (same client_uuid)
                        statuses[status] += 1
                        if status != 503:
                            break
                        await asyncio.sleep(0.2)
                    attempts[tries] += 1
                    if status in (200, 201):
                        uuids.add(body["client_uuid"])
                http.close()

            await asyncio.gather(*(phone(i) for i in range(phones)))
            elapsed = time.monotonic() - started
            return {
                "statuses": {str(k): v for k, v in statuses.items()},
                "attempts": {str(k): v for k, v in sorted(attempts.items())},
                "_uuids": uuids,
                "seconds": round(elapsed, 1),
                "reports_per_s": round(reports / elapsed, 1),
            }

        result = asyncio.run(run())
        uuids = result.pop("_uuids")
        stored = stack.stored_report_keys(marker)
        return {
            "reports": reports,
            "phones": phones,
            "drop": drop,
            "forwarded": proxy.forwarded,
            "answers_dropped": proxy.dropped,
            "answered": len(uuids),
            "created_201": result["statuses"].get("201", 0),
            "replayed_200": result["statuses"].get("200", 0),
            "stored": sum(stored.values()),
            "distinct_stored": len(stored),
            "duplicates": sum(n - 1 for n in stored.values() if n > 1),
            "missing": len(uuids - set(stored)),
            **result,
            "server_500s": server.log_text().count("Internal Server Error"),
        }
    finally:
        if proxy is not None:
            proxy.stop()
        for server in list(stack.servers):
            server.stop()
            stack.servers.remove(server)
        redis.stop()


# --- main ------------------------------------------------------------------------------------------------

FULL = {
    "a": {"down_seconds": 30, "rate": 20, "consoles": 10},
    "b": {"down_seconds": 10, "clients": 8, "devices": 4},
    "c": {"consoles": 20, "seconds": 180, "rate": 10, "every": (2.0, 5.0)},
    "d": {"reports": 10_000, "phones": 16, "drop": 0.2},
}
TINY = {
    "a": {"down_seconds": 3, "rate": 10, "consoles": 2},
    "b": {"down_seconds": 2, "clients": 2, "devices": 1},
    "c": {"consoles": 3, "seconds": 8, "rate": 10, "every": (1.0, 2.0)},
    "d": {"reports": 100, "phones": 4, "drop": 0.2},
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="a smoke run (small sizes)")
    parser.add_argument("--only", action="append", choices=list("abcd"), help="run only these scenarios")
    parser.add_argument("--cells", type=int, default=600)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GRIDOPS_BENCH_WORKERS", "2")))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "faults.json"))
    args = parser.parse_args()
    reason = PgServer.unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    sizes = TINY if args.tiny else FULL
    only = args.only or list("abcd")
    say("a throw-away PostgreSQL, migrated and seeded")
    stack = Stack.build(args.cells, 1 if args.tiny else args.workers)
    results: dict = {
        "benchmark": "faults",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "web_workers": stack.workers,
        "sizes": {
            k: {kk: list(vv) if isinstance(vv, tuple) else vv for kk, vv in v.items()}
            for k, v in sizes.items()
            if k in only
        },
    }
    try:
        if "a" in only:
            say("(a) Redis stopped under load")
            results["redis_down"] = scenario_redis_down(stack, **sizes["a"])
        if "b" in only:
            results["pg_restart"] = {}
            for mode in ("fast", "immediate"):
                say(f"(b) PostgreSQL restarted under load ({mode})")
                results["pg_restart"][mode] = scenario_pg_restart(stack, mode=mode, **sizes["b"])
        if "c" in only:
            say("(c) consoles reconnecting")
            results["reconnecting"] = scenario_reconnecting_consoles(stack, **sizes["c"])
        if "d" in only:
            say("(d) phones retrying through dropped answers")
            results["dropped_answers"] = scenario_dropped_answers(stack, **sizes["d"])
    finally:
        stack.close()
    out = write_results(results, args.out)
    print_results(results)
    print(f"\nwrote {out}")
    return 0


def print_results(r: dict) -> None:
    rows = []
    if a := r.get("redis_down"):
        rows.append(
            (
                f"(a) Redis down {a['down_seconds']:g} s, {a['rate_per_s']:g} reports/s",
                f"{a['answered_2xx']} answered 2xx, non-2xx {a['non_2xx'] or 0}, stored {a['stored']}",
                f"{a['staying']['consoles']} stayed + {a['resuming']['consoles']} resumed: "
                f"missing {a['missing']}, duplicated {a['duplicated']}",
            )
        )
    for mode, b in (r.get("pg_restart") or {}).items():
        rows.append(
            (
                f"(b) PostgreSQL {mode} stop, down {b['down_seconds']:g} s",
                f"503 {b['answered_503']}, 500 {b['http_500']}, no Retry-After {b['retry_after_missing']}",
                f"first 2xx {b['first_2xx_after_ready_ms']} ms after ready, all clients "
                f"{b['all_clients_2xx_after_ready_ms']} ms; "
                f"lost reports {b['reports_acknowledged_missing']}, lost pings {b['pings_accepted_missing']}",
            )
        )
    if c := r.get("reconnecting"):
        rows.append(
            (
                f"(c) {c['consoles']} consoles reconnecting for {c['seconds']:g} s",
                f"{c['reports']} reports, {c['connects']} connects",
                f"missing {c['missing']}, duplicated {c['duplicated']}, gaps {c['gaps']}",
            )
        )
    if d := r.get("dropped_answers"):
        rows.append(
            (
                f"(d) {d['reports']:,} reports, {d['drop']:.0%} answers dropped",
                f"{d['answers_dropped']} dropped, {d['replayed_200']} replays answered 200",
                f"stored {d['stored']:,}, duplicates {d['duplicates']}, missing {d['missing']}",
            )
        )
    print(f"\n== faults ({r['machine']['cpus']} CPUs, {r['web_workers']} web worker(s)) ==")
    for label, what, outcome in rows:
        print(f"{label:<46}{what:<56}{outcome}")


if __name__ == "__main__":
    sys.exit(main())
