"""Who hears what on /ws/live/: event types × streams × roles, and revocation of open consoles.

Real consumer (config.asgi.application), real relay thread, PostgreSQL and Redis, as in
test_live.py. Events are written with outbox_emit in committed transactions, with the payload
fields the scope filter reads (the report's cell and reporter), to the streams the services use:
county + township + team (gridops/realtime/events.py place_streams).

    tiny county: W = 330225001 (team zh-1), E = 330225101 (team zh-2)
    grid worker: cell (0, 0) of W
"""

import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from geodata.models import Officer, UserScope
from gridops.realtime import events
from gridops.realtime.consumers import CLOSE_FORBIDDEN, WITHHELD
from gridops.realtime.outbox import outbox_emit
from tests.gridops.live_client import LiveClient, live_path, own_channel_layer

W_CODE, E_CODE = "330225001", "330225101"
W, E = events.township_stream(W_CODE), events.township_stream(E_CODE)
TEAM_W, TEAM_E = events.team_stream("zh-1"), events.team_stream("zh-2")
STREAMS = ("county", W, E, TEAM_W, TEAM_E)


@pytest.fixture(autouse=True)
def _own_channel_layer(settings):
    own_channel_layer(settings)


def _user(name: str, *groups: str, **extra) -> User:
    user = User.objects.create_user(name, password="x", **extra)
    for g in groups:
        user.groups.add(Group.objects.get_or_create(name=g)[0])
    return user


@pytest.fixture
def people(transactional_db, tiny_county):
    tc = tiny_county
    worker = _user("worker", "grid_worker")
    tc.cells[(0, 0)].workers.add(worker)
    officer = _user("officer", "officer")
    Officer.objects.create(team=tc.teams["W"], user=officer, name="王警官")
    township = _user("township", "dispatcher")
    scope = UserScope.objects.create(user=township)
    scope.townships.set([tc.townships["W"]])
    scope.teams.set([tc.teams["W"]])
    people = {
        "grid_worker": worker,
        "officer": officer,
        "township_dispatcher": township,
        "county_dispatcher": _user("county", "dispatcher"),
        "supervisor": _user("supervisor", "supervisor"),
        "planner": _user("planner", "planner"),
        "admin": _user("admin", "admin"),
    }
    return {
        "users": people,
        "keys": {role: Token.objects.create(user=u).key for role, u in people.items()},
        "cells": {"own": tc.cells[(0, 0)].code, "w": tc.cells[(1, 1)].code, "e": tc.cells[(3, 3)].code},
    }


# Which streams each role may open (the rest answer 4403).
ALLOWED = {
    "grid_worker": {W},
    "officer": {TEAM_W},
    "township_dispatcher": {W, TEAM_W},
    "county_dispatcher": set(STREAMS),
    "supervisor": set(STREAMS),
    "planner": set(),
    "admin": set(STREAMS),
}


def _world_events(people) -> list[tuple[str, dict, list[str], str]]:
    """(type, data, streams, tag) for every event type, in W and in E."""
    cells, worker_id = people["cells"], people["users"]["grid_worker"].pk
    out = []
    for type_ in (events.REPORT_CREATED, events.REPORT_UPDATED, events.CASE_UPDATED):
        out.append(
            (type_, {"cell": {"code": cells["own"]}, "reporter_id": worker_id}, ["county", W, TEAM_W], "own")
        )
        out.append((type_, {"cell": {"code": cells["w"]}, "reporter_id": None}, ["county", W, TEAM_W], "w"))
        out.append((type_, {"cell": {"code": cells["e"]}, "reporter_id": None}, ["county", E, TEAM_E], "e"))
    for type_ in (events.ALERT_RAISED, events.ALERT_UPDATED):
        out.append((type_, {"id": 1}, ["county", W, TEAM_W], "w"))
        out.append((type_, {"id": 2}, ["county", E, TEAM_E], "e"))
    out.append((events.COVERAGE_PUBLISHED, {"version": 1}, ["county", W, E, TEAM_W, TEAM_E], "all"))
    return out


def _visible_tags(role: str, stream: str, type_: str) -> set[str]:
    """What a console of `role` on `stream` may read of the events of that stream."""
    if role == "grid_worker":
        return (
            {"all"}
            if type_ == events.COVERAGE_PUBLISHED
            else ({"own"} if "report" in type_ or "case" in type_ else set())
        )
    return {"own", "w", "e", "all"}  # everything the stream carries


@database_sync_to_async
def _emit(items) -> None:
    with transaction.atomic():
        for type_, data, streams, tag in items:
            outbox_emit(type=type_, data={**data, "tag": tag}, streams=streams)


