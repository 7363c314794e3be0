"""效能监督 over HTTP: thin doors onto gridops.selectors.indicators and gridops.selectors.reviews.

    GET /api/v1/indicators/?start=&end=[&township=&team=&interval=day|week|month]
        headline indicators, counts, per-team and per-township tables, cases per township over time
    GET /api/v1/indicators/review.xlsx?kind=daily|weekly|monthly&date=YYYY-MM-DD[&township=&team=]
        the review report (日碰头、周例会、月通报) as an Excel workbook

Supervisors, dispatchers, administrators and superusers only (403 for everyone else). A scoped
supervisor or dispatcher (gridops/scopes.py) reads one of their townships or teams at a time:
without `township` / `team` the first township of their scope (else its first team); a township
or team outside the scope answers 400 exactly as an unknown one does (existence is not told).
Dates are
Asia/Shanghai calendar days; a bad date, an end before the start, a span over 366 days or an
unknown township or team answers 400 naming the parameter.
"""

from datetime import date
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geodata.errors import FieldError
from gridops import scopes
from gridops.selectors import indicators as selectors
from gridops.selectors.reviews import REVIEW_KINDS, XLSX_TYPE, review_workbook


class ReadsIndicators(permissions.BasePermission):
    message = gettext_lazy("只有督查员、调度员和管理员可以查看效能指标。")

    def has_permission(self, request, view) -> bool:
        return scopes.may_read_indicators(request.user)


# --- Documentation of the answers ------------------------------------------------------------------


class FigureSerializer(serializers.Serializer):
    value = serializers.FloatField(
        allow_null=True, help_text=gettext_lazy("比率（0–1）、小时或分钟；分母为 0 时为 null")
    )
    numerator = serializers.FloatField(help_text=gettext_lazy("分子（平均值为时长之和）"))
    denominator = serializers.IntegerField(help_text=gettext_lazy("分母（件数）"))
    label = serializers.CharField()
    unit = serializers.ChoiceField(choices=["ratio", "hours", "minutes"])
    definition = serializers.CharField()
    target = serializers.FloatField(required=False, help_text=gettext_lazy("目标值（乡镇处置占比：0.8）"))


class IndicatorSetSerializer(serializers.Serializer):
    closure_rate = FigureSerializer(help_text=gettext_lazy("结案率"))
    on_time_rate = FigureSerializer(help_text=gettext_lazy("按期结案率"))
    rework_rate = FigureSerializer(help_text=gettext_lazy("返工率"))
    extension_rate = FigureSerializer(help_text=gettext_lazy("延期率"))
    avg_handling_hours = FigureSerializer(help_text=gettext_lazy("平均办理时长（小时）"))
    avg_response_minutes = FigureSerializer(help_text=gettext_lazy("平均响应时间（分钟）"))
    township_share = FigureSerializer(help_text=gettext_lazy("乡镇处置占比"))


class CountsSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    registered = serializers.IntegerField()
    not_registered = serializers.IntegerField()
    closed = serializers.IntegerField()
    escalated = serializers.IntegerField()
    referred = serializers.IntegerField()
    overdue_now = serializers.IntegerField()


class PlaceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class TeamRefSerializer(PlaceSerializer):
    kind = serializers.CharField()


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    time_zone = serializers.CharField()
    as_of = serializers.DateTimeField()


class ScopeSerializer(serializers.Serializer):
    township = PlaceSerializer(allow_null=True)
    team = TeamRefSerializer(allow_null=True)


class TeamRowSerializer(serializers.Serializer):
    team = TeamRefSerializer(allow_null=True, help_text=gettext_lazy("null：未分派（待分拣）"))
    counts = CountsSerializer()
    indicators = IndicatorSetSerializer()


class TownshipRowSerializer(serializers.Serializer):
    township = PlaceSerializer(allow_null=True, help_text=gettext_lazy("null：网格外"))
    counts = CountsSerializer()
    indicators = IndicatorSetSerializer()


class SeriesRowSerializer(serializers.Serializer):
    township = PlaceSerializer(allow_null=True)
    counts = serializers.ListField(child=serializers.IntegerField())
    total = serializers.IntegerField()


class SeriesSerializer(serializers.Serializer):
    interval = serializers.ChoiceField(choices=selectors.INTERVALS)
    buckets = serializers.ListField(child=serializers.DateField(), help_text=gettext_lazy("各时间段的首日"))
    townships = SeriesRowSerializer(many=True)


class IndicatorsSerializer(serializers.Serializer):
    period = PeriodSerializer()
    scope = ScopeSerializer()
    counts = CountsSerializer()
    indicators = IndicatorSetSerializer()
    teams = TeamRowSerializer(many=True)
    townships = TownshipRowSerializer(many=True)
    series = SeriesSerializer()


class IndicatorErrorsSerializer(serializers.Serializer):
    """400: {"<parameter>": ["message", ...]}."""

    start = serializers.ListField(child=serializers.CharField(), required=False)
    end = serializers.ListField(child=serializers.CharField(), required=False)
    township = serializers.ListField(child=serializers.CharField(), required=False)
    team = serializers.ListField(child=serializers.CharField(), required=False)
    interval = serializers.ListField(child=serializers.CharField(), required=False)
    kind = serializers.ListField(child=serializers.CharField(), required=False)
    date = serializers.ListField(child=serializers.CharField(), required=False)


