"""Device keys kept in the process (gridops/auth.py): trusted only while their prefix's stamp in
Redis is unchanged, so a change of the device in any process (revoking, issuing, rotating, the
admin) is seen on the next request; one Redis call checks the stamp and counts the rate limit.

Each "other process" here is Redis alone: a stamp written there, not a call into this process's
cache, is what makes the next request read the database again."""

import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from gridops import auth, ratelimit
from gridops.auth import KeyCache, device_key_issue, device_key_revoke, device_key_rotate
from gridops.models import Device, Ping
from tests.gridops.units_factory import fix, minutes_ago, tracked_unit

PINGS = "/api/v1/pings/"


@pytest.fixture(autouse=True)
def _own_keys(settings):
    settings.RATELIMIT_KEY_PREFIX = f"test-dk-{uuid.uuid4().hex}"
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMITS = {**settings.RATELIMITS, "device_pings": (1000, 60)}
    settings.DEVICE_KEY_CACHE_SECONDS = 30.0
    settings.PREPARED_STATEMENTS = False  # Django's own cursor: the captured queries carry their SQL
    ratelimit.ratelimit_reset_backoff()
    yield
    ratelimit.ratelimit_reset_backoff()


@pytest.fixture
def car(tiny_county):
    return tracked_unit(tiny_county.teams["W"])


class Sender:
    def __init__(self, car) -> None:
        self.client, self.car, self.n = APIClient(), car, 0

    def __call__(self, key: str | None = None):
        """One batch of one fix; (status, whether the device's row was read from the database)."""
        self.n += 1
        body = [fix(minutes_ago(60) + timedelta(seconds=self.n), 121.005, 29.005)]
        with CaptureQueriesContext(connection) as queries:
            answer = self.client.post(
                PINGS, body, format="json", HTTP_AUTHORIZATION=f"Device {key or self.car.key}"
            )
        return answer.status_code, any("key_prefix" in q["sql"] for q in queries.captured_queries)


def stamp_of(device: Device) -> bytes | None:
    prefix = Device.objects.get(pk=device.pk).key_prefix
    return ratelimit._client().get(auth._stamp_key(prefix))


def test_a_kept_key_costs_no_database_read_until_its_stamp_changes(car):
    send = Sender(car)
    assert send() == (200, True)  # the first batch reads the row
    assert send() == (200, False)
    assert send() == (200, False)
    # Another process saves the device (here: only its stamp, as its save would write it).
    ratelimit.stamp_change(auth._stamp_key(car.device.key_prefix))
    assert send() == (200, True)
    assert send() == (200, False)
    assert Ping.objects.filter(unit=car.unit).count() == 5


def test_revoking_stops_a_kept_key_at_once(car):
    send = Sender(car)
    assert [send(), send()] == [(200, True), (200, False)]
    before = stamp_of(car.device)
    device_key_revoke(device=car.device)
    assert stamp_of(car.device) != before
    assert send()[0] == 401
    assert Ping.objects.filter(unit=car.unit).count() == 2


def test_issuing_a_new_key_ends_the_kept_old_one(car):
    send = Sender(car)
    assert [send(), send()] == [(200, True), (200, False)]
    new = device_key_issue(device=car.device)  # a new prefix; the old prefix's stamp changes too
    assert send()[0] == 401
    assert send(new) == (200, True)
    assert send(new) == (200, False)


def test_the_stamp_changes_after_the_commit_too(car, django_capture_on_commit_callbacks):
    """A process reading the row between the save and the commit keeps the old row with the stamp
    written at the save: the stamp written after the commit replaces it."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        device_key_revoke(device=car.device)
        at_save = stamp_of(car.device)
    assert len(callbacks) == 1
    callbacks[0]()
    assert stamp_of(car.device) not in (None, at_save)


def test_an_old_key_is_kept_only_until_its_grace_period_ends(car):
    send = Sender(car)
    new = device_key_rotate(device=car.device, grace=timedelta(seconds=1.5))
    assert send() == (200, True)  # the old key, in its grace period
    assert send() == (200, False)
    assert send(new) == (200, True)
    time.sleep(1.6)  # the grace ends: nothing was saved, the kept entry knows when
    assert send()[0] == 401
    assert send(new) == (200, False)


def test_no_entry_is_trusted_longer_than_the_cache_time(car, settings, monkeypatch):
    clock = {"now": 1000.0}
    monkeypatch.setattr(auth, "_clock", lambda: clock["now"])
    send = Sender(car)
    assert [send(), send()] == [(200, True), (200, False)]
    # A change Redis never heard of (it was away when the device was revoked):
    Device.objects.filter(pk=car.device.pk).update(revoked_at=minutes_ago(0))
    clock["now"] += 29
    assert send() == (200, False)  # within DEVICE_KEY_CACHE_SECONDS the kept entry holds ...
    clock["now"] += 2
    assert send()[0] == 401  # ... and not a moment longer


def test_without_redis_every_request_reads_the_database(car, settings):
    send = Sender(car)
    assert [send(), send()] == [(200, True), (200, False)]
    settings.RATELIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    assert send() == (200, True)
    ratelimit.ratelimit_reset_backoff()
    assert send() == (200, True)
    Device.objects.filter(pk=car.device.pk).update(revoked_at=minutes_ago(0))  # no stamp at all
    ratelimit.ratelimit_reset_backoff()
    assert send()[0] == 401
    assert not KeyCache._entries  # what the process kept was dropped when Redis failed


def test_a_wrong_secret_with_a_kept_prefix_is_refused(car):
    send = Sender(car)
    assert send() == (200, True)
    assert send(car.key[:-2] + ("xx" if not car.key.endswith("xx") else "yy"))[0] == 401


def test_each_batch_is_counted_once(car, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "device_pings": (3, 60)}
    send = Sender(car)
    assert [send()[0] for _ in range(4)] == [200, 200, 200, 429]
    keys = ratelimit._client().keys(ratelimit.redis_key("rl", "device_pings", f"device:{car.device.pk}", "*"))
    assert [int(ratelimit._client().get(k)) for k in keys] == [4]


def test_cache_time_zero_reads_the_database_every_time(car, settings):
    settings.DEVICE_KEY_CACHE_SECONDS = 0
    send = Sender(car)
    assert [send(), send(), send()] == [(200, True)] * 3
