"""Inspection planning: who is inspected, by whom, when, and how the visits are merged or drawn.

The seeds name the pieces (../shared/seeds, Pingnan/Nanping 001 and Xiangshan 004):

    执法对象名录库  Target ── CreditColourChange          (信用 "三色" 分级: green / yellow / red)
    执法人员名录库  geodata.Officer ── OfficerQualification (domains, certificate validity)
    年度检查总计划 / 日常监管计划   InspectionPlan ── PlannedCheck
    综合查一次 ("进一次门、查多项事")  JointVisit ── VisitTarget, member PlannedChecks ── gridops.Report
    双随机一公开                       Draw ── DrawResult (target × inspectors), Conflict declarations

Xiangshan (004): "统筹制定监管计划，开展联合执法，减少重复执法和执法扰民扰企5761户次" — the plan is
made first, then merged; "建立以信用评级为基础的'三色'分级分类监管，做到对合规企业'无事不扰'，对问题
企业监管'无处不在'" — the colour decides how often a target is drawn, and a target on the
no-disturbance list is left out of routine visits. Pingnan (001) asks for "执法人员名录库、执法对象
名录库" inside the 双随机一公开 system: the roster is geodata's Officer, qualified here, not a second
list of people.

Geometry in settings.SRID (WGS-84), a named GiST index; rules live in inspections/services.py.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from geodata.models import Domain, Matter, Officer, Region, Team


class CreditColour(models.TextChoices):
    """三色分级监管: the order is the order of concern (red first in every listing)."""

    RED = "red", _("红色（重点监管）")
    YELLOW = "yellow", _("黄色（关注）")
    GREEN = "green", _("绿色（守信）")


COLOUR_ORDER = (CreditColour.RED, CreditColour.YELLOW, CreditColour.GREEN)


class Target(models.Model):
    """执法对象名录: an enterprise, a shop or a site that may be inspected."""

    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("企业")
        SHOP = "shop", _("个体工商户")
        SITE = "site", _("场所")

    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.ENTERPRISE)
    # Empty for a site without a registered operator (a construction site, a beach); unique otherwise.
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    point = models.PointField(_("位置"), srid=settings.SRID, spatial_index=False)  # Meta.indexes
    township = models.ForeignKey(
        Region,
        verbose_name=_("乡镇（街道）"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspection_targets",
    )
    industry = models.CharField(_("行业"), max_length=100, blank=True, db_index=True)
    colour = models.CharField(
        _("信用等级"), max_length=8, choices=CreditColour.choices, default=CreditColour.GREEN, db_index=True
    )
    # 无事不扰: left out of routine joint visits and draws while in force (until the date, or for
    # good when no date); a complaint-driven or mandatory check still goes (PlannedCheck.mandatory).
    no_disturbance = models.BooleanField(_("无事不扰"), default=False)
    no_disturbance_reason = models.CharField(_("无事不扰理由"), max_length=200, blank=True)
    no_disturbance_until = models.DateField(_("无事不扰截止日期"), null=True, blank=True)
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "执法对象")
        verbose_name_plural = _("执法对象")
        ordering = ["id"]
        indexes = [GistIndex(fields=["point"], name="inspections_target_point_gist")]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(credit_code=""), name="inspections_target_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(credit_code="") | Q(credit_code__regex=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
                name="inspections_target_code_form",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def no_disturbance_on(self, day) -> bool:
        return self.no_disturbance and (self.no_disturbance_until is None or self.no_disturbance_until >= day)


class CreditColourChange(models.Model):
    """One change of a target's colour (the first row has an empty `from_colour`)."""

    target = models.ForeignKey(
        Target, verbose_name=_("执法对象"), on_delete=models.CASCADE, related_name="colour_changes"
    )
    from_colour = models.CharField(_("原等级"), max_length=8, choices=CreditColour.choices, blank=True)
    to_colour = models.CharField(_("新等级"), max_length=8, choices=CreditColour.choices)
    reason = models.CharField(_("理由"), max_length=500, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "信用等级变更")
        verbose_name_plural = _("信用等级变更")
        ordering = ["target", "at", "id"]


