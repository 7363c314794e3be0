"""Read queries over the map of responsibility (selectors in the HackSoft sense: keyword-only, typed).

The API, the admin and the pages read through these, so "valid today", "the version in force" and
"the geometry to draw" mean the same thing at every door.

Geometry to draw is annotated as `display_geom` and the stored `geom` is deferred: simplification
happens in PostGIS (ST_SimplifyPreserveTopology), so a county-wide request at a low zoom ships a
fraction of the vertices and Python never sees the full polygons. Related regions are read as
annotated codes and names rather than select_related, which would drag every township's polygon
along with each cell.
"""

import math
from datetime import date, datetime

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import Polygon
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, F, Func, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, JSONObject
from django.utils import timezone

from geodata.models import (
    CoverageVersion,
    EnforcementZone,
    GridCell,
    Matter,
    Officer,
    Region,
    Team,
    ZoneCell,
)

BBox = tuple[float, float, float, float]

# Below this web-map zoom level cells are drawn simplified; at 14 a pixel is ~10 m at 29° N, finer
# than any cell edge worth showing, so from there on the stored geometry is returned as is.
FULL_DETAIL_ZOOM = 14
TILE_SIZE_PX = 256


class SimplifyPreserveTopology(Func):
    function = "ST_SimplifyPreserveTopology"
    output_field = GeometryField(srid=4326)


class Multi(Func):
    """ST_Multi: GEOS-backed simplification may return a Polygon for a one-part MultiPolygon;
    clients (and the schema) get the stored type either way."""

    function = "ST_Multi"
    output_field = GeometryField(srid=4326)


def _display_geom(*, tolerance: float | None, with_geometry: bool = True):
    """The geometry expression to draw: the stored one, a simplified one, or none at all."""
    if not with_geometry:
        return Value(None, output_field=GeometryField(srid=4326))
    if tolerance:
        return Multi(SimplifyPreserveTopology(F("geom"), Value(tolerance)))
    return F("geom")


def zoom_tolerance(zoom: int | None) -> float | None:
    """Simplification tolerance in degrees for a web-map zoom level: about one screen pixel
    (360° / (256 px × 2^zoom)); None at FULL_DETAIL_ZOOM and above, or when no zoom is given."""
    if zoom is None or zoom >= FULL_DETAIL_ZOOM:
        return None
    return 360.0 / (TILE_SIZE_PX * math.pow(2, zoom))


def related_count(queryset: QuerySet, *, outer_field: str) -> Coalesce:
    """COUNT(*) of `queryset` rows whose `outer_field` is the outer row, as a correlated subquery.

    A subquery rather than Count() over a join: several counts and arrays on one row would
    otherwise multiply each other, and GROUP BY would have to carry the geometry column."""
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _townships_array(**zone_cell_lookups) -> ArraySubquery:
    """[{code, name}, ...] of the township-level regions of the zone cells matching
    `zone_cell_lookups` (ZoneCell lookups, correlated to the outer row with OuterRef), by code."""
    lookups = {f"township_cells__zone_cells__{k}": v for k, v in zone_cell_lookups.items()}
    townships = (
        Region.objects.filter(level__in=Region.TOWNSHIP_LEVELS, **lookups)
        .order_by("code")
        .distinct("code")
        .values(json=JSONObject(code="code", name="name"))
    )
    return ArraySubquery(townships)


# --- Validity in time ------------------------------------------------------------------------------


def gridcell_valid_on_q(*, on: date) -> Q:
    """Cells valid on a day: valid_from <= day < valid_to (valid_to is the first day it is not)."""
    return Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gt=on))


def _coverage_versions_in_force(*, at: datetime | None = None) -> QuerySet[CoverageVersion]:
    return CoverageVersion.objects.filter(
        status=CoverageVersion.Status.PUBLISHED, effective_from__lte=at or timezone.now()
    ).order_by("-effective_from", "-id")


def coverage_version_in_force(*, at: datetime | None = None) -> CoverageVersion | None:
    """The published coverage version in force at `at` (now by default): the latest to take effect."""
    return _coverage_versions_in_force(at=at).first()


# --- Regions -----------------------------------------------------------------------------------------


def region_list(
    *,
    level: str | None = None,
    parent: Region | None = None,
    code: str | None = None,
    simplify: float | None = None,
    with_geometry: bool = True,
) -> QuerySet[Region]:
    regions = (
        Region.objects.defer("geom")
        .annotate(
            parent_code=F("parent__code"),
            display_geom=_display_geom(tolerance=simplify, with_geometry=with_geometry),
        )
        .order_by("code")
    )
    if level:
        regions = regions.filter(level=level)
    if parent is not None:
        regions = regions.filter(parent=parent)
    if code:
        regions = regions.filter(code=code)
    return regions


