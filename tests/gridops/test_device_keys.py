"""Device key rotation without downtime: both keys work during the grace period, the old one is
refused after it; from the service, the admin action and `manage.py gridops_device_key`.

    issued ─── rotate ───────────── grace ends ──────▶ time
    old key:  ✓         ✓ (grace)       ✗
    new key:            ✓               ✓
"""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from gridops.auth import device_for_key, device_key_issue, device_key_revoke, device_key_rotate
from gridops.models import Device, Ping
from tests.gridops.prepared import prepared_runs, runs_since
from tests.gridops.units_factory import fix, minutes_ago, tracked_unit

KEY = re.compile(r"gdk_[0-9a-f]{10}_[A-Za-z0-9_-]+")


@pytest.fixture
def device(db):
    return Device.objects.create(code="cam-9", name="九号摄像头", kind=Device.Kind.CAMERA)


def _expire_grace(device: Device) -> None:
    """The grace period ends (as time would end it; saved through the model, like every change of
    a device, so processes that kept the key read it again: gridops/auth.py)."""
    stored = Device.objects.get(pk=device.pk)
    stored.key_previous_until = timezone.now() - timedelta(seconds=1)
    stored.save(update_fields=["key_previous_until"])


def test_both_keys_work_during_the_grace_period_and_the_old_one_stops_after(device):
    old = device_key_issue(device=device)
    prefix = Device.objects.get(pk=device.pk).key_prefix
    new = device_key_rotate(device=device, grace=timedelta(hours=1))
    assert new != old and new.startswith(f"gdk_{prefix}_")  # same prefix: finds the same row
    stored = Device.objects.get(pk=device.pk)
    assert old not in (stored.key_hash, stored.key_previous_hash) and new not in (stored.key_hash,)
    assert stored.key_previous_until > timezone.now() + timedelta(minutes=59)
    assert device_for_key(old) == device_for_key(new) == device

    _expire_grace(device)
    assert device_for_key(old) is None
    assert device_for_key(new) == device


def test_rotating_again_ends_the_first_old_key_at_once(device):
    first = device_key_issue(device=device)
    second = device_key_rotate(device=device, grace=timedelta(hours=1))
    third = device_key_rotate(device=device, grace=timedelta(hours=1))
    assert device_for_key(first) is None
    assert device_for_key(second) == device_for_key(third) == device


def test_revoking_or_issuing_ends_the_key_in_its_grace_period(device):
    old = device_key_issue(device=device)
    new = device_key_rotate(device=device, grace=timedelta(hours=1))
    device_key_revoke(device=device)
    assert device_for_key(old) is None and device_for_key(new) is None

    old = device_key_issue(device=device)
    device_key_rotate(device=device, grace=timedelta(hours=1))
    fresh = device_key_issue(device=device)  # "replace now" (a leaked key): nothing older works
    assert device_for_key(old) is None and device_for_key(fresh) == device


def test_zero_grace_is_an_immediate_switch_and_negative_is_refused(device):
    old = device_key_issue(device=device)
    new = device_key_rotate(device=device, grace=timedelta(0))
    assert device_for_key(old) is None and device_for_key(new) == device
    with pytest.raises(ValueError):
        device_key_rotate(device=device, grace=timedelta(minutes=-1))


def test_rotating_a_device_without_a_key_issues_one(device):
    key = device_key_rotate(device=device, grace=timedelta(hours=1))
    assert device_for_key(key) == device
    assert Device.objects.get(pk=device.pk).key_previous_hash == ""


def test_a_tracker_keeps_sending_through_a_rotation(tiny_county):
    """No downtime over HTTP: batches signed with the old key are stored until the grace ends."""
    car = tracked_unit(tiny_county.teams["W"])
    client = APIClient()
    new = device_key_rotate(device=car.device, grace=timedelta(minutes=30))

    def send(key: str, minutes: float):
        body = [fix(minutes_ago(minutes), 121.005, 29.005)]
        return client.post("/api/v1/pings/", body, format="json", HTTP_AUTHORIZATION=f"Device {key}")

    assert send(car.key, 3).status_code == 200  # the old key, still configured on the device
    assert send(new, 2).status_code == 200
    _expire_grace(car.device)
    assert send(car.key, 1).status_code == 401
    assert send(new, 1).status_code == 200
    assert Ping.objects.filter(unit=car.unit).count() == 3


def test_the_command_rotates_and_prints_the_key_alone(device):
    old = device_key_issue(device=device)
    out, err = io.StringIO(), io.StringIO()
    call_command("gridops_device_key", "rotate", "cam-9", "--grace-minutes", "90", stdout=out, stderr=err)
    new = out.getvalue().strip()
    assert KEY.fullmatch(new)
    assert device_for_key(new) == device_for_key(old) == device
    until = Device.objects.get(pk=device.pk).key_previous_until
    assert timedelta(minutes=89) < until - timezone.now() <= timedelta(minutes=90)
    assert "old key works until" in err.getvalue()

    call_command("gridops_device_key", "revoke", "cam-9", stdout=io.StringIO(), stderr=io.StringIO())
    assert device_for_key(new) is None
    with pytest.raises(CommandError):
        call_command("gridops_device_key", "rotate", "no-such-device", stdout=io.StringIO())


def test_the_admin_action_rotates_and_shows_the_key_once(admin_client, device, settings):
    settings.DEVICE_KEY_ROTATION_GRACE_MINUTES = 45
    old = device_key_issue(device=device)
    response = admin_client.post(
        reverse("admin:gridops_device_changelist"),
        {"action": "rotate_key", "_selected_action": [device.pk]},
        follow=True,
    )
    keys = set(KEY.findall(response.content.decode()))
    assert len(keys) == 1
    (new,) = keys
    assert new != old
    assert device_for_key(new) == device_for_key(old) == device
    until = Device.objects.get(pk=device.pk).key_previous_until
    assert timedelta(minutes=44) < until - timezone.now() <= timedelta(minutes=45)
    assert new not in admin_client.get(reverse("admin:gridops_device_changelist")).content.decode()


@pytest.mark.parametrize("prepared", [True, False])
def test_the_key_lookup_loads_the_whole_device_as_the_orm_does(device, settings, prepared):
    """Every batch and alert looks its device up by key prefix, as one prepared statement
    (gridops/auth.py); GRIDOPS_PREPARED_STATEMENTS=0 reads the same device."""
    settings.PREPARED_STATEMENTS = prepared
    key = device_key_issue(device=device)
    before = prepared_runs("SELECT")
    found = [device_for_key(key) for _ in range(3)]
    orm = Device.objects.get(pk=device.pk)
    fields = [f.attname for f in Device._meta.concrete_fields]
    for one in found:
        assert [getattr(one, f) for f in fields] == [getattr(orm, f) for f in fields]
        assert not one._state.adding and one._state.db == "default"
    assert device_for_key(key.replace("_", "_0", 1)) is None  # an unknown prefix
    lookups = [n for n in runs_since(before, "SELECT") if n >= 3]
    assert lookups == ([4] if prepared else [])
