"""The admin of the map of responsibility (zh-hans), with Leaflet map widgets for geometry.

Lists never load polygons (geometry is deferred) and never put thousands of cells or villages in a
widget: regions are picked by autocomplete, restricted to the level the field needs; zone
membership is shown as a count (the planner coverage editor edits it). Published coverage is
never edited in place, so a published or retired version and its zones are read-only here.
"""

from django.contrib import admin
from django.contrib.gis.db.models import GeometryField
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from geodata import selectors
from geodata.models import (
    CoverageVersion,
    EnforcementZone,
    GeodataRevision,
    GridCell,
    Matter,
    Officer,
    Region,
    Team,
    UserScope,
    ZoneCell,
)

# Autocomplete requests name the field being filled: offer only regions of the right level.
_AUTOCOMPLETE_LEVELS: dict[tuple[str, str], tuple[str, ...]] = {
    ("gridcell", "village"): tuple(Region.VILLAGE_LEVELS),
    ("gridcell", "township"): tuple(Region.TOWNSHIP_LEVELS),
    ("region", "parent"): (Region.Level.COUNTY, *Region.TOWNSHIP_LEVELS),
}


def _count_annotation(queryset: QuerySet, name: str, related: QuerySet, outer_field: str) -> QuerySet:
    return queryset.annotate(**{name: selectors.related_count(related, outer_field=outer_field)})


@admin.register(Region)
class RegionAdmin(LeafletGeoAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    ordering = ("code",)
    autocomplete_fields = ("parent",)
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).select_related("parent").defer("parent__geom")
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("geom")
        return queryset

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        levels = _AUTOCOMPLETE_LEVELS.get(
            (request.GET.get("model_name", ""), request.GET.get("field_name", ""))
        )
        if levels:
            queryset = queryset.filter(level__in=levels).defer("geom")
        return queryset, may_have_duplicates


class ValidTodayFilter(admin.SimpleListFilter):
    title = _("今天是否有效")
    parameter_name = "valid_today"

    def lookups(self, request, model_admin):
        return (("yes", _("有效")), ("no", _("无效")))

    def queryset(self, request, queryset):
        valid = selectors.gridcell_valid_on_q(on=timezone.localdate())
        if self.value() == "yes":
            return queryset.filter(valid)
        if self.value() == "no":
            return queryset.exclude(valid)
        return queryset


