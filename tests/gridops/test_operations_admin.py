"""The operations admin renders in Chinese for a superuser; device keys are issued once and revoked
through gridops.auth; reports are read-only, show their routing reasons and can be registered (立案)."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.gis.geos import Point
from django.urls import reverse

from gridops.auth import device_for_key
from gridops.models import Alert, Camera, Device, OutboxEvent, Report, Unit
from gridops.realtime import events
from gridops.services.reports import ReportInput, report_submit
from tests.data import images


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def operations(tiny_county):
    device = Device.objects.create(code="cam-001", name="路口球机", kind=Device.Kind.CAMERA)
    tracker = Device.objects.create(code="trk-001", name="车载终端", kind=Device.Kind.TRACKER)
    camera = Camera.objects.create(device=device, name="丹东路口", location=Point(121.001, 29.001, srid=4326))
    unit = Unit.objects.create(
        code="car-1", name="巡查一号车", kind=Unit.Kind.VEHICLE, team=tiny_county.teams["W"], device=tracker
    )
    report, _ = report_submit(
        data=ReportInput(source="citizen", lon=121.01, lat=29.005, reporter_phone="13812341234"),
        photos=[images.upload("a.jpg", images.jpeg_bytes())],
    )
    alert = Alert.objects.create(
        kind=Alert.Kind.OUT_OF_ZONE, unit=unit, team=unit.team, message="巡查一号车驶离辖区"
    )
    return {"device": device, "camera": camera, "unit": unit, "report": report, "alert": alert}


def test_every_operations_model_an_operator_looks_at_is_registered():
    wanted = {"device", "camera", "unit", "report", "alert"}
    registered = {
        m._meta.model_name for m in apps.get_app_config("gridops").get_models() if m in admin.site._registry
    }
    assert wanted <= registered


@pytest.mark.parametrize("name", ["device", "camera", "unit", "report", "alert"])
def test_changelist_and_change_pages_render_in_chinese(admin_client, operations, name):
    changelist = admin_client.get(reverse(f"admin:gridops_{name}_changelist"))
    assert changelist.status_code == 200
    assert 'lang="zh-hans"' in changelist.content.decode()
    change = admin_client.get(reverse(f"admin:gridops_{name}_change", args=[operations[name].pk]))
    assert change.status_code == 200


def test_report_change_page_shows_the_reasons_and_photo_but_no_inputs(admin_client, operations):
    report = operations["report"]
    page = admin_client.get(reverse("admin:gridops_report_change", args=[report.pk])).content.decode()
    assert "定位理由" in page
    assert "按规则取编码最小的网格" in page  # the tie-break reason of a point on a shared edge
    assert "<img" in page and "/media/reports/" in page
    assert 'name="status"' not in page and 'name="description"' not in page
    assert admin_client.get(reverse("admin:gridops_report_add")).status_code == 403


def test_issue_key_shows_it_once_and_it_works(admin_client, operations):
    device = operations["device"]
    response = admin_client.post(
        reverse("admin:gridops_device_changelist"),
        {"action": "issue_key", "_selected_action": [device.pk]},
        follow=True,
    )
    page = response.content.decode()
    key = re.search(r"gdk_[0-9a-f]{10}_[A-Za-z0-9_-]+", page).group(0)
    assert device_for_key(key) == device
    device.refresh_from_db()
    assert key not in (device.key_hash, device.key_prefix)
    again = admin_client.get(reverse("admin:gridops_device_changelist")).content.decode()
    assert key not in again  # shown once


def test_revoke_key(admin_client, operations):
    from gridops.auth import device_key_issue

    device = operations["device"]
    key = device_key_issue(device=device)
    admin_client.post(
        reverse("admin:gridops_device_changelist"),
        {"action": "revoke_key", "_selected_action": [device.pk]},
        follow=True,
    )
    assert device_for_key(key) is None
    device.refresh_from_db()
    assert device.revoked_at is not None


def test_register_action_goes_through_the_service(admin_client, operations):
    report = operations["report"]
    admin_client.post(
        reverse("admin:gridops_report_changelist"),
        {"action": "register", "_selected_action": [report.pk]},
        follow=True,
    )
    report.refresh_from_db()
    assert report.status == Report.Status.REGISTERED
    assert report.case_events.get().action == "register"
    assert OutboxEvent.objects.filter(type=events.CASE_UPDATED).count() == 1
