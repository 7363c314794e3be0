"""The outbox relay: per-stream numbering in commit order, gap-free under concurrency, Redis-free writes."""

import itertools
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from gridops.models import OutboxEvent, StreamEvent, StreamHead
from gridops.realtime import events
from gridops.realtime.outbox import (
    Relay,
    outbox_emit,
    outbox_prune,
    outbox_sequence_pending,
    stream_head,
    stream_since,
)

pytestmark = pytest.mark.django_db(transaction=True)

W = events.township_stream("330225001")


def emit(n: int, *, streams=(events.COUNTY_STREAM,), tag: str = "") -> list[int]:
    with transaction.atomic():
        return [
            outbox_emit(type=events.REPORT_CREATED, data={"n": i, "tag": tag}, streams=list(streams)).pk
            for i in range(n)
        ]


def sequence_all(timeout: float = 10) -> None:
    """Number everything pending, whichever relay (ours or the process's thread) holds the lock."""
    deadline = time.monotonic() + timeout
    while OutboxEvent.objects.filter(sequenced_at__isnull=True).exists():
        assert time.monotonic() < deadline, "events left unnumbered"
        if outbox_sequence_pending() is None:
            time.sleep(0.01)


def stream_rows(stream: str) -> list[tuple[int, int]]:
    return list(StreamEvent.objects.filter(stream=stream).order_by("seq").values_list("seq", "event_id"))


def test_each_stream_numbered_from_one_without_gaps_in_id_order():
    ids = emit(5, streams=[events.COUNTY_STREAM, W]) + emit(3)
    sequence_all()
    assert stream_rows(events.COUNTY_STREAM) == list(enumerate(ids, start=1))
    assert stream_rows(W) == list(enumerate(ids[:5], start=1))
    assert stream_head(events.COUNTY_STREAM) == 8 and stream_head(W) == 5
    assert stream_head("team:nobody") == 0


def test_a_batch_returns_its_messages_in_event_order_and_the_next_batch_continues(settings):
    """What the relay sends: each event in each of its streams, numbered on from the stream's head."""
    from gridops.realtime.outbox import relay_stop

    relay_stop()
    settings.OUTBOX_RELAY = "process"  # no relay thread here numbers them first: this test does
    ids = emit(2, streams=[W, events.COUNTY_STREAM], tag="x") + emit(1, tag="y")
    first = outbox_sequence_pending(limit=2)
    assert [(m.stream, m.seq, m.data) for m in first] == [
        (events.COUNTY_STREAM, 1, {"n": 0, "tag": "x"}),
        (W, 1, {"n": 0, "tag": "x"}),
        (events.COUNTY_STREAM, 2, {"n": 1, "tag": "x"}),
        (W, 2, {"n": 1, "tag": "x"}),
    ]
    assert {m.type for m in first} == {events.REPORT_CREATED}
    second = outbox_sequence_pending(limit=2)
    assert [(m.stream, m.seq, m.data) for m in second] == [(events.COUNTY_STREAM, 3, {"n": 0, "tag": "y"})]
    assert outbox_sequence_pending(limit=2) == []
    assert stream_rows(events.COUNTY_STREAM) == list(enumerate(ids, start=1))
    assert stream_rows(W) == list(enumerate(ids[:2], start=1))
    assert stream_head(events.COUNTY_STREAM) == 3 and stream_head(W) == 2


def test_transactions_committing_out_of_id_order_are_numbered_in_commit_order():
    """A holds the lower id but commits last: a console that saw B must still get A after it."""
    a_written, b_committed = threading.Event(), threading.Event()
    a_id = []

    def writer_a():
        try:
            with transaction.atomic():
                a_id.extend(emit(1, tag="A"))
                a_written.set()
                b_committed.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer_a)
    thread.start()
    assert a_written.wait(10)
    [b_id] = emit(1, tag="B")
    sequence_all()  # B is committed, A is not yet visible
    b_committed.set()
    thread.join(10)
    sequence_all()
    assert a_id[0] < b_id
    assert stream_rows(events.COUNTY_STREAM) == [(1, b_id), (2, a_id[0])]
    messages, complete = stream_since(events.COUNTY_STREAM, 1, limit=10)
    assert complete and [(m.seq, m.data["tag"]) for m in messages] == [(2, "A")]


