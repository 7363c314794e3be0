"""Device keys: cameras, GPS trackers and drones authenticate with `Authorization: Device <key>`.

A key looks like `gdk_<prefix>_<secret>`. The prefix finds the device row; the SHA-256 of the
whole key is compared in constant time. Rotating a key (`device_key_rotate`) keeps the prefix and
the old key's hash for a grace period, so a device keeps working while it is given its new key;
issuing a key (`device_key_issue`) or revoking one ends every older key at once. Keys are 190+
bits of randomness, so a fast hash is as strong as a slow one and keeps authentication in
microseconds. A revoked device, an unknown prefix or a wrong secret all answer the same 401 (no
oracle), and the refusal is logged.

People use sessions (with CSRF) or DRF tokens; a device is never a user: `request.user` stays
anonymous and `request.auth` is the Device, so device keys cannot open user-only endpoints.

A key once found is kept in the process (by the SHA-256 of the whole key) with the *stamp* its
prefix had in Redis when the row was read, and is trusted again only while Redis still holds that
stamp. Every change of a device (any save or delete: issuing, rotating, revoking a key, the admin)
writes a new stamp for its key prefix after the commit, so every process reads the row again on
the device's next request: a revoked key stops at once, in every process. The stamp is read before
the row, so a row read before a change is never kept with the stamp written after it. Reading the
stamp shares one Redis call with the device's rate limit (gridops/ratelimit.py), which the request
makes anyway: a tracker batch costs no database round trip for its key. Measured in-process: the
key's row from the database 150-200 µs of CPU, the rate limit's call 90-130 µs; together now one
call. When Redis does not answer, keys are read from the database every time (as before the
cache) and this process forgets what it kept. A change made while Redis was away, seen by a process
that did not notice the outage, is bounded by DEVICE_KEY_CACHE_SECONDS (30 s): no entry is
trusted longer than that after its row was read.
"""

import functools
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions

from gridops import ratelimit
from gridops.models import Device
from gridops.services.rows import prepared_cursor

logger = logging.getLogger("gridops.auth")

KEY_SCHEME = "Device"
_clock = time.monotonic  # the token cache's clock (tests move it)
KEY_PREFIX = "gdk"


_KEY_FIELDS = ["key_hash", "key_issued_at", "key_previous_hash", "key_previous_until"]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key(prefix: str) -> str:
    return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"


@transaction.atomic
def device_key_issue(*, device: Device) -> str:
    """Issue a new key for the device (replacing any previous one at once) and return it; shown once."""
    prefix = secrets.token_hex(5)
    key = _new_key(prefix)
    if device.pk is not None:  # the keys under the old prefix end too (post_save stamps the new one)
        stored = Device.objects.filter(pk=device.pk).values_list("key_prefix", flat=True).first()
        if stored:
            _stamp_after_commit(stored)
    device.key_prefix = prefix
    device.key_hash = _digest(key)
    device.key_issued_at = timezone.now()
    device.key_previous_hash = ""
    device.key_previous_until = None
    device.revoked_at = None
    device.save(update_fields=[*_KEY_FIELDS, "key_prefix", "revoked_at"])
    logger.info("device key issued for %s (prefix %s)", device.code, prefix)
    return key


@transaction.atomic
def device_key_rotate(*, device: Device, grace: timedelta) -> str:
    """A new key for the device, the current one still accepted for `grace`; returns the new key.

    Zero downtime: the device (or its operator) installs the new key whenever convenient within
    the grace period; requests signed with either key are accepted meanwhile, and the old key is
    refused after it. The prefix stays (it only finds the row). Rotating again within the grace
    period ends the first old key at once: only the key being replaced is kept. A device without
    an active key simply gets one (nothing to keep working).
    """
    if grace < timedelta(0):
        raise ValueError("grace must not be negative")
    given, device = device, Device.objects.select_for_update().get(pk=device.pk)
    if not device.is_active or not device.key_prefix:
        key = device_key_issue(device=given)
        return key
    key = _new_key(device.key_prefix)
    now = timezone.now()
    device.key_previous_hash = device.key_hash if grace > timedelta(0) else ""
    device.key_previous_until = now + grace if grace > timedelta(0) else None
    device.key_hash = _digest(key)
    device.key_issued_at = now
    device.save(update_fields=_KEY_FIELDS)
    for field in _KEY_FIELDS:
        setattr(given, field, getattr(device, field))
    logger.info(
        "device key rotated for %s (prefix %s); the old key works until %s",
        device.code,
        device.key_prefix,
        device.key_previous_until,
    )
    return key


