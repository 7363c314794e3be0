"""Query parameters of the read API: parsed, validated and documented here, applied by selectors.

Each FilterSet declares its parameters (django-filter validates them and drf-spectacular documents
them in /api/schema/); its `filter_queryset` hands the cleaned values to the selector that owns the
query, so the selector rather than a chain of filter methods decides how a request hits PostGIS.
A value the form cannot clean answers 400 with the parameter's name, never an empty list.
"""

import math

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from geodata import selectors
from geodata.models import CoverageVersion, Domain, EnforcementZone, GridCell, Matter, Region, Team

# --- Fields -------------------------------------------------------------------------------------------


class StrictBooleanField(forms.Field):
    """true/false, 1/0, yes/no; anything else is an error rather than "no filter"."""

    TRUE = frozenset({"1", "true", "yes", "on"})
    FALSE = frozenset({"0", "false", "no", "off"})

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(
            _("应为 true/false 或 1/0，收到 %(value)r。"), code="invalid", params={"value": value}
        )


class BBoxField(forms.Field):
    """minlon,minlat,maxlon,maxlat in WGS-84 degrees."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        parts = [p.strip() for p in str(value).split(",")]
        if len(parts) != 4:
            raise forms.ValidationError(
                _("应为 4 个以逗号分隔的数字：minlon,minlat,maxlon,maxlat。"), code="invalid"
            )
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise forms.ValidationError(
                _("应为 4 个以逗号分隔的数字：minlon,minlat,maxlon,maxlat。"), code="invalid"
            ) from None
        if not all(math.isfinite(n) for n in numbers):
            raise forms.ValidationError(_("必须是有限数字（不能是 NaN 或无穷）。"), code="invalid")
        min_lon, min_lat, max_lon, max_lat = numbers
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
            raise forms.ValidationError(_("经度超出范围 [-180, 180]。"), code="out_of_range")
        if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            raise forms.ValidationError(_("纬度超出范围 [-90, 90]。"), code="out_of_range")
        if not (min_lon < max_lon and min_lat < max_lat):
            raise forms.ValidationError(
                _("最小值必须小于最大值：minlon < maxlon 且 minlat < maxlat。"), code="empty"
            )
        return (min_lon, min_lat, max_lon, max_lat)


class FiniteFloatField(forms.FloatField):
    """A float that refuses NaN and infinity (forms.FloatField lets "nan" through)."""

    def validate(self, value):
        super().validate(value)
        if value is not None and not math.isfinite(value):
            raise forms.ValidationError(_("必须是有限数字（不能是 NaN 或无穷）。"), code="invalid")


# --- Filters --------------------------------------------------------------------------------------------


def _unused(queryset: QuerySet, name: str, value) -> QuerySet:
    """Parameters applied by the selector in FilterSet.filter_queryset, not one by one."""
    return queryset


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    field_class = StrictBooleanField


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^[-+0-9.eE]+,[-+0-9.eE]+,[-+0-9.eE]+,[-+0-9.eE]+$",
        "example": "121.00,29.00,121.02,29.02",
        "description": _("minlon,minlat,maxlon,maxlat（WGS-84 度）。与网格边界相接也算相交。"),
    }
)
class BBoxFilter(filters.Filter):
    field_class = BBoxField


class FiniteNumberFilter(filters.NumberFilter):
    field_class = FiniteFloatField


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


def _typed(filter_obj: filters.Filter, schema: dict) -> filters.Filter:
    """Give a parameter that is not a model field its OpenAPI type, keeping its help text."""
    return extend_schema_field({**schema, "description": filter_obj.extra.get("help_text", "")})(filter_obj)


def _code_choice(queryset: QuerySet, **kwargs) -> filters.ModelChoiceFilter:
    """A filter taking a code; an unknown code is a 400 naming the parameter (likely a typo)."""
    return filters.ModelChoiceFilter(
        queryset=queryset,
        to_field_name="code",
        method=_unused,
        error_messages={"invalid_choice": _("未知的编码 %(value)s（或层级不符）。")},
        **kwargs,
    )


def _regions(*levels: str) -> QuerySet[Region]:
    # Only the columns the lookup needs: never load polygons to validate a code.
    return Region.objects.filter(level__in=levels).only("id", "code", "name", "level")


class _SelectorFilterSet(filters.FilterSet):
    def selector_kwargs(self) -> dict:
        raise NotImplementedError

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # The view's queryset is the unfiltered selector result; the selector builds the filtered one.
        return self.selector(**self.selector_kwargs())


class RegionFilter(_SelectorFilterSet):
    level = filters.ChoiceFilter(choices=Region.Level.choices, method=_unused, help_text=_("层级"))
    parent = _code_choice(
        Region.objects.exclude(level__in=Region.VILLAGE_LEVELS).only("id", "code", "name", "level"),
        help_text=_("上级区划代码：列出其直接下级"),
    )
    code = filters.CharFilter(method=_unused, help_text=_("区划代码"))
    simplify = _typed(
        FiniteNumberFilter(
            method=_unused,
            min_value=0,
            max_value=1,
            help_text=_("简化容差（度，0–1），在数据库中以 ST_SimplifyPreserveTopology 简化"),
        ),
        {"type": "number", "minimum": 0, "maximum": 1, "example": 0.001},
    )
    geometry = _typed(
        StrictBooleanFilter(method=_unused, help_text=_("geometry=0 时不返回几何（geometry 为 null）")),
        {"type": "boolean"},
    )

    selector = staticmethod(selectors.region_list)

    class Meta:
        model = Region
        fields: list[str] = []

    def selector_kwargs(self) -> dict:
        data = self.form.cleaned_data
        return {
            "level": data.get("level") or None,
            "parent": data.get("parent"),
            "code": data.get("code") or None,
            "simplify": data.get("simplify") or None,
            "with_geometry": data.get("geometry") is not False,
        }


class GridCellFilter(_SelectorFilterSet):
    bbox = BBoxFilter(method=_unused, help_text=_("范围 minlon,minlat,maxlon,maxlat（WGS-84）"))
    village = _code_choice(_regions(*Region.VILLAGE_LEVELS), help_text=_("村（社区）代码"))
    township = _code_choice(_regions(*Region.TOWNSHIP_LEVELS), help_text=_("乡镇（街道）代码"))
    zoom = _typed(
        IntegerFilter(
            method=_unused,
            min_value=0,
            max_value=24,
            help_text=_("地图缩放级别（0–24）；低于 14 时返回在数据库中简化的几何"),
        ),
        {"type": "integer", "minimum": 0, "maximum": 24, "example": 12},
    )
    at = filters.DateFilter(method=_unused, help_text=_("日期 YYYY-MM-DD：返回当日有效的网格（默认今天）"))

    selector = staticmethod(selectors.gridcell_list)

    class Meta:
        model = GridCell
        fields: list[str] = []

    def selector_kwargs(self) -> dict:
        data = self.form.cleaned_data
        return {
            "at": data.get("at"),
            "bbox": data.get("bbox"),
            "village": data.get("village"),
            "township": data.get("township"),
            "zoom": data.get("zoom"),
        }


class TeamFilter(_SelectorFilterSet):
    kind = filters.ChoiceFilter(choices=Team.Kind.choices, method=_unused, help_text=_("队伍类型"))
    domain = filters.ChoiceFilter(choices=Domain.choices, method=_unused, help_text=_("执法领域"))

    selector = staticmethod(selectors.team_list)

    class Meta:
        model = Team
        fields: list[str] = []

    def selector_kwargs(self) -> dict:
        data = self.form.cleaned_data
        return {
            "kind": data.get("kind") or None,
            "domain": data.get("domain") or None,
        }


class VersionField(forms.Field):
    """A coverage version id, or "published" for the version in force now."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text == "published":
            return "published"
        if not text.isdigit():
            raise forms.ValidationError(
                _("应为覆盖版本 ID（整数）或 published，收到 %(value)r。"),
                code="invalid",
                params={"value": value},
            )
        version = CoverageVersion.objects.filter(pk=int(text)).first()
        if version is None:
            raise forms.ValidationError(
                _("覆盖版本 %(id)s 不存在。"), code="invalid_choice", params={"id": text}
            )
        return version


