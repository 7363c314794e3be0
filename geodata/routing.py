"""The routing engine: point (+ matter) → grid cell → village → township → zone → responsible team,
with the reasons, as a dispatcher would read them.

Rules
  * A point is in a cell when the cell *covers* it (boundary included). A point on an edge or a
    vertex shared by several cells gets exactly one: the cell with the lowest code (fixed,
    explainable tie-break). Cells not valid on the day asked are ignored.
  * The matter decides the domain: a township-handled matter (and no matter at all) goes to the
    comprehensive team whose zone holds the cell; a county-handled matter to the team of that
    department domain whose zone (jurisdiction) holds the cell.
  * Zones come from the published coverage version in force at the time asked (latest
    effective_from not after it); the version is part of the answer.
  * No cell, no coverage, or no zone for the domain → routed=False with a triage queue, never a
    silent assignment.

Speed: lookups run against an in-memory index per process (shapely STRtree over the cells sorted
by code, plus per-version arrays cell → zone for each domain). Measured in bench/routing.py: a
single lookup costs tens of microseconds against ~0.3–0.5 ms for one PostGIS round trip. The index
is rebuilt when the geodata revision (bumped by every write) changes; each process checks the
revision at most every settings.ROUTING_INDEX_CHECK_SECONDS.
"""

import contextvars
import ctypes
import gc
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import shapely
from django.conf import settings
from django.db import connection
from django.utils import timezone, translation

from geodata.errors import FieldError
from geodata.models import CoverageVersion, Domain, EnforcementZone, Matter, Region, Team, ZoneCell
from geodata.revision import geodata_revision_get

# Reason texts are rendered on every lookup; Django's gettext walks several thread-locals per call
# (~10 µs here), so translations are cached per (language, message). Even the language costs
# ~12 µs to read (translation.get_language() goes through asgiref's Local): route() reads it once
# and its reasons use that (profiled: 5 reads were ~60 of a routed point's ~130 µs).
_translated: dict[tuple, str] = {}  # (language, message or choice) → text
_route_language: contextvars.ContextVar[str | None] = contextvars.ContextVar("route_language", default=None)


def _(message: str) -> str:
    key = (_route_language.get() or translation.get_language(), message)
    text = _translated.get(key)
    if text is None:
        text = _translated[key] = translation.gettext(message)
    return text


def _day(at: datetime) -> int:
    """The calendar day of `at` in settings.TIME_ZONE, as an ordinal. The default zone, not the
    "current" one: reading that goes through asgiref's Local (~10 µs per lookup), and no code
    activates another time zone (the county's day is Asia/Shanghai's)."""
    return timezone.localdate(at, timezone.get_default_timezone()).toordinal()


def _label(choice) -> str:
    """A choice's label in the route's language, cached like the messages above."""
    key = (_route_language.get() or translation.get_language(), choice)
    text = _translated.get(key)
    if text is None:
        text = _translated[key] = str(choice.label)
    return text


TRIAGE_OUTSIDE_GRID = "triage:outside_grid"
TRIAGE_NO_COVERAGE = "triage:no_coverage"
TRIAGE_NO_TEAM = "triage:no_team"


class RoutingError(FieldError):
    """A caller's mistake in what to route (e.g. an unknown matter code)."""


def _release_freed_memory() -> None:
    """Hand the memory freed after a build back to the system (glibc keeps freed heap pages in the
    process otherwise: the rows and WKB of a 100,000-cell build stayed resident, bench/memory.py)."""
    gc.collect()  # the build's temporaries sit in reference cycles of the DB layer until collected
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


@dataclass(frozen=True)
class Reason:
    code: str
    text: str


@dataclass
class RouteResult:
    routed: bool
    lon: float
    lat: float
    cell: dict | None = None
    village: dict | None = None
    township: dict | None = None
    zone: dict | None = None
    coverage_version: dict | None = None
    team: dict | None = None
    matter: dict | None = None
    reasons: list[Reason] = field(default_factory=list)
    triage_queue: str | None = None

    def as_dict(self) -> dict:
        return {
            "routed": self.routed,
            "point": {"lon": self.lon, "lat": self.lat},
            "cell": self.cell,
            "village": self.village,
            "township": self.township,
            "zone": self.zone,
            "coverage_version": self.coverage_version,
            "team": self.team,
            "matter": self.matter,
            "reasons": [{"code": r.code, "text": r.text} for r in self.reasons],
            "triage_queue": self.triage_queue,
        }


