"""/ws/live/: order, resume without loss or duplicates, stream isolation, refusals, frames.

Each test drives its consoles in one event loop (async_to_sync) against config.asgi.application,
with the real relay thread, PostgreSQL and Redis. Writes go through outbox_emit in committed
transactions (transactional_db), so on_commit kicks the relay exactly as in production.
"""

import asyncio
import contextlib
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from config import dbstate
from geodata.models import Officer
from gridops.models import OutboxEvent
from gridops.realtime import events
from gridops.realtime.access import live_stream_allowed, live_stream_valid
from gridops.realtime.outbox import live_send, outbox_emit, stream_head
from tests.gridops.live_client import LiveClient, live_path, own_channel_layer
from tests.gridops.table_lock import TableLock

W_CODE, E_CODE = "330225001", "330225101"
W, E = events.township_stream(W_CODE), events.township_stream(E_CODE)


@pytest.fixture(autouse=True)
def _own_channel_layer(settings):
    own_channel_layer(settings)


@pytest.fixture
def people(transactional_db, tiny_county):
    def user(name: str, *groups: str) -> User:
        u = User.objects.create_user(name, password="x")
        for g in groups:
            u.groups.add(Group.objects.get_or_create(name=g)[0])
        return u

    dispatcher = user("dispatcher", "dispatcher")
    officer = user("officer", "officer")
    Officer.objects.create(team=tiny_county.teams["W"], user=officer, name="王警官")
    worker = user("worker", "grid_worker")
    tiny_county.cells[(1, 3)].workers.add(worker)  # the W/E border column, north-west township
    return {
        "dispatcher": dispatcher,
        "officer": officer,
        "worker": worker,
        "nobody": user("nobody"),
        "staff": User.objects.create_user("staff", password="x", is_staff=True),
        "officer_without_roster": user("officer2", "officer"),
    }


