"""(b) PostgreSQL stops and starts again under load: report clients and a GPS device retry the
same request until answered. Callers get 503 + Retry-After during the outage, never 500; every
report answered 201/200 and every ping answered "accepted" is in the database afterwards; the
server answers 2xx again once the cluster is back (the time is measured in bench/faults.py)."""

import email.message
import json
import urllib.error
import urllib.request

import pytest

from bench.faults import scenario_pg_restart
from tests.gridops.redis_server import RedisServer, free_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgresql_restarted_under_load(fault_stack, mode):
    r = scenario_pg_restart(fault_stack, mode=mode, down_seconds=3, clients=2, devices=1)
    assert r["answered_503"] > 0, "the outage was not seen by any caller"
    assert r["http_500"] == 0 and r["server_500s"] == 0 and r["other_4xx"] == 0
    assert r["retry_after_missing"] == 0
    assert r["reports_acknowledged"] > 0 and r["reports_acknowledged_missing"] == 0
    assert r["reports_duplicated"] == 0
    assert r["pings"]["accepted"] > 0 and r["pings_accepted_missing"] == 0
    assert r["first_2xx_after_ready_ms"] is not None and r["all_clients_2xx_after_ready_ms"] is not None


def _get(url: str, accept: str) -> tuple[int, "email.message.Message", bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_api_and_pages_answer_503_while_the_database_is_down(fault_stack):
    redis = RedisServer(free_port())
    redis.start()
    server = fault_stack.server(redis.url, GRIDOPS_DB_POOL_TIMEOUT="2")
    try:
        assert _get(f"{server.url}/api/v1/regions/?level=county", "application/json")[0] == 200
        assert _get(f"{server.url}/", "text/html")[0] == 200
        fault_stack.pg.stop("fast")
        try:
            # Twice each: once on a pooled connection the shutdown terminated, once waiting for
            # the pool to connect (refused) until its timeout.
            for _ in range(2):
                status, headers, body = _get(f"{server.url}/api/v1/regions/?level=county", "application/json")
                assert status == 503 and headers["Retry-After"] == "5"
                assert json.loads(body) == {"detail": "数据库暂时不可用，请稍后重试。"}
                status, headers, body = _get(f"{server.url}/", "text/html")
                assert status == 503 and headers["Retry-After"] == "5"
                assert headers["Content-Type"].startswith("text/html")
            status, _headers, body = _get(f"{server.url}/readyz", "application/json")
            assert status == 503 and json.loads(body)["database"]["ok"] is False
        finally:
            fault_stack.pg.start()
        for _ in range(100):  # the pool reconnects on its own: no server restart
            if _get(f"{server.url}/api/v1/regions/?level=county", "application/json")[0] == 200:
                break
        else:
            pytest.fail("the server did not recover after PostgreSQL came back")
        assert "Internal Server Error" not in server.log_text()
    finally:
        server.stop()
        fault_stack.servers.remove(server)
        redis.stop()
