"""Dispatch recommendation: which patrol units of the responsible team to send to a case, and why.

    candidates: active units of the case's team that can act on the ground (not drones)
    recommended: a fresh fix (within DISPATCH_FIX_FRESH_SECONDS) and fewer than
                DISPATCH_MAX_CASES_IN_HAND cases in hand (dispatched, accepted, handling)
    rank:       recommended first, nearest first by the latest fix; then the busy ones with a
                fresh fix, nearest first; then those whose fix is stale or missing (no distance)

One query: the distance is computed by PostGIS on the spheroid (metres) and the cases in hand are
counted in the same statement. Each unit comes with its reasons in words, so the dispatcher sees why
it is first and picks (the recommendation never dispatches by itself).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridops.models import Report, Unit

IN_HAND = (Report.Status.DISPATCHED, Report.Status.ACCEPTED, Report.Status.HANDLING)


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("刚刚")
    if minutes < 60:
        return _("%(n)d 分钟前") % {"n": minutes}
    return _("%(n)d 小时前") % {"n": minutes // 60}


def dispatch_recommend(*, report: Report, now: datetime | None = None) -> list[dict]:
    """The team's units for this case, best first, each with `recommended` and its reasons."""
    if report.team_id is None:
        return []
    now = now or timezone.now()
    fresh_after = now - timedelta(seconds=settings.DISPATCH_FIX_FRESH_SECONDS)
    units = (
        Unit.objects.filter(team_id=report.team_id, active=True)
        .exclude(kind=Unit.Kind.DRONE)
        .annotate(
            distance=Distance("fix_point", report.point),
            in_hand=Count("cases", filter=Q(cases__status__in=IN_HAND) & ~Q(cases__pk=report.pk)),
        )
        .order_by("code")
    )
    rows = []
    for unit in units:
        fresh = unit.fix_at is not None and unit.fix_point is not None and unit.fix_at >= fresh_after
        metres = unit.distance.m if fresh and unit.distance is not None else None
        reasons = [_("%(team)s 的巡查单元（责任队伍）") % {"team": report.team.name}]
        if unit.fix_at is None:
            reasons.append(_("没有定位，无法按距离排序"))
        elif fresh:
            reasons.append(
                _("最新定位 %(age)s，距事发地 %(km).1f 公里")
                % {"age": _age((now - unit.fix_at).total_seconds()), "km": metres / 1000}
            )
        else:
            reasons.append(
                _("定位已过期（%(age)s），不按距离排序") % {"age": _age((now - unit.fix_at).total_seconds())}
            )
        if unit.in_hand:
            reasons.append(_("在办案件 %(n)d 件") % {"n": unit.in_hand})
        else:
            reasons.append(_("当前没有在办案件"))
        if unit.outside_since is not None:
            reasons.append(_("当前在辖区外"))
        busy = unit.in_hand >= settings.DISPATCH_MAX_CASES_IN_HAND
        if busy:
            reasons.append(_("在办案件已达上限 %(n)d 件") % {"n": settings.DISPATCH_MAX_CASES_IN_HAND})
        rows.append(
            {
                "unit": {"id": unit.pk, "code": unit.code, "name": unit.name, "kind": unit.kind},
                "recommended": fresh and not busy,
                "distance_m": round(metres) if metres is not None else None,
                "fix_at": timezone.localtime(unit.fix_at).isoformat() if unit.fix_at else None,
                "fresh": fresh,
                "in_hand": unit.in_hand,
                "reasons": reasons,
            }
        )
    rows.sort(
        key=lambda r: (
            not r["recommended"],
            not r["fresh"],
            r["distance_m"] if r["distance_m"] is not None else float("inf"),
            r["fix_at"] is None,
            r["in_hand"],
            r["unit"]["code"],
        )
    )
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows
