"""config.middleware.DatabaseUnavailableMiddleware: PostgreSQL unavailable → 503 + Retry-After,
never 500, whether a view or another middleware met the error; other errors are left alone.

The end-to-end proof (a real server, a real cluster stopped under load) is test_pg_restart.py;
here Django's own exception-to-response wrapper stands for "another middleware raised"."""

import json

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from config import dbstate
from config.health import RETRY_AFTER_SECONDS
from config.middleware import DatabaseUnavailableMiddleware


def _ok(request):
    return HttpResponse("ok")


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("terminating connection due to administrator command"),
        InterfaceError("connection already closed"),
    ],
)
def test_a_view_meeting_a_dead_database_answers_503_json_for_the_api(error, caplog):
    request = RequestFactory().post("/api/v1/reports/")
    response = DatabaseUnavailableMiddleware(_ok).process_exception(request, error)
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert json.loads(response.content) == {"detail": "数据库暂时不可用，请稍后重试。"}
    assert "database unavailable, answered 503: POST /api/v1/reports/" in caplog.text
    # The process's consoles stop asking until a probe finds the database again (config/dbstate.py).
    assert dbstate.unavailable()


def test_a_page_gets_a_short_html_page():
    request = RequestFactory().get("/command/")
    response = DatabaseUnavailableMiddleware(_ok).process_exception(request, OperationalError("refused"))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "数据库暂时不可用" in response.content.decode()
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_an_error_raised_in_another_middleware_becomes_503_not_500():
    def inner(request):  # e.g. PageScopeMiddleware reading request.user from the session table
        raise OperationalError("server closed the connection unexpectedly")

    middleware = DatabaseUnavailableMiddleware(convert_exception_to_response(inner))
    response = middleware(RequestFactory().get("/command/"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_other_errors_stay_500():
    def inner(request):
        raise ValueError("a bug")

    middleware = DatabaseUnavailableMiddleware(convert_exception_to_response(inner))
    assert middleware(RequestFactory().get("/command/")).status_code == 500
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("a bug")) is None
