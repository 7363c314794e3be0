"""Several server processes share PostgreSQL and Redis: a console on one sees what came in
through another, and resumes on another when its own process stops.

Two real `gridops_serve` processes (A and B, one worker each, each with its own relay: the relays
number events under one advisory lock, gridops/realtime/outbox.py), real websockets over TCP:

    phone ──POST──► A ──outbox──► PostgreSQL ◄──resume── B ◄──ws── console
                     └─relay─► Redis (channel layer) ─notice─► B ─frame─► console

The servers' heartbeat is turned off (600 s) so the first test can only pass through Redis. The
channel layer is only the notice path: the second test stops A under its console and the
console, reconnecting to B with the last `seq` it saw, gets exactly what it missed, once, in order.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
MARK = "scaleout-"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`manage.py gridops_serve --workers 1` on its own port, against the test database."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        db = settings.DATABASES["default"]
        env = dict(
            os.environ,
            DATABASE_URL=f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            GRIDOPS_SERVICE_AREA_BBOX="120.9,28.6,122.6,29.9",
            GRIDOPS_LOG_LEVEL="WARNING",
            # No heartbeat within a test: an event can then only reach a connected console through
            # the channel layer (the heartbeat would also bring it, from PostgreSQL).
            GRIDOPS_LIVE_HEARTBEAT_SECONDS="600",
        )
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "gridops_serve", "--port", str(self.port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/route/?lon=121.005&lat=29.005", timeout=2):
                    return
            except OSError:
                assert self.process.poll() is None, f"server {self.name} exited"
                assert time.monotonic() < deadline, f"server {self.name} did not answer"
                time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        self.process = None


@pytest.fixture
def servers(tiny_county):
    a, b = Server("A"), Server("B")
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def dispatcher_token(transactional_db) -> str:
    user = User.objects.create_user("scaleout-dispatcher", password="x")
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    return Token.objects.create(user=user).key


def post_report(server: Server, token: str, n: int) -> int:
    body = json.dumps(
        {
            "lon": 121.005,
            "lat": 29.005,
            "crs": "wgs84",
            "description": f"{MARK}{n} 道路两侧占道经营",
            "client_uuid": str(uuid.uuid4()),
        }
    ).encode()
    request = urllib.request.Request(
        f"{server.url}/api/v1/reports/",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        return json.loads(answer.read())["id"]


class Console:
    """A websocket console over TCP (the `websockets` package), keeping every message in order."""

    def __init__(self, server: Server, token: str, since: int | None = None) -> None:
        self.url = f"ws://127.0.0.1:{server.port}/ws/live/?stream=county&token={token}"
        if since is not None:
            self.url += f"&since={since}"
        self.origin = server.url
        self.messages: list[dict] = []
        self.ws = None

    async def __aenter__(self) -> "Console":
        import websockets

        self.ws = await websockets.connect(self.url, origin=self.origin, open_timeout=20)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def until(self, predicate, timeout: float = 20) -> None:
        """Read frames until predicate(messages) holds; raises if the socket closes first."""
        deadline = time.monotonic() + timeout
        while not predicate(self.messages):
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; got {[m.get('type') for m in self.messages]}"
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=left)
            except TimeoutError:
                continue
            frame = json.loads(raw)
            self.messages.extend(frame if isinstance(frame, list) else [frame])

    async def drain(self, seconds: float) -> None:
        """Keep reading for `seconds` (to see that nothing more, e.g. a duplicate, arrives)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=left)
            except TimeoutError:
                return
            frame = json.loads(raw)
            self.messages.extend(frame if isinstance(frame, list) else [frame])

    async def read_until_closed(self, timeout: float = 20) -> None:
        import websockets

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=deadline - time.monotonic())
            except websockets.ConnectionClosed:
                return
            frame = json.loads(raw)
            self.messages.extend(frame if isinstance(frame, list) else [frame])
        raise AssertionError("the console was not disconnected")

    def reports(self) -> list[tuple[int, int]]:
        """(seq, n) of the marked report.created events, in arrival order."""
        out = []
        for m in self.messages:
            text = (m.get("data") or {}).get("description") or ""
            if m.get("type") == "report.created" and text.startswith(MARK):
                out.append((m["seq"], int(text[len(MARK) :].split(" ", 1)[0])))
        return out

    def last_seq(self) -> int:
        return max((m["seq"] for m in self.messages if isinstance(m.get("seq"), int)), default=0)


def test_a_report_through_a_reaches_a_console_on_b(servers, dispatcher_token):
    a, b = servers

    async def scenario() -> list[tuple[int, int]]:
        async with Console(b, dispatcher_token) as console:
            await console.until(lambda ms: any(m.get("type") in ("resumed", "heartbeat") for m in ms))
            for n in range(5):
                await asyncio.to_thread(post_report, a, dispatcher_token, n)
            await console.until(lambda ms: len(console.reports()) >= 5)
            await console.drain(1.0)  # nothing more (no duplicate) arrives
            return console.reports()

    got = asyncio.run(scenario())
    assert [n for _, n in got] == [0, 1, 2, 3, 4]
    seqs = [s for s, _ in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


def test_a_console_resumes_on_b_after_a_stops(servers, dispatcher_token):
    a, b = servers

    async def scenario() -> tuple[list, list]:
        async with Console(a, dispatcher_token) as first:
            await first.until(lambda ms: any(m.get("type") in ("resumed", "heartbeat") for m in ms))
            for n in range(3):
                await asyncio.to_thread(post_report, b, dispatcher_token, n)
            await first.until(lambda ms: len(first.reports()) >= 3)
            # A stops under the console: its socket closes.
            await asyncio.to_thread(a.stop)
            await first.read_until_closed()
        since = first.last_seq()
        # While the console is away, reports keep coming in through B.
        for n in range(3, 8):
            await asyncio.to_thread(post_report, b, dispatcher_token, n)
        async with Console(b, dispatcher_token, since=since) as second:
            await second.until(lambda ms: len(second.reports()) >= 5)
            await second.drain(1.0)
            return first.reports(), second.reports()

    before, after = asyncio.run(scenario())
    assert [n for _, n in before] == [0, 1, 2]
    # Exactly the missed ones, once, in order, with the sequence numbers continuing.
    assert [n for _, n in after] == [3, 4, 5, 6, 7]
    seqs = [s for s, _ in before + after]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
