"""The production reverse proxy (deploy/nginx.conf, docker-compose.yml's "proxy") run for real in
front of two web replicas on this machine.

docker-compose.yml scales the web service with `--scale web=N`; Docker's DNS then answers the
name "web" with one address per replica, and the proxy looks the name up again every 10 s. There
is no Docker engine here, so the test plays Docker's part and nothing else:

    client ──► nginx (deploy/nginx.conf) ──► web = 127.0.0.2:P  (gridops_serve, replica A)
                 │ resolver ──► Names       └► web = 127.0.0.3:P  (gridops_serve, replica B)
                 └ (a DNS server in this test answering "web" with the replicas' addresses)

The configuration is the shipped file with four lines changed: the resolver's address, the
listening port, the replicas' port, and a log of which replica served each request (the
`upstream` of every access line). Each change is checked to apply exactly once, so an edit to
deploy/nginx.conf that this test would no longer cover fails here.
"""

import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gridops.models import Report
from tests.gridops import servers as live
from tests.gridops.servers import MARK, Server, free_port, post_report

ROOT = Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"  # Debian's package "nginx" (scripts/setup.sh installs it)
REPLICA_HOSTS = ("127.0.0.2", "127.0.0.3")  # two loopback addresses: same port, as in compose
RESOLVE_SECONDS = 10  # deploy/nginx.conf: resolver … valid=10s

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Names:
    """A DNS server for one name: A queries for "web" get the addresses in `web` (changed by the
    test as replicas come and go); anything else gets NXDOMAIN. Just enough of RFC 1035 for nginx's
    resolver: one question, answers by a pointer to it."""

    def __init__(self) -> None:
        self.web: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            self.queries += 1
            self.sock.sendto(self.answer(query), peer)

    def answer(self, query: bytes) -> bytes:
        ident, flags = struct.unpack("!HH", query[:4])
        labels, i = [], 12
        while query[i]:
            labels.append(query[i + 1 : i + 1 + query[i]].decode())
            i += 1 + query[i]
        question = query[12 : i + 5]  # the name, its end and the type and class
        qtype = struct.unpack("!H", query[i + 1 : i + 3])[0]
        name = ".".join(labels).lower()
        found = name == "web"
        addresses = list(self.web) if found and qtype == 1 else []
        header = struct.pack(
            "!HHHHHH",
            ident,
            0x8400 | (flags & 0x0100) | (0 if found else 3),  # a response, authoritative; NXDOMAIN
            1,
            len(addresses),
            0,
            0,
        )
        records = b"".join(
            b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 1, 4) + socket.inet_aton(a) for a in addresses
        )
        return header + question + records

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class Proxy:
    """nginx with deploy/nginx.conf (four lines changed, see the module's docstring)."""

    def __init__(self, tmp: Path, *, dns_port: int, web_port: int) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tmp = tmp
        self.access_log = tmp / "access.log"
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        temp_paths = " ".join(
            f"{kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        for old, new in (
            ("resolver 127.0.0.11 ", f"resolver 127.0.0.1:{dns_port} "),
            ("listen 80;", f"listen {self.host}:{self.port};"),
            ("http://web:8000", f"http://web:{web_port}"),
            (
                "http {",
                "http {\n"
                "    log_format replica '$request_method $request_uri $status $upstream_addr';\n"
                f"    access_log {self.access_log} replica;\n"
                f"    {temp_paths}\n",
            ),
        ):
            assert conf.count(old) == 1, f"deploy/nginx.conf no longer has {old!r} once: update this test"
            conf = conf.replace(old, new)
        (tmp / "nginx.conf").write_text(conf)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(self.tmp),
                "-c",
                str(self.tmp / "nginx.conf"),
                "-g",
                f"daemon off; pid {self.tmp / 'nginx.pid'}; error_log {self.tmp / 'error.log'} notice;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/nginx-health", timeout=2) as answer:
                    assert answer.status == 200
                    return
            except OSError:
                assert self.process.poll() is None, f"nginx exited: {self.process.stderr.read().decode()}"
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def served(self) -> list[tuple[str, str, str]]:
        """(request, status, replica address) for each proxied request so far, in order."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            method, uri, status, upstream = line.split(" ", 3)
            if uri != "/nginx-health":
                rows.append((f"{method} {uri}", status, upstream))
        return rows

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code


@pytest.fixture
def names():
    server = Names()
    yield server
    server.close()


@pytest.fixture
def replicas(tiny_county):
    port = free_port(REPLICA_HOSTS[0])
    a, b = (Server(name, host=host, port=port) for name, host in zip("AB", REPLICA_HOSTS, strict=True))
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def proxy(tmp_path, names, replicas):
    nginx = Proxy(tmp_path, dns_port=names.port, web_port=replicas[0].port)
    yield nginx
    nginx.stop()


@pytest.fixture
def dispatcher_token(transactional_db) -> str:
    return live.dispatcher_token("proxy-dispatcher")


def _replica_of(upstream: str) -> str:
    """The replica's address in an access line's $upstream_addr (the last one tried)."""
    return upstream.split(", ")[-1].rsplit(":", 1)[0]


def _holding(replicas: tuple[Server, Server]) -> Server:
    """The replica with an established connection on its port: with no requests in flight, the
    proxy's websocket (nginx keeps no idle connections to the replicas: no `keepalive`)."""
    port = f"{replicas[0].port:04X}"
    holders = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, local_port = local.partition(":")
        if local_port == port and state == "01":  # ESTABLISHED
            holders.add(socket.inet_ntoa(struct.pack("<I", int(address, 16))))
    matching = [r for r in replicas if r.host in holders]
    assert len(matching) == 1, f"connections on the replicas' port: {holders}"
    return matching[0]


