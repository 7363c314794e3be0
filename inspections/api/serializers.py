"""Shapes of the inspection API. Geometry as GeoJSON (WGS-84 lon, lat); input as lon/lat."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

from geodata.models import Domain, Officer
from inspections.models import (
    Conflict,
    CreditColour,
    CreditColourChange,
    Draw,
    DrawResult,
    InspectionPlan,
    JointVisit,
    PlannedCheck,
    Target,
)


class InspectionTeamBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class InspectionRegionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class ColourChangeSerializer(serializers.ModelSerializer):
    # Plain strings (green / yellow / red, "" for the first row): one enum per colour field would
    # make the schema name the same choice set three times.
    from_colour = serializers.CharField(read_only=True)
    to_colour = serializers.CharField(read_only=True)
    by = serializers.SerializerMethodField()

    class Meta:
        model = CreditColourChange
        fields = ("from_colour", "to_colour", "reason", "at", "by")

    def get_by(self, obj) -> str | None:
        return obj.by.get_username() if obj.by_id else None


KIND_HELP = _("enterprise 企业 / shop 个体工商户 / site 场所")


class TargetSerializer(serializers.ModelSerializer):
    point = GeometryField(read_only=True)
    # A string rather than an enum: "kind" names other choice sets in the schema (teams, matters).
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    township = InspectionRegionBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Target
        fields = (
            "id",
            "name",
            "kind",
            "credit_code",
            "address",
            "point",
            "township",
            "industry",
            "colour",
            "no_disturbance",
            "no_disturbance_reason",
            "no_disturbance_until",
            "active",
        )


class TargetDetailSerializer(TargetSerializer):
    colour_changes = ColourChangeSerializer(many=True, read_only=True)

    class Meta(TargetSerializer.Meta):
        fields = (*TargetSerializer.Meta.fields, "colour_changes", "created_at", "updated_at")


class TargetWriteSerializer(serializers.Serializer):
    """Raw fields; the service checks them (credit code, coordinates, township) and answers every
    problem by field."""

    name = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.CharField(required=False, help_text=KIND_HELP)
    credit_code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    address = serializers.CharField(required=False, allow_blank=True)
    lon = serializers.CharField(required=False, help_text=_("经度（WGS-84）"))
    lat = serializers.CharField(required=False, help_text=_("纬度（WGS-84）"))
    crs = serializers.ChoiceField(choices=["wgs84", "cgcs2000", "gcj02", "bd09"], required=False)
    township = serializers.CharField(
        required=False, allow_blank=True, help_text=_("乡镇（街道）代码或名称；不填按位置确定")
    )
    industry = serializers.CharField(required=False, allow_blank=True)
    colour = serializers.ChoiceField(choices=CreditColour.choices, required=False)
    colour_reason = serializers.CharField(required=False, allow_blank=True)
    no_disturbance = serializers.BooleanField(required=False)
    no_disturbance_reason = serializers.CharField(required=False, allow_blank=True)
    no_disturbance_until = serializers.DateField(required=False, allow_null=True)


class ColourSetSerializer(serializers.Serializer):
    colour = serializers.ChoiceField(choices=CreditColour.choices)
    reason = serializers.CharField(allow_blank=True)


class TargetImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("CSV（UTF-8 或 GBK）或 .xlsx"))
    commit = serializers.BooleanField(default=False, help_text=_("false：只校验（默认）"))
    skip_bad = serializers.BooleanField(default=False, help_text=_("true：有问题的行跳过，其余写入"))


class TargetImportProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class TargetImportResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    valid = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    committed = serializers.BooleanField()
    problems = TargetImportProblemSerializer(many=True)


DOMAINS_HELP = _("领域代码：") + ", ".join(Domain.values)


class QualificationSerializer(serializers.Serializer):
    domains = serializers.ListField(child=serializers.CharField(), help_text=DOMAINS_HELP)
    certificate_valid_from = serializers.DateField(required=False, allow_null=True)
    certificate_valid_until = serializers.DateField(required=False, allow_null=True)
    active_for_draws = serializers.BooleanField(default=True)


class InspectorSerializer(serializers.ModelSerializer):
    team = InspectionTeamBriefSerializer(read_only=True)
    status = serializers.CharField(read_only=True, help_text=_("staff 在编 / auxiliary 协管"))
    qualification = serializers.SerializerMethodField()

    class Meta:
        model = Officer
        fields = ("id", "name", "team", "status", "certificate_no", "qualification")

    @extend_schema_field(QualificationSerializer(allow_null=True))
    def get_qualification(self, obj):
        q = getattr(obj, "qualification", None)
        if q is None:
            return None
        return {
            "domains": q.domains,
            "certificate_valid_from": q.certificate_valid_from,
            "certificate_valid_until": q.certificate_valid_until,
            "active_for_draws": q.active_for_draws,
        }


class ConflictSerializer(serializers.ModelSerializer):
    officer_name = serializers.CharField(source="officer.name", read_only=True)
    target_name = serializers.CharField(source="target.name", read_only=True)

    class Meta:
        model = Conflict
        fields = ("id", "officer", "officer_name", "target", "target_name", "reason", "declared_at")
        read_only_fields = ("declared_at",)
        validators: list = []  # the service answers a duplicate by field


class PlannedCheckSerializer(serializers.ModelSerializer):
    target_name = serializers.CharField(source="target.name", read_only=True)
    matter_code = serializers.CharField(source="matter.code", read_only=True, allow_null=True, default=None)
    team = serializers.CharField(source="plan.team.code", read_only=True)

    class Meta:
        model = PlannedCheck
        fields = (
            "id",
            "plan",
            "team",
            "target",
            "target_name",
            "matter_code",
            "domain",
            "due_from",
            "due_until",
            "mandatory",
            "mandatory_reason",
            "visit",
        )


class PlannedCheckWriteSerializer(serializers.Serializer):
    target = serializers.IntegerField(min_value=1)
    matter = serializers.CharField(required=False, allow_blank=True, help_text=_("事项编码"))
    domain = serializers.ChoiceField(choices=Domain.choices, required=False)
    due_from = serializers.DateField(required=False)
    due_until = serializers.DateField(required=False)
    mandatory = serializers.BooleanField(default=False)
    mandatory_reason = serializers.CharField(required=False, allow_blank=True)


class PlanSerializer(serializers.ModelSerializer):
    team = InspectionTeamBriefSerializer(read_only=True)
    check_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = InspectionPlan
        fields = ("id", "team", "title", "year", "month", "starts_on", "ends_on", "note", "check_count")


class PlanDetailSerializer(PlanSerializer):
    checks = serializers.SerializerMethodField()

    class Meta(PlanSerializer.Meta):
        fields = (*PlanSerializer.Meta.fields, "checks")

    @extend_schema_field(PlannedCheckSerializer(many=True))
    def get_checks(self, obj):
        from inspections.selectors import plan_checks

        return PlannedCheckSerializer(
            plan_checks(plan=obj, visible_to=self.context.get("visible_to")), many=True
        ).data


class PlanWriteSerializer(serializers.Serializer):
    team = serializers.CharField(help_text=_("队伍编号"))
    title = serializers.CharField()
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    month = serializers.IntegerField(min_value=1, max_value=12, required=False, allow_null=True)
    starts_on = serializers.DateField(required=False)
    ends_on = serializers.DateField(required=False)
    note = serializers.CharField(required=False, allow_blank=True)


class GeoJSONPointSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="Point")
    coordinates = serializers.ListField(child=serializers.FloatField(), help_text=_("[经度, 纬度]（WGS-84）"))


class VisitTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    colour = serializers.CharField()
    point = GeoJSONPointSerializer()


class ProposedCheckSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.CharField()
    target = serializers.IntegerField()
    matter = serializers.CharField(allow_null=True)
    domain = serializers.CharField()
    mandatory = serializers.BooleanField()


class ProposedVisitSerializer(serializers.Serializer):
    key = serializers.CharField()
    planned_date = serializers.DateField()
    lead_team = InspectionTeamBriefSerializer()
    teams = InspectionTeamBriefSerializer(many=True)
    targets = VisitTargetSerializer(many=True)
    checks = ProposedCheckSerializer(many=True)
    visits_before = serializers.IntegerField()


class SkippedCheckSerializer(serializers.Serializer):
    check = serializers.IntegerField()
    target = serializers.IntegerField()
    target_name = serializers.CharField()
    reason = serializers.CharField()


class ProposalFiguresSerializer(serializers.Serializer):
    checks = serializers.IntegerField()
    visits_before = serializers.IntegerField()
    visits_after = serializers.IntegerField()
    visits_avoided = serializers.IntegerField()
    door_entries_after = serializers.IntegerField()
    door_entries_avoided = serializers.IntegerField()
    skipped_no_disturbance = serializers.IntegerField()


class ProposalSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    radius_m = serializers.FloatField()
    figures = ProposalFiguresSerializer()
    visits = ProposedVisitSerializer(many=True)
    skipped = SkippedCheckSerializer(many=True)
    committed = serializers.ListField(child=serializers.IntegerField(), required=False)


class ProposalCommitSerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    year = serializers.IntegerField(required=False)
    month = serializers.IntegerField(required=False)
    radius_m = serializers.FloatField(required=False, min_value=0)
    keys = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=_("只提交这些建议；不填全部提交")
    )


class JointVisitSerializer(serializers.ModelSerializer):
    lead_team = InspectionTeamBriefSerializer(read_only=True)
    status = serializers.CharField(
        read_only=True, help_text=_("planned 已排定 / case_opened 已生成检查案件 / cancelled 已取消")
    )
    targets = serializers.SerializerMethodField()
    checks = serializers.SerializerMethodField()
    case = serializers.SerializerMethodField()

    class Meta:
        model = JointVisit
        fields = (
            "id",
            "period_start",
            "period_end",
            "planned_date",
            "lead_team",
            "status",
            "visits_before",
            "radius_m",
            "targets",
            "checks",
            "case",
        )

    @extend_schema_field(VisitTargetSerializer(many=True))
    def get_targets(self, obj):
        return [
            {
                "id": vt.target_id,
                "name": vt.target.name,
                "colour": vt.colour,
                "point": GeometryField().to_representation(vt.target.point),
            }
            for vt in sorted(obj.visit_targets.all(), key=lambda vt: vt.target_id)
        ]

    @extend_schema_field(ProposedCheckSerializer(many=True))
    def get_checks(self, obj):
        return [check_dict(c) for c in sorted(obj.member_checks.all(), key=lambda c: c.pk)]

    def get_case(self, obj) -> dict | None:
        report = obj.report
        if report is None:
            return None
        return {
            "id": report.pk,
            "number": report.number,
            "status": report.status,
            "status_label": report.get_status_display(),
        }


def check_dict(c: PlannedCheck) -> dict:
    return {
        "id": c.pk,
        "team": c.plan.team.code,
        "target": c.target_id,
        "matter": c.matter.code if c.matter_id else None,
        "domain": c.domain,
        "mandatory": c.mandatory,
    }


class DrawRunSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True)
    domain = serializers.ChoiceField(choices=Domain.choices, required=False)
    matter = serializers.CharField(required=False, allow_blank=True, help_text=_("事项编码"))
    filters = serializers.DictField(
        required=False, help_text=_("{townships: [代码], industries: [...], colours: [...], kinds: [...]}")
    )
    rates = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text=_("{green: 0.05, yellow: 0.2, red: 1}")
    )
    inspectors_per_target = serializers.IntegerField(required=False)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1)
    draw_date = serializers.DateField(required=False)


class DrawInspectorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DrawTargetBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    credit_code = serializers.CharField()


class DrawResultSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    target = DrawTargetBriefSerializer()
    colour = serializers.CharField()
    inspectors = DrawInspectorSerializer(many=True)
    outcome = serializers.ChoiceField(choices=DrawResult.Outcome.choices)
    outcome_label = serializers.CharField()
    outcome_note = serializers.CharField()
    outcome_at = serializers.DateTimeField(allow_null=True)


class DrawResultCaseSerializer(DrawResultSerializer):
    case = serializers.DictField(allow_null=True, help_text=_("检查案件：id、number、status"))


class DrawSerializer(serializers.ModelSerializer):
    matter = serializers.CharField(source="matter.code", read_only=True, allow_null=True, default=None)
    run_by = serializers.SerializerMethodField()
    target_count = serializers.IntegerField(read_only=True, default=0)
    pool_size = serializers.SerializerMethodField()

    class Meta:
        model = Draw
        fields = (
            "id",
            "title",
            "domain",
            "matter",
            "filters",
            "rates",
            "inspectors_per_target",
            "seed",
            "draw_date",
            "pool_hash",
            "pool_size",
            "target_count",
            "conflicts_excluded",
            "run_by",
            "run_at",
            "published",
            "published_at",
        )

    def get_run_by(self, obj) -> str | None:
        return obj.run_by.get_username() if obj.run_by_id else None

    def get_pool_size(self, obj) -> int:
        return len(obj.snapshot.get("targets", []))


class DrawDetailSerializer(DrawSerializer):
    results = serializers.SerializerMethodField()

    class Meta(DrawSerializer.Meta):
        fields = (*DrawSerializer.Meta.fields, "results")

    @extend_schema_field(DrawResultCaseSerializer(many=True))
    def get_results(self, obj):
        from inspections.scopes import draw_result_q, inspection_scope_for
        from inspections.selectors import draw_results

        request = self.context.get("request")
        if request is None:  # no reader to scope for: never used by the API's views
            raise ValueError("DrawDetailSerializer needs the request in its context")
        return draw_results(
            draw=obj, with_cases=True, visible=draw_result_q(inspection_scope_for(request.user), obj)
        )


class ReplayedSerializer(serializers.Serializer):
    target = serializers.IntegerField()
    colour = serializers.CharField()
    inspectors = serializers.ListField(child=serializers.IntegerField())


class ReplaySerializer(serializers.Serializer):
    draw = serializers.IntegerField()
    seed = serializers.IntegerField()
    pool_hash = serializers.CharField()
    snapshot_intact = serializers.BooleanField()
    equal = serializers.BooleanField()
    pool_unchanged = serializers.BooleanField()
    replayed = ReplayedSerializer(many=True)


class DrawOutcomeSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)
    outcome = serializers.ChoiceField(choices=[c for c in DrawResult.Outcome.choices if c[0] != "pending"])
    note = serializers.CharField(required=False, allow_blank=True)


class PublicDrawSerializer(serializers.ModelSerializer):
    """双随机一公开: what the public sees — the draw (with its seed and pool hash, so it can be checked),
    the targets, the results and the inspectors by name only (no phone, no certificate number)."""

    results = serializers.SerializerMethodField()
    domain_label = serializers.SerializerMethodField()

    class Meta:
        model = Draw
        fields = (
            "id",
            "title",
            "domain",
            "domain_label",
            "draw_date",
            "seed",
            "pool_hash",
            "published_at",
            "results",
        )

    def get_domain_label(self, obj) -> str:
        return str(Domain(obj.domain).label)

    @extend_schema_field(DrawResultSerializer(many=True))
    def get_results(self, obj):
        from inspections.selectors import draw_results

        return draw_results(draw=obj)


class ColourFiguresSerializer(serializers.Serializer):
    label = serializers.CharField()
    joint = serializers.IntegerField()
    joint_closed = serializers.IntegerField()
    draw = serializers.IntegerField()
    draw_done = serializers.IntegerField()
    total = serializers.IntegerField()


class JointFiguresSerializer(serializers.Serializer):
    visits_before = serializers.IntegerField()
    visits_after = serializers.IntegerField()
    visits_avoided = serializers.IntegerField()


class ByColourSerializer(serializers.Serializer):
    red = ColourFiguresSerializer()
    yellow = ColourFiguresSerializer()
    green = ColourFiguresSerializer()


class InspectionIndicatorsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    joint = JointFiguresSerializer()
    by_colour = ByColourSerializer()


class CaseOpenedSerializer(serializers.Serializer):
    visit = serializers.IntegerField()
    case = serializers.DictField()
