"""The live simulator: a county's worth of traffic driven through the platform's public HTTP API only.

    plan (GET /api/v1/teams/, /cells/, /matters/ + the credentials file)
      ├─ grid workers ── POST /api/v1/reports/        Token auth, client_uuid, some retries (replays)
      ├─ cameras ─────── POST /api/v1/camera-alerts/  Device key, repeats of one type (merged)
      ├─ patrol units ── POST /api/v1/pings/          Device key, a fix every 5 s in batches of 3,
      │                                               some duplicates / out-of-order, some strays
      └─ the desk ────── POST /api/v1/reports/{id}/transition/   Tokens of the demo dispatcher,
                                                      officer and supervisor: cases round the loop

It never touches the ORM (it could run on another machine): it reads the credentials file written
by `gridops_demo_devices` and talks HTTP/1.1 with keep-alive, one connection per actor thread.
The server may not be up yet (it starts beside the server in `make demo`): planning retries with
backoff, and every request error is counted and logged, never raised.

Time: `speedup` compresses the traffic (report and alert rates, ping interval, distance driven per
fix) but fix timestamps stay real, because the server refuses fixes from the future. A straying
unit stays out for STRAY_SECONDS of real time, longer than the server's geofence dwell (300 s by
default), so out-of-zone alerts happen whatever the speedup.

The desk moves cases round the closed loop (docs/CASES.md) as the people who would: the dispatcher
registers (a few not), dispatches to a unit of the case's team, escalates some market cases to the
county team and reports in for it after a while, and closes; the officer accepts, starts and
handles (a note and an after-photo, multipart) the cases of their own team, now and then asking
for more time; the supervisor verifies on the spot (some fail: 返工) and rules on extensions. What
a person may do is read from the detail's `case.allowed_actions` as that person, never re-derived
here; the officer's team is learnt the same way (an officer of the team may accept a dispatched
case). Cases of the other teams stop at `dispatched`, as they would with nobody there to accept.
"""

import heapq
import http.client
import io
import json
import logging
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

logger = logging.getLogger("gridops.simulate")

PING_INTERVAL_SECONDS = 5.0
PING_BATCH = 3
VEHICLE_KMH = 30.0
FOOT_KMH = 5.0
STRAY_SECONDS = 420.0  # real seconds outside the zone: more than the 300 s geofence dwell
NEARBY_TARGETS = 12  # a patrol picks its next stop among this many nearby cell centres of its zone
STRAY_EVERY_SECONDS = 600.0  # on average one unit strays this often (simulated time)
JT808_BLIND_EVERY_SECONDS = 300.0  # a JT/T 808 vehicle loses coverage this often (simulated time) …
JT808_BLIND_SECONDS = 60.0  # … for this long; its fixes then arrive as one 0x0704 batch
RETRY_SHARE = 0.05  # reports re-sent with the same client_uuid, as a phone that lost the answer
DUPLICATE_FIX_SHARE = 0.08
OUT_OF_ORDER_SHARE = 0.08
CAMERA_SHARE = 0.5  # camera alerts per grid-worker report
CAMERA_REPEAT_SHARE = 0.6  # a camera repeats its last alert type (the server merges these)
TOTALS_EVERY_SECONDS = 10.0
FALLBACK_ALERT_TYPES = ("street_vending", "illegal_parking", "exposed_rubbish")

DESK_RATE = 1.0  # case steps per second, county-wide (before speedup): about what keeps up with rate
DESK_USERS = {"dispatcher": "dispatcher", "officer": "officer", "supervisor": "supervisor"}  # role → user
DESK_PAGE = 10  # cases listed per look at a queue (the newest)
DESK_TRIES = 3  # cases of one queue looked at in detail before trying the next queue
NOT_REGISTER_SHARE = 0.05
ESCALATE_SHARE = 0.3  # of registered cases of these domains (market: food, licences, prices) …
ESCALATE_DOMAINS = ("market",)  # … when the county has a professional team for the domain
REPORT_IN_AFTER_SECONDS = 600.0  # simulated time before the dispatcher reports in for the county team
EXTENSION_SHARE = 0.05  # the officer asks for more time instead of the next step
EXTENSION_REFUSE_SHARE = 0.2
VERIFY_FAIL_SHARE = 0.1  # 返工
ON_SITE_METRES = 30.0  # how far from the case the officer arrives and the supervisor verifies
UNITS_TTL_SECONDS = 300.0  # a team's units are listed again after this long (real time)

NOT_REGISTER_NOTES = (
    "经核实，问题已自行整改完毕，不予立案。",
    "重复上报，已并入在办案件。",
    "不属于综合行政执法职责范围，已告知上报人。",
)
ESCALATE_NOTES = (
    "涉及食品经营许可，超出乡镇执法权限，提请县级主管部门处理。",
    "当事人多次违法且涉案金额较大，提请县级专业队伍办理。",
)
HANDLE_NOTES = (
    "已责令当事人立即改正，现场已恢复原状。",
    "已劝离占道摊贩，现场清理完毕。",
    "已当场纠正并开展法治宣传，当事人签字确认。",
    "已调查取证并下达责令改正通知书，当事人已整改到位。",
)
REWORK_NOTES = ("复查发现现场仍有问题，请返工处置。", "整改不到位，请重新处置并补充处置后照片。")
EXTENSION_NOTES = ("当事人需时间整改，申请延期。", "需会同相关部门现场核查，申请延期。")
REFUSE_EXTENSION_NOTES = ("事实清楚，请在原期限内办结。",)