def test_event_types_by_streams_by_roles_leak_nothing(people):
    items = _world_events(people)
    per_stream = {s: [(t, d, tag) for t, d, ss, tag in items if s in ss] for s in STREAMS}
    checks, leaks, misses = 0, [], []

    async def scenario():
        nonlocal checks
        consoles = {}
        for role, key in people["keys"].items():
            for stream in STREAMS:
                client = LiveClient(live_path(stream=stream, token=key))
                assert await client.connect()
                first = await client.frame()
                checks += 1
                if stream in ALLOWED[role]:
                    if first[0]["type"] != events.RESUMED:
                        misses.append(f"{role} refused {stream}")
                    consoles[(role, stream)] = client
                else:
                    if not (await client.frame() is None and client.closed_with == CLOSE_FORBIDDEN):
                        leaks.append(f"{role} opened {stream}")
                    await client.close()
        await _emit(items)
        for (role, stream), client in consoles.items():
            expected = len(per_stream[stream])
            await client.until(lambda ms, n=expected: len([m for m in ms if m["seq"] is not None]) >= n)
            await client.drain(0.2)
            got = client.sequenced()
            assert [m["seq"] for m in got] == list(range(1, expected + 1))  # gap-free, withheld included
            for message, (type_, _data, tag) in zip(got, per_stream[stream], strict=True):
                checks += 1
                visible = tag in _visible_tags(role, stream, type_)
                if message["type"] == WITHHELD:
                    if message["data"]:
                        leaks.append(f"{role} {stream} withheld with data")
                    if visible:
                        misses.append(f"{role} {stream} {type_} {tag} withheld")
                elif not visible:
                    leaks.append(f"{role} {stream} {type_} {tag}")
            await client.close()

    async_to_sync(scenario)()
    print(f"\nlive matrix: {checks} checks, {len(leaks)} leaks, {len(misses)} misses")
    assert not leaks, leaks
    assert not misses, misses
    assert checks > 100


def _session_cookie(user) -> tuple[str, str]:
    http = Client()
    http.force_login(user)
    key = http.cookies["sessionid"].value
    return f"sessionid={key}", key


async def _closed_after(client: LiveClient, change) -> float:
    """Seconds from `change()` until the console is closed with 4403."""
    await client.drain(0.1)
    started = time.monotonic()
    await database_sync_to_async(change)()
    while True:
        if await client.frame(timeout=30) is None:
            break
    assert client.closed_with == CLOSE_FORBIDDEN
    assert client.messages[-1]["type"] == events.ERROR
    return time.monotonic() - started


@pytest.mark.parametrize(
    "what",
    [
        "session deleted",
        "user deactivated",
        "user deactivated, token console",
        "group removed",
        "scope narrowed",
        "token deleted",
    ],
)
def test_a_revoked_user_loses_the_open_console_within_seconds(people, settings, what):
    """The consumer re-checks every LIVE_SCOPE_RECHECK_SECONDS (default 5): the close comes at
    most one interval (plus a query) after the change. The measured time is printed."""
    user = people["users"]["township_dispatcher"]
    cookie, session_key = _session_cookie(user)
    token = people["keys"]["township_dispatcher"]

    def change():
        if what == "session deleted":  # logout elsewhere, or an administrator ends the session
            Session.objects.filter(session_key=session_key).delete()
        elif what.startswith("user deactivated"):
            User.objects.filter(pk=user.pk).update(is_active=False)
        elif what == "group removed":
            user.groups.clear()
        elif what == "scope narrowed":
            UserScope.objects.get(user=user).townships.clear()
        else:
            Token.objects.filter(key=token).delete()

    async def scenario():
        by_token = what in ("token deleted", "user deactivated, token console")
        path = live_path(stream=W, token=token) if by_token else live_path(stream=W)
        client = LiveClient(path, cookie=None if by_token else cookie)
        assert await client.connect()
        [hello] = await client.frame()
        assert hello["type"] == events.RESUMED
        seconds = await _closed_after(client, change)
        print(f"\nrevocation ({what}): console closed with 4403 after {seconds:.2f} s")
        await client.close()

    async_to_sync(scenario)()


def test_a_console_whose_user_keeps_the_right_stays_open(people, settings):
    """The re-check does not close a console that may still listen (several intervals)."""
    settings.LIVE_SCOPE_RECHECK_SECONDS = 0.2
    cookie, _key = _session_cookie(people["users"]["township_dispatcher"])

    async def scenario():
        client = LiveClient(live_path(stream=W), cookie=cookie)
        assert await client.connect()
        await client.frame()
        await client.drain(1.0)  # five re-checks
        assert client.closed_with is None
        await client.close()

    async_to_sync(scenario)()
