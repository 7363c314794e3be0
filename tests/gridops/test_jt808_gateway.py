"""The JT/T 808 gateway (gridops/jt808/server.py) over real TCP, against PostgreSQL and Redis.

The gateway runs in a thread with its own event loop (as `manage.py gridops_jt808` runs it), on a
free port; the tests are terminals on blocking sockets (gridops/jt808/terminal.py) or write raw
bytes. Fixes go through ping_batch_ingest, so they are checked where HTTP pings are: Ping rows,
the unit's live position, alerts, and a console on /ws/live/.

    tiny county: team W (zh-1) covers x 121.00–121.02, team E x 121.02–121.04, lat 29.00–29.04
"""

import asyncio
import logging
import socket
import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.authtoken.models import Token

from geodata.coords import from_wgs84
from gridops.auth import device_key_revoke
from gridops.jt808 import protocol as p
from gridops.jt808.server import Gateway
from gridops.jt808.terminal import Terminal
from gridops.models import Alert, Device, Ping
from gridops.realtime import events
from tests.gridops.live_client import LiveClient, live_path, own_channel_layer
from tests.gridops.units_factory import tracked_unit

NUMBER = "13800138000"


class RunningGateway:
    """The gateway on its own event loop thread; `stats()` reads its counters."""

    def __init__(self, **options) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="jt808-test", daemon=True)
        self.options = options
        self.gateway: Gateway | None = None

    def call(self, coro_fn, timeout: float = 20):
        return asyncio.run_coroutine_threadsafe(coro_fn(), self.loop).result(timeout)

    def start(self) -> int:
        self.thread.start()

        async def start():
            self.gateway = Gateway(host="127.0.0.1", port=0, **self.options)
            return await self.gateway.start()

        self.port = self.call(start)
        return self.port

    def stats(self) -> dict:
        if self.loop.is_closed():
            return self.final

        async def read():
            return self.gateway.stats()

        return self.call(read)

    def stop(self) -> None:
        self.call(self.gateway.stop)
        self.final = self.stats()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def gateway(transactional_db):
    running = RunningGateway(flush_seconds=0, flush_fixes=50, idle_seconds=30)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def car(transactional_db, tiny_county):
    tracked = tracked_unit(tiny_county.teams["W"])
    tracked.device.jt808_terminal = "0" + NUMBER  # stored as 12 digits, as a 2013 terminal sends it
    tracked.device.save(update_fields=["jt808_terminal"])
    return tracked


def terminal(gateway: RunningGateway, number: str = NUMBER, **kw) -> Terminal:
    return Terminal("127.0.0.1", gateway.port, number, **kw).connect()


_now = [timezone.now()]


@pytest.fixture(autouse=True)
def _clock():
    """`at(n)`: n seconds before the start of the test (whole seconds: BCD times have no more)."""
    _now[0] = timezone.now().replace(microsecond=0)


def at(seconds_ago: float):
    return _now[0] - timedelta(seconds=seconds_ago)


def loc(when, lon: float = 121.005, lat: float = 29.005, **kw) -> p.Location:
    fields = dict(alarm=0, status=p.STATUS_ACC | p.STATUS_POSITIONED, altitude=8, speed=36.5, direction=90)
    fields.update(kw)
    return p.Location(lat=lat, lon=lon, at=when, **fields)


def signed_in(term: Terminal) -> Terminal:
    result, code = term.register(plate="浙B12345")
    assert result == p.REGISTER_OK and code
    assert term.authenticate() == p.RESULT_OK
    return term


# --- registration, authentication, positions --------------------------------------------------------


def test_a_2013_terminal_registers_authenticates_and_its_fix_is_stored(gateway, car):
    with terminal(gateway) as term:
        result, code = term.register(plate="浙B12345")
        assert result == p.REGISTER_OK and len(code) >= 8
        device = Device.objects.get(pk=car.device.pk)
        assert device.jt808_auth_hash and code not in device.jt808_auth_hash  # only a hash is stored
        assert device.jt808_auth_issued_at is not None
        assert term.authenticate() == p.RESULT_OK
        assert term.heartbeat() == p.RESULT_OK
        when = at(30)
        assert term.location(loc(when, 121.0061, 29.0072, speed=36.5, direction=271)) == p.RESULT_OK
    # The answer came after the fix was stored: it is there now.
    ping = Ping.objects.get(device=car.device)
    assert ping.fixed_at == when and ping.unit_id == car.unit.pk
    assert (ping.point.x, ping.point.y) == (pytest.approx(121.0061), pytest.approx(29.0072))
    assert (ping.speed, ping.heading) == (36.5, 271)
    car.unit.refresh_from_db()
    assert car.unit.fix_at == when and car.unit.fix_point.x == pytest.approx(121.0061)
    stats = gateway.stats()
    assert stats["fixes_accepted"] == 1 and stats["rejected"] == {}


