"""The rate limits' Lua script over a thread's own socket (gridops/redisscript.py), against the
real Redis: results as redis-py's, a script Redis lost, a connection Redis closed, a Redis that
is not there, and the URLs it leaves to redis-py."""

import threading
import uuid

import pytest
import redis
from django.conf import settings

from gridops import ratelimit, redisscript

LUA = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) return {n, redis.call('GET', KEYS[2]) or '', 'ok'}"


@pytest.fixture
def url() -> str:
    yield settings.REDIS_URL
    redisscript.forget_connections()


@pytest.fixture
def keys(url):
    names = [f"test-rs:{uuid.uuid4().hex}:{k}" for k in ("n", "stamp")]
    yield names
    redis.Redis.from_url(url).delete(*names)


def test_results_are_redis_pys(url, keys):
    client = redis.Redis.from_url(url)
    client.set(keys[1], "héllo")
    ours = redisscript.Script(LUA)
    theirs = client.register_script(LUA)
    assert ours(url, keys=keys, args=[5], timeout=1.0) == [5, "héllo".encode(), b"ok"]
    assert theirs(keys=keys, args=[5]) == [10, "héllo".encode(), b"ok"]
    assert ours(url, keys=keys, args=[-3], timeout=1.0) == [7, "héllo".encode(), b"ok"]
    client.delete(keys[1])
    assert ours(url, keys=keys, args=[0], timeout=1.0)[1] == b""


def test_a_script_redis_does_not_hold_is_loaded(url, keys):
    """As after a restart of Redis (no SCRIPT FLUSH here: it would empty the scripts of every
    other test process sharing this Redis)."""
    script = redisscript.Script(LUA + " -- " + uuid.uuid4().hex)  # never loaded before
    client = redis.Redis.from_url(url)
    assert client.script_exists(script.sha.decode()) == [False]
    assert script(url, keys=keys, args=[1], timeout=1.0)[0] == 1
    assert client.script_exists(script.sha.decode()) == [True]
    assert script(url, keys=keys, args=[1], timeout=1.0)[0] == 2


def test_a_connection_redis_closed_is_replaced_once(url, keys):
    script = redisscript.Script(LUA)
    assert script(url, keys=keys, args=[1], timeout=1.0)[0] == 1
    host, port = redisscript._local.connections[url].sock.getsockname()[:2]
    redis.Redis.from_url(url).client_kill(f"{host}:{port}")  # only this thread's socket
    assert script(url, keys=keys, args=[1], timeout=1.0)[0] == 2  # on a new socket
    assert redisscript._local.connections[url].sock.getsockname()[1] != port


def test_each_thread_has_its_own_socket(url, keys):
    script = redisscript.Script(LUA)
    results = []

    def work():
        for _ in range(50):
            results.append(script(url, keys=keys, args=[1], timeout=1.0)[0])
        redisscript.forget_connections()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 201))


def test_no_redis_raises_redis_pys_connection_error():
    with pytest.raises(redis.ConnectionError):
        redisscript.Script(LUA)("redis://127.0.0.1:1/0", keys=["a", "b"], args=[1], timeout=0.25)


@pytest.mark.parametrize("other", ["rediss://127.0.0.1:6379/0", "unix:///tmp/no-such-redis.sock?db=0"])
def test_tls_and_unix_sockets_are_left_to_redis_py(other):
    with pytest.raises(redisscript.Unsupported):
        redisscript.Script(LUA)(other, keys=["a", "b"], args=[1], timeout=0.25)


def test_the_rate_limit_counts_through_it_and_through_redis_py_alike(settings, monkeypatch):
    settings.RATELIMIT_KEY_PREFIX = f"test-rs-{uuid.uuid4().hex}"
    settings.RATELIMITS = {**settings.RATELIMITS, "user_writes": (3, 60)}
    ratelimit.ratelimit_reset_backoff()
    waits = [ratelimit.ratelimit_hit(scope="user_writes", ident="user:1") for _ in range(2)]
    monkeypatch.setattr(ratelimit, "_slow_urls", {ratelimit._url()})  # as for a rediss:// URL
    waits += [ratelimit.ratelimit_hit(scope="user_writes", ident="user:1") for _ in range(2)]
    assert waits[:3] == [None, None, None] and waits[3] is not None


def test_a_forked_child_opens_its_own_socket(url, keys):
    """A process forked after the parent used the script (Celery's prefork pool, say) must not
    read the parent's replies from a shared socket."""
    import os

    script = redisscript.Script(LUA)
    assert script(url, keys=keys, args=[1], timeout=1.0)[0] == 1
    parent_port = redisscript._local.connections[url].sock.getsockname()[1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one call, then report its socket's port and exit at once
        try:
            n = script(url, keys=keys, args=[1], timeout=1.0)[0]
            port = redisscript._local.connections[url].sock.getsockname()[1]
            os.write(write, f"{n} {port}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    n, child_port = map(int, os.read(read, 100).split())
    os.close(read)
    assert n == 2 and child_port != parent_port
    assert script(url, keys=keys, args=[1], timeout=1.0)[0] == 3  # the parent's socket still answers in order
