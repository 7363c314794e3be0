"""Report intake and dispatcher actions over HTTP; camera alerts with device keys.

    POST /api/v1/reports/                      signed-in user (session + CSRF, or Token); JSON or
                                               multipart with `photos` files
    GET  /api/v1/reports/                      list, newest first, filtered, paginated
                                               (?status ?open ?source ?team ?township ?matter ?domain
                                               ?routed ?since ?mine)
    GET  /api/v1/reports/{id}/                 detail: routing reasons, photos, timeline, the case
                                               (its steps and the actions allowed to the caller)
    POST /api/v1/reports/{id}/transition/      a step of the closed loop: {"action", "note", "lon",
                                               "lat", "unit", "team", "to_kind", "to_name", "days"}
                                               (+ `photos` files); who may is gridops/lifecycle.py
    GET  /api/v1/reports/{id}/record/          the full-process record and whether its chain holds
    GET  /api/v1/reports/{id}/recommend/       dispatcher: the team's units to send, best first, why
    POST /api/v1/reports/{id}/assign/          dispatcher: {"team": code, "note": ...}
    POST /api/v1/camera-alerts/                camera device key: `Authorization: Device <key>`

Every read and action sees only the reports in the caller's scope (gridops/scopes.py): the list
leaves the others out, a detail or action on one of them answers 404 as if it did not exist.

Where the source comes from (kept simple on purpose): a member of the grid_worker group reports
as `grid_worker`; a dispatcher (or admin) may register a 12345 call with `"source": "hotline"`;
everyone else, and anyone who says `"source": "citizen"`, is a `citizen`. Cameras come through
/camera-alerts/, Open311 through its façade.

Idempotency: `client_uuid` in the body or the `Idempotency-Key` header (both given and different:
400). Keys are per user (stored as "u<user id>:<key>"), so one user's key can never return
another user's report. A replay answers 200 with `Idempotent-Replayed: true` and the same body.

Every caller mistake is a 4xx with {field: [message]}: FieldError → 400, a reused key with a
different payload → 422, a body over the limit → 413 (checked from Content-Length before reading
and again while reading JSON, so a client that lies about its length is caught too).
"""

import io
import logging
from datetime import UTC

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext as _
from django_filters import rest_framework as django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geodata.api.errors import too_large
from geodata.api.filters import StrictBooleanFilter
from geodata.api.parsers import JSONParser
from geodata.errors import FieldError
from geodata.models import Domain, Team
from gridops import scopes
from gridops.api import report_serializers as serializers
from gridops.auth import DeviceKeyAuthentication, IsCamera
from gridops.models import Camera, Device, Report, Unit
from gridops.ratelimit import DeviceAlerts, UserWrites
from gridops.record import record_verify
from gridops.selectors import reports as selectors
from gridops.selectors.dispatch import dispatch_recommend
from gridops.services.cameras import camera_alert_submit
from gridops.services.cases import CasePermissionDenied, Step, case_transition
from gridops.services.reports import IdempotencyConflict, ReportInput, report_assign, report_submit

logger = logging.getLogger("gridops.api")

IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"
IDEMPOTENCY_KEY_MAX = 64


# --- errors ------------------------------------------------------------------------------------


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"