@dataclass
class _Version:
    id: int
    name: str
    effective_from: datetime
    # domain → array (one entry per indexed cell) of zone ids, 0 where no zone of that domain
    zone_of_cell: dict[str, np.ndarray]
    # domain → cell positions claimed by two or more zones (an overlap; reported, lowest id wins)
    overlaps: dict[str, set[int]]
    # effective_from as every answer shows it: ISO 8601 in settings.TIME_ZONE (Asia/Shanghai; no
    # code activates another time zone). Rendered once here, not per lookup (~10 µs each).
    effective_from_local: str = ""

    def __post_init__(self) -> None:
        if not self.effective_from_local:
            zone = timezone.get_default_timezone()
            self.effective_from_local = timezone.localtime(self.effective_from, zone).isoformat()


class RoutingIndex:
    """Everything routing needs, in memory. Built from the database in one pass."""

    def __init__(self) -> None:
        self.revision = geodata_revision_get()
        self.built_at = time.monotonic()
        # Raw WKB from PostGIS, not GEOSGeometry objects: Django would build one GEOS geometry and
        # one Python object per cell only to be converted again. With the single polygons below
        # and the memory handed back after the build (routing_index), bench/memory.py on 100,000
        # cells: the index 205 → 117 MB of the process, its build 5.3 → 3.2 s.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, code, name, village_id, township_id, valid_from, valid_to, ST_AsBinary(geom) "
                "FROM geodata_gridcell ORDER BY code"
            )
            rows = cursor.fetchall()
        self.cell_ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.cell_codes = [r[1] for r in rows]
        self.cell_names = [r[2] for r in rows]
        self.cell_village = [r[3] for r in rows]
        self.cell_township = [r[4] for r in rows]
        self.valid_from = np.array([r[5].toordinal() for r in rows], dtype=np.int64)
        self.valid_to = np.array([r[6].toordinal() if r[6] else 10**9 for r in rows], dtype=np.int64)
        self.all_valid_from = int(self.valid_from.max()) if rows else 0
        self.any_expiry = bool((self.valid_to < 10**9).any())
        geoms = shapely.from_wkb([bytes(r[7]) for r in rows]) if rows else np.array([], dtype=object)
        del rows
        # A cell is one polygon stored as a MultiPolygon: the polygon alone answers the same
        # `intersects` and costs GEOS one object less per cell.
        if len(geoms):
            single = shapely.get_num_geometries(geoms) == 1
            geoms[single] = shapely.get_geometry(geoms[single], 0)
        self.tree = shapely.STRtree(geoms)
        self.position_of_cell_id = {int(cid): i for i, cid in enumerate(self.cell_ids)}
        regions = Region.objects.filter(id__in=set(self.cell_village) | set(self.cell_township))
        self.regions = {r.id: {"code": r.code, "name": r.name, "level": r.level} for r in regions}
        self.teams = {
            t.id: {
                "id": t.id,
                "code": t.code,
                "name": t.name,
                "kind": t.kind,
                "domain": t.domain,
                "phone": t.phone,
            }
            for t in Team.objects.all()
        }
        self.zones = {
            z["id"]: z
            for z in EnforcementZone.objects.values("id", "name", "domain", "team_id", "version_id")
        }
        self.matters = {
            m.code: m
            for m in Matter.objects.only(
                "code", "name", "domain", "kind", "handled_by", "time_limit_days", "active"
            )
        }
        self.versions = self._load_versions()
        self.team_of_zone = np.zeros(max(self.zones, default=0) + 1, dtype=np.int64)
        for zone_id, zone in self.zones.items():
            self.team_of_zone[zone_id] = zone["team_id"]

    def _load_versions(self) -> list[_Version]:
        published = list(
            CoverageVersion.objects.filter(status=CoverageVersion.Status.PUBLISHED).order_by(
                "effective_from", "id"
            )
        )
        n = len(self.cell_ids)
        out = []
        for version in published:
            zone_of_cell: dict[str, np.ndarray] = {}
            overlaps: dict[str, set[int]] = {}
            memberships = (
                ZoneCell.objects.filter(zone__version=version)
                .order_by("-zone_id")  # lowest zone id written last, so it wins an overlap
                .values_list("zone_id", "zone__domain", "cell_id")
            )
            for zone_id, domain, cell_id in memberships.iterator(chunk_size=20000):
                pos = self.position_of_cell_id.get(cell_id)
                if pos is None:
                    continue
                arr = zone_of_cell.get(domain)
                if arr is None:
                    arr = zone_of_cell[domain] = np.zeros(n, dtype=np.int64)
                if arr[pos]:
                    overlaps.setdefault(domain, set()).add(pos)
                arr[pos] = zone_id
            out.append(_Version(version.id, version.name, version.effective_from, zone_of_cell, overlaps))
        return out

    # --- lookups -------------------------------------------------------------------------------

    def version_at(self, at: datetime) -> _Version | None:
        found = None
        for version in self.versions:  # sorted by effective_from
            if version.effective_from <= at:
                found = version
        return found

    def _valid_mask(self, positions: np.ndarray, day: int) -> np.ndarray:
        return (self.valid_from[positions] <= day) & (day < self.valid_to[positions])

    def cell_at(self, lon: float, lat: float, at: datetime) -> tuple[int | None, int]:
        """(position of the cell covering the point, number of cells covering it)."""
        # shapely.Point, not shapely.points(lon, lat): the array path cost ~36 µs per point here.
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) and self._validity_matters(at):
            hits = hits[self._valid_mask(hits, _day(at))]
        if not len(hits):
            return None, 0
        return int(hits.min()), len(hits)

    def _validity_matters(self, at: datetime) -> bool:
        """Whether any indexed cell could be invalid at `at` (skips the date work when not)."""
        return self.any_expiry or _day(at) < self.all_valid_from

    def cells_at(self, lons: np.ndarray, lats: np.ndarray, at: datetime) -> np.ndarray:
        """Vectorised cell_at: position per point, -1 outside every cell."""
        points = shapely.points(np.column_stack([lons, lats]))
        pairs = self.tree.query(points, predicate="intersects")
        out = np.full(len(lons), -1, dtype=np.int64)
        if pairs.shape[1] == 0:
            return out
        inputs, positions = pairs
        if self._validity_matters(at):
            keep = self._valid_mask(positions, _day(at))
            inputs, positions = inputs[keep], positions[keep]
        if len(inputs) == 0:
            return out
        if len(inputs) > 1 and (inputs[1:] < inputs[:-1]).any():  # STRtree answers in input order
            order = np.argsort(inputs, kind="stable")
            inputs, positions = inputs[order], positions[order]
        # The lowest position (= lowest code) per input point: the fixed tie-break.
        starts = np.flatnonzero(np.r_[True, inputs[1:] != inputs[:-1]])
        out[inputs[starts]] = np.minimum.reduceat(positions, starts)
        return out


