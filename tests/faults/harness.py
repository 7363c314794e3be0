"""What the fault scenarios drive: real server processes, phones, consoles and a lossy proxy.

Everything talks to a real `manage.py gridops_serve` over TCP (HTTP/1.1 keep-alive and real
websockets), as a phone or a command-centre PC would; the scenarios themselves are in
bench/faults.py, shared by the tests (small sizes) and the benchmark (the issue's sizes).

    phone ──► DropProxy ──► gridops_serve (workers + relay) ──► PostgreSQL (throw-away cluster)
                 │ drops 20% of answers                       └─► Redis (throw-away server)
                 ▼ after the server has committed
    console ◄──ws── gridops_serve          (resumes with `since` = the last seq it saw)
"""

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


SECRET_KEY = "faults-not-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(db_url: str, cells: int) -> dict:
    """migrate + the demo county (`cells` cells) + demo devices and tokens, in a child process
    pointed at `db_url` (this process may be a pytest process configured for another database).
    Returns {"plan": {points, matters}, "tokens": {...}, "sessions": {...}, "devices": [...]}."""
    # The same SECRET_KEY as the servers: the seeded browser session carries the user's auth hash.
    env = dict(os.environ, DATABASE_URL=db_url, GRIDOPS_LOG_LEVEL="WARNING", SECRET_KEY=SECRET_KEY)
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.seed", "--cells", str(cells)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding {db_url} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Server:
    """`manage.py gridops_serve` (N workers + the outbox relay) on its own port, in its own session;
    its output goes to a log file, which the scenarios search for 500s and tracebacks."""

    def __init__(self, db_url: str, redis_url: str, *, workers: int = 1, log_dir: Path, **env) -> None:
        self.port = free_port()
        self.db_url, self.redis_url, self.workers = db_url, redis_url, workers
        self.log_path = Path(log_dir) / f"server-{self.port}.log"
        self.extra_env = {k: str(v) for k, v in env.items()}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        env = dict(
            os.environ,
            DATABASE_URL=self.db_url,
            REDIS_URL=self.redis_url,
            GRIDOPS_CHANNEL_PREFIX=f"faults{self.port}",
            GRIDOPS_DEBUG="0",
            SECRET_KEY=SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            GRIDOPS_LOG_LEVEL="WARNING",
            **self.extra_env,
        )
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "gridops_serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=3) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not become ready:\n{self.log_tail()}")
            time.sleep(0.3)

    def stop(self) -> None:
        """Stop the whole session (gridops_serve, its workers, its relay): only what we started."""
        if self.process is None:
            return
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(wait)
                time.sleep(0.3)
                os.killpg(self.process.pid, signal.SIGKILL)  # a worker not waited for by its parent
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
            break
        self.process = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def tracebacks(self) -> int:
        return self.log_text().count("Traceback (most recent call last)")


# --- HTTP/1.1 over asyncio streams ---------------------------------------------------------------