DESCRIPTIONS = (
    "{place}附近发现{matter}，请尽快处置。",
    "巡查中发现{place}存在{matter}问题，现场已拍照取证。",
    "群众反映{place}一带{matter}情况较为突出。",
    "{place}{matter}，经现场劝导仍未改正。",
    "{place}再次出现{matter}，建议纳入重点巡查。",
)


@dataclass
class SimConfig:
    base_url: str = "http://127.0.0.1:8000"
    credentials: Path = Path("var/demo-devices.json")
    rate: float = 0.33  # grid-worker reports per second, county-wide (before speedup)
    duration: float = 0.0  # seconds; 0 = until stopped
    speedup: float = 1.0
    seed: int | None = None
    totals_every: float = TOTALS_EVERY_SECONDS
    start_timeout: float = 0.0  # give up planning after this long; 0 = keep trying
    alert_types: tuple[str, ...] = FALLBACK_ALERT_TYPES
    desk_rate: float = DESK_RATE  # case steps per second (before speedup); 0 = cases stay as reported
    jt808_vehicles: int = 0  # vehicles driven as JT/T 808 terminals over TCP (0 = all over HTTP)
    jt808_address: str = "127.0.0.1:6808"  # the gateway (manage.py gridops_jt808)


class Totals:
    """Counters shared by the actor threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add(self, **deltas: int) -> None:
        with self._lock:
            self.counts.update(deltas)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


def totals_line(c: dict[str, int], elapsed: float) -> str:
    g = c.get
    return (
        f"[sim {elapsed:6.0f}s] reports {g('reports_created', 0)} new, {g('reports_replayed', 0)} replayed, "
        f"{g('reports_failed', 0)} failed | camera alerts {g('alerts_new', 0)} new, "
        f"{g('alerts_merged', 0)} merged, {g('alerts_failed', 0)} failed | pings {g('pings_accepted', 0)} "
        f"accepted, {g('pings_duplicate', 0)} duplicate, {g('pings_rejected', 0)} rejected, "
        f"{g('pings_failed', 0)} failed batches | strays {g('strays', 0)} | cases {g('case_steps', 0)} "
        f"steps ({g('cases_closed', 0)} closed), {g('case_refused', 0)} refused, {g('case_failed', 0)} "
        f"failed | connection errors {g('connection_errors', 0)}"
        + (
            f" | jt808 fixes {g('jt808_fixes_ok', 0)} ok, {g('jt808_fixes_refused', 0)} refused, "
            f"{g('jt808_batches', 0)} 0x0704 batches, {g('jt808_errors', 0)} errors"
            if any(k.startswith("jt808_") for k in c)
            else ""
        )
    )


class Client:
    """One keep-alive HTTP connection; reconnects on any transport error."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.https = parts.scheme == "https"
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def request(
        self, method: str, path: str, body=None, headers: dict | None = None, *, files: list | None = None
    ) -> tuple[int, object]:
        """(status, parsed JSON or None). Raises OSError / http.client errors on transport failure.

        With `files` ([(field, filename, bytes, content type)]) the body's fields and the files go
        as multipart/form-data, otherwise the body as JSON."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        if files:
            data, hdrs["Content-Type"] = _multipart(body or {}, files)
        else:
            data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
            if data is not None:
                hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):  # a keep-alive connection the server closed fails once: reconnect
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return resp.status, parsed
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _multipart(fields: dict, files: list) -> tuple[bytes, str]:
    """A multipart/form-data body (UTF-8 fields, then the files) and its content type."""
    boundary = f"sim-{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(head.encode() + str(value).encode() + b"\r\n")
    for name, filename, content, content_type in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def after_photo_jpeg(rng: random.Random) -> bytes:
    """A small real JPEG (a street scene it is not: a kerb, a wall and a sky in flat colours)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 120), (150 + rng.randrange(60), 180 + rng.randrange(60), 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 70, 160, 120), fill=(90 + rng.randrange(40), 90, 95))
    draw.rectangle((20 + rng.randrange(60), 30, 110 + rng.randrange(30), 75), fill=(200, 190, 170))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[0] - a[0]) * 111_200 * math.cos(math.radians(a[1]))
    dy = (b[1] - a[1]) * 111_200
    return math.hypot(dx, dy)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[0] - a[0]) * math.cos(math.radians(a[1]))
    dy = b[1] - a[1]
    return math.degrees(math.atan2(dx, dy)) % 360


# --- Planning (GET only) -----------------------------------------------------------------------------


@dataclass
class Plan:
    cells_by_township: dict[str, list[tuple[str, str, float, float]]]  # code → [(cell code, name, lon, lat)]
    townships_by_team: dict[str, list[str]]
    matters: list[tuple[str, str]]  # township-handled (code, name)


def _results(body) -> list:
    if isinstance(body, dict):
        return body.get("features") or body.get("results") or []
    return body or []


