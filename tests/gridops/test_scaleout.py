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
    """A stops under its console; the console reconnects to B. Reports come in through B."""
    a, b = servers
    live.resumed_across_a_stop(dispatcher_token, first=a, post_to=b, stop=a.stop, second=b)