class ConnectionLost(Exception):
    """The connection closed before a whole answer arrived (the answer may or may not have been
    committed: the caller retries with the same idempotency key)."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict, bytes, bytes]:
    """(status, lower-cased headers, body, the raw bytes of the whole response)."""
    raw = bytearray()
    line = await reader.readline()
    if not line.endswith(b"\n"):
        raise ConnectionLost("no status line")
    raw += line
    status = int(line.split()[1])
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise ConnectionLost("headers cut short")
        raw += line
        if line == b"\r\n":
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size_line = await reader.readline()
                raw += size_line
                size = int(size_line.strip() or b"0", 16)
                chunk = await reader.readexactly(size + 2)
                raw += chunk
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            raw += body
    except (asyncio.IncompleteReadError, ValueError) as exc:
        raise ConnectionLost("body cut short") from exc
    return status, headers, body, bytes(raw)


class Http:
    """One keep-alive HTTP/1.1 connection; reconnects on the next request after a loss."""

    def __init__(self, port: int, timeout: float = 60) -> None:
        self.port, self.timeout = port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        try:
            return await asyncio.wait_for(self._request(method, path, body, headers or {}), self.timeout)
        except (OSError, ConnectionLost, asyncio.IncompleteReadError, TimeoutError) as exc:
            self.close()
            raise ConnectionLost(str(exc) or type(exc).__name__) from exc

    async def _request(
        self, method: str, path: str, body: dict | None, headers: dict
    ) -> tuple[int, dict, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: application/json\r\n"
            + (
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                if body is not None
                else ""
            )
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        )
        self.writer.write(head.encode() + data)
        await self.writer.drain()
        status, answer_headers, answer, _raw = await read_response(self.reader)
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        return status, answer_headers, answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def report_body(rng: random.Random, plan: dict, marker: str) -> dict:
    lon, lat = rng.choice(plan["points"])
    return {
        "lon": lon,
        "lat": lat,
        "crs": "wgs84",
        "matter": rng.choice(plan["matters"]),
        "description": f"{marker} 故障演练：道路两侧占道经营",
        "client_uuid": str(uuid.uuid4()),
        "priority": 0,
    }


# --- A proxy that loses answers after the server committed -----------------------------------------


class DropProxy:
    """Forwards each HTTP request to the server, reads the server's whole answer (so the server
    has committed whatever the request wrote), then, with probability `drop`, closes the client's
    connection without sending it — what a phone sees when the mobile network drops the answer.
    Runs its own event loop in a thread."""

    def __init__(self, upstream_port: int, drop: float, seed: int = 8) -> None:
        self.upstream_port, self.drop = upstream_port, drop
        self.rng = random.Random(seed)
        self.port = free_port()
        self.forwarded = self.dropped = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="drop-proxy", daemon=True)

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self._loop
        )
        self._server = future.result(10)

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        if self._server is not None:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        head = bytearray()
        length = 0
        while True:
            line = await reader.readline()
            if not line:
                return None
            head += line
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        return bytes(head) + (await reader.readexactly(length) if length else b"")

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_writer = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            while True:
                request = await self._read_request(client_reader)
                if request is None:
                    return
                upstream_writer.write(request)
                await upstream_writer.drain()
                _status, _headers, _body, raw = await read_response(upstream_reader)
                self.forwarded += 1
                if self.rng.random() < self.drop:
                    self.dropped += 1
                    return  # the answer is lost: close without sending it
                client_writer.write(raw)
                await client_writer.drain()
        except (OSError, ConnectionLost, asyncio.IncompleteReadError):
            return
        finally:
            client_writer.close()
            if upstream_writer is not None:
                upstream_writer.close()


# --- A console that resumes --------------------------------------------------------------------


class Console:
    """A /ws/live/ console over a real websocket that follows docs/REALTIME.md's resume rules:
    it remembers the last `seq` it applied and reconnects with `since` = that seq. Every sequenced
    message it applies is kept in `applied`; one it was sent twice is counted in `duplicates`."""

    def __init__(self, port: int, token: str, marker: str) -> None:
        self.port, self.token, self.marker = port, token, marker
        self.last: int | None = None
        self.applied: list[tuple[int, str]] = []  # (seq, description) of marked report.created
        self.sequenced: list[int] = []
        self.duplicates = 0
        self.gaps = 0
        self.connects = 0
        self.reloads = 0
        self.ws = None

    async def connect(self) -> None:
        import websockets

        url = f"ws://127.0.0.1:{self.port}/ws/live/?stream=county&token={self.token}"
        if self.last is not None:
            url += f"&since={self.last}"
        self.ws = await websockets.connect(
            url, origin=f"http://127.0.0.1:{self.port}", open_timeout=30, max_size=None
        )
        self.connects += 1

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    def _apply(self, message: dict) -> None:
        if message.get("type") in ("resumed", "reload"):
            if message["type"] == "reload":
                self.reloads += 1
            if self.last is None or message["type"] == "reload":
                self.last = message["data"]["head"]
            return
        seq = message.get("seq")
        if not isinstance(seq, int):
            return
        if self.last is not None and seq <= self.last:
            self.duplicates += 1
            return
        if self.last is not None and seq != self.last + 1:
            self.gaps += 1
        self.last = seq
        self.sequenced.append(seq)
        text = (message.get("data") or {}).get("description") or ""
        if message.get("type") == "report.created" and text.startswith(self.marker):
            self.applied.append((seq, text.split(" ", 1)[0]))

    async def read_for(self, seconds: float) -> bool:
        """Apply frames for `seconds`; False if the socket closed under us."""
        import websockets

        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), timeout=left)
            except TimeoutError:
                return True
            except websockets.ConnectionClosed:
                self.ws = None
                return False
            frame = json.loads(raw)
            for message in frame if isinstance(frame, list) else [frame]:
                self._apply(message)
        return True

    def markers(self) -> list[str]:
        return [text for _seq, text in self.applied]
