"""Rate limits (gridops/ratelimit.py): per user, per device, failed logins; Redis down = allowed.

Windows are counted in the Redis of REDIS_URL under a key prefix of each test's own, so runs and
tests never share a count; the windows' clock is moved by the tests, never waited for.
"""

import logging
import uuid

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from gridops import ratelimit
from gridops.models import Ping, Report
from tests.gridops.units_factory import fix, minutes_ago, tracked_unit

REPORTS = "/api/v1/reports/"
PINGS = "/api/v1/pings/"


@pytest.fixture(autouse=True)
def _own_counters(settings, monkeypatch, tmp_path):
    settings.RATELIMIT_KEY_PREFIX = f"test-rl-{uuid.uuid4().hex}"
    settings.RATELIMIT_ENABLED = True
    settings.RATELIMITS = dict(settings.RATELIMITS)
    settings.MEDIA_ROOT = tmp_path / "media"
    clock = {"now": 1_800_000_000.0}  # the start of a 60 s window (1.8e9 is a multiple of 60)
    monkeypatch.setattr(ratelimit, "_now", lambda: clock["now"])
    ratelimit.ratelimit_reset_backoff()
    yield clock
    ratelimit.ratelimit_reset_backoff()


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _worker(django_user_model, name: str):
    user = django_user_model.objects.create_user(username=name, password="pw-123456")
    user.groups.add(Group.objects.get_or_create(name="grid_worker")[0])
    return user


def _report(n: int) -> dict:
    return {
        "lon": 121.005,
        "lat": 29.005,
        "description": f"路口占道经营 {n}",
        "client_uuid": str(uuid.uuid4()),
    }


def test_a_burst_over_the_user_limit_gets_429_with_retry_after(
    tiny_county, django_user_model, settings, _own_counters
):
    settings.RATELIMITS["user_writes"] = (3, 60)
    _own_counters["now"] += 15  # 45 s left in the window
    api = _token_client(_worker(django_user_model, "w1"))
    assert [api.post(REPORTS, _report(n), format="json").status_code for n in range(3)] == [201] * 3

    refused = api.post(REPORTS, _report(3), format="json")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"
    assert list(refused.json()) == ["rate_limit"]
    assert "45" in refused.json()["rate_limit"][0]
    assert Report.objects.count() == 3  # the refused one is not stored

    assert api.get(REPORTS).status_code == 200  # reads are not counted
    other = _token_client(_worker(django_user_model, "w2"))
    assert other.post(REPORTS, _report(4), format="json").status_code == 201  # per user

    _own_counters["now"] += 45  # the next window
    assert api.post(REPORTS, _report(5), format="json").status_code == 201


def test_the_device_limit_is_per_device(tiny_county, settings):
    settings.RATELIMITS["device_pings"] = (2, 60)
    one = tracked_unit(tiny_county.teams["W"], code="car-1")
    two = tracked_unit(tiny_county.teams["W"], code="car-2")
    client = APIClient()

    def batch(car, minutes: float):
        body = [fix(minutes_ago(minutes), 121.005, 29.005)]
        return client.post(PINGS, body, format="json", **car.header)

    assert [batch(one, 3).status_code, batch(one, 2).status_code] == [200, 200]
    refused = batch(one, 1)
    assert refused.status_code == 429 and int(refused["Retry-After"]) == 60
    assert "rate_limit" in refused.json()
    assert batch(two, 1).status_code == 200  # another device is unaffected
    assert Ping.objects.filter(unit=one.unit).count() == 2


@pytest.mark.parametrize(
    ("scope", "every_seconds"),
    [
        ("user_writes", 10.0),  # a grid worker's phone reporting every 10 s, all day long
        ("user_writes", 1.0),  # the simulator's desk at 1 case step/s
        ("device_pings", 5.0),  # a tracker sending its batch every 5 s
        ("device_alerts", 10.0),  # a busy camera
    ],
)
def test_clients_at_their_normal_rate_never_see_a_429_with_the_default_limits(
    scope, every_seconds, _own_counters
):
    from django.conf import settings

    hours = 2
    waits = []
    for _ in range(int(hours * 3600 / every_seconds)):
        waits.append(ratelimit.ratelimit_hit(scope=scope, ident="user:1"))
        _own_counters["now"] += every_seconds
    assert waits.count(None) == len(waits), (scope, settings.RATELIMITS[scope])