_index: RoutingIndex | None = None
_index_checked = 0.0
_index_lock = threading.Lock()


def routing_index() -> RoutingIndex:
    """This process's index, rebuilt when the geodata revision has moved."""
    global _index, _index_checked
    now = time.monotonic()
    if _index is not None and now - _index_checked < settings.ROUTING_INDEX_CHECK_SECONDS:
        return _index
    with _index_lock:
        revision = geodata_revision_get()
        if _index is None or _index.revision != revision:
            _index = RoutingIndex()
            _release_freed_memory()  # the build's temporaries and the index it replaces
        _index_checked = time.monotonic()
        return _index


def routing_index_reset() -> None:
    global _index
    with _index_lock:
        _index = None


def _matter_dict(m: Matter) -> dict:
    return {
        "code": m.code,
        "name": m.name,
        "domain": m.domain,
        "kind": m.kind,
        "handled_by": m.handled_by,
        "time_limit_days": m.time_limit_days,
    }


def _resolve_matter(index: RoutingIndex, matter: str | None) -> Matter | None:
    if matter in (None, ""):
        return None
    found = index.matters.get(matter)
    if found is None:
        raise RoutingError("matter", _("未知事项编码：%(code)s。") % {"code": matter})
    if not found.active:
        raise RoutingError("matter", _("事项 %(code)s 已停用。") % {"code": matter})
    return found


def route(lon: float, lat: float, *, matter: str | None = None, at: datetime | None = None) -> RouteResult:
    """Route one WGS-84 point. `matter` is a catalogue code; `at` defaults to now."""
    language = _route_language.set(translation.get_language())
    try:
        return _route(lon, lat, matter, at)
    finally:
        _route_language.reset(language)


def _route(lon: float, lat: float, matter: str | None, at: datetime | None) -> RouteResult:
    index = routing_index()
    at = at or timezone.now()
    matter_obj = _resolve_matter(index, matter)
    result = RouteResult(routed=False, lon=lon, lat=lat)
    if matter_obj is not None:
        result.matter = _matter_dict(matter_obj)

    pos, covering = index.cell_at(lon, lat, at)
    if pos is None:
        result.reasons.append(Reason("outside_grid", _("该点不在任何有效网格内，转人工分拣。")))
        result.triage_queue = TRIAGE_OUTSIDE_GRID
        return result
    _describe_cell(index, result, pos, covering)
    _assign_team(index, result, pos, matter_obj, at)
    return result


