"""Coverage planning: edit a draft copy of the coverage, check it, publish it from an effective time.

    published v1 ──draft_create──▶ draft (revision 0) ──zone_* edits──▶ draft (revision n)
                                                                             │ draft_publish
    published v1 ◀── version_rollback (a new published copy of v1) ◀── published v2

Rules
  * Only drafts are edited; a published version is history and is never changed or deleted.
  * Every edit names the draft revision it was based on (`expected_revision`); the draft row is
    locked, the revision compared and bumped in the same transaction, so of two planners saving the
    same revision one wins and the other gets StaleDraft (HTTP 409) with the current revision.
  * A zone is whole grid cells; its polygon is recomputed in one statement as the union of its cells.
  * Publishing refuses gaps and overlaps unless an override reason is given (kept in the note); it
    sends `coverage.published` through the outbox and bumps the geodata revision so every process's
    routing index picks the version up from its effective time.

Selections (reads for the planner page): `cells_in` turns a drawn polygon (a cell is in when at
least half of its area is inside) or a list of townships/villages into whole cells; `version_cells`
is a version's zones with their cell ids.

Bulk writes (membership rows, polygons) bypass model signals, so each service bumps the geodata
revision itself when routing could see the change (publishing); edits to a draft do not route.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.gis.db.models.functions import Intersection
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.db import connection, transaction
from django.db.models import F, FloatField, Func, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata import coverage
from geodata.coords import in_service_area
from geodata.coverage import CoverageProblem
from geodata.errors import FieldError
from geodata.models import CoverageVersion, Domain, EnforcementZone, GridCell, Region, Team, ZoneCell
from geodata.revision import geodata_revision_bump
from geodata.selectors import coverage_version_in_force, gridcell_valid_on_q
from gridops.realtime.events import COUNTY_STREAM, COVERAGE_PUBLISHED, local_iso
from gridops.realtime.outbox import outbox_emit


class StaleDraft(FieldError):
    """The draft changed since the caller read it: reload, then redo the edit. (Not itself a frozen
    dataclass: a frozen exception class cannot take the __traceback__ Python sets when re-raising.)"""

    def __init__(self, message: str, *, current_revision: int) -> None:
        super().__init__("revision", message)
        self.current_revision = current_revision


@dataclass
class DraftCheck:
    """The gaps and overlaps of a draft: what publishing refuses without an override."""

    gaps: list[CoverageProblem]
    overlaps: list[CoverageProblem]

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.overlaps


# --- drafts -------------------------------------------------------------------------------------------


@transaction.atomic
def draft_create(*, name: str, based_on: CoverageVersion | None = None, actor) -> CoverageVersion:
    """A new draft copying every zone (team, name, domain, cells, polygon) of `based_on` (default:
    the version in force now; an empty draft when there is none)."""
    if not name.strip():
        raise FieldError("name", _("请填写草稿名称。"))
    if based_on is None:
        based_on = coverage_version_in_force()
    elif based_on.status == CoverageVersion.Status.DRAFT:
        raise FieldError("based_on", _("只能基于已发布的覆盖版本创建草稿。"))
    draft = CoverageVersion.objects.create(
        name=name.strip(),
        status=CoverageVersion.Status.DRAFT,
        based_on=based_on,
        note=_("由 %(actor)s 创建。") % {"actor": getattr(actor, "username", "") or "—"},
    )
    if based_on is not None:
        _zones_copy(source=based_on, target=draft)
    return draft


def _zones_copy(*, source: CoverageVersion, target: CoverageVersion) -> None:
    """Copy zones and memberships in three statements (bulk: no per-zone signal)."""
    originals = list(EnforcementZone.objects.filter(version=source).order_by("id"))
    copies = EnforcementZone.objects.bulk_create(
        EnforcementZone(version=target, team_id=z.team_id, name=z.name, domain=z.domain, geom=z.geom)
        for z in originals
    )
    copy_of = {old.pk: new.pk for old, new in zip(originals, copies, strict=True)}
    ZoneCell.objects.bulk_create(
        (
            ZoneCell(zone_id=copy_of[zone_id], cell_id=cell_id)
            for zone_id, cell_id in ZoneCell.objects.filter(zone__version=source).values_list(
                "zone_id", "cell_id"
            )
        ),
        batch_size=5000,
    )


def _draft_lock(*, draft_id: int, expected_revision: int | None) -> CoverageVersion:
    """Lock the draft row, check it is a draft at the expected revision (None: any), and bump the
    revision."""
    draft = CoverageVersion.objects.select_for_update().filter(pk=draft_id).first()
    if draft is None:
        raise FieldError("version", _("覆盖版本不存在。"))
    if draft.status != CoverageVersion.Status.DRAFT:
        raise FieldError("status", _("只能修改草稿；已发布的覆盖版本不能修改，请基于它新建草稿。"))
    if expected_revision is not None and expected_revision != draft.revision:
        raise StaleDraft(
            _("草稿已被他人修改（当前修订号 %(current)d，您提交的是 %(given)d），请刷新后重做。")
            % {"current": draft.revision, "given": expected_revision},
            current_revision=draft.revision,
        )
    CoverageVersion.objects.filter(pk=draft.pk).update(revision=F("revision") + 1)
    draft.revision += 1
    return draft


def _cells_checked(cell_ids: Iterable[int], *, allow_empty: bool = False) -> list[int]:
    ids = sorted({int(c) for c in cell_ids})
    if not ids and not allow_empty:
        raise FieldError("cells", _("请至少选择一个网格。"))
    found = set(GridCell.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [c for c in ids if c not in found]
    if missing:
        raise FieldError(
            "cells", _("网格不存在：%(ids)s。") % {"ids": "、".join(str(c) for c in missing[:10])}
        )
    return ids


def _zone_geoms_refresh(zone_ids: Iterable[int]) -> None:
    """geom = the union of the zone's cells (NULL when it has none), for all zones in one statement."""
    zone_table = EnforcementZone._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {zone_table} z SET geom = ("
            f" SELECT ST_Multi(ST_Union(c.geom)) FROM {ZoneCell._meta.db_table} zc"
            f" JOIN {GridCell._meta.db_table} c ON c.id = zc.cell_id WHERE zc.zone_id = z.id"
            ") WHERE z.id = ANY(%s)",
            [list(zone_ids)],
        )


