"""One Lua script run over a plain socket per thread: the Redis call every write makes (a report's
or a case step's rate limit, a tracker batch's key stamp and limit, gridops/ratelimit.py).

Why: through redis-py an EVALSHA cost 88 µs of the caller's CPU (its connection pool, retry
wrapper, command packing and response callbacks), over a socket of the thread's own 16 µs
(measured, 5,000 calls each, the same script and keys); the call is on every report and every GPS
batch. Only `redis://` URLs (TCP, optional user, password and database); for `rediss://` or a Unix
socket the caller gets `Unsupported` and uses redis-py. Failures raise redis-py's own exceptions
(ConnectionError, TimeoutError, ResponseError), so callers handle them as before; a failed socket
is closed and the next call opens a new one. A script Redis no longer holds (a restart, SCRIPT
FLUSH) is loaded again and the call repeated once.
"""

import hashlib
import os
import socket
import threading

import redis
from redis.connection import parse_url


class Unsupported(Exception):
    """This URL needs redis-py (TLS, a Unix socket)."""


_local = threading.local()


def _encode(parts) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        if not isinstance(part, bytes):
            part = str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class _Connection:
    def __init__(self, url: str, timeout: float) -> None:
        options = parse_url(url)
        if "connection_class" in options:
            raise Unsupported(url)
        try:
            self.sock = socket.create_connection((options["host"], options["port"]), timeout=timeout)
        except TimeoutError as exc:
            raise redis.TimeoutError(str(exc)) from None
        except OSError as exc:
            raise redis.ConnectionError(str(exc)) from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        try:
            if options.get("password"):
                auth = [b"AUTH", options["password"]]
                if options.get("username"):
                    auth.insert(1, options["username"])
                self.call(auth)
            if options.get("db"):
                self.call([b"SELECT", options["db"]])
        except Exception:
            self.close()
            raise

    def call(self, parts):
        try:
            self.sock.sendall(_encode(parts))
            return self._reply()
        except TimeoutError as exc:
            raise redis.TimeoutError(str(exc)) from None
        except OSError as exc:
            raise redis.ConnectionError(str(exc)) from None

    def _reply(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise redis.ConnectionError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise redis.ResponseError(rest.decode(errors="replace"))
        raise redis.ConnectionError(f"unexpected reply from Redis: {line[:40]!r}")

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


class Script:
    """A Lua script, run with EVALSHA (loaded again when Redis has lost it)."""

    def __init__(self, lua: str) -> None:
        self.lua = lua
        self.sha = hashlib.sha1(lua.encode()).hexdigest().encode()

    def __call__(self, url: str, *, keys, args=(), timeout: float):
        connections = getattr(_local, "connections", None)
        if connections is None or _local.pid != os.getpid():  # none yet, or a forked child's copy
            connections = _local.connections = {}  # (the parent's sockets are left to the parent)
            _local.pid = os.getpid()
        command = [b"EVALSHA", self.sha, len(keys), *keys, *args]
        kept = connections.get(url)
        try:
            return self._run(connections, url, kept, command, timeout)
        except redis.ConnectionError:
            if kept is None:
                raise
            # A kept socket Redis closed (a restart): once more on a new one, as redis-py retries.
            return self._run(connections, url, None, command, timeout)

    def _run(self, connections: dict, url: str, connection, command: list, timeout: float):
        if connection is None:
            connection = connections[url] = _Connection(url, timeout)
        try:
            try:
                return connection.call(command)
            except redis.ResponseError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                connection.call([b"SCRIPT", b"LOAD", self.lua])
                return connection.call(command)
        except (redis.ConnectionError, redis.TimeoutError):
            connections.pop(url, None)
            connection.close()
            raise


def forget_connections() -> None:
    """Close this thread's sockets (tests; a process that must not reuse them)."""
    if getattr(_local, "pid", None) == os.getpid():
        for connection in _local.connections.values():
            connection.close()
    _local.connections, _local.pid = {}, os.getpid()