# --- Grid cells --------------------------------------------------------------------------------------


def gridcell_list(
    *,
    at: date | None = None,
    bbox: BBox | None = None,
    village: Region | None = None,
    township: Region | None = None,
    zoom: int | None = None,
) -> QuerySet[GridCell]:
    """Grid cells valid on `at` (today by default), optionally those meeting a lon/lat box.

    The box test is ST_Intersects, boundary included: a box that only touches a cell's edge
    returns that cell. ST_Intersects starts with the && operator, so the GiST index does the work.
    """
    cells = gridcell_detail_queryset(zoom=zoom).filter(gridcell_valid_on_q(on=at or timezone.localdate()))
    if bbox is not None:
        cells = cells.filter(geom__intersects=Polygon.from_bbox(bbox))
    if village is not None:
        cells = cells.filter(village=village)
    if township is not None:
        cells = cells.filter(township=township)
    return cells


def gridcell_detail_queryset(*, zoom: int | None = None) -> QuerySet[GridCell]:
    """Every cell whatever its validity (a detail lookup by code shows expired cells too)."""
    return (
        GridCell.objects.defer("geom")
        .annotate(
            village_code=F("village__code"),
            village_name=F("village__name"),
            township_code=F("township__code"),
            township_name=F("township__name"),
            workers_count=related_count(GridCell.workers.through.objects.all(), outer_field="gridcell"),
            display_geom=_display_geom(tolerance=zoom_tolerance(zoom)),
        )
        .order_by("code")
    )


# --- Teams ---------------------------------------------------------------------------------------------


def team_list(
    *, kind: str | None = None, domain: str | None = None, at: datetime | None = None
) -> QuerySet[Team]:
    """Teams with their officer count and the townships their zones cover in the coverage version
    in force at `at` (now by default; found by a subquery, so no extra round trip)."""
    teams = Team.objects.annotate(
        officers_count=related_count(Officer.objects.all(), outer_field="team"),
        covered_townships=_townships_array(
            zone__version=Subquery(_coverage_versions_in_force(at=at).values("pk")[:1]),
            zone__team=OuterRef("pk"),
        ),
    ).order_by("kind", "code")
    if kind:
        teams = teams.filter(kind=kind)
    if domain:
        teams = teams.filter(domain=domain)
    return teams


def team_detail_queryset() -> QuerySet[Team]:
    return team_list().prefetch_related(Prefetch("officers", queryset=Officer.objects.order_by("name", "id")))


# --- Coverage ------------------------------------------------------------------------------------------


def coverage_version_list() -> QuerySet[CoverageVersion]:
    return CoverageVersion.objects.annotate(
        zones_count=related_count(EnforcementZone.objects.all(), outer_field="version"),
        based_on_name=F("based_on__name"),
    ).order_by("-effective_from", "-id")


def zone_list(
    *,
    version: CoverageVersion | None = None,
    in_force_only: bool = False,
    team: Team | None = None,
    domain: str | None = None,
) -> QuerySet[EnforcementZone]:
    """Zones with their team, cell count and the townships they span.

    `in_force_only` restricts to the version in force now; when there is none the result is empty
    rather than every version's zones."""
    zones = (
        EnforcementZone.objects.defer("geom")
        .select_related("team", "version")
        .defer("team__base")
        .annotate(
            cells_count=related_count(ZoneCell.objects.all(), outer_field="zone"),
            spanned_townships=_townships_array(zone=OuterRef("pk")),
            display_geom=F("geom"),
        )
        .order_by("version", "domain", "name", "id")
    )
    if in_force_only:
        in_force = coverage_version_in_force()
        if in_force is None:
            return zones.none()
        zones = zones.filter(version=in_force)
    if version is not None:
        zones = zones.filter(version=version)
    if team is not None:
        zones = zones.filter(team=team)
    if domain:
        zones = zones.filter(domain=domain)
    return zones


# --- Matters -----------------------------------------------------------------------------------------


def matter_list(
    *,
    domain: str | None = None,
    kind: str | None = None,
    handled_by: str | None = None,
    search: str | None = None,
    active: bool | None = None,
) -> QuerySet[Matter]:
    matters = Matter.objects.order_by("code")
    if domain:
        matters = matters.filter(domain=domain)
    if kind:
        matters = matters.filter(kind=kind)
    if handled_by:
        matters = matters.filter(handled_by=handled_by)
    if search:
        matters = matters.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if active is not None:
        matters = matters.filter(active=active)
    return matters
