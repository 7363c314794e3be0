"""Serializers of the read API: GeoJSON features (WGS-84 lon/lat) whose properties come from the
annotations the selectors add, so serializing a page issues no query per row.

Each feature's "id" is its lookup key (the code, or the id for zones) and is repeated in its
properties, where map clients look for it."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_gis import build_geo_schema
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geodata.coords import CRS_CHOICES
from geodata.models import CoverageVersion, Domain, EnforcementZone, GridCell, Matter, Officer, Region, Team


class CodeNameSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class _CodeNameFrom(serializers.Field):
    """{code, name} read from two annotations `<prefix>_code` and `<prefix>_name` of the row."""

    def __init__(self, prefix: str, **kwargs) -> None:
        self.prefix = prefix
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, instance) -> dict | None:
        code = getattr(instance, f"{self.prefix}_code", None)
        if code is None:
            return None
        return {"code": code, "name": getattr(instance, f"{self.prefix}_name", "")}


CodeNameFrom = extend_schema_field(CodeNameSerializer)(_CodeNameFrom)


class DisplayGeometryField(GeometryField):
    """The `display_geom` annotation of the selectors: stored, simplified or null geometry."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="display_geom", read_only=True, **kwargs)


class DisplayGeometryFieldExtension(OpenApiSerializerFieldExtension):
    """Document `display_geom` like the model's `geom` (an annotation has no model field)."""

    target_class = DisplayGeometryField
    priority = 1

    def map_serializer_field(self, auto_schema, direction):
        return build_geo_schema(self.target.parent.Meta.model._meta.get_field("geom"))


# --- Regions and cells -----------------------------------------------------------------------------


