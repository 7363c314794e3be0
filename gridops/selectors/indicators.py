"""效能监督: the indicators of the closed loop for a county, a township or a team over a period.

A period is a run of whole days in settings.TIME_ZONE (Asia/Shanghai): `start` 00:00 to the day
after `end` 00:00, whatever the server's clock zone. Every figure comes from SQL aggregates over
`gridops.Report` (one query for the headline, one per breakdown, one for the series), never from
a loop over cases.

Cohorts (docs/INDICATORS.md has the full table):
    received cohort    reports received in the period          → received, not registered, series
    registered cohort  cases registered (立案) in the period    → every rate and average below
    backlog            open cases in scope, whatever the period → overdue now
A case registered again by a county team (报到 after 乡呼县应, or handed to a county department)
carries the time of that last registration, so it counts in the period of the team that took it on.
Outcomes (closed, on time, reworked, extended) are read as they stand when the figures are computed
(`as_of`); each indicator comes with its numerator and denominator, and an empty denominator gives
`value: None`, never 0.

Scope: `township` filters on the report's township (its place); `team` on the team responsible now,
so an escalated case counts with the county team that took it over.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geodata.errors import FieldError
from geodata.models import Region, Team
from gridops.deadlines import CLOCKED, due_at_expression, overdue_q
from gridops.models import Report
from gridops.selectors.reports import DISPATCHER_GROUPS, _groups

S = Report.Status

MAX_PERIOD_DAYS = 366
INTERVALS = ("day", "week", "month")
# The reform's target share of cases handled at township level (Jiaxing: "80% at the base").
TOWNSHIP_SHARE_TARGET = 0.8
READER_GROUPS = ("supervisor", *DISPATCHER_GROUPS)
CASE_LIST_LIMIT = 5000


def user_reads_indicators(*, user) -> bool:
    """Supervisors, dispatchers, administrators (group) and superusers read the indicators."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or bool(_groups(user) & set(READER_GROUPS))


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    unit: str  # "ratio" (0–1) | "hours" | "minutes"
    definition: str


# The definitions, in the order the dashboard and the review reports show them.
INDICATORS = (
    Indicator(
        "closure_rate",
        gettext_lazy("结案率"),
        "ratio",
        gettext_lazy("期内立案的案件中已结案的比例：已结案 ÷ 期内立案。"),
    ),
    Indicator(
        "on_time_rate",
        gettext_lazy("按期结案率"),
        "ratio",
        gettext_lazy(
            "期内立案且已结案的案件中，在办理期限（含批准的延期）内结案的比例：结案时间 ≤ 办理期限 ÷ 已结案。"
        ),
    ),
    Indicator(
        "rework_rate",
        gettext_lazy("返工率"),
        "ratio",
        gettext_lazy(
            "期内立案、已经过核查的案件中核查不通过（返工）至少一次的比例："
            "返工 ≥ 1 次 ÷ 已核查（核查通过、已结案或有返工）。"
        ),
    ),
    Indicator(
        "extension_rate",
        gettext_lazy("延期率"),
        "ratio",
        gettext_lazy("期内立案的案件中获批延期至少一次的比例：延期 ≥ 1 次 ÷ 期内立案。"),
    ),
    Indicator(
        "avg_handling_hours",
        gettext_lazy("平均办理时长"),
        "hours",
        gettext_lazy(
            "期内立案且已结案的案件从立案到结案的平均时长（小时，自然时间）："
            "Σ(结案时间 − 立案时间) ÷ 已结案。"
        ),
    ),
    Indicator(
        "avg_response_minutes",
        gettext_lazy("平均响应时间"),
        "minutes",
        gettext_lazy(
            "期内立案且执法人员已到场的案件从接收上报到到场处置的平均时长（分钟）："
            "Σ(到场时间 − 接收时间) ÷ 已到场。"
        ),
    ),
    Indicator(
        "township_share",
        gettext_lazy("乡镇处置占比"),
        "ratio",
        gettext_lazy(
            "期内立案且已结案的案件中由乡镇综合执法队结案、且从未提请县级或移送的比例（改革目标 ≥ 80%）："
            "乡镇结案 ÷ 已结案。"
        ),
    ),
)
INDICATOR_CODES = tuple(i.code for i in INDICATORS)