def _zone_of_draft(*, zone: EnforcementZone, expected_revision: int) -> CoverageVersion:
    return _draft_lock(draft_id=zone.version_id, expected_revision=expected_revision)


# --- zones --------------------------------------------------------------------------------------------


@transaction.atomic
def zone_create(
    *,
    draft: CoverageVersion,
    team: Team,
    name: str,
    domain: str | None = None,
    cell_ids: Iterable[int],
    expected_revision: int,
) -> EnforcementZone:
    _draft_lock(draft_id=draft.pk, expected_revision=expected_revision)
    domain = domain or team.domain
    if domain not in Domain.values:
        raise FieldError("domain", _("未知领域：%(d)s。") % {"d": domain})
    if not name.strip():
        raise FieldError("name", _("请填写片区名称。"))
    ids = _cells_checked(cell_ids)
    zone = EnforcementZone.objects.create(version_id=draft.pk, team=team, name=name.strip(), domain=domain)
    ZoneCell.objects.bulk_create(ZoneCell(zone=zone, cell_id=c) for c in ids)
    _zone_geoms_refresh([zone.pk])
    zone.refresh_from_db()
    return zone


def zone_set_cells(
    *, zone: EnforcementZone, cell_ids: Iterable[int], expected_revision: int
) -> EnforcementZone:
    """Make the zone exactly these cells (an empty zone is allowed until deleted or published)."""
    return zone_update(zone=zone, cell_ids=cell_ids, expected_revision=expected_revision)


@transaction.atomic
def zone_update(
    *,
    zone: EnforcementZone,
    expected_revision: int,
    cell_ids: Iterable[int] | None = None,
    team: Team | None = None,
    domain: str | None = None,
    name: str | None = None,
) -> EnforcementZone:
    """Change what is given of a draft's zone: its cells (the whole new set), its team, its domain,
    its name — in one edit, so one revision. A new team without a domain keeps the zone's domain."""
    _zone_of_draft(zone=zone, expected_revision=expected_revision)
    fields = []
    if name is not None:
        if not name.strip():
            raise FieldError("name", _("请填写片区名称。"))
        zone.name = name.strip()[:100]
        fields.append("name")
    if domain is not None:
        if domain not in Domain.values:
            raise FieldError("domain", _("未知领域：%(d)s。") % {"d": domain})
        zone.domain = domain
        fields.append("domain")
    if team is not None:
        zone.team = team
        fields.append("team")
    if fields:
        zone.save(update_fields=fields)
    if cell_ids is not None:
        ids = _cells_checked(cell_ids, allow_empty=True)
        ZoneCell.objects.filter(zone=zone).exclude(cell_id__in=ids).delete()
        present = set(ZoneCell.objects.filter(zone=zone).values_list("cell_id", flat=True))
        ZoneCell.objects.bulk_create(ZoneCell(zone=zone, cell_id=c) for c in ids if c not in present)
        _zone_geoms_refresh([zone.pk])
    zone.refresh_from_db()
    return zone


@transaction.atomic
def zone_delete(*, zone: EnforcementZone, expected_revision: int) -> None:
    _zone_of_draft(zone=zone, expected_revision=expected_revision)
    zone.delete()


@transaction.atomic
def zone_merge(*, zones: list[EnforcementZone], name: str, expected_revision: int) -> EnforcementZone:
    """One zone (the lowest id, renamed) with the cells of all; the others are deleted."""
    if len({z.pk for z in zones}) < 2:
        raise FieldError("zones", _("请选择至少两个片区合并。"))
    if len({z.version_id for z in zones}) > 1:
        raise FieldError("zones", _("只能合并同一草稿中的片区。"))
    if len({(z.team_id, z.domain) for z in zones}) > 1:
        raise FieldError("zones", _("只能合并同一队伍、同一领域的片区。"))
    _draft_lock(draft_id=zones[0].version_id, expected_revision=expected_revision)
    keep, *others = sorted({z.pk: z for z in zones}.values(), key=lambda z: z.pk)
    other_ids = [z.pk for z in others]
    have = set(ZoneCell.objects.filter(zone=keep).values_list("cell_id", flat=True))
    moving = set(ZoneCell.objects.filter(zone_id__in=other_ids).values_list("cell_id", flat=True)) - have
    ZoneCell.objects.bulk_create(ZoneCell(zone=keep, cell_id=c) for c in sorted(moving))
    EnforcementZone.objects.filter(pk__in=other_ids).delete()
    if name.strip():
        keep.name = name.strip()
        keep.save(update_fields=["name"])
    _zone_geoms_refresh([keep.pk])
    keep.refresh_from_db()
    return keep


@transaction.atomic
def zone_split(
    *, zone: EnforcementZone, cell_ids: Iterable[int], name: str, expected_revision: int
) -> EnforcementZone:
    """Move the given cells of `zone` to a new zone of the same team and domain; returns the new zone."""
    _zone_of_draft(zone=zone, expected_revision=expected_revision)
    if not name.strip():
        raise FieldError("name", _("请填写新片区名称。"))
    ids = _cells_checked(cell_ids)
    own = set(ZoneCell.objects.filter(zone=zone).values_list("cell_id", flat=True))
    foreign = [c for c in ids if c not in own]
    if foreign:
        raise FieldError(
            "cells", _("这些网格不属于该片区：%(ids)s。") % {"ids": "、".join(map(str, foreign[:10]))}
        )
    if len(ids) == len(own):
        raise FieldError("cells", _("拆分须留下至少一个网格在原片区。"))
    new = EnforcementZone.objects.create(
        version_id=zone.version_id, team_id=zone.team_id, name=name.strip(), domain=zone.domain
    )
    ZoneCell.objects.filter(zone=zone, cell_id__in=ids).update(zone=new)
    _zone_geoms_refresh([zone.pk, new.pk])
    new.refresh_from_db()
    return new


# --- checking and publishing ------------------------------------------------------------------------


def draft_validate(*, draft: CoverageVersion, at: datetime | None = None) -> DraftCheck:
    """The gaps and overlaps of the draft against the cells valid on `at`'s day (default today).

    Runs only the gap and overlap checks of geodata.coverage (coverage_assignment_problems), not the
    whole coverage_validate(): its zone-polygon check costs ~2.7 s on 3,000 cells (bench/planning.py)
    and cannot fail here, since every planning edit rewrites the polygon as the union of the cells."""
    day = timezone.localdate(at) if at else timezone.localdate()
    gaps, overlaps = coverage.coverage_assignment_problems(version=draft, day=day)
    return DraftCheck(gaps=gaps, overlaps=overlaps)


@transaction.atomic
def draft_publish(
    *,
    draft: CoverageVersion,
    effective_from: datetime,
    actor,
    override_reason: str = "",
    expected_revision: int | None = None,
) -> CoverageVersion:
    """Make the draft the coverage from `effective_from`. Gaps or overlaps need `override_reason`."""
    draft = _draft_lock(draft_id=draft.pk, expected_revision=expected_revision)
    if effective_from is None:
        raise FieldError("effective_from", _("请填写生效时间。"))
    check = draft_validate(draft=draft, at=effective_from)
    override_reason = override_reason.strip()
    if not check.ok and not override_reason:
        raise FieldError(
            "override_reason",
            _("草稿有 %(gaps)d 处空白、%(overlaps)d 处重叠；如确需发布，请填写理由。")
            % {"gaps": len(check.gaps), "overlaps": len(check.overlaps)},
        )
    return _publish(
        version=draft, effective_from=effective_from, actor=actor, override_reason=override_reason
    )


def _publish(
    *, version: CoverageVersion, effective_from: datetime, actor, override_reason: str = ""
) -> CoverageVersion:
    now = timezone.now()
    notes = [version.note] if version.note else []
    who = getattr(actor, "username", "") or "—"
    notes.append(_("%(actor)s 于 %(at)s 发布。") % {"actor": who, "at": local_iso(now)})
    if override_reason:
        notes.append(_("存在空白或重叠，仍然发布，理由：%(reason)s") % {"reason": override_reason})
    version.status = CoverageVersion.Status.PUBLISHED
    version.effective_from = effective_from
    version.published_at = now
    version.note = "\n".join(notes)
    version.save(update_fields=["status", "effective_from", "published_at", "note", "revision"])
    # The save's signal bumps too; bump explicitly so routing sees it whatever the signals do.
    geodata_revision_bump()
    outbox_emit(
        type=COVERAGE_PUBLISHED,
        data={"id": version.pk, "name": version.name, "effective_from": local_iso(effective_from)},
        streams=[COUNTY_STREAM],
    )
    return version


@transaction.atomic
def version_rollback(*, to_version: CoverageVersion, effective_from: datetime, actor) -> CoverageVersion:
    """Publish a new version copying an older published one; nothing is deleted."""
    if to_version.status != CoverageVersion.Status.PUBLISHED:
        raise FieldError("version", _("只能回退到已发布的覆盖版本。"))
    if effective_from is None:
        raise FieldError("effective_from", _("请填写生效时间。"))
    copy = draft_create(
        name=(_("%(name)s（回退）") % {"name": to_version.name})[:100], based_on=to_version, actor=actor
    )
    copy.note = _("回退到覆盖版本 %(id)d《%(name)s》。") % {"id": to_version.pk, "name": to_version.name}
    return _publish(version=copy, effective_from=effective_from, actor=actor)


# --- selecting cells (reads for the planner page) ----------------------------------------------------
#
# A planner draws a polygon or picks regions; the page turns that into whole cells here, so the rule
# "a zone is whole cells" has one implementation whatever door asks.

