"""Liveness and readiness, for load balancers, orchestrators and the benchmarks' baseline.

GET /healthz   200 {"status": "ok"}: the process answers (no database, no Redis); the cheapest
               request through the whole stack (ASGI server, middleware, URL routing), which
               bench/intake.py uses as the "hello" baseline beside report intake.
GET /readyz    200 when PostgreSQL answers; 503 with Retry-After when it does not. Redis is
               reported but does not make the process unready: PostgreSQL is the record and
               writes succeed without Redis (the channel layer is only the notice path,
               docs/REALTIME.md), so pulling every replica when Redis blips would turn a
               degraded service into an outage.
"""

import logging
import time

import redis
from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("gridops.health")

# How long a readiness probe waits for each dependency: a probe must answer faster than the
# orchestrator's own timeout, whatever the state of the database.
PROBE_TIMEOUT_SECONDS = 2.0
RETRY_AFTER_SECONDS = 5


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def database_check() -> tuple[bool, float]:
    """Can this process run a query now? (ok, milliseconds)."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {int(PROBE_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("SELECT 1")
            cursor.fetchone()
        ok = True
    except DatabaseError as exc:
        logger.warning("readyz: database unavailable: %s", exc)
        connection.close_if_unusable_or_obsolete()
        ok = False
    return ok, (time.perf_counter() - started) * 1000


def redis_check() -> tuple[bool, float]:
    """Does Redis answer PING? (ok, milliseconds)."""
    started = time.perf_counter()
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT_SECONDS, socket_connect_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        ok = bool(client.ping())
    except redis.RedisError as exc:
        logger.warning("readyz: redis unavailable: %s", exc)
        ok = False
    finally:
        client.close()
    return ok, (time.perf_counter() - started) * 1000


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    db_ok, db_ms = database_check()
    redis_ok, redis_ms = redis_check()
    body = {
        "status": "ok" if db_ok and redis_ok else ("degraded" if db_ok else "unavailable"),
        "database": {"ok": db_ok, "ms": round(db_ms, 1)},
        "redis": {"ok": redis_ok, "ms": round(redis_ms, 1)},
    }
    response = JsonResponse(body, status=200 if db_ok else 503)
    if not db_ok:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