def test_a_2019_terminal_with_a_20_digit_number_is_the_same_device(gateway, car):
    with terminal(gateway, "00000000" + "0" + NUMBER, version=1) as term:
        signed_in(term)
        assert term.location(loc(at(20))) == p.RESULT_OK
        assert term.logout() == p.RESULT_OK
        # After logout the connection is no longer that terminal's.
        assert term.location(loc(at(10))) == p.RESULT_FAILURE
    assert Ping.objects.filter(device=car.device).count() == 1


def test_an_unknown_terminal_is_refused_and_logged_and_nothing_is_stored(gateway, car, caplog):
    caplog.set_level(logging.WARNING, logger="gridops.jt808")
    with terminal(gateway, "13900000000") as term:
        result, code = term.register()
        assert (result, code) == (p.REGISTER_NO_TERMINAL, "")
        assert term.authenticate("guessed-code") == p.RESULT_FAILURE
        assert term.location(loc(at(5))) == p.RESULT_FAILURE
        assert term.heartbeat() == p.RESULT_FAILURE
    assert not Ping.objects.exists()
    refused = gateway.stats()["refused"]
    assert refused == {"unknown_terminal": 1, "authentication": 1, "unauthenticated": 1}
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "refused registration terminal=013900000000" in logged
    assert "refused 1 position(s) terminal=013900000000" in logged


def test_positions_before_authentication_or_with_a_wrong_code_are_refused(gateway, car):
    with terminal(gateway) as term:
        assert term.location(loc(at(40))) == p.RESULT_FAILURE  # not even registered
        result, code = term.register()
        assert result == p.REGISTER_OK
        assert term.location(loc(at(30))) == p.RESULT_FAILURE  # registered, not authenticated
        assert term.authenticate(code + "x") == p.RESULT_FAILURE
        assert term.batch([loc(at(25))]) == p.RESULT_FAILURE
        # Registering again issues a new code: the old one no longer opens the device.
        assert term.register()[0] == p.REGISTER_OK
        assert term.authenticate(code) == p.RESULT_FAILURE
        assert term.authenticate() == p.RESULT_OK
        assert term.location(loc(at(20))) == p.RESULT_OK
    assert [p.fixed_at for p in Ping.objects.filter(device=car.device)] == [at(20)]


def test_a_revoked_device_can_neither_register_nor_authenticate(gateway, car):
    with terminal(gateway) as term:
        signed_in(term)
        code = term.auth_code
        device_key_revoke(device=car.device)
        assert term.register()[0] == p.REGISTER_NO_TERMINAL
        assert term.authenticate(code) == p.RESULT_FAILURE
        assert term.location(loc(at(5))) == p.RESULT_FAILURE
    assert not Ping.objects.exists()


def test_a_device_revoked_while_connected_is_refused_at_its_next_batch(transactional_db, car):
    running = RunningGateway(flush_seconds=0.05, device_recheck_seconds=0)  # with linger
    running.start()
    try:
        with terminal(running) as term:
            signed_in(term)
            assert term.location(loc(at(9))) == p.RESULT_OK
            device_key_revoke(device=car.device)
            assert term.location(loc(at(8))) == p.RESULT_FAILURE
            assert term.location(loc(at(7))) == p.RESULT_FAILURE  # and stays refused
    finally:
        running.stop()
    assert [p.fixed_at for p in Ping.objects.all()] == [at(9)]
    assert running.stats()["refused"] == {"revoked": 1, "unauthenticated": 1}


def test_a_device_without_an_active_unit_gets_a_failure_and_nothing_is_stored(gateway, car):
    car.unit.active = False
    car.unit.save(update_fields=["active"])
    with terminal(gateway) as term:
        signed_in(term)
        assert term.location(loc(at(5))) == p.RESULT_FAILURE
    assert not Ping.objects.exists()
    assert gateway.stats()["refused"] == {"not_bound": 1}