# A hand-drawn selection never needs more; beyond it a request is more likely a pasted boundary
# file (import it instead) or an attempt to make PostGIS work hard.
MAX_SELECTION_VERTICES = 5000
# "At least half" is compared with this slack (relative to the cell's area) so that a polygon
# cutting a cell exactly in half selects it despite float noise in the intersection's coordinates.
HALF_AREA_SLACK = 1e-7
MAX_SELECTION_REGIONS = 1000


class _PlanarArea(Func):
    """ST_Area in the stored CRS (square degrees): only ratios are compared, and across one cell
    the metres-per-degree scale varies by ~1e-4, so the ratio is the ratio of true areas."""

    function = "ST_Area"
    output_field = FloatField()


def cells_in(
    *, polygon: dict | None = None, regions: list[str] | None = None, on: date | None = None
) -> list[int]:
    """Ids (in cell-code order) of the cells valid on `on` (default today) that a selection takes.

    Exactly one of:
      * `polygon` — a GeoJSON Polygon/MultiPolygon in WGS-84 lon/lat. A cell is in when at least
        half of its area lies inside the polygon; a cell the polygon only touches along an edge or
        at a corner has nothing inside and is out. A polygon outside the county selects nothing.
      * `regions` — codes of township-level units (subdistricts, towns, townships, farms, parks)
        or villages/communities: every cell of those units (by the cells' township/village).

    Raises FieldError("polygon" | "regions", message) for what the caller got wrong."""
    if (polygon is None) == (regions is None):
        raise FieldError("polygon", _("请提供 polygon（GeoJSON 多边形）或 regions（区划代码列表）之一。"))
    day = on or timezone.localdate()
    cells = GridCell.objects.filter(gridcell_valid_on_q(on=day))
    if regions is not None:
        units = _selection_regions(regions)
        township_ids = [r.pk for r in units if r.level in Region.TOWNSHIP_LEVELS]
        village_ids = [r.pk for r in units if r.level in Region.VILLAGE_LEVELS]
        cells = cells.filter(Q(township_id__in=township_ids) | Q(village_id__in=village_ids))
    else:
        shape = selection_polygon(polygon)
        cells = (
            cells.filter(geom__intersects=shape)
            .annotate(inside=_PlanarArea(Intersection("geom", shape)), whole=_PlanarArea("geom"))
            .filter(inside__gte=F("whole") * (0.5 - HALF_AREA_SLACK))
        )
    return list(cells.order_by("code").values_list("pk", flat=True))


def _selection_regions(codes) -> list[Region]:
    if not isinstance(codes, list) or not codes:
        raise FieldError("regions", _("请提供至少一个区划代码（列表）。"))
    if len(codes) > MAX_SELECTION_REGIONS:
        raise FieldError("regions", _("一次最多选择 %(n)d 个区划。") % {"n": MAX_SELECTION_REGIONS})
    if not all(isinstance(c, str) and c.strip() for c in codes):
        raise FieldError("regions", _("区划代码应为文本，例如 330225101。"))
    wanted = {c.strip() for c in codes}
    found = list(
        Region.objects.filter(code__in=wanted, level__in=(*Region.TOWNSHIP_LEVELS, *Region.VILLAGE_LEVELS))
        .only("id", "code", "level")
        .order_by("code")
    )
    unknown = sorted(wanted - {r.code for r in found})
    if unknown:
        raise FieldError(
            "regions",
            _("未知的乡镇（街道、农场、园区）或村（社区）代码：%(codes)s。")
            % {"codes": "、".join(unknown[:10])},
        )
    return found