class TownshipFilter(admin.SimpleListFilter):
    """Township-level regions by code and name (RelatedOnlyFieldListFilter would load polygons)."""

    title = _("乡镇（街道）")
    parameter_name = "township"

    def lookups(self, request, model_admin):
        townships = Region.objects.filter(level__in=Region.TOWNSHIP_LEVELS).only("code", "name")
        return [(r.code, str(r)) for r in townships.order_by("code")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(township__code=self.value())
        return queryset


@admin.register(GridCell)
class GridCellAdmin(LeafletGeoAdmin):
    list_display = ("code", "name", "village", "township", "workers_count", "valid_from", "valid_to")
    list_filter = (TownshipFilter, ValidTodayFilter)
    search_fields = ("code", "name", "village__name", "township__name")
    autocomplete_fields = ("village", "township")
    filter_horizontal = ("workers",)
    date_hierarchy = "valid_from"
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = (
            super()
            .get_queryset(request)
            .select_related("village", "township")
            .defer("village__geom", "township__geom")
        )
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = _count_annotation(
                queryset.defer("geom"), "workers_count", GridCell.workers.through.objects.all(), "gridcell"
            )
        return queryset

    @admin.display(description=_("网格员"), ordering="workers_count")
    def workers_count(self, cell: GridCell) -> int:
        return cell.workers_count


class OfficerInline(admin.TabularInline):
    model = Officer
    fields = ("name", "status", "certificate_no", "phone", "user")
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Team)
class TeamAdmin(LeafletGeoAdmin):
    list_display = ("code", "name", "kind", "domain", "department", "phone", "officers_count")
    list_filter = ("kind", "domain")
    search_fields = ("code", "name", "department")
    inlines = (OfficerInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _count_annotation(
            super().get_queryset(request), "officers_count", Officer.objects.all(), "team"
        )

    @admin.display(description=_("人员数"), ordering="officers_count")
    def officers_count(self, team: Team) -> int:
        return team.officers_count


@admin.register(Officer)
class OfficerAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "status", "certificate_no", "phone", "user")
    list_filter = ("status", "team")
    search_fields = ("name", "certificate_no", "phone", "team__name")
    list_select_related = ("team", "user")
    raw_id_fields = ("user",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("team__base")


@admin.register(UserScope)
class UserScopeAdmin(admin.ModelAdmin):
    """数据范围: a dispatcher's or supervisor's townships and teams (no row: county-wide)."""

    list_display = ("user", "county_wide")
    list_filter = ("county_wide",)
    search_fields = ("user__username", "user__first_name")
    raw_id_fields = ("user",)
    filter_horizontal = ("townships", "teams")


class _FrozenWhenPublishedMixin:
    """Published or retired coverage is history: shown, never edited in place."""

    def _version_of(self, obj) -> CoverageVersion | None:
        raise NotImplementedError

    def _is_frozen(self, obj) -> bool:
        version = self._version_of(obj) if obj is not None else None
        return version is not None and version.status != CoverageVersion.Status.DRAFT

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if self._is_frozen(obj):
            # Geometry stays a (non-modifiable) map rather than pages of WKT text.
            frozen = (
                f.name
                for f in self.model._meta.fields
                if f.name not in readonly and f.editable and not isinstance(f, GeometryField)
            )
            return readonly + tuple(frozen)
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return not self._is_frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(CoverageVersion)
class CoverageVersionAdmin(_FrozenWhenPublishedMixin, admin.ModelAdmin):
    list_display = ("name", "status", "effective_from", "published_at", "zones_count", "based_on")
    list_filter = ("status",)
    search_fields = ("name", "note")
    date_hierarchy = "effective_from"
    raw_id_fields = ("based_on",)
    readonly_fields = ("created_at",)

    def _version_of(self, obj: CoverageVersion) -> CoverageVersion:
        return obj

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).select_related("based_on")
        return _count_annotation(queryset, "zones_count", EnforcementZone.objects.all(), "version")

    @admin.display(description=_("片区数"), ordering="zones_count")
    def zones_count(self, version: CoverageVersion) -> int:
        return version.zones_count


@admin.register(EnforcementZone)
class EnforcementZoneAdmin(_FrozenWhenPublishedMixin, LeafletGeoAdmin):
    list_display = ("name", "team", "domain", "version", "cells_count")
    list_filter = ("domain", "version", "team")
    search_fields = ("name", "team__name", "team__code")
    list_select_related = ("team", "version")
    raw_id_fields = ("version",)
    autocomplete_fields = ("team",)
    fields = ("version", "team", "name", "domain", "cells_count", "geom")
    readonly_fields = ("cells_count",)
    # The polygon is the union of the zone's cells, kept for drawing: shown, not drawn by hand.
    modifiable = False

    def _version_of(self, obj: EnforcementZone) -> CoverageVersion:
        return obj.version

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).defer("team__base")
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("geom")
        return _count_annotation(queryset, "cells_count", ZoneCell.objects.all(), "zone")

    @admin.display(description=_("网格数"), ordering="cells_count")
    def cells_count(self, zone: EnforcementZone) -> int:
        return getattr(zone, "cells_count", 0)


@admin.register(Matter)
class MatterAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "domain",
        "kind",
        "handled_by",
        "time_limit_days",
        "time_limit_hours",
        "active",
    )
    list_filter = ("domain", "kind", "handled_by", "active")
    search_fields = ("code", "name", "legal_basis")


@admin.register(GeodataRevision)
class GeodataRevisionAdmin(admin.ModelAdmin):
    """The routing-index staleness counter: visible for diagnosis, written only by the code."""

    list_display = ("id", "revision", "changed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
