"""GPS pings, patrol units and their alerts over HTTP: thin doors onto gridops.services.pings and
gridops.selectors.units.

    POST /api/v1/pings/                      a tracker's batch (device key only)
    GET  /api/v1/units/[?team=&kind=&outside=]
    GET  /api/v1/units/{id}/
    GET  /api/v1/units/{id}/track/?start=&end=[&zoom=]
    GET  /api/v1/units/{id}/stops/?start=&end=[&stop_seconds=&stop_metres=]   (replay, signed in)
    GET  /api/v1/units/{id}/visited-cells/?start=&end=[&dwell_seconds=]        (replay, signed in)
    GET  /api/v1/units/{id}/track.gpx|track.geojson?start=&end=               (exports, signed in)
    GET  /api/v1/alerts/[?status=&kind=&team=]
    GET  /api/v1/alerts/{id}/
    POST /api/v1/alerts/{id}/acknowledge/    a signed-in user

Who sees which units and alerts is gridops/scopes.py; tracks (track, stops, visited cells,
activity and the exports) only dispatchers, supervisors and administrators, of the units in their
scope. A unit or alert outside the caller's scope answers 404 as if it did not exist.
"""

from datetime import datetime, timedelta

from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ReadOnlyModelViewSet

from geodata.api.filters import StrictBooleanFilter
from geodata.api.parsers import FastJSONParser
from geodata.api.serializers import CodeNameSerializer
from geodata.coords import CRS_CHOICES
from geodata.models import Team
from gridops import scopes
from gridops.auth import DeviceKeyAuthentication, IsTracker
from gridops.models import Alert, Unit
from gridops.ratelimit import DevicePings, UserWrites
from gridops.selectors import replay as replay_selectors
from gridops.selectors import units as selectors
from gridops.services.pings import (
    AlertStateError,
    DeviceNotBound,
    PingBatchError,
    alert_acknowledge,
    ping_batch_ingest,
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("当前状态不允许该操作。")
    default_code = "conflict"


class TrackerOnly(IsTracker):
    message = gettext_lazy("只有定位终端（车载终端、执法终端、无人机）可以上传定位。")


# --- Serializers (documentation of the answers; the service validates the pings itself) -----------


@extend_schema_field(
    {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2, "nullable": True}
)
class LonLatField(serializers.Field):
    """[lon, lat] of a point (WGS-84), like the websocket payloads; null when there is none."""

    def __init__(self, **kwargs) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return [value.x, value.y] if value is not None else None


class PingItemSerializer(serializers.Serializer):
    t = serializers.CharField(help_text=gettext_lazy("定位时间：带时区的 ISO 8601，或 Unix 秒"))
    lon = serializers.FloatField(help_text=gettext_lazy("经度"))
    lat = serializers.FloatField(help_text=gettext_lazy("纬度"))
    speed = serializers.FloatField(required=False, allow_null=True, help_text=gettext_lazy("速度（km/h）"))
    heading = serializers.FloatField(
        required=False, allow_null=True, help_text=gettext_lazy("方向（度，0–360，正北为 0）")
    )
    accuracy = serializers.FloatField(required=False, allow_null=True, help_text=gettext_lazy("精度（米）"))
    crs = serializers.ChoiceField(
        choices=list(CRS_CHOICES), required=False, help_text=gettext_lazy("坐标系，默认取设备登记的坐标系")
    )


class PingBatchRequestSerializer(serializers.Serializer):
    items = PingItemSerializer(many=True, help_text=gettext_lazy("定位点（也可直接提交数组）"))


class PingItemOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text=gettext_lazy("在请求 items 中的序号（从 0 开始）"))
    status = serializers.ChoiceField(choices=["duplicate", "rejected"])
    code = serializers.CharField(help_text=gettext_lazy("原因代码，如 time_in_future、swapped、duplicate"))
    field = serializers.CharField(required=False, help_text=gettext_lazy("出错的字段（仅 rejected）"))
    message = serializers.CharField()


class UnitPositionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    team = serializers.CharField(help_text=gettext_lazy("队伍编号"))
    point = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    heading = serializers.FloatField(allow_null=True)
    speed = serializers.FloatField(allow_null=True)
    fix_at = serializers.DateTimeField(allow_null=True)
    outside_since = serializers.DateTimeField(allow_null=True)


class PingBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    items = PingItemOutcomeSerializer(
        many=True, help_text=gettext_lazy("仅列出未入库的点（重复或拒收）；未列出的序号均已接收")
    )
    unit = UnitPositionSerializer(help_text=gettext_lazy("巡查单元的最新位置"))


class PingErrorsSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.CharField(), required=False)
    device = serializers.ListField(child=serializers.CharField(), required=False)


class UnitRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class UnitSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    team = CodeNameSerializer(read_only=True)
    point = LonLatField(source="fix_point")
    speed = serializers.FloatField(source="fix_speed", read_only=True, allow_null=True)
    heading = serializers.FloatField(source="fix_heading", read_only=True, allow_null=True)

    class Meta:
        model = Unit
        fields = (
            "id",
            "code",
            "name",
            "kind",
            "kind_display",
            "team",
            "plate",
            "active",
            "point",
            "speed",
            "heading",
            "fix_at",
            "outside_since",
        )
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    unit = UnitRefSerializer(read_only=True, allow_null=True)
    team = CodeNameSerializer(read_only=True, allow_null=True)
    township = CodeNameSerializer(read_only=True, allow_null=True)
    point = LonLatField()
    data = serializers.DictField(read_only=True)

    class Meta:
        model = Alert
        fields = (
            "id",
            "kind",
            "kind_display",
            "status",
            "status_display",
            "message",
            "unit",
            "team",
            "township",
            "point",
            "raised_at",
            "cleared_at",
            "data",
        )
        read_only_fields = fields


class TrackSegmentSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    count = serializers.IntegerField()


class TrackIsolatedSerializer(serializers.Serializer):
    time = serializers.DateTimeField()
    point = serializers.ListField(child=serializers.FloatField())
    speed = serializers.FloatField(allow_null=True)
    heading = serializers.FloatField(allow_null=True)


class TrackPropertiesSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    count = serializers.IntegerField(help_text=gettext_lazy("时段内定位点总数"))
    gap_seconds = serializers.IntegerField(help_text=gettext_lazy("相邻定位点间隔超过该秒数即断开轨迹"))
    segments = TrackSegmentSerializer(many=True)
    times = serializers.ListField(
        child=serializers.ListField(child=serializers.DateTimeField()),
        help_text=gettext_lazy("与 geometry.coordinates 一一对应的定位时间"),
    )
    speeds = serializers.ListField(child=serializers.ListField(child=serializers.FloatField(allow_null=True)))
    headings = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(allow_null=True))
    )
    isolated = TrackIsolatedSerializer(many=True, help_text=gettext_lazy("前后都断开、无法连线的单个定位点"))


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {
            "type": {"type": "string", "enum": ["MultiLineString"]},
            "coordinates": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            },
        },
    }
)
class MultiLineStringField(serializers.JSONField):
    pass


class TrackSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = MultiLineStringField()
    properties = TrackPropertiesSerializer()


class ApiErrorsSerializer(serializers.Serializer):
    """4xx: {"<field>": ["message", ...]}."""

    start = serializers.ListField(child=serializers.CharField(), required=False)
    end = serializers.ListField(child=serializers.CharField(), required=False)
    status = serializers.ListField(child=serializers.CharField(), required=False)


class ReplayErrorsSerializer(serializers.Serializer):
    """4xx of the replay endpoints: {"<field>": ["message", ...]}."""

    start = serializers.ListField(child=serializers.CharField(), required=False)
    end = serializers.ListField(child=serializers.CharField(), required=False)
    zoom = serializers.ListField(child=serializers.CharField(), required=False)
    stop_seconds = serializers.ListField(child=serializers.CharField(), required=False)
    stop_metres = serializers.ListField(child=serializers.CharField(), required=False)
    dwell_seconds = serializers.ListField(child=serializers.CharField(), required=False)


class SimplifiedTrackPropertiesSerializer(TrackPropertiesSerializer):
    simplified = serializers.BooleanField(
        required=False, help_text=gettext_lazy("仅带 zoom 时出现，恒为 true")
    )
    tolerance_m = serializers.FloatField(
        required=False, help_text=gettext_lazy("简化容差（米），约为该缩放级别下一个像素")
    )


class SimplifiedTrackSerializer(TrackSerializer):
    properties = SimplifiedTrackPropertiesSerializer()


class StopSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    seconds = serializers.IntegerField()
    point = serializers.ListField(
        child=serializers.FloatField(), help_text=gettext_lazy("停留点（质心）[经度, 纬度]")
    )
    fixes = serializers.IntegerField()


class TripSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    seconds = serializers.IntegerField()
    metres = serializers.FloatField()
    fixes = serializers.IntegerField()


class GapSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    seconds = serializers.IntegerField()


class StopTotalsSerializer(serializers.Serializer):
    metres = serializers.FloatField()
    moving_seconds = serializers.IntegerField()
    stopped_seconds = serializers.IntegerField()
    gap_seconds = serializers.IntegerField()


class StopsSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    stop_seconds = serializers.IntegerField()
    stop_metres = serializers.FloatField()
    count = serializers.IntegerField(help_text=gettext_lazy("时段内定位点总数"))
    stops = StopSerializer(many=True)
    trips = TripSerializer(many=True)
    gaps = GapSerializer(many=True)
    totals = StopTotalsSerializer()


class VisitedCellPropertiesSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    assigned = serializers.BooleanField()
    visited = serializers.BooleanField()
    first_at = serializers.DateTimeField(allow_null=True)
    seconds = serializers.IntegerField(help_text=gettext_lazy("在该网格内累计停留秒数"))


class VisitedCellFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = serializers.JSONField(help_text=gettext_lazy("网格范围（MultiPolygon）"))
    properties = VisitedCellPropertiesSerializer()


class VisitedCellCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = VisitedCellFeatureSerializer(many=True)


class VisitedCellsSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    dwell_seconds = serializers.IntegerField()
    assigned = serializers.IntegerField()
    visited = serializers.IntegerField()
    percentage = serializers.FloatField()
    cells = VisitedCellCollectionSerializer()


# --- Pings ---------------------------------------------------------------------------------------------


