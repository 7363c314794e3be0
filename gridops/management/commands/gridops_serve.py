"""Serve the platform: N uvicorn workers, each on its own SO_REUSEPORT socket, plus the relay.

Why not `uvicorn --workers N`: its workers share one listening socket, and asyncio accepts up to
100 connections per wake-up, so whichever worker wakes first takes a whole burst of keep-alive
connections. Measured with the intake bench (8 clients, 2 workers): one worker at 88% CPU, the
other at 15%, and 126 reports/s instead of ~230. With one SO_REUSEPORT socket per worker the
kernel spreads connections across them by their addresses.

The relay (`gridops_relay`, GRIDOPS_OUTBOX_RELAY=process) runs beside the workers so that
numbering events never waits for a request thread to release the GIL (docs/REALTIME.md).
Stop with Ctrl-C or SIGTERM: every child is stopped; a child that dies is restarted.
"""

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Command(BaseCommand):
    help = "Serve HTTP and websockets with N workers (one SO_REUSEPORT socket each) and the outbox relay."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
        parser.add_argument(
            "--no-relay",
            action="store_true",
            help="Do not start the relay (it runs elsewhere, or GRIDOPS_OUTBOX_RELAY=thread).",
        )
        parser.add_argument("--access-log", action="store_true", help="Log every request.")

    def handle(self, *args, host, port, workers, no_relay, access_log, **options):
        # With our relay, the workers leave numbering to it; with --no-relay the setting decides
        # (docker-compose runs the relay as a service of its own and sets "process" everywhere).
        env = dict(os.environ)
        if not no_relay:
            env["GRIDOPS_OUTBOX_RELAY"] = "process"
        base = [sys.executable, "-m", "gridops.serve_worker"]
        extra = ["--access-log"] if access_log else []
        manage = str(settings.BASE_DIR / "manage.py")

        def start_worker() -> subprocess.Popen:
            sock = _listening_socket(host, port)
            try:
                return subprocess.Popen(
                    [*base, str(sock.fileno()), *extra],
                    pass_fds=(sock.fileno(),),
                    env=env,
                    cwd=settings.BASE_DIR,
                )
            finally:
                sock.close()  # the worker holds its own copy

        def start_relay() -> subprocess.Popen:
            return subprocess.Popen(
                [sys.executable, manage, "gridops_relay"], env=env, stdout=subprocess.DEVNULL
            )

        children: dict[str, subprocess.Popen] = {f"web-{i + 1}": start_worker() for i in range(workers)}
        if not no_relay:
            children["relay"] = start_relay()
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(
            f"serving http://{host}:{port}/ with {workers} worker(s)"
            + ("" if no_relay else " and the outbox relay")
            + " (Ctrl-C stops)"
        )
        try:
            while not stopping:
                time.sleep(0.5)
                for name, child in list(children.items()):
                    if child.poll() is not None and not stopping:
                        self.stderr.write(f"{name} exited with {child.returncode}; restarting it")
                        time.sleep(1)
                        children[name] = start_relay() if name == "relay" else start_worker()
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children.values():
                try:
                    child.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("stopped")