class OfficerQualification(models.Model):
    """What makes a roster officer (geodata.Officer) drawable: the domains they may inspect and the
    validity of their enforcement certificate."""

    officer = models.OneToOneField(
        Officer, verbose_name=_("执法人员"), on_delete=models.CASCADE, related_name="qualification"
    )
    domains = ArrayField(
        models.CharField(max_length=16, choices=Domain.choices),
        verbose_name=_("可检查领域"),
        default=list,
        blank=True,
    )
    certificate_valid_from = models.DateField(_("执法证生效日期"), null=True, blank=True)
    certificate_valid_until = models.DateField(_("执法证有效期至"), null=True, blank=True)
    active_for_draws = models.BooleanField(_("参与随机抽取"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "执法人员资格")
        verbose_name_plural = _("执法人员资格")
        ordering = ["officer"]
        constraints = [
            models.CheckConstraint(
                condition=Q(certificate_valid_until__isnull=True)
                | Q(certificate_valid_from__isnull=True)
                | Q(certificate_valid_until__gte=models.F("certificate_valid_from")),
                name="inspections_qualification_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.officer)

    def certificate_valid_on(self, day) -> bool:
        return (self.certificate_valid_from is None or self.certificate_valid_from <= day) and (
            self.certificate_valid_until is None or self.certificate_valid_until >= day
        )


class InspectionPlan(models.Model):
    """年度检查总计划 / 月度计划 of one team (department): a yearly plan has no month."""

    team = models.ForeignKey(Team, verbose_name=_("执法队伍"), on_delete=models.PROTECT, related_name="plans")
    title = models.CharField(_("标题"), max_length=200)
    year = models.PositiveSmallIntegerField(_("年度"))
    month = models.PositiveSmallIntegerField(_("月份"), null=True, blank=True)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    note = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "检查计划")
        verbose_name_plural = _("检查计划")
        ordering = ["-year", "month", "team", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="inspections_plan_range"
            ),
            models.CheckConstraint(
                condition=Q(month__isnull=True) | Q(month__gte=1, month__lte=12),
                name="inspections_plan_month",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class JointVisit(models.Model):
    """综合查一次: one outing of a joint team, led by one team, to one target or a few neighbouring
    ones, doing every member check at once. `visits_before` is how many separate (team, target)
    visits the member checks would have been; the visit replaces them."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("已排定")
        CASE_OPENED = "case_opened", _("已生成检查案件")
        CANCELLED = "cancelled", _("已取消")

    period_start = models.DateField(_("期间开始"))
    period_end = models.DateField(_("期间结束"))
    lead_team = models.ForeignKey(
        Team, verbose_name=_("牵头队伍"), on_delete=models.PROTECT, related_name="led_visits"
    )
    targets = models.ManyToManyField(
        Target, verbose_name=_("执法对象"), through="VisitTarget", related_name="visits"
    )
    planned_date = models.DateField(_("计划日期"))
    radius_m = models.FloatField(_("合并距离（米）"), default=0)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PLANNED)
    visits_before = models.PositiveIntegerField(_("合并前检查户次"), default=0)
    report = models.OneToOneField(
        "gridops.Report",
        verbose_name=_("检查案件"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="joint_visit",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "联合检查")
        verbose_name_plural = _("联合检查（综合查一次）")
        ordering = ["planned_date", "id"]

    def __str__(self) -> str:
        return f"{self.lead_team} {self.planned_date}"


class VisitTarget(models.Model):
    """A target of a joint visit, with its colour when the visit was committed (for the figures)."""

    # Indexed by the unique (visit, target) constraint, which leads with it.
    visit = models.ForeignKey(
        JointVisit, on_delete=models.CASCADE, related_name="visit_targets", db_index=False
    )
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="visit_targets")
    colour = models.CharField(_("信用等级"), max_length=8, choices=CreditColour.choices)

    class Meta:
        verbose_name = pgettext_lazy("singular", "联合检查对象")
        verbose_name_plural = _("联合检查对象")
        constraints = [
            models.UniqueConstraint(fields=["visit", "target"], name="inspections_visittarget_unique")
        ]


class PlannedCheck(models.Model):
    """One check in a plan: a team checks a target for a matter (or a domain) within a window."""

    plan = models.ForeignKey(
        InspectionPlan, verbose_name=_("检查计划"), on_delete=models.CASCADE, related_name="checks"
    )
    target = models.ForeignKey(
        Target, verbose_name=_("执法对象"), on_delete=models.PROTECT, related_name="checks"
    )
    matter = models.ForeignKey(
        Matter, verbose_name=_("执法事项"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    domain = models.CharField(_("领域"), max_length=16, choices=Domain.choices)
    due_from = models.DateField(_("检查窗口开始"))
    due_until = models.DateField(_("检查窗口结束"))
    # A complaint, a referral or a legal duty: goes even to a target on the no-disturbance list.
    mandatory = models.BooleanField(_("投诉或法定必查"), default=False)
    mandatory_reason = models.CharField(_("必查理由"), max_length=200, blank=True)
    visit = models.ForeignKey(
        JointVisit,
        verbose_name=_("联合检查"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member_checks",
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "计划检查")
        verbose_name_plural = _("计划检查")
        ordering = ["due_from", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_until__gte=models.F("due_from")), name="inspections_check_window"
            ),
            models.CheckConstraint(
                condition=Q(mandatory=False) | ~Q(mandatory_reason=""),
                name="inspections_check_mandatory_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.team} → {self.target}"


class Conflict(models.Model):
    """利害关系回避: an inspector who must not be drawn for a target (kin, former employer …)."""

    officer = models.ForeignKey(  # indexed by the unique (officer, target) constraint
        Officer,
        verbose_name=_("执法人员"),
        on_delete=models.CASCADE,
        related_name="conflicts",
        db_index=False,
    )
    target = models.ForeignKey(
        Target, verbose_name=_("执法对象"), on_delete=models.CASCADE, related_name="conflicts"
    )
    reason = models.CharField(_("回避理由"), max_length=200)
    declared_at = models.DateTimeField(_("申报时间"), default=timezone.now)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "回避申报")
        verbose_name_plural = _("回避申报")
        ordering = ["target", "officer"]
        constraints = [
            models.UniqueConstraint(fields=["officer", "target"], name="inspections_conflict_unique")
        ]

    def __str__(self) -> str:
        return f"{self.officer.name} × {self.target.name}"


class Draw(models.Model):
    """双随机: one seeded draw of targets from a filtered pool and inspectors from the qualified
    roster. The snapshot (pool of targets with colours, eligible officers, conflicts) is stored with
    its SHA-256, so anyone can re-run the draw from the seed and get the same result
    (inspections.services.draw_replay)."""

    title = models.CharField(_("标题"), max_length=200, blank=True)
    domain = models.CharField(_("检查领域"), max_length=16, choices=Domain.choices)
    matter = models.ForeignKey(
        Matter, verbose_name=_("执法事项"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    filters = models.JSONField(_("抽取范围"), default=dict, blank=True)
    rates = models.JSONField(_("各等级抽查比例"))
    inspectors_per_target = models.PositiveSmallIntegerField(_("每户执法人员数"), default=2)
    seed = models.BigIntegerField(_("随机种子"))
    draw_date = models.DateField(_("抽取日期"))
    snapshot = models.JSONField(_("抽取池快照"))
    pool_hash = models.CharField(_("抽取池摘要（SHA-256）"), max_length=64)
    conflicts_excluded = models.JSONField(_("已回避"), default=list, blank=True)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("抽取人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    run_at = models.DateTimeField(_("抽取时间"), default=timezone.now)
    published = models.BooleanField(_("已公开"), default=False)
    published_at = models.DateTimeField(_("公开时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "双随机抽查")
        verbose_name_plural = _("双随机抽查")
        ordering = ["-run_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(inspectors_per_target__gte=2), name="inspections_draw_two_inspectors"
            ),
            models.CheckConstraint(
                condition=Q(published=False) | Q(published_at__isnull=False),
                name="inspections_draw_published_at",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"#{self.pk}"


class DrawResult(models.Model):
    """A drawn target, its drawn inspectors (in draw order) and, later, the inspection's outcome."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("待检查")
        COMPLIANT = "compliant", _("未发现问题")
        RECTIFY = "rectify", _("责令整改")
        CASE = "case", _("立案查处")
        NOT_FOUND = "not_found", _("未找到检查对象")

    # Indexed by the unique (draw, position) and (draw, target) constraints, which lead with it.
    draw = models.ForeignKey(
        Draw, verbose_name=_("抽查"), on_delete=models.CASCADE, related_name="results", db_index=False
    )
    position = models.PositiveIntegerField(_("序号"))
    target = models.ForeignKey(
        Target, verbose_name=_("执法对象"), on_delete=models.PROTECT, related_name="draw_results"
    )
    colour = models.CharField(_("信用等级"), max_length=8, choices=CreditColour.choices)
    inspectors = models.JSONField(_("执法人员（编号，按抽取顺序）"), default=list)
    outcome = models.CharField(_("检查结果"), max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_note = models.CharField(_("结果说明"), max_length=500, blank=True)
    outcome_at = models.DateTimeField(_("结果登记时间"), null=True, blank=True)
    # The drawn check as a case of the closed loop (source 执法检查), once a dispatcher opens it.
    report = models.OneToOneField(
        "gridops.Report",
        verbose_name=_("检查案件"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="draw_result",
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "抽查结果")
        verbose_name_plural = _("抽查结果")
        ordering = ["draw", "position"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "position"], name="inspections_drawresult_position"),
            models.UniqueConstraint(fields=["draw", "target"], name="inspections_drawresult_target"),
        ]