COUNT_LABELS = {
    "received": gettext_lazy("接收上报"),
    "registered": gettext_lazy("立案"),
    "not_registered": gettext_lazy("不予立案"),
    "closed": gettext_lazy("已结案"),
    "escalated": gettext_lazy("提请县级"),
    "referred": gettext_lazy("移送"),
    "overdue_now": gettext_lazy("当前超期"),
}
COUNT_DEFINITIONS = {
    "received": gettext_lazy("期内接收的上报（含未立案）。"),
    "registered": gettext_lazy("期内立案的案件（县级报到或移送县级部门后重新立案的，按最后一次立案计）。"),
    "not_registered": gettext_lazy("期内接收、不予立案的上报。"),
    "closed": gettext_lazy("期内立案、现已结案的案件。"),
    "escalated": gettext_lazy("期内立案、曾提请县级部门处理（乡呼县应）的案件。"),
    "referred": gettext_lazy("期内立案、已移送（县级主管部门、司法机关、公安机关或法院）的案件。"),
    "overdue_now": gettext_lazy("范围内现已超过时限的未办结案件（受理、报到或办理时限），不限于本期。"),
}


# --- Period and scope -------------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def period_bounds(*, start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) in the county's time zone; raises FieldError for a bad period."""
    if end < start:
        raise FieldError("end", _("结束日期不能早于开始日期。"))
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise FieldError("end", _("统计时段不能超过 %(n)d 天。") % {"n": MAX_PERIOD_DAYS})
    zone = _zone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def review_period(*, kind: str, day: date) -> tuple[date, date]:
    """The period of a review: 日碰头 the day, 周例会 its Monday–Sunday week, 月通报 its month."""
    if kind == "daily":
        return day, day
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if kind == "monthly":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    raise FieldError("kind", _("报表类型只能是 daily（日碰头）、weekly（周例会）或 monthly（月通报）。"))


def default_interval(*, start: date, end: date) -> str:
    days = (end - start).days + 1
    if days <= 31:
        return "day"
    if days <= 184:
        return "week"
    return "month"


def scope_resolve(*, township: str | None = None, team: str | None = None) -> dict:
    """The township (Region of a township level) and team (Team) named by code; FieldError if unknown."""
    scope: dict = {"township": None, "team": None}
    if township:
        region = Region.objects.filter(code=township, level__in=Region.TOWNSHIP_LEVELS).first()
        if region is None:
            raise FieldError("township", _("未知乡镇（街道）：%(code)s。") % {"code": township})
        scope["township"] = region
    if team:
        found = Team.objects.filter(code=team).first()
        if found is None:
            raise FieldError("team", _("未知队伍：%(code)s。") % {"code": team})
        scope["team"] = found
    return scope


def _scoped(scope: dict):
    queryset = Report.objects.all()
    if scope["township"] is not None:
        queryset = queryset.filter(township=scope["township"])
    if scope["team"] is not None:
        queryset = queryset.filter(team=scope["team"])
    return queryset


def _scope_payload(scope: dict) -> dict:
    township, team = scope["township"], scope["team"]
    return {
        "township": {"code": township.code, "name": township.name} if township else None,
        "team": {"code": team.code, "name": team.name, "kind": team.kind} if team else None,
    }


# --- The aggregates ---------------------------------------------------------------------------------


