"""`gridops_serve`: the workers and the relay start, answer, and all stop together."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def _websocket_handshake(port: int) -> bytes:
    """The server's answer to a browser-like upgrade offering permessage-deflate (its headers)."""
    request = (
        "GET /ws/live/?stream=county HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return head.split(b"\r\n\r\n", 1)[0]


def test_workers_and_relay_serve_and_stop_together(tiny_county):
    db = settings.DATABASES["default"]
    url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url, GRIDOPS_SERVICE_AREA_BBOX="120.9,28.6,122.6,29.9")
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "gridops_serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120  # start-up on a busy shared machine took over 30 s
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/route/?lon=121.005&lat=29.005", timeout=2
                ) as answer:
                    assert answer.status == 200 and b"zh-1" in answer.read()
                break
            except OSError:
                assert time.monotonic() < deadline, "gridops_serve did not answer"
                time.sleep(0.3)
        # /ws/live/ frames are not compressed unless GRIDOPS_WS_DEFLATE=1 (config/settings.py).
        head = _websocket_handshake(port)
        assert head.startswith(b"HTTP/1.1 101") and b"permessage-deflate" not in head.lower()
        children = _children(serve.pid)
        assert sum("gridops.serve_worker" in cmd for _, cmd in children) == 2
        assert sum("gridops_relay" in cmd for _, cmd in children) == 1
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(20)
    assert serve.returncode == 0
    for pid, _ in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_warm_up_freezes_what_it_loaded_and_sets_the_switch_interval(tiny_county, settings):
    import gc

    from gridops.serve_worker import warm_up

    settings.GIL_SWITCH_SECONDS = 0.002
    interval = sys.getswitchinterval()
    gc.unfreeze()
    try:
        warm_up()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000, frozen  # modules, URL patterns, the routing index
        assert len(gc.get_objects()) < frozen  # what is left to walk is the smaller part
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        gc.unfreeze()
        sys.setswitchinterval(interval)
