"""Patrol units and their trackers for the ping, geofence and units API tests."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from geodata.models import Team
from gridops.auth import device_key_issue
from gridops.models import Device, Unit


@dataclass
class Tracked:
    unit: Unit
    device: Device
    key: str

    @property
    def header(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Device {self.key}"}


def tracked_unit(team: Team, *, code: str = "zh-1-car-1", crs: str = "wgs84", name: str = "") -> Tracked:
    device = Device.objects.create(
        code=f"trk-{code}", name=f"定位终端 {code}", kind=Device.Kind.TRACKER, crs=crs
    )
    key = device_key_issue(device=device)
    unit = Unit.objects.create(
        code=code, name=name or f"巡查车 {code}", kind=Unit.Kind.VEHICLE, team=team, device=device
    )
    return Tracked(unit=unit, device=device, key=key)


def fix(t: datetime, lon: float, lat: float, **extra) -> dict:
    return {"t": t.isoformat(), "lon": lon, "lat": lat, **extra}


def minutes_ago(n: float) -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(minutes=n)