def selection_polygon(raw) -> GEOSGeometry:
    """The caller's GeoJSON Polygon/MultiPolygon as a valid GEOS geometry (SRID 4326), or
    FieldError("polygon", …) saying what is wrong: shape, vertex count, coordinates out of range
    or apparently swapped (lat, lon), rings not closed, self-intersection."""
    if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        raise FieldError("polygon", _("应为 GeoJSON Polygon 或 MultiPolygon 对象。"))
    coordinates = raw.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        raise FieldError("polygon", _("多边形没有坐标。"))
    parts = [coordinates] if raw["type"] == "Polygon" else coordinates
    rings: list[list[list[tuple[float, float]]]] = []
    vertices = 0
    for part in parts:
        if not isinstance(part, list) or not part:
            raise FieldError("polygon", _("多边形的坐标结构不正确。"))
        part_rings = []
        for ring in part:
            if not isinstance(ring, list):
                raise FieldError("polygon", _("多边形的坐标结构不正确。"))
            vertices += len(ring)
            if vertices > MAX_SELECTION_VERTICES:
                raise FieldError("polygon", _("顶点过多：最多 %(n)d 个。") % {"n": MAX_SELECTION_VERTICES})
            part_rings.append([_position(p) for p in ring])
        rings.append(part_rings)
    points = [p for part in rings for ring in part for p in ring]
    _check_lon_lat(points)
    for part in rings:
        for ring in part:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise FieldError("polygon", _("每个环至少 4 个点，且首尾两点必须相同（闭合）。"))
    shape = MultiPolygon([Polygon(*part) for part in rings], srid=settings.SRID)
    if not shape.valid:
        reason = shape.valid_reason
        if reason.startswith(("Self-intersection", "Ring Self-intersection")):
            where = reason[reason.find("[") :] if "[" in reason else ""
            raise FieldError("polygon", _("多边形自相交 %(where)s，请重新绘制。") % {"where": where})
        raise FieldError("polygon", _("多边形无效：%(reason)s。") % {"reason": reason})
    if not shape.area:
        raise FieldError("polygon", _("多边形面积为零。"))
    return shape


def _position(raw) -> tuple[float, float]:
    if (
        not isinstance(raw, list | tuple)
        or len(raw) not in (2, 3)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
    ):
        raise FieldError("polygon", _("每个坐标应为 [经度, 纬度] 两个数字。"))
    lon, lat = float(raw[0]), float(raw[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise FieldError("polygon", _("必须是有限数字（不能是 NaN 或无穷）。"))
    return lon, lat


def _check_lon_lat(points: list[tuple[float, float]]) -> None:
    """Refuse out-of-range coordinates, saying so when the pairs look like [lat, lon]: every
    swapped pair would be in the service area while the pairs as sent are not."""
    in_area = all(in_service_area(lon, lat) for lon, lat in points)
    if not in_area and all(in_service_area(lat, lon) for lon, lat in points):
        raise FieldError("polygon", _("经纬度似乎颠倒了：GeoJSON 坐标顺序应为 [经度, 纬度]。"))
    for lon, lat in points:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise FieldError(
                "polygon",
                _("坐标超出范围：经度应在 [-180, 180]，纬度应在 [-90, 90]，收到 [%(lon)s, %(lat)s]。")
                % {"lon": lon, "lat": lat},
            )


def version_cells(*, version: CoverageVersion, on: date | None = None) -> dict:
    """What the planner page edits: the version (with its revision), its zones with their cell
    ids, and the code → id map of the cells valid on `on` (the cells API names cells by code,
    the planning services by id)."""
    zones = list(
        EnforcementZone.objects.filter(version=version)
        .select_related("team")
        .only("id", "name", "domain", "team__code", "team__name", "team__kind")
        .order_by("domain", "name", "id")
    )
    members: dict[int, list[int]] = {z.pk: [] for z in zones}
    for zone_id, cell_id in (
        ZoneCell.objects.filter(zone__version=version).order_by("cell_id").values_list("zone_id", "cell_id")
    ):
        members[zone_id].append(cell_id)
    day = on or timezone.localdate()
    return {
        "version": {
            "id": version.pk,
            "name": version.name,
            "status": version.status,
            "revision": version.revision,
            "effective_from": local_iso(version.effective_from),
            "published_at": local_iso(version.published_at),
            "based_on": version.based_on_id,
        },
        "zones": [
            {
                "id": z.pk,
                "name": z.name,
                "domain": z.domain,
                "team": {"code": z.team.code, "name": z.team.name, "kind": z.team.kind},
                "cells": members[z.pk],
            }
            for z in zones
        ],
        "cells": dict(
            GridCell.objects.filter(gridcell_valid_on_q(on=day)).order_by("code").values_list("code", "pk")
        ),
    }