def body_limit(request) -> int:
    """Multipart carries photos (each checked again against PHOTO_MAX_BYTES); anything else is
    bounded by DATA_UPLOAD_MAX_MEMORY_SIZE."""
    if (request.content_type or "").startswith("multipart/"):
        return settings.PHOTO_MAX_BYTES * settings.PHOTO_MAX_PER_REPORT + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class BoundedJSONParser(JSONParser):
    """DRF reads JSON straight from the stream, bypassing DATA_UPLOAD_MAX_MEMORY_SIZE: bound it."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise too_large(limit)
        return super().parse(io.BytesIO(raw), media_type, parser_context)


class IntakeErrorsMixin:
    """Turns service and request-size errors into field-level 4xx answers (never a 500)."""

    parser_classes = (BoundedJSONParser, MultiPartParser, FormParser)

    def initial(self, request: Request, *args, **kwargs) -> None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise exceptions.ValidationError({"body": [_("Content-Length 无效。")]}) from None
        limit = body_limit(request)
        if length > limit:
            raise too_large(limit)
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, IdempotencyConflict):
            exc = Unprocessable({exc.field: [exc.message]})
        elif isinstance(exc, FieldError):
            exc = exceptions.ValidationError({exc.field: [exc.message]})
        elif isinstance(exc, RequestDataTooBig):
            exc = too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
            exc = exceptions.ValidationError({"body": [_("请求中的字段或文件过多。")]})
        return super().handle_exception(exc)


# --- permissions ---------------------------------------------------------------------------------


class IsDispatcher(BasePermission):
    message = _("只有调度员可以执行此操作。")

    def has_permission(self, request, view) -> bool:
        return selectors.user_is_dispatcher(user=request.user)


# --- reports ------------------------------------------------------------------------------------


class ReportPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ReportFilter(django_filters.FilterSet):
    """Parses and checks the list parameters; the query itself is selectors.report_list()."""

    status = django_filters.MultipleChoiceFilter(
        choices=Report.Status.choices, help_text=_("状态；可重复（?status=dispatched&status=accepted）")
    )
    source = django_filters.ChoiceFilter(choices=Report.Source.choices)
    team = django_filters.CharFilter(help_text=_("队伍编号"))
    township = django_filters.CharFilter(help_text=_("乡镇（街道）代码"))
    matter = django_filters.CharFilter(help_text=_("执法事项编码"))
    domain = django_filters.ChoiceFilter(choices=Domain.choices, help_text=_("事项领域"))
    open = StrictBooleanFilter(help_text=_("true：只看未办结（结案、不予立案、移送以外的状态）"))
    routed = StrictBooleanFilter()
    since = django_filters.IsoDateTimeFilter(help_text=_("接收时间不早于（ISO 8601）"))
    mine = StrictBooleanFilter(help_text=_("只看我上报的"))

    class Meta:
        model = Report
        fields: list[str] = []


def _idempotency_key(request: Request, client_uuid) -> tuple[str | None, str]:
    """(key scoped to the user, the field the caller used for it)."""
    header = (request.META.get(IDEMPOTENCY_HEADER) or "").strip()
    body = str(client_uuid) if client_uuid else ""
    if header and len(header) > IDEMPOTENCY_KEY_MAX:
        raise FieldError(
            "idempotency_key", _("Idempotency-Key 不能超过 %(n)d 个字符。") % {"n": IDEMPOTENCY_KEY_MAX}
        )
    if header and body and header.lower() != body.lower():
        raise FieldError("client_uuid", _("client_uuid 与 Idempotency-Key 请求头不一致。"))
    raw = body or header
    if not raw:
        return None, "client_uuid"
    return f"u{request.user.pk}:{raw.lower() if body else raw}", "client_uuid" if body else "idempotency_key"


def _source_for(user, asked: str | None) -> str:
    if asked == Report.Source.HOTLINE:
        if not selectors.user_is_dispatcher(user=user):
            raise FieldError("source", _("只有调度员可以登记 12345 热线工单。"))
        return Report.Source.HOTLINE
    if asked == Report.Source.CITIZEN:
        return Report.Source.CITIZEN
    if selectors.user_is_grid_worker(user=user):
        return Report.Source.GRID_WORKER
    return Report.Source.CITIZEN


class ReportViewSet(
    IntakeErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """上报事件：上报、列表、详情，以及调度员的受理和指派。"""

    queryset = Report.objects.none()  # for schema introspection; requests use the selectors
    permission_classes = (IsAuthenticated,)
    throttle_classes = (UserWrites,)  # writes per user (gridops/ratelimit.py); reads are not counted
    pagination_class = ReportPagination
    filter_backends = (django_filters.DjangoFilterBackend,)
    filterset_class = ReportFilter
    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return serializers.ReportSerializer if self.action == "list" else serializers.ReportDetailSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        filterset = ReportFilter(self.request.query_params, queryset=queryset)
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        params = {k: v for k, v in filterset.form.cleaned_data.items() if v not in (None, "", [])}
        if "since" in params:
            # PostgreSQL refuses offsets beyond ±15:59 (Python allows ±23:59): compare in UTC.
            try:
                params["since"] = params["since"].astimezone(UTC)
            except OverflowError:
                raise exceptions.ValidationError({"since": [_("时间超出可表示的范围。")]}) from None
        mine = params.pop("mine", False)
        user = self.request.user
        return selectors.report_list(**params, reporter=user if mine else None, visible_to=user)

    def get_object(self) -> Report:
        # Outside the caller's scope reads as absent: 404, never 403 (gridops/scopes.py).
        report = selectors.report_get(pk=int(self.kwargs["pk"]), visible_to=self.request.user)
        if report is None:
            raise exceptions.NotFound(_("没有编号为 %(id)s 的上报。") % {"id": self.kwargs["pk"]})
        return report

    def _detail(self, report: Report, **kwargs) -> Response:
        fresh = selectors.report_get(pk=report.pk)
        return Response(self.get_serializer(fresh).data, **kwargs)

    @extend_schema(
        request=serializers.ReportCreateSerializer,
        responses={
            201: serializers.ReportDetailSerializer,
            200: OpenApiResponse(serializers.ReportDetailSerializer, description="幂等重放"),
            400: OpenApiResponse(description="{字段: [错误说明]}"),
            413: OpenApiResponse(description="请求内容过大"),
            422: OpenApiResponse(description="幂等键已用于内容不同的上报"),
        },
    )
    def create(self, request: Request) -> Response:
        incoming = serializers.ReportCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        key, key_field = _idempotency_key(request, v.get("client_uuid"))
        data = ReportInput(
            source=_source_for(request.user, v.get("source")),
            lon=v["lon"],
            lat=v["lat"],
            crs=v.get("crs") or None,
            matter_code=v.get("matter") or None,
            description=v.get("description", ""),
            address=v.get("address", ""),
            accuracy=v.get("accuracy"),
            priority=v.get("priority", Report.Priority.NORMAL),
            reporter_name=v.get("reporter_name", ""),
            reporter_phone=v.get("reporter_phone", ""),
            reported_at=v.get("reported_at"),
        )
        try:
            report, created = report_submit(
                data=data,
                reporter=request.user,
                idempotency_key=key,
                photos=request.FILES.getlist("photos"),
            )
        except IdempotencyConflict as exc:
            raise Unprocessable({key_field: [exc.message]}) from None
        if created:
            # The report in memory carries everything the answer shows (see apply_route): no re-read.
            return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)
        return self._detail(report, status=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})

    @extend_schema(
        request={
            "application/json": serializers.CaseTransitionSerializer,
            "multipart/form-data": serializers.CaseTransitionSerializer,
        },
        responses={
            200: serializers.ReportDetailSerializer,
            400: OpenApiResponse(description="{字段: [错误说明]}"),
            403: OpenApiResponse(description="无权执行该操作"),
        },
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk=None) -> Response:
        incoming = serializers.CaseTransitionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        step = Step(
            note=v.get("note", ""),
            lon=v.get("lon"),
            lat=v.get("lat"),
            crs=v.get("crs") or None,
            photos=tuple(request.FILES.getlist("photos")),
            unit=v.get("unit") or None,
            team=v.get("team") or None,
            to_kind=v.get("to_kind") or None,
            to_name=v.get("to_name", ""),
            days=v.get("days"),
        )
        try:
            report = case_transition(
                report=self.get_object(), action=v["action"], actor=request.user, step=step
            )
        except CasePermissionDenied as exc:
            logger.info("case step %s on %s refused for %s: %s", v["action"], pk, request.user, exc.message)
            raise exceptions.PermissionDenied({"action": [exc.message]}) from None
        return self._detail(report)

    @extend_schema(responses={200: serializers.DispatchCandidateSerializer(many=True)})
    @action(detail=True, methods=["get"], permission_classes=(IsAuthenticated, IsDispatcher))
    def recommend(self, request: Request, pk=None) -> Response:
        """派遣推荐：责任队伍的巡查单元，按可用、距离排序，附理由。"""
        rows = dispatch_recommend(report=self.get_object())
        # A township dispatcher may see a case of a county team whose units are not theirs to see.
        units = Unit.objects.filter(pk__in=[r["unit"]["id"] for r in rows])
        visible = set(scopes.unit_queryset_for(request.user, units).values_list("pk", flat=True))
        rows = [r for r in rows if r["unit"]["id"] in visible]
        for rank, row in enumerate(rows, start=1):
            row["rank"] = rank
        return Response(rows)

    @extend_schema(responses={200: serializers.CaseRecordSerializer})
    @action(detail=True, methods=["get"])
    def record(self, request: Request, pk=None) -> Response:
        report = self.get_object()
        _checked, problems = record_verify(reports=[report])
        data = {
            "number": report.number,
            "intact": not problems,
            "problems": [str(p) for p in problems],
            "events": serializers.case_events(report),
        }
        return Response(data)

    @extend_schema(
        request=serializers.ReportAssignSerializer, responses={200: serializers.ReportDetailSerializer}
    )
    @action(detail=True, methods=["post"], permission_classes=(IsAuthenticated, IsDispatcher))
    def assign(self, request: Request, pk=None) -> Response:
        incoming = serializers.ReportAssignSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        code = incoming.validated_data["team"].strip()
        team = Team.objects.filter(code=code).first()
        if team is None:
            raise FieldError("team", _("没有编号为 %(code)s 的队伍。") % {"code": code})
        report = report_assign(
            report=self.get_object(),
            team=team,
            actor=request.user,
            note=incoming.validated_data.get("note", ""),
        )
        return self._detail(report)


# --- camera alerts ------------------------------------------------------------------------------


class CameraAlertView(IntakeErrorsMixin, APIView):
    """摄像头告警：同一摄像头同类告警在合并窗口内并入未办结的上报。"""

    authentication_classes = (DeviceKeyAuthentication,)
    permission_classes = (IsCamera,)
    throttle_classes = (DeviceAlerts,)

    @extend_schema(
        request=serializers.CameraAlertSerializer,
        responses={
            201: OpenApiResponse(description="新上报：{report, merged: false, repeat_count}"),
            200: OpenApiResponse(description="已并入未办结的上报：{report, merged: true, repeat_count}"),
            400: OpenApiResponse(description="{字段: [错误说明]}"),
        },
    )
    def post(self, request: Request) -> Response:
        device: Device = request.auth
        camera = Camera.objects.select_related("device").filter(device=device).first()
        if camera is None:
            raise exceptions.PermissionDenied({"device": [_("该设备未登记为摄像头。")]})
        incoming = serializers.CameraAlertSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        event_id = (v.get("event_id") or "").strip()
        report, merged = camera_alert_submit(
            camera=camera,
            alert_type=v["alert_type"],
            observed_at=v.get("observed_at"),
            lon=v.get("lon"),
            lat=v.get("lat"),
            confidence=v.get("confidence"),
            snapshot=request.FILES.get("snapshot"),
            idempotency_key=f"camera:{device.code}:{event_id}" if event_id else None,
        )
        fresh = selectors.report_get(pk=report.pk)
        body = {
            "report": serializers.ReportSerializer(fresh, context={"request": request}).data,
            "merged": merged,
            "repeat_count": fresh.repeat_count,
        }
        return Response(body, status=status.HTTP_200_OK if merged else status.HTTP_201_CREATED)