def _centre(geometry: dict) -> tuple[float, float] | None:
    """A point inside the cell: shapely's point_on_surface of the (possibly simplified) polygon."""
    import shapely.geometry

    try:
        p = shapely.geometry.shape(geometry).point_on_surface()
    except Exception:
        return None
    return (round(p.x, 6), round(p.y, 6)) if not p.is_empty else None


def fetch_plan(client: Client) -> Plan:
    status, teams = client.request("GET", "/api/v1/teams/?kind=comprehensive&page_size=500")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/teams/ answered {status}")
    townships_by_team: dict[str, list[str]] = {}
    for feature in _results(teams):
        props = feature.get("properties", feature)
        townships_by_team[props["code"]] = [t["code"] for t in props.get("townships") or []]
    cells_by_township: dict[str, list[tuple[str, str, float, float]]] = {}
    for code in sorted({t for ts in townships_by_team.values() for t in ts}):
        query = urlencode({"township": code, "zoom": 13, "page_size": 5000})
        status, cells = client.request("GET", f"/api/v1/cells/?{query}")
        if status != 200:
            raise RuntimeError(f"GET /api/v1/cells/ answered {status}")
        rows = []
        for feature in _results(cells):
            centre = _centre(feature.get("geometry") or {})
            if centre:
                props = feature.get("properties", {})
                rows.append((props.get("code", ""), props.get("name", ""), *centre))
        cells_by_township[code] = rows
    status, matters = client.request("GET", "/api/v1/matters/?handled_by=township&active=true&page_size=1000")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/matters/ answered {status}")
    chosen = [(m["code"], m["name"]) for m in _results(matters) if m.get("handled_by") == "township"]
    return Plan(cells_by_township, townships_by_team, chosen)


# --- Actors --------------------------------------------------------------------------------------------


class Actor(threading.Thread):
    """A thread running one kind of traffic on its own connection; never dies of a request error."""

    def __init__(self, sim: "Simulator", name: str) -> None:
        super().__init__(name=f"sim-{name}", daemon=True)
        self.sim = sim
        self.client = Client(sim.config.base_url)
        self.rng = random.Random(sim.rng.random())
        self._backoff = 0.0

    def post(self, path: str, body, headers: dict, *, files: list | None = None) -> tuple[int, object] | None:
        return self.call("POST", path, body, headers, files=files)

    def get(self, path: str, headers: dict) -> tuple[int, object] | None:
        return self.call("GET", path, None, headers)

    def call(
        self, method: str, path: str, body, headers: dict, *, files: list | None = None
    ) -> tuple[int, object] | None:
        """(status, answer), or None after a transport error (counted, logged, backed off)."""
        try:
            status, answer = self.client.request(method, path, body, headers, files=files)
        except (OSError, http.client.HTTPException) as exc:
            self.sim.totals.add(connection_errors=1)
            self._backoff = min(10.0, max(0.5, self._backoff * 2))
            logger.warning(
                "%s: %s %s failed (%r); backing off %.1f s", self.name, method, path, exc, self._backoff
            )
            self.sim.stop.wait(self._backoff)
            return None
        self._backoff = 0.0
        if status >= 400:
            logger.info("%s: %s %s → %s %s", self.name, method, path, status, str(answer)[:300])
        return status, answer

    def run(self) -> None:
        while not self.sim.stop.is_set():
            try:
                delay = self.step()
            except Exception:  # a bug in one step must not stop the simulation
                logger.exception("%s: step failed", self.name)
                delay = 1.0
            self.sim.stop.wait(max(0.0, delay))
        self.client.close()

    def step(self) -> float:
        raise NotImplementedError


class Reporter(Actor):
    """Grid workers: Poisson arrivals of reports at plausible places, some retried."""

    def __init__(self, sim: "Simulator", token: str) -> None:
        super().__init__(sim, "reports")
        self.headers = {"Authorization": f"Token {token}"}
        townships = [t for t, cells in sim.plan.cells_by_township.items() if cells]
        self.cells = [c for t in townships for c in sim.plan.cells_by_township[t]]

    def step(self) -> float:
        rate = self.sim.config.rate * self.sim.config.speedup
        if not self.cells or not self.sim.plan.matters or rate <= 0:
            return 5.0
        code, name, lon, lat = self.rng.choice(self.cells)
        matter_code, matter_name = self.rng.choice(self.sim.plan.matters)
        place = name or code
        body = {
            "lon": lon,
            "lat": lat,
            "crs": "wgs84",
            "matter": matter_code,
            "description": self.rng.choice(DESCRIPTIONS).format(place=place, matter=matter_name),
            "client_uuid": str(uuid.uuid4()),
            "priority": 1 if self.rng.random() < 0.1 else 0,
            "accuracy": round(self.rng.uniform(3, 25), 1),
        }
        for attempt in range(2 if self.rng.random() < RETRY_SHARE else 1):
            answer = self.post("/api/v1/reports/", body, self.headers)
            if answer is None:
                break
            status = answer[0]
            if status == 201:
                self.sim.totals.add(reports_created=1)
            elif status == 200:
                self.sim.totals.add(reports_replayed=1)
            else:
                self.sim.totals.add(reports_failed=1)
                break
            if attempt == 0 and status == 201:
                continue
        return self.rng.expovariate(rate)