def test_a_0704_batch_after_a_coverage_loss_is_stored_at_once_in_packages(gateway, car):
    """A split batch: every package is acknowledged, the whole is stored in fix order, a fix
    already sent counts as a duplicate, and the live position is the newest fix."""
    with terminal(gateway) as term:
        signed_in(term)
        assert term.location(loc(at(100), 121.001)) == p.RESULT_OK
        fixes = [loc(at(100 - 5 * k), 121.001 + k * 0.0005) for k in range(12)]  # fixes[0] already sent
        fixes[3], fixes[4] = fixes[4], fixes[3]  # buffered out of order
        body = p.location_batch_encode(fixes)
        frames = term.frames(p.LOCATION_BATCH, body, package_size=100)
        assert len(frames) > 2
        term.send_raw(b"".join(frames))
        last = term.serial
        answers = [term.receive() for _ in frames]
    assert [p.platform_response_decode(a.body) for a in answers] == [
        (last - len(frames) + 1 + k, p.LOCATION_BATCH, p.RESULT_OK) for k in range(len(frames))
    ]
    stored = list(
        Ping.objects.filter(device=car.device).order_by("fixed_at").values_list("fixed_at", flat=True)
    )
    assert stored == [at(100 - 5 * k) for k in range(12)]
    car.unit.refresh_from_db()
    assert car.unit.fix_at == at(45) and car.unit.fix_point.x == pytest.approx(121.001 + 11 * 0.0005)
    stats = gateway.stats()
    assert stats["fixes_accepted"] == 12 and stats["fixes_duplicate"] == 1


def test_a_stray_reported_in_a_batch_raises_the_geofence_alert(gateway, car, settings):
    settings.GEOFENCE_DWELL_SECONDS = 300
    with terminal(gateway) as term:
        signed_in(term)
        inside = [loc(at(700 - 10 * k), 121.005, 29.005) for k in range(3)]
        outside = [loc(at(600 - 60 * k), 121.035, 29.035) for k in range(7)]  # team E's side, 6 min
        assert term.batch(inside + outside) == p.RESULT_OK
    alert = Alert.objects.get(unit=car.unit)
    assert alert.kind == Alert.Kind.OUT_OF_ZONE and alert.status == Alert.Status.OPEN


def test_a_gcj02_terminal_is_converted_to_wgs84_at_the_edge(gateway, car):
    car.device.crs = "gcj02"
    car.device.save(update_fields=["crs"])
    lon, lat = from_wgs84(121.01, 29.01, "gcj02")
    with terminal(gateway) as term:
        signed_in(term)
        assert term.location(loc(at(5), round(lon, 6), round(lat, 6))) == p.RESULT_OK
    ping = Ping.objects.get(device=car.device)
    assert ping.point.x == pytest.approx(121.01, abs=2e-6) and ping.point.y == pytest.approx(29.01, abs=2e-6)


def test_unpositioned_reports_are_answered_but_not_stored_and_bad_fixes_are_message_errors(gateway, car):
    with terminal(gateway) as term:
        signed_in(term)
        assert term.location(loc(at(5), status=p.STATUS_ACC)) == p.RESULT_OK  # no GNSS fix yet
        assert term.location(loc(at(4), 100.0, 40.0)) == p.RESULT_MESSAGE_ERROR  # outside the service area
        assert term.location(loc(at(-3600))) == p.RESULT_MESSAGE_ERROR  # an hour in the future
        assert term.request(0x0900, b"\x01").body[-1] == p.RESULT_UNSUPPORTED
        reply = term.request(p.LOCATION, b"\x00" * 10)  # too short for a location report
        assert p.platform_response_decode(reply.body)[2] == p.RESULT_MESSAGE_ERROR
    assert not Ping.objects.exists()
    stats = gateway.stats()
    assert stats["fixes_unpositioned"] == 1 and stats["fixes_rejected"] == 2
    assert stats["rejected"] == {"bad_body": 1}


# --- malformed input --------------------------------------------------------------------------------


