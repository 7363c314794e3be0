"""The outbox: events are written with the change, numbered per stream after commit, then noticed.

    service ──(same transaction)──► OutboxEvent            the record
    commit ──on_commit──► relay_kick()
    relay thread ──(advisory lock, one transaction)──► StreamEvent(stream, seq), StreamHead
                 ──► channel layer: one notice per stream per cycle (best effort)

Why the sequence number is given by the relay and not by the writer: ids come from a sequence
before commit, so a transaction holding id 10 can commit after one holding id 11; a console that
saw 11 and resumed "after 11" would never see 10. The relay numbers events in the order it finds
them committed, under an advisory lock, so `seq > since` on a stream is exactly what a console
missed. Writers never wait on a shared counter row.

The channel layer is only a notice path: if Redis is down the events are still numbered and
consoles that resume get them from PostgreSQL. Notices are sent from the relay thread's own event
loop (one Redis connection pool for the process), with a timeout, so a dead Redis never blocks
sequencing. Ephemeral messages (unit positions) go through the same thread via `live_send`.
"""

import asyncio
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from gridops.models import OutboxEvent, StreamEvent, StreamHead
from gridops.realtime.events import UNIT_MOVED, stream_group

logger = logging.getLogger("gridops.realtime")

# pg_try_advisory_xact_lock key: "grdo" as an int. Only one relay numbers events at a time.
RELAY_LOCK_KEY = 0x6772646F
SEND_TIMEOUT_SECONDS = 1.0
SEND_BACKOFF_MAX_SECONDS = 2.0
PRUNE_EVERY_SECONDS = 600
# Web processes NOTIFY this channel after commits that wrote events; a relay process LISTENs.
NOTIFY_CHANNEL = "gridops_outbox"
NUMBER_BATCH = 1000


@dataclass(frozen=True)
class Message:
    """One message as a console receives it."""

    stream: str
    seq: int | None
    type: str
    data: dict

    def as_dict(self) -> dict:
        return {"seq": self.seq, "type": self.type, "stream": self.stream, "data": self.data}


def outbox_event(*, type: str, data: dict, streams: list[str]) -> OutboxEvent:
    """An unsaved event (see outbox_emit, and gridops.services.rows for the one-statement path)."""
    return OutboxEvent(type=type, data=data, streams=sorted(set(streams)))


def outbox_emit(*, type: str, data: dict, streams: list[str]) -> OutboxEvent:
    """Record an event in the current transaction; it is numbered and pushed after commit."""
    event = outbox_event(type=type, data=data, streams=streams)
    event.save(force_insert=True)
    transaction.on_commit(relay_kick)
    return event


def live_send(*, type: str, data: dict, streams: list[str]) -> None:
    """Send an ephemeral notice (not stored, not replayed), e.g. unit positions, after commit."""
    messages = [Message(stream=s, seq=None, type=type, data=data) for s in streams]
    transaction.on_commit(lambda: _relay().enqueue(messages))


# Numbering in one statement. Profiled (py-spy --gil on the relay process, 8 clients posting
# reports): five ORM round trips per cycle (read the pending events, read the heads, insert the
# stream events, upsert the heads, mark the events) were ~75% of the relay's CPU, ~1.5 ms per report.
# Here PostgreSQL numbers them: each pending event gets, in each of its streams, the stream's head
# plus its rank among this batch's events of that stream (in id order). The events' type and data
# are carried from `pending` to the result: joined back to the outbox table instead, PostgreSQL
# answered with a hash join over a scan of the whole table (all the events kept for resuming): a
# one-event cycle cost 2.6 ms of PostgreSQL at 11,000 events kept and 13 ms at 30,000; 1.3 ms now.
# Taken first in the numbering transaction: the relay's lock, and no bitmap scan (see below).
_LOCK_SQL = "SELECT pg_try_advisory_xact_lock(%s), set_config('enable_bitmapscan', 'off', true)"
_NUMBER_SQL = """
WITH pending AS (
    SELECT id, streams, type, data FROM gridops_outboxevent
    WHERE sequenced_at IS NULL ORDER BY id LIMIT %(limit)s
), expanded AS (
    SELECT p.id, s.stream, row_number() OVER (PARTITION BY s.stream ORDER BY p.id) AS n
    FROM pending p CROSS JOIN LATERAL unnest(p.streams) AS s(stream)
), counts AS (
    SELECT stream, count(*) AS k FROM expanded GROUP BY stream
), heads AS (
    INSERT INTO gridops_streamhead (stream, seq) SELECT stream, k FROM counts
    ON CONFLICT (stream) DO UPDATE SET seq = gridops_streamhead.seq + EXCLUDED.seq
    RETURNING stream, seq
), numbered AS (
    SELECT e.id, e.stream, h.seq - c.k + e.n AS seq
    FROM expanded e JOIN counts c USING (stream) JOIN heads h USING (stream)
), stored AS (
    INSERT INTO gridops_streamevent (stream, seq, event_id, created_at)
    SELECT stream, seq, id, %(now)s FROM numbered
), marked AS (
    UPDATE gridops_outboxevent SET sequenced_at = %(now)s WHERE id IN (SELECT id FROM pending)
)
SELECT n.stream, n.seq, p.type, p.data::text
FROM numbered n JOIN pending p ON p.id = n.id
ORDER BY n.id, n.stream
"""


