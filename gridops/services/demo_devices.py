"""Demo devices for the demo county: cameras in the busier townships, patrol units for every
comprehensive team, and API tokens for the demo users, so the simulator (and a person trying the
API) has credentials.

Device keys are shown once and stored hashed, so the issued keys and tokens are written to a
git-ignored credentials file readable only by its owner (var/demo-devices.json by default).
Running again keeps every row (one device per code) and every key still in the file that still
opens its device; only devices without a working key in the file get a new one.
"""

import json
import math
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point, Polygon
from django.db import transaction
from django.db.models import Count
from rest_framework.authtoken.models import Token

from geodata.models import GridCell, Region, Team
from gridops.auth import device_for_key, device_key_issue
from gridops.models import Camera, Device, Unit

CREDENTIALS_PATH = Path(settings.BASE_DIR) / "var" / "demo-devices.json"
CAMERA_VIEW_METRES = 80.0  # depth of the field-of-view sector in front of a camera
CAMERA_VIEW_DEGREES = 60.0  # opening angle of the sector
VEHICLES_PER_TEAM = 2
FOOT_PATROL_TEAMS = 3  # the first comprehensive teams (by code) also get an officer on foot
# The last vehicle of each team has a JT/T 808 terminal number too (gridops/jt808/): the simulator's
# --jt808-vehicles drives such vehicles over TCP through the gateway instead of HTTP.
JT808_PREFIX = "0133"  # 12 digits: 0133 + team number (4) + vehicle number (4)
OPEN311_USERNAME = "open311"  # the 12345 hotline's integration account (Open311 api_key)
_M_PER_DEG_LAT = 111_200.0
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass
class DemoCredentials:
    """What the simulator needs; written to the credentials file as JSON."""

    cameras: list[dict] = field(default_factory=list)
    units: list[dict] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    issued: int = 0  # keys issued in this run (0 when every key in the file still worked)


def _offset(lon: float, lat: float, metres: float, bearing_deg: float) -> tuple[float, float]:
    """A point `metres` away on a bearing (0 = north, clockwise); flat-earth is plenty at 100 m."""
    rad = math.radians(bearing_deg)
    dlat = metres * math.cos(rad) / _M_PER_DEG_LAT
    dlon = metres * math.sin(rad) / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def field_of_view(lon: float, lat: float, heading: float) -> Polygon:
    """A small sector (as a polygon) in front of the camera."""
    half = CAMERA_VIEW_DEGREES / 2
    arc = [_offset(lon, lat, CAMERA_VIEW_METRES, heading + a) for a in (-half, -half / 2, 0, half / 2, half)]
    return Polygon([(lon, lat), *arc, (lon, lat)], srid=settings.SRID)


def _ensure_key(device: Device, known_keys: dict[str, str], issued: list[int]) -> str:
    key = known_keys.get(device.code)
    if key:
        found = device_for_key(key)
        if found is not None and found.pk == device.pk:
            return key
    issued.append(1)
    return device_key_issue(device=device)


def _busier_township_cells(rng: random.Random, count: int) -> list[GridCell]:
    """`count` cells spread over the townships with the most cells (the towns), more per busier one."""
    townships = list(
        Region.objects.filter(level__in=Region.TOWNSHIP_LEVELS)
        .annotate(n=Count("township_cells"))
        .filter(n__gt=0)
        .order_by("-n", "code")[:8]
    )
    if not townships:
        return []
    total = sum(t.n for t in townships)
    chosen: list[GridCell] = []
    for i, township in enumerate(townships):
        share = count - len(chosen) if i == len(townships) - 1 else round(count * township.n / total)
        cells = list(
            GridCell.objects.filter(township=township).order_by("code").only("id", "code", "name", "geom")
        )
        rng.shuffle(cells)
        for j in range(max(0, share)):
            chosen.append(cells[j % len(cells)])
    return chosen[:count]


def _camera_rows(rng: random.Random, count: int, known_keys: dict[str, str], issued: list[int]) -> list[dict]:
    rows = []
    for n, cell in enumerate(_busier_township_cells(rng, count), start=1):
        centre = cell.geom.point_on_surface
        # Spread cameras sharing a cell a little apart (a few metres per repeat).
        lon, lat = (
            _offset(centre.x, centre.y, 15.0 * (n % 3), rng.uniform(0, 360))
            if n > 1
            else (centre.x, centre.y)
        )
        heading = float(rng.randrange(0, 360))
        code = f"cam-{n:03d}"
        name = f"{cell.name}{n}号监控"
        device, _ = Device.objects.update_or_create(
            code=code, defaults={"name": name, "kind": Device.Kind.CAMERA}
        )
        township = Region.objects.filter(township_cells=cell).only("id", "code").first()
        Camera.objects.update_or_create(
            device=device,
            defaults={
                "name": name,
                "location": Point(lon, lat, srid=settings.SRID),
                "heading": heading,
                "field_of_view": field_of_view(lon, lat, heading),
                "township": township,
            },
        )
        rows.append(
            {
                "code": code,
                "name": name,
                "key": _ensure_key(device, known_keys, issued),
                "lon": round(lon, 6),
                "lat": round(lat, 6),
                "heading": heading,
                "township": township.code if township else None,
            }
        )
    return rows


