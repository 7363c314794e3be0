"""API over the map of responsibility, the routing door, and the coverage-planning doors (planners
only; each a thin call to a geodata.planning service, see docs/PLANNING.md).

Views stay thin: querysets come from geodata.selectors, parameters are parsed by the FilterSets in
geodata.api.filters, routing is geodata.routing.route(). Detail views (`/{code}/`) ignore the list
parameters and return the stored geometry of any object, valid today or not.
"""

import gzip
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import CharField, DictField, Field, IntegerField, JSONField, ListField
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ReadOnlyModelViewSet

from geodata import planning, selectors, tiles
from geodata.api import filters, serializers
from geodata.api.pagination import FeaturePagination
from geodata.coords import CRS_CHOICES, point_from_request
from geodata.errors import FieldError
from geodata.models import CoverageVersion, EnforcementZone, GridCell, Matter, Region, Team
from geodata.routing import route

PLANNER_GROUP = "planner"


class _ReadOnlyViewSet(ReadOnlyModelViewSet):
    """A 404 that says, in Chinese, what was not found (Django's default names the model in English)."""

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            key = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
            raise NotFound(
                _("没有%(what)s“%(key)s”。") % {"what": self.queryset.model._meta.verbose_name, "key": key}
            ) from None


class _ListFiltersOnlyMixin:
    """List parameters filter lists; a detail lookup by code finds the object whatever they say."""

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action == "retrieve":
            return queryset
        return super().filter_queryset(queryset)


class RegionViewSet(_ListFiltersOnlyMixin, _ReadOnlyViewSet):
    """行政区域（县、乡镇街道、村社区），GeoJSON。"""

    queryset = Region.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = serializers.RegionSerializer
    filterset_class = filters.RegionFilter
    pagination_class = FeaturePagination
    lookup_field = "code"

    def get_queryset(self) -> QuerySet:
        return selectors.region_list()


class GridCellViewSet(_ListFiltersOnlyMixin, _ReadOnlyViewSet):
    """网格，GeoJSON；列表默认只含今天有效的网格。"""

    queryset = GridCell.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = serializers.GridCellSerializer
    filterset_class = filters.GridCellFilter
    pagination_class = FeaturePagination
    lookup_field = "code"

    def get_queryset(self) -> QuerySet:
        return selectors.gridcell_detail_queryset()


class TeamViewSet(_ListFiltersOnlyMixin, _ReadOnlyViewSet):
    """执法队伍，驻地为 GeoJSON 点；详情含人员名录。"""

    queryset = Team.objects.none()  # for schema introspection; requests use get_queryset()
    filterset_class = filters.TeamFilter
    pagination_class = FeaturePagination
    lookup_field = "code"

    def get_queryset(self) -> QuerySet:
        return selectors.team_detail_queryset()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.TeamDetailSerializer
        return serializers.TeamSerializer


class IsPlanner(BasePermission):
    message = gettext_lazy("只有片区规划员可以执行此操作。")

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return False
        return user.is_superuser or user.groups.filter(name=PLANNER_GROUP).exists()