def device_key_revoke(*, device: Device) -> None:
    """Every key of the device stops working at once (the one in a rotation's grace period too)."""
    device.revoked_at = timezone.now()
    device.key_previous_hash = ""
    device.key_previous_until = None
    device.save(update_fields=["revoked_at", "key_previous_hash", "key_previous_until"])
    logger.info("device key revoked for %s", device.code)


_DEVICE_FIELDS = [f.attname for f in Device._meta.concrete_fields]  # the columns _by_prefix_sql reads


@functools.cache
def _by_prefix_sql() -> str:
    columns = ", ".join(connection.ops.quote_name(f.column) for f in Device._meta.concrete_fields)
    table = connection.ops.quote_name(Device._meta.db_table)
    return f"SELECT {columns} FROM {table} WHERE key_prefix = %s LIMIT 1"


def _device_by_prefix(prefix: str) -> Device | None:
    """The device whose key has this prefix. Every tracker batch and camera alert authenticates,
    so this is one prepared statement (services/rows.py) and the row becomes a Device as a
    queryset would load it. Measured: compiling `filter(key_prefix=).first()` each time ~1 ms;
    `Device.objects.raw()` 262 µs of CPU (368 µs wall); this 145 µs (180 µs wall); py-spy put the
    lookup at 11% of a ping batch's request in-process. Nothing is cached: a revoked key must stop
    at once, in every process."""
    with prepared_cursor() as cursor:
        cursor.execute(_by_prefix_sql(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    return Device.from_db(connection.alias, _DEVICE_FIELDS, row)


def device_for_key(key: str) -> Device | None:
    """The active device holding this key, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    device = _device_by_prefix(parts[1])
    if device is None or device.revoked_at is not None or not device.key_hash:
        return None
    digest = _digest(key)
    if hmac.compare_digest(device.key_hash, digest):
        return device
    # The key replaced by a rotation, within its grace period.
    if (
        device.key_previous_hash
        and device.key_previous_until is not None
        and device.key_previous_until > timezone.now()
        and hmac.compare_digest(device.key_previous_hash, digest)
    ):
        logger.debug("device %s used its previous key (until %s)", device.code, device.key_previous_until)
        return device
    return None


# --- The process's keys, trusted while their prefix's stamp in Redis is unchanged ---------------


def _stamp_key(prefix: str) -> str:
    return ratelimit.redis_key("devkey", prefix)


def _stamp_after_commit(prefix: str) -> None:
    """A new stamp now and another after the commit. The one after the commit is what makes the
    change seen: a process that reads the row before the commit keeps an older stamp. The one now
    makes it seen within the transaction too (a test, or a caller that reads the device back)."""

    def change() -> None:
        if not ratelimit.stamp_change(_stamp_key(prefix)):
            # Other processes trust what they kept for at most DEVICE_KEY_CACHE_SECONDS.
            logger.error("device key prefix %s changed but Redis did not take its new stamp", prefix)
            KeyCache.clear()

    change()
    transaction.on_commit(change)


@receiver(post_save, sender=Device, dispatch_uid="gridops.auth.device_saved")
@receiver(post_delete, sender=Device, dispatch_uid="gridops.auth.device_deleted")
def _device_changed(sender, instance: Device, **kwargs) -> None:
    if instance.key_prefix:
        _stamp_after_commit(instance.key_prefix)


class KeyCache:
    """SHA-256 of a key → (the device's id, its row, its prefix's stamp, when read, until when the
    key holds: the end of a rotation's grace period for an old key, else None)."""

    _lock = threading.Lock()
    _entries: "OrderedDict[str, tuple[int, tuple, str, float, object]]" = OrderedDict()
    MAX_ENTRIES = 20_000

    @classmethod
    def get(cls, digest: str):
        with cls._lock:
            return cls._entries.get(digest)

    @classmethod
    def put(cls, digest: str, entry: tuple) -> None:
        with cls._lock:
            cls._entries[digest] = entry
            cls._entries.move_to_end(digest)
            while len(cls._entries) > cls.MAX_ENTRIES:
                cls._entries.popitem(last=False)

    @classmethod
    def drop(cls, digest: str) -> None:
        with cls._lock:
            cls._entries.pop(digest, None)

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls._entries.clear()


def _from_row(row: tuple) -> Device:
    """A Device of its own for each request (the ingest sets last_seen_at on it)."""
    return Device.from_db(connection.alias, _DEVICE_FIELDS, row)


def device_for_key_counted(key: str, *, scope: str | None = None) -> tuple[Device | None, dict]:
    """device_for_key() through the process's cache, and the device's `scope` rate limit counted
    in the same Redis call when the key was found there: (device, {(scope, ident): wait}); the
    dict is empty when nothing was counted (the throttle then counts as usual)."""
    ttl = settings.DEVICE_KEY_CACHE_SECONDS
    parts = key.split("_", 2)
    if ttl <= 0 or len(parts) != 3 or parts[0] != KEY_PREFIX:
        return device_for_key(key), {}
    digest, stamp_key = _digest(key), _stamp_key(parts[1])
    entry = KeyCache.get(digest)
    if entry is not None:
        pk, row, stamp, read_at, until = entry
        ident = f"device:{pk}"
        answer = ratelimit.stamp_read(stamp_key, scope=scope, ident=ident)
        if answer is None:  # Redis away: nothing kept can be trusted now
            KeyCache.clear()
            return device_for_key(key), {}
        counted = {(scope, ident): answer[1]} if scope else {}
        if answer[0] == stamp and _clock() - read_at < ttl and (until is None or until > timezone.now()):
            return _from_row(row), counted
        KeyCache.drop(digest)
        fresh = answer[0]
    else:
        answer = ratelimit.stamp_read(stamp_key)
        if answer is None:
            return device_for_key(key), {}
        fresh, counted = answer[0], {}
    # The stamp was read before the row: a change committed after this read writes a newer one.
    device = device_for_key(key)
    if device is None:
        return None, {}
    until = None if hmac.compare_digest(device.key_hash, digest) else device.key_previous_until
    KeyCache.put(
        digest, (device.pk, tuple(getattr(device, f) for f in _DEVICE_FIELDS), fresh, _clock(), until)
    )
    if counted and next(iter(counted))[1] != f"device:{device.pk}":
        counted = {}
    return device, counted


def _device_limit_of(request) -> str | None:
    """The scope of the device rate limit the view's throttles count (DevicePings, DeviceAlerts),
    if any: the key's check counts it in its own Redis call, and the throttle reads the count."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    for throttle in getattr(view, "throttle_classes", ()):
        if issubclass(throttle, ratelimit.DeviceLimit):
            return throttle.scope
    return None


class DeviceKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEY_SCHEME.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("设备密钥格式应为：Authorization: Device <密钥>。"))
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("设备密钥无效。")) from None
        device, counted = device_for_key_counted(key, scope=_device_limit_of(request))
        if counted:
            request.ratelimit_counted = counted  # read by gridops.ratelimit._WriteLimit
        if device is None:
            logger.warning(
                "device key refused (prefix %r) from %s", key[:14], request.META.get("REMOTE_ADDR")
            )
            raise exceptions.AuthenticationFailed(_("设备密钥无效或已吊销。"))
        return AnonymousUser(), device

    def authenticate_header(self, request):
        return KEY_SCHEME


class IsDevice(permissions.BasePermission):
    """Only a device authenticated by its key (optionally of given kinds)."""

    kinds: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        device = request.auth
        return isinstance(device, Device) and (not self.kinds or device.kind in self.kinds)


class IsCamera(IsDevice):
    kinds = (Device.Kind.CAMERA,)


class IsTracker(IsDevice):
    kinds = (Device.Kind.TRACKER, Device.Kind.PHONE, Device.Kind.DRONE)


class CachedTokenAuthentication(authentication.TokenAuthentication):
    """DRF tokens, with what a token resolves to (the user and their group names) kept in memory
    for settings.TOKEN_CACHE_SECONDS.

    Why: phones and integrations send a token with every report; resolving it (token + user row,
    then the groups) was ~15% of the CPU of a report intake under load (py-spy). A deleted token,
    a deactivated user or a changed group takes effect within the cache time (seconds).
    """

    _lock = threading.Lock()
    _cache: "OrderedDict[str, tuple[float, object, object, frozenset[str]]]" = OrderedDict()
    MAX_ENTRIES = 10_000

    def authenticate_credentials(self, key):
        ttl = settings.TOKEN_CACHE_SECONDS
        now = _clock()
        if ttl > 0:
            with self._lock:
                hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                _, user, token, groups = hit
                user._gridops_groups = set(groups)
                return user, token
        user, token = super().authenticate_credentials(key)
        groups = frozenset(user.groups.values_list("name", flat=True))
        user._gridops_groups = set(groups)
        if ttl > 0:
            with self._lock:
                self._cache[key] = (now + ttl, user, token, groups)
                self._cache.move_to_end(key)
                while len(self._cache) > self.MAX_ENTRIES:
                    self._cache.popitem(last=False)
        return user, token

    @classmethod
    def cache_clear(cls) -> None:
        with cls._lock:
            cls._cache.clear()