def test_malformed_input_never_costs_the_good_frames_or_the_server(gateway, car, caplog):
    caplog.set_level(logging.WARNING, logger="gridops.jt808")
    with terminal(gateway) as term:
        signed_in(term)
        good = [
            term.frames(p.LOCATION, p.location_encode(loc(at(60 - k), 121.001 + k * 0.001)))[0]
            for k in range(6)
        ]
        serials = [term.serial - 5 + k for k in range(6)]
        bad_check = bytearray(term.frames(p.LOCATION, p.location_encode(loc(at(70))))[0])
        bad_check[-2] ^= 0x55
        truncated = good[0][:20] + b"\x7e"  # cut short, then a flag
        oversized = b"\x7e" + b"\x01" * (p.MAX_FRAME_BYTES + 100)  # no flag for too long
        stream = (
            b"\xff\xfegarbage"  # before the first frame of this read, after the last answered one
            + good[0]
            + good[1]  # several frames in one read
            + bytes(bad_check)
            + b"noise between frames\x7e"
            + good[2]
            + truncated
            + good[3]
            + oversized
            + good[4]
        )
        term.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cut = stream.index(good[4]) + 7
        term.send_raw(stream[:cut])
        time.sleep(0.05)
        for i in range(cut, len(stream)):  # the last frame split across many reads
            term.send_raw(stream[i : i + 1])
        term.send_raw(good[5])
        answers = {}
        while len(answers) < 6:
            frame = term.receive()
            serial, _msg_id, result = p.platform_response_decode(frame.body)
            answers[serial] = result
        assert answers == {s: p.RESULT_OK for s in serials}
        assert term.heartbeat() == p.RESULT_OK  # the connection is still usable
    assert Ping.objects.filter(device=car.device).count() == 6
    # Between two flags, the noise and the cut frame are runs whose last byte is no check code.
    assert gateway.stats()["rejected"] == {
        "truncated": 1,  # the garbage run (9 bytes: shorter than a header)
        "bad_check_code": 3,  # the flipped check code, the noise, the frame cut short
        "oversized": 1,
    }
    logged = [r.getMessage() for r in caplog.records if "jt808 rejected" in r.getMessage()]
    assert any("reason=bad_check_code" in m and f"terminal=0{NUMBER}" in m for m in logged)
    assert any("reason=oversized" in m for m in logged)
    # The server still takes new connections.
    with terminal(gateway) as again:
        assert again.register()[0] == p.REGISTER_OK


def test_a_peer_closing_mid_frame_and_a_dead_connection_leave_the_server_serving(gateway, car):
    raw = socket.create_connection(("127.0.0.1", gateway.port))
    raw.sendall(p.frame_encode(p.HEARTBEAT, NUMBER, 1)[:9])
    raw.close()
    deadline = time.monotonic() + 5
    while gateway.stats()["rejected"].get("truncated", 0) < 1:
        assert time.monotonic() < deadline, gateway.stats()
        time.sleep(0.02)
    with terminal(gateway) as term:
        signed_in(term)
        assert term.location(loc(at(3))) == p.RESULT_OK


# --- end to end: a JT/T 808 fix on a console --------------------------------------------------------


@pytest.fixture
def _own_channel_layer(settings):
    own_channel_layer(settings)


def test_a_jt808_fix_appears_on_a_console_through_ws_live(gateway, car, _own_channel_layer):
    dispatcher = User.objects.create_user("dispatcher", password="x")
    dispatcher.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    token = Token.objects.create(user=dispatcher).key
    term = signed_in(terminal(gateway))
    when = at(2)

    async def scenario():
        console = LiveClient(live_path(stream="county", token=token))
        assert await console.connect()
        await console.frame()  # resumed
        result = await asyncio.to_thread(term.location, loc(when, 121.0123, 29.0134, direction=45))
        assert result == p.RESULT_OK
        messages = await console.until(
            lambda ms: any(m["type"] == events.UNIT_MOVED and m["data"]["code"] == car.unit.code for m in ms)
        )
        moved = next(m for m in messages if m["type"] == events.UNIT_MOVED)
        assert moved["data"]["point"] == [pytest.approx(121.0123), pytest.approx(29.0134)]
        assert moved["data"]["heading"] == 45 and moved["data"]["kind"] == "vehicle"
        await console.close()

    try:
        async_to_sync(scenario)()
    finally:
        term.close()


# --- group commit ---------------------------------------------------------------------------------