class Cameras(Actor):
    """Cameras raising alerts; a camera often repeats its last type, which the server merges."""

    def __init__(self, sim: "Simulator", cameras: list[dict]) -> None:
        super().__init__(sim, "cameras")
        self.cameras = [c for c in cameras if c.get("key")]
        self.last_type: dict[str, str] = {}

    def step(self) -> float:
        rate = self.sim.config.rate * CAMERA_SHARE * self.sim.config.speedup
        if not self.cameras or rate <= 0:
            return 5.0
        camera = self.rng.choice(self.cameras)
        last = self.last_type.get(camera["code"])
        if last and self.rng.random() < CAMERA_REPEAT_SHARE:
            alert_type = last
        else:
            alert_type = self.rng.choice(self.sim.config.alert_types)
        self.last_type[camera["code"]] = alert_type
        body = {"alert_type": alert_type, "observed_at": _now_iso(), "event_id": uuid.uuid4().hex}
        answer = self.post("/api/v1/camera-alerts/", body, {"Authorization": f"Device {camera['key']}"})
        if answer is not None:
            status = answer[0]
            if status == 201:
                self.sim.totals.add(alerts_new=1)
            elif status == 200:
                self.sim.totals.add(alerts_merged=1)
            else:
                self.sim.totals.add(alerts_failed=1)
        return self.rng.expovariate(rate)


@dataclass
class Vehicle:
    code: str
    key: str
    team: str
    speed_kmh: float
    position: tuple[float, float]
    target: tuple[float, float]
    home: list[tuple[float, float]]
    pending: list[dict] = field(default_factory=list)
    sent_last: dict | None = None
    stray_until: float = 0.0  # monotonic time when a stray ends (0 = not straying)


class Patrols(Actor):
    """Patrol units driving between cell centres of their team's zone, pinging every 5 s."""

    def __init__(self, sim: "Simulator", units: list[dict]) -> None:
        super().__init__(sim, "patrols")
        plan = sim.plan
        self.vehicles: list[Vehicle] = []
        self.queue: list[tuple[float, int]] = []
        for u in units:
            home = [
                (lon, lat)
                for t in plan.townships_by_team.get(u["team"], [])
                for *_, lon, lat in plan.cells_by_township.get(t, [])
            ]
            if not home or not u.get("key"):
                continue
            start = self.rng.choice(home)
            speed = FOOT_KMH if u.get("kind") == "officer" else VEHICLE_KMH
            self.vehicles.append(Vehicle(u["code"], u["key"], u["team"], speed, start, start, home))
            # Spread the first fixes over one interval so batches do not arrive all at once.
            heapq.heappush(
                self.queue, (time.monotonic() + self.rng.uniform(0, self._interval()), len(self.vehicles) - 1)
            )
        self.outside: dict[str, list[tuple[float, float]]] = {
            v.team: [
                (lon, lat)
                for t, cells in plan.cells_by_township.items()
                if t not in set(plan.townships_by_team.get(v.team, []))
                for *_, lon, lat in cells
            ]
            for v in self.vehicles
        }
        self.next_stray = time.monotonic() + self.rng.expovariate(
            1 / (STRAY_EVERY_SECONDS / sim.config.speedup)
        )

    def _interval(self) -> float:
        return PING_INTERVAL_SECONDS / self.sim.config.speedup

    def step(self) -> float:
        if not self.queue:
            return 5.0
        due, index = heapq.heappop(self.queue)
        now = time.monotonic()
        if due > now:
            heapq.heappush(self.queue, (due, index))
            return min(due - now, 0.5)
        vehicle = self.vehicles[index]
        if now >= self.next_stray:
            self._start_stray(vehicle, now)
        self._move(vehicle, now)
        if len(vehicle.pending) >= PING_BATCH:
            self._send(vehicle)
        heapq.heappush(self.queue, (max(due + self._interval(), now), index))
        return 0.0

    def _start_stray(self, vehicle: Vehicle, now: float) -> None:
        self.next_stray = now + self.rng.expovariate(1 / (STRAY_EVERY_SECONDS / self.sim.config.speedup))
        outside = self.outside.get(vehicle.team) or []
        if not outside or vehicle.stray_until:
            return
        # The nearest cell centre outside the team's zone: a wrong turn, not a trip across the county.
        vehicle.target = min(outside, key=lambda p: _distance_m(vehicle.position, p))
        vehicle.stray_until = -1.0  # set once it arrives outside
        self.sim.totals.add(strays=1)
        logger.info("%s strays towards %s", vehicle.code, vehicle.target)

    def _next_target(self, vehicle: Vehicle) -> tuple[float, float]:
        """One of the nearby cell centres of the team's zone (not the nearest few, so it keeps
        moving): patrols work their area street by street instead of crossing the county — or the
        sea between the islands of a zone — in a straight line."""
        by_distance = sorted(vehicle.home, key=lambda p: _distance_m(vehicle.position, p))
        nearby = [p for p in by_distance if _distance_m(vehicle.position, p) > 300][:NEARBY_TARGETS]
        return self.rng.choice(nearby or vehicle.home)

    def _move(self, vehicle: Vehicle, now: float) -> None:
        step_m = vehicle.speed_kmh / 3.6 * PING_INTERVAL_SECONDS
        remaining = _distance_m(vehicle.position, vehicle.target)
        heading = _bearing(vehicle.position, vehicle.target) if remaining > 0 else 0.0
        if remaining <= step_m:
            vehicle.position = vehicle.target
            if vehicle.stray_until == -1.0:
                vehicle.stray_until = now + STRAY_SECONDS  # real seconds: the geofence dwell is real
            if vehicle.stray_until and now < vehicle.stray_until:
                # Linger around the outside point until the stray is over.
                lon, lat = vehicle.position
                vehicle.target = (
                    lon + self.rng.uniform(-0.002, 0.002),
                    lat + self.rng.uniform(-0.002, 0.002),
                )
            else:
                vehicle.stray_until = 0.0
                vehicle.target = self._next_target(vehicle)
        else:
            f = step_m / remaining
            lon0, lat0 = vehicle.position
            vehicle.position = (lon0 + (vehicle.target[0] - lon0) * f, lat0 + (vehicle.target[1] - lat0) * f)
        jitter = self.rng.uniform(0.8, 1.1)
        vehicle.pending.append(
            {
                "t": _now_iso(),
                "lon": round(vehicle.position[0], 6),
                "lat": round(vehicle.position[1], 6),
                "speed": round(vehicle.speed_kmh * jitter, 1),
                "heading": round(heading, 1),
                "accuracy": round(self.rng.uniform(3, 15), 1),
            }
        )

    def _send(self, vehicle: Vehicle) -> None:
        items = list(vehicle.pending)
        if vehicle.sent_last is not None and self.rng.random() < DUPLICATE_FIX_SHARE:
            items.insert(0, vehicle.sent_last)  # a terminal resending a fix it was unsure about
        if len(items) >= 2 and self.rng.random() < OUT_OF_ORDER_SHARE:
            items[-1], items[-2] = items[-2], items[-1]  # a buffered fix arriving late
        answer = self.post("/api/v1/pings/", {"items": items}, {"Authorization": f"Device {vehicle.key}"})
        if answer is None:
            if len(vehicle.pending) > 60:  # server down for long: keep the newest few minutes
                vehicle.pending = vehicle.pending[-60:]
            return
        status, body = answer
        if status == 200 and isinstance(body, dict):
            self.sim.totals.add(
                pings_accepted=int(body.get("accepted", 0)),
                pings_duplicate=int(body.get("duplicate", 0)),
                pings_rejected=int(body.get("rejected", 0)),
            )
        else:
            self.sim.totals.add(pings_failed=1)
        vehicle.sent_last = vehicle.pending[-1]
        vehicle.pending = []


