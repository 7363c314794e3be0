"""One channel-layer subscription per worker process, shared by all the consoles it serves.

Before, every console had its own channel in the layer. channels-redis already stored and popped
a notice once per process (its group send packs the process's channels into one message), but
each console then ran a receive of its own for every notice (two tasks and the layer's receive
lock each time) and a group_add of its own at every heartbeat. Here a process joins each group
its consoles listen to once, with one channel; one receive loop hands each notice to every local
console of that stream through an in-process queue per console, read by the console's own
dispatch loop (so each console still handles its notices one after another, in order). Profiled
(py-spy --gil, two workers, 20 consoles at 100 reports/s): the receive path's samples per second
fell by ~35%; the end-to-end latencies were within the machine's noise of each other.

What stays as it was:
- Notices are only notices: a console whose queue is full (it is stuck, e.g. waiting on the
  database) loses further ones, like a channel over capacity, and its heartbeat reads them from
  PostgreSQL.
- channels-redis forgets group members when Redis restarts: consoles re-join at every heartbeat.
  The consoles of one group share one `group_add` at a time and its answer for REJOIN_SECONDS, so
  50 consoles' heartbeats cost one round trip, not 50.
- The receive survives Redis outages (retried with a backoff; a stock receive raised 5 s after
  Redis stopped).
- Nothing outlives the consoles: the last console of a group leaves it (group_discard), and the
  last console of the process stops the receive loop (tests/gridops/test_consumer_lifetime.py).

A hub belongs to one event loop and one channel layer (a uvicorn worker has one of each; tests
run several loops).
"""

import asyncio
import logging
import weakref
from collections import defaultdict

from gridops.realtime.events import stream_group

logger = logging.getLogger("gridops.realtime")

LAYER_TIMEOUT_SECONDS = 1.0  # group_add / group_discard must never hang a console on a sick Redis
REJOIN_SECONDS = 1.0  # a group's join answers every console's heartbeat for this long
RECEIVE_BACKOFF_MAX_SECONDS = 5.0
# How long an exit waits for cancelled tasks (a console's, the receive loop). A task waiting for a
# database thread ends at once when cancelled (asgiref 3.13 lets the thread finish on its own); the
# bound is for whatever does not, so that one stuck call cannot hold the worker's exit path.
STOP_WAIT_SECONDS = 2.0
CANCEL_AGAIN_SECONDS = 0.1


async def cancel_and_wait(tasks, timeout: float) -> set[asyncio.Task]:
    """Cancel `tasks` and wait up to `timeout` seconds for them to end; those still running.

    A task still running is cancelled again every CANCEL_AGAIN_SECONDS: redis-py can swallow the
    cancellation of a blocking read (redis/redis-py#2028), and channels-redis's receive then goes
    on waiting for a message that never comes to a discarded channel — seen here as a console's
    receive that never ended after a normal close. A second cancellation is not swallowed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    running = {t for t in tasks if not t.done()}
    while running and (left := deadline - loop.time()) > 0:
        for task in running:
            task.cancel()
        _done, running = await asyncio.wait(running, timeout=min(left, CANCEL_AGAIN_SECONDS))
    return running


class StreamHub:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.loop = asyncio.get_running_loop()
        self.channel: str | None = None
        self.members: dict[str, set] = {}  # group -> the consoles listening to it
        self._joined: dict[str, tuple[float, bool]] = {}  # group -> (loop time of the join, ok)
        self._joining: dict[str, asyncio.Task] = {}
        # One layer call (group_add / group_discard) per group at a time.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._receiver: asyncio.Task | None = None

    # --- membership ----------------------------------------------------------------------------

    async def join(self, group: str, console) -> bool:
        """Listen to `group` for `console` (again: a heartbeat's re-join). True if the layer has the
        process in the group; False if the layer failed (the console catches up from the DB)."""
        self.members.setdefault(group, set()).add(console)
        if self.channel is None:
            self.channel = await self.layer.new_channel()  # no Redis round trip
        if self._receiver is None or self._receiver.done():
            self._receiver = asyncio.ensure_future(self._receive())
        joined = self._joined.get(group)
        if joined is not None and self.loop.time() - joined[0] < REJOIN_SECONDS:
            return joined[1]
        task = self._joining.get(group)
        if task is None:
            task = self._joining[group] = asyncio.ensure_future(self._group_add(group))
        return await asyncio.shield(task)  # a console that leaves meanwhile does not cancel the others' join

    async def _group_add(self, group: str) -> bool:
        try:
            async with self._locks[group]:
                try:
                    await asyncio.wait_for(self.layer.group_add(group, self.channel), LAYER_TIMEOUT_SECONDS)
                    ok = True
                except Exception as exc:
                    logger.info("live hub: group_add %s failed: %r", group, exc)
                    ok = False
                if group in self.members:
                    self._joined[group] = (self.loop.time(), ok)
                return ok
        finally:
            self._joining.pop(group, None)

    async def leave(self, group: str, console) -> None:
        """`console` no longer listens. The last console of a group leaves it in the layer, the last
        console of the process stops the receive loop; never raises, waits at most about
        LAYER_TIMEOUT_SECONDS + STOP_WAIT_SECONDS."""
        consoles = self.members.get(group)
        if consoles is None or console not in consoles:
            return
        consoles.discard(console)
        if not consoles:
            del self.members[group]
            self._joined.pop(group, None)
            async with self._locks[group]:
                if group not in self.members:  # nobody joined while we waited for the lock
                    try:
                        discard = self.layer.group_discard(group, self.channel)
                        await asyncio.wait_for(discard, LAYER_TIMEOUT_SECONDS)
                    except Exception as exc:  # the membership expires by itself (group_expiry)
                        logger.info("live hub: group_discard %s failed: %r", group, exc)
        if not self.members and self._receiver is not None:
            receiver, self._receiver = self._receiver, None
            if await cancel_and_wait({receiver}, STOP_WAIT_SECONDS):
                logger.warning("live hub: receive loop still running %.0f s after its end", STOP_WAIT_SECONDS)

    # --- notices -------------------------------------------------------------------------------

    async def _receive(self) -> None:
        failures = 0
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1:
                    logger.warning("live hub: channel layer receive failed, retrying: %r", exc)
                await asyncio.sleep(min(RECEIVE_BACKOFF_MAX_SECONDS, 0.25 * 2**failures))
                continue
            if failures:
                logger.info("live hub: channel layer receive works again")
                failures = 0
            self.deliver(message)

    def deliver(self, message: dict) -> None:
        """Hand `message` to every console of its group (the same object: consoles do not change it)."""
        group = message.get("group")
        if group is None:
            items = message.get("messages") or [{}]
            stream = items[0].get("stream") if isinstance(items[0], dict) else None
            group = stream_group(stream) if isinstance(stream, str) else None
        consoles = self.members.get(group) if group else None
        if not consoles:
            if group is None:
                logger.warning("live hub: a message without a stream dropped: %r", str(message)[:200])
            return  # a group just left: its last notices
        for console in consoles:  # notice() only queues: the set does not change meanwhile
            console.notice(message)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StreamHub]" = weakref.WeakKeyDictionary()


def hub_for(layer) -> StreamHub:
    """The hub of the running loop for `layer` (a new one if the layer was replaced, e.g. by a test's
    settings, and the old hub has no consoles left)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or (hub.layer is not layer and not hub.members):
        hub = _hubs[loop] = StreamHub(layer)
    elif hub.layer is not layer:  # consoles of two layers on one loop: rare (tests); not shared
        return StreamHub(layer)
    return hub
