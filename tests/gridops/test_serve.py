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
        children = _children(serve.pid)
        assert sum("gridops.serve_worker" in cmd for _, cmd in children) == 2
        assert sum("gridops_relay" in cmd for _, cmd in children) == 1
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(20)
    assert serve.returncode == 0
    for pid, _ in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
