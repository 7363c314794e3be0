"""Operations: what happens in the county, as it arrives and as it is pushed to the screens.

    Device ──(key, hashed)──► Camera / Unit          who may send us data
    Report ◄── report_submit / camera_alert_submit   a matter at a place, routed to a team;
      │                                              also the case of the closed loop (lifecycle.py)
      ├─ CaseEvent ◄── services/cases.py             each step, append-only, hash-chained
      └─ ReportPhoto                                 re-encoded, thumbnail, no EXIF
    Unit ──► Ping (one row per fix)                  patrol vehicles, officers, drones
      └─ live position on the Unit (moves forward only)
    Alert                                            e.g. a unit left its team's zone for too long
    OutboxEvent ─► StreamEvent (stream, seq)         the realtime record, see gridops/realtime/

Every write happens in a service (gridops/services/); the outbox row is written in the same
transaction as the change, so PostgreSQL is the record and the channel layer only a notice path.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GistIndex
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geodata.choices import choice_display
from geodata.models import CoverageVersion, EnforcementZone, GridCell, Matter, Region, Team


class Crs(models.TextChoices):
    WGS84 = "wgs84", "WGS-84"
    GCJ02 = "gcj02", _("GCJ-02（国测局）")
    BD09 = "bd09", _("BD-09（百度）")


class Device(models.Model):
    """Anything that sends data on its own: a camera, a GPS tracker, a phone app, a drone.

    Its key is shown once when issued (`gdk_<prefix>_<secret>`); only the prefix (to find the row)
    and a SHA-256 of the whole key are stored. Keys are long random strings, so a fast hash is as
    good as a slow one here and costs microseconds per request. Revoking sets `revoked_at`.
    """

    class Kind(models.TextChoices):
        CAMERA = "camera", _("摄像头")
        TRACKER = "tracker", _("车载定位终端")
        PHONE = "phone", _("执法终端/手机")
        DRONE = "drone", _("无人机")

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    code = models.SlugField(_("设备编号"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    crs = models.CharField(_("坐标系"), max_length=8, choices=Crs.choices, default=Crs.WGS84)
    key_prefix = models.CharField(_("密钥前缀"), max_length=12, unique=True, null=True, blank=True)
    key_hash = models.CharField(_("密钥摘要"), max_length=64, blank=True)
    key_issued_at = models.DateTimeField(_("密钥签发时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    # Rotation without downtime (gridops.auth.device_key_rotate): the key replaced by the last
    # rotation keeps working until `key_previous_until`, so the device can be reconfigured while
    # it keeps sending; same prefix, only the hash of the old key is kept.
    key_previous_hash = models.CharField(_("旧密钥摘要"), max_length=64, blank=True)
    key_previous_until = models.DateTimeField(_("旧密钥有效至"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("最后通信"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # JT/T 808 terminals (gridops/jt808/): the terminal number of the message header (BCD "phone
    # number", 12 digits in 2013, 20 in 2019) and the SHA-256 of the authentication code issued at
    # registration (0x8100), like the device key: the code itself is never stored.
    jt808_terminal = models.CharField(
        _("JT/T 808 终端号"),
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{1,20}$", _("终端号应为 1 到 20 位数字。"))],
        help_text=_("终端手机号（2013 版 12 位，2019 版 20 位）；留空表示不走 JT/T 808 网关。"),
    )
    jt808_auth_hash = models.CharField(_("JT/T 808 鉴权码摘要"), max_length=64, blank=True)
    jt808_auth_issued_at = models.DateTimeField(_("JT/T 808 鉴权码签发时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("设备")
        verbose_name_plural = _("设备")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and bool(self.key_hash)


class Camera(models.Model):
    """A registered camera: where it stands, where it looks, what it sees."""

    device = models.OneToOneField(
        Device, verbose_name=_("设备"), on_delete=models.CASCADE, related_name="camera"
    )
    name = models.CharField(_("名称"), max_length=100)
    location = models.PointField(_("位置"), srid=settings.SRID, spatial_index=False)  # Meta.indexes
    heading = models.FloatField(_("朝向（度）"), null=True, blank=True)
    field_of_view = models.PolygonField(_("视场"), srid=settings.SRID, null=True, blank=True)
    township = models.ForeignKey(
        Region,
        verbose_name=_("乡镇（街道）"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("摄像头")
        verbose_name_plural = _("摄像头")
        ordering = ["name"]
        indexes = [GistIndex(fields=["location"], name="gridops_camera_location_gist")]
        constraints = [
            models.CheckConstraint(
                condition=Q(heading__isnull=True) | Q(heading__gte=0, heading__lt=360),
                name="gridops_camera_heading_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """A patrol unit (vehicle, officer on foot, drone) of a team, tracked by one device.

    The live position (`fix_*`) only moves forward in fix time; late pings are stored as track
    but never move the marker back. `outside_since` is when the unit was first seen outside its
    team's zones in the current excursion (None while inside); see services/pings.py.
    """

    class Kind(models.TextChoices):
        VEHICLE = "vehicle", _("巡查车辆")
        OFFICER = "officer", _("执法人员")
        DRONE = "drone", _("无人机")

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    code = models.SlugField(_("编号"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    team = models.ForeignKey(Team, verbose_name=_("所属队伍"), on_delete=models.PROTECT, related_name="units")
    device = models.OneToOneField(
        Device,
        verbose_name=_("定位设备"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="unit",
    )
    plate = models.CharField(_("车牌号"), max_length=20, blank=True)
    active = models.BooleanField(_("在用"), default=True)

    fix_at = models.DateTimeField(_("最新定位时间"), null=True, blank=True)
    # Not indexed (no query selects units by place; the dispatch ranking computes distances for
    # one team's units): every batch moves the position, and an indexed column would make each
    # move a non-HOT update writing an entry into all six indexes of the table (migration 0008).
    fix_point = models.PointField(
        _("最新位置"), srid=settings.SRID, null=True, blank=True, spatial_index=False
    )
    fix_speed = models.FloatField(_("速度（km/h）"), null=True, blank=True)
    fix_heading = models.FloatField(_("方向（度）"), null=True, blank=True)
    outside_since = models.DateTimeField(_("离开辖区起始"), null=True, blank=True)

    class Meta:
        verbose_name = _("巡查单元")
        verbose_name_plural = _("巡查单元")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Ping(models.Model):
    """One GPS fix of a unit. (device, fixed_at) is unique: a resent fix is a duplicate.

    Only two indexes besides the primary key, because every fix written updates each of them:
    (device, fixed_at) for the dedup, (unit, fixed_at) for track reads and the unit's cascade.
    The foreign keys' own indexes and a spatial index on the point served no query (tracks are
    read by unit and time; the map of a place reads live positions, not the track table) and cost
    ~10 µs of PostgreSQL CPU per fix of the ~40 an insert costs (services/pings.py, measured in
    100-fix batches on this 2-core machine).
    """

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="pings", db_index=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+", db_index=False)
    fixed_at = models.DateTimeField(_("定位时间"))
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now)
    point = models.PointField(_("位置"), srid=settings.SRID, spatial_index=False)
    speed = models.FloatField(_("速度（km/h）"), null=True, blank=True)
    heading = models.FloatField(_("方向（度）"), null=True, blank=True)
    accuracy = models.FloatField(_("精度（米）"), null=True, blank=True)

    class Meta:
        verbose_name = _("定位点")
        verbose_name_plural = _("定位点")
        constraints = [
            models.UniqueConstraint(fields=["device", "fixed_at"], name="gridops_ping_device_fix_unique"),
        ]
        indexes = [models.Index(fields=["unit", "fixed_at"], name="gridops_ping_unit_time")]


class Report(models.Model):
    """A matter at a place: from a grid worker, the 12345 hotline, a citizen, a camera or a patrol.

    Routing is done once, at intake, by geodata.routing; its answer (cell, township, zone, coverage
    version, team and the reasons) is stored here so the report keeps the version it was routed
    with. An unroutable report is `triage` with its queue, never silently assigned.
    """

    class Source(models.TextChoices):
        GRID_WORKER = "grid_worker", _("网格员上报")
        HOTLINE = "hotline", _("12345 热线")
        CITIZEN = "citizen", _("群众举报")
        CAMERA = "camera", _("视频监控")
        PATROL = "patrol", _("巡查发现")
        OPEN311 = "open311", _("Open311 接口")
        # A joint inspection (综合查一次) or a drawn check (双随机) opened by the inspections app.
        INSPECTION = "inspection", _("执法检查")

    class Status(models.TextChoices):
        # The closed loop (gridops/lifecycle.py has the transitions and who may make them).
        NEW = "new", _("待受理")
        TRIAGE = "triage", _("待分拣")
        REGISTERED = "registered", _("已立案")
        NOT_REGISTERED = "not_registered", _("不予立案")
        DISPATCHED = "dispatched", _("已派遣")
        ACCEPTED = "accepted", _("已签收")
        HANDLING = "handling", _("处置中")
        HANDLED = "handled", _("待核查")
        VERIFIED = "verified", _("核查通过")
        CLOSED = "closed", _("已结案")
        ESCALATED = "escalated", _("待县级报到")
        REFERRED = "referred", _("已移送")
        SUSPENDED = "suspended", _("挂账")

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("一般")
        URGENT = 1, _("紧急")

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.NEW
    )  # indexed in Meta.indexes (a field's db_index adds a second, LIKE-only index on PostgreSQL)
    priority = models.SmallIntegerField(_("紧急程度"), choices=Priority.choices, default=Priority.NORMAL)
    point = models.PointField(_("位置"), srid=settings.SRID, spatial_index=False)  # Meta.indexes
    input_crs = models.CharField(_("原始坐标系"), max_length=8, choices=Crs.choices, default=Crs.WGS84)
    accuracy = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    matter = models.ForeignKey(
        Matter,
        verbose_name=_("执法事项"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    description = models.TextField(_("描述"), blank=True)

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    reporter_name = models.CharField(_("联系人"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    device = models.ForeignKey(
        Device,
        verbose_name=_("设备"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        db_index=False,  # Meta.indexes: only the rows that have one
    )
    camera = models.ForeignKey(
        Camera,
        verbose_name=_("摄像头"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        db_index=False,  # gridops_report_camera_open leads with it
    )
    alert_type = models.CharField(_("告警类型"), max_length=32, blank=True)
    repeat_count = models.PositiveIntegerField(_("重复次数"), default=1)
    last_seen_at = models.DateTimeField(_("最近一次发生"), null=True, blank=True)

    # Idempotency: a phone retrying after a lost response sends the same key and gets this report.
    idempotency_key = models.CharField(_("幂等键"), max_length=100, null=True, blank=True)  # Meta.constraints
    payload_hash = models.CharField(_("请求摘要"), max_length=64, blank=True)

    reported_at = models.DateTimeField(_("设备时间"), null=True, blank=True)
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now, db_index=True)

    routed = models.BooleanField(_("已定位到队伍"), default=False)
    triage_queue = models.CharField(_("分拣队列"), max_length=32, blank=True)
    cell = models.ForeignKey(
        GridCell, verbose_name=_("网格"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    township = models.ForeignKey(
        Region,
        verbose_name=_("乡镇（街道）"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # gridops_report_township_time leads with it
    )
    zone = models.ForeignKey(
        EnforcementZone,
        verbose_name=_("执法片区"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    coverage_version = models.ForeignKey(
        CoverageVersion,
        verbose_name=_("覆盖版本"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("责任队伍"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        db_index=False,  # gridops_report_team_status leads with it
    )
    routing = models.JSONField(_("定位理由"), default=dict, blank=True)

    # --- The case (closed loop). Times of the stages are kept for the indicators; the full record
    # is the hash-chained CaseEvent list, whose last link is repeated here so a removed tail shows.
    due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    registered_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("到场时间"), null=True, blank=True)
    handled_at = models.DateTimeField(_("处置完毕时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    assigned_unit = models.ForeignKey(
        Unit,
        verbose_name=_("派遣单元"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        db_index=False,  # Meta.indexes: only the rows that have one
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承办人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handled_cases",
        db_index=False,  # Meta.indexes: only the rows that have one
    )
    escalated_from = models.ForeignKey(
        Team,
        verbose_name=_("提请队伍"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # Meta.indexes: only the rows that have one
    )
    escalation_due_at = models.DateTimeField(_("报到期限"), null=True, blank=True)
    suspended_from = models.CharField(_("挂账前状态"), max_length=16, blank=True)
    suspended_at = models.DateTimeField(_("挂账时间"), null=True, blank=True)
    referral = models.JSONField(_("移送"), default=dict, blank=True)
    extension_request = models.JSONField(_("待批延期申请"), default=dict, blank=True)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    warned_at = models.DateTimeField(_("临期提醒时间"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("超期告警时间"), null=True, blank=True)
    record_seq = models.PositiveIntegerField(_("记录条数"), default=0)
    record_hash = models.CharField(_("记录链末端"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("上报事件")
        verbose_name_plural = _("上报事件")
        ordering = ["-received_at", "-id"]
        indexes = [
            GistIndex(fields=["point"], name="gridops_report_point_gist"),
            # The case timers look for running clocks by deadline.
            models.Index(fields=["due_at"], name="gridops_report_due", condition=Q(due_at__isnull=False)),
            models.Index(fields=["team", "status"], name="gridops_report_team_status"),
            models.Index(fields=["township", "received_at"], name="gridops_report_township_time"),
            # Camera-alert merging looks for the open report of one camera and alert type.
            models.Index(
                fields=["camera", "alert_type", "received_at"],
                name="gridops_report_camera_open",
                condition=Q(camera__isnull=False),
            ),
            # Django's own status index, renamed (migration 0009), without db_index's LIKE-only copy.
            models.Index(fields=["status"], name="gridops_report_status"),
            # Foreign keys that most reports leave empty: only the rows that have one are indexed
            # (what a lookup or a deleted unit, user, team or device needs), so a new report or a
            # step of its case writes no entry for them. Migration 0009.
            *(
                models.Index(
                    fields=[name], name=f"gridops_report_{name}", condition=Q(**{f"{name}__isnull": False})
                )
                for name in ("device", "assigned_unit", "handler", "escalated_from")
            ),
        ]
        constraints = [
            # Django's own unique constraint on the key, renamed (migration 0009): unique=True also
            # added a LIKE-only copy of its index.
            models.UniqueConstraint(fields=["idempotency_key"], name="gridops_report_idempotency_key"),
            models.CheckConstraint(
                condition=Q(routed=True, team__isnull=False, triage_queue="")
                | Q(routed=False, team__isnull=True) & ~Q(triage_queue=""),
                name="gridops_report_routed_has_team_else_triage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.matter.name if self.matter_id else ''}".strip()

    @property
    def number(self) -> str:
        """The number dispatchers quote: receiving day (Asia/Shanghai) and the id."""
        day = (self.received_at or timezone.now()).astimezone(timezone.get_default_timezone())
        return f"SJ{day.year:04d}{day.month:02d}{day.day:02d}{self.pk:06d}"


class CaseEvent(models.Model):
    """执法全过程记录: one step of a case, append-only and hash-chained per case.

    `hash` = SHA-256 over the step's canonical content and the previous step's hash
    (gridops/record.py), so altering or removing a row breaks the chain from there on; the report
    row keeps the last link (`record_seq`, `record_hash`) so a removed tail is caught too.
    `gridops_verify_record` checks every chain and names the first broken row.
    """

    # Indexed by the unique (report, seq) constraint, which leads with it; the actor by (actor, at).
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="case_events", db_index=False)
    seq = models.PositiveIntegerField(_("序号"))
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    at = models.DateTimeField(_("时间"))
    point = models.PointField(_("位置"), srid=settings.SRID, null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["report", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["report", "seq"], name="gridops_caseevent_report_seq"),
        ]
        indexes = [models.Index(fields=["actor", "at"], name="gridops_caseevent_actor_at")]

    def __str__(self) -> str:
        return f"{self.report_id}#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("case events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("case events are append-only")


class ReportPhoto(models.Model):
    """A photo of a report, re-encoded as JPEG (no EXIF, so no location leaks), with a thumbnail.

    Photos taken during the case (after handling, at verification) name the step they belong to."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    event = models.ForeignKey(
        CaseEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="photos"
    )
    image = models.ImageField(_("照片"), upload_to="reports/%Y/%m/")
    thumbnail = models.ImageField(_("缩略图"), upload_to="reports/%Y/%m/thumbs/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_type = models.CharField(_("原始格式"), max_length=20, blank=True)
    original_bytes = models.PositiveIntegerField(_("原始大小"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("现场照片")
        verbose_name_plural = _("现场照片")
        ordering = ["id"]


class Alert(models.Model):
    """Something a dispatcher must look at that is not a report, e.g. a unit out of its zone."""

    class Kind(models.TextChoices):
        OUT_OF_ZONE = "out_of_zone", _("驶离辖区")
        DEVICE_SILENT = "device_silent", _("设备离线")
        CASE_DUE_SOON = "case_due_soon", _("案件临期")
        CASE_OVERDUE = "case_overdue", _("案件超期")
        ESCALATION_LATE = "escalation_late", _("县级未按时报到")

    class Status(models.TextChoices):
        OPEN = "open", _("未处理")
        ACKNOWLEDGED = "acknowledged", _("已确认")
        CLEARED = "cleared", _("已解除")

    _get_FIELD_display = choice_display  # get_FOO_display() without rebuilding the choices
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.OPEN)
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("巡查单元"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("队伍"), on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    township = models.ForeignKey(
        Region,
        verbose_name=_("乡镇（街道）"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    report = models.ForeignKey(
        Report,
        verbose_name=_("案件"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
    )
    point = models.PointField(_("位置"), srid=settings.SRID, null=True, blank=True)
    message = models.CharField(_("说明"), max_length=200)
    data = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(_("发生时间"), default=timezone.now)
    cleared_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("告警")
        verbose_name_plural = _("告警")
        ordering = ["-raised_at"]
        constraints = [
            # At most one open out-of-zone alert per unit: a unit that stays outside is one alert.
            models.UniqueConstraint(
                fields=["unit", "kind"],
                condition=Q(status="open"),
                name="gridops_alert_one_open_per_unit_kind",
            ),
            # One open timer alert of a kind per case (the sweep runs every minute).
            models.UniqueConstraint(
                fields=["report", "kind"],
                condition=Q(status="open"),
                name="gridops_alert_one_open_per_report_kind",
            ),
        ]


class OutboxEvent(models.Model):
    """A realtime event, written in the same transaction as the change it describes.

    `streams` names who it concerns ("county", "township:330225001", "team:zh-chengqu"). The relay
    (gridops/realtime/outbox.py) numbers it into each stream (StreamEvent) in commit order and then
    sends a notice through the channel layer; `sequenced_at` is set when it has been numbered.
    """

    type = models.CharField(max_length=40)
    data = models.JSONField()
    streams = ArrayField(models.CharField(max_length=60))
    created_at = models.DateTimeField(default=timezone.now)
    sequenced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("实时事件")
        verbose_name_plural = _("实时事件")
        indexes = [
            models.Index(
                fields=["id"], name="gridops_outbox_pending", condition=Q(sequenced_at__isnull=True)
            ),
        ]


class StreamEvent(models.Model):
    """An event's place in one stream: consoles resume with `seq > since` on their stream."""

    stream = models.CharField(max_length=60)
    seq = models.BigIntegerField()
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="gridops_stream_seq_unique")]


class StreamHead(models.Model):
    """The last sequence number given out in each stream."""

    stream = models.CharField(max_length=60, primary_key=True)
    seq = models.BigIntegerField(default=0)