class _PlanningMixin:
    """Planning actions: planners only; a stale draft answers 409 with the current revision, any
    other service refusal 400 naming the field."""

    planning_actions: tuple[str, ...] = ()

    def get_permissions(self):
        if self.action in self.planning_actions:
            return [IsPlanner()]
        return super().get_permissions()

    def handle_exception(self, exc):
        if isinstance(exc, planning.StaleDraft):
            return Response({"revision": [exc.message], "current_revision": exc.current_revision}, status=409)
        if isinstance(exc, FieldError):
            exc = ValidationError({exc.field: [exc.message]})
        return super().handle_exception(exc)

    def _valid(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


_STALE = {409: serializers.StaleRevisionSerializer, 400: serializers.PlanningErrorsSerializer}
_PLANNING_TAG = ["coverage-planning"]


class CoverageVersionViewSet(_PlanningMixin, _ReadOnlyViewSet):
    """覆盖版本；规划员可新建草稿、编辑片区、检查、发布和回退。"""

    queryset = CoverageVersion.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = serializers.CoverageVersionSerializer
    filter_backends: list = []
    planning_actions = (
        "create",
        "zones",
        "merge",
        "split",
        "validate",
        "publish",
        "rollback",
        "cells_in",
        "membership",
    )

    def get_queryset(self) -> QuerySet:
        return selectors.coverage_version_list()

    def get_serializer_context(self) -> dict:
        if getattr(self, "swagger_fake_view", False):
            # drf-spectacular describing the API (no request): no query, the test database may not
            # exist yet (tests/test_schemathesis.py builds the document at collection time).
            return super().get_serializer_context()
        in_force = selectors.coverage_version_in_force()
        return {**super().get_serializer_context(), "in_force_id": in_force.pk if in_force else None}

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("新建草稿（复制已发布版本的片区）"),
        request=serializers.DraftCreateSerializer,
        responses={201: serializers.PlanningVersionSerializer, 400: serializers.PlanningErrorsSerializer},
    )
    def create(self, request: Request) -> Response:
        data = self._valid(serializers.DraftCreateSerializer, request.data)
        draft = planning.draft_create(name=data["name"], based_on=data.get("based_on"), actor=request.user)
        return Response(serializers.PlanningVersionSerializer(draft).data, status=201)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("在草稿中新建片区"),
        request=serializers.ZoneCreateSerializer,
        responses={201: serializers.PlanningZoneSerializer, **_STALE},
    )
    @action(detail=True, methods=["post"])
    def zones(self, request: Request, pk=None) -> Response:
        draft = self.get_object()
        data = self._valid(serializers.ZoneCreateSerializer, request.data)
        zone = planning.zone_create(
            draft=draft,
            team=data["team"],
            name=data["name"],
            domain=data.get("domain"),
            cell_ids=data["cells"],
            expected_revision=data["revision"],
        )
        return Response(serializers.PlanningZoneSerializer(zone).data, status=201)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("合并片区（同一队伍、同一领域）"),
        request=serializers.ZoneMergeSerializer,
        responses={200: serializers.PlanningZoneSerializer, **_STALE},
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk=None) -> Response:
        draft = self.get_object()
        data = self._valid(serializers.ZoneMergeSerializer, request.data)
        zones = list(EnforcementZone.objects.filter(version=draft, pk__in=data["zones"]))
        if len(zones) != len(set(data["zones"])):
            raise ValidationError({"zones": [_("有片区不在该草稿中。")]})
        zone = planning.zone_merge(zones=zones, name=data["name"], expected_revision=data["revision"])
        return Response(serializers.PlanningZoneSerializer(zone).data)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("拆分片区：所选网格移入同一队伍的新片区"),
        request=serializers.ZoneSplitSerializer,
        responses={201: serializers.PlanningZoneSerializer, **_STALE},
    )
    @action(detail=True, methods=["post"])
    def split(self, request: Request, pk=None) -> Response:
        draft = self.get_object()
        data = self._valid(serializers.ZoneSplitSerializer, request.data)
        zone = EnforcementZone.objects.filter(version=draft, pk=data["zone"]).first()
        if zone is None:
            raise ValidationError({"zone": [_("该片区不在该草稿中。")]})
        new = planning.zone_split(
            zone=zone, cell_ids=data["cells"], name=data["name"], expected_revision=data["revision"]
        )
        return Response(serializers.PlanningZoneSerializer(new).data, status=201)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("检查覆盖：空白与重叠"),
        responses={200: serializers.DraftCheckSerializer},
    )
    @action(detail=True, methods=["get"])
    def validate(self, request: Request, pk=None) -> Response:
        check = planning.draft_validate(draft=self.get_object())
        return Response(serializers.DraftCheckSerializer(check).data)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("发布草稿"),
        description=gettext_lazy("有空白或重叠时须填写 override_reason；发布后按生效时间用于定位。"),
        request=serializers.PublishSerializer,
        responses={200: serializers.PlanningVersionSerializer, **_STALE},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk=None) -> Response:
        draft = self.get_object()
        data = self._valid(serializers.PublishSerializer, request.data)
        version = planning.draft_publish(
            draft=draft,
            effective_from=data["effective_from"],
            actor=request.user,
            override_reason=data["override_reason"],
            expected_revision=data.get("revision"),
        )
        return Response(serializers.PlanningVersionSerializer(version).data)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("回退：把该已发布版本复制为新版本发布"),
        request=serializers.RollbackSerializer,
        responses={201: serializers.PlanningVersionSerializer, 400: serializers.PlanningErrorsSerializer},
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk=None) -> Response:
        data = self._valid(serializers.RollbackSerializer, request.data)
        version = planning.version_rollback(
            to_version=self.get_object(), effective_from=data["effective_from"], actor=request.user
        )
        return Response(serializers.PlanningVersionSerializer(version).data, status=201)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("选择网格：画出的多边形或所选乡镇/村包含哪些整网格"),
        description=gettext_lazy(
            "二选一：polygon（GeoJSON Polygon/MultiPolygon，WGS-84 经纬度，最多 5000 个顶点）——"
            "网格面积至少一半在多边形内即算选中，仅边或角相接不算；regions（乡镇、街道、农场、园区或村、"
            "社区的区划代码）——这些区划的全部网格。只含今天有效的网格，按网格编码排序。"
        ),
        request=inline_serializer(
            "CellsInRequest",
            {
                "polygon": JSONField(
                    required=False, help_text=gettext_lazy("GeoJSON Polygon 或 MultiPolygon")
                ),
                "regions": ListField(child=CharField(), required=False, help_text=gettext_lazy("区划代码")),
            },
        ),
        responses={
            200: inline_serializer(
                "CellsInResult", {"cells": ListField(child=IntegerField()), "count": IntegerField()}
            ),
            400: inline_serializer(
                "CellsInErrors",
                {
                    "polygon": ListField(child=CharField(), required=False),
                    "regions": ListField(child=CharField(), required=False),
                },
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="cells-in")
    def cells_in(self, request: Request, pk=None) -> Response:
        self.get_object()
        body = request.data if isinstance(request.data, dict) else {}
        cells = planning.cells_in(polygon=body.get("polygon"), regions=body.get("regions"))
        return Response({"cells": cells, "count": len(cells)})

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("版本的片区及其网格（规划页面编辑用）"),
        responses={
            200: inline_serializer(
                "VersionCells",
                {
                    "version": DictField(help_text=gettext_lazy("版本，含修订号 revision")),
                    "zones": ListField(child=DictField(), help_text=gettext_lazy("片区及其网格 id")),
                    "cells": DictField(
                        child=IntegerField(), help_text=gettext_lazy("今天有效网格的编码 → id")
                    ),
                },
            )
        },
    )
    @action(detail=True, methods=["get"])
    def membership(self, request: Request, pk=None) -> Response:
        return Response(planning.version_cells(version=self.get_object()))


class ZoneViewSet(_PlanningMixin, _ListFiltersOnlyMixin, _ReadOnlyViewSet):
    """执法片区（网格合并后的范围），GeoJSON；规划员可修改或删除草稿中的片区。"""

    queryset = EnforcementZone.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = serializers.ZoneSerializer
    filterset_class = filters.ZoneFilter
    pagination_class = FeaturePagination
    planning_actions = ("partial_update", "destroy")

    def get_queryset(self) -> QuerySet:
        return selectors.zone_list()

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action in self.planning_actions:
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("修改草稿片区：网格、队伍、领域或名称"),
        request=serializers.ZoneCellsSerializer,
        responses={200: serializers.PlanningZoneSerializer, **_STALE},
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        data = self._valid(serializers.ZoneCellsSerializer, request.data)
        zone = planning.zone_update(
            zone=self.get_object(),
            expected_revision=data["revision"],
            cell_ids=data.get("cells"),
            team=data.get("team"),
            domain=data.get("domain"),
            name=data.get("name"),
        )
        return Response(serializers.PlanningZoneSerializer(zone).data)

    @extend_schema(
        tags=_PLANNING_TAG,
        summary=gettext_lazy("删除草稿中的片区"),
        parameters=[
            OpenApiParameter(
                "revision",
                OpenApiTypes.INT,
                required=True,
                description=gettext_lazy("编辑所基于的草稿修订号"),
            )
        ],
        responses={204: None, **_STALE},
    )
    def destroy(self, request: Request, pk=None) -> Response:
        raw = request.query_params.get("revision", "").strip()
        if not raw.isdigit():
            raise ValidationError({"revision": [_("请提供编辑所基于的草稿修订号（整数）。")]})
        planning.zone_delete(zone=self.get_object(), expected_revision=int(raw))
        return Response(status=204)


class MatterViewSet(_ListFiltersOnlyMixin, _ReadOnlyViewSet):
    """执法事项清单。"""

    queryset = Matter.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = serializers.MatterSerializer
    filterset_class = filters.MatterFilter
    lookup_field = "code"

    def get_queryset(self) -> QuerySet:
        return selectors.matter_list()