class Jt808Patrols(Patrols):
    """Vehicles with a JT/T 808 terminal (their device has a terminal number): the same driving as
    Patrols, but each fix goes to the gateway over TCP as a 0x0200 location report, after 0x0100
    registration and 0x0102 authentication. Now and then a vehicle loses coverage for a while: its
    fixes are kept and sent as one 0x0704 batch (盲区补报) when it is back."""

    def __init__(self, sim: "Simulator", units: list[dict]) -> None:
        super().__init__(sim, units)
        self.name = "sim-jt808"
        host, _, port = sim.config.jt808_address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port or 6808))
        self.numbers = {u["code"]: u["jt808_terminal"] for u in units}
        self.terminals: dict = {}  # unit code → connected, authenticated Terminal
        self.blind_until: dict[str, float] = {}
        self.next_blind = time.monotonic() + self.rng.expovariate(
            1 / (JT808_BLIND_EVERY_SECONDS / sim.config.speedup)
        )

    def _move(self, vehicle: Vehicle, now: float) -> None:
        super()._move(vehicle, now)
        if now >= self.next_blind:
            self.next_blind = now + self.rng.expovariate(
                1 / (JT808_BLIND_EVERY_SECONDS / self.sim.config.speedup)
            )
            self.blind_until[vehicle.code] = now + JT808_BLIND_SECONDS / self.sim.config.speedup
            logger.info("%s loses coverage", vehicle.code)
        if now < self.blind_until.get(vehicle.code, 0.0):
            return  # no coverage: the terminal keeps its fixes
        self._transmit(vehicle)

    def _send(self, vehicle: Vehicle) -> None:
        """HTTP batches are not for these vehicles (Patrols.step calls this at PING_BATCH fixes)."""

    def _terminal(self, vehicle: Vehicle):
        from gridops.jt808 import protocol as p
        from gridops.jt808.terminal import Terminal

        term = self.terminals.get(vehicle.code)
        if term is not None:
            return term
        term = Terminal(*self.address, self.numbers[vehicle.code]).connect()
        result, _code = term.register(plate=vehicle.code)
        if result != p.REGISTER_OK or term.authenticate() != p.RESULT_OK:
            term.close()
            raise ConnectionRefusedError(
                f"terminal {self.numbers[vehicle.code]} refused (0x8100 result {result})"
            )
        self.terminals[vehicle.code] = term
        return term

    def _transmit(self, vehicle: Vehicle) -> None:
        from gridops.jt808 import protocol as p
        from gridops.jt808.terminal import TerminalError

        if not vehicle.pending:
            return
        fixes = [
            p.Location(
                alarm=0,
                status=p.STATUS_ACC | p.STATUS_POSITIONED,
                lat=item["lat"],
                lon=item["lon"],
                altitude=5,
                speed=item["speed"],
                direction=round(item["heading"]) % 360,
                at=datetime.fromisoformat(item["t"]),
                extras={p.EXTRA_SATELLITES: bytes([self.rng.randint(6, 14)])},
            )
            for item in vehicle.pending
        ]
        try:
            term = self._terminal(vehicle)
            if len(fixes) == 1:
                result = term.location(fixes[0])
            else:
                result = term.batch(fixes)
                self.sim.totals.add(jt808_batches=1)
        except (OSError, TerminalError) as exc:
            self.sim.totals.add(jt808_errors=1)
            logger.warning("%s: JT/T 808 gateway at %s:%s: %r", vehicle.code, *self.address, exc)
            broken = self.terminals.pop(vehicle.code, None)
            if broken is not None:
                broken.close()
            vehicle.pending = vehicle.pending[-60:]  # keep the newest few minutes for the next try
            return
        if result == p.RESULT_OK:
            self.sim.totals.add(jt808_fixes_ok=len(fixes))
        else:
            self.sim.totals.add(jt808_fixes_refused=len(fixes))
            if result == p.RESULT_FAILURE:  # e.g. the gateway restarted: sign in again next time
                self.terminals.pop(vehicle.code).close()
        vehicle.pending = []

    def run(self) -> None:
        try:
            super().run()
        finally:
            for term in self.terminals.values():
                term.close()


