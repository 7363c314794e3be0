"""ASGI entry point: HTTP through Django's WSGI handler on a thread pool, websockets through Channels.

Why not Django's ASGI handler for HTTP: our views are synchronous (ORM, DRF), and under Django's
ASGI handler every middleware hook and request signal hops between the event loop and a
per-request thread. Measured here (in-process, a 404): 4.3 ms per request through the ASGI handler,
2.7 ms with the chain forced synchronous, 1.1 ms through a2wsgi's WSGIMiddleware, which hands
each request once to a persistent thread pool. Over uvicorn, GET /api/v1/route/ p50 went from
4.5 ms to 1.3 ms. Websockets (Channels consumers) stay fully asynchronous.

Why not a2wsgi alone any more: it hands every ASGI message across threads synchronously — the
body read, the response start, each body chunk and the end of the body each make the request
thread wait for the event loop (run_coroutine_threadsafe + future.result()). Profiled under the
intake bench (py-spy --gil, 2 workers, 8 clients): those callbacks were 17% of a worker's GIL
time, and each wait is a GIL hand-over between a busy request thread and the loop. WholeBody
below reads a small body in the loop, runs the request in the pool in one hop, and sends the
answer from the loop: one hand-over each way. Large or chunked bodies (photos) and streaming
responses (static files, exports) still stream, through a2wsgi or chunk by chunk.
"""

import asyncio
import contextvars
import io
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from a2wsgi import WSGIMiddleware  # noqa: E402
from a2wsgi.wsgi import build_environ  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from gridops.realtime.consumers import DatabaseUnavailableAtHandshake  # noqa: E402

# Bodies up to this size are read whole in the event loop; larger or chunked ones stream (a2wsgi).
WHOLE_BODY_MAX = 256 * 1024
_END = object()


class WholeBody:
    """ASGI HTTP → WSGI with one thread hop per request for the usual small request and answer."""

    def __init__(self, app, *, workers: int) -> None:
        self.app = app
        self.streaming = WSGIMiddleware(app, workers=workers)
        self.executor = self.streaming.executor  # one pool for both paths

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.streaming(scope, receive, send)
        length = 0
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                length = int(value) if value.isdigit() else WHOLE_BODY_MAX + 1
            elif name == b"transfer-encoding":  # chunked: size unknown, let it stream
                length = WHOLE_BODY_MAX + 1
                break
        if length > WHOLE_BODY_MAX:
            return await self.streaming(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        environ = build_environ(scope, io.BytesIO(b"".join(chunks)))
        loop = asyncio.get_running_loop()
        call = contextvars.copy_context().run
        status, headers, body, stream = await loop.run_in_executor(self.executor, call, self._run, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if stream is None:
            await send({"type": "http.response.body", "body": body})
            return
        try:  # a streaming answer: each chunk is produced in the pool (file reads, queries)
            while True:
                chunk = await loop.run_in_executor(self.executor, next, stream, _END)
                if chunk is _END:
                    break
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                await loop.run_in_executor(self.executor, close)

    def _run(self, environ) -> tuple:
        """In the pool: the WSGI application, and its whole answer unless it streams."""
        started: list = []
        written: list[bytes] = []

        def start_response(status, response_headers, exc_info=None):
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, response_headers]
            return written.append

        iterable = self.app(environ, start_response)
        if getattr(iterable, "streaming", False):
            # Headers are set before the first chunk by Django; a WSGI app may start late.
            stream = iter(iterable)
            first = next(stream, _END)
            prefix = [] if first is _END else [first]
            status, headers = self._head(started)
            return status, headers, b"", _Chained(prefix, stream, iterable)
        try:
            body = b"".join([*written, *iterable])
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        status, headers = self._head(started)
        return status, headers, body, None

    @staticmethod
    def _head(started: list) -> tuple[int, list]:
        status, response_headers = started
        headers = [
            (name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
            for name, value in response_headers
        ]
        return int(status.split(" ", 1)[0]), headers


class _Chained:
    """The first chunk (already read to get the headers), then the rest; close() closes the response."""

    def __init__(self, prefix: list, rest, response) -> None:
        self._prefix, self._rest, self._response = prefix, rest, response

    def __iter__(self):
        return self

    def __next__(self):
        if self._prefix:
            return self._prefix.pop()
        return next(self._rest)

    def close(self) -> None:
        close = getattr(self._response, "close", None)
        if close is not None:
            close()


wsgi_app = get_wsgi_application()
if settings.SERVE_STATIC:
    # One process serves everything for the demo and small sites (static files from the app
    # directories and node_modules through the finders); behind nginx, set GRIDOPS_SERVE_STATIC=0.
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    wsgi_app = StaticFilesHandler(wsgi_app)

application = ProtocolTypeRouter(
    {
        "http": WholeBody(wsgi_app, workers=settings.HTTP_THREADS),
        "websocket": AllowedHostsOriginValidator(
            DatabaseUnavailableAtHandshake(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
