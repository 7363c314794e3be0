"""The process's hub (gridops/realtime/hub.py) against real Redis: one channel-layer member per
process per group, each notice popped once and handed to every local console of its group."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from gridops.realtime.events import stream_group
from gridops.realtime.hub import StreamHub, hub_for
from tests.gridops.live_client import own_channel_layer

COUNTY = stream_group("county")
TOWNSHIP = stream_group("township:330225001")


@pytest.fixture(autouse=True)
def _own_channel_layer(settings):
    own_channel_layer(settings)


class Console:
    """What the hub needs of a console: somewhere to put its notices."""

    def __init__(self) -> None:
        self.notices: list[dict] = []
        self.got = asyncio.Event()

    def notice(self, message: dict) -> None:
        self.notices.append(message)
        self.got.set()


async def members(layer, group: str) -> list[bytes]:
    redis = layer.connection(layer.consistent_hash(group))
    return await redis.zrange(layer._group_key(group), 0, -1)


def notice(stream: str, seq: int, *, group: bool = True) -> dict:
    message = {"type": "live.messages", "messages": [{"seq": seq, "type": "x", "stream": stream, "data": {}}]}
    if group:
        message["group"] = stream_group(stream)
    return message


def test_each_notice_is_popped_once_and_reaches_every_console_of_its_stream():
    async def scenario():
        layer = get_channel_layer()
        hub = hub_for(layer)
        assert hub_for(layer) is hub  # one per loop and layer
        county = [Console() for _ in range(3)]
        township = Console()
        for console in county:
            assert await hub.join(COUNTY, console)
        assert await hub.join(TOWNSHIP, township)
        assert await members(layer, COUNTY) == [hub.channel.encode()]  # one member for three consoles
        assert await members(layer, TOWNSHIP) == [hub.channel.encode()]

        await layer.group_send(COUNTY, notice("county", 1))
        # A notice without "group" (an older relay) is routed by its messages' stream.
        await layer.group_send(TOWNSHIP, notice("township:330225001", 7, group=False))
        await asyncio.wait_for(asyncio.gather(*(c.got.wait() for c in [*county, township])), 5)
        await asyncio.sleep(0.2)  # nothing more arrives
        assert [len(c.notices) for c in county] == [1, 1, 1]
        assert county[0].notices[0] is county[1].notices[0] is county[2].notices[0]  # decoded once
        assert [m["messages"][0]["seq"] for m in township.notices] == [7]

        # Leaving: the group keeps the hub while a console listens; the last one leaves it, and the
        # last console of all stops the receive loop.
        await hub.leave(COUNTY, county[0])
        await hub.leave(COUNTY, county[0])  # twice: nothing happens
        assert await members(layer, COUNTY) == [hub.channel.encode()]
        for console in county[1:]:
            await hub.leave(COUNTY, console)
        assert await members(layer, COUNTY) == []
        receiver = hub._receiver
        assert receiver is not None and not receiver.done()
        await hub.leave(TOWNSHIP, township)
        assert await members(layer, TOWNSHIP) == []
        assert receiver.done() and hub._receiver is None

    async_to_sync(scenario)()


def test_the_consoles_of_a_group_share_one_group_add_per_rejoin_interval():
    class CountingLayer:
        """The real layer, counting group_add calls."""

        def __init__(self, layer) -> None:
            self.layer, self.adds = layer, 0

        def __getattr__(self, name):
            return getattr(self.layer, name)

        async def group_add(self, group, channel):
            self.adds += 1
            await asyncio.sleep(0.05)  # a round trip: the other consoles join meanwhile
            return await self.layer.group_add(group, channel)

    async def scenario():
        layer = CountingLayer(get_channel_layer())
        hub = StreamHub(layer)
        consoles = [Console() for _ in range(50)]
        assert all(await asyncio.gather(*(hub.join(COUNTY, c) for c in consoles)))
        assert layer.adds == 1
        # Heartbeats within the interval are answered without Redis.
        assert all(await asyncio.gather(*(hub.join(COUNTY, c) for c in consoles)))
        assert layer.adds == 1
        hub._joined[COUNTY] = (hub.loop.time() - 2, True)  # the interval has passed
        assert all(await asyncio.gather(*(hub.join(COUNTY, c) for c in consoles)))
        assert layer.adds == 2
        for console in consoles:
            await hub.leave(COUNTY, console)
        assert await members(layer.layer, COUNTY) == []

    async_to_sync(scenario)()


def test_a_failing_layer_answers_false_and_the_next_join_tries_again():
    class FailingLayer:
        def __init__(self, layer) -> None:
            self.layer, self.fail = layer, True

        def __getattr__(self, name):
            return getattr(self.layer, name)

        async def group_add(self, group, channel):
            if self.fail:
                raise ConnectionError("Redis is away")
            return await self.layer.group_add(group, channel)

    async def scenario():
        layer = FailingLayer(get_channel_layer())
        hub = StreamHub(layer)
        console = Console()
        assert await hub.join(COUNTY, console) is False
        layer.fail = False
        hub._joined[COUNTY] = (hub.loop.time() - 2, False)  # the console's next heartbeat
        assert await hub.join(COUNTY, console) is True
        assert await members(layer.layer, COUNTY) == [hub.channel.encode()]
        await layer.layer.group_send(COUNTY, notice("county", 3))
        await asyncio.wait_for(console.got.wait(), 5)
        await hub.leave(COUNTY, console)
        assert await members(layer.layer, COUNTY) == []

    async_to_sync(scenario)()


def test_a_console_that_does_not_take_its_notices_loses_the_excess_not_the_process(caplog):
    """A console whose dispatch is stuck (waiting on the database) keeps INBOX_MAX notices; the rest
    are dropped with a warning (its heartbeat reads them from PostgreSQL), like a channel over
    capacity, instead of growing the worker's memory."""
    from gridops.realtime.consumers import INBOX_MAX, LiveConsumer

    console = LiveConsumer()
    console.stream = "county"
    for seq in range(1, INBOX_MAX + 6):
        console.notice(notice("county", seq))
    assert console._inbox.qsize() == INBOX_MAX
    assert console._dropped == 5
    assert (
        "5 notice" not in caplog.text and "1 notice(s) dropped" in caplog.text
    )  # logged once, not per notice
    console._stopping = True  # an ended console takes nothing more
    console._inbox.get_nowait()
    console.notice(notice("county", 999))
    assert console._inbox.qsize() == INBOX_MAX - 1