def token(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


@pytest.fixture
def keys(people) -> dict[str, str]:
    """DRF tokens, made before the event loop runs (the ORM is synchronous)."""
    return {name: token(user) for name, user in people.items()}


def emit(n: int, *, streams=(events.COUNTY_STREAM,), tag: str = "", per_commit: int = 10) -> None:
    for start in range(0, n, per_commit):
        with transaction.atomic():
            for i in range(start, min(n, start + per_commit)):
                outbox_emit(type=events.REPORT_CREATED, data={"n": i, "tag": tag}, streams=list(streams))


def wait_numbered(timeout: float = 10) -> None:
    """Until the relay thread has numbered everything committed so far."""
    deadline = time.monotonic() + timeout
    while OutboxEvent.objects.filter(sequenced_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the relay did not number the events"
        time.sleep(0.01)


aemit = database_sync_to_async(emit)
ahead = database_sync_to_async(stream_head)


def write_without_notice() -> None:
    """One event numbered as if by another relay whose notice never came: only the database knows."""
    from gridops.realtime.outbox import outbox_sequence_pending

    with transaction.atomic():
        OutboxEvent.objects.create(type=events.REPORT_CREATED, data={"n": 0}, streams=["county"])
    while outbox_sequence_pending() is None:
        pass


def run(coro_fn):
    async_to_sync(coro_fn)()


def consecutive(messages: list[dict], start: int) -> bool:
    return [m["seq"] for m in messages] == list(range(start, start + len(messages)))


# --- who may listen --------------------------------------------------------------------------


def test_stream_syntax():
    for ok in ("county", "township:330225001", "team:zh-1", "team:market"):
        assert live_stream_valid(ok)
    for bad in ("", "County", "city:1", "township:", "team:a b", "township:1:2", "team:" + "x" * 41):
        assert not live_stream_valid(bad)


def test_live_stream_allowed(people):
    from django.contrib.auth.models import AnonymousUser

    p = people
    assert not live_stream_allowed(AnonymousUser(), "county")
    for who in ("dispatcher", "staff"):
        assert all(live_stream_allowed(p[who], s) for s in ("county", W, E, "team:zh-2"))
    assert live_stream_allowed(p["officer"], "team:zh-1")
    assert not live_stream_allowed(p["officer"], "team:zh-2")
    assert not live_stream_allowed(p["officer"], "county")
    assert not live_stream_allowed(p["officer"], W)
    assert not live_stream_allowed(p["officer_without_roster"], "team:zh-1")
    assert live_stream_allowed(p["worker"], W)
    assert not live_stream_allowed(p["worker"], E)
    assert not live_stream_allowed(p["worker"], "county")
    assert not live_stream_allowed(p["nobody"], W)
    assert not live_stream_allowed(p["dispatcher"], "city:1")


def test_refusals_close_with_codes(keys):
    cases = [
        (live_path(), 4401),
        (live_path(token="not-a-token"), 4401),
        (live_path(stream="city:1", token=keys["dispatcher"]), 4400),
        (live_path(since="abc", token=keys["dispatcher"]), 4400),
        (live_path(stream=E, token=keys["worker"]), 4403),
        (live_path(stream="county", token=keys["officer"]), 4403),
    ]

    async def scenario():
        for path, code in cases:
            client = LiveClient(path)
            assert await client.connect()  # accepted, so the close code reaches the browser
            frame = await client.frame()
            assert frame[0]["type"] == "error" and frame[0]["seq"] is None
            field, messages = next(iter(frame[0]["data"].items()))
            assert field in ("token", "stream", "since") and messages[0]
            assert await client.frame() is None and client.closed_with == code, path
            await client.close()

    run(scenario)


def test_session_login_and_allowed_streams_connect(people, keys):
    http = Client()
    http.force_login(people["worker"])
    cookie = f"sessionid={http.cookies['sessionid'].value}"

    async def scenario():
        for path, kw in (
            (live_path(stream=W), {"cookie": cookie}),
            (live_path(stream="team:zh-1", token=keys["officer"]), {}),
        ):
            client = LiveClient(path, **kw)
            assert await client.connect()
            [hello] = await client.frame()
            assert hello["type"] == events.RESUMED and hello["data"] == {"since": 0, "head": 0}
            await client.close()

    run(scenario)


# --- order, resume, isolation ----------------------------------------------------------------


def test_events_arrive_in_order_with_consecutive_seq(keys):
    emit(3)  # the console starts at a head that is not zero
    wait_numbered()

    async def scenario():
        client = LiveClient(live_path(token=keys["dispatcher"]))
        assert await client.connect()
        [hello] = await client.frame()
        head = hello["data"]["head"]
        assert hello["type"] == events.RESUMED and head == await ahead("county")
        await aemit(60, per_commit=7)
        await client.until(lambda ms: len([m for m in ms if m["seq"]]) >= 60)
        got = client.sequenced()
        assert consecutive(got, head + 1) and len(got) == 60
        assert [m["data"]["n"] for m in got] == list(range(60))
        assert {m["type"] for m in got} == {events.REPORT_CREATED}
        assert {m["stream"] for m in got} == {"county"}
        await client.close()

    run(scenario)


def test_resume_gets_exactly_the_missed_events_once_in_order(keys, settings):
    """100 events are missed; more are written while the console reconnects, so notices and the
    database catch-up race. Each seq must arrive exactly once, in order."""
    settings.LIVE_HEARTBEAT_SECONDS = 0.3  # heartbeats also race with notices
    key = keys["dispatcher"]

    async def scenario():
        first = LiveClient(live_path(token=key))
        assert await first.connect()
        [hello] = await first.frame()
        since = hello["data"]["head"]
        await first.close()

        await aemit(100, tag="missed")
        writer_done = threading.Event()

        def write_more():
            try:
                emit(50, tag="live", per_commit=1)
            finally:
                connection.close()
                writer_done.set()

        threading.Thread(target=write_more).start()
        second = LiveClient(live_path(token=key, since=since))
        assert await second.connect()
        await second.until(lambda ms: len([m for m in ms if m["seq"]]) >= 150, timeout=20)
        await second.drain(0.8)  # late duplicates would show up here
        assert writer_done.wait(10)
        got = second.sequenced()
        assert second.messages[0]["type"] == events.RESUMED
        assert second.messages[0]["data"]["since"] == since
        assert len(got) == 150 and consecutive(got, since + 1)
        assert [m["data"]["n"] for m in got[:100]] == list(range(100))
        assert {m["data"]["tag"] for m in got[:100]} == {"missed"}
        assert [m["data"]["n"] for m in got[100:]] == list(range(50))

        # Resuming on the open socket replays from the given seq, once.
        second.messages.clear()
        await second.send_json({"action": "resume", "since": since + 140})
        await second.until(lambda ms: any(m["type"] == events.RESUMED for m in ms))
        await second.drain(0.5)
        assert [m["seq"] for m in second.sequenced()] == list(range(since + 141, since + 151))
        await second.close()

    run(scenario)


def test_resume_from_before_retention_or_beyond_head_says_reload(keys, settings):
    settings.LIVE_RESUME_MAX_EVENTS = 20
    emit(30)
    wait_numbered()
    key = keys["dispatcher"]

    async def scenario():
        head = await ahead("county")
        for since in (0, head + 5):
            client = LiveClient(live_path(token=key, since=since))
            assert await client.connect()
            [reload] = await client.frame()
            assert reload["type"] == events.RELOAD and reload["data"] == {"since": since, "head": head}
            await aemit(1)
            await client.until(lambda ms: any(m["seq"] for m in ms))
            assert client.sequenced()[0]["seq"] == head + 1  # continues from the head
            head += 1
            await client.close()

    run(scenario)


def test_township_console_gets_only_its_township_and_county_gets_all(keys):
    async def scenario():
        key = keys["dispatcher"]
        west = LiveClient(live_path(stream=W, token=key))
        east = LiveClient(live_path(stream=E, token=key))
        county = LiveClient(live_path(token=key))
        for c in (west, east, county):
            assert await c.connect()
            await c.frame()
        await aemit(12, streams=["county", W], tag="W", per_commit=3)
        await aemit(8, streams=["county", E], tag="E", per_commit=3)
        await county.until(lambda ms: len([m for m in ms if m["seq"]]) >= 20)
        await west.until(lambda ms: len([m for m in ms if m["seq"]]) >= 12)
        await east.until(lambda ms: len([m for m in ms if m["seq"]]) >= 8)
        for c in (west, east, county):
            await c.drain(0.3)
        assert {m["data"]["tag"] for m in west.sequenced()} == {"W"} and len(west.sequenced()) == 12
        assert {m["data"]["tag"] for m in east.sequenced()} == {"E"} and len(east.sequenced()) == 8
        assert {m["stream"] for m in east.messages} == {E}
        assert len(county.sequenced()) == 20 and consecutive(county.sequenced(), 1)
        for c in (west, east, county):
            await c.close()

    run(scenario)


# --- client messages, heartbeat, frames ------------------------------------------------------


def test_bad_client_messages_answer_errors_and_keep_the_connection(keys):
    async def scenario():
        client = LiveClient(live_path(token=keys["dispatcher"]))
        assert await client.connect()
        await client.frame()
        for text, field in (
            ("not json", "message"),
            ("[1, 2]", "message"),
            ('{"action": "dance"}', "action"),
            ('{"action": "resume", "since": -1}', "since"),
            ('{"action": "resume", "since": true}', "since"),
            ("x" * 5000, "message"),
        ):
            await client.send_text(text)
            await client.until(lambda ms, f=field: any(m["type"] == "error" and f in m["data"] for m in ms))
            client.messages.clear()
        await client.send_json({"action": "ping"})
        await client.until(lambda ms: any(m["type"] == events.HEARTBEAT for m in ms))
        beat = client.of_type(events.HEARTBEAT)[0]
        assert beat["data"]["head"] == 0 and beat["data"]["time"]
        assert not client.future.done()
        await client.close()

    run(scenario)


def test_heartbeat_carries_head_and_pushes_events_whose_notices_were_lost(keys, settings):
    settings.LIVE_HEARTBEAT_SECONDS = 0.2

    async def scenario():
        client = LiveClient(live_path(token=keys["dispatcher"]))
        assert await client.connect()
        await client.frame()
        await database_sync_to_async(write_without_notice)()
        await client.until(lambda ms: any(m["seq"] == 1 for m in ms))
        await client.until(lambda ms: any(m["type"] == events.HEARTBEAT for m in ms))
        assert client.of_type(events.HEARTBEAT)[-1]["data"]["head"] == 1
        await client.close()

    run(scenario)


@contextlib.asynccontextmanager
async def _a_console_whose_heartbeat_waits_on_the_stream_head(keys):
    """A dispatcher's console past its first frame, and the stream-head table locked until the
    block ends; entered once a heartbeat's read of the table waits. Yields (console, lock)."""
    client = LiveClient(live_path(token=keys["dispatcher"]))
    assert await client.connect()
    await client.frame()
    lock = await asyncio.to_thread(TableLock, "gridops_streamhead")
    try:
        deadline = time.monotonic() + 10
        while await asyncio.to_thread(lock.waiting) == 0:
            assert time.monotonic() < deadline, "no heartbeat read the stream head"
            await asyncio.sleep(0.05)
        yield client, lock
    finally:
        await asyncio.to_thread(lock.release)


def test_heartbeats_keep_coming_while_the_database_thread_is_stuck(keys, settings):
    """The stream head is locked, so each heartbeat's read waits on PostgreSQL (and every database
    call of the process waits behind it, on the one thread they share). Heartbeats must keep
    coming all the same, or the browser closes the socket after three silent beats."""
    settings.LIVE_HEARTBEAT_SECONDS = 0.2

    async def scenario():
        async with _a_console_whose_heartbeat_waits_on_the_stream_head(keys) as (client, lock):
            before = len(client.of_type(events.HEARTBEAT))
            await client.drain(1.5)
            stuck = client.of_type(events.HEARTBEAT)[before:]
            assert await asyncio.to_thread(lock.waiting) >= 1  # still stuck throughout
        # ~7 beats in 1.5 s; without the watchdog none came while the read waited.
        assert len(stuck) >= 3
        assert all(m["data"]["head"] == 0 and "database" not in m["data"] for m in stuck)
        await client.close()

    run(scenario)


def test_notices_keep_coming_while_a_heartbeat_waits_for_the_database(keys, settings):
    """A heartbeat's read of the stream head waits on the process's one database thread (here on
    a locked table). The console's notices must not wait with it: under load that queue is
    behind every other console's beats and scope re-checks, and holding the console's sequence
    lock across the read stopped its frames for as long (numbered → console p99 0.2-0.4 s)."""
    settings.LIVE_HEARTBEAT_SECONDS = 0.2

    async def scenario():
        async with _a_console_whose_heartbeat_waits_on_the_stream_head(keys) as (client, lock):
            # The relay cannot number while the head is locked: the notice is sent as it would.
            item = {"seq": 1, "type": events.REPORT_CREATED, "stream": "county", "data": {"id": 1}}
            group = events.stream_group("county")
            await get_channel_layer().group_send(
                group, {"type": "live.messages", "group": group, "messages": [item]}
            )
            await client.until(lambda ms: any(m["seq"] == 1 for m in ms), timeout=2)
            assert await asyncio.to_thread(lock.waiting) >= 1  # the beat still waits
        await client.close()

    run(scenario)


def _marked_unavailable(message: dict) -> bool:
    return message["type"] == events.HEARTBEAT and message["data"].get("database") == "unavailable"


def test_a_database_marked_unavailable_is_probed_and_heartbeats_ask_nothing(keys, settings):
    """config/dbstate.py: once the process knows PostgreSQL is away (a 503, a console's failed
    call), heartbeats go out marked "unavailable" without reading anything, the head being what
    the console was sent; one probe finds the database again and the consoles carry on."""
    settings.LIVE_HEARTBEAT_SECONDS = 0.3

    async def scenario():
        client = LiveClient(live_path(token=keys["dispatcher"]))
        assert await client.connect()
        await client.frame()
        dbstate.mark_unavailable("test")
        await database_sync_to_async(write_without_notice)()  # seq 1: only the database knows
        await client.until(lambda ms: any(_marked_unavailable(m) for m in ms))
        marked = next(m for m in client.messages if _marked_unavailable(m))
        # Nothing was read for it: the head is what the console had, and seq 1 came later.
        assert marked["data"]["head"] == 0
        assert not any(m["seq"] == 1 for m in client.messages[: client.messages.index(marked)])
        # The probe found the database: the next heartbeats read it again and catch up.
        await client.until(lambda ms: any(m["seq"] == 1 for m in ms))
        await client.drain(0.7)
        assert not dbstate.unavailable()
        beats = client.of_type(events.HEARTBEAT)
        assert beats[-1]["data"]["head"] == 1 and "database" not in beats[-1]["data"]
        await client.close()

    run(scenario)


def test_positions_are_coalesced_per_unit(keys, settings):
    settings.LIVE_POSITION_SECONDS = 1.0

    def move(i: int, unit: int = 7) -> None:
        with transaction.atomic():
            live_send(type=events.UNIT_MOVED, data={"id": unit, "n": i}, streams=["team:zh-1"])

    async def scenario():
        client = LiveClient(live_path(stream="team:zh-1", token=keys["officer"]))
        assert await client.connect()
        await client.frame()
        for i in range(50):
            await database_sync_to_async(move)(i)
            await asyncio.sleep(0.01)  # ~0.5 s of movement
        await database_sync_to_async(move)(0, unit=8)  # another unit is not held back by unit 7
        await client.until(lambda ms: any(m["data"].get("n") == 49 for m in ms))
        await client.drain(1.2)
        positions = [m for m in client.of_type(events.UNIT_MOVED) if m["data"]["id"] == 7]
        assert 1 <= len(positions) <= 2
        assert positions[-1]["data"]["n"] == 49 and positions[-1]["seq"] is None
        assert [m["data"]["id"] for m in client.of_type(events.UNIT_MOVED)].count(8) == 1
        await client.close()

    run(scenario)


def test_a_relay_notice_is_not_held_for_the_frame_window(keys, settings):
    """The relay already gathers a stream's events into one notice per cycle: its frame goes at
    once, even right after another frame. (Held for the window, each notice that came a little
    early waited for the rest of it: with a 5 s window this event took ~5 s.)"""
    settings.LIVE_FRAME_SECONDS = 5.0

    async def scenario():
        client = LiveClient(live_path(token=keys["dispatcher"]))
        assert await client.connect()
        first = await client.frame()  # "resumed": the window starts here
        assert first[0]["type"] == events.RESUMED
        started = time.monotonic()
        await aemit(1)
        frame = await client.frame(timeout=10)
        waited = time.monotonic() - started
        assert [m["seq"] for m in frame] == [1]
        assert waited < settings.LIVE_FRAME_SECONDS / 2, f"the notice waited {waited:.2f} s"
        await client.close()

    run(scenario)


def test_frames_of_positions_alone_keep_the_window_and_ride_along(keys, settings):
    """Positions (one notice per ping batch) still come at most one frame per LIVE_FRAME_SECONDS;
    a relay notice meanwhile goes at once and takes the positions that are due with it."""
    settings.LIVE_FRAME_SECONDS = 0.5
    settings.LIVE_POSITION_SECONDS = 0.0

    def move(i: int) -> None:
        with transaction.atomic():
            live_send(type=events.UNIT_MOVED, data={"id": 7, "n": i}, streams=["county"])

    async def scenario():
        client = LiveClient(live_path(token=keys["dispatcher"]))
        assert await client.connect()
        await client.frame()
        frames: list[tuple[float, list[dict]]] = []
        started = time.monotonic()
        for i in range(40):  # ~2 s of positions, far more often than the window
            await database_sync_to_async(move)(i)
            await asyncio.sleep(0.05)
            while True:
                try:
                    frame = await client.frame(timeout=0.001)
                except TimeoutError:
                    break
                frames.append((time.monotonic() - started, frame))
        elapsed = time.monotonic() - started
        assert frames, "no position arrived"
        assert all(m["type"] == events.UNIT_MOVED for _, f in frames for m in f)
        # One frame per window at most (and the first one at once): 2 s / 0.5 s + 1.
        assert len(frames) <= elapsed / settings.LIVE_FRAME_SECONDS + 1, [round(t, 2) for t, _ in frames]
        # A position waiting for the window goes with a sequenced event, which goes at once.
        await client.drain(settings.LIVE_FRAME_SECONDS * 1.5)
        settings.LIVE_FRAME_SECONDS = 5.0
        await database_sync_to_async(move)(99)
        await asyncio.sleep(0.2)  # the position is in the console's queue, held for ~5 s
        await aemit(1)
        frame = await client.frame(timeout=2.5)
        assert [m["type"] for m in frame] == [events.REPORT_CREATED, events.UNIT_MOVED]
        assert frame[1]["data"]["n"] == 99
        await client.close()

    run(scenario)


def test_many_events_are_coalesced_into_few_frames(keys, settings):
    settings.LIVE_FRAME_SECONDS = 0.1

    async def scenario():
        client = LiveClient(live_path(token=keys["dispatcher"]))
        assert await client.connect()
        await client.frame()
        frames = 0
        await aemit(200, per_commit=1)
        while len(client.sequenced()) < 200:
            assert await client.frame() is not None
            frames += 1
        assert consecutive(client.sequenced(), 1)
        assert frames < 200  # one frame per message would mean no coalescing at all
        await client.close()

    run(scenario)


def test_the_channel_layer_socket_outlasts_its_blocking_pop():
    """channels-redis waits for messages with a 5 s blocking pop; a read timeout no longer than
    that turns every quiet moment into a TimeoutError (redis-py 8 defaults to 5 s)."""
    from channels_redis.core import RedisChannelLayer
    from django.conf import settings as django_settings

    host = django_settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout
