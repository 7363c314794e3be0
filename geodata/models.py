"""The map of responsibility.

    County ─┬─ Township / Subdistrict / Farm / Industrial park   (乡镇、街道、农场、园区: 9-digit code)
            │     └─ Village / Community                        (村、社区: 12-digit code)
            │           └─ GridCell                             (网格: 15-character code)
            │
    CoverageVersion ── EnforcementZone ──(cells)── GridCell     (执法片区: whole grid cells)
                            └─ Team (comprehensive or county professional) ── Officer
    Matter                                                      (执法事项清单)

A zone is a set of whole grid cells rather than a free polygon, so coverage is exact: every cell
is in a zone or it is a gap, and two zones of one domain claiming the same cell is an overlap —
no sliver arithmetic. The zone's polygon is the union of its cells, kept for drawing.

Coverage is versioned: planners edit a draft; publishing makes it the coverage from an effective
time. Routing uses the published version in force at the report's time and records which one.

Geometry is stored in settings.SRID (WGS-84). Validity is enforced by database constraints, so
nothing invalid gets in whatever door it comes through.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.db.models.functions import IsValid
from django.contrib.postgres.indexes import GistIndex
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from geodata.choices import choice_display


class Domain(models.TextChoices):
    """Enforcement domains: the comprehensive team plus the county "1+8" professional teams."""

    COMPREHENSIVE = "comprehensive", _("综合行政执法")
    MARKET = "market", _("市场监管")
    ECOLOGY = "ecology", _("生态环境")
    TRANSPORT = "transport", _("交通运输")
    CULTURE = "culture", _("文化市场")
    AGRICULTURE = "agriculture", _("农业农村")
    EMERGENCY = "emergency", _("应急管理")
    RESOURCES = "resources", _("自然资源")
    HEALTH = "health", _("卫生监督")
    FISHERY = "fishery", _("渔业")


class Region(models.Model):
    """An administrative or managed area: county, township-level unit, or village-level unit.

    Codes follow the statistical division codes (GB/T 2260 + the NBS township/village extension):
    6 digits for a county, 9 for a township-level unit (001–099 subdistricts, 100–199 towns,
    200–399 townships, 400–599 farms, parks and similar units), 12 for a village or community.
    """

    class Level(models.TextChoices):
        COUNTY = "county", _("县（区）")
        SUBDISTRICT = "subdistrict", _("街道")
        TOWN = "town", _("镇")
        TOWNSHIP = "township", _("乡")
        FARM = "farm", _("农场")
        PARK = "park", _("工业园区")
        VILLAGE = "village", _("村")
        COMMUNITY = "community", _("社区")

    TOWNSHIP_LEVELS = (Level.SUBDISTRICT, Level.TOWN, Level.TOWNSHIP, Level.FARM, Level.PARK)
    VILLAGE_LEVELS = (Level.VILLAGE, Level.COMMUNITY)
    CODE_LENGTH = {Level.COUNTY: 6, **dict.fromkeys(TOWNSHIP_LEVELS, 9), **dict.fromkeys(VILLAGE_LEVELS, 12)}

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    geom = models.MultiPolygonField(_("范围"), srid=settings.SRID, spatial_index=False)  # Meta.indexes

    class Meta:
        verbose_name = pgettext_lazy("singular", "行政区域")
        verbose_name_plural = _("行政区域")
        ordering = ["code"]
        indexes = [GistIndex(fields=["geom"], name="geodata_region_geom_gist")]
        constraints = [
            models.CheckConstraint(condition=IsValid("geom"), name="geodata_region_geom_valid"),
            models.CheckConstraint(
                condition=(
                    Q(level="county", code__regex=r"^\d{6}$")
                    | Q(level__in=["subdistrict", "town", "township", "farm", "park"], code__regex=r"^\d{9}$")
                    | Q(level__in=["village", "community"], code__regex=r"^\d{12}$")
                ),
                name="geodata_region_code_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def is_township_level(self) -> bool:
        return self.level in self.TOWNSHIP_LEVELS


class GridCell(models.Model):
    """网格: the smallest management polygon, with its grid workers (网格员).

    Code: 15 characters = 12-digit village code + 3-digit sequence within the village.
    """

    code = models.CharField(_("网格编码"), max_length=15, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    village = models.ForeignKey(
        Region, verbose_name=_("村（社区）"), on_delete=models.PROTECT, related_name="village_cells"
    )
    township = models.ForeignKey(
        Region, verbose_name=_("乡镇（街道）"), on_delete=models.PROTECT, related_name="township_cells"
    )
    geom = models.MultiPolygonField(_("范围"), srid=settings.SRID, spatial_index=False)  # Meta.indexes
    workers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("网格员"), blank=True, related_name="grid_cells"
    )
    valid_from = models.DateField(_("生效日期"), default=timezone.localdate)
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]
        indexes = [GistIndex(fields=["geom"], name="geodata_gridcell_geom_gist")]
        constraints = [
            models.CheckConstraint(condition=IsValid("geom"), name="geodata_gridcell_geom_valid"),
            models.CheckConstraint(condition=Q(code__regex=r"^\d{15}$"), name="geodata_gridcell_code_15"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="geodata_gridcell_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Team(models.Model):
    """An enforcement team: a township comprehensive team (may cover several townships) or a
    county professional team of one department domain."""

    class Kind(models.TextChoices):
        COMPREHENSIVE = "comprehensive", _("乡镇综合执法队")
        PROFESSIONAL = "professional", _("县级专业执法队伍")

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    code = models.SlugField(_("编号"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    domain = models.CharField(_("领域"), max_length=16, choices=Domain.choices)
    department = models.CharField(_("主管部门"), max_length=100, blank=True)
    base = models.PointField(_("驻地"), srid=settings.SRID, null=True, blank=True)
    phone = models.CharField(_("值班电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "执法队伍")
        verbose_name_plural = _("执法队伍")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="comprehensive", domain="comprehensive")
                | (Q(kind="professional") & ~Q(domain="comprehensive")),
                name="geodata_team_kind_domain",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Officer(models.Model):
    """执法人员名录: one roster line per officer."""

    class Status(models.TextChoices):
        STAFF = "staff", _("在编")
        AUXILIARY = "auxiliary", _("协管")

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    team = models.ForeignKey(
        Team, verbose_name=_("所属队伍"), on_delete=models.PROTECT, related_name="officers"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("账号"), null=True, blank=True, on_delete=models.SET_NULL
    )
    name = models.CharField(_("姓名"), max_length=50)
    certificate_no = models.CharField(_("执法证号"), max_length=30, blank=True)
    status = models.CharField(_("身份"), max_length=16, choices=Status.choices, default=Status.STAFF)
    phone = models.CharField(_("电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "执法人员")
        verbose_name_plural = _("执法人员")
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["certificate_no"], condition=~Q(certificate_no=""), name="geodata_officer_cert_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.team}）"


class UserScope(models.Model):
    """What a dispatcher or supervisor looks after: the whole county, or some townships and teams.

    No row means county-wide, so deployments from before scopes keep working; a row that is not
    county-wide limits the user to reports and cases placed in its townships or held by its teams,
    those teams' units and the alerts of both. The rules live in gridops/scopes.py.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.CASCADE,
        related_name="gridops_scope",
    )
    county_wide = models.BooleanField(_("全县"), default=False)
    townships = models.ManyToManyField(
        Region,
        verbose_name=_("乡镇（街道）"),
        blank=True,
        related_name="+",
        limit_choices_to={"level__in": Region.TOWNSHIP_LEVELS},
    )
    teams = models.ManyToManyField(Team, verbose_name=_("执法队伍"), blank=True, related_name="+")

    class Meta:
        verbose_name = pgettext_lazy("singular", "数据范围")
        verbose_name_plural = _("数据范围")

    def __str__(self) -> str:
        return str(self.user)


