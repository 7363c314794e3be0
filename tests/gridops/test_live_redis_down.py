"""Redis stops and comes back (empty) while reports are written and consoles listen.

Our own throw-away redis-server (no persistence) so the shared one is never touched. PostgreSQL is
the record: writes never need Redis, a console that stays connected catches up through its
heartbeats (from the database), and a console that reconnects with `since` gets everything.
"""

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group, User
from django.db import transaction
from rest_framework.authtoken.models import Token

from gridops.models import OutboxEvent
from gridops.realtime import events
from gridops.realtime.outbox import outbox_emit, stream_head
from tests.gridops.live_client import LiveClient, live_path
from tests.gridops.redis_server import RedisServer, free_port


def production_host(settings) -> dict:
    """The connection options the deployment uses (socket timeouts), for another address."""
    return dict(settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0])


@pytest.fixture
def redis_server(settings):
    server = RedisServer(free_port())
    server.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{**production_host(settings), "address": server.url}], "expiry": 30},
        }
    }  # pytest-django's settings fixture signals the change; channels then drops its cached layer
    settings.LIVE_HEARTBEAT_SECONDS = 0.3
    yield server
    server.stop()


@pytest.fixture
def dispatcher_key(transactional_db) -> str:
    user = User.objects.create_user("dispatcher", password="x")
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    return Token.objects.create(user=user).key


def write_one(n: int) -> None:
    """One report-like write: its own transaction, as a service would do it."""
    with transaction.atomic():
        outbox_emit(type=events.REPORT_CREATED, data={"n": n}, streams=[events.COUNTY_STREAM])


awrite = database_sync_to_async(write_one)
ahead = database_sync_to_async(stream_head)


@database_sync_to_async
def wait_numbered(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while OutboxEvent.objects.filter(sequenced_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the relay did not number the events"
        time.sleep(0.01)


def seqs(client: LiveClient) -> list[int]:
    return [m["seq"] for m in client.sequenced()]


def test_redis_down_writes_succeed_and_consoles_get_everything(redis_server, dispatcher_key):
    async def scenario():
        staying = LiveClient(live_path(token=dispatcher_key))
        leaving = LiveClient(live_path(token=dispatcher_key))
        for c in (staying, leaving):
            assert await c.connect()
            await c.frame()
        await awrite(0)
        await staying.until(lambda ms: any(m["seq"] == 1 for m in ms))
        await leaving.until(lambda ms: any(m["seq"] == 1 for m in ms))
        await leaving.close()

        redis_server.stop()
        for n in range(1, 21):  # every write succeeds with Redis gone
            await awrite(n)
        await wait_numbered()  # and is numbered: sequencing does not wait on Redis
        assert await ahead("county") == 21
        # The console that stayed is still connected and catches up from the database.
        await staying.until(lambda ms: any(m["seq"] == 21 for m in ms), timeout=15)
        assert not staying.future.done()

        redis_server.start()  # empty: group memberships and queued notices are gone
        for n in range(21, 31):
            await awrite(n)
            await asyncio.sleep(0.02)
        await staying.until(lambda ms: any(m["seq"] == 31 for m in ms), timeout=15)
        await staying.drain(0.5)
        assert seqs(staying) == list(range(1, 32))  # each once, in order
        assert [m["data"]["n"] for m in staying.sequenced()] == list(range(31))

        back = LiveClient(live_path(token=dispatcher_key, since=1))
        assert await back.connect()
        await back.until(lambda ms: any(m["seq"] == 31 for m in ms))
        await back.drain(0.3)
        assert seqs(back) == list(range(2, 32))

        # With Redis back, notices flow again (the heartbeat re-joined the group): a new write
        # reaches both consoles.
        await awrite(31)
        for c in (staying, back):
            await c.until(lambda ms: any(m["seq"] == 32 for m in ms))
            await c.close()

    async_to_sync(scenario)()


def test_console_connects_and_resumes_while_redis_is_down(redis_server, dispatcher_key):
    redis_server.stop()

    async def scenario():
        await awrite(0)
        await wait_numbered()
        client = LiveClient(live_path(token=dispatcher_key, since=0))
        assert await client.connect()  # group_add fails (logged), the DB answers
        await client.until(lambda ms: any(m["seq"] == 1 for m in ms))
        await awrite(1)
        await client.until(lambda ms: any(m["seq"] == 2 for m in ms), timeout=15)  # via heartbeat
        assert seqs(client) == [1, 2]
        await client.close()

    async_to_sync(scenario)()
