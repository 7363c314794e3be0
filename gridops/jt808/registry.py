"""JT/T 808 terminals as devices: who a terminal number is, authentication codes, their fixes.

Synchronous ORM code; the gateway (server.py) runs it in worker threads, off its event loop.

A terminal is a Device whose `jt808_terminal` holds its number. Registration (0x0100) of a number
bound to a device that is not revoked issues a fresh authentication code: shown to the terminal
once (in 0x8100) and stored only as its SHA-256, like device keys (gridops/auth.py); the codes are
random, so a fast hash is as good as a slow one. Authentication (0x0102) compares in constant time.
A new registration replaces the previous code, and revoking the device (admin, device_key_revoke)
refuses both registration and authentication.

Numbers are compared without their leading zeros: a terminal configured as 13800138000 sends
013800138000 in a 2013 header and 00000000013800138000 in a 2019 one.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from geodata.errors import FieldError
from gridops.models import Device
from gridops.services.pings import BatchResult, DeviceNotBound, PingBatchError, ping_batch_ingest

logger = logging.getLogger("gridops.jt808")

TERMINAL_KINDS = (Device.Kind.TRACKER, Device.Kind.PHONE, Device.Kind.DRONE)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def terminal_number_variants(number: str) -> list[str]:
    """The spellings one terminal number may be stored as: as sent, without leading zeros, and
    zero-padded to the 12 digits of 2013 and the 20 of 2019."""
    bare = number.lstrip("0") or "0"
    return sorted({number, bare, bare.zfill(12), bare.zfill(20)})


def jt808_device_for_terminal(*, terminal: str) -> Device | None:
    """The tracker-like device bound to this terminal number, revoked or not (None if unknown)."""
    return (
        Device.objects.filter(jt808_terminal__in=terminal_number_variants(terminal), kind__in=TERMINAL_KINDS)
        .order_by("pk")
        .first()
    )


def jt808_terminal_register(*, terminal: str) -> tuple[Device | None, str | None]:
    """Registration: (device, new authentication code), or (None, None) when the number is not
    bound to a device that may send positions (unknown, revoked or not a tracker)."""
    with transaction.atomic():
        device = (
            Device.objects.select_for_update()
            .filter(jt808_terminal__in=terminal_number_variants(terminal), kind__in=TERMINAL_KINDS)
            .order_by("pk")
            .first()
        )
        if device is None or device.revoked_at is not None:
            return None, None
        code = secrets.token_hex(8)  # 16 characters: fits every terminal's authentication field
        device.jt808_auth_hash = _digest(code)
        device.jt808_auth_issued_at = timezone.now()
        device.save(update_fields=["jt808_auth_hash", "jt808_auth_issued_at"])
    logger.info(
        "jt808: terminal %s registered as device %s; authentication code issued", terminal, device.code
    )
    return device, code


def jt808_terminal_authenticate(*, terminal: str, code: str) -> Device | None:
    """The device, if `code` is the authentication code last issued to this terminal's device and
    the device is not revoked; otherwise None."""
    device = jt808_device_for_terminal(terminal=terminal)
    if device is None or device.revoked_at is not None or not device.jt808_auth_hash:
        return None
    if not hmac.compare_digest(device.jt808_auth_hash, _digest(code)):
        return None
    return device


def jt808_device_refresh(*, device_id: int) -> Device | None:
    """The device as it is now (crs changed, revoked since authentication?); None if revoked/gone."""
    device = Device.objects.filter(pk=device_id).first()
    return device if device is not None and device.revoked_at is None else None


def jt808_positions_ingest_many(
    *, batches: list[tuple[Device, list[dict]]], received_at: datetime
) -> list[BatchResult | FieldError]:
    """Several terminals' fixes through THE ping ingest (as POST /api/v1/pings/ does), in one
    transaction: each call of ping_batch_ingest is a savepoint inside it, so one terminal's refusal
    (DeviceNotBound, PingBatchError: returned in its place) leaves the others stored; their
    unit.moved notices and outbox events go out after the one commit. Batches are taken in device
    order, so two groups lock units in the same order."""
    results: dict[int, BatchResult | FieldError] = {}
    order = sorted(range(len(batches)), key=lambda k: batches[k][0].pk)
    with transaction.atomic():
        for k in order:
            device, items = batches[k]
            try:
                results[k] = ping_batch_ingest(device=device, items=items, received_at=received_at)
            except (DeviceNotBound, PingBatchError) as exc:
                results[k] = exc
    return [results[k] for k in range(len(batches))]
