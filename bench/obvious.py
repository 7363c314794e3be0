"""The obvious way to take a report, served beside ours by bench/intake.py ("(a) the obvious way").

What a team would write first with Django REST framework and PostGIS, doing the same work as
POST /api/v1/reports/ for the bench's reports (a point inside the grid, a township matter):

- DRF's stock token authentication (one query for the token and its user) and a ModelSerializer;
  the matter checked by a SlugRelatedField (one query);
- routing in the database: the cell covering the point with its village and township (ST_Covers
  on the GiST index; their polygons left unread), the published coverage version in force, the
  zone of that version holding the cell for the matter's domain, with its team (three queries),
  and the reasons in words;
- the idempotency key looked up before the insert (one query), the report saved by the ORM in a
  transaction, and after the commit a notice sent to a channel-layer group (the consoles' path
  without an outbox: what is lost when Redis is away is lost);
- the ModelSerializer's answer.

Not served by the platform: bench/obvious_settings.py adds its URL for the bench server only.
No rate limit is checked (ours pays a Redis call for one), so the comparison favours this side.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from rest_framework import generics, serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from geodata.models import CoverageVersion, GridCell, Matter, ZoneCell
from gridops.models import Report

GROUP = "bench-obvious"
GEOMETRIES = ("geom", "village__geom", "township__geom")


class ObviousReportSerializer(serializers.ModelSerializer):
    lon = serializers.FloatField(write_only=True, min_value=-180, max_value=180)
    lat = serializers.FloatField(write_only=True, min_value=-90, max_value=90)
    crs = serializers.ChoiceField(choices=["wgs84"], write_only=True, required=False)
    matter = serializers.SlugRelatedField(
        slug_field="code", queryset=Matter.objects.filter(active=True), required=False, allow_null=True
    )
    client_uuid = serializers.UUIDField(write_only=True, required=False)

    class Meta:
        model = Report
        read_only_fields = [
            "source",
            "status",
            "routed",
            "triage_queue",
            "team",
            "township",
            "cell",
            "zone",
            "routing",
            "received_at",
        ]
        writable = ["lon", "lat", "crs", "matter", "description", "priority", "client_uuid"]
        fields = ["id", *writable, *read_only_fields]


def _route(point: Point, matter: Matter | None, now) -> dict:
    """Cell, township, zone and team from the database, with the reasons in words."""
    fields = {"routed": False, "triage_queue": "outside_grid", "status": Report.Status.TRIAGE}
    today = timezone.localdate(now)
    cell = (
        GridCell.objects.select_related("village", "township")
        .defer(*GEOMETRIES)  # polygons read but never used: the one care taken
        .filter(geom__covers=point, valid_from__lte=today)
        .exclude(valid_to__lt=today)
        .order_by("code")
        .first()
    )
    if cell is None:
        outside = {"code": "outside_grid", "text": "该点不在任何有效网格内。"}
        return {**fields, "routing": {"reasons": [outside]}}
    reasons = [
        {"code": "cell", "text": f"该点位于网格 {cell.code}（{cell.name}）。"},
        {"code": "region", "text": f"网格隶属 {cell.township.name} {cell.village.name}。"},
    ]
    domain = matter.responsible_domain if matter else "comprehensive"
    version = (
        CoverageVersion.objects.filter(status="published", effective_from__lte=now)
        .order_by("-effective_from")
        .first()
    )
    zone_cell = (
        ZoneCell.objects.select_related("zone__team")
        .defer("zone__geom")
        .filter(cell=cell, zone__version=version, zone__domain=domain)
        .first()
        if version
        else None
    )
    fields.update(cell=cell, township=cell.township, coverage_version=version)
    if zone_cell is None:
        reasons.append({"code": "no_zone", "text": "没有负责该网格的执法片区。"})
        fields["triage_queue"] = "no_zone"
    else:
        zone = zone_cell.zone
        reasons.append({"code": "team", "text": f"责任队伍：{zone.team.name}。"})
        fields.update(zone=zone, team=zone.team, routed=True, triage_queue="", status=Report.Status.NEW)
    fields["routing"] = {"reasons": reasons, "routed_at": now.isoformat()}
    return fields


class ObviousReportCreate(generics.CreateAPIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list = []
    serializer_class = ObviousReportSerializer

    def create(self, request, *args, **kwargs):
        incoming = self.get_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        v = incoming.validated_data
        key = f"obvious:u{request.user.pk}:{v['client_uuid']}" if v.get("client_uuid") else None
        if key and (stored := Report.objects.filter(idempotency_key=key).first()):
            return Response(self.get_serializer(stored).data, status=status.HTTP_200_OK)
        now = timezone.now()
        point = Point(v["lon"], v["lat"], srid=4326)
        with transaction.atomic():
            report = Report.objects.create(
                source=Report.Source.GRID_WORKER,
                point=point,
                matter=v.get("matter"),
                description=v.get("description", ""),
                priority=v.get("priority", Report.Priority.NORMAL),
                reporter=request.user,
                idempotency_key=key,
                received_at=now,
                last_seen_at=now,
                **_route(point, v.get("matter"), now),
            )
            transaction.on_commit(lambda: _notify(report))
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)


def _notify(report: Report) -> None:
    async_to_sync(get_channel_layer().group_send)(
        GROUP, {"type": "report.created", "id": report.pk, "team": report.team_id}
    )