def test_the_benchmark_pace_from_one_token_stays_under_the_default_user_limit(_own_counters):
    """bench/intake.py posts from one token as fast as the 2-core server answers (~400/s) for 15 s,
    then 300/s for 15 s: both inside one window here, at 1/400 s and 1/300 s apart."""
    waits = []
    for rate in (400, 300):
        for _ in range(rate * 15):
            waits.append(ratelimit.ratelimit_hit(scope="user_writes", ident="user:1"))
            _own_counters["now"] += 1 / rate
    assert all(w is None for w in waits)


def test_redis_down_allows_and_logs(tiny_county, django_user_model, settings, caplog):
    settings.RATELIMITS["user_writes"] = (1, 60)
    settings.RATELIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    ratelimit._state["logged_at"] = -1e9  # log this test's failure even if another was logged
    api = _token_client(_worker(django_user_model, "w1"))
    with caplog.at_level(logging.WARNING, logger="gridops.ratelimit"):
        statuses = [api.post(REPORTS, _report(n), format="json").status_code for n in range(3)]
    assert statuses == [201, 201, 201]
    assert "Redis unavailable" in caplog.text


def test_failed_logins_lock_the_name_then_answer_429(client, django_user_model, settings, _own_counters):
    settings.RATELIMITS["login_failures_user"] = (3, 300)
    _own_counters["now"] = 1_800_000_000.0 + 100  # 200 s left in the 300 s window
    django_user_model.objects.create_user(username="alice", password="right-pw-1")
    django_user_model.objects.create_user(username="bob", password="right-pw-2")
    for _ in range(3):
        page = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert page.status_code == 200  # the form again, with its error
    locked = client.post("/accounts/login/", {"username": "alice", "password": "right-pw-1"})
    assert locked.status_code == 429 and locked["Retry-After"] == "200"
    assert "_auth_user_id" not in client.session
    # the limit is per name: another user from the same address logs in
    assert client.post("/accounts/login/", {"username": "bob", "password": "right-pw-2"}).status_code == 302


def test_failed_logins_per_address(client, django_user_model, settings):
    settings.RATELIMITS["login_failures_ip"] = (2, 300)
    django_user_model.objects.create_user(username="carol", password="right-pw-3")
    for name in ("x1", "x2"):
        client.post("/accounts/login/", {"username": name, "password": "wrong"}, REMOTE_ADDR="10.0.0.7")
    refused = client.post(
        "/accounts/login/", {"username": "carol", "password": "right-pw-3"}, REMOTE_ADDR="10.0.0.7"
    )
    assert refused.status_code == 429
    ok = client.post(
        "/accounts/login/", {"username": "carol", "password": "right-pw-3"}, REMOTE_ADDR="10.0.0.8"
    )
    assert ok.status_code == 302


OPEN311 = "/open311/v2/requests.json"


def test_open311_writes_share_the_user_limit_and_wrong_keys_count_per_address(
    client, tiny_county, django_user_model, settings
):
    """The façade is another door to the same reports: the caller's write budget is the one of
    POST /api/v1/reports/, and guessing api_keys is limited per address like failed logins."""
    settings.RATELIMITS["user_writes"] = (2, 60)
    settings.RATELIMITS["login_failures_ip"] = (2, 300)
    hotline = django_user_model.objects.create_user(username="hotline", password="pw-123456")
    hotline.groups.add(Group.objects.get_or_create(name="open311")[0])
    key = Token.objects.create(user=hotline).key
    base = {"service_code": "ZH-001", "lat": "29.005", "long": "121.005"}

    assert _token_client(hotline).post(REPORTS, _report(1), format="json").status_code == 201
    assert client.post(OPEN311, {**base, "api_key": key}, REMOTE_ADDR="10.0.0.5").status_code == 201
    over = client.post(OPEN311, {**base, "api_key": key}, REMOTE_ADDR="10.0.0.5")
    assert over.status_code == 429 and int(over["Retry-After"]) > 0
    assert over.json()[0]["code"] == 429 and over.json()[0]["description"].startswith("rate_limit:")
    assert Report.objects.count() == 2

    for _ in range(2):
        assert client.post(OPEN311, {**base, "api_key": "guess"}, REMOTE_ADDR="10.0.0.9").status_code == 403
    locked = client.post(OPEN311, {**base, "api_key": key}, REMOTE_ADDR="10.0.0.9")
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    # Another address is not held back by the guesses (its own writes are still over, though).
    assert client.post(OPEN311, {**base, "api_key": "guess"}, REMOTE_ADDR="10.0.0.10").status_code == 403
    assert Report.objects.count() == 2
