"""`/ws/live/`: one console listens to one stream and gets its messages in order, none lost.

    connect ─► auth (session or ?token=) ─► live_stream_allowed ─► join the stream ─► position:
               "resumed" (+ what was missed since `since`, read from PostgreSQL) or "reload"
    relay notice ─► seq ≤ last sent: drop (already sent from the DB)
                    seq = last + 1: queue (and any held-back notices that now follow)
                    seq > last + 1: hold it back for GAP_WAIT_SECONDS — with several web
                    processes, notices of two relays can overtake each other — then, if the gap
                    is still open, read it from the DB
    every LIVE_HEARTBEAT_SECONDS ─► join again, read the stream head; if it is ahead of what
               was sent (lost notices: Redis down or restarted), send the gap from the DB
    writer ─► frames (JSON arrays): at once for the relay's notices (one per stream per
               OUTBOX_COALESCE_SECONDS), at most one per LIVE_FRAME_SECONDS for positions alone;
               at most one position per unit per LIVE_POSITION_SECONDS (the latest wins); a
               sequenced message outside the user's scope goes as {"seq": n, "type": "withheld",
               "data": {}} (the numbering stays gap-free), an ephemeral one not at all
               (gridops/scopes.py)
    every LIVE_SCOPE_RECHECK_SECONDS ─► the session (or token) still there, the user still
               active and still allowed this stream? Otherwise close with 4403.
    exit (disconnect, 4403, an error, cancellation) ─► every task of the console cancelled and
               awaited (at most STOP_WAIT_SECONDS), then it leaves the stream (at most
               LAYER_TIMEOUT_SECONDS): a sick Redis or PostgreSQL never holds an exit.

Notices come through the process's hub (gridops/realtime/hub.py): one channel-layer channel per
worker process joins each stream's group once and hands every notice to the local consoles of that
stream, each through its own in-process queue that its dispatch loop reads.

The channel layer only carries notices; PostgreSQL is the record. So the consumer must outlive
Redis. With channels 4.3 / channels-redis 4.3 a stock consumer does not: its dispatch loop awaits
`channel_layer.receive()`, which raised `redis.exceptions.TimeoutError` 5.0 s after Redis stopped
(measured), ending the application and closing the socket with 1011. Here the hub's receive is
retried with a backoff instead, so a console keeps its heartbeats and DB catch-up while Redis is
away and takes notices again once it is back (group membership is re-added by the next heartbeat).

Why the exit is this careful: a console that leaves anything behind costs the worker until it
restarts. A channel left a member of the group (channels-redis keeps members for a day) has
every notice for it buffered in the worker (up to the layer's capacity, 1500 messages, per dead
channel); a heartbeat loop that outlived its console re-joined the group every 5 s and
queued every new event in a frame nobody sent. Cancellation (a worker shutting down, a test's
communicator) used to skip group_discard altogether, and channels' websocket_disconnect hopped to
the one thread all database calls share, so a disconnect waited behind a query on a sick
database. tests/gridops/test_consumer_lifetime.py counts what is left.

PostgreSQL unavailable: an open console stays open. Heartbeats still go out (the head is then
what this console was sent, with "database": "unavailable"), so the browser's watchdog keeps the
socket; a `resume` asked meanwhile is answered once the database is back; re-checks wait for it
(access is not withdrawn because the database is away). Once a call fails, the process marks the
database unavailable (config/dbstate.py): the heartbeats then ask nothing and one probe asks for
all consoles, so the one database thread is not held for a pool timeout per console per beat. A
heartbeat whose database work waits longer than one interval is sent without it meanwhile. A
console connecting meanwhile is closed with 1013 (try again later) and an error naming "database",
never 1011.

The protocol is documented in docs/REALTIME.md.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from importlib import import_module
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from config import dbstate
from gridops import scopes
from gridops.realtime import events
from gridops.realtime.access import live_stream_valid
from gridops.realtime.hub import STOP_WAIT_SECONDS, cancel_and_wait, hub_for
from gridops.realtime.outbox import stream_head, stream_since

logger = logging.getLogger("gridops.realtime")

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403  # also: the session was revoked, the user deactivated or their scope changed
CLOSE_TRY_AGAIN = 1013  # RFC 6455 "try again later": PostgreSQL unavailable while connecting
WITHHELD = "withheld"  # a sequenced message outside the listener's scope: only its number is sent
# Messages the consumer itself makes: never filtered.
_CONTROL_TYPES = (events.HEARTBEAT, events.RELOAD, events.RESUMED, events.ERROR)

# Connection refused or broken, pool timeout (psycopg_pool.PoolTimeout is an OperationalError):
# what config.middleware answers with 503.
DATABASE_ERRORS = (OperationalError, InterfaceError)
MAX_CLIENT_MESSAGE_CHARS = 4096
# How long a notice that arrives ahead of its predecessor waits for it before the gap is read from
# the database. Measured with two web workers at 200 reports/s: overtaking happens every few
# seconds and the late notice arrives within milliseconds; reading the gap instead cost one query
# per console per gap.
GAP_WAIT_SECONDS = 0.25
# Notices waiting in one console's queue before further ones are dropped (the heartbeat reads
# them from PostgreSQL): ~10 s of a busy stream's 50 ms relay cycles, for a console whose dispatch
# is stuck on the database.
INBOX_MAX = 200

# Every console of a stream sends the same sequenced messages: encode each once per process.
# Profiled with 20 consoles at 200 reports/s: json.dumps per console was ~8% of a worker's CPU.
# A hit is checked by comparing the message itself (the same object when the consoles got it from
# the process's hub; otherwise dict equality, which runs in C, far cheaper than encoding), so a
# stream whose numbers restart (a restored database) never gets a stale text.
# The consoles of a process encode a notice within milliseconds of each other, so the cache only
# needs the last few seconds: 2,000 entries is ~3 s at 200 reports/s on three streams. At 20,000
# (~5 kB each: the message dict and its text) it was the web workers' whole growth in the
# 10-minute soak (+45 MB each, +18%, bench/soak.py), filling towards ~100 MB.
_ENCODED: "OrderedDict[tuple[str, int], tuple[dict, str]]" = OrderedDict()
_ENCODED_MAX = 2_000


def _encode(message: dict) -> str:
    seq = message.get("seq")
    if seq is None:
        return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    key = (message.get("stream"), seq)
    hit = _ENCODED.get(key)
    if hit is not None and (hit[0] is message or hit[0] == message):
        return hit[1]
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    _ENCODED[key] = (message, text)
    if len(_ENCODED) > _ENCODED_MAX:
        _ENCODED.popitem(last=False)
    return text


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


@database_sync_to_async
def _listener(user, stream: str):
    """(allowed, event filter) for this user and stream, read fresh from the database."""
    scopes.scope_for(user, fresh=True)
    if not scopes.stream_allowed(user, stream):
        return False, None
    return True, scopes.stream_event_filter(user, stream)


@database_sync_to_async
def _recheck(user_id: int, session_key: str | None, session_hash: str | None, token: str | None, stream: str):
    """The listener of an open console again: (still allowed, event filter). The session (or the
    token) must still exist and name this user, the user must be active, and the scope must
    still allow the stream (groups and UserScope are read afresh)."""
    if token is not None:
        # The token and its active user in one query (they were two; every console re-checks).
        live = Token.objects.select_related("user").filter(key=token, user_id=user_id, user__is_active=True)
        found = live.first()
        if found is None:
            return False, None
        user = found.user
    else:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            return False, None
        if session_key is not None:
            store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
            data = store.load()  # an empty dict when the session was deleted or has expired
            if str(data.get(SESSION_KEY)) != str(user_id):
                return False, None
            # A password change rotates the hash (Django's own session check does the same).
            if session_hash and not constant_time_compare(session_hash, user.get_session_auth_hash()):
                return False, None
    scopes.scope_for(user, fresh=True)
    if not scopes.stream_allowed(user, stream):
        return False, None
    return True, scopes.stream_event_filter(user, stream)


_head = database_sync_to_async(stream_head)


@database_sync_to_async
def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


_probe: asyncio.Task | None = None


def _probe_database() -> None:
    """While the database is marked unavailable (config/dbstate.py), one probe at a time asks for
    all the consoles of the process; the heartbeats ask nothing meanwhile."""
    global _probe
    if _probe is None or _probe.done() or _probe.get_loop() is not asyncio.get_running_loop():
        _probe = asyncio.ensure_future(_run_probe())


async def _run_probe() -> None:
    asked_at = time.monotonic()
    try:
        await _select_one()
    except DATABASE_ERRORS:
        return  # still away: the next heartbeat probes again
    except Exception:
        logger.exception("live: database probe failed")
        return
    dbstate.mark_available(asked_at)


@database_sync_to_async
def _since(stream: str, since: int) -> tuple[list[dict], bool, int]:
    """Messages after `since` as dicts, whether complete, and the head (for a reload)."""
    messages, complete = stream_since(stream, since, limit=settings.LIVE_RESUME_MAX_EVENTS)
    if not complete:
        return [], False, stream_head(stream)
    return [m.as_dict() for m in messages], True, messages[-1].seq if messages else since


def _error_frame(stream: str, field: str, message: str) -> str:
    """The frame a refused console gets before its close code: one error naming the field."""
    error = {"seq": None, "type": events.ERROR, "stream": stream, "data": {field: [message]}}
    return json.dumps([error], ensure_ascii=False)


def _database_unavailable_text() -> str:
    return _("数据库暂时不可用，请稍后重试。")


def _non_negative_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and value >= 0 else None


class LiveConsumer(AsyncWebsocketConsumer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stream = ""
        self.group = ""
        self.last_seq = 0  # the last sequenced message queued for this console
        self._pending: list[dict] = []  # the next frame
        self._positions: dict = {}  # unit id -> latest unit.moved not yet sent
        self._position_sent: dict = {}  # unit id -> loop time its last position was sent
        self._position_timer: asyncio.TimerHandle | None = None
        self._early: dict[int, dict] = {}  # seq -> a notice that arrived before its predecessor
        self._gap_timer: asyncio.TimerHandle | None = None
        self._seq_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()  # every task this console started and not yet ended
        self._stopping = False  # set once on exit: loops end, nothing new is started or joined
        self._left_group = False
        self._layer_ok = True
        self._hub = None
        self._inbox: asyncio.Queue = asyncio.Queue(maxsize=INBOX_MAX)  # notices from the hub
        self._dropped = 0  # notices dropped because the inbox was full (logged at the 1st, every 100th)
        self._beat_head = 0  # the stream head read at the previous heartbeat
        self._db_ok = True
        self._deferred_resume: int | None = None  # a `resume` that met an unavailable database
        self._visible = None  # None: everything on the stream may be sent; else a predicate
        self._identity: tuple | None = None  # (user id, session key, session hash, token)

    # --- ASGI plumbing -------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        """channels' AsyncConsumer.__call__ with the notices from the process's hub instead of a
        channel of its own."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        sources = [receive]
        if self.channel_layer is not None:
            self._hub = hub_for(self.channel_layer)
            sources.append(self._inbox.get)
        try:
            await self._dispatch_from(sources)
        except StopConsumer:
            pass
        finally:
            await self._stop()

    async def _dispatch_from(self, sources) -> None:
        """channels.utils.await_many_dispatch, with a bounded clean-up: a receive stuck on a sick
        Redis must not hold the exit."""
        waiting = [asyncio.ensure_future(source()) for source in sources]
        try:
            while True:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for i, task in enumerate(waiting):
                    if task.done():
                        message = task.result()
                        await self.dispatch(message)
                        waiting[i] = asyncio.ensure_future(sources[i]())
        finally:
            left = await cancel_and_wait(waiting, STOP_WAIT_SECONDS)
            if left:
                logger.warning("live %s: %d receive(s) still running after the exit", self.stream, len(left))

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)  # a long-lived console fills many gaps: forget the finished ones
        if not task.cancelled() and task.exception() is not None:
            logger.error("live %s: a console task failed", self.stream, exc_info=task.exception())

    def notice(self, message: dict) -> None:
        """A notice from the hub: queued for this console's dispatch loop, or dropped if the
        console has not taken the last INBOX_MAX (its heartbeat reads them from the database)."""
        if self._stopping:
            return
        try:
            self._inbox.put_nowait(message)
        except asyncio.QueueFull:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 100 == 0:
                logger.warning("live %s: console behind, %d notice(s) dropped", self.stream, self._dropped)

    async def dispatch(self, message):
        # channels' dispatch hops to a thread to close stale DB connections before every handler,
        # i.e. once per notice; our handlers only touch the DB through database_sync_to_async,
        # which does that itself, so the hop is skipped.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None or message["type"].startswith("_"):
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- connect / disconnect ----------------------------------------------------------------

    async def connect(self) -> None:
        # Accept before refusing: a close code sent before the handshake completes never reaches
        # the browser (it sees a bare 403), and the console needs 4401/4403 to know what to do.
        await self.accept()
        asked_at = time.monotonic()
        params = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        user = self.scope.get("user") or AnonymousUser()
        token = (params.get("token") or [""])[-1]
        if token:
            try:
                user = await _user_for_token(token) or AnonymousUser()
            except DATABASE_ERRORS as exc:
                return await self._database_refusal(exc)
        if not user.is_authenticated:
            return await self._refuse(CLOSE_UNAUTHENTICATED, "token", _("请先登录，或提供有效的令牌。"))
        self.stream = (params.get("stream") or [events.COUNTY_STREAM])[-1]
        if not live_stream_valid(self.stream):
            return await self._refuse(
                CLOSE_BAD_REQUEST, "stream", _("数据流应为 county、township:<代码> 或 team:<代码>。")
            )
        since = None
        if "since" in params:
            since = _non_negative_int(params["since"][-1])
            if since is None:
                return await self._refuse(CLOSE_BAD_REQUEST, "since", _("since 应为非负整数。"))
        try:
            allowed, self._visible = await _listener(user, self.stream)
        except DATABASE_ERRORS as exc:
            return await self._database_refusal(exc)
        if not allowed:
            return await self._refuse(CLOSE_FORBIDDEN, "stream", _("您无权收听该数据流。"))
        self._identity = self._identity_of(user, token)
        self.group = events.stream_group(self.stream)
        # Join the group before reading the database: an event numbered in between is then both
        # read and noticed (the notice is dropped as a duplicate) rather than neither.
        await self._group_add()
        self._spawn(self._writer())
        self._spawn(self._heartbeats())
        self._spawn(self._rechecks())
        try:
            await self._resume(since)
        except DATABASE_ERRORS as exc:
            return await self._database_refusal(exc)
        self._database_works(asked_at)  # a connect asks the database whatever the mark says
        logger.info("live %s: console of user %s connected (since=%s)", self.stream, user.pk, since)

    def _identity_of(self, user, token: str) -> tuple:
        """What the re-check verifies: the token, or the session (key and auth hash)."""
        if token:
            return (user.pk, None, None, token)
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        return (user.pk, key, session.get(HASH_SESSION_KEY) if key else None, None)

    async def _database_refusal(self, exc: Exception) -> None:
        """PostgreSQL unavailable while connecting: 1013, the console tries again later."""
        logger.warning("live %s: database unavailable while connecting: %r", self.stream, exc)
        await self._stop()
        await self._refuse(CLOSE_TRY_AGAIN, "database", _database_unavailable_text())

    def _database_failed(self, what: str, exc: Exception) -> None:
        """Log an unavailable database once per outage (every console would otherwise log a
        traceback per heartbeat), anything else every time with its traceback."""
        if not isinstance(exc, DATABASE_ERRORS):
            logger.error("live %s: %s failed", self.stream, what, exc_info=exc)
        else:
            dbstate.mark_unavailable(f"live {what}")
            if self._db_ok:
                logger.warning("live %s: database unavailable (%s): %r", self.stream, what, exc)
        self._db_ok = False

    def _database_works(self, asked_at: float) -> None:
        dbstate.mark_available(asked_at)
        if not self._db_ok:
            logger.info("live %s: database available again", self.stream)
        self._db_ok = True

    async def _rechecks(self) -> None:
        """Close the console once its user may no longer listen (revocation within seconds)."""
        while not self._stopping:
            await asyncio.sleep(settings.LIVE_SCOPE_RECHECK_SECONDS)
            if dbstate.unavailable():
                continue  # access is checked again once the database is back
            try:
                allowed, visible = await _recheck(*self._identity, self.stream)
            except Exception as exc:  # the console stays; access is checked again next time
                self._database_failed("scope re-check", exc)
                continue
            if self._stopping:  # the console ended while the database answered
                return
            if not allowed:
                logger.info("live %s: user %s may no longer listen, closing", self.stream, self._identity[0])
                # Nothing queued may reach a user who lost access, and nothing may be sent after
                # the close: the writer and the heartbeats end first.
                await self._stop()
                await self._refuse(CLOSE_FORBIDDEN, "stream", _("您的登录已失效或权限已变更。"))
                return
            self._visible = visible

    async def _refuse(self, code: int, field: str, message: str) -> None:
        # Not the query string: it may carry the token.
        logger.warning("live: refused %s (%s), stream %r: %s", code, field, self.stream[:80], message)
        self.stream = self.stream or events.COUNTY_STREAM
        await self.send(text_data=_error_frame(self.stream, field, message))
        await self.close(code=code)

    async def websocket_disconnect(self, message) -> None:
        # channels' version also runs close_old_connections in the thread every database call of
        # the process shares, so a disconnect waited behind a query on a sick database; our
        # database calls (database_sync_to_async) close old connections themselves.
        await self.disconnect(message.get("code"))
        raise StopConsumer()

    async def disconnect(self, code) -> None:
        await self._stop()

    async def _stop(self) -> None:
        """End the console: cancel and await every task it started (except the caller), then leave
        the group. Every exit path comes here, some twice (a 4403 close, then the disconnect and
        the end of __call__); each call waits for what is still running, the group is left once."""
        self._stopping = True
        for timer in (self._position_timer, self._gap_timer):
            if timer is not None:
                timer.cancel()
        self._position_timer = self._gap_timer = None
        left = await cancel_and_wait(self._tasks - {asyncio.current_task()}, STOP_WAIT_SECONDS)
        if left:  # they see _stopping at their next step and end; nothing re-joins the group
            logger.warning(
                "live %s: %d console task(s) still running %.0f s after the exit",
                self.stream,
                len(left),
                STOP_WAIT_SECONDS,
            )
        if self._left_group or not self.group or self._hub is None:
            return
        self._left_group = True
        await self._hub.leave(self.group, self)

    async def _group_add(self) -> None:
        """Join (or re-join: idempotent, refreshes the expiry) the stream through the process's
        hub; never raises."""
        if self._hub is None or self._stopping:
            return
        if not await self._hub.join(self.group, self):
            if self._layer_ok:
                logger.warning("live %s: group_add failed (catching up from the DB)", self.stream)
            self._layer_ok = False
            return
        if not self._layer_ok:
            logger.info("live %s: group_add works again", self.stream)
        self._layer_ok = True

    # --- sequencing ----------------------------------------------------------------------------

    def _message(self, type_: str, data: dict) -> dict:
        return {"seq": None, "type": type_, "stream": self.stream, "data": data}

    async def _resume(self, since: int | None) -> None:
        """Position the console after `since` (None: at the head) and queue what it missed."""
        async with self._seq_lock:
            # Read first: if the database fails, nothing queued has been dropped.
            if since is None:
                head = await _head(self.stream)
            else:
                messages, complete, head = await _since(self.stream, since)
            # Sequenced messages already queued are part of the answer below (or superseded).
            self._pending = [m for m in self._pending if m["seq"] is None]
            if since is None:
                self.last_seq = head
                self._queue(self._message(events.RESUMED, {"since": self.last_seq, "head": self.last_seq}))
                self._drain_early()
                return
            self.last_seq = head
            if not complete:
                logger.info("live %s: resume from %s impossible, reload at %s", self.stream, since, head)
                self._queue(self._message(events.RELOAD, {"since": since, "head": head}))
                self._drain_early()
                return
            self._queue(self._message(events.RESUMED, {"since": since, "head": head}))
            self._pending.extend(messages)
            self._drain_early()

    async def _catch_up(self) -> None:
        """Queue from the DB what follows `last_seq` (the caller holds the lock)."""
        messages, complete, head = await _since(self.stream, self.last_seq)
        if not complete:
            logger.warning("live %s: %s missed events, reload at %s", self.stream, head - self.last_seq, head)
            self._pending = [m for m in self._pending if m["seq"] is None]
            self._queue(self._message(events.RELOAD, {"since": self.last_seq, "head": head}))
            self.last_seq = head
            self._drain_early()
            return
        for m in messages:
            if m["seq"] > self.last_seq:
                self._pending.append(m)
                self.last_seq = m["seq"]
        self._drain_early()

    async def live_messages(self, event: dict) -> None:
        """Notices from the relay (sequenced) or from live_send (seq None)."""
        async with self._seq_lock:
            for item in event["messages"]:
                seq = item.get("seq")
                if seq is None:
                    self._queue_ephemeral(item)
                elif seq == self.last_seq + 1:
                    self._pending.append(item)
                    self.last_seq = seq
                    self._drain_early()
                elif seq > self.last_seq:  # overtaken (or lost): hold it, read the gap if it stays
                    self._early[seq] = item
                    if self._gap_timer is None:
                        loop = asyncio.get_running_loop()
                        self._gap_timer = loop.call_later(GAP_WAIT_SECONDS, self._gap_due)
                # seq <= last_seq: already sent from the database
        self._wake.set()

    def _drain_early(self) -> None:
        """Queue the held-back notices that now follow in order; forget those already sent."""
        while self._early:
            nxt = self._early.pop(self.last_seq + 1, None)
            if nxt is None:
                break
            self._pending.append(nxt)
            self.last_seq = nxt["seq"]
        for seq in [s for s in self._early if s <= self.last_seq]:
            del self._early[seq]
        if not self._early and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _gap_due(self) -> None:
        self._gap_timer = None
        if self._early and not self._stopping:
            self._spawn(self._fill_gap())

    async def _fill_gap(self) -> None:
        async with self._seq_lock:
            if not self._early:
                return
            try:
                await self._catch_up()
            except Exception as exc:
                self._database_failed("catch-up", exc)
                return  # the next heartbeat retries
            self._drain_early()
        self._wake.set()

    async def _heartbeats(self) -> None:
        interval = settings.LIVE_HEARTBEAT_SECONDS
        while not self._stopping:
            await asyncio.sleep(interval)
            # channels-redis forgets group members when Redis restarts; re-adding is idempotent.
            await self._group_add()
            beat = asyncio.ensure_future(self._beat())
            try:
                while not (await asyncio.wait({beat}, timeout=interval))[0]:
                    # The beat is waiting for the one database thread (PostgreSQL away, or a
                    # backlog): a heartbeat anyway, so the browser's watchdog keeps the socket.
                    self._heartbeat_without_database()
                await beat
            finally:
                beat.cancel()

    def _heartbeat_without_database(self) -> None:
        """A heartbeat that reads nothing: the head is what this console was sent (nothing to
        resume), marked "database": "unavailable" while the process knows it is."""
        if self._stopping:
            return
        data = {"database": "unavailable"} if dbstate.unavailable() else {}
        now = timezone.localtime().isoformat()
        self._queue(self._message(events.HEARTBEAT, {"head": self.last_seq, "time": now, **data}))

    async def _beat(self) -> None:
        if dbstate.unavailable():
            # Nothing is asked: one probe per process asks for every console (config/dbstate.py).
            _probe_database()
            return self._heartbeat_without_database()
        data = {}
        asked_at = time.monotonic()
        try:
            if self._deferred_resume is not None:
                await self._resume(self._deferred_resume)
                self._deferred_resume = None
            # Read before taking the lock: the read waits for the process's one database thread
            # (behind every other console's beats and scope re-checks), and a console's notices
            # wait for the lock. Held across the read, the lock stopped this console's frames
            # for as long as that queue was: with 50 consoles at 200 reports/s, numbered → on
            # the console p99 231-435 ms, 184-205 ms since (three interleaved pairs). A notice
            # that arrives meanwhile only raises last_seq, so the comparison below, made under
            # the lock, asks the database for less, never for too little.
            head = await _head(self.stream)
            async with self._seq_lock:
                # Lost notices are read from the DB; notices still in flight are not. An event
                # numbered before the previous heartbeat should have been noticed long ago: if it
                # has not, its notice is lost (Redis restarted, a group over capacity). Newer ones
                # are awaited one more beat unless the layer is known to be failing. Catching up
                # on every `head > last_seq` made each console re-read from PostgreSQL what was
                # already on its way whenever the worker was busy: 17-25% of a worker's GIL time
                # with 50 consoles at 200 reports/s (py-spy), which deepened the backlog.
                lost_up_to = head if not self._layer_ok else self._beat_head
                if self.last_seq < lost_up_to:
                    await self._catch_up()
                self._beat_head = head
                # The head the client compares with is what this console has been sent (the
                # frame carries it before this heartbeat): the stream head would name notices
                # still in flight and make every browser under load send a needless resume.
                head = self.last_seq
            self._database_works(asked_at)
        except Exception as exc:
            # The heartbeat still goes (the browser closes a socket that stays silent for three),
            # with what this console was sent as the head: nothing to resume.
            self._database_failed("heartbeat", exc)
            head, data = self.last_seq, {"database": "unavailable"}
        if self._stopping:
            return
        now = timezone.localtime().isoformat()
        self._queue(self._message(events.HEARTBEAT, {"head": head, "time": now, **data}))

    # --- client messages ---------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if text_data is None or len(text_data) > MAX_CLIENT_MESSAGE_CHARS:
            return self._client_error("message", _("消息应为不超过 4096 个字符的 JSON 文本。"))
        try:
            message = json.loads(text_data)
        except ValueError:
            return self._client_error("message", _("消息不是有效的 JSON。"))
        if not isinstance(message, dict):
            return self._client_error("message", _("消息应为 JSON 对象。"))
        action = message.get("action")
        if action == "ping":
            await self._beat()
        elif action == "resume":
            since = _non_negative_int(message.get("since"))
            if since is None:
                return self._client_error("since", _("since 应为非负整数。"))
            try:
                if dbstate.unavailable():
                    raise OperationalError("the database is marked unavailable in this process")
                await self._resume(since)
            except DATABASE_ERRORS as exc:
                # Answered by the first heartbeat that reads the database again.
                self._database_failed("resume", exc)
                self._deferred_resume = since
                self._client_error("database", _("数据库暂时不可用，请稍后重试。"))
        else:
            self._client_error("action", _("未知的操作，可用：resume、ping。"))

    def _client_error(self, field: str, message: str) -> None:
        logger.info("live %s: client message refused (%s): %s", self.stream, field, message)
        self._queue(self._message(events.ERROR, {field: [message]}))

    # --- frames ------------------------------------------------------------------------------

    def _queue(self, message: dict) -> None:
        self._pending.append(message)
        self._wake.set()

    def _queue_ephemeral(self, item: dict) -> None:
        if item.get("type") == events.UNIT_MOVED and isinstance(item.get("data"), dict):
            self._positions[item["data"].get("id")] = item  # the latest position wins
        else:
            self._pending.append(item)

    def _take_due_positions(self, now: float) -> list[dict]:
        interval = settings.LIVE_POSITION_SECONDS
        due: list[dict] = []
        waiting: list[float] = []
        for unit, item in list(self._positions.items()):
            sent = self._position_sent.get(unit)
            if sent is None or now - sent >= interval:
                due.append(item)
                self._position_sent[unit] = now
                del self._positions[unit]
            else:
                waiting.append(sent + interval)
        if waiting:  # wake the writer when the earliest held-back position is due
            next_due = min(waiting)
            if self._position_timer is not None:
                self._position_timer.cancel()
            self._position_timer = asyncio.get_running_loop().call_at(next_due, self._wake.set)
        return due

    def _scoped(self, frame: list[dict]) -> list[dict]:
        """The frame as this listener may see it: out-of-scope sequenced messages keep only their
        number (so the client sees no gap), out-of-scope ephemeral ones are dropped."""
        visible, result = self._visible, []
        for m in frame:
            if m["type"] in _CONTROL_TYPES or visible(m):
                result.append(m)
            elif m.get("seq") is not None:
                result.append({"seq": m["seq"], "type": WITHHELD, "stream": m.get("stream"), "data": {}})
        return result

    def _pending_urgent(self) -> bool:
        """Does the next frame carry more than unit positions (which wait for the frame window)?"""
        return any(m["seq"] is not None or m["type"] != events.UNIT_MOVED for m in self._pending)

    async def _writer(self) -> None:
        """Sends the queued messages as frames. A frame with sequenced messages (or a control
        message) goes at once: the relay already gathers a stream's events into one notice per
        OUTBOX_COALESCE_SECONDS. A frame of unit positions only (live_send, one notice per ping
        batch) waits until LIVE_FRAME_SECONDS after the previous frame, and the positions due
        travel with every frame that goes earlier.

        Why not every frame at most one per LIVE_FRAME_SECONDS, as before: the relay's notices come
        at that same pace with a few milliseconds of jitter, so each one that arrived a little early
        against the previous frame waited for the rest of a window; counted from the end of each
        send, the wait also grew by the time the worker took to reach the console, until it was a
        whole window. Measured (bench/intake.py --only consoles, two workers, 200 reports/s):
        notice in the worker → frame sent p50 43-73 ms, p90 ~100 ms with 20 or 50 consoles
        (docs/PERFORMANCE.md, ninth session)."""
        loop = asyncio.get_running_loop()
        last_frame = None
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                now = loop.time()
                if last_frame is not None and not self._pending_urgent():
                    due = last_frame + settings.LIVE_FRAME_SECONDS
                    while now < due and not self._pending_urgent():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), due - now)
                        self._wake.clear()
                        now = loop.time()
                frame, self._pending = self._pending, []
                if self._positions:
                    frame.extend(self._take_due_positions(now))
                if self._visible is not None:
                    frame = self._scoped(frame)
                if not frame:
                    continue
                if len(frame) > 2 * settings.LIVE_RESUME_MAX_EVENTS:  # a console that cannot keep up
                    frame = [self._message(events.RELOAD, {"since": None, "head": self.last_seq})]
                last_frame = now
                await self.send(text_data="[" + ",".join(_encode(m) for m in frame) + "]")
        except asyncio.CancelledError:
            raise
        except OSError as exc:  # the console went away mid-send (uvicorn: ClientDisconnected)
            logger.info("live %s: console gone while sending (%r)", self.stream, exc)
            with contextlib.suppress(Exception):
                await self.close(code=1011)
        except Exception:
            logger.exception("live %s: writer stopped; closing the socket (the console resumes)", self.stream)
            await self.close(code=1011)


class DatabaseUnavailableAtHandshake:
    """ASGI middleware around the session and auth middleware of /ws/live/.

    Channels' AuthMiddleware reads the browser's session and user from PostgreSQL before the
    consumer runs. With PostgreSQL away that read raised out of the application: uvicorn logged
    "Exception in ASGI application" and failed the handshake, so a signed-in browser saw a bare
    failure where a console with a token got 1013. Here the same answer as the consumer's: the
    socket is accepted, gets an error naming "database" and is closed with 1013 (try again later).
    """

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        answered = False

        async def tracked_send(message):
            nonlocal answered
            answered = True
            await send(message)

        try:
            return await self.inner(scope, receive, tracked_send)
        except DATABASE_ERRORS as exc:
            if answered or scope.get("type") != "websocket":
                raise  # the consumer was already talking: not a handshake failure
            dbstate.mark_unavailable("live handshake")
            logger.warning("live: database unavailable while reading the session: %r", exc)
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        frame = _error_frame(events.COUNTY_STREAM, "database", _database_unavailable_text())
        await send({"type": "websocket.send", "text": frame})
        await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})