@extend_schema_field(
    {
        "type": "string",
        "example": "published",
        "description": _(
            "覆盖版本 ID，或 published 表示当前生效的版本（已发布且生效时间不晚于现在的最新一版）。"
        ),
    }
)
class VersionFilter(filters.Filter):
    field_class = VersionField


class ZoneFilter(_SelectorFilterSet):
    version = VersionFilter(method=_unused)
    team = _code_choice(Team.objects.only("id", "code", "name"), help_text=_("队伍编号"))
    domain = filters.ChoiceFilter(choices=Domain.choices, method=_unused, help_text=_("执法领域"))

    selector = staticmethod(selectors.zone_list)

    class Meta:
        model = EnforcementZone
        fields: list[str] = []

    def selector_kwargs(self) -> dict:
        data = self.form.cleaned_data
        version = data.get("version")
        return {
            "version": version if isinstance(version, CoverageVersion) else None,
            "in_force_only": version == "published",
            "team": data.get("team"),
            "domain": data.get("domain") or None,
        }


class MatterFilter(_SelectorFilterSet):
    domain = filters.ChoiceFilter(choices=Domain.choices, method=_unused, help_text=_("所属领域"))
    kind = filters.ChoiceFilter(choices=Matter.Kind.choices, method=_unused, help_text=_("事项类型"))
    handled_by = filters.ChoiceFilter(choices=Matter.Handler.choices, method=_unused, help_text=_("承办层级"))
    q = filters.CharFilter(method=_unused, help_text=_("按事项编码或名称搜索（包含即可）"))
    active = _typed(StrictBooleanFilter(method=_unused, help_text=_("是否有效")), {"type": "boolean"})

    selector = staticmethod(selectors.matter_list)

    class Meta:
        model = Matter
        fields: list[str] = []

    def selector_kwargs(self) -> dict:
        data = self.form.cleaned_data
        return {
            "domain": data.get("domain") or None,
            "kind": data.get("kind") or None,
            "handled_by": data.get("handled_by") or None,
            "search": (data.get("q") or "").strip() or None,
            "active": data.get("active"),
        }
