"""The command centre's reads: today's figures and the cameras layer.

GET /api/v1/summary/            today's reports, open, overdue, triage, units on patrol, alerts
GET /api/v1/cameras/[?township=]  registered cameras (GeoJSON points; heading, field of view)

Both are the command centre's: dispatchers, supervisors and administrators (403 for other roles),
each figure and camera within the caller's scope (gridops/scopes.py).
"""

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gridops import scopes
from gridops.selectors import command as selectors


class CommandsRole(BasePermission):
    message = gettext_lazy("只有调度员、督查员和管理员可以查看。")

    def has_permission(self, request, view) -> bool:
        return scopes.scope_for(request.user).commands


class SummarySerializer(serializers.Serializer):
    reports_today = serializers.IntegerField(help_text="今日（北京时间）接收的上报")
    open = serializers.IntegerField(help_text="未办结：新上报、待分拣、已受理")
    triage = serializers.IntegerField(help_text="待分拣")
    overdue = serializers.IntegerField(help_text="已超时限的未办结上报")
    units_on_patrol = serializers.IntegerField(help_text="最近 PATROL_ACTIVE_SECONDS 内有定位的巡查单元")
    open_alerts = serializers.IntegerField()
    at = serializers.DateTimeField()


class SummaryView(APIView):
    """今日概况：上报、未办结、超时、在线巡查。"""

    permission_classes = (CommandsRole,)

    @extend_schema(responses={200: SummarySerializer})
    def get(self, request: Request) -> Response:
        return Response(selectors.command_summary(visible_to=request.user))


class CameraSerializer(serializers.Serializer):
    """A camera as a GeoJSON feature: the point is where it stands; the field of view rides along."""

    def to_representation(self, camera) -> dict:
        fov = camera.field_of_view
        return {
            "type": "Feature",
            "id": camera.pk,
            "geometry": {"type": "Point", "coordinates": [camera.location.x, camera.location.y]},
            "properties": {
                "id": camera.pk,
                "code": camera.device.code,
                "name": camera.name,
                "heading": camera.heading,
                "field_of_view": (
                    {"type": "Polygon", "coordinates": [list(map(list, ring)) for ring in fov.coords]}
                    if fov
                    else None
                ),
                "township": (
                    {"code": camera.township.code, "name": camera.township.name}
                    if camera.township_id
                    else None
                ),
                "active": camera.device.revoked_at is None,
            },
        }


@extend_schema_field(OpenApiTypes.OBJECT)
class _FeatureCollection(serializers.Serializer):
    pass


class CameraListView(APIView):
    """已登记的摄像头（GeoJSON），含朝向和视场。"""

    permission_classes = (CommandsRole,)

    @extend_schema(responses={200: _FeatureCollection})
    def get(self, request: Request) -> Response:
        cameras = selectors.camera_list(
            township=request.query_params.get("township") or None, visible_to=request.user
        )
        return Response(
            {"type": "FeatureCollection", "features": [CameraSerializer(c).data for c in cameras]}
        )