def test_concurrent_relays_never_give_the_same_seq_twice():
    for _ in range(10):
        emit(20, streams=[events.COUNTY_STREAM, W])
    seen: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def relay():
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                numbered = outbox_sequence_pending(limit=3)
                if numbered == []:
                    return
                seen.extend((m.stream, m.seq) for m in numbered or ())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    sequence_all()  # the process's own relay thread may have taken some
    assert not errors
    assert len(seen) == len(set(seen))
    assert [s for s, _ in stream_rows(events.COUNTY_STREAM)] == list(range(1, 201))
    assert [s for s, _ in stream_rows(W)] == list(range(1, 201))
    assert stream_head(events.COUNTY_STREAM) == 200


def test_stream_since_complete_pruned_too_many_and_reset():
    emit(10)
    sequence_all()
    messages, complete = stream_since(events.COUNTY_STREAM, 7, limit=100)
    assert complete and [m.seq for m in messages] == [8, 9, 10]
    assert stream_since(events.COUNTY_STREAM, 10, limit=100) == ([], True)
    assert stream_since(events.COUNTY_STREAM, 11, limit=100) == ([], False)  # stream was reset
    assert stream_since(events.COUNTY_STREAM, 0, limit=9) == ([], False)  # more than the limit
    assert stream_since(events.COUNTY_STREAM, 0, limit=10)[1] is True
    old = timezone.now() - timedelta(days=30)
    StreamEvent.objects.filter(stream=events.COUNTY_STREAM, seq__lte=4).update(created_at=old)
    OutboxEvent.objects.filter(id__in=StreamEvent.objects.filter(seq__lte=4).values("event_id")).update(
        sequenced_at=old
    )
    assert outbox_prune() == 4
    assert stream_since(events.COUNTY_STREAM, 3, limit=100) == ([], False)  # seq 4 is gone
    assert [m.seq for m in stream_since(events.COUNTY_STREAM, 4, limit=100)[0]] == [5, 6, 7, 8, 9, 10]
    assert StreamHead.objects.get(stream=events.COUNTY_STREAM).seq == 10  # the head survives pruning


def test_writes_and_numbering_do_not_need_redis(settings):
    """The channel layer points at a port nothing listens on: events are still written and numbered."""
    from tests.gridops.redis_server import free_port

    port = free_port()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"]},
        }
    }
    ids = emit(5)
    relay = Relay()
    numbered = 0
    while OutboxEvent.objects.filter(sequenced_at__isnull=True).exists():
        numbered += relay.cycle()  # the notice fails and is dropped; numbering does not care
    assert [e for _, e in stream_rows(events.COUNTY_STREAM)] == ids


def test_relay_command_once(capsys):
    emit(3, streams=[events.COUNTY_STREAM, W])
    call_command("gridops_relay", "--once")
    sequence_all()
    assert stream_head(events.COUNTY_STREAM) == 3 and stream_head(W) == 3
    assert "numbered" in capsys.readouterr().out


def test_in_process_mode_a_relay_process_woken_by_notify_numbers_events(settings, tiny_county):
    """GRIDOPS_OUTBOX_RELAY=process: web processes only write, and their relay thread NOTIFYs after
    commits; `gridops_relay` numbers. Polling is set far away, so only the NOTIFY can wake it."""
    from gridops.realtime.outbox import relay_stop

    relay_stop()  # no relay thread of an earlier test may number behind our back
    settings.OUTBOX_RELAY = "process"
    settings.OUTBOX_POLL_SECONDS = 60
    emit(2)
    time.sleep(0.3)
    assert stream_head(events.COUNTY_STREAM) == 0  # the web side's kick numbers nothing now

    relay, stop = Relay(), threading.Event()
    listener = threading.Thread(target=relay.run_listening, kwargs={"stop": stop})
    listener.start()
    try:
        wait_for_head(events.COUNTY_STREAM, 2)  # what was written before it listened
        time.sleep(0.3)  # back to waiting on LISTEN
        emit(3)
        wait_for_head(events.COUNTY_STREAM, 5)
        time.sleep(0.3)
        # The one-statement report insert (services/rows.py) kicks the web side's thread too.
        from gridops.services.reports import ReportInput, report_submit

        report_submit(data=ReportInput(source="citizen", lon=121.005, lat=29.005))
        wait_for_head(events.COUNTY_STREAM, 6)
    finally:
        stop.set()
        with connection.cursor() as cursor:  # wake it so it sees the stop
            cursor.execute("SELECT pg_notify('gridops_outbox', '')")
        listener.join(10)
        relay_stop()  # this process's thread was started in process mode: later tests need a fresh one
    assert not listener.is_alive()
    assert [seq for seq, _ in stream_rows(events.COUNTY_STREAM)] == [1, 2, 3, 4, 5, 6]