def _describe_cell(index: RoutingIndex, result: RouteResult, pos: int, covering: int) -> None:
    code, name = index.cell_codes[pos], index.cell_names[pos]
    result.cell = {"id": int(index.cell_ids[pos]), "code": code, "name": name}
    village = index.regions[index.cell_village[pos]]
    township = index.regions[index.cell_township[pos]]
    result.village = {"id": index.cell_village[pos], "code": village["code"], "name": village["name"]}
    result.township = {
        "id": index.cell_township[pos],
        "code": township["code"],
        "name": township["name"],
        "level": township["level"],
    }
    if covering > 1:
        text = _("该点落在 %(n)d 个网格的公共边界或顶点上，按规则取编码最小的网格 %(code)s（%(name)s）。") % {
            "n": covering,
            "code": code,
            "name": name,
        }
        result.reasons.append(Reason("cell_tie_break", text))
    else:
        result.reasons.append(
            Reason("cell", _("该点位于网格 %(code)s（%(name)s）。") % {"code": code, "name": name})
        )
    result.reasons.append(
        Reason(
            "region",
            _("网格隶属 %(township)s %(village)s。")
            % {"township": township["name"], "village": village["name"]},
        )
    )


def _assign_team(
    index: RoutingIndex, result: RouteResult, pos: int, matter: Matter | None, at: datetime
) -> None:
    if matter is None:
        domain = Domain.COMPREHENSIVE
        result.reasons.append(Reason("matter_none", _("未指定事项：由属地综合行政执法队负责。")))
    else:
        domain = matter.responsible_domain
        if matter.handled_by == Matter.Handler.TOWNSHIP:
            text = _("事项 %(code)s「%(name)s」已赋权乡镇，由属地综合行政执法队承办。")
        else:
            text = _("事项 %(code)s「%(name)s」属县级%(domain)s部门承办，由该部门辖区执法队伍负责。")
        result.reasons.append(
            Reason(
                "matter",
                text % {"code": matter.code, "name": matter.name, "domain": _label(Domain(matter.domain))},
            )
        )

    version = index.version_at(at)
    if version is None:
        result.reasons.append(Reason("no_coverage", _("没有生效的执法片区覆盖版本，转人工分拣。")))
        result.triage_queue = TRIAGE_NO_COVERAGE
        return
    result.coverage_version = {
        "id": version.id,
        "name": version.name,
        "effective_from": version.effective_from_local,
    }
    zones = version.zone_of_cell.get(domain)
    zone_id = int(zones[pos]) if zones is not None else 0
    if not zone_id:
        result.reasons.append(
            Reason(
                "no_zone",
                _("覆盖版本《%(version)s》中没有%(domain)s执法片区包含该网格，转人工分拣。")
                % {"version": version.name, "domain": _label(Domain(domain))},
            )
        )
        result.triage_queue = TRIAGE_NO_TEAM
        return
    zone = index.zones[zone_id]
    team = index.teams[zone["team_id"]]
    result.zone = {"id": zone_id, "name": zone["name"], "domain": zone["domain"]}
    result.team = team
    result.routed = True
    result.reasons.append(
        Reason(
            "zone",
            _("按覆盖版本《%(version)s》，该网格属于执法片区「%(zone)s」。")
            % {"version": version.name, "zone": zone["name"]},
        )
    )
    if pos in version.overlaps.get(domain, ()):
        result.reasons.append(
            Reason(
                "zone_overlap", _("注意：该网格同时属于多个同领域片区（覆盖重叠），按规则取编号最小的片区。")
            )
        )
    result.reasons.append(Reason("team", _("责任队伍：%(team)s。") % {"team": team["name"]}))


def route_many(
    lons, lats, *, matter: str | None = None, at: datetime | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bulk routing for imports, simulators and benchmarks: arrays of (cell id, team id) per
    point, 0 where unrouted. Same rules as route(), without the reasons."""
    index = routing_index()
    at = at or timezone.now()
    matter_obj = _resolve_matter(index, matter)
    domain = matter_obj.responsible_domain if matter_obj else Domain.COMPREHENSIVE
    positions = index.cells_at(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float), at)
    inside = positions >= 0
    cell_ids = np.zeros(len(positions), dtype=np.int64)
    cell_ids[inside] = index.cell_ids[positions[inside]]
    team_ids = np.zeros(len(positions), dtype=np.int64)
    version = index.version_at(at)
    zones = version.zone_of_cell.get(domain) if version else None
    if zones is not None:
        zone_ids = np.zeros(len(positions), dtype=np.int64)
        zone_ids[inside] = zones[positions[inside]]
        team_ids = index.team_of_zone[zone_ids]
        team_ids[~inside] = 0
    return cell_ids, team_ids
