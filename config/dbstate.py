"""Whether this process last found PostgreSQL unavailable: one notice shared by its requests and
its live consoles.

Every database call of a process's consoles runs in one thread (channels' database_sync_to_async
is thread-sensitive; HTTP requests have their own pool, config/asgi.py). While PostgreSQL is away
each call waits the pool's timeout (GRIDOPS_DB_POOL_TIMEOUT) before it fails, so if every console
kept asking for its stream head, fifty consoles would hold that thread for fifty timeouts per
heartbeat: the heartbeats would stop coming (the browser closes a socket silent for three), and
the resumes and re-checks queued behind them would be answered long after PostgreSQL was back.

So the first failure marks the database unavailable (config.middleware's 503 does, and so does a
console's failed call). While it is marked, consoles send their heartbeats without asking, and
one probe at a time asks for all of them (gridops/realtime/consumers.py). The probe, or any
console call that succeeds, clears the mark. A connecting console does not look at the mark: it
asks the database itself, so a mark can never outlive the outage in a process with no console.
"""

import logging
import threading
import time

logger = logging.getLogger("gridops.database")

_lock = threading.Lock()
_unavailable_since: float | None = None  # time.monotonic() of the failure that set the mark


def mark_unavailable(what: str) -> None:
    global _unavailable_since
    with _lock:
        if _unavailable_since is not None:
            return
        _unavailable_since = time.monotonic()
    logger.warning("database marked unavailable in this process (%s)", what)


def mark_available(asked_at: float | None = None) -> None:
    """The database answered a call made at `asked_at` (time.monotonic()). An answer to a call
    made before the mark was set says nothing about the outage: it leaves the mark."""
    global _unavailable_since
    with _lock:
        if _unavailable_since is None or (asked_at is not None and asked_at < _unavailable_since):
            return
        seconds = time.monotonic() - _unavailable_since
        _unavailable_since = None
    logger.info("database available again in this process after %.1f s", seconds)


def unavailable() -> bool:
    return _unavailable_since is not None