class CoverageVersion(models.Model):
    """One edition of who covers what. Published versions are never edited in place."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        RETIRED = "retired", _("已撤回")

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    name = models.CharField(_("名称"), max_length=100)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateTimeField(_("生效时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    based_on = models.ForeignKey(
        "self", verbose_name=_("基于"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # Bumped by every change to a draft; an edit names the revision it was based on, so two
    # planners cannot silently overwrite each other (geodata.planning.StaleDraft).
    revision = models.PositiveIntegerField(_("修订号"), default=0)

    class Meta:
        verbose_name = pgettext_lazy("singular", "覆盖版本")
        verbose_name_plural = _("覆盖版本")
        ordering = ["-effective_from", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(effective_from__isnull=False),
                name="geodata_coverage_published_has_effective_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_status_display()}）"


class EnforcementZone(models.Model):
    """执法片区: the coverage of one team in one version, made of whole grid cells."""

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    version = models.ForeignKey(
        CoverageVersion, verbose_name=_("覆盖版本"), on_delete=models.CASCADE, related_name="zones"
    )
    team = models.ForeignKey(Team, verbose_name=_("执法队伍"), on_delete=models.PROTECT, related_name="zones")
    name = models.CharField(_("名称"), max_length=100)
    domain = models.CharField(_("领域"), max_length=16, choices=Domain.choices)
    cells = models.ManyToManyField(GridCell, verbose_name=_("网格"), through="ZoneCell", related_name="zones")
    geom = models.MultiPolygonField(
        _("范围（网格合并）"),
        srid=settings.SRID,
        null=True,
        blank=True,
        spatial_index=False,  # Meta.indexes
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "执法片区")
        verbose_name_plural = _("执法片区")
        ordering = ["version", "domain", "name"]
        indexes = [GistIndex(fields=["geom"], name="geodata_zone_geom_gist")]
        constraints = [
            models.CheckConstraint(
                condition=Q(geom__isnull=True) | IsValid("geom"), name="geodata_zone_geom_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.team}）"


class ZoneCell(models.Model):
    # Indexed by the unique (zone, cell) constraint, which leads with it.
    zone = models.ForeignKey(
        EnforcementZone, on_delete=models.CASCADE, related_name="zone_cells", db_index=False
    )
    cell = models.ForeignKey(GridCell, on_delete=models.CASCADE, related_name="zone_cells")

    class Meta:
        verbose_name = pgettext_lazy("singular", "片区网格")
        verbose_name_plural = _("片区网格")
        constraints = [models.UniqueConstraint(fields=["zone", "cell"], name="geodata_zonecell_unique")]


class Matter(models.Model):
    """执法事项清单: one enforcement matter and who handles it."""

    class Kind(models.TextChoices):
        PENALTY = "penalty", _("行政处罚")
        INSPECTION = "inspection", _("行政检查")
        COERCION = "coercion", _("行政强制")
        OTHER = "other", _("其他")

    class Handler(models.TextChoices):
        TOWNSHIP = "township", _("乡镇综合执法队")
        COUNTY = "county", _("县级部门")

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    code = models.CharField(_("事项编码"), max_length=32, unique=True)
    name = models.CharField(_("事项名称"), max_length=200)
    domain = models.CharField(_("所属领域"), max_length=16, choices=Domain.choices)
    kind = models.CharField(_("事项类型"), max_length=16, choices=Kind.choices)
    handled_by = models.CharField(_("承办层级"), max_length=16, choices=Handler.choices)
    legal_basis = models.TextField(_("法律依据"), blank=True)
    time_limit_days = models.PositiveIntegerField(_("办理时限（工作日）"), default=30)
    # Urgent matters are limited in working hours instead (e.g. 4 working hours); set, it wins.
    time_limit_hours = models.PositiveIntegerField(_("办理时限（工作小时）"), null=True, blank=True)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "执法事项")
        verbose_name_plural = _("执法事项")
        ordering = ["code"]
        constraints = [
            # A county-handled matter names the department domain whose team takes it.
            models.CheckConstraint(
                condition=~Q(handled_by="county", domain="comprehensive"),
                name="geodata_matter_county_has_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def responsible_domain(self) -> str:
        """The zone domain that decides the responsible team for this matter."""
        return Domain.COMPREHENSIVE if self.handled_by == self.Handler.TOWNSHIP else self.domain


class GeodataRevision(models.Model):
    """A single counter bumped by every write to the map of responsibility, so each process can
    tell cheaply whether its in-memory routing index is stale."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    revision = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = pgettext_lazy("singular", "地理数据版本号")
        verbose_name_plural = _("地理数据版本号")