class RouteView(APIView):
    """Point (+ matter) → responsible team, with the reasons."""

    @extend_schema(
        operation_id="route",
        summary=gettext_lazy("定位责任队伍"),
        description=gettext_lazy(
            "由坐标（及可选的执法事项）确定网格、村、乡镇、生效的覆盖版本中的执法片区和责任队伍，并给出理由。"
            "服务区域内但不在任何网格中的点返回 routed=false 和人工分拣队列；坐标错误返回 400，指明字段。"
        ),
        parameters=[
            OpenApiParameter("lon", OpenApiTypes.NUMBER, required=True, description=gettext_lazy("经度")),
            OpenApiParameter("lat", OpenApiTypes.NUMBER, required=True, description=gettext_lazy("纬度")),
            OpenApiParameter(
                "matter", OpenApiTypes.STR, description=gettext_lazy("执法事项编码，如 ZH-CF-001")
            ),
            OpenApiParameter(
                "crs",
                OpenApiTypes.STR,
                enum=list(CRS_CHOICES),
                default="wgs84",
                description=gettext_lazy("输入坐标系"),
            ),
            OpenApiParameter(
                "at",
                OpenApiTypes.DATETIME,
                description=gettext_lazy("按该时刻生效的覆盖版本定位（ISO 8601，默认现在）"),
            ),
        ],
        responses={200: serializers.RouteResultSerializer, 400: serializers.FieldErrorsSerializer},
        examples=[
            OpenApiExample(
                "坐标颠倒",
                value={"lon": ["经纬度似乎颠倒了：lon 应为经度（约 121.87），lat 应为纬度（约 29.47）。"]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        required = str(Field.default_error_messages["required"])
        missing = {f: [required] for f in ("lon", "lat") if not params.get(f, "").strip()}
        if missing:
            raise ValidationError(missing)
        try:
            lon, lat, crs = point_from_request(params["lon"], params["lat"], params.get("crs"))
            result = route(lon, lat, matter=params.get("matter") or None, at=_parse_at(params.get("at")))
        except FieldError as exc:  # CoordinateError, RoutingError
            raise ValidationError({exc.field: [exc.message]}) from None
        body = result.as_dict()
        body["input"] = {"lon": params["lon"], "lat": params["lat"], "crs": crs}
        return Response(body)


def _parse_at(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        at = parse_datetime(raw.strip())
    except ValueError:
        at = None
    if at is None:
        raise ValidationError({"at": [_("应为 ISO 8601 时间，例如 2026-05-01T09:30:00+08:00。")]})
    return make_aware(at) if is_naive(at) else at


class CellTileView(APIView):
    """Grid cells of one web-mercator tile as a Mapbox vector tile (geodata/tiles.py)."""

    @extend_schema(
        operation_id="cell_tile",
        summary=gettext_lazy("网格矢量瓦片"),
        description=gettext_lazy(
            "今天有效的网格，按 Web 墨卡托瓦片 z/x/y 切成 Mapbox 矢量瓦片（MVT，图层 cells，属性："
            "code、name、township、township_name、village、village_name；较低缩放级别只含轮廓）。"
            "没有网格的瓦片返回空内容；请求头接受 gzip 时压缩传输。"
            "缩放级别低于下限或瓦片编号越界返回 400，指明字段。"
        ),
        responses={
            (200, "application/vnd.mapbox-vector-tile"): OpenApiTypes.BINARY,
            400: serializers.FieldErrorsSerializer,
        },
    )
    def get(self, request: Request, z: int, x: int, y: int) -> HttpResponse:
        try:
            data = tiles.cell_tile(z=z, x=x, y=y, on=timezone.localdate())
        except FieldError as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        response = HttpResponse(data, content_type="application/vnd.mapbox-vector-tile")
        response["Vary"] = "Accept-Encoding"
        # Tiles compress to about half (repeated commands, small deltas); every browser asks for gzip.
        if len(data) > 1024 and "gzip" in request.headers.get("Accept-Encoding", ""):
            response.content = gzip.compress(data, compresslevel=5)
            response["Content-Encoding"] = "gzip"
        # Cells change by import only; a browser panning back and forth reuses the tile.
        response["Cache-Control"] = f"public, max-age={settings.GRID_TILE_MAX_AGE}"
        return response