@dataclass(frozen=True)
class Duty:
    """One queue of the desk: the cases in these states (looked at in this order), worked by one role."""

    name: str
    role: str  # a key of DESK_USERS
    statuses: tuple[str, ...]
    weight: float  # how often this queue is looked at first


DUTIES = (
    Duty("register", "dispatcher", ("new",), 3.0),
    Duty("dispatch", "dispatcher", ("registered",), 2.0),
    Duty("work", "officer", ("handling", "accepted", "dispatched"), 3.0),
    Duty("verify", "supervisor", ("handled",), 2.0),
    Duty("close", "dispatcher", ("verified",), 2.0),
    Duty("report_in", "dispatcher", ("escalated",), 0.5),
    Duty("extension", "supervisor", (), 0.5),  # the cases seen with a pending extension request
)


@dataclass
class Move:
    """The step the desk takes on a case: the action and what it sends with it."""

    action: str
    fields: dict = field(default_factory=dict)
    files: list = field(default_factory=list)


class Desk(Actor):
    """Dispatcher, officer and supervisor taking cases round the closed loop over the API.

    Every few seconds (desk_rate × speedup) it looks at the queues in a weighted random order, the
    first queue with a case it can act on gets one step: a case from `GET /api/v1/reports/?status=`,
    its detail read as the person who would act (`case.allowed_actions`), then
    `POST /api/v1/reports/{id}/transition/` as that person. A refusal (4xx) is counted and logged;
    the case is simply looked at again later."""

    def __init__(self, sim: "Simulator", tokens: dict[str, str]) -> None:
        super().__init__(sim, "desk")
        self.headers = {
            role: {"Authorization": f"Token {tokens[username]}"}
            for role, username in DESK_USERS.items()
            if tokens.get(username)
        }
        self.duties = [d for d in DUTIES if d.role in self.headers]
        self.pending_extensions: set[int] = set()
        self.units: dict[str, tuple[float, list[str]]] = {}  # team → (listed at, active unit codes)
        self.county_domains: set[str] | None = None  # domains with a county (professional) team
        self.photo = after_photo_jpeg(self.rng)

    # -- pace and queues --

    def step(self) -> float:
        rate = self.sim.config.desk_rate * self.sim.config.speedup
        if rate <= 0 or not self.duties:
            return 5.0
        started = time.monotonic()
        # Weighted order without replacement (Efraimidis–Spirakis keys).
        order = sorted(self.duties, key=lambda d: self.rng.random() ** (1 / d.weight), reverse=True)
        for duty in order:
            if self.sim.stop.is_set() or self.work(duty):
                break
        # The pace counts from the start of the step: the requests it took are part of the wait.
        return self.rng.expovariate(rate) - (time.monotonic() - started)

    def work(self, duty: Duty) -> bool:
        """One step on a case of this queue; False when it has none to act on now."""
        headers = self.headers[duty.role]
        for case_id in self._candidates(duty)[:DESK_TRIES]:
            detail = self._detail(case_id, headers)
            if detail is None:
                continue
            move = self.choose(duty, detail)
            if move is not None:
                self.transition(detail, move, headers)
                return True
        return False

    def _list(self, headers: dict, **params) -> list[dict]:
        query = urlencode({**params, "page_size": DESK_PAGE})
        answer = self.get(f"/api/v1/reports/?{query}", headers)
        if answer is None or answer[0] != 200:
            return []
        return _results(answer[1])

    def _candidates(self, duty: Duty) -> list[int]:
        if duty.name == "extension":
            ids = sorted(self.pending_extensions)
            self.rng.shuffle(ids)
            return ids
        for status in duty.statuses:
            # Listed as the person who would act: the scopes (gridops/scopes.py) leave them only
            # the cases they may see, e.g. the officer's team's (no detail read ends in a 404).
            rows = self._list(self.headers[duty.role], status=status)
            if rows:
                self.rng.shuffle(rows)
                return [r["id"] for r in rows]
        return []

    def _detail(self, case_id: int, headers: dict) -> dict | None:
        answer = self.get(f"/api/v1/reports/{case_id}/", headers)
        if answer is None or answer[0] != 200 or not isinstance(answer[1], dict):
            self.pending_extensions.discard(case_id)
            return None
        detail = answer[1]
        case = detail.get("case") or {}
        if case.get("extension_request"):
            self.pending_extensions.add(case_id)
        else:
            self.pending_extensions.discard(case_id)
        return detail

    # -- what to do --

    def choose(self, duty: Duty, detail: dict) -> Move | None:
        """The step this role takes on the case now, among the ones the server allows it."""
        allowed = {a["action"] for a in (detail.get("case") or {}).get("allowed_actions") or []}
        chance = self.rng.random()
        if duty.name == "register":
            if "not_register" in allowed and chance < NOT_REGISTER_SHARE:
                return Move("not_register", {"note": self.rng.choice(NOT_REGISTER_NOTES)})
            return Move("register") if "register" in allowed else None
        if duty.name == "dispatch":
            if "escalate" in allowed and chance < ESCALATE_SHARE and self._county_handles(detail):
                return Move("escalate", {"note": self.rng.choice(ESCALATE_NOTES)})
            if "dispatch" not in allowed:
                return None
            unit = self._unit_for(_team_code(detail))
            return Move("dispatch", {"unit": unit} if unit else {})
        if duty.name == "work":
            return self._officer_move(detail, allowed, chance)
        if duty.name == "verify":
            if "verify_fail" in allowed and chance < VERIFY_FAIL_SHARE:
                return Move("verify_fail", {"note": self.rng.choice(REWORK_NOTES), **self._on_site(detail)})
            return Move("verify_pass", self._on_site(detail)) if "verify_pass" in allowed else None
        if duty.name == "close":
            return Move("close") if "close" in allowed else None
        if duty.name == "report_in":
            if "report_in" in allowed and self._escalated_long_enough(detail):
                return Move("report_in")
            return None
        if duty.name == "extension":
            if "refuse_extension" in allowed and chance < EXTENSION_REFUSE_SHARE:
                return Move("refuse_extension", {"note": self.rng.choice(REFUSE_EXTENSION_NOTES)})
            return Move("approve_extension") if "approve_extension" in allowed else None
        return None

    def _officer_move(self, detail: dict, allowed: set[str], chance: float) -> Move | None:
        if (
            "request_extension" in allowed
            and chance < EXTENSION_SHARE
            and detail.get("status") != "dispatched"
        ):
            return Move(
                "request_extension",
                {"note": self.rng.choice(EXTENSION_NOTES), "days": self.rng.randint(1, 5)},
            )
        if "handle" in allowed:
            photo = ("photos", "after.jpg", self.photo, "image/jpeg")
            return Move("handle", {"note": self.rng.choice(HANDLE_NOTES)}, [photo])
        if "start" in allowed:
            return Move("start", self._on_site(detail))
        if "accept" in allowed:
            return Move("accept")
        return None

    def _on_site(self, detail: dict) -> dict:
        """A position a few metres from the case, as a phone on the spot would report it."""
        lon, lat = (detail.get("point") or {}).get("coordinates") or (None, None)
        if lon is None:
            return {}
        metres, bearing = self.rng.uniform(0, ON_SITE_METRES), math.radians(self.rng.uniform(0, 360))
        dlat = metres * math.cos(bearing) / 111_200
        dlon = metres * math.sin(bearing) / (111_200 * math.cos(math.radians(lat)))
        return {"lon": round(lon + dlon, 6), "lat": round(lat + dlat, 6), "crs": "wgs84"}

    def _county_handles(self, detail: dict) -> bool:
        """Whether the case's matter is of a domain the desk escalates and the county has a team for."""
        if self.county_domains is None:
            answer = self.get("/api/v1/teams/?kind=professional&page_size=500", self.headers["dispatcher"])
            if answer is None or answer[0] != 200:
                return False
            self.county_domains = {(f.get("properties") or f).get("domain") for f in _results(answer[1])} - {
                None,
                "comprehensive",
            }
        domain = (detail.get("matter") or {}).get("domain")
        return domain in ESCALATE_DOMAINS and domain in self.county_domains

    def _unit_for(self, team: str | None) -> str | None:
        """An active unit of the team (listed at most every few minutes), or None if it has none."""
        if not team:
            return None
        listed = self.units.get(team)
        if listed is None or time.monotonic() - listed[0] > UNITS_TTL_SECONDS:
            answer = self.get(f"/api/v1/units/?{urlencode({'team': team})}", self.headers["dispatcher"])
            if answer is None or answer[0] != 200:
                return None
            codes = [u["code"] for u in _results(answer[1]) if u.get("active", True)]
            listed = self.units[team] = (time.monotonic(), codes)
        return self.rng.choice(listed[1]) if listed[1] else None

    def _escalated_long_enough(self, detail: dict) -> bool:
        events = (detail.get("case") or {}).get("events") or []
        called = [e["at"] for e in events if e.get("action") == "escalate" and e.get("at")]
        if not called:
            return True
        try:
            at = datetime.fromisoformat(called[-1])
        except ValueError:
            return True
        wait = timedelta(seconds=REPORT_IN_AFTER_SECONDS / self.sim.config.speedup)
        return datetime.now(UTC) - at >= wait

    # -- doing it --

    def transition(self, detail: dict, move: Move, headers: dict) -> bool:
        """POST the step; counts it as taken, refused (4xx) or failed. True when taken."""
        path = f"/api/v1/reports/{detail['id']}/transition/"
        answer = self.post(path, {"action": move.action, **move.fields}, headers, files=move.files or None)
        if answer is None:
            return False
        status, body = answer
        number = detail.get("number") or detail["id"]
        if status == 200:
            self.sim.totals.add(case_steps=1, cases_closed=int(move.action == "close"))
            if move.action == "request_extension":
                self.pending_extensions.add(detail["id"])
            elif move.action in ("approve_extension", "refuse_extension"):
                self.pending_extensions.discard(detail["id"])
            logger.debug("desk: %s %s (%s)", move.action, number, detail.get("status"))
            return True
        if 400 <= status < 500:
            self.sim.totals.add(case_refused=1)
            logger.info("desk: %s on %s refused (%s): %s", move.action, number, status, str(body)[:300])
        else:
            self.sim.totals.add(case_failed=1)
            logger.warning("desk: %s on %s failed (%s)", move.action, number, status)
        return False


