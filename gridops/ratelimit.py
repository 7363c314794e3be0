"""Rate limits: per device (device key) and per user (token or session), and failed logins.

Fixed windows counted in Redis (INCR + EXPIRE in one transaction), so every web process and
worker shares one count. A request over its limit is answered 429 with `Retry-After` (seconds
to the end of the window) and a field-level body `{"rate_limit": [message]}`. Limits are in
settings.RATELIMITS ("N/S"); the defaults are generous: they stop a runaway or stolen credential,
never a client working at its normal rate (docs/RELIABILITY.md "Devices and abuse").

Redis is a notice path here, as for the live streams: when it does not answer, requests are
allowed (a report must never be lost because a counter could not be read). The failure is logged
at most once a minute, and Redis is not asked again for a few seconds, so a dead Redis costs no
more than one connection timeout per process every few seconds.
"""

import logging
import secrets
import threading
import time

import redis
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from gridops import redisscript
from gridops.models import Device

logger = logging.getLogger("gridops.ratelimit")

REDIS_TIMEOUT = 0.25  # seconds: a counter that takes longer is skipped (allowed)
BACKOFF_SECONDS = 5.0  # after a Redis failure, do not ask again for this long
_LOG_EVERY_SECONDS = 60.0

_now = time.time  # the windows' clock (tests move it)
_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}
_state = {"down_until": 0.0, "logged_at": -_LOG_EVERY_SECONDS}


def _url() -> str:
    return getattr(settings, "RATELIMIT_REDIS_URL", None) or settings.REDIS_URL


def _client() -> redis.Redis:
    url = _url()
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
            )
            _clients[url] = client
        return client


# Count and set the window's expiry in one command. Profiled (py-spy --gil, 8 clients posting
# reports): the MULTI/INCR/EXPIRE NX/EXEC pipeline was ~10% of a worker's GIL time per report, most
# of it redis-py's per-call argument checks on `expire(nx=)`; EVALSHA of this script is one call.
_INCR_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_scripts: dict[tuple[int, str], object] = {}  # (id(client), script) -> redis-py's registered script
_INCR_SCRIPT = redisscript.Script(_INCR_LUA)
_slow_urls: set[str] = set()  # URLs redisscript does not speak (TLS, Unix sockets): redis-py


def _run(script: redisscript.Script, *, keys: list, args: list):
    """EVALSHA of `script` on the rate limits' Redis: over the thread's own socket
    (gridops/redisscript.py: 16 µs of CPU against redis-py's 88), or through redis-py for a URL
    it does not speak. Raises redis-py's exceptions."""
    url = _url()
    if url not in _slow_urls:
        try:
            return script(url, keys=keys, args=args, timeout=REDIS_TIMEOUT)
        except redisscript.Unsupported:
            _slow_urls.add(url)
    client = _client()
    registered = _scripts.get((id(client), script.lua))
    if registered is None:  # EVALSHA, loading the script again if Redis lost it (a restart)
        registered = _scripts[(id(client), script.lua)] = client.register_script(script.lua)
    return registered(keys=keys, args=args)


def redis_key(*parts: str) -> str:
    # The channel-layer prefix separates installations (and parallel test runs) sharing a Redis.
    prefix = getattr(settings, "RATELIMIT_KEY_PREFIX", None) or settings.CHANNEL_LAYERS["default"][
        "CONFIG"
    ].get("prefix", "gridops")
    return ":".join((prefix, *parts))


