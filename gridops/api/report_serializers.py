"""Serializers of reports and camera alerts: shapes only; validation of meaning is in the services.

Coordinates and accuracy pass through as sent (RawField) so that gridops.services.reports can
answer "looks swapped", "NaN", "outside the service area" with one message for every door.
"""

import threading

from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gridops.deadlines import report_due_at
from gridops.lifecycle import TRANSITIONS, Referral, step_label
from gridops.models import Report, ReportPhoto
from gridops.realtime.events import local_iso, local_iso_text, ref
from gridops.selectors.reports import phone_mask, user_sees_contact
from gridops.services.cases import case_allowed_actions


@extend_schema_field(OpenApiTypes.NUMBER)
class RawField(serializers.Field):
    """Hands the value to the service untouched (it gives the field-level message)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class ReusedFieldsMixin:
    """An input serializer whose fields are built once per thread and then reused.

    DRF deep-copies every declared field for each serializer instance (`Serializer.fields`), so
    each POSTed report re-instantiated its 14 fields: ~10% of a worker's GIL time per report
    (py-spy --gil, 8 clients). Fields keep no state of their own between validations; what ties
    them to an instance is `parent` (read for `root.partial` and `context`), re-pointed here to
    the current instance. One thread validates one request at a time, so per-thread sets are
    never shared. Only for serializers that validate input (no instance, no nested serializer)."""

    _reused = threading.local()

    @cached_property
    def fields(self):
        by_class = self._reused.__dict__.setdefault("by_class", {})
        fields = by_class.get(type(self))
        if fields is None:
            fields = by_class[type(self)] = serializers.Serializer.fields.func(self)
        else:
            fields.serializer = self
            for field in fields.values():
                field.parent = self
        return fields


class ReportCreateSerializer(ReusedFieldsMixin, serializers.Serializer):
    lon = RawField(help_text=_("经度"))
    lat = RawField(help_text=_("纬度"))
    crs = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text=_("坐标系：wgs84 / gcj02 / bd09")
    )
    matter = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text=_("执法事项编码")
    )
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, trim_whitespace=True
    )
    address = serializers.CharField(required=False, allow_blank=True, max_length=200)
    accuracy = RawField(required=False, allow_null=True, help_text=_("定位精度（米）"))
    priority = serializers.IntegerField(required=False, min_value=0, max_value=1, default=0)
    reported_at = serializers.DateTimeField(required=False, allow_null=True, help_text=_("设备时间"))
    client_uuid = serializers.UUIDField(required=False, allow_null=True, help_text=_("客户端生成的幂等键"))
    source = serializers.ChoiceField(
        choices=[Report.Source.CITIZEN, Report.Source.HOTLINE],
        required=False,
        help_text=_("hotline 仅限调度员登记 12345 工单；默认按账号角色判断"),
    )
    reporter_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    reporter_phone = serializers.RegexField(
        r"^[0-9+\- ]{0,30}$",
        required=False,
        allow_blank=True,
        max_length=30,
        error_messages={"invalid": _("电话号码只能包含数字、+、- 和空格。")},
    )
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, help_text=_("现场照片（multipart，可多张）")
    )


class ReportAssignSerializer(serializers.Serializer):
    team = serializers.CharField(max_length=40, help_text=_("队伍编号"))
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CaseTransitionSerializer(serializers.Serializer):
    """One step of the closed loop. Which fields a step needs is in the detail's
    `case.allowed_actions` (needs_note, needs_location, needs_photos) and gridops/lifecycle.py."""

    action = serializers.ChoiceField(choices=sorted(TRANSITIONS), help_text=_("操作"))
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, help_text=_("说明"))
    lon = RawField(required=False, allow_null=True, help_text=_("操作人所在经度（核查必填）"))
    lat = RawField(required=False, allow_null=True, help_text=_("操作人所在纬度（核查必填）"))
    crs = serializers.CharField(required=False, allow_blank=True, max_length=16)
    unit = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text=_("派遣：巡查单元编号或 id")
    )
    team = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text=_("提请县级 / 移送主管部门：队伍编号")
    )
    to_kind = serializers.ChoiceField(
        choices=sorted(Referral.CHOICES), required=False, allow_blank=True, help_text=_("移送对象类别")
    )
    to_name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text=_("接收移送的机关")
    )
    days = serializers.IntegerField(required=False, allow_null=True, help_text=_("申请延期的工作日数"))
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, help_text=_("处置后照片（multipart，可多张）")
    )


class CaseEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    action = serializers.CharField()
    action_display = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField(allow_null=True)
    actor_name = serializers.CharField()
    at = serializers.CharField()
    point = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    note = serializers.CharField()
    data = serializers.DictField()
    photos = serializers.ListField(child=serializers.DictField())
    hash = serializers.CharField()


class DispatchCandidateSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    unit = serializers.DictField(help_text=_("id, code, name, kind"))
    recommended = serializers.BooleanField(help_text=_("定位新鲜且在办案件未达上限"))
    distance_m = serializers.IntegerField(
        allow_null=True, help_text=_("最新定位到事发地的距离（米）；定位过期为空")
    )
    fix_at = serializers.CharField(allow_null=True)
    fresh = serializers.BooleanField()
    in_hand = serializers.IntegerField(help_text=_("在办案件数"))
    reasons = serializers.ListField(child=serializers.CharField())


class CaseRecordSerializer(serializers.Serializer):
    number = serializers.CharField()
    intact = serializers.BooleanField(help_text=_("记录链完整，未被篡改"))
    problems = serializers.ListField(child=serializers.CharField())
    events = CaseEventSerializer(many=True)


def case_events(report: Report) -> list[dict]:
    """The case's record, oldest first, as the detail and the record endpoint show it."""
    rows = getattr(report, "_prefetched_objects_cache", {}).get("case_events")
    if rows is None:
        rows = report.case_events.select_related("actor").prefetch_related("photos").order_by("seq")
    return [
        {
            "seq": e.seq,
            "action": e.action,
            "action_display": step_label(e.action),
            "from_status": e.from_status,
            "to_status": e.to_status,
            "actor": e.actor.username if e.actor_id else None,
            "actor_name": e.actor_name,
            "at": local_iso(e.at),
            "point": [e.point.x, e.point.y] if e.point else None,
            "note": e.note,
            "data": e.data,
            "photos": [
                {"id": p.id, "image": p.image.url, "thumbnail": p.thumbnail.url} for p in e.photos.all()
            ],
            "hash": e.hash,
        }
        for e in rows
    ]