def _duration(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def _aggregates(lo: datetime, hi: datetime, now: datetime) -> dict:
    """Named SQL aggregates (conditional counts and sums) shared by the headline and the breakdowns."""
    received = Q(received_at__gte=lo, received_at__lt=hi)
    registered = Q(registered_at__gte=lo, registered_at__lt=hi)
    closed = registered & Q(status=S.CLOSED)
    verified = registered & (Q(status__in=(S.VERIFIED, S.CLOSED)) | Q(rework_count__gte=1))
    arrived = registered & Q(arrived_at__isnull=False)
    referred = Q(referral__has_key="kind")
    township_level = closed & Q(team__kind=Team.Kind.COMPREHENSIVE, escalated_from__isnull=True) & ~referred
    return {
        "received": Count("id", filter=received),
        "not_registered": Count("id", filter=received & Q(status=S.NOT_REGISTERED)),
        "registered": Count("id", filter=registered),
        "closed": Count("id", filter=closed),
        "closed_on_time": Count("id", filter=closed & Q(closed_at__lte=F("due_at"))),
        "verified": Count("id", filter=verified),
        "reworked": Count("id", filter=registered & Q(rework_count__gte=1)),
        "extended": Count("id", filter=registered & Q(extension_count__gte=1)),
        "escalated": Count("id", filter=registered & Q(escalated_from__isnull=False)),
        "referred": Count("id", filter=registered & referred),
        "township_level": Count("id", filter=township_level),
        "handling_total": Sum(_duration("closed_at", "registered_at"), filter=closed),
        "arrived": Count("id", filter=arrived),
        "response_total": Sum(_duration("arrived_at", "received_at"), filter=arrived),
        "overdue_now": Count("id", filter=overdue_q(now)),
    }


def _window(lo: datetime, hi: datetime) -> Q:
    """Rows any aggregate can count: received or registered in the period, or on a clock now."""
    return (
        Q(received_at__gte=lo, received_at__lt=hi)
        | Q(registered_at__gte=lo, registered_at__lt=hi)
        | Q(status__in=CLOCKED)
    )


def _ratio(numerator: int, denominator: int) -> dict:
    value = round(numerator / denominator, 4) if denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator}


def _mean(total: timedelta | None, count: int, seconds_per_unit: int) -> dict:
    amount = (total.total_seconds() / seconds_per_unit) if total is not None else 0.0
    value = round(amount / count, 2) if count else None
    return {"value": value, "numerator": round(amount, 2), "denominator": count}


def _figures(row: dict) -> tuple[dict, dict]:
    """(counts, indicators) from one row of `_aggregates`."""
    counts = {key: row[key] for key in COUNT_LABELS}
    values = {
        "closure_rate": _ratio(row["closed"], row["registered"]),
        "on_time_rate": _ratio(row["closed_on_time"], row["closed"]),
        "rework_rate": _ratio(row["reworked"], row["verified"]),
        "extension_rate": _ratio(row["extended"], row["registered"]),
        "avg_handling_hours": _mean(row["handling_total"], row["closed"], 3600),
        "avg_response_minutes": _mean(row["response_total"], row["arrived"], 60),
        "township_share": _ratio(row["township_level"], row["closed"]),
    }
    indicators = {}
    for indicator in INDICATORS:
        indicators[indicator.code] = {
            **values[indicator.code],
            "label": str(indicator.label),
            "unit": indicator.unit,
            "definition": str(indicator.definition),
        }
    indicators["township_share"]["target"] = TOWNSHIP_SHARE_TARGET
    return counts, indicators


def _prepare(start: date, end: date, township: str | None, team: str | None, now: datetime | None):
    lo, hi = period_bounds(start=start, end=end)
    scope = scope_resolve(township=township, team=team)
    now = now or timezone.now()
    rows = _scoped(scope).filter(_window(lo, hi)).alias(due_at_now=due_at_expression())
    return lo, hi, scope, now, rows


