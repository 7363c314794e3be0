"""Admin: every inspection model, read mostly; writes that have rules go through the services
(colour changes keep their history, draws are never edited: they must replay)."""

from django.contrib import admin, messages
from django.contrib.gis.admin import GISModelAdmin
from django.utils.translation import gettext_lazy as _

from geodata.models import Officer
from inspections import scopes, services
from inspections.models import (
    Conflict,
    CreditColourChange,
    Draw,
    DrawResult,
    InspectionPlan,
    JointVisit,
    OfficerQualification,
    PlannedCheck,
    Target,
    VisitTarget,
)


class ScopedAdmin:
    """Staff see in the admin what they see in the API (inspections/scopes.py): `scoped(user,
    queryset)` filters the model's own rows, or those whose parent (`parent` field) is visible."""

    scoped = None  # (user, queryset) -> queryset
    parent: tuple[str, type, object] | None = None  # (field, parent model, parent's scoped)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.parent is not None:
            field, model, scoped = self.parent
            return queryset.filter(**{f"{field}__in": scoped(request.user, model.objects.all())})
        return type(self).scoped(request.user, queryset)


class ColourChangeInline(admin.TabularInline):
    model = CreditColourChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_colour", "to_colour", "reason", "at", "by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Target)
class TargetAdmin(ScopedAdmin, GISModelAdmin):
    scoped = scopes.target_queryset_for
    list_display = (
        "name",
        "kind",
        "credit_code",
        "township",
        "industry",
        "colour",
        "no_disturbance",
        "active",
    )
    list_filter = ("colour", "kind", "no_disturbance", "active", "township")
    search_fields = ("name", "credit_code", "address")
    readonly_fields = ("colour", "created_at", "updated_at")
    inlines = (ColourChangeInline,)


@admin.register(CreditColourChange)
class CreditColourChangeAdmin(ScopedAdmin, admin.ModelAdmin):
    parent = ("target", Target, scopes.target_queryset_for)
    list_display = ("target", "from_colour", "to_colour", "reason", "at", "by")
    list_filter = ("to_colour",)
    readonly_fields = ("target", "from_colour", "to_colour", "reason", "at", "by")


@admin.register(OfficerQualification)
class OfficerQualificationAdmin(ScopedAdmin, admin.ModelAdmin):
    parent = ("officer", Officer, scopes.inspector_queryset_for)
    list_display = (
        "officer",
        "domains",
        "certificate_valid_from",
        "certificate_valid_until",
        "active_for_draws",
    )
    list_filter = ("active_for_draws",)
    search_fields = ("officer__name", "officer__certificate_no")
    autocomplete_fields = ("officer",)


class PlannedCheckInline(admin.TabularInline):
    model = PlannedCheck
    extra = 0
    raw_id_fields = ("target", "matter", "visit")


@admin.register(InspectionPlan)
class InspectionPlanAdmin(ScopedAdmin, admin.ModelAdmin):
    scoped = scopes.plan_queryset_for
    list_display = ("title", "team", "year", "month", "starts_on", "ends_on")
    list_filter = ("year", "team")
    inlines = (PlannedCheckInline,)


@admin.register(PlannedCheck)
class PlannedCheckAdmin(ScopedAdmin, admin.ModelAdmin):
    scoped = scopes.planned_check_queryset_for
    list_display = ("plan", "target", "matter", "domain", "due_from", "due_until", "mandatory", "visit")
    list_filter = ("domain", "mandatory")
    raw_id_fields = ("target", "matter", "visit")


class VisitTargetInline(admin.TabularInline):
    model = VisitTarget
    extra = 0
    raw_id_fields = ("target",)


@admin.register(JointVisit)
class JointVisitAdmin(ScopedAdmin, admin.ModelAdmin):
    scoped = scopes.visit_queryset_for
    list_display = ("id", "planned_date", "lead_team", "status", "visits_before", "report")
    list_filter = ("status", "lead_team")
    raw_id_fields = ("report",)
    inlines = (VisitTargetInline,)


@admin.register(Conflict)
class ConflictAdmin(ScopedAdmin, admin.ModelAdmin):
    scoped = scopes.conflict_queryset_for
    list_display = ("officer", "target", "reason", "declared_at")
    raw_id_fields = ("officer", "target")


class DrawResultInline(admin.TabularInline):
    model = DrawResult
    extra = 0
    can_delete = False
    readonly_fields = ("position", "target", "colour", "inspectors")
    fields = ("position", "target", "colour", "inspectors", "outcome", "outcome_note")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Draw)
class DrawAdmin(ScopedAdmin, admin.ModelAdmin):
    scoped = scopes.draw_queryset_for
    list_display = ("id", "title", "domain", "draw_date", "seed", "published", "run_by")
    list_filter = ("published", "domain")
    readonly_fields = tuple(
        f
        for f in (
            "title",
            "domain",
            "matter",
            "filters",
            "rates",
            "inspectors_per_target",
            "seed",
            "draw_date",
            "snapshot",
            "pool_hash",
            "conflicts_excluded",
            "run_by",
            "run_at",
            "published",
            "published_at",
        )
    )
    inlines = (DrawResultInline,)
    actions = ("publish",)

    def has_add_permission(self, request) -> bool:
        return False  # a draw is run through the service (seeded, snapshotted), never typed in

    @admin.action(description=_("公开所选抽查"))
    def publish(self, request, queryset):
        for draw in queryset:
            services.draw_publish(draw=draw)
        self.message_user(request, _("已公开。"), messages.SUCCESS)


@admin.register(DrawResult)
class DrawResultAdmin(ScopedAdmin, admin.ModelAdmin):
    parent = ("draw", Draw, scopes.draw_queryset_for)
    list_display = ("draw", "position", "target", "colour", "outcome")
    list_filter = ("outcome", "colour")
    readonly_fields = ("draw", "position", "target", "colour", "inspectors")


@admin.register(VisitTarget)
class VisitTargetAdmin(ScopedAdmin, admin.ModelAdmin):
    parent = ("visit", JointVisit, scopes.visit_queryset_for)
    list_display = ("visit", "target", "colour")
    list_filter = ("colour",)
    raw_id_fields = ("visit", "target")
