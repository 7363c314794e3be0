"""A probe for (a): what would a report path outside Django's handler and DRF reach?

Issue 7 asks for report intake at ≥ 25% of `GET /healthz`'s rate. Our answer (docs/PERFORMANCE.md,
"Tenth session" and after) was that only a second intake path outside Django and DRF could reach
it. This probe measures that claim instead of asserting it: `POST /bench/lean/reports/` does the
same work as `POST /api/v1/reports/` for the bench's reports, through the same services, with
everything of the framework that can be left out left out:

- served by the same server, the same thread pool and the same single hop to it
  (config.asgi.WholeBody), but a plain WSGI function in front of Django's handler: no middleware,
  no URL resolving, no request or response objects, no DRF view, parser, authentication classes,
  throttles, content negotiation or input serializer;
- the token resolved by the platform's cached token authentication (gridops.auth), the write
  limit counted by the platform's Redis script (gridops.ratelimit), the same ReportInput handed to
  the same `report_submit` (validation, routing, the report, its case event and outbox row in one
  statement), so the database and the relay see exactly what they see for a real report;
- the same 201 answer (ReportDetailSerializer's fields) as JSON.

It is a measurement, not a door: it answers only what the bench sends (a JSON body with a
token), with a bare 400/401/429 otherwise, and it is served only by the bench's settings
(bench/obvious_settings.py sets ASGI_APPLICATION to this module's `application`). What it leaves
out is what a second path would have to write again and keep in step with the first: session
and CSRF checks, the locale, the database-unavailable answer, the page scope, the body limit's
413, multipart photos, field-level messages for every malformed field.
"""

import json
from types import SimpleNamespace

from channels.routing import ProtocolTypeRouter
from django.conf import settings
from django.db import close_old_connections
from rest_framework import exceptions

import config.asgi as platform
from geodata.errors import FieldError
from gridops.api.report_serializers import ReportDetailSerializer
from gridops.api.reports import _source_for
from gridops.auth import CachedTokenAuthentication
from gridops.ratelimit import UserWrites, ratelimit_hit
from gridops.services.reports import IdempotencyConflict, ReportInput, report_submit

PATH = "/bench/lean/reports/"
KEY_PREFIX = "lean:"  # its reports told apart from (a)'s (bench/intake.py counts them as stored)
_tokens = CachedTokenAuthentication()
_JSON = [("Content-Type", "application/json")]


def _answer(start_response, status: str, body: dict) -> list[bytes]:
    start_response(status, _JSON)
    return [json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()]


def _submit(environ) -> tuple[str, dict]:
    scheme, _, key = (environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
    if scheme != "Token" or not key:
        return "401 Unauthorized", {"detail": "token required"}
    try:
        user, _token = _tokens.authenticate_credentials(key)
    except exceptions.AuthenticationFailed:
        return "401 Unauthorized", {"detail": "invalid token"}
    wait = ratelimit_hit(scope=UserWrites.scope, ident=f"user:{user.pk}")
    if wait is not None:
        return "429 Too Many Requests", {"detail": f"retry after {wait} s"}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        body = json.loads(environ["wsgi.input"].read(length))
        if not isinstance(body, dict):
            raise ValueError("not an object")
        data = ReportInput(
            source=_source_for(user, body.get("source")),
            lon=body.get("lon"),
            lat=body.get("lat"),
            crs=body.get("crs") or None,
            matter_code=body.get("matter") or None,
            description=str(body.get("description", "")),
            priority=int(body.get("priority", 0)),
        )
        client_uuid = str(body.get("client_uuid") or "").lower()
        key = f"{KEY_PREFIX}u{user.pk}:{client_uuid}" if client_uuid else None
        report, created = report_submit(data=data, reporter=user, idempotency_key=key)
    except IdempotencyConflict as exc:  # a FieldError: first
        return "422 Unprocessable Entity", {"client_uuid": [exc.message]}
    except FieldError as exc:  # a ValueError: before it
        return "400 Bad Request", {exc.field: [exc.message]}
    except (ValueError, TypeError) as exc:
        return "400 Bad Request", {"detail": str(exc)}
    # The answer reads the caller (what they may see, what they may do next) from its context.
    answer = ReportDetailSerializer(report, context={"request": SimpleNamespace(user=user)}).data
    return ("201 Created" if created else "200 OK"), answer


class LeanReports:
    """WSGI: POST PATH here, everything else to the platform's own WSGI application."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        # What Django's handler does around every request for the database: a pooled connection
        # is taken by the first query and given back here (CONN_MAX_AGE is 0 with the pool).
        close_old_connections()
        try:
            status, body = _submit(environ)
        finally:
            close_old_connections()
        return _answer(start_response, status, body)


application = ProtocolTypeRouter(
    {
        "http": platform.WholeBody(LeanReports(platform.wsgi_app), workers=settings.HTTP_THREADS),
        "websocket": platform.application.application_mapping["websocket"],
    }
)
