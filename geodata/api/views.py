"""Read-only API over the map of responsibility, and the routing door.

Views stay thin: querysets come from geodata.selectors, parameters are parsed by the FilterSets in
geodata.api.filters, routing is geodata.routing.route(). Detail views (`/{code}/`) ignore the list
parameters and return the stored geometry of any object, valid today or not.
"""

from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import Field
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ReadOnlyModelViewSet

from geodata import selectors
from geodata.api import filters, serializers
from geodata.api.pagination import FeaturePagination
from geodata.coords import CRS_CHOICES, point_from_request
from geodata.errors import FieldError
from geodata.models import CoverageVersion, EnforcementZone, GridCell, Matter, Region, Team
from geodata.routing import route


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


class CoverageVersionViewSet(_ReadOnlyViewSet):
    """覆盖版本。"""

    queryset = CoverageVersion.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = serializers.CoverageVersionSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet:
        return selectors.coverage_version_list()

    def get_serializer_context(self) -> dict:
        in_force = selectors.coverage_version_in_force()
        return {**super().get_serializer_context(), "in_force_id": in_force.pk if in_force else None}


class ZoneViewSet(_ListFiltersOnlyMixin, _ReadOnlyViewSet):
    """执法片区（网格合并后的范围），GeoJSON。"""

    queryset = EnforcementZone.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = serializers.ZoneSerializer
    filterset_class = filters.ZoneFilter
    pagination_class = FeaturePagination

    def get_queryset(self) -> QuerySet:
        return selectors.zone_list()


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
