"""Language: Simplified Chinese unless the user chose otherwise.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a command-centre PC with
an English Windows would start in English. Our users are Chinese: the page language comes from the
language cookie set by the language switch (/i18n/setlang/), else settings.LANGUAGE_CODE.
"""

import logging
import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from config import dbstate


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


# --- The database is unavailable: 503 with Retry-After, never a 500 ---------------------------------
# PostgreSQL restarting (failover, upgrade, "terminating connection due to administrator command")
# is not the caller's fault and not a bug: clients and load balancers should retry, so the answer
# is 503 + Retry-After (config/health.py's interval) — JSON for the API, a short page otherwise.
# A view's exception (DRF included: its handler re-raises what it does not know) reaches
# process_exception; one raised in another middleware (a page's scope check reads request.user)
# is turned into a 500 response inside Django's handler, so a got_request_exception receiver marks
# the request and __call__ swaps that 500 for the 503. The broken connection is returned to the
# psycopg pool, which discards it (it is closed); see docs/RELIABILITY.md "Faults".

database_logger = logging.getLogger("gridops.database")
DATABASE_ERRORS = (OperationalError, InterfaceError)
_UNAVAILABLE_MARK = "_gridops_database_unavailable"


def _mark_database_unavailable(sender, request=None, **kwargs) -> None:
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, DATABASE_ERRORS):
        setattr(request, _UNAVAILABLE_MARK, exc)


got_request_exception.connect(_mark_database_unavailable, dispatch_uid="gridops-database-unavailable")


class DatabaseUnavailableMiddleware:
    """First in MIDDLEWARE, so that it sees every response, including Django's own 500s."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, _UNAVAILABLE_MARK, None)
        if exc is not None and response.status_code == 500:
            return self.unavailable(request, exc)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return self.unavailable(request, exception)
        return None

    @staticmethod
    def unavailable(request, exc: Exception) -> HttpResponse:
        from config.health import RETRY_AFTER_SECONDS

        dbstate.mark_unavailable(f"{request.method} {request.path}")
        database_logger.warning(
            "database unavailable, answered 503: %s %s: %s: %s",
            request.method,
            request.path,
            type(exc).__name__,
            str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        )
        detail = _("数据库暂时不可用，请稍后重试。")
        api = request.path.startswith(("/api/", "/open311/"))
        if api or "json" in request.headers.get("Accept", ""):
            response = JsonResponse({"detail": detail}, status=503)
        else:
            response = HttpResponse(
                f'<!doctype html><meta charset="utf-8"><title>503</title><p>{escape(detail)}</p>',
                status=503,
                content_type="text/html; charset=utf-8",
            )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
