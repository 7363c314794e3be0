"""/healthz and /readyz (config/health.py): liveness without dependencies, readiness on PostgreSQL,
Redis reported but not required."""

import socket

import pytest

from config import health


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_with_postgresql_and_redis_up(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True and body["redis"]["ok"] is True


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket goes


@pytest.mark.django_db
def test_readyz_stays_ready_without_redis(client, settings):
    """Writes do not need Redis: a replica stays in the pool, reporting itself degraded."""
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True and body["redis"]["ok"] is False


@pytest.mark.django_db
def test_readyz_is_503_with_retry_after_when_the_database_fails(client, monkeypatch):
    monkeypatch.setattr(health, "database_check", lambda: (False, 2000.0))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == str(health.RETRY_AFTER_SECONDS)
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db
def test_the_database_check_really_queries(django_assert_num_queries):
    with django_assert_num_queries(2):  # the statement timeout, then SELECT 1
        ok, ms = health.database_check()
    assert ok and ms >= 0


def test_only_get(client):
    assert client.post("/healthz").status_code == 405