def wait_for_head(stream: str, head: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while stream_head(stream) < head:
        assert time.monotonic() < deadline, f"{stream} stayed at {stream_head(stream)}, wanted {head}"
        time.sleep(0.02)


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_numbering_reads_only_the_pending_events_not_the_whole_outbox():
    """A cycle's cost must not grow with the numbered events kept for resuming (48 hours of them).
    It did: the statement joined its result back to the outbox table, which PostgreSQL answered
    with a hash join over a scan of the whole table (measured: a one-event cycle 2.6 ms at 11,000
    events kept, 13 ms at 30,000; 1.3 ms without the join). The plan here is asked with 20,000
    numbered events and ten pending, before the table is analysed, as it is between autovacuum's
    analyses of a growing table."""
    from gridops.realtime.outbox import _LOCK_SQL, _NUMBER_SQL, RELAY_LOCK_KEY

    now = timezone.now()
    OutboxEvent.objects.bulk_create(
        OutboxEvent(type=events.REPORT_CREATED, data={"n": i}, streams=["county"], sequenced_at=now)
        for i in range(20_000)
    )
    emit(10, streams=[events.COUNTY_STREAM, W])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL, [RELAY_LOCK_KEY])  # as outbox_sequence_pending does
            cursor.execute("EXPLAIN (FORMAT JSON) " + _NUMBER_SQL, {"limit": 1000, "now": now})
            plan = cursor.fetchone()[0][0]["Plan"]
        transaction.set_rollback(True)
    reads = [
        node["Node Type"]
        for node in _plan_nodes(plan)
        if node.get("Relation Name") == "gridops_outboxevent" and node["Node Type"] != "ModifyTable"
    ]
    assert reads, "the plan does not read the outbox"
    assert "Seq Scan" not in reads and "Bitmap Heap Scan" not in reads, reads
    sequence_all()
    assert stream_head(W) == 10


def test_a_web_relay_thread_sends_positions_paced_and_only_each_units_latest(settings):
    """GRIDOPS_OUTBOX_RELAY=process: a web process's relay thread only passes unit positions on. A
    busy moment's positions go as one notice per OUTBOX_COALESCE_SECONDS, with the latest position
    of each unit per stream (each tracker batch used to send its own, two Redis round trips each)."""
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from gridops.realtime.events import stream_group
    from gridops.realtime.outbox import Message
    from tests.gridops.live_client import own_channel_layer

    own_channel_layer(settings)
    settings.OUTBOX_COALESCE_SECONDS = 0.5

    def moved(unit: int, n: int) -> list[Message]:
        return [Message(stream="county", seq=None, type=events.UNIT_MOVED, data={"id": unit, "n": n})]

    relay, stop = Relay(numbers=False), threading.Event()
    cycles = []
    cycle = relay.cycle
    relay.cycle = lambda: cycles.append(time.monotonic()) or cycle()

    async def scenario() -> tuple[dict, list[dict]]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(stream_group(events.COUNTY_STREAM), channel)
        relay.enqueue(moved(7, 0))  # after a quiet spell: at once
        first = await asyncio.wait_for(layer.receive(channel), 5)
        for n in range(1, 41):  # ~0.4 s of batches, far more often than the pace
            relay.enqueue(moved(7, n) + moved(8, n))
            await asyncio.sleep(0.01)
        notices = []
        while not any(m["data"] == {"id": 7, "n": 40} for notice in notices for m in notice["messages"]):
            notices.append(await asyncio.wait_for(layer.receive(channel), 5))
        return first, notices

    thread = threading.Thread(target=relay.run, kwargs={"stop": stop})
    thread.start()
    try:
        first, notices = async_to_sync(scenario)()
    finally:
        stop.set()
        relay.wake.set()
        thread.join(5)
    assert [m["data"] for m in first["messages"]] == [{"id": 7, "n": 0}]
    assert len(notices) <= 2, [len(n["messages"]) for n in notices]  # 0.4 s at one per 0.5 s
    for notice in notices:
        units = [m["data"]["id"] for m in notice["messages"]]
        assert sorted(units) == sorted(set(units))  # one position per unit per notice
    assert notices[-1]["messages"][-2:] == [
        {"seq": None, "type": events.UNIT_MOVED, "stream": "county", "data": {"id": 7, "n": 40}},
        {"seq": None, "type": events.UNIT_MOVED, "stream": "county", "data": {"id": 8, "n": 40}},
    ]
    gaps = [b - a for a, b in itertools.pairwise(cycles)]
    assert all(gap >= 0.45 for gap in gaps), gaps
