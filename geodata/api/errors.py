"""API errors: every caller mistake answers 4xx with a field-level message and is logged."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("geodata.api")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def too_large(limit: int) -> PayloadTooLarge:
    """413 {"body": [...]} naming the limit."""
    return PayloadTooLarge({"body": [_("请求内容过大（上限 %(size)s）。") % {"size": _size(limit)}]})


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE when DRF reads it (request.data):
        # unhandled, that was Django's HTML 400 page, not a field-level answer.
        exc = too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    response = drf_exception_handler(exc, context)
    if response is not None and 400 <= response.status_code < 500:
        request = context.get("request")
        logger.info(
            "api refused %s %s: %s %s",
            getattr(request, "method", "?"),
            getattr(request, "get_full_path", lambda: "?")(),
            response.status_code,
            response.data,
        )
    return response
