"""Demo devices and the live simulator.

The simulator test runs it against a real server (pytest-django's live_server) on the tiny county
for a few seconds: everything it does goes through HTTP, and the rows it leaves behind prove it.
"""

import json
import stat

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, reverse

from gridops.models import Camera, Device, Ping, Report, Unit
from gridops.services.demo_devices import (
    demo_credentials_read,
    demo_credentials_write,
    demo_devices_ensure,
    demo_known_keys,
)
from gridops.simulate import SimConfig, Simulator, totals_line


def _ensure(path, cameras=4):
    known = demo_known_keys(demo_credentials_read(path=path))
    credentials = demo_devices_ensure(known_keys=known, cameras=cameras, seed=1)
    demo_credentials_write(credentials=credentials, path=path)
    return credentials


@pytest.mark.django_db
def test_demo_devices_are_idempotent(tiny_county, tmp_path):
    path = tmp_path / "demo-devices.json"
    first = _ensure(path)
    assert first.issued == 4 + 2 * 2 + 2  # cameras, 2 vehicles per team, officers on foot (2 teams here)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    devices = Device.objects.count()
    second = _ensure(path)
    assert second.issued == 0  # every key in the file still opens its device
    assert Device.objects.count() == devices == 10
    assert Camera.objects.count() == 4 and Unit.objects.count() == 6
    assert json.loads(path.read_text())["units"] == [{k: v for k, v in u.items()} for u in second.units]
    camera = Camera.objects.select_related("device").first()
    assert camera.field_of_view.contains(camera.field_of_view.centroid)
    assert camera.device.kind == Device.Kind.CAMERA and camera.township is not None
    assert set(Unit.objects.values_list("team__code", flat=True)) == {"zh-1", "zh-2"}

    # A lost file: devices stay one per code, and each gets a new key.
    path.unlink()
    third = _ensure(path)
    assert third.issued == 10 and Device.objects.count() == 10
    assert third.units[0]["key"] != second.units[0]["key"]


def _endpoint_missing() -> str | None:
    for name in ("api:report-list", "api:camera-alert", "api:pings"):
        try:
            reverse(name)
        except NoReverseMatch:
            return f"{name} is not routed yet (another helper's endpoint)"
    return None


@pytest.mark.slow
def test_simulator_drives_traffic_over_http(live_server, transactional_db, tmp_path):
    missing = _endpoint_missing()
    if missing:
        pytest.skip(missing)
    from tests.factories import build_tiny_county

    build_tiny_county()
    worker = get_user_model().objects.create_user(username="gridworker", password="x")
    worker.groups.add(Group.objects.get_or_create(name="grid_worker")[0])
    path = tmp_path / "demo-devices.json"
    _ensure(path)
    lines: list[str] = []
    config = SimConfig(
        base_url=live_server.url,
        credentials=path,
        rate=4.0,
        duration=6.0,
        speedup=10.0,
        seed=7,
        totals_every=2.0,
        start_timeout=30.0,
        alert_types=("street_vending",),
    )
    totals = Simulator(config, out=lines.append).run()

    assert totals.get("reports_created", 0) > 0, lines
    assert totals.get("pings_accepted", 0) > 0, lines
    assert totals.get("connection_errors", 0) == 0
    assert totals.get("reports_failed", 0) == 0, lines
    assert Report.objects.filter(source=Report.Source.GRID_WORKER).count() == totals["reports_created"]
    assert Ping.objects.count() == totals["pings_accepted"]
    assert lines[0].startswith("[sim]") and len(lines) >= 3
    # reports landed on cells of the tiny county and were routed to its comprehensive teams
    assert set(Report.objects.filter(source="grid_worker").values_list("team__code", flat=True)) <= {
        "zh-1",
        "zh-2",
    }


def test_simulator_waits_for_a_server_that_is_not_up(tmp_path):
    """Planning retries with backoff; with a start timeout it gives up with a clear error."""
    config = SimConfig(base_url="http://127.0.0.1:9", credentials=tmp_path / "none.json", start_timeout=1.0)
    with pytest.raises(RuntimeError, match="not ready"):
        Simulator(config, out=lambda line: None).run()


def test_totals_line_reads_well():
    line = totals_line({"reports_created": 3, "pings_accepted": 12}, 10.0)
    assert "reports 3 new" in line and "pings 12 accepted" in line