class PingBatchView(APIView):
    """A tracker's batch of GPS fixes. Only a device key opens it: a signed-in person's session
    is not even looked at (no CSRF question, and no way to forge a unit's track from a browser)."""

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [TrackerOnly]
    throttle_classes = [DevicePings]
    parser_classes = [FastJSONParser]  # orjson: 107 → 26 µs for 100 fixes (geodata/api/parsers.py)

    @extend_schema(
        operation_id="pings_create",
        summary=gettext_lazy("上传定位（批量）"),
        description=gettext_lazy(
            "定位终端用设备密钥（Authorization: Device <密钥>）上传一批定位点。"
            "逐点判断：接收、重复（同一设备同一定位时间）或拒收（附原因代码与说明）；"
            "部分拒收时仍返回 200。整批格式错误或超过上限返回 400；设备未绑定巡查单元返回 403。"
        ),
        request=PingBatchRequestSerializer,
        responses={
            200: PingBatchResultSerializer,
            400: PingErrorsSerializer,
            401: PingErrorsSerializer,
            403: PingErrorsSerializer,
        },
        examples=[
            OpenApiExample(
                "一批两个点",
                value={
                    "items": [
                        {"t": "2026-05-01T09:30:00+08:00", "lon": 121.87, "lat": 29.47, "speed": 32.5},
                        {"t": 1777599005, "lon": 121.871, "lat": 29.471, "heading": 90, "accuracy": 8},
                    ]
                },
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if isinstance(data, list):
            items = data
        elif isinstance(data, dict) and "items" in data:
            items = data["items"]
        else:
            raise ValidationError({"items": [_('请求体应为 {"items": [...]} 或定位点数组。')]})
        try:
            result = ping_batch_ingest(device=request.auth, items=items)
        except DeviceNotBound as exc:
            raise PermissionDenied({exc.field: [exc.message]}) from None
        except PingBatchError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        return Response(result.as_dict())


# --- Units --------------------------------------------------------------------------------------------


class _NotFoundInChinese:
    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            raise NotFound(
                _("没有%(what)s“%(key)s”。")
                % {"what": self.queryset.model._meta.verbose_name, "key": self.kwargs.get("pk")}
            ) from None


def _team_filter() -> filters.ModelChoiceFilter:
    return filters.ModelChoiceFilter(
        queryset=Team.objects.only("id", "code"),
        to_field_name="code",
        field_name="team",
        help_text=gettext_lazy("队伍编号"),
        error_messages={"invalid_choice": gettext_lazy("未知的队伍编号 %(value)s。")},
    )


class UnitFilter(filters.FilterSet):
    team = _team_filter()
    kind = filters.ChoiceFilter(choices=Unit.Kind.choices, help_text=gettext_lazy("类型"))
    outside = StrictBooleanFilter(
        field_name="outside_since", method="filter_outside", help_text=gettext_lazy("是否正在辖区外")
    )

    class Meta:
        model = Unit
        fields = ("team", "kind", "outside")

    def filter_outside(self, queryset, name, value):
        return queryset if value is None else queryset.filter(outside_since__isnull=not value)


_START_HELP = gettext_lazy("开始时间（默认结束前 24 小时）")
_END_HELP = gettext_lazy("结束时间（默认现在）")


def _range_parameters(*, start=_START_HELP, end=_END_HELP) -> list[OpenApiParameter]:
    """The `start` and `end` query parameters of every track read, documented."""
    return [
        OpenApiParameter("start", OpenApiTypes.DATETIME, description=start),
        OpenApiParameter("end", OpenApiTypes.DATETIME, description=end),
    ]


# The reads of one unit's track (the track, stops, visited cells): tracks are sensitive personal
# information (PIPL), for signed-in users only; one object, no list paging or filters.
_SIGNED_IN_READ = {
    "detail": True,
    "methods": ["get"],
    "pagination_class": None,
    "filter_backends": [],
    "permission_classes": [permissions.IsAuthenticated],
}


class UnitViewSet(_NotFoundInChinese, ReadOnlyModelViewSet):
    """巡查单元及其最新位置；轨迹回放。"""

    queryset = Unit.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = UnitSerializer
    filterset_class = UnitFilter

    # The reads of where a unit has been (PIPL: a person's location track), not where it is now.
    TRACK_ACTIONS = ("track", "stops", "visited_cells", "activity", "track_gpx", "track_geojson")

    def get_queryset(self):
        if self.action in self.TRACK_ACTIONS:
            return scopes.track_unit_queryset_for(self.request.user, selectors.unit_list())
        return scopes.unit_queryset_for(self.request.user, selectors.unit_list())

    def filter_queryset(self, queryset):
        if self.action != "list":  # a detail or track lookup by id ignores the list parameters
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(
        operation_id="units_track",
        summary=gettext_lazy("轨迹回放"),
        description=gettext_lazy(
            "时段内的定位点，按定位时间连成线；相邻两点间隔超过 5 分钟即断开（MultiLineString 的一条线），"
            "不会把断档画成直线。默认最近 24 小时，最长 7 天；不带时区的时间按北京时间（Asia/Shanghai）理解。"
            "带 zoom（0–20）时按该缩放级别简化（Douglas–Peucker，容差约一个像素），"
            "保留的每个点带自己的时间、速度和方向，每条线的首尾点总是保留。"
        ),
        parameters=[
            *_range_parameters(),
            OpenApiParameter(
                "zoom", OpenApiTypes.INT, description=gettext_lazy("地图缩放级别 0–20（不带则不简化）")
            ),
        ],
        filters=False,
        responses={200: SimplifiedTrackSerializer, 400: ReplayErrorsSerializer, 404: ApiErrorsSerializer},
    )
    @action(url_path="track", **_SIGNED_IN_READ)
    def track(self, request: Request, pk=None) -> Response:
        unit = self.get_object()
        start, end = _time_range(request)
        zoom = _parse_number(
            request.query_params.get("zoom"),
            "zoom",
            minimum=replay_selectors.ZOOM_MIN,
            maximum=replay_selectors.ZOOM_MAX,
        )
        return Response(replay_selectors.unit_track_feature(unit=unit, start=start, end=end, zoom=zoom))

    @extend_schema(
        operation_id="units_stops",
        summary=gettext_lazy("停留、行程与断档"),
        description=gettext_lazy(
            "停留：连续定位点始终在其质心 stop_metres 米内、持续不少于 stop_seconds 秒；"
            "行程：停留之间的路段及其里程；断档：超过 5 分钟没有定位，不计入里程。"
            "时段规则同轨迹回放（默认最近 24 小时，最长 7 天）。需登录。"
        ),
        parameters=[
            *_range_parameters(),
            OpenApiParameter(
                "stop_seconds", OpenApiTypes.INT, description=gettext_lazy("停留最短秒数（默认 300）")
            ),
            OpenApiParameter(
                "stop_metres", OpenApiTypes.FLOAT, description=gettext_lazy("停留半径（米，默认 50）")
            ),
        ],
        filters=False,
        responses={200: StopsSerializer, 400: ReplayErrorsSerializer, 404: ApiErrorsSerializer},
    )
    @action(url_path="stops", url_name="stops", **_SIGNED_IN_READ)
    def stops(self, request: Request, pk=None) -> Response:
        unit = self.get_object()
        start, end = _time_range(request)
        stop_seconds = _parse_number(
            request.query_params.get("stop_seconds"), "stop_seconds", minimum=1, maximum=86_400
        )
        stop_metres = _parse_number(
            request.query_params.get("stop_metres"), "stop_metres", minimum=1, maximum=10_000, cast=float
        )
        return Response(
            replay_selectors.unit_stops(
                unit=unit, start=start, end=end, stop_seconds=stop_seconds, stop_metres=stop_metres
            )
        )

    @extend_schema(
        operation_id="units_visited_cells",
        summary=gettext_lazy("巡查覆盖（到访网格）"),
        description=gettext_lazy(
            "巡查单元所属队伍在现行责任划分中的网格，以及时段内到访过的网格："
            "在网格内累计停留不少于 dwell_seconds 秒才算到访（单个漂移点不算）。"
            "默认时段为今天（北京时间 0 点至现在），最长 7 天。需登录。"
        ),
        parameters=[
            *_range_parameters(start=gettext_lazy("开始时间（默认今天 0 点）")),
            OpenApiParameter(
                "dwell_seconds",
                OpenApiTypes.INT,
                description=gettext_lazy("算作到访的最短停留秒数（默认 60）"),
            ),
        ],
        filters=False,
        responses={200: VisitedCellsSerializer, 400: ReplayErrorsSerializer, 404: ApiErrorsSerializer},
    )
    @action(url_path="visited-cells", url_name="visited-cells", **_SIGNED_IN_READ)
    def visited_cells(self, request: Request, pk=None) -> Response:
        unit = self.get_object()
        start, end = _time_range(request, default_start=_today_start)
        dwell = _parse_number(
            request.query_params.get("dwell_seconds"), "dwell_seconds", minimum=0, maximum=86_400
        )
        return Response(
            replay_selectors.unit_visited_cells(unit=unit, start=start, end=end, dwell_seconds=dwell)
        )

    @extend_schema(
        operation_id="units_activity",
        summary=gettext_lazy("巡查单元的办案活动"),
        description=gettext_lazy(
            "时段内派遣给该单元的案件的每一步（派遣、签收、到场、处置、核查……，带发生地点，无定位时用案件位置），"
            "以及该单元设备上报的事件，按时间排序，供轨迹回放的时间轴使用。时段规则同轨迹回放。需登录。"
        ),
        parameters=[*_range_parameters()],
        filters=False,
        responses={200: OpenApiTypes.OBJECT, 400: ReplayErrorsSerializer, 404: ApiErrorsSerializer},
    )
    @action(url_path="activity", url_name="activity", **_SIGNED_IN_READ)
    def activity(self, request: Request, pk=None) -> Response:
        unit = self.get_object()
        start, end = _time_range(request)
        return Response(replay_selectors.unit_activity(unit=unit, start=start, end=end))

    # The exports are not @actions: their URLs end in .gpx / .geojson without a trailing slash,
    # so gridops/api/pings_urls.py maps them by hand (names api:unit-track-gpx / -geojson).

    @extend_schema(
        operation_id="units_track_gpx",
        summary=gettext_lazy("导出轨迹（GPX）"),
        description=gettext_lazy(
            "GPX 1.1，每段无断档的轨迹一个 trkseg，时间为 UTC。时段规则同轨迹回放。需登录。"
        ),
        parameters=[
            *_range_parameters(start=gettext_lazy("开始时间"), end=gettext_lazy("结束时间")),
        ],
        filters=False,
        responses={
            (200, "application/gpx+xml"): OpenApiTypes.STR,
            400: ReplayErrorsSerializer,
            404: ApiErrorsSerializer,
        },
    )
    def track_gpx(self, request: Request, pk=None) -> HttpResponse:
        unit = self.get_object()
        start, end = _time_range(request)
        response = HttpResponse(
            replay_selectors.track_gpx(unit=unit, start=start, end=end), content_type="application/gpx+xml"
        )
        response["Content-Disposition"] = f'attachment; filename="{_export_name(unit, start)}.gpx"'
        return response

    @extend_schema(
        operation_id="units_track_geojson",
        summary=gettext_lazy("导出轨迹（GeoJSON）"),
        description=gettext_lazy("与轨迹回放（不带 zoom）相同的 GeoJSON Feature，作为附件下载。需登录。"),
        parameters=[
            *_range_parameters(start=gettext_lazy("开始时间"), end=gettext_lazy("结束时间")),
        ],
        filters=False,
        responses={
            (200, "application/geo+json"): TrackSerializer,
            400: ReplayErrorsSerializer,
            404: ApiErrorsSerializer,
        },
    )
    def track_geojson(self, request: Request, pk=None) -> HttpResponse:
        unit = self.get_object()
        start, end = _time_range(request)
        response = JsonResponse(
            replay_selectors.unit_track_feature(unit=unit, start=start, end=end),
            content_type="application/geo+json",
            json_dumps_params={"ensure_ascii": False},
        )
        response["Content-Disposition"] = f'attachment; filename="{_export_name(unit, start)}.geojson"'
        return response

    def get_permissions(self):
        if self.action in ("track_gpx", "track_geojson"):
            return [permissions.IsAuthenticated()]
        return super().get_permissions()


def _export_name(unit: Unit, start: datetime) -> str:
    return f"{unit.code}_{timezone.localtime(start).date().isoformat()}"


def _today_start(end: datetime) -> datetime:
    return timezone.localtime(end).replace(hour=0, minute=0, second=0, microsecond=0)


def _time_range(request: Request, *, default_start=None) -> tuple[datetime, datetime]:
    """start/end of a track request: end defaults to now, start to 24 h before end (or
    `default_start(end)`); start before end and at most TRACK_MAX_DAYS apart, else 400."""
    end = _parse_time(request.query_params.get("end"), "end") or timezone.now()
    start = _parse_time(request.query_params.get("start"), "start")
    if start is None:
        start = default_start(end) if default_start else end - timedelta(hours=selectors.TRACK_DEFAULT_HOURS)
    if start >= end:
        raise ValidationError({"start": [_("开始时间必须早于结束时间。")]})
    if end - start > timedelta(days=selectors.TRACK_MAX_DAYS):
        raise ValidationError({"end": [_("时间范围不能超过 %(n)d 天。") % {"n": selectors.TRACK_MAX_DAYS}]})
    return start, end


def _parse_number(raw: str | None, field: str, *, minimum: float, maximum: float, cast=int):
    """An optional integer (or float) query parameter within [minimum, maximum], else 400."""
    if raw is None or not raw.strip():
        return None
    try:
        value = cast(raw.strip())
    except ValueError:
        value = None
    if value is None or value != value or not minimum <= value <= maximum:  # value != value: NaN
        raise ValidationError(
            {field: [_("应为 %(min)s 到 %(max)s 之间的数。") % {"min": minimum, "max": maximum}]}
        )
    return value


def _parse_time(raw: str | None, field: str) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = parse_datetime(raw.strip())
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({field: [_("应为 ISO 8601 时间，例如 2026-05-01T09:30:00+08:00。")]})
    return make_aware(value) if is_naive(value) else value  # naive: Asia/Shanghai (TIME_ZONE)


# --- Alerts -------------------------------------------------------------------------------------------


class AlertFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Alert.Status.choices, help_text=gettext_lazy("状态"))
    kind = filters.ChoiceFilter(choices=Alert.Kind.choices, help_text=gettext_lazy("类型"))
    team = _team_filter()

    class Meta:
        model = Alert
        fields = ("status", "kind", "team")


class AlertViewSet(_NotFoundInChinese, ReadOnlyModelViewSet):
    """告警（如巡查单元驶离辖区），最新的在前。"""

    queryset = Alert.objects.none()  # for schema introspection; requests use get_queryset()
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    throttle_classes = [UserWrites]  # acknowledging is a write; reads are not counted

    def get_queryset(self):
        return scopes.alert_queryset_for(self.request.user, selectors.alert_list())

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(
        operation_id="alerts_acknowledge",
        summary=gettext_lazy("确认告警"),
        description=gettext_lazy(
            "值班人员确认已看到告警（需登录）。重复确认无副作用；已解除的告警返回 409。"
        ),
        request=None,
        responses={200: AlertSerializer, 404: ApiErrorsSerializer, 409: ApiErrorsSerializer},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def acknowledge(self, request: Request, pk=None) -> Response:
        alert = self.get_object()
        try:
            alert = alert_acknowledge(alert=alert, user=request.user)
        except AlertStateError as exc:
            raise Conflict({exc.field: [exc.message]}) from None
        return Response(AlertSerializer(alert).data)