def _key(scope: str, ident: str, window: int, now: float) -> str:
    return redis_key("rl", scope, ident, str(int(now // window)))


def _retry_after(window: int, now: float) -> int:
    """Whole seconds to the end of the current window (at least 1)."""
    return max(1, int(window - now % window + 0.999))


def _redis_failed(exc: Exception) -> None:
    now = time.monotonic()
    _state["down_until"] = now + BACKOFF_SECONDS
    if now - _state["logged_at"] >= _LOG_EVERY_SECONDS:
        _state["logged_at"] = now
        logger.warning("rate limits not enforced: Redis unavailable (%s); requests are allowed", exc)


def _count(scope: str, ident: str, *, add: bool) -> int | None:
    """Seconds to wait when `ident` is over its `scope` limit (after counting this request if
    `add`), else None. None too when limits are off or Redis does not answer."""
    if not settings.RATELIMIT_ENABLED or time.monotonic() < _state["down_until"]:
        return None
    limit, window = settings.RATELIMITS[scope]
    now = _now()
    key = _key(scope, ident, window, now)
    try:
        if add:
            count = _run(_INCR_SCRIPT, keys=[key], args=[window + 1])
        else:
            count = int(_client().get(key) or 0)
    except (redis.RedisError, OSError) as exc:
        _redis_failed(exc)
        return None
    over = count > limit if add else count >= limit
    if not over:
        return None
    return _retry_after(window, now)


# A stamp read and, when asked, a request counted, in one call (gridops/auth.py: a device key
# checked from the process's cache and the device's rate limit cost one round trip together).
# GET of a missing key is false in Lua, which would end the reply's array: '' stands for "none".
_STAMP_LUA = """
local stamp = redis.call('GET', KEYS[1]) or ''
if #KEYS == 1 then return {stamp, 0} end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return {stamp, n}
"""
_STAMP_SCRIPT = redisscript.Script(_STAMP_LUA)
STAMP_SECONDS = 30 * 24 * 3600  # a stamp nobody changed for a month may go (then it reads as '')


def _available() -> bool:
    return time.monotonic() >= _state["down_until"]


def stamp_read(
    stamp_key: str, *, scope: str | None = None, ident: str | None = None
) -> tuple[str, int | None] | None:
    """The stamp stored at `stamp_key` ('' when there is none) and, with `scope` and `ident`,
    one request counted there as ratelimit_hit() counts it (the wait, or None): one Redis call.
    None when Redis does not answer (or did not a moment ago): the caller must not trust a stamp."""
    if not _available():
        return None
    count = scope is not None and settings.RATELIMIT_ENABLED
    keys, args, now, window = [stamp_key], [], 0.0, 1
    if count:
        limit, window = settings.RATELIMITS[scope]
        now = _now()
        keys.append(_key(scope, ident, window, now))
        args.append(window + 1)
    try:
        raw, n = _run(_STAMP_SCRIPT, keys=keys, args=args)
    except (redis.RedisError, OSError) as exc:
        _redis_failed(exc)
        return None
    stamp = raw.decode() if isinstance(raw, bytes) else str(raw)
    if not count or n <= limit:
        return stamp, None
    return stamp, _retry_after(window, now)


def stamp_change(stamp_key: str) -> bool:
    """A new random stamp at `stamp_key`; False when Redis did not take it."""
    try:
        _client().set(stamp_key, secrets.token_hex(8), ex=STAMP_SECONDS)
    except (redis.RedisError, OSError) as exc:
        _redis_failed(exc)
        return False
    return True


def ratelimit_hit(*, scope: str, ident: str) -> int | None:
    """Count one request of `ident` in `scope`; seconds to wait if it is over the limit."""
    return _count(scope, ident, add=True)


def ratelimit_peek(*, scope: str, ident: str) -> int | None:
    """Seconds to wait if `ident` has used up `scope` already (nothing counted), else None."""
    return _count(scope, ident, add=False)


def ratelimit_message(wait: int) -> str:
    return _("请求过于频繁，请在 %(seconds)d 秒后重试。") % {"seconds": wait}


class RateLimited(exceptions.Throttled):
    """429 with Retry-After (DRF's exception handler sets the header from `wait`)."""

    def __init__(self, wait: int) -> None:
        exceptions.APIException.__init__(self, {"rate_limit": [ratelimit_message(wait)]}, "throttled")
        self.wait = wait


# --- DRF throttles ------------------------------------------------------------------------------


class _WriteLimit(BaseThrottle):
    """Counts unsafe requests (POST, PATCH, ...) of the authenticated caller; reads are free."""

    scope = ""

    def ident(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        ident = self.ident(request)
        if ident is None:
            return True
        counted = getattr(request, "ratelimit_counted", None) or {}
        if (self.scope, ident) in counted:  # counted already, with the device key's check (gridops/auth.py)
            wait = counted[(self.scope, ident)]
        else:
            wait = ratelimit_hit(scope=self.scope, ident=ident)
        if wait is not None:
            logger.info("rate limit %s reached by %s (retry after %d s)", self.scope, ident, wait)
            raise RateLimited(wait)
        return True


class UserWrites(_WriteLimit):
    """Reports, case steps, assignments, acknowledgements: per user, whichever door they use."""

    scope = "user_writes"

    def ident(self, request) -> str | None:
        if isinstance(request.auth, Device):
            return f"device:{request.auth.pk}"
        user = request.user
        return f"user:{user.pk}" if user is not None and user.is_authenticated else None


class DeviceLimit(_WriteLimit):
    """Per device key; gridops/auth.py counts it in the key check's Redis call."""

    def ident(self, request) -> str | None:
        return f"device:{request.auth.pk}" if isinstance(request.auth, Device) else None


class DevicePings(DeviceLimit):
    scope = "device_pings"


class DeviceAlerts(DeviceLimit):
    scope = "device_alerts"


# --- Logins --------------------------------------------------------------------------------------


def client_address(request: HttpRequest) -> str:
    """The address our proxy saw (the last X-Forwarded-For entry, which nginx appends), else the
    socket's. A client reaching the app directly could forge the header; the per-name limit holds
    regardless."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[-1].strip()[:64]
    return request.META.get("REMOTE_ADDR", "") or "?"


def _login_idents(request: HttpRequest, username: str) -> list[tuple[str, str]]:
    idents = [("login_failures_ip", f"ip:{client_address(request)}")]
    if username:
        idents.append(("login_failures_user", f"name:{username.strip().lower()[:150]}"))
    return idents


@receiver(user_login_failed, dispatch_uid="gridops.ratelimit.login_failed")
def _count_login_failure(sender, credentials, request=None, **kwargs) -> None:
    if request is None:
        return
    for scope, ident in _login_idents(request, credentials.get("username", "")):
        ratelimit_hit(scope=scope, ident=ident)


def _login_paths() -> set[str]:
    paths = set()
    for name in ("login", "admin:login"):
        try:
            paths.add(reverse(name))
        except NoReverseMatch:
            pass
    return paths


class LoginRateLimitMiddleware:
    """POSTs to the login pages (the site's and the admin's) are refused with 429 while the name
    or the client address has too many recent failures; failures are counted by the
    user_login_failed signal above (so any door that calls authenticate() counts)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._paths: set[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            if self._paths is None:
                self._paths = _login_paths()
            if request.path in self._paths:
                waits = [
                    w
                    for scope, ident in _login_idents(request, request.POST.get("username", ""))
                    if (w := ratelimit_peek(scope=scope, ident=ident)) is not None
                ]
                if waits:
                    wait = max(waits)
                    logger.info("login refused for %s: too many failures", client_address(request))
                    response = HttpResponse(
                        f"<!doctype html><title>429</title><p>{escape(ratelimit_message(wait))}</p>",
                        status=429,
                        content_type="text/html; charset=utf-8",
                    )
                    response["Retry-After"] = str(wait)
                    return response
        return self.get_response(request)


def ratelimit_reset_backoff() -> None:
    """Forget a Redis failure (tests; an operator after Redis is back need not wait)."""
    _state["down_until"] = 0.0