class CameraAlertSerializer(serializers.Serializer):
    alert_type = serializers.CharField(max_length=32)
    observed_at = serializers.DateTimeField(required=False, allow_null=True)
    lon = RawField(required=False, allow_null=True)
    lat = RawField(required=False, allow_null=True)
    confidence = RawField(required=False, allow_null=True, help_text=_("0–1"))
    event_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    snapshot = serializers.FileField(required=False, help_text=_("抓拍图（multipart）"))


class ReportPhotoSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = ReportPhoto
        fields = ("id", "image", "thumbnail", "width", "height", "original_type", "original_bytes")

    def _url(self, field) -> str | None:
        if not field:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(field.url) if request else field.url

    def get_image(self, photo: ReportPhoto) -> str | None:
        return self._url(photo.image)

    def get_thumbnail(self, photo: ReportPhoto) -> str | None:
        return self._url(photo.thumbnail)


class ReportSerializer(serializers.Serializer):
    """A report as a list row: where, what, who is responsible and why."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    source = serializers.CharField()
    source_display = serializers.CharField(source="get_source_display")
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    priority = serializers.IntegerField()
    point = serializers.SerializerMethodField()
    input_crs = serializers.CharField()
    accuracy = serializers.FloatField(allow_null=True)
    address = serializers.CharField()
    matter = serializers.SerializerMethodField()
    description = serializers.CharField()
    reporter = serializers.SerializerMethodField()
    reporter_name = serializers.CharField()
    reporter_phone = serializers.SerializerMethodField()
    alert_type = serializers.CharField()
    repeat_count = serializers.IntegerField()
    reported_at = serializers.SerializerMethodField()
    received_at = serializers.SerializerMethodField()
    last_seen_at = serializers.SerializerMethodField()
    due_at = serializers.SerializerMethodField(
        help_text=_("时限：未受理按紧急程度计受理时限，已受理按事项办理时限；已办结为空")
    )
    routed = serializers.BooleanField()
    triage_queue = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    township = serializers.SerializerMethodField()
    cell = serializers.SerializerMethodField()
    zone = serializers.SerializerMethodField()
    coverage_version = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()
    photo_count = serializers.SerializerMethodField()
    rework_count = serializers.IntegerField(help_text=_("核查不通过（返工）的次数"))

    # Written out by hand: DRF deep-copies every declared field for each serializer instance and
    # walks them per row; profiled under load that was 18% of the intake's CPU. The declared fields
    # above stay as the OpenAPI description of this shape (tests compare the two).
    def to_representation(self, report: Report) -> dict:
        return {
            "id": report.pk,
            "number": report.number,
            "source": report.source,
            "source_display": report.get_source_display(),
            "status": report.status,
            "status_display": report.get_status_display(),
            "priority": report.priority,
            "point": self.get_point(report),
            "input_crs": report.input_crs,
            "accuracy": report.accuracy,
            "address": report.address,
            "matter": self.get_matter(report),
            "description": report.description,
            "reporter": self.get_reporter(report),
            "reporter_name": report.reporter_name,
            "reporter_phone": self.get_reporter_phone(report),
            "alert_type": report.alert_type,
            "repeat_count": report.repeat_count,
            "reported_at": self.get_reported_at(report),
            "received_at": self.get_received_at(report),
            "last_seen_at": self.get_last_seen_at(report),
            "due_at": self.get_due_at(report),
            "routed": report.routed,
            "triage_queue": self.get_triage_queue(report),
            "team": self.get_team(report),
            "township": self.get_township(report),
            "cell": self.get_cell(report),
            "zone": self.get_zone(report),
            "coverage_version": self.get_coverage_version(report),
            "reasons": self.get_reasons(report),
            "photo_count": self.get_photo_count(report),
            "rework_count": report.rework_count,
        }

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_point(self, report: Report) -> dict:
        return {"type": "Point", "coordinates": [report.point.x, report.point.y]}

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_matter(self, report: Report) -> dict | None:
        return ref(report.matter, "code", "name", "domain")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_reporter(self, report: Report) -> dict | None:
        user = report.reporter
        if user is None:
            return None
        return {"username": user.username, "name": user.get_full_name() or user.username}

    def get_reporter_phone(self, report: Report) -> str:
        request = self.context.get("request")
        if request is not None and user_sees_contact(user=request.user):
            return report.reporter_phone
        return phone_mask(report.reporter_phone)

    def get_reported_at(self, report: Report) -> str | None:
        return local_iso(report.reported_at)

    def get_received_at(self, report: Report) -> str | None:
        return local_iso(report.received_at)

    def get_last_seen_at(self, report: Report) -> str | None:
        return local_iso(report.last_seen_at)

    def get_due_at(self, report: Report) -> str | None:
        return local_iso(report_due_at(report))

    def get_triage_queue(self, report: Report) -> str | None:
        return report.triage_queue or None

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_team(self, report: Report) -> dict | None:
        return ref(report.team, "code", "name", "phone")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_township(self, report: Report) -> dict | None:
        return ref(report.township, "code", "name")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_cell(self, report: Report) -> dict | None:
        return ref(report.cell, "code", "name")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_zone(self, report: Report) -> dict | None:
        return (report.routing or {}).get("zone")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_coverage_version(self, report: Report) -> dict | None:
        return (report.routing or {}).get("coverage_version")

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_reasons(self, report: Report) -> list[dict]:
        return (report.routing or {}).get("reasons", [])

    def get_photo_count(self, report: Report) -> int:
        count = getattr(report, "photo_count", None)
        if count is not None:
            return count
        cache = getattr(report, "_prefetched_objects_cache", {})
        if "photos" in cache:
            return len(cache["photos"])
        return report.photos.count()


class ReportDetailSerializer(ReportSerializer):
    """A report with its photos, village, camera and a basic timeline."""

    village = serializers.SerializerMethodField()
    camera = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    case = serializers.SerializerMethodField()

    def to_representation(self, report: Report) -> dict:
        data = super().to_representation(report)
        data["village"] = self.get_village(report)
        data["camera"] = self.get_camera(report)
        data["photos"] = self.get_photos(report)
        events = case_events(report)
        data["timeline"] = self._timeline(report, events)
        data["case"] = self._case(report, events)
        return data

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_case(self, report: Report) -> dict:
        return self._case(report, case_events(report))

    def _case(self, report: Report, events: list[dict]) -> dict:
        """Where the case stands, its record and what the caller may do next."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        unit = report.assigned_unit
        return {
            "registered_at": local_iso(report.registered_at),
            "dispatched_at": local_iso(report.dispatched_at),
            "arrived_at": local_iso(report.arrived_at),
            "handled_at": local_iso(report.handled_at),
            "closed_at": local_iso(report.closed_at),
            "assigned_unit": ref(unit, "id", "code", "name"),
            "handler": (
                {
                    "username": report.handler.username,
                    "name": report.handler.get_full_name() or report.handler.username,
                }
                if report.handler_id
                else None
            ),
            "escalated_from": ref(report.escalated_from, "code", "name"),
            "escalation_due_at": local_iso(report.escalation_due_at),
            "suspended_from": report.suspended_from or None,
            "referral": (
                {**report.referral, "at": local_iso_text(report.referral.get("at"))}
                if report.referral
                else None
            ),
            "extension_request": (
                {
                    "days": report.extension_request["days"],
                    "reason": report.extension_request.get("reason", ""),
                }
                if report.extension_request
                else None
            ),
            "extension_count": report.extension_count,
            "rework_count": report.rework_count,
            "events": events,
            "allowed_actions": case_allowed_actions(report=report, user=user) if user is not None else [],
        }

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_village(self, report: Report) -> dict | None:
        return (report.routing or {}).get("village")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_camera(self, report: Report) -> dict | None:
        if report.camera_id is None:
            return None
        return {"id": report.camera_id, "name": report.camera.name}

    @extend_schema_field(ReportPhotoSerializer(many=True))
    def get_photos(self, report: Report) -> list[dict]:
        photos = report.photos.all()
        if not photos:  # a new report's (pre-filled, no query): no list serializer to build for it
            return []
        return ReportPhotoSerializer(photos, many=True, context=self.context).data

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_timeline(self, report: Report) -> list[dict]:
        return self._timeline(report, case_events(report))

    def _timeline(self, report: Report, events: list[dict]) -> list[dict]:
        """Intake (reported, received, routed, repeats), then every step of the case."""
        routing = report.routing or {}
        items = [{"event": "received", "at": local_iso(report.received_at)}]
        if report.reported_at:
            items.insert(0, {"event": "reported", "at": local_iso(report.reported_at)})
        routed_at = local_iso_text(routing.get("routed_at"))
        if routing.get("team"):
            items.append(
                {"event": "routed", "at": routed_at, "team": (routing.get("team") or {}).get("code")}
            )
        else:
            items.append({"event": "triage", "at": routed_at, "queue": routing.get("triage_queue")})
        if report.repeat_count > 1:
            items.append(
                {
                    "event": "repeated",
                    "at": local_iso(report.last_seen_at),
                    "repeat_count": report.repeat_count,
                }
            )
        items.extend(routing.get("timeline", []))  # steps recorded before the case record existed
        for e in events:
            items.append(
                {
                    "event": e["action"],
                    "label": e["action_display"],
                    "at": e["at"],
                    "actor": e["actor"],
                    "actor_name": e["actor_name"],
                    "note": e["note"],
                    "to_status": e["to_status"],
                    "to_team": e["data"].get("to_team"),
                    "from_team": e["data"].get("from_team"),
                    "photos": e["photos"],
                }
            )
        return items
