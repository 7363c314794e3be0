"""Inspection planning over HTTP, under /api/v1/inspections/ (docs/INSPECTIONS.md has the table).

    targets/                 GET list (?township ?industry ?colour ?kind ?no_disturbance ?q), POST
    targets/{id}/            GET (with colour history), PATCH
    targets/{id}/colour/     POST {colour, reason}
    targets/import/          POST multipart {file, commit=false, skip_bad=false} → rows, problems
    inspectors/              GET the roster (geodata Officer) with qualifications (?domain ?team)
    inspectors/{id}/qualification/   PUT {domains, certificate_valid_from/until, active_for_draws}
    conflicts/               GET, POST {officer, target, reason}; conflicts/{id}/ DELETE
    plans/                   GET (?year ?month ?team), POST; plans/{id}/ GET with checks
    plans/{id}/checks/       POST {target, matter, domain, due_from, due_until, mandatory, mandatory_reason}
    joint-visits/proposals/  GET (?year&month | ?start&end, ?radius_m) computes; POST commits
    joint-visits/            GET (?start ?end ?status); joint-visits/{id}/ GET
    joint-visits/{id}/open-case/  POST (dispatcher): the case in the closed loop
    draws/{id}/open-cases/        POST (dispatcher): one case per drawn check
    joint-visits/{id}/cancel/     POST
    draws/                   GET, POST runs; draws/{id}/ GET; draws/{id}/replay/ GET;
    draws/{id}/publish/      POST; draws/{id}/outcome/ POST {position, outcome, note}
    public/draws/            GET, anyone: published draws and their results only
    indicators/              GET ?start&end | ?year[&month]

Who reads and writes what is inspections/scopes.py (docs/INSPECTIONS.md has the table per role):
every list and detail goes through its row rules, so a row outside the caller's scope is absent
from lists and its detail or action answers 404; a visible row the caller may not change answers
403 naming why; a role with no use for the app (grid worker, citizen) gets 403 everywhere but the
public draws. Every caller mistake answers 400 {field: [message]}.
"""

from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geodata.api.filters import StrictBooleanFilter
from geodata.api.parsers import JSONParser
from geodata.errors import FieldError
from geodata.models import Domain, Matter, Officer, Region, Team
from gridops.api.indicators import indicator_places
from gridops.scopes import may_read_indicators
from gridops.services.cases import CasePermissionDenied
from inspections import scopes, selectors, services
from inspections.api import serializers as s
from inspections.models import CreditColour, Draw, DrawResult, InspectionPlan, JointVisit, Target
from inspections.periods import period_check, period_of

_TAGS = ["inspections"]


class ReadsInspections(BasePermission):
    message = gettext_lazy("只有片区规划员、调度员、督查员、执法队员和管理员可以查看检查计划。")

    def has_permission(self, request, view) -> bool:
        return scopes.may_read_inspections(request.user)


class WritesInspections(BasePermission):
    """Writes something somewhere (the object's own rule then decides); an officer may only
    record the outcome of a drawn check."""

    message = gettext_lazy("只有片区规划员、调度员和管理员可以编辑检查计划。")

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) == "outcome":
            return scopes.may_record_outcomes(request.user)
        return scopes.may_write_inspections(request.user)


class EditsRegistry(BasePermission):
    message = gettext_lazy(
        "执法对象名录、人员资格、回避申报和联合检查合并由县级片区规划员、调度员和管理员维护。"
    )

    def has_permission(self, request, view) -> bool:
        return scopes.may_edit_registry(request.user)


def refuse(field: str, message: str):
    """A visible object the caller may not change: 403 naming the field (the object exists for
    them, so saying so tells nothing new)."""
    raise exceptions.PermissionDenied({field: [message]})


class ErrorsMixin:
    """Service refusals as field-level 4xx answers; reads for the app's readers, writes for its
    writers (`registry_writes`: the county-level ones)."""

    registry_writes = False

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [IsAuthenticated(), ReadsInspections()]
        writes = EditsRegistry() if self.registry_writes else WritesInspections()
        return [IsAuthenticated(), ReadsInspections(), writes]

    def handle_exception(self, exc):
        if isinstance(exc, services.TargetInvalid):
            exc = exceptions.ValidationError(exc.as_dict())
        elif isinstance(exc, FieldError):
            exc = exceptions.ValidationError({exc.field: [exc.message]})
        elif isinstance(exc, CasePermissionDenied):
            exc = exceptions.PermissionDenied({"action": [exc.message]})
        return super().handle_exception(exc)


def _int_param(params, name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise FieldError(name, _("应为整数。")) from None


def _text_param(params, name: str) -> str | None:
    """A text parameter; a NUL character (which PostgreSQL text cannot hold) is a 400, not a 500."""
    raw = params.get(name) or None
    if raw is not None and "\x00" in raw:
        raise FieldError(name, _("不能包含空字符（NUL）。"))
    return raw


def _date_param(params, name: str) -> date | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise FieldError(name, _("日期格式应为 YYYY-MM-DD。")) from None


def period_from(params) -> tuple[date, date]:
    """?start&end, or ?year[&month]; one of the two is required."""
    start, end = _date_param(params, "start"), _date_param(params, "end")
    if start or end:
        if not (start and end):
            raise FieldError("end" if start else "start", _("start 和 end 须同时填写。"))
        return period_check(start=start, end=end)
    year = params.get("year")
    if year in (None, ""):
        raise FieldError("year", _("请填写期间：year（可加 month），或 start 和 end。"))
    year = year if isinstance(year, int) else _int_param(params, "year")
    month = params.get("month")
    month = month if isinstance(month, int) or month is None else _int_param(params, "month")
    return period_of(year=year, month=month)


PERIOD_PARAMETERS = [
    OpenApiParameter("year", OpenApiTypes.INT, description=gettext_lazy("年度")),
    OpenApiParameter("month", OpenApiTypes.INT, description=gettext_lazy("月份（1–12）")),
    OpenApiParameter("start", OpenApiTypes.DATE, description=gettext_lazy("开始日期（与 end 一起）")),
    OpenApiParameter("end", OpenApiTypes.DATE, description=gettext_lazy("结束日期")),
]
SCOPE_PARAMETERS = [
    OpenApiParameter("township", OpenApiTypes.STR, description=gettext_lazy("乡镇（街道）代码")),
    OpenApiParameter("team", OpenApiTypes.STR, description=gettext_lazy("队伍编号")),
]
ERRORS = {
    400: OpenApiResponse(description="{字段: [错误说明]}"),
    403: OpenApiResponse(description="无权操作"),
}


# --- Targets --------------------------------------------------------------------------------------


class TargetFilter(django_filters.FilterSet):
    township = django_filters.CharFilter(help_text=gettext_lazy("乡镇（街道）代码"))
    industry = django_filters.CharFilter()
    colour = django_filters.MultipleChoiceFilter(choices=CreditColour.choices)
    kind = django_filters.ChoiceFilter(choices=Target.Kind.choices)
    no_disturbance = StrictBooleanFilter()
    q = django_filters.CharFilter(help_text=gettext_lazy("名称、地址或信用代码"))

    class Meta:
        model = Target
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(tags=_TAGS, summary=gettext_lazy("执法对象名录")),
    retrieve=extend_schema(tags=_TAGS, responses={200: s.TargetDetailSerializer}),
)
class TargetViewSet(
    ErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """执法对象名录库：企业、个体工商户、场所。"""

    queryset = Target.objects.none()
    serializer_class = s.TargetSerializer
    filter_backends = (django_filters.DjangoFilterBackend,)
    filterset_class = TargetFilter
    lookup_value_regex = r"\d+"
    parser_classes = (JSONParser, MultiPartParser, FormParser)
    registry_writes = True

    def get_serializer_class(self):
        return s.TargetDetailSerializer if self.action == "retrieve" else s.TargetSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        filterset = TargetFilter(self.request.query_params, queryset=queryset)
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        params = {k: v for k, v in filterset.form.cleaned_data.items() if v not in (None, "", [])}
        return selectors.target_list(**params, visible_to=self.request.user)

    def get_object(self) -> Target:
        target = selectors.target_get(pk=int(self.kwargs["pk"]), visible_to=self.request.user)
        if target is None:
            raise exceptions.NotFound(_("没有编号为 %(id)s 的执法对象。") % {"id": self.kwargs["pk"]})
        return target

    def _raw(self, request) -> dict:
        incoming = s.TargetWriteSerializer(data=request.data, partial=self.action == "partial_update")
        incoming.is_valid(raise_exception=True)
        return {k: v for k, v in incoming.validated_data.items() if k in request.data}

    @extend_schema(
        tags=_TAGS, request=s.TargetWriteSerializer, responses={201: s.TargetDetailSerializer, **ERRORS}
    )
    def create(self, request: Request) -> Response:
        target = services.target_create(raw=self._raw(request), actor=request.user)
        return Response(
            s.TargetDetailSerializer(selectors.target_get(pk=target.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        tags=_TAGS, request=s.TargetWriteSerializer, responses={200: s.TargetDetailSerializer, **ERRORS}
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        target = services.target_update(target=self.get_object(), raw=self._raw(request), actor=request.user)
        return Response(s.TargetDetailSerializer(selectors.target_get(pk=target.pk)).data)

    @extend_schema(
        tags=_TAGS, request=s.ColourSetSerializer, responses={200: s.TargetDetailSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def colour(self, request: Request, pk=None) -> Response:
        """调整信用等级（记录变更历史）。"""
        incoming = s.ColourSetSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.target_colour_set(
            target=self.get_object(),
            colour=incoming.validated_data["colour"],
            reason=incoming.validated_data["reason"],
            actor=request.user,
        )
        return Response(s.TargetDetailSerializer(selectors.target_get(pk=int(pk))).data)

    @extend_schema(
        tags=_TAGS,
        request={"multipart/form-data": s.TargetImportSerializer},
        responses={200: s.TargetImportResultSerializer, **ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_(self, request: Request) -> Response:
        """从 CSV / Excel 导入名录：默认只校验（dry run），逐行报告问题。"""
        incoming = s.TargetImportSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        result = services.targets_import(
            file=v["file"],
            name=v["file"].name,
            commit=v["commit"],
            skip_bad=v["skip_bad"],
            actor=request.user,
        )
        return Response(result.as_dict())


# --- Roster ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=_TAGS,
        summary=gettext_lazy("执法人员名录库"),
        parameters=[
            OpenApiParameter("domain", OpenApiTypes.STR, enum=Domain.values),
            OpenApiParameter("team", OpenApiTypes.STR, description=gettext_lazy("队伍编号")),
        ],
    ),
    retrieve=extend_schema(tags=_TAGS),
)
class InspectorViewSet(
    ErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """执法人员名录（geodata 的 Officer）及其检查资格。"""

    queryset = Officer.objects.none()
    serializer_class = s.InspectorSerializer
    lookup_value_regex = r"\d+"
    registry_writes = True

    def get_queryset(self):
        params = self.request.query_params
        domain = params.get("domain") or None
        if domain and domain not in Domain.values:
            raise FieldError("domain", _("未知领域：%(d)s。") % {"d": domain})
        return selectors.inspector_list(
            domain=domain, team=_text_param(params, "team"), visible_to=self.request.user
        )

    @extend_schema(
        tags=_TAGS, request=s.QualificationSerializer, responses={200: s.InspectorSerializer, **ERRORS}
    )
    @action(detail=True, methods=["put"])
    def qualification(self, request: Request, pk=None) -> Response:
        incoming = s.QualificationSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        officer = self.get_object()
        services.officer_qualification_set(officer=officer, **incoming.validated_data)
        return Response(s.InspectorSerializer(selectors.inspector_list().get(pk=officer.pk)).data)


@extend_schema_view(
    list=extend_schema(tags=_TAGS),
    create=extend_schema(tags=_TAGS, responses={201: s.ConflictSerializer, **ERRORS}),
    destroy=extend_schema(tags=_TAGS),
)
class ConflictViewSet(
    ErrorsMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """回避申报：执法人员 × 执法对象。"""

    serializer_class = s.ConflictSerializer
    lookup_value_regex = r"\d+"
    registry_writes = True

    def get_queryset(self):
        return selectors.conflict_list(visible_to=self.request.user)

    def perform_create(self, serializer):
        v = serializer.validated_data
        serializer.instance = services.conflict_declare(
            officer=v["officer"], target=v["target"], reason=v["reason"], actor=self.request.user
        )


# --- Plans ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=_TAGS,
        parameters=[
            OpenApiParameter("year", OpenApiTypes.INT),
            OpenApiParameter("month", OpenApiTypes.INT),
            OpenApiParameter("team", OpenApiTypes.STR, description=gettext_lazy("队伍编号")),
        ],
    ),
    retrieve=extend_schema(tags=_TAGS, responses={200: s.PlanDetailSerializer}),
)
class PlanViewSet(ErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """各部门年度、月度检查计划及其计划检查。"""

    queryset = InspectionPlan.objects.none()
    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return s.PlanDetailSerializer if self.action == "retrieve" else s.PlanSerializer

    def get_queryset(self):
        p = self.request.query_params
        return selectors.plan_list(
            year=_int_param(p, "year"),
            month=_int_param(p, "month"),
            team=_text_param(p, "team"),
            visible_to=self.request.user,
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "visible_to": self.request.user}

    @extend_schema(
        tags=_TAGS, request=s.PlanWriteSerializer, responses={201: s.PlanDetailSerializer, **ERRORS}
    )
    def create(self, request: Request) -> Response:
        incoming = s.PlanWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = dict(incoming.validated_data)
        team = Team.objects.filter(code=v.pop("team").strip()).first()
        if team is None:
            raise FieldError("team", _("没有该编号的队伍。"))
        if not scopes.may_write_plan_of(request.user, team.pk):
            refuse("team", _("您只能为本人数据范围内的队伍编制检查计划。"))
        plan = services.plan_create(team=team, actor=request.user, **v)
        return Response(
            s.PlanDetailSerializer(plan, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        tags=_TAGS, request=s.PlannedCheckWriteSerializer, responses={201: s.PlannedCheckSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def checks(self, request: Request, pk=None) -> Response:
        plan = self.get_object()
        if not scopes.may_write_plan_of(request.user, plan.team_id):
            refuse("plan", _("您只能编辑本人数据范围内队伍的检查计划。"))
        incoming = s.PlannedCheckWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = dict(incoming.validated_data)
        target = selectors.target_get(pk=v.pop("target"), visible_to=request.user)
        if target is None:
            raise FieldError("target", _("没有该编号的执法对象。"))
        code = (v.pop("matter", "") or "").strip()
        matter = None
        if code:
            matter = Matter.objects.filter(code=code).first()
            if matter is None:
                raise FieldError("matter", _("未知事项编码：%(code)s。") % {"code": code})
        check = services.planned_check_add(plan=plan, target=target, matter=matter, **v)
        return Response(s.PlannedCheckSerializer(check).data, status=status.HTTP_201_CREATED)


# --- Joint visits ---------------------------------------------------------------------------------


def proposal_dict(proposal: services.Proposal, committed: list[JointVisit] | None = None) -> dict:
    def team(t: Team) -> dict:
        return {"id": t.pk, "code": t.code, "name": t.name, "kind": t.kind}

    data = {
        "start": proposal.start,
        "end": proposal.end,
        "radius_m": proposal.radius_m,
        "figures": proposal.figures(),
        "visits": [
            {
                "key": v.key,
                "planned_date": v.planned_date,
                "lead_team": team(v.lead_team),
                "teams": [team(t) for t in v.teams],
                "targets": [
                    {
                        "id": t.pk,
                        "name": t.name,
                        "colour": t.colour,
                        "point": {"type": "Point", "coordinates": [t.point.x, t.point.y]},
                    }
                    for t in v.targets
                ],
                "checks": [s.check_dict(c) for c in v.checks],
                "visits_before": v.visits_before,
            }
            for v in proposal.visits
        ],
        "skipped": [
            {"check": c.pk, "target": c.target_id, "target_name": c.target.name, "reason": reason}
            for c, reason in proposal.skipped
        ],
    }
    if committed is not None:
        data["committed"] = [v.pk for v in committed]
    return data


class CountyReader(BasePermission):
    message = gettext_lazy(
        "联合检查合并建议跨部门、跨乡镇计算，只对县级片区规划员、调度员、督查员和管理员开放。"
    )

    def has_permission(self, request, view) -> bool:
        return scopes.inspection_scope_for(request.user).county


class ProposalView(ErrorsMixin, APIView):
    """综合查一次：GET 计算合并建议（不写入），POST 提交为联合检查。Both county-level: a merge
    crosses departments and townships."""

    registry_writes = True

    def get_permissions(self):
        return [*super().get_permissions(), CountyReader()]

    @extend_schema(
        tags=_TAGS,
        operation_id="inspections_joint_visit_proposals",
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter("radius_m", OpenApiTypes.NUMBER, description=gettext_lazy("合并距离（米）")),
        ],
        responses={200: s.ProposalSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        start, end = period_from(request.query_params)
        radius = request.query_params.get("radius_m")
        try:
            radius_m = float(radius) if radius not in (None, "") else None
        except ValueError:
            raise FieldError("radius_m", _("合并距离应为数字（米）。")) from None
        return Response(proposal_dict(services.joint_visits_propose(start=start, end=end, radius_m=radius_m)))

    @extend_schema(
        tags=_TAGS,
        operation_id="inspections_joint_visit_proposals_commit",
        request=s.ProposalCommitSerializer,
        responses={201: s.ProposalSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        incoming = s.ProposalCommitSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        start, end = period_from(v)
        proposal, created = services.joint_visits_commit(
            start=start, end=end, radius_m=v.get("radius_m"), keys=v.get("keys"), actor=request.user
        )
        return Response(proposal_dict(proposal, created), status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        tags=_TAGS,
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
            OpenApiParameter("status", OpenApiTypes.STR, enum=JointVisit.Status.values),
        ],
    ),
    retrieve=extend_schema(tags=_TAGS),
)
class JointVisitViewSet(
    ErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """已排定的联合检查及其检查案件。"""

    serializer_class = s.JointVisitSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        p = self.request.query_params
        state = p.get("status") or None
        if state and state not in JointVisit.Status.values:
            raise FieldError("status", _("未知状态：%(s)s。") % {"s": state})
        return selectors.visit_list(
            start=_date_param(p, "start"),
            end=_date_param(p, "end"),
            status=state,
            visible_to=self.request.user,
        )

    def _visit_to_change(self) -> JointVisit:
        visit = self.get_object()
        if not scopes.may_act_on_visit(self.request.user, visit):
            refuse("visit", _("该联合检查不由您数据范围内的队伍牵头，也不在您的乡镇（街道）。"))
        return visit

    @extend_schema(tags=_TAGS, request=None, responses={200: s.JointVisitSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="open-case")
    def open_case(self, request: Request, pk=None) -> Response:
        """生成检查案件（调度员）：上报 → 指派牵头队伍 → 立案，之后按闭环办理。"""
        services.inspection_case_open(visit=self._visit_to_change(), actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(tags=_TAGS, request=None, responses={200: s.JointVisitSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        services.joint_visit_cancel(visit=self._visit_to_change())
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)


# --- Draws ----------------------------------------------------------------------------------------


def _draw_townships(filters) -> list[str] | None:
    """The township codes a draw request names (malformed filters: None; the service answers 400)."""
    townships = filters.get("townships") if isinstance(filters, dict) else None
    if isinstance(townships, str):
        return [townships.strip()]
    if isinstance(townships, list) and all(isinstance(t, str) for t in townships):
        return [t.strip() for t in townships if t.strip()]
    return None


@extend_schema_view(
    list=extend_schema(tags=_TAGS, parameters=[OpenApiParameter("published", OpenApiTypes.BOOL)]),
    retrieve=extend_schema(tags=_TAGS, responses={200: s.DrawDetailSerializer}),
)
class DrawViewSet(ErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """双随机抽查：抽取、复核（按种子重放）、公开、登记结果。"""

    queryset = Draw.objects.none()
    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return s.DrawDetailSerializer if self.action == "retrieve" else s.DrawSerializer

    def get_queryset(self):
        raw = (self.request.query_params.get("published") or "").strip().lower()
        if raw and raw not in ("true", "false", "1", "0"):
            raise FieldError("published", _("应为 true 或 false。"))
        return selectors.draw_list(
            published=None if not raw else raw in ("true", "1"), visible_to=self.request.user
        )

    def _detail(self, draw: Draw) -> dict:
        """The draw as retrieve shows it to this caller (the results they may see)."""
        fresh = selectors.draw_list().get(pk=draw.pk)
        return s.DrawDetailSerializer(fresh, context=self.get_serializer_context()).data

    def _draw_to_change(self) -> Draw:
        draw = self.get_object()
        if not scopes.may_act_on_draw(self.request.user, draw):
            refuse("draw", _("该抽查的范围超出您数据范围内的乡镇（街道）。"))
        return draw

    @extend_schema(tags=_TAGS, request=s.DrawRunSerializer, responses={201: s.DrawDetailSerializer, **ERRORS})
    def create(self, request: Request) -> Response:
        incoming = s.DrawRunSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = dict(incoming.validated_data)
        code = (v.pop("matter", "") or "").strip()
        matter = None
        if code:
            matter = Matter.objects.filter(code=code, active=True).first()
            if matter is None:
                raise FieldError("matter", _("未知或已停用的事项编码：%(code)s。") % {"code": code})
        domain = v.pop("domain", None) or (matter.domain if matter else None)
        if domain is None:
            raise FieldError("domain", _("请填写检查领域或事项。"))
        if not scopes.may_draw_in(request.user, _draw_townships(v.get("filters"))):
            refuse("filters", _("请在抽取范围中只选择您数据范围内的乡镇（街道）。"))
        draw = services.draw_run(domain=domain, matter=matter, actor=request.user, **v)
        return Response(self._detail(draw), status=status.HTTP_201_CREATED)

    @extend_schema(tags=_TAGS, responses={200: s.ReplaySerializer})
    @action(detail=True, methods=["get"])
    def replay(self, request: Request, pk=None) -> Response:
        """按记录的种子和抽取池重放，核对结果是否一致。"""
        return Response(services.draw_replay(draw=self.get_object()))

    @extend_schema(tags=_TAGS, request=None, responses={200: s.DrawDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk=None) -> Response:
        draw = services.draw_publish(draw=self._draw_to_change())
        return Response(self._detail(draw))

    @extend_schema(tags=_TAGS, request=None, responses={200: s.DrawDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="open-cases")
    def open_cases(self, request: Request, pk=None) -> Response:
        """生成检查案件（调度员）：每户一件，由抽中的执法人员所在队伍办理，立案后按闭环办理。"""
        draw = self._draw_to_change()
        services.draw_cases_open(draw=draw, actor=request.user)
        return Response(self._detail(draw))

    @extend_schema(
        tags=_TAGS, request=s.DrawOutcomeSerializer, responses={200: s.DrawDetailSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request: Request, pk=None) -> Response:
        """登记一户的检查结果。"""
        draw = self.get_object()
        incoming = s.DrawOutcomeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        result = DrawResult.objects.filter(draw=draw, position=v["position"]).select_related("target").first()
        if result is None:
            raise FieldError("position", _("该抽查没有序号为 %(n)d 的对象。") % {"n": v["position"]})
        if not scopes.may_record_outcome(request.user, result):
            refuse("position", _("只有抽中的执法人员所在队伍或该乡镇（街道）的调度员可以登记检查结果。"))
        services.draw_result_record(result=result, outcome=v["outcome"], note=v.get("note", ""))
        return Response(self._detail(draw))


@extend_schema_view(
    list=extend_schema(tags=_TAGS, summary=gettext_lazy("双随机一公开：已公开的抽查结果")),
    retrieve=extend_schema(tags=_TAGS),
)
class PublicDrawViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """公开：只含已公开的抽查（对象名称、检查结果、执法人员姓名）。"""

    serializer_class = s.PublicDrawSerializer
    permission_classes = (AllowAny,)
    authentication_classes: tuple = ()
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.public_draws()


class ReadsIndicators(BasePermission):
    message = gettext_lazy("只有督查员、调度员和管理员可以查看效能指标。")

    def has_permission(self, request, view) -> bool:
        return may_read_indicators(request.user)


class IndicatorsView(ErrorsMixin, APIView):
    """联合检查减少的检查户次、按信用等级的检查数：like the closed loop's indicators, for
    supervisors, dispatchers and administrators, a scoped one within one township or team of
    their scope at a time (`?township` / `?team`, default the first township of the scope)."""

    def get_permissions(self):
        return [IsAuthenticated(), ReadsIndicators()]

    @extend_schema(
        tags=_TAGS,
        operation_id="inspections_indicators",
        parameters=[*PERIOD_PARAMETERS, *SCOPE_PARAMETERS],
        responses={200: s.InspectionIndicatorsSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        start, end = period_from(request.query_params)
        for name in ("township", "team"):
            _text_param(request.query_params, name)  # a NUL is a 400 before any query
        places = indicator_places(request)
        if (
            places["township"]
            and not Region.objects.filter(code=places["township"], level__in=Region.TOWNSHIP_LEVELS).exists()
        ):
            raise FieldError("township", _("未知乡镇（街道）：%(code)s。") % {"code": places["township"]})
        if places["team"] and not Team.objects.filter(code=places["team"]).exists():
            raise FieldError("team", _("未知队伍：%(code)s。") % {"code": places["team"]})
        return Response(selectors.inspection_indicators(start=start, end=end, **places))
