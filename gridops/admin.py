"""The admin of operations (zh-hans): devices and their keys, cameras, units, reports, alerts.

Writes that have a service go through it, so the admin behaves like every other door: device keys
are issued and revoked by gridops.auth, reports are acknowledged by report_acknowledge. Reports
and alerts are read-mostly here: they are created by intake and changed by dispatchers' actions
(with their realtime events), never edited field by field.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from geodata.errors import FieldError
from gridops import scopes
from gridops.auth import device_key_issue, device_key_revoke, device_key_rotate
from gridops.models import Alert, Camera, CaseEvent, Device, Report, ReportPhoto, Unit
from gridops.services.cases import CasePermissionDenied, case_transition


class _ReadOnlyMixin:
    """Every field read-only, nothing added or deleted by hand."""

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        own = tuple(super().get_readonly_fields(request, obj))
        hidden = set(own) | set(self.exclude or ())
        return own + tuple(f.name for f in self.model._meta.fields if f.name not in hidden)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "key_state",
        "key_prefix",
        "key_issued_at",
        "jt808_terminal",
        "last_seen_at",
    )
    list_filter = ("kind",)
    search_fields = ("code", "name", "jt808_terminal")
    # JT/T 808 binding: the terminal number is edited here; its authentication code is issued by
    # the gateway at registration (gridops/jt808/registry.py) and only its hash is kept.
    exclude = ("key_hash", "jt808_auth_hash")
    readonly_fields = (
        "key_prefix",
        "key_issued_at",
        "revoked_at",
        "last_seen_at",
        "created_at",
        "jt808_auth_issued_at",
    )
    actions = ("issue_key", "rotate_key", "revoke_key")

    @admin.display(description=_("密钥状态"))
    def key_state(self, device: Device) -> str:
        if device.revoked_at is not None:
            return gettext("已吊销")
        return gettext("有效") if device.key_hash else gettext("未签发")

    @admin.action(description=_("签发新密钥（旧密钥立即失效）"), permissions=("change",))
    def issue_key(self, request: HttpRequest, queryset: QuerySet) -> None:
        # The key is shown once, in this message, and never stored: only its hash is kept.
        for device in queryset:
            key = device_key_issue(device=device)
            self.message_user(
                request,
                gettext("设备 %(device)s 的新密钥（只显示这一次，请立即复制到设备配置中）：%(key)s")
                % {"device": device.code, "key": key},
                level=messages.WARNING,
            )

    @admin.action(description=_("轮换密钥（旧密钥在宽限期内仍可用）"), permissions=("change",))
    def rotate_key(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Zero downtime: the old key keeps working for DEVICE_KEY_ROTATION_GRACE_MINUTES.
        grace = timedelta(minutes=settings.DEVICE_KEY_ROTATION_GRACE_MINUTES)
        for device in queryset:
            key = device_key_rotate(device=device, grace=grace)
            self.message_user(
                request,
                gettext(
                    "设备 %(device)s 的新密钥（只显示这一次，请在 %(until)s 前配置到设备上，"
                    "届时旧密钥失效）：%(key)s"
                )
                % {
                    "device": device.code,
                    "until": date_format(timezone.localtime(device.key_previous_until), "Y-m-d H:i")
                    if device.key_previous_until
                    else "—",
                    "key": key,
                },
                level=messages.WARNING,
            )

    @admin.action(description=_("吊销密钥"), permissions=("change",))
    def revoke_key(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for device in queryset.filter(revoked_at__isnull=True):
            device_key_revoke(device=device)
            count += 1
        self.message_user(request, gettext("已吊销 %(n)d 台设备的密钥。") % {"n": count})


@admin.register(Camera)
class CameraAdmin(LeafletGeoAdmin):
    list_display = ("name", "device", "township", "heading")
    list_select_related = ("device", "township")
    search_fields = ("name", "device__code")
    autocomplete_fields = ("device", "township")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("device", "township").defer("township__geom")


@admin.register(Unit)
class UnitAdmin(LeafletGeoAdmin):
    list_display = ("code", "name", "kind", "team", "device", "active", "fix_at", "outside_since")
    list_filter = ("kind", "active", "team")
    list_select_related = ("team", "device")
    search_fields = ("code", "name", "plate")
    autocomplete_fields = ("team", "device")
    # The live position is written by the ping service only (it moves forward in fix time).
    readonly_fields = ("fix_at", "fix_point", "fix_speed", "fix_heading", "outside_since")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).select_related("team", "device").defer("team__base")
        return scopes.unit_queryset_for(request.user, queryset)  # staff see their scope's units only


CASE_FIELDS = (
    "due_at",
    "registered_at",
    "dispatched_at",
    "arrived_at",
    "handled_at",
    "closed_at",
    "assigned_unit",
    "handler",
    "escalated_from",
    "escalation_due_at",
    "suspended_from",
    "rework_count",
    "extension_count",
    "record_seq",
)


class CaseEventInline(admin.TabularInline):
    """The full-process record, read-only (append-only; gridops_verify_record checks its chain)."""

    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("seq", "action", "from_status", "to_status", "actor_name", "at", "note", "hash")
    readonly_fields = fields
    ordering = ("seq",)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReportPhotoInline(admin.TabularInline):
    model = ReportPhoto
    extra = 0
    can_delete = False
    fields = ("preview", "width", "height", "original_type", "original_bytes", "sha256", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("预览"))
    def preview(self, photo: ReportPhoto) -> str:
        if not photo.thumbnail:
            return "—"
        return format_html(
            '<a href="{}"><img src="{}" alt="" style="max-height:80px"></a>',
            photo.image.url,
            photo.thumbnail.url,
        )


@admin.register(Report)
class ReportAdmin(_ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "number_display",
        "source",
        "status",
        "priority",
        "matter",
        "team",
        "township",
        "routed",
        "repeat_count",
        "received_at",
    )
    list_filter = ("status", "source", "routed", "priority", "team")
    list_select_related = ("matter", "team", "township")
    search_fields = ("description", "address", "alert_type", "reporter_name")
    date_hierarchy = "received_at"
    inlines = (ReportPhotoInline, CaseEventInline)
    actions = ("register",)
    exclude = ("point", "routing", "payload_hash", "referral", "extension_request")
    # The case moves only through its steps (gridops.services.cases), never by editing a field here.
    readonly_fields = ("number_display", "lon_lat", "reasons", "status", *CASE_FIELDS)
    fieldsets = (
        (None, {"fields": ("number_display", "source", "status", "priority", "matter", "description")}),
        (_("案件办理"), {"fields": CASE_FIELDS}),
        (_("位置"), {"fields": ("lon_lat", "input_crs", "accuracy", "address")}),
        (
            _("责任队伍与理由"),
            {
                "fields": (
                    "routed",
                    "team",
                    "triage_queue",
                    "township",
                    "cell",
                    "zone",
                    "coverage_version",
                    "reasons",
                )
            },
        ),
        (
            _("来源"),
            {
                "fields": (
                    "reporter",
                    "reporter_name",
                    "reporter_phone",
                    "device",
                    "camera",
                    "alert_type",
                    "repeat_count",
                    "last_seen_at",
                    "idempotency_key",
                    "reported_at",
                    "received_at",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = (
            super()
            .get_queryset(request)
            .select_related("matter", "team", "township")
            .defer("township__geom", "team__base")
        )
        # Staff who are not superusers see (and their record inline shows) their scope's reports.
        return scopes.report_queryset_for(request.user, queryset)

    @admin.display(description=_("编号"), ordering="received_at")
    def number_display(self, report: Report) -> str:
        return report.number

    @admin.display(description=_("经纬度（WGS-84）"))
    def lon_lat(self, report: Report) -> str:
        return f"{report.point.x:.6f}, {report.point.y:.6f}" if report.point else "—"

    @admin.display(description=_("定位理由"))
    def reasons(self, report: Report) -> str:
        items = (report.routing or {}).get("reasons", [])
        if not items:
            return "—"
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{}</li>", ((r["text"],) for r in items)))

    @admin.action(description=_("对所选上报立案"), permissions=("view",))
    def register(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for report in queryset:
            try:
                case_transition(report=report, action="register", actor=request.user)
                done += 1
            except FieldError as exc:
                self.message_user(request, f"{report.number}：{exc.message}", level=messages.WARNING)
            except CasePermissionDenied as exc:
                self.message_user(request, f"{report.number}：{exc.message}", level=messages.WARNING)
        self.message_user(request, gettext("已立案 %(n)d 条。") % {"n": done})


@admin.register(Alert)
class AlertAdmin(_ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("kind", "status", "unit", "team", "township", "message", "raised_at", "cleared_at")
    list_filter = ("kind", "status", "team")
    list_select_related = ("unit", "team", "township")
    search_fields = ("message", "unit__code", "unit__name")
    date_hierarchy = "raised_at"
    exclude = ("point",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = (
            super()
            .get_queryset(request)
            .select_related("unit", "team", "township")
            .defer("township__geom", "team__base")
        )
        return scopes.alert_queryset_for(request.user, queryset)
