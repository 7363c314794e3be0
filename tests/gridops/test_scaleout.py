"""Several server processes share PostgreSQL and Redis: a console on one sees what came in
through another, and resumes on another when its own process stops.

Two real `gridops_serve` processes (A and B, one worker each, each with its own relay: the relays
number events under one advisory lock, gridops/realtime/outbox.py), real websockets over TCP:

    phone ──POST──► A ──outbox──► PostgreSQL ◄──resume── B ◄──ws── console
                     └─relay─► Redis (channel layer) ─notice─► B ─frame─► console

The servers' heartbeat is turned off (600 s) so the first test can only pass through Redis. The
channel layer is only the notice path: the second test stops A under its console and the
console, reconnecting to B with the last `seq` it saw, gets exactly what it missed, once, in order.
"""

import asyncio

import pytest

from tests.gridops import servers as live
from tests.gridops.servers import Console, Server, post_report, start_all

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def servers(tiny_county):
    a, b = Server("A"), Server("B")
    try:
        start_all(a, b)
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def dispatcher_token(transactional_db) -> str:
    return live.dispatcher_token("scaleout-dispatcher")


def test_a_report_through_a_reaches_a_console_on_b(servers, dispatcher_token):
    a, b = servers

    async def scenario() -> list[tuple[int, int]]:
        async with Console(b, dispatcher_token) as console:
            await console.started()
            for n in range(5):
                await asyncio.to_thread(post_report, a, dispatcher_token, n)
            await console.until(lambda ms: len(console.reports()) >= 5)
            await console.drain(1.0)  # nothing more (no duplicate) arrives
            return console.reports()

    got = asyncio.run(scenario())
    assert [n for _, n in got] == [0, 1, 2, 3, 4]
    seqs = [s for s, _ in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


def test_a_console_resumes_on_b_after_a_stops(servers, dispatcher_token):
    a, b = servers

    async def scenario() -> tuple[list, list]:
        async with Console(a, dispatcher_token) as first:
            await first.started()
            for n in range(3):
                await asyncio.to_thread(post_report, b, dispatcher_token, n)
            await first.until(lambda ms: len(first.reports()) >= 3)
            # A stops under the console: its socket closes.
            await asyncio.to_thread(a.stop)
            await first.read_until_closed()
        since = first.last_seq()
        # While the console is away, reports keep coming in through B.
        for n in range(3, 8):
            await asyncio.to_thread(post_report, b, dispatcher_token, n)
        async with Console(b, dispatcher_token, since=since) as second:
            await second.until(lambda ms: len(second.reports()) >= 5)
            await second.drain(1.0)
            return first.reports(), second.reports()

    before, after = asyncio.run(scenario())
    assert [n for _, n in before] == [0, 1, 2]
    # Exactly the missed ones, once, in order, with the sequence numbers continuing.
    assert [n for _, n in after] == [3, 4, 5, 6, 7]
    seqs = [s for s, _ in before + after]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
