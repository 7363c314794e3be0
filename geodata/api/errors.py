"""API errors: every caller mistake answers 4xx with a field-level message and is logged."""

import logging

from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("geodata.api")


def exception_handler(exc, context):
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