class RegionSerializer(GeoFeatureModelSerializer):
    feature_id = serializers.CharField(source="code", read_only=True)
    geom = DisplayGeometryField(allow_null=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    parent_code = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Region
        geo_field = "geom"
        id_field = "feature_id"
        fields = ("feature_id", "geom", "code", "name", "level", "level_display", "parent_code")


class GridCellSerializer(GeoFeatureModelSerializer):
    feature_id = serializers.CharField(source="code", read_only=True)
    geom = DisplayGeometryField()
    village = CodeNameFrom("village", help_text=_("村（社区）"))
    township = CodeNameFrom("township", help_text=_("乡镇（街道）"))
    workers_count = serializers.IntegerField(read_only=True, help_text=_("网格员人数"))

    class Meta:
        model = GridCell
        geo_field = "geom"
        id_field = "feature_id"
        fields = (
            "feature_id",
            "geom",
            "code",
            "name",
            "village",
            "township",
            "workers_count",
            "valid_from",
            "valid_to",
        )


# --- Teams -----------------------------------------------------------------------------------------------


class OfficerSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    phone = serializers.SerializerMethodField(help_text=_("仅登录用户可见"))

    class Meta:
        model = Officer
        fields = ("id", "name", "status", "status_display", "certificate_no", "phone")

    def get_phone(self, officer: Officer) -> str | None:
        # Officers' personal phone numbers are not for anonymous readers of the public map.
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            return officer.phone
        return None


class TeamSerializer(GeoFeatureModelSerializer):
    feature_id = serializers.CharField(source="code", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    domain_display = serializers.CharField(source="get_domain_display", read_only=True)
    officers_count = serializers.IntegerField(read_only=True)
    townships = CodeNameSerializer(
        source="covered_townships",
        many=True,
        read_only=True,
        help_text=_("在当前生效的覆盖版本中，该队伍片区所涉及的乡镇（街道）"),
    )

    class Meta:
        model = Team
        geo_field = "base"
        id_field = "feature_id"
        fields = (
            "feature_id",
            "base",
            "code",
            "name",
            "kind",
            "kind_display",
            "domain",
            "domain_display",
            "department",
            "phone",
            "officers_count",
            "townships",
        )


class TeamDetailSerializer(TeamSerializer):
    officers = OfficerSerializer(many=True, read_only=True)

    class Meta(TeamSerializer.Meta):
        fields = (*TeamSerializer.Meta.fields, "officers")


# --- Coverage --------------------------------------------------------------------------------------------


class CoverageVersionSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    based_on_name = serializers.CharField(read_only=True, allow_null=True)
    zones_count = serializers.IntegerField(read_only=True)
    in_force = serializers.SerializerMethodField(help_text=_("是否为当前生效的版本"))

    class Meta:
        model = CoverageVersion
        fields = (
            "id",
            "name",
            "status",
            "status_display",
            "effective_from",
            "published_at",
            "based_on",
            "based_on_name",
            "note",
            "created_at",
            "zones_count",
            "in_force",
        )

    def get_in_force(self, version: CoverageVersion) -> bool:
        return version.pk == self.context.get("in_force_id")


class ZoneTeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ("code", "name", "kind")


class ZoneSerializer(GeoFeatureModelSerializer):
    feature_id = serializers.IntegerField(source="pk", read_only=True)
    geom = DisplayGeometryField(allow_null=True)
    team = ZoneTeamSerializer(read_only=True)
    domain_display = serializers.CharField(source="get_domain_display", read_only=True)
    version = serializers.IntegerField(source="version_id", read_only=True)
    version_name = serializers.CharField(source="version.name", read_only=True)
    cells_count = serializers.IntegerField(read_only=True)
    townships = CodeNameSerializer(
        source="spanned_townships", many=True, read_only=True, help_text=_("片区网格所在的乡镇（街道）")
    )

    class Meta:
        model = EnforcementZone
        geo_field = "geom"
        id_field = "feature_id"
        fields = (
            "feature_id",
            "geom",
            "id",
            "name",
            "team",
            "domain",
            "domain_display",
            "version",
            "version_name",
            "cells_count",
            "townships",
        )


# --- Matters ---------------------------------------------------------------------------------------------


class MatterSerializer(serializers.ModelSerializer):
    domain_display = serializers.CharField(source="get_domain_display", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    handled_by_display = serializers.CharField(source="get_handled_by_display", read_only=True)
    responsible_domain = serializers.CharField(read_only=True, help_text=_("决定责任队伍的片区领域"))

    class Meta:
        model = Matter
        fields = (
            "code",
            "name",
            "domain",
            "domain_display",
            "kind",
            "kind_display",
            "handled_by",
            "handled_by_display",
            "legal_basis",
            "time_limit_days",
            "time_limit_hours",
            "active",
            "responsible_domain",
        )


# --- Routing (documentation of the response; the engine builds the dict) -------------------------------


class RouteInputSerializer(serializers.Serializer):
    lon = serializers.CharField(help_text=_("调用方发送的经度（原样）"))
    lat = serializers.CharField(help_text=_("调用方发送的纬度（原样）"))
    crs = serializers.ChoiceField(choices=CRS_CHOICES, help_text=_("调用方声明的坐标系（默认 wgs84）"))


class LonLatSerializer(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()


class RouteReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("机器可读的原因代码"))
    text = serializers.CharField(help_text=_("中文说明"))


class RouteResultSerializer(serializers.Serializer):
    routed = serializers.BooleanField(help_text=_("是否已确定责任队伍；false 时进入人工分拣队列"))
    input = RouteInputSerializer()
    point = LonLatSerializer(help_text=_("换算后的 WGS-84 坐标"))
    cell = serializers.DictField(allow_null=True, help_text=_("所在网格"))
    village = serializers.DictField(allow_null=True, help_text=_("所在村（社区）"))
    township = serializers.DictField(allow_null=True, help_text=_("所在乡镇（街道）"))
    zone = serializers.DictField(allow_null=True, help_text=_("负责的执法片区"))
    coverage_version = serializers.DictField(allow_null=True, help_text=_("所用的覆盖版本"))
    team = serializers.DictField(allow_null=True, help_text=_("责任队伍"))
    matter = serializers.DictField(allow_null=True, help_text=_("执法事项"))
    reasons = RouteReasonSerializer(many=True, help_text=_("逐步说明为何由该队伍负责"))
    triage_queue = serializers.CharField(allow_null=True, help_text=_("未能确定时的人工分拣队列"))


class FieldErrorsSerializer(serializers.Serializer):
    """400: {"<parameter>": ["message", ...]}; documented with one representative field."""

    lon = serializers.ListField(child=serializers.CharField(), required=False)
    lat = serializers.ListField(child=serializers.CharField(), required=False)
    crs = serializers.ListField(child=serializers.CharField(), required=False)
    matter = serializers.ListField(child=serializers.CharField(), required=False)


# --- Coverage planning (write; planners only) ------------------------------------------------------------


class DraftCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    based_on = serializers.PrimaryKeyRelatedField(
        queryset=CoverageVersion.objects.filter(status=CoverageVersion.Status.PUBLISHED),
        required=False,
        allow_null=True,
        help_text=_("复制哪个已发布版本的片区（默认当前生效的版本）"),
    )


class PlanningVersionSerializer(serializers.ModelSerializer):
    # A plain string: a second "status" enum component would collide with CoverageVersionSerializer's.
    status = serializers.CharField(read_only=True, help_text="draft / published / retired")

    class Meta:
        model = CoverageVersion
        fields = ("id", "name", "status", "revision", "effective_from", "published_at", "based_on", "note")


class PlanningZoneSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="code", read_only=True)
    version = serializers.IntegerField(source="version_id", read_only=True)
    cells = serializers.SerializerMethodField(help_text=_("片区的网格 id"))
    revision = serializers.SerializerMethodField(help_text=_("草稿当前修订号"))

    class Meta:
        model = EnforcementZone
        fields = ("id", "version", "name", "team", "domain", "cells", "revision")

    def get_cells(self, zone: EnforcementZone) -> list[int]:
        return sorted(zone.zone_cells.values_list("cell_id", flat=True))

    def get_revision(self, zone: EnforcementZone) -> int:
        return CoverageVersion.objects.values_list("revision", flat=True).get(pk=zone.version_id)


class _RevisionField(serializers.IntegerField):
    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=0, help_text=_("编辑所基于的草稿修订号"), **kwargs)


class ZoneCreateSerializer(serializers.Serializer):
    team = serializers.SlugRelatedField(slug_field="code", queryset=Team.objects.all())
    name = serializers.CharField(max_length=100)
    domain = serializers.ChoiceField(choices=Domain.choices, required=False, help_text=_("默认队伍的领域"))
    cells = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    revision = _RevisionField()


class ZoneCellsSerializer(serializers.Serializer):
    """A change of a draft's zone: any of its cells (the whole new set), team, domain and name."""

    cells = serializers.ListField(child=serializers.IntegerField(), required=False)
    team = serializers.SlugRelatedField(slug_field="code", queryset=Team.objects.all(), required=False)
    domain = serializers.ChoiceField(choices=Domain.choices, required=False)
    name = serializers.CharField(max_length=100, required=False)
    revision = _RevisionField()

    def validate(self, attrs):
        if not {"cells", "team", "domain", "name"} & set(attrs):
            raise serializers.ValidationError({"cells": [_("请给出要修改的网格、队伍、领域或名称。")]})
        return attrs


class ZoneMergeSerializer(serializers.Serializer):
    zones = serializers.ListField(child=serializers.IntegerField(), min_length=2)
    name = serializers.CharField(max_length=100)
    revision = _RevisionField()


class ZoneSplitSerializer(serializers.Serializer):
    zone = serializers.IntegerField()
    cells = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    name = serializers.CharField(max_length=100)
    revision = _RevisionField()


class PublishSerializer(serializers.Serializer):
    effective_from = serializers.DateTimeField()
    override_reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("有空白或重叠时仍要发布的理由")
    )
    revision = _RevisionField(required=False)


class RollbackSerializer(serializers.Serializer):
    effective_from = serializers.DateTimeField()


class CoverageProblemSerializer(serializers.Serializer):
    cell = serializers.CharField(source="cell_code", allow_null=True)
    domain = serializers.CharField(allow_null=True)
    zones = serializers.ListField(child=serializers.CharField())
    detail = serializers.CharField()


class DraftCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    gaps = CoverageProblemSerializer(many=True)
    overlaps = CoverageProblemSerializer(many=True)


class StaleRevisionSerializer(serializers.Serializer):
    """409: the draft changed since the caller read it."""

    revision = serializers.ListField(child=serializers.CharField())
    current_revision = serializers.IntegerField()


class PlanningErrorsSerializer(serializers.Serializer):
    """400: {"<field>": ["message", ...]}."""

    cells = serializers.ListField(child=serializers.CharField(), required=False)
    status = serializers.ListField(child=serializers.CharField(), required=False)
    override_reason = serializers.ListField(child=serializers.CharField(), required=False)
