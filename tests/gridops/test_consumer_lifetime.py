"""/ws/live/: a console that ends leaves nothing behind, whichever way it ends.

Left behind, a console costs its worker until the worker restarts: a task of it that still runs
(a heartbeat re-joining the group every few seconds, a re-check reading the database), or its
channel still a member of the stream's group (every notice is then buffered in the worker for a
channel nobody reads). Each test connects real consoles to config.asgi.application (real Redis,
real PostgreSQL), ends them — a normal close, the application cancelled (a worker shutting down),
a 4403 after the token was revoked, an error in a handler — and then checks, the moment each
application has returned, that every task started since the consoles connected has ended (the
process hub's receive loop included) and the group has no members.

The database-stuck cases hold an ACCESS EXCLUSIVE lock on the table the scope re-check reads, so
that a re-check is waiting on PostgreSQL when the console ends (the lock is seen in pg_locks
before the console is ended): the exit must not wait for the database.
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from gridops.realtime import events
from gridops.realtime.consumers import LiveConsumer
from tests.gridops.live_client import LiveClient, live_path, own_channel_layer
from tests.gridops.table_lock import TableLock

CONSOLES = 4
GROUP = events.stream_group(events.COUNTY_STREAM)
# How long a console may take to end. A hang is the failure: the fixed consumer ends in
# milliseconds, the broken one never did while the database was stuck.
EXIT_LIMIT_SECONDS = 15


@pytest.fixture(autouse=True)
def _own_channel_layer(settings):
    own_channel_layer(settings)
    # Busy consoles: their heartbeats and re-checks run all the time, so an exit meets them mid-way.
    settings.LIVE_HEARTBEAT_SECONDS = 0.2
    settings.LIVE_SCOPE_RECHECK_SECONDS = 0.2


@pytest.fixture
def key(transactional_db, tiny_county) -> str:
    user = User.objects.create_user("dispatcher", password="x")
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    return Token.objects.create(user=user).key


def consumer_tasks(tasks) -> list[str]:
    """The tasks running a LiveConsumer method, by name (for the assertion message)."""
    names = []
    for task in tasks:
        frame = getattr(task.get_coro(), "cr_frame", None)
        if frame is not None and isinstance(frame.f_locals.get("self"), LiveConsumer):
            names.append(task.get_coro().__qualname__)
    return sorted(names)


async def group_members() -> list[bytes]:
    layer = get_channel_layer()
    redis = layer.connection(layer.consistent_hash(GROUP))
    return await redis.zrange(layer._group_key(GROUP), 0, -1)


async def connect_all(key: str) -> list[LiveClient]:
    clients = [LiveClient(live_path(token=key)) for _ in range(CONSOLES)]
    for client in clients:
        assert await client.connect()
        await client.until(lambda ms: any(m["type"] == events.RESUMED for m in ms))
    # The process's hub is the group's one member for all its consoles (gridops/realtime/hub.py).
    assert len(await group_members()) == 1
    return clients


async def ended(client: LiveClient) -> bool:
    await asyncio.wait({client.future}, timeout=EXIT_LIMIT_SECONDS)
    return client.future.done()


async def end(clients: list[LiveClient], how: str) -> None:
    for client in clients:
        if how == "close":
            await client.send_input({"type": "websocket.disconnect", "code": 1001})
        else:
            client.future.cancel()
    for client in clients:
        assert await ended(client), f"a console did not end ({how})"


def left_behind(before: set) -> list:
    return [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]


@pytest.mark.parametrize("how", ["close", "cancel"])
def test_consoles_that_end_leave_no_task_and_no_group_membership(key, how):
    async def scenario():
        before = asyncio.all_tasks()
        clients = await connect_all(key)
        running = consumer_tasks(asyncio.all_tasks() - before)
        assert running.count("LiveConsumer._heartbeats") == CONSOLES  # the count below means something
        assert running.count("LiveConsumer._rechecks") == CONSOLES
        await end(clients, how)
        leftover = left_behind(before)
        assert leftover == [], consumer_tasks(leftover) or leftover
        assert await group_members() == []

    async_to_sync(scenario)()


@pytest.mark.parametrize("how", ["close", "cancel"])
def test_a_console_ends_while_its_scope_recheck_waits_on_a_stuck_database(key, how):
    async def scenario():
        before = asyncio.all_tasks()
        clients = await connect_all(key)
        lock = await asyncio.to_thread(TableLock, "authtoken_token")
        try:
            while await asyncio.to_thread(lock.waiting) == 0:  # a re-check is now stuck on it
                await asyncio.sleep(0.05)
            await end(clients, how)
            leftover = left_behind(before)
            assert leftover == [], consumer_tasks(leftover) or leftover
            assert await group_members() == []
        finally:
            await asyncio.to_thread(lock.release)
        # The stuck query has now answered a re-check that no longer exists: nothing wakes up.
        while await asyncio.to_thread(lock.waiting):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # five heartbeat and re-check periods
        assert consumer_tasks(asyncio.all_tasks()) == []
        assert await group_members() == []

    async_to_sync(scenario)()


def test_a_console_closed_with_4403_leaves_nothing_behind(key):
    """The re-check itself ends the console (the token was revoked): it stops its siblings, sends
    the refusal, and the disconnect that follows finds nothing left to stop."""

    async def scenario():
        before = asyncio.all_tasks()
        clients = await connect_all(key)
        await database_sync_to_async(Token.objects.filter(key=key).delete)()
        for client in clients:
            with pytest.raises(AssertionError, match="closed with 4403"):
                await client.until(lambda ms: False, timeout=EXIT_LIMIT_SECONDS)
            await client.send_input({"type": "websocket.disconnect", "code": 4403})
            assert await ended(client)
            # Nothing after the refusal: no frame the user may no longer see.
            assert client.messages[-1]["type"] == events.ERROR
        leftover = left_behind(before)
        assert leftover == [], consumer_tasks(leftover) or leftover
        assert await group_members() == []

    async_to_sync(scenario)()


def test_a_console_whose_handler_fails_leaves_nothing_behind(key):
    """A message the consumer has no handler for makes its dispatch raise: the application ends
    with that error, and still stops its tasks and leaves the group."""

    async def scenario():
        before = asyncio.all_tasks()
        clients = await connect_all(key)
        layer = get_channel_layer()
        for member in await group_members():
            await layer.send(member.decode(), {"type": "no.such.handler", "group": GROUP})
        for client in clients:
            assert await ended(client)
            with pytest.raises(ValueError, match=r"No handler for message type no\.such\.handler"):
                client.future.result()
        leftover = left_behind(before)
        assert leftover == [], consumer_tasks(leftover) or leftover
        assert await group_members() == []

    async_to_sync(scenario)()