def outbox_sequence_pending(*, limit: int = 1000) -> list[Message] | None:
    """Number up to `limit` committed, unnumbered events into their streams.

    Returns the messages numbered (possibly empty), in event order and, within an event, in the
    order of its (sorted) streams; None if another relay holds the lock.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            # No bitmap scan of the pending index in this transaction (SET LOCAL): every numbered
            # event leaves a dead entry there until VACUUM, and a bitmap scan visits each one's heap
            # page again on every cycle (it never marks them dead). Measured on the bench database
            # with 10,650 such entries: 4 ms per scan, each time; a plain index scan marks them on
            # its first pass (4 ms once) and later passes step over them (0.1 ms).
            cursor.execute(_LOCK_SQL, [RELAY_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return None
            cursor.execute(_NUMBER_SQL, {"limit": limit, "now": timezone.now()})
            rows = cursor.fetchall()
    return [
        Message(stream=stream, seq=seq, type=type_, data=json.loads(data))
        for stream, seq, type_, data in rows
    ]


def stream_head(stream: str) -> int:
    return StreamHead.objects.filter(stream=stream).values_list("seq", flat=True).first() or 0


def stream_since(stream: str, since: int, *, limit: int) -> tuple[list[Message], bool]:
    """The messages of `stream` after `since`, oldest first, and whether they are complete.

    Incomplete (the console must reload) when events after `since` have already been pruned, when
    more than `limit` are missing, or when `since` is beyond the head (the stream was reset).
    """
    head = stream_head(stream)
    if since >= head:
        return [], since == head
    oldest = StreamEvent.objects.filter(stream=stream).aggregate(m=Min("seq"))["m"]
    if oldest is None or oldest > since + 1 or head - since > limit:
        return [], False
    rows = (
        StreamEvent.objects.filter(stream=stream, seq__gt=since)
        .order_by("seq")
        .values_list("seq", "event__type", "event__data")
    )
    return [Message(stream=stream, seq=seq, type=t, data=d) for seq, t, d in rows], True


def outbox_prune(*, older_than: timedelta | None = None) -> int:
    """Delete numbered events older than the retention window; returns how many events went."""
    cutoff = timezone.now() - (older_than or timedelta(hours=settings.LIVE_RETENTION_HOURS))
    StreamEvent.objects.filter(created_at__lt=cutoff).delete()
    deleted, _ = OutboxEvent.objects.filter(sequenced_at__lt=cutoff).delete()
    return deleted


def _latest_positions(messages: list[Message]) -> list[Message]:
    """The ephemeral messages to send, in order, keeping only the latest position of each unit per
    stream (a console shows only the latest, at most one per LIVE_POSITION_SECONDS)."""

    def unit_of(m: Message):
        return (m.stream, m.data.get("id")) if m.type == UNIT_MOVED and isinstance(m.data, dict) else None

    last = {}
    for i, m in enumerate(messages):
        if (unit := unit_of(m)) is not None:
            last[unit] = i
    return [m for i, m in enumerate(messages) if (unit := unit_of(m)) is None or last[unit] == i]


def group_messages(messages: list[Message]) -> dict[str, list[dict]]:
    by_stream: dict[str, list[dict]] = {}
    for m in messages:
        by_stream.setdefault(m.stream, []).append(m.as_dict())
    return by_stream


class Relay:
    """Numbers committed events and sends the notices; run by a thread or by `gridops_relay`."""

    def __init__(self, *, numbers: bool = True) -> None:
        # False: only send ephemeral notices (a web process when a relay process numbers events).
        self.numbers = numbers
        self.kicked = False  # a commit wrote events since the last cycle
        self._last_cycle = 0.0
        self.wake = threading.Event()
        self._queue: queue.SimpleQueue[list[Message]] = queue.SimpleQueue()
        self._loop = asyncio.new_event_loop()
        self._last_prune = time.monotonic()
        self._send_failures = 0
        self._send_paused_until = 0.0
        self._number_failures = 0

    def enqueue(self, messages: list[Message]) -> None:
        self._queue.put(messages)
        self.wake.set()

    def run_listening(self, *, stop: threading.Event) -> None:
        """The relay as its own process (`gridops_relay`, settings.OUTBOX_RELAY = "process"):
        woken by PostgreSQL NOTIFY from the writers' transactions, on its own connection.

        Why a process: in a web worker the relay thread competes for the GIL with the request
        threads, and each of its round trips waited for it. Measured at 120 reports/s with two
        workers: event → numbered p50 114 ms, p99 557 ms in a thread."""
        import psycopg

        last_cycle = 0.0
        while not stop.is_set():
            try:
                with psycopg.connect(_libpq_dsn(), autocommit=True) as listener:
                    listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    logger.info("outbox relay listening on %s", NOTIFY_CHANNEL)
                    self.wake.set()  # whatever was written while nobody listened
                    while not stop.is_set():
                        if not self.wake.is_set():
                            for _ in listener.notifies(timeout=settings.OUTBOX_POLL_SECONDS, stop_after=1):
                                pass
                        self.wake.clear()
                        # At most one cycle per OUTBOX_COALESCE_SECONDS, counted from the last
                        # cycle: after a quiet spell the first notice is numbered at once instead
                        # of after a fixed pause, while a busy moment still gathers its commits.
                        # (Each web process already sends at most one NOTIFY per pause.)
                        pause = last_cycle + settings.OUTBOX_COALESCE_SECONDS - time.monotonic()
                        if pause > 0:
                            time.sleep(pause)
                        for _ in listener.notifies(timeout=0, stop_after=10_000):  # drain the rest
                            pass
                        last_cycle = time.monotonic()
                        try:
                            if self.cycle():
                                self.wake.set()  # busy: look again after the coalescing pause
                        except Exception:
                            logger.exception("outbox relay cycle failed")
                            time.sleep(0.5)
                        finally:
                            connection.close()
            except Exception:  # the database went away: reconnect, events wait in the outbox
                logger.exception("outbox relay lost its LISTEN connection; reconnecting")
                stop.wait(1.0)

    def run(self, *, stop: threading.Event | None = None) -> None:
        """Cycle until `stop` is set; no error ends the loop (a dead relay would silence every console)."""
        while stop is None or not stop.is_set():
            self.wake.wait(timeout=settings.OUTBOX_POLL_SECONDS)
            self.wake.clear()
            if stop is not None and stop.is_set():
                break
            # Let the commits of a busy moment gather, so one numbering transaction takes them
            # together (profiled: at 100+ reports/s a cycle per commit was ~9% of the web CPU).
            # A thread that only passes the news to the relay process does not wait: the relay
            # process gathers (and this thread notifies at most once per gathering pause).
            if self.numbers:
                time.sleep(settings.OUTBOX_COALESCE_SECONDS)
            else:
                # At most one cycle per OUTBOX_COALESCE_SECONDS, counted from the previous one (after
                # a quiet spell at once): the unit positions of a busy moment go as one notice per
                # stream, the latest per unit (_latest_positions). Each tracker batch used to send
                # its own, two Redis round trips each: profiled (py-spy --gil, a web worker, 8
                # trackers posting 100-fix batches) ~6% of the worker's CPU.
                pause = self._last_cycle + settings.OUTBOX_COALESCE_SECONDS - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                self._last_cycle = time.monotonic()
            try:
                self.cycle()
            except Exception:  # keep the relay alive whatever happens; the next cycle retries
                logger.exception("outbox relay cycle failed")
                time.sleep(0.5)
            finally:
                connection.close()  # back to the pool between cycles

    def cycle(self) -> int:
        """Number everything pending, send the notices; returns how many messages were numbered."""
        outgoing: list[Message] = []
        if not self.numbers and self.kicked:
            # Why not NOTIFY in every writer's transaction: a transaction that notifies takes a
            # global lock at commit; at 150+ reports/s that serialised the commits (intake fell
            # from ~230 to ~150 reports/s). One NOTIFY per cycle of this thread is enough (run()
            # paces those cycles at one per OUTBOX_COALESCE_SECONDS).
            self.kicked = False
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
            except Exception:
                logger.warning("could not notify the relay process (it polls as well)", exc_info=True)
        while self.numbers:
            try:
                numbered = outbox_sequence_pending(limit=NUMBER_BATCH)
            except Exception:
                # The database restarted or is unreachable: drop the broken connection (the pool
                # discards it) and retry on the next cycle. Nothing is lost, events stay pending.
                self._number_failures += 1
                if self._number_failures == 1:
                    logger.exception("outbox relay could not number events (database unavailable?)")
                elif self._number_failures % 100 == 0:
                    logger.error("outbox relay still cannot number events (%d tries)", self._number_failures)
                connection.close()
                time.sleep(0.5)
                break
            if self._number_failures:
                logger.info("outbox relay numbers events again after %d failures", self._number_failures)
                self._number_failures = 0
            if numbered is None:  # another process's relay is numbering; look again shortly
                time.sleep(0.01)
                self.wake.set()
                break
            outgoing.extend(numbered)
            if len(numbered) < NUMBER_BATCH:  # all pending events are numbered: no empty round
                break
        count = len(outgoing)
        ephemeral: list[Message] = []
        while True:
            try:
                ephemeral.extend(self._queue.get_nowait())
            except queue.Empty:
                break
        outgoing.extend(_latest_positions(ephemeral))
        if outgoing:
            self._send(outgoing)
        if time.monotonic() - self._last_prune > PRUNE_EVERY_SECONDS:
            self._last_prune = time.monotonic()
            try:
                outbox_prune()
            except Exception:
                logger.exception("outbox prune failed")
        return count

    def _send(self, messages: list[Message]) -> None:
        # Looked up on every send: cheap, and follows CHANNEL_LAYERS when settings change (tests).
        layer = get_channel_layer()
        if layer is None:
            return
        if time.monotonic() < self._send_paused_until:
            # The channel layer failed a moment ago: don't make every cycle wait for its timeout.
            # The notices are dropped; consoles get these events from PostgreSQL (heartbeat/resume).
            return
        try:
            self._loop.run_until_complete(
                asyncio.wait_for(self._send_all(layer, group_messages(messages)), SEND_TIMEOUT_SECONDS)
            )
            if self._send_failures:
                logger.info("channel layer reachable again after %d failed sends", self._send_failures)
            self._send_failures = 0
        except Exception as exc:  # Redis down or over capacity: consoles resume from PostgreSQL
            self._send_failures += 1
            backoff = min(SEND_BACKOFF_MAX_SECONDS, 0.25 * self._send_failures)
            self._send_paused_until = time.monotonic() + backoff
            if self._send_failures == 1 or self._send_failures % 100 == 0:
                logger.warning("channel layer send failed (%d so far): %r", self._send_failures, exc)

    async def _send_all(self, layer, by_stream: dict[str, list[dict]]) -> None:
        messages = {
            # "group" routes the notice inside the receiving process (gridops/realtime/hub.py).
            stream_group(stream): {"type": "live.messages", "group": stream_group(stream), "messages": items}
            for stream, items in by_stream.items()
        }
        if _batchable(layer):
            await _redis_group_send_many(layer, messages)
            return
        # Another layer (in-memory in some tests, sharded Redis): one group_send per stream, together.
        await asyncio.gather(*(layer.group_send(group, message) for group, message in messages.items()))


def _batchable(layer) -> bool:
    from channels_redis.core import RedisChannelLayer

    return type(layer) is RedisChannelLayer and layer.ring_size == 1


# channels_redis 4.3's group_send, for many groups in one go (its Lua script, its message format).
_GROUP_SEND_LUA = """
local over_capacity = 0
local current_time = ARGV[#ARGV - 1]
local expiry = ARGV[#ARGV]
for i=1,#KEYS do
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


async def _redis_group_send_many(layer, messages: dict[str, dict]) -> None:
    """`layer.group_send(group, message)` for every group, in two Redis round trips in all.

    Why: a relay cycle at 200 reports/s notifies the county, ~10 township and ~10 team streams.
    channels_redis sends each group with four round trips (expire members, read members, expire
    messages, the Lua send), one command at a time through redis-py. Measured on 21 groups (25
    consoles on the county): 50-130 ms and 16-28 ms of CPU per cycle one after another, ~50-75 ms
    with the group_sends run together; batched here: see docs/REALTIME.md. The messages are what
    group_send would store (same serializer, same per-process channel grouping, same capacity
    check), so consumers cannot tell the difference. Single Redis host only (see _batchable).
    """
    connection = layer.connection(0)
    groups = list(messages)
    pipe = connection.pipeline(transaction=False)
    stale = int(time.time()) - layer.group_expiry
    for group in groups:
        key = layer._group_key(group)
        pipe.zremrangebyscore(key, min=0, max=stale)
        pipe.zrange(key, 0, -1)
    members = (await pipe.execute())[1::2]
    keys: list = []
    payloads: list = []
    capacities: list = []
    for group, names in zip(groups, members, strict=True):
        if not names:
            continue
        channel_names = [name.decode("utf8") for name in names]
        _, key_messages, key_capacities = layer._map_channel_keys_to_connection(
            channel_names, messages[group]
        )
        for key, payload in key_messages.items():
            keys.append(key)
            payloads.append(payload)
            capacities.append(key_capacities[key])
    if not keys:
        return
    now = time.time()
    pipe = connection.pipeline(transaction=False)
    for key in set(keys):
        pipe.zremrangebyscore(key, min=0, max=int(now) - int(layer.expiry))
    pipe.eval(_GROUP_SEND_LUA, len(keys), *keys, *payloads, *capacities, now, layer.expiry)
    over_capacity = (await pipe.execute())[-1]
    if over_capacity:
        logger.info("%s channel messages over capacity (groups %s)", over_capacity, ", ".join(groups))


class _RelayThread(threading.Thread):
    """One per process, started on the first kick; restarted by the next kick if it ever died."""

    def __init__(self) -> None:
        super().__init__(name="gridops-outbox-relay", daemon=True)
        self.relay = Relay(numbers=settings.OUTBOX_RELAY == "thread")
        self.stop_event = threading.Event()

    def kick(self) -> None:
        self.relay.kicked = True
        self.relay.wake.set()

    def enqueue(self, messages: list[Message]) -> None:
        self.relay.enqueue(messages)

    def run(self) -> None:
        try:
            self.relay.run(stop=self.stop_event)
        finally:
            if not self.stop_event.is_set():
                logger.error("outbox relay thread stopped; the next commit starts a new one")


_relay_lock = threading.Lock()
_relay_thread: _RelayThread | None = None


def _relay() -> _RelayThread:
    global _relay_thread
    if _relay_thread is None or not _relay_thread.is_alive():
        with _relay_lock:
            if _relay_thread is None or not _relay_thread.is_alive():
                _relay_thread = _RelayThread()
                _relay_thread.start()
    return _relay_thread


def relay_kick() -> None:
    """After a commit that wrote events: wake this process's relay thread (starting it on first
    use). With a relay process (settings.OUTBOX_RELAY = "process") that thread only passes the
    news on, as one NOTIFY for all the commits of the last OUTBOX_COALESCE_SECONDS."""
    _relay().kick()


def _libpq_dsn() -> str:
    """The default database as a libpq connection string (the LISTEN connection is our own)."""
    db = settings.DATABASES["default"]
    parts = {
        "dbname": db.get("NAME"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "host": db.get("HOST"),
        "port": db.get("PORT"),
    }
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


def relay_ensure_running() -> None:
    """Start (or restart) this process's relay, e.g. where events are written by other processes."""
    _relay()


def relay_stop(timeout: float = 5.0) -> None:
    """Stop this process's relay (tests before their database goes; a clean shutdown)."""
    global _relay_thread
    with _relay_lock:
        thread, _relay_thread = _relay_thread, None
    if thread is not None and thread.is_alive():
        thread.stop_event.set()
        thread.kick()
        thread.join(timeout)
