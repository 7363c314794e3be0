"""Real `gridops_serve` processes and websocket consoles over TCP, for the tests of several
processes (test_scaleout.py) and of the reverse proxy in front of them (test_proxy.py).

A `Server` is `manage.py gridops_serve --workers 1` (one worker and its relay) against the test
database, on its own address and port. A `Console` reads /ws/live/ through the `websockets`
package and keeps every message in order.
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

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
MARK = "scaleout-"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Server:
    """`manage.py gridops_serve --workers 1` on `host`:`port`, against the test database."""

    def __init__(self, name: str, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.name = name
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        db = settings.DATABASES["default"]
        env = dict(
            os.environ,
            DATABASE_URL=f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            GRIDOPS_SERVICE_AREA_BBOX="120.9,28.6,122.6,29.9",
            # This test process's channel-layer prefix (per pytest -n worker, tests/conftest.py):
            # servers started by tests in two workers at once must not hear each other's events.
            GRIDOPS_CHANNEL_PREFIX=settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            GRIDOPS_LOG_LEVEL="WARNING",
            # Its own address too, for requests straight to it (wait_ready); through a proxy the
            # Host is the proxy's.
            ALLOWED_HOSTS=f"127.0.0.1,localhost,{self.host}",
            # No heartbeat within a test: an event can then only reach a connected console through
            # the channel layer (the heartbeat would also bring it, from PostgreSQL).
            GRIDOPS_LIVE_HEARTBEAT_SECONDS="600",
        )
        where = ["--host", self.host, "--port", str(self.port)]
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "gridops_serve", "--workers", "1", *where],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, seconds: float = 40) -> None:
        deadline = time.monotonic() + seconds
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
        return f"http://{self.host}:{self.port}"

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


def start_all(*servers: Server) -> None:
    """Start the servers side by side (each loads the application and its routing index first)."""
    for server in servers:
        server.spawn()
    for server in servers:
        server.wait_ready()


def dispatcher_token(username: str) -> str:
    """A new dispatcher (may listen to every stream) and their API token."""
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user(username, password="x")
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    return Token.objects.create(user=user).key


def post_report(target, token: str, n: int) -> int:
    """POST a marked report (`MARK` + n) to `target` (anything with a `url`); its id."""
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
        f"{target.url}/api/v1/reports/",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        return json.loads(answer.read())["id"]


class Console:
    """A websocket console over TCP (the `websockets` package) on `target`'s /ws/live/ (a server
    or a proxy: anything with `host` and `port`), keeping every message in order."""

    def __init__(self, target, token: str, since: int | None = None) -> None:
        self.url = f"ws://{target.host}:{target.port}/ws/live/?stream=county&token={token}"
        if since is not None:
            self.url += f"&since={since}"
        self.origin = f"http://{target.host}:{target.port}"
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
            self._keep(raw)

    async def started(self) -> None:
        """Until the first "resumed" (or heartbeat): the console has joined its stream."""
        await self.until(lambda ms: any(m.get("type") in ("resumed", "heartbeat") for m in ms))

    async def drain(self, seconds: float) -> None:
        """Keep reading for `seconds` (to see that nothing more, e.g. a duplicate, arrives)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=left)
            except TimeoutError:
                return
            self._keep(raw)

    async def read_until_closed(self, timeout: float = 20) -> None:
        import websockets

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=deadline - time.monotonic())
            except websockets.ConnectionClosed:
                return
            self._keep(raw)
        raise AssertionError("the console was not disconnected")

    def _keep(self, raw) -> None:
        frame = json.loads(raw)
        self.messages.extend(frame if isinstance(frame, list) else [frame])

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


def resumed_across_a_stop(token: str, *, first, post_to, stop, second) -> None:
    """A console on `first` gets reports 0-2 posted to `post_to`; `stop()` then ends the server
    under it (its socket closes); reports 3-7 come in while it is away; a console on `second`
    resuming from the last `seq` the first one saw must get exactly 3-7, once, in order, with the
    sequence numbers continuing."""

    async def scenario() -> tuple[list, list]:
        async with Console(first, token) as console:
            await console.started()
            for n in range(3):
                await asyncio.to_thread(post_report, post_to, token, n)
            await console.until(lambda ms: len(console.reports()) >= 3)
            await asyncio.to_thread(stop)
            await console.read_until_closed()
        for n in range(3, 8):
            await asyncio.to_thread(post_report, post_to, token, n)
        async with Console(second, token, since=console.last_seq()) as again:
            await again.until(lambda ms: len(again.reports()) >= 5)
            await again.drain(1.0)  # nothing more (no duplicate) arrives
        return console.reports(), again.reports()

    before, after = asyncio.run(scenario())
    assert [n for _, n in before] == [0, 1, 2]
    assert [n for _, n in after] == [3, 4, 5, 6, 7]
    seqs = [s for s, _ in before + after]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