def _plate(rng: random.Random) -> str:
    return "浙B" + rng.choice(_PLATE_LETTERS) + "".join(rng.choice("0123456789") for _ in range(4))


def _unit_rows(rng: random.Random, known_keys: dict[str, str], issued: list[int]) -> list[dict]:
    rows = []
    teams = list(Team.objects.filter(kind=Team.Kind.COMPREHENSIVE).order_by("code"))
    for t, team in enumerate(teams):
        short = team.name.replace("象山县综合行政执法队", "")
        plan = [
            (f"{team.code}-car-{i}", f"{short}巡查车{i}号", Unit.Kind.VEHICLE, Device.Kind.TRACKER)
            for i in range(1, VEHICLES_PER_TEAM + 1)
        ]
        if t < FOOT_PATROL_TEAMS:
            plan.append((f"{team.code}-foot-1", f"{short}步巡执法组", Unit.Kind.OFFICER, Device.Kind.PHONE))
        for code, name, kind, device_kind in plan:
            device, _ = Device.objects.update_or_create(
                code=f"dev-{code}", defaults={"name": f"{name}定位终端", "kind": device_kind}
            )
            terminal = _jt808_terminal(t, code)
            if terminal and device.jt808_terminal != terminal:
                device.jt808_terminal = terminal
                device.save(update_fields=["jt808_terminal"])
            unit, created = Unit.objects.get_or_create(
                code=code, defaults={"name": name, "kind": kind, "team": team, "device": device}
            )
            if not created and (unit.team_id != team.pk or unit.device_id != device.pk or unit.name != name):
                unit.team, unit.device, unit.name, unit.kind = team, device, name, kind
                unit.save(update_fields=["team", "device", "name", "kind"])
            if kind == Unit.Kind.VEHICLE and not unit.plate:
                unit.plate = _plate(rng)
                unit.save(update_fields=["plate"])
            rows.append(
                {
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "team": team.code,
                    "device": device.code,
                    "device_kind": device_kind,
                    "key": _ensure_key(device, known_keys, issued),
                    "jt808_terminal": terminal,
                }
            )
    return rows


def _jt808_terminal(team_index: int, unit_code: str) -> str | None:
    """The JT/T 808 terminal number of a demo unit: the last vehicle of each team has one."""
    if not unit_code.endswith(f"-car-{VEHICLES_PER_TEAM}"):
        return None
    return f"{JT808_PREFIX}{team_index + 1:04d}{VEHICLES_PER_TEAM:04d}"


def _tokens() -> dict[str, str]:
    from geodata.demo.load import DEMO_USERS  # the demo roster; imported here to keep start-up light

    User = get_user_model()
    group, _ = Group.objects.get_or_create(name="open311")
    hotline, created = User.objects.get_or_create(
        username=OPEN311_USERNAME, defaults={"first_name": "12345 热线对接"}
    )
    if created:
        hotline.set_unusable_password()
        hotline.save()
    hotline.groups.add(group)
    usernames = [u for u, _role, _name in DEMO_USERS] + [OPEN311_USERNAME]
    tokens = {}
    for user in User.objects.filter(username__in=usernames).order_by("username"):
        token, _ = Token.objects.get_or_create(user=user)
        tokens[user.username] = token.key
    return tokens


@transaction.atomic
def demo_devices_ensure(
    *, known_keys: dict[str, str] | None = None, cameras: int = 40, seed: int = 330225
) -> DemoCredentials:
    """Create (or bring up to date) the demo cameras, units and tokens; returns the credentials.

    `known_keys` maps device code → key from a previous run; a key that still opens its device
    is kept, any other device gets a new key.
    """
    rng = random.Random(seed)
    issued: list[int] = []
    known = dict(known_keys or {})
    camera_rows = _camera_rows(rng, cameras, known, issued)
    unit_rows = _unit_rows(rng, known, issued)
    return DemoCredentials(cameras=camera_rows, units=unit_rows, tokens=_tokens(), issued=len(issued))


def demo_credentials_read(*, path: Path = CREDENTIALS_PATH) -> dict:
    """The credentials file as a dict ({} when missing or unreadable)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def demo_known_keys(credentials: dict) -> dict[str, str]:
    keys = {c["code"]: c["key"] for c in credentials.get("cameras", []) if c.get("key")}
    keys.update({u["device"]: u["key"] for u in credentials.get("units", []) if u.get("key")})
    return keys


def demo_credentials_write(*, credentials: DemoCredentials, path: Path = CREDENTIALS_PATH) -> None:
    """Write the file atomically, readable and writable by its owner only (0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        body = asdict(credentials)
        body.pop("issued")
        json.dump(body, fh, ensure_ascii=False, indent=1)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