def _team_code(row: dict) -> str | None:
    return (row.get("team") or {}).get("code")


# --- The simulator ----------------------------------------------------------------------------------


class Simulator:
    def __init__(self, config: SimConfig, *, out: Callable[[str], None] = print) -> None:
        self.config = config
        self.out = out
        self.rng = random.Random(config.seed)
        self.totals = Totals()
        self.stop = threading.Event()
        self.plan: Plan | None = None
        self.actors: list[Actor] = []

    def _credentials(self) -> dict:
        try:
            return json.loads(Path(self.config.credentials).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning(
                "no usable credentials file %s (%r): run gridops_demo_devices", self.config.credentials, exc
            )
            return {}

    def wait_for_plan(self) -> bool:
        """Plan from the API, retrying with backoff while the server is not up. False if stopped."""
        client = Client(self.config.base_url)
        delay, started = 0.5, time.monotonic()
        while not self.stop.is_set():
            try:
                self.plan = fetch_plan(client)
                client.close()
                return True
            except Exception as exc:
                client.close()
                if self.config.start_timeout and time.monotonic() - started > self.config.start_timeout:
                    raise RuntimeError(f"server at {self.config.base_url} not ready: {exc!r}") from exc
                logger.info(
                    "waiting for the server at %s (%r); retrying in %.1f s", self.config.base_url, exc, delay
                )
                self.stop.wait(delay)
                delay = min(delay * 2, 5.0)
        return False

    def start(self) -> bool:
        if not self.wait_for_plan():
            return False
        creds = self._credentials()
        token = (creds.get("tokens") or {}).get("gridworker")
        if token:
            self.actors.append(Reporter(self, token))
        else:
            logger.warning("no gridworker token in the credentials file: no grid-worker reports")
        self.actors.append(Cameras(self, creds.get("cameras") or []))
        units = creds.get("units") or []
        jt808 = [u for u in units if u.get("jt808_terminal")][: self.config.jt808_vehicles]
        patrols = Patrols(self, [u for u in units if u not in jt808])
        self.actors.append(patrols)
        if jt808:
            self.actors.append(Jt808Patrols(self, jt808))
            self.out(f"[sim] {len(jt808)} vehicles over JT/T 808 to {self.config.jt808_address}")
        desk = self._desk(creds.get("tokens") or {})
        plan = self.plan
        self.out(
            f"[sim] {self.config.base_url}: {sum(map(len, plan.cells_by_township.values()))} cells in "
            f"{len(plan.cells_by_township)} townships, {len(plan.matters)} matters, "
            f"{len(creds.get('cameras') or [])} cameras, {len(patrols.vehicles)} patrol units, "
            f"desk as {', '.join(desk.headers) if desk else 'nobody'}; rate {self.config.rate}/s, "
            f"desk {self.config.desk_rate} steps/s × speedup {self.config.speedup}"
        )
        for actor in self.actors:
            actor.start()
        return True

    def _desk(self, tokens: dict[str, str]) -> Desk | None:
        if self.config.desk_rate <= 0:
            return None
        missing = [u for u in DESK_USERS.values() if not tokens.get(u)]
        if missing:
            logger.warning("no token for %s in the credentials file: the desk skips their steps", missing)
        desk = Desk(self, tokens)
        if not desk.duties:
            return None
        self.actors.append(desk)
        return desk

    def run(self) -> dict[str, int]:
        """Run until the duration is over (or forever), printing totals; returns the totals."""
        started = time.monotonic()
        if not self.start():
            return self.totals.snapshot()
        end = started + self.config.duration if self.config.duration else math.inf
        next_line = time.monotonic() + self.config.totals_every
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                if now >= end:
                    break
                if now >= next_line:
                    self.out(totals_line(self.totals.snapshot(), now - started))
                    next_line += self.config.totals_every
                self.stop.wait(min(next_line, end) - now)
        finally:
            self.stop.set()
            for actor in self.actors:
                actor.join(timeout=15)
        totals = self.totals.snapshot()
        self.out(totals_line(totals, time.monotonic() - started))
        return totals
