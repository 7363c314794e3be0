"""One web worker of `gridops_serve`: uvicorn on the inherited SO_REUSEPORT socket.

Not `uvicorn --fd`: uvicorn wraps such a descriptor as an AF_UNIX socket, so asyncio never sets
TCP_NODELAY on the accepted TCP connections and Nagle's algorithm meets delayed ACKs (measured:
p50 56 ms per report at 130 reports/s with both workers half idle, against 36 ms and 188/s).
`socket.socket(fileno=…)` reads the real family from the descriptor.

Before it accepts connections a worker loads what its first requests would otherwise load while
the others wait (profiled, py-spy --gil, the first 20 s of the intake bench: importing the URL
configuration — every view module, with geopandas and pandas — was 18% of a worker's CPU and
building the routing index another 3%, both on the request path of the first reports).

Then what it loaded is frozen out of the garbage collector (`gc.freeze()`): ~200,000 long-lived
objects (modules, URL patterns, the routing index) that every full collection walked again.
Measured (gc callbacks in a worker, 20 consoles at 100 reports/s, one minute): a full collection
took ~400 ms of wall time with the GIL held, ~120 ms after the freeze; all collections together
5.4 s → 3.0 s per worker. Objects made later are collected as usual.

A worker hands the GIL over every GRIDOPS_GIL_SWITCH_SECONDS (1 ms; Python's default is 5 ms),
so the event loop is not held behind a request thread for 5 ms at each hand-over.

    python -m gridops.serve_worker FD [--access-log]
"""

import gc
import importlib
import logging
import socket
import sys

logger = logging.getLogger("gridops.serve")


def _application() -> tuple[str, str]:
    """(module, attribute) of the application served: Django's own ASGI_APPLICATION setting
    ("config.asgi.application"; a bench's settings may name another)."""
    from django.conf import settings

    module, _, attribute = settings.ASGI_APPLICATION.rpartition(".")
    return module, attribute


def warm_up() -> None:
    """Import the application and its URL configuration, build the routing index, then settle the
    interpreter: what was loaded frozen out of the collector, the GIL's switch interval."""
    from django.conf import settings
    from django.db import connections
    from django.urls import get_resolver

    import config.asgi  # noqa: F401  (django.setup() and the WSGI handler)

    importlib.import_module(_application()[0])  # the one served
    get_resolver().url_patterns  # noqa: B018  (imports every view module)
    # The reverse tables, per language: built lazily they were 4-10% of a worker's first seconds
    # under load (the login rate limit reverses its paths on the first POST, in parallel threads).
    from django.utils import translation

    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            get_resolver().reverse_dict  # noqa: B018
    try:
        from geodata.routing import routing_index

        routing_index()
    except Exception:  # no database yet: the first request builds it, as without the warm-up
        logger.warning("routing index not built at start-up", exc_info=True)
    finally:
        connections.close_all()  # request threads take their own connections from the pool
    gc.collect()
    gc.freeze()
    # The event loop thread gets the GIL within 1 ms of asking instead of 5 (config/settings.py).
    sys.setswitchinterval(settings.GIL_SWITCH_SECONDS)


def main(argv: list[str]) -> None:
    import uvicorn

    sock = socket.socket(fileno=int(argv[0]))
    warm_up()
    from django.conf import settings  # configured by warm_up

    access_log = "--access-log" in argv[1:]
    config = uvicorn.Config(
        ":".join(_application()),
        lifespan="off",
        timeout_graceful_shutdown=5,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        ws_per_message_deflate=settings.LIVE_WS_DEFLATE,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