_SCOPE_PARAMETERS = [
    OpenApiParameter("township", str, description=gettext_lazy("乡镇（街道）区划代码")),
    OpenApiParameter("team", str, description=gettext_lazy("队伍编号（当前责任队伍）")),
]


# --- Input ------------------------------------------------------------------------------------------


def _date(request: Request, name: str, default: date) -> date:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = parse_date(raw)
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({name: [_("日期格式应为 YYYY-MM-DD。")]})
    return value


def _code(request: Request, name: str) -> str | None:
    return (request.query_params.get(name) or "").strip() or None


def indicator_places(request: Request) -> dict:
    """The township and team asked for, kept within the caller's scope."""
    township, team = _code(request, "township"), _code(request, "team")
    allowed = scopes.indicator_scope(request.user)
    if allowed is None:
        return {"township": township, "team": team}
    townships, teams = allowed
    if township is None and team is None:
        if townships:
            return {"township": min(townships), "team": None}
        if teams:
            return {"township": None, "team": min(teams)}
        raise FieldError("township", _("您的数据范围内没有乡镇或队伍。"))
    # Both given: their intersection is in scope when either one is.
    if (township is not None and township in townships) or (team is not None and team in teams):
        return {"township": township, "team": team}
    if township is not None and township not in townships:
        raise FieldError("township", _("未知乡镇（街道）：%(code)s。") % {"code": township})
    raise FieldError("team", _("未知队伍：%(code)s。") % {"code": team})


class _IndicatorView(APIView):
    permission_classes = (ReadsIndicators,)

    def handle_exception(self, exc):
        if isinstance(exc, FieldError):
            exc = ValidationError({exc.field: [exc.message]})
        return super().handle_exception(exc)


class IndicatorsView(_IndicatorView):
    """效能指标：结案率、按期结案率、返工率、延期率、平均办理时长、响应时间、乡镇处置占比，
    分队伍、分乡镇，以及各乡镇上报数随时间的变化。"""

    @extend_schema(
        operation_id="indicators",
        summary=gettext_lazy("效能指标"),
        description=gettext_lazy(
            "期内立案的案件为各比率和平均值的统计对象；定义见各指标的 definition 和 docs/INDICATORS.md。"
            "日期为北京时间的自然日，时段不超过 366 天。督查员、调度员、管理员可用。"
        ),
        parameters=[
            OpenApiParameter(
                "start", OpenApiTypes.DATE, description=gettext_lazy("开始日期（含），默认今天")
            ),
            OpenApiParameter(
                "end", OpenApiTypes.DATE, description=gettext_lazy("结束日期（含），默认同开始日期")
            ),
            *_SCOPE_PARAMETERS,
            OpenApiParameter(
                "interval",
                str,
                enum=list(selectors.INTERVALS),
                description=gettext_lazy("趋势图的时间粒度；默认按时段长短选择"),
            ),
        ],
        responses={200: IndicatorsSerializer, 400: IndicatorErrorsSerializer},
    )
    def get(self, request: Request) -> Response:
        start = _date(request, "start", timezone.localdate())
        end = _date(request, "end", start)
        query = {"start": start, "end": end, **indicator_places(request)}
        now = timezone.now()
        figures = selectors.indicators_compute(**query, now=now)
        figures["teams"] = selectors.indicators_by_team(**query, now=now)
        figures["townships"] = selectors.indicators_by_township(**query, now=now)
        figures["series"] = selectors.indicators_series(**query, interval=_code(request, "interval"))
        return Response(figures)


class ReviewExportView(_IndicatorView):
    """日碰头、周例会、月通报：导出 Excel。"""

    @extend_schema(
        operation_id="indicators_review_xlsx",
        summary=gettext_lazy("导出评议报表（Excel）"),
        description=gettext_lazy(
            "日碰头为当日，周例会为所在周（周一至周日），月通报为所在月。工作表：指标（含定义）、按队伍、"
            "按乡镇、超期与返工案件。时间为北京时间。"
        ),
        parameters=[
            OpenApiParameter("kind", str, required=True, enum=list(REVIEW_KINDS)),
            OpenApiParameter("date", OpenApiTypes.DATE, description=gettext_lazy("报表所属日期，默认今天")),
            *_SCOPE_PARAMETERS,
        ],
        responses={(200, XLSX_TYPE): OpenApiTypes.BINARY, 400: IndicatorErrorsSerializer},
    )
    def get(self, request: Request) -> HttpResponse:
        kind = _code(request, "kind")
        if kind not in REVIEW_KINDS:
            raise ValidationError(
                {"kind": [_("报表类型只能是 daily（日碰头）、weekly（周例会）或 monthly（月通报）。")]}
            )
        review = review_workbook(
            kind=kind,
            day=_date(request, "date", timezone.localdate()),
            **indicator_places(request),
        )
        response = HttpResponse(review.content, content_type=XLSX_TYPE)
        # RFC 6266: an ASCII fallback for old clients, the real (Chinese) name as filename*.
        response["Content-Disposition"] = (
            f"attachment; filename=\"{review.ascii_filename}\"; filename*=UTF-8''{quote(review.filename)}"
        )
        return response
