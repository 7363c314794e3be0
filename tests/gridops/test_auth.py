"""Device keys: issued once, stored hashed, found by prefix, refused when wrong or revoked."""

import hashlib

import pytest
from django.test import RequestFactory
from rest_framework import exceptions

from gridops.auth import (
    DeviceKeyAuthentication,
    IsCamera,
    IsTracker,
    device_for_key,
    device_key_issue,
    device_key_revoke,
)
from gridops.models import Device


@pytest.fixture
def camera_device(db):
    return Device.objects.create(code="cam-1", name="一号摄像头", kind=Device.Kind.CAMERA)


def _authenticate(header: str | None):
    request = RequestFactory().post("/api/v1/camera-alerts/", HTTP_AUTHORIZATION=header or "")
    return DeviceKeyAuthentication().authenticate(request)


def test_key_is_stored_hashed_and_found_by_prefix(camera_device):
    key = device_key_issue(device=camera_device)
    camera_device.refresh_from_db()
    assert key.startswith(f"gdk_{camera_device.key_prefix}_")
    assert key not in (camera_device.key_hash, camera_device.key_prefix)
    assert camera_device.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert device_for_key(key) == camera_device
    user, device = _authenticate(f"Device {key}")
    assert device == camera_device
    assert not user.is_authenticated  # a device is never a user


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong secret, right prefix
        lambda k: "gdk_0000000000_" + k.split("_", 2)[2],  # unknown prefix
        lambda k: k.replace("gdk_", "xyz_"),  # wrong scheme prefix
        lambda k: "",
    ],
)
def test_wrong_keys_are_refused(camera_device, mangle):
    key = device_key_issue(device=camera_device)
    assert device_for_key(mangle(key)) is None


def test_revoked_and_reissued_keys(camera_device):
    old = device_key_issue(device=camera_device)
    device_key_revoke(device=camera_device)
    assert device_for_key(old) is None
    with pytest.raises(exceptions.AuthenticationFailed):
        _authenticate(f"Device {old}")
    new = device_key_issue(device=camera_device)
    assert device_for_key(new) == camera_device
    assert device_for_key(old) is None  # rotating replaces the old key


def test_other_schemes_are_left_to_other_authenticators(camera_device):
    assert _authenticate(None) is None
    assert _authenticate("Token abc") is None
    with pytest.raises(exceptions.AuthenticationFailed):
        _authenticate("Device")  # the scheme without a key


def test_device_permissions_by_kind(camera_device):
    tracker = Device.objects.create(code="trk-1", name="一号车载终端", kind=Device.Kind.TRACKER)

    class Req:
        def __init__(self, auth):
            self.auth = auth

    assert IsCamera().has_permission(Req(camera_device), None)
    assert not IsCamera().has_permission(Req(tracker), None)
    assert IsTracker().has_permission(Req(tracker), None)
    assert not IsTracker().has_permission(Req(camera_device), None)
    assert not IsTracker().has_permission(Req(None), None)


def test_api_tokens_are_cached_briefly_and_revocation_takes_effect(db, settings, monkeypatch):
    """A token resolves to its user and groups once per TOKEN_CACHE_SECONDS; after that a deleted
    token or a changed group is seen."""
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from gridops.auth import CachedTokenAuthentication

    settings.TOKEN_CACHE_SECONDS = 5
    clock = [1000.0]
    monkeypatch.setattr("gridops.auth._clock", lambda: clock[0])
    user = User.objects.create_user("gw", password="x")
    user.groups.add(Group.objects.get_or_create(name="grid_worker")[0])
    token = Token.objects.create(user=user)
    key = token.key  # the key is the primary key: deleting the row clears it on the instance
    auth = CachedTokenAuthentication()

    found, _ = auth.authenticate_credentials(key)
    assert found == user and found._gridops_groups == {"grid_worker"}
    token.delete()
    user.groups.clear()
    found, _ = auth.authenticate_credentials(key)  # within the cache time
    assert found == user and found._gridops_groups == {"grid_worker"}
    clock[0] += 5.1
    with pytest.raises(exceptions.AuthenticationFailed):
        auth.authenticate_credentials(key)


def test_without_a_cache_time_every_request_reads_the_token(db, settings):
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from gridops.auth import CachedTokenAuthentication

    settings.TOKEN_CACHE_SECONDS = 0
    token = Token.objects.create(user=User.objects.create_user("gw", password="x"))
    key = token.key
    CachedTokenAuthentication().authenticate_credentials(key)
    token.delete()
    with pytest.raises(exceptions.AuthenticationFailed):
        CachedTokenAuthentication().authenticate_credentials(key)