def indicators_compute(
    *,
    start: date,
    end: date,
    township: str | None = None,
    team: str | None = None,
    now: datetime | None = None,
) -> dict:
    """The headline figures of a scope over [start, end] (whole Asia/Shanghai days), in one query.

    Indicators (each {value, numerator, denominator, label, unit, definition}; value None when the
    denominator is 0), over the cases registered in the period:
      closure_rate          closed ÷ registered
      on_time_rate          closed with closed_at ≤ due_at ÷ closed
      rework_rate           rework_count ≥ 1 ÷ verified at least once (verified, closed, or reworked)
      extension_rate        extension_count ≥ 1 ÷ registered
      avg_handling_hours    Σ(closed_at − registered_at) ÷ closed, hours (wall clock)
      avg_response_minutes  Σ(arrived_at − received_at) ÷ cases with an arrival, minutes
      township_share        closed by a comprehensive (township) team, never escalated nor
                            referred ÷ closed; `target` 0.8
    Counts: received and not_registered (received in the period), registered, closed, escalated,
    referred (registered in the period), overdue_now (open cases of the scope past their deadline
    at `now`, any period). Raises FieldError for a bad period or an unknown township or team.
    """
    lo, hi, scope, now, rows = _prepare(start, end, township, team, now)
    counts, indicators = _figures(rows.aggregate(**_aggregates(lo, hi, now)))
    return {
        "period": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "time_zone": settings.TIME_ZONE,
            "as_of": timezone.localtime(now).isoformat(),
        },
        "scope": _scope_payload(scope),
        "counts": counts,
        "indicators": indicators,
    }


def _breakdown(rows, lo, hi, now, keys: tuple[str, ...]) -> list[dict]:
    grouped = rows.values(*keys).annotate(**_aggregates(lo, hi, now)).order_by(*keys)
    result = []
    for row in grouped:
        counts, indicators = _figures(row)
        if not any(counts.values()):
            continue
        result.append({"row": row, "counts": counts, "indicators": indicators})
    return result


def indicators_by_team(
    *,
    start: date,
    end: date,
    township: str | None = None,
    team: str | None = None,
    now: datetime | None = None,
) -> list[dict]:
    """The same figures per responsible team (one grouped query); unrouted reports as team None."""
    lo, hi, _scope, now, rows = _prepare(start, end, township, team, now)
    result = []
    for item in _breakdown(rows, lo, hi, now, ("team__code", "team__name", "team__kind")):
        row = item["row"]
        result.append(
            {
                "team": (
                    {"code": row["team__code"], "name": row["team__name"], "kind": row["team__kind"]}
                    if row["team__code"]
                    else None
                ),
                "counts": item["counts"],
                "indicators": item["indicators"],
            }
        )
    # Township teams first, then county teams, each by code; unrouted last.
    kind_order = {Team.Kind.COMPREHENSIVE: 0, Team.Kind.PROFESSIONAL: 1}
    result.sort(
        key=lambda r: (
            r["team"] is None,
            kind_order.get((r["team"] or {}).get("kind"), 2),
            (r["team"] or {}).get("code", ""),
        )
    )
    return result


def indicators_by_township(
    *,
    start: date,
    end: date,
    township: str | None = None,
    team: str | None = None,
    now: datetime | None = None,
) -> list[dict]:
    """The same figures per township (where the case is; one grouped query); unlocated as None."""
    lo, hi, _scope, now, rows = _prepare(start, end, township, team, now)
    result = []
    for item in _breakdown(rows, lo, hi, now, ("township__code", "township__name")):
        row = item["row"]
        result.append(
            {
                "township": (
                    {"code": row["township__code"], "name": row["township__name"]}
                    if row["township__code"]
                    else None
                ),
                "counts": item["counts"],
                "indicators": item["indicators"],
            }
        )
    result.sort(key=lambda r: (r["township"] is None, (r["township"] or {}).get("code", "")))
    return result


def _bucket_starts(start: date, end: date, interval: str) -> list[date]:
    if interval == "day":
        first, step = start, None
    elif interval == "week":
        first, step = start - timedelta(days=start.weekday()), None
    else:
        first, step = start.replace(day=1), "month"
    buckets, current = [], first
    while current <= end:
        buckets.append(current)
        if step == "month":
            current = (current + timedelta(days=32)).replace(day=1)
        else:
            current += timedelta(days=7 if interval == "week" else 1)
    return buckets


def indicators_series(
    *,
    start: date,
    end: date,
    township: str | None = None,
    team: str | None = None,
    interval: str | None = None,
) -> dict:
    """Reports received per township per day / week (Monday) / month over the period (one query).

    `buckets` are the first days of the buckets (the first may start before `start`; only the
    period is counted); every township with a report in the period gets a row of counts, one per
    bucket, zeros included; reports outside every township come last with `township: None`."""
    interval = interval or default_interval(start=start, end=end)
    if interval not in INTERVALS:
        raise FieldError("interval", _("时间粒度只能是 day、week 或 month。"))
    lo, hi = period_bounds(start=start, end=end)
    scope = scope_resolve(township=township, team=team)
    zone = _zone()
    grouped = (
        _scoped(scope)
        .filter(received_at__gte=lo, received_at__lt=hi)
        .annotate(bucket=Trunc("received_at", interval, output_field=DateTimeField(), tzinfo=zone))
        .values("township__code", "township__name", "bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    buckets = _bucket_starts(start, end, interval)
    index = {day: i for i, day in enumerate(buckets)}
    rows: dict = {}
    for row in grouped:
        key = row["township__code"]
        if key not in rows:
            rows[key] = {
                "township": {"code": key, "name": row["township__name"]} if key else None,
                "counts": [0] * len(buckets),
            }
        rows[key]["counts"][index[timezone.localtime(row["bucket"], zone).date()]] += row["n"]
    townships = sorted(
        rows.values(), key=lambda r: (r["township"] is None, (r["township"] or {}).get("code", ""))
    )
    for row in townships:
        row["total"] = sum(row["counts"])
    return {"interval": interval, "buckets": [b.isoformat() for b in buckets], "townships": townships}


def indicators_case_list(
    *,
    start: date,
    end: date,
    township: str | None = None,
    team: str | None = None,
    now: datetime | None = None,
) -> list[dict]:
    """The cases a review talks about: open and overdue now (any period), and those registered in
    the period that were closed late or reworked. One query, at most CASE_LIST_LIMIT rows."""
    lo, hi, _scope, now, rows = _prepare(start, end, township, team, now)
    registered = Q(registered_at__gte=lo, registered_at__lt=hi)
    late = registered & Q(status=S.CLOSED, closed_at__gt=F("due_at"))
    reworked = registered & Q(rework_count__gte=1)
    overdue = overdue_q(now)
    cases = (
        rows.filter(overdue | late | reworked)
        .annotate(deadline_now=due_at_expression())
        .select_related("township", "team", "matter")
        .only(
            "id",
            "status",
            "received_at",
            "registered_at",
            "due_at",
            "escalation_due_at",
            "priority",
            "closed_at",
            "rework_count",
            "extension_count",
            "township__code",
            "township__name",
            "team__code",
            "team__name",
            "matter__code",
            "matter__name",
        )
        .order_by("received_at", "id")[:CASE_LIST_LIMIT]
    )
    result = []
    for case in cases:
        problems = []
        if case.status in CLOCKED and case.deadline_now is not None and case.deadline_now < now:
            problems.append(_("超期未结"))
        if case.status == S.CLOSED and case.due_at and case.closed_at and case.closed_at > case.due_at:
            problems.append(_("逾期结案"))
        if case.rework_count:
            problems.append(_("返工"))
        result.append(
            {
                "id": case.pk,
                "number": case.number,
                "problems": problems,
                "status": case.status,
                "status_label": str(case.get_status_display()),
                "township": case.township.name if case.township_id else "",
                "team": case.team.name if case.team_id else "",
                "matter": case.matter.name if case.matter_id else "",
                "received_at": case.received_at,
                "registered_at": case.registered_at,
                "due_at": case.deadline_now or case.due_at,
                "closed_at": case.closed_at,
                "rework_count": case.rework_count,
                "extension_count": case.extension_count,
            }
        )
    return result


def indicators_scope_choices() -> dict:
    """What the dashboard's scope picker offers: every township-level region and every team."""
    townships = (
        Region.objects.filter(level__in=Region.TOWNSHIP_LEVELS).order_by("code").values("code", "name")
    )
    teams = Team.objects.order_by("kind", "code").values("code", "name", "kind")
    return {"townships": list(townships), "teams": list(teams)}
