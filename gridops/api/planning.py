"""Coverage-planning figures for the planner page (selectors in gridops.selectors.planning):

    GET /api/v1/coverage-versions/{id}/figures/              per zone and per team, workload balance
    GET /api/v1/coverage-versions/{id}/diff/[?against=id]    what publishing {id} would change
                                                             (against: default the version in force)

Readable by planners, supervisors, dispatchers (and the admin group) and superusers; 403 for other
signed-in users. These paths sit next to geodata's router (`coverage-versions/{pk}/` and its named
actions), which matches neither of them.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geodata.api.views import PLANNER_GROUP
from geodata.models import CoverageVersion
from gridops.selectors.planning import coverage_draft_diff, coverage_zone_figures
from gridops.selectors.reports import DISPATCHER_GROUPS

SUPERVISOR_GROUP = "supervisor"
READER_GROUPS = (PLANNER_GROUP, SUPERVISOR_GROUP, *DISPATCHER_GROUPS)
_TAGS = ["coverage-planning"]


class CanReadPlanningFigures(BasePermission):
    message = gettext_lazy("只有片区规划员、督查员和调度员可以查看规划统计。")

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return False
        return user.is_superuser or user.groups.filter(name__in=READER_GROUPS).exists()


def _version(pk: int) -> CoverageVersion:
    version = CoverageVersion.objects.filter(pk=pk).first()
    if version is None:
        raise NotFound(_("没有编号为 %(id)s 的覆盖版本。") % {"id": pk})
    return version


class CoverageFiguresView(APIView):
    """每个执法片区的面积、网格、乡镇、人员、驻地到最远网格的距离、近 90 天上报与人均上报。"""

    permission_classes = (CanReadPlanningFigures,)

    @extend_schema(
        tags=_TAGS,
        operation_id="coverage_version_figures",
        summary=gettext_lazy("片区统计（工作量均衡）"),
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="docs/PLANNING.md"),
            404: OpenApiResponse(description="{detail}"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(coverage_zone_figures(version=_version(pk)))


class CoverageDiffView(APIView):
    """发布前对比：换队伍的网格、将换承办队伍的未办结上报、各队每月工作量的变化。"""

    permission_classes = (CanReadPlanningFigures,)

    @extend_schema(
        tags=_TAGS,
        operation_id="coverage_version_diff",
        summary=gettext_lazy("发布前对比"),
        parameters=[
            OpenApiParameter(
                "against",
                OpenApiTypes.INT,
                description=gettext_lazy("对比的覆盖版本编号（默认：当前生效的版本）"),
            )
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="docs/PLANNING.md"),
            400: OpenApiResponse(description="{against: [...]}"),
            404: OpenApiResponse(description="{detail}"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        draft = _version(pk)
        raw = request.query_params.get("against", "").strip()
        against = None
        if raw:
            if not raw.isdigit():
                raise ValidationError({"against": [_("请填写覆盖版本编号（整数）。")]})
            against = CoverageVersion.objects.filter(pk=int(raw)).first()
            if against is None:
                raise ValidationError({"against": [_("没有编号为 %(id)s 的覆盖版本。") % {"id": raw}]})
        return Response(coverage_draft_diff(draft=draft, against=against))