def test_requests_are_spread_over_the_replicas(names, replicas, proxy):
    names.web = list(REPLICA_HOSTS)
    live.start_all(*replicas)
    proxy.start()
    assert [proxy.get("/healthz") for _ in range(12)] == [200] * 12
    served = [_replica_of(upstream) for request, _s, upstream in proxy.served() if request == "GET /healthz"]
    assert len(served) == 12
    assert set(served) == set(REPLICA_HOSTS), served
    assert names.queries >= 1  # the replicas were found through the resolver, as under compose


def test_a_new_replica_takes_requests_without_restarting_the_proxy(names, replicas, proxy):
    """`docker compose up -d --scale web=2`: the proxy finds the new replica within `valid=10s`."""
    a, b = replicas
    names.web = [a.host]
    live.start_all(a, b)
    proxy.start()
    assert [proxy.get("/healthz") for _ in range(4)] == [200] * 4
    assert {_replica_of(upstream) for _r, _s, upstream in proxy.served()} == {a.host}
    names.web = [a.host, b.host]  # the second replica joins the service's name
    joined = time.monotonic()
    deadline = joined + RESOLVE_SECONDS + 5
    while _replica_of(proxy.served()[-1][2]) != b.host:
        assert time.monotonic() < deadline, "the proxy never sent a request to the new replica"
        assert proxy.get("/healthz") == 200
        time.sleep(0.2)
    assert proxy.process.poll() is None  # the same nginx, not restarted


def test_a_stopped_replica_is_skipped_and_no_report_is_lost(names, replicas, proxy, dispatcher_token):
    """A replica gone while the name still lists it (a crashed container, a rolling restart):
    nginx cannot connect, so it sends the request to the other one (proxy_next_upstream error).
    A POST that never reached a replica is passed on too: no report is lost or doubled."""
    a, b = replicas
    names.web = [a.host, b.host]
    live.start_all(a, b)
    proxy.start()
    a.stop()
    ids = [post_report(proxy, dispatcher_token, n) for n in range(8)]
    assert [proxy.get("/healthz") for _ in range(4)] == [200] * 4
    assert len(set(ids)) == 8
    assert Report.objects.filter(description__startswith=MARK).count() == 8
    rows = proxy.served()
    assert {_replica_of(upstream) for _r, _s, upstream in rows} == {b.host}
    assert [status for _r, status, _u in rows] == ["201"] * 8 + ["200"] * 4


def test_a_console_through_the_proxy_resumes_on_the_other_replica(names, replicas, proxy, dispatcher_token):
    """A console's replica stops under it: the console reconnects through the same proxy address,
    lands on the other replica (the stopped one takes nothing), and gets exactly what it missed,
    once, in order. Every report goes through the proxy too."""
    names.web = list(REPLICA_HOSTS)
    live.start_all(*replicas)
    proxy.start()
    live.resumed_across_a_stop(
        dispatcher_token, first=proxy, post_to=proxy, stop=lambda: _holding(replicas).stop(), second=proxy
    )