def test_a_group_commit_stores_each_terminal_or_refuses_it_on_its_own(transactional_db, tiny_county):
    """Batches of several terminals share one transaction, a savepoint each: the terminal whose
    device has no active unit is refused, the others are stored, each with its own result."""
    from gridops.jt808.registry import jt808_positions_ingest_many
    from gridops.services.pings import DeviceNotBound

    cars = [tracked_unit(tiny_county.teams["W"], code=f"zh-1-car-{n}") for n in (1, 2, 3)]
    cars[1].unit.active = False
    cars[1].unit.save(update_fields=["active"])
    fix = {"t": at(30).timestamp(), "lon": 121.005, "lat": 29.005, "speed": 10, "heading": 0}
    results = jt808_positions_ingest_many(
        batches=[(c.device, [fix, {**fix, "lon": 100.0}]) for c in reversed(cars)], received_at=timezone.now()
    )
    assert [type(r).__name__ for r in results] == ["BatchResult", "DeviceNotBound", "BatchResult"]
    assert isinstance(results[1], DeviceNotBound)
    assert [(r.accepted, r.rejected) for r in (results[0], results[2])] == [(1, 1), (1, 1)]
    assert sorted(Ping.objects.values_list("device_id", flat=True)) == sorted(
        [cars[0].device.pk, cars[2].device.pk]
    )


def test_many_terminals_at_once_are_all_answered_and_stored(gateway, tiny_county):
    cars = [tracked_unit(tiny_county.teams["W"], code=f"zh-1-car-{n}") for n in range(8)]
    for n, c in enumerate(cars):
        c.device.jt808_terminal = f"1390000{n:04d}"
        c.device.save(update_fields=["jt808_terminal"])
    terms = [signed_in(terminal(gateway, c.device.jt808_terminal)) for c in cars]
    start = threading.Barrier(len(terms))
    results: dict[int, list[int]] = {}

    def drive(n: int) -> None:
        start.wait(10)
        results[n] = [terms[n].location(loc(at(20 - k), 121.001 + n * 0.001)) for k in range(5)]

    threads = [threading.Thread(target=drive, args=(n,)) for n in range(len(terms))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for term in terms:
        term.close()
    assert results == {n: [p.RESULT_OK] * 5 for n in range(len(terms))}
    assert Ping.objects.count() == 5 * len(cars)
    stats = gateway.stats()
    assert stats["fixes_accepted"] == 5 * len(cars) and stats["commits"] <= stats["batches"]


# --- the simulator's JT/T 808 vehicles ---------------------------------------------------------------


def test_the_simulator_drives_a_vehicle_through_the_gateway_with_a_0704_after_a_coverage_loss(gateway, car):
    from gridops.simulate import Jt808Patrols, Plan, SimConfig, Simulator

    sim = Simulator(SimConfig(jt808_address=f"127.0.0.1:{gateway.port}", seed=1), out=lambda line: None)
    cells = [(f"c{x}{y}", "", 121.005 + x * 0.01, 29.005 + y * 0.01) for x in (0, 1) for y in range(4)]
    sim.plan = Plan({"330225001": cells}, {"zh-1": ["330225001"]}, [])
    unit = {
        "code": car.unit.code,
        "key": car.key,
        "team": "zh-1",
        "kind": "vehicle",
        "jt808_terminal": NUMBER,
    }

    class Stamped(Jt808Patrols):
        """Fixes stamped a second apart (the simulator stamps real time, 5 s apart when it runs;
        BCD times have whole seconds)."""

        stamp = None

        def _transmit(self, vehicle) -> None:
            vehicle.pending[-1]["t"] = self.stamp.isoformat()
            super()._transmit(vehicle)

    actor = Stamped(sim, [unit])
    vehicle = actor.vehicles[0]

    def drive(seconds_ago: int, *, lose_coverage: bool = False) -> None:
        actor.stamp = at(seconds_ago)
        actor.next_blind = 0.0 if lose_coverage else float("inf")
        actor._move(vehicle, time.monotonic())
        if vehicle.pending:  # kept during the coverage loss
            vehicle.pending[-1]["t"] = actor.stamp.isoformat()

    drive(60)
    drive(55)  # in coverage: one 0x0200 each
    drive(50, lose_coverage=True)  # coverage lost: this fix and the next ones are kept
    drive(45)
    drive(40)
    assert len(vehicle.pending) == 3
    actor.blind_until.clear()  # back in coverage: the three and this one as one 0x0704
    drive(35)
    for term in actor.terminals.values():
        term.close()
    assert sim.totals.snapshot() == {"jt808_fixes_ok": 6, "jt808_batches": 1}
    assert Ping.objects.filter(device=car.device).count() == 6
    assert gateway.stats()["messages"] == {"0x0100": 1, "0x0102": 1, "0x0200": 2, "0x0704": 1}
