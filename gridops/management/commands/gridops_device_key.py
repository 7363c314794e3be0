"""Device keys from the command line: issue, rotate (the old key keeps working for a grace
period) or revoke, through the same services as the admin (gridops/auth.py).

    manage.py gridops_device_key rotate CAM-001 --grace-minutes 60
    manage.py gridops_device_key issue CAM-001
    manage.py gridops_device_key revoke CAM-001

The new key is printed once, on standard output alone (so `KEY=$(manage.py ...)` works); what
happened is told on standard error.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridops.auth import device_key_issue, device_key_revoke, device_key_rotate
from gridops.models import Device


class Command(BaseCommand):
    help = "签发、轮换（旧密钥在宽限期内仍可用）或吊销设备密钥。"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("issue", "rotate", "revoke"))
        parser.add_argument("code", help="device code")
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=None,
            help="rotate: minutes the old key keeps working "
            "(default GRIDOPS_DEVICE_KEY_ROTATION_GRACE_MINUTES)",
        )

    def handle(self, *args, action: str, code: str, grace_minutes: int | None, **options):
        device = Device.objects.filter(code=code).first()
        if device is None:
            raise CommandError(f"no device with code {code!r}")
        if action == "revoke":
            device_key_revoke(device=device)
            self.stderr.write(f"{device.code}: every key revoked")
            return
        if action == "issue":
            key = device_key_issue(device=device)
            self.stderr.write(f"{device.code}: new key issued; every older key stopped working")
        else:
            minutes = settings.DEVICE_KEY_ROTATION_GRACE_MINUTES if grace_minutes is None else grace_minutes
            if minutes < 0:
                raise CommandError("--grace-minutes must not be negative")
            key = device_key_rotate(device=device, grace=timedelta(minutes=minutes))
            until = device.key_previous_until
            self.stderr.write(
                f"{device.code}: new key issued; the old key works until "
                f"{timezone.localtime(until).isoformat(timespec='minutes')}"
                if until
                else f"{device.code}: new key issued (no older key kept)"
            )
        self.stdout.write(key)
