"""效能监督 (`/dashboard/`): supervisors and dispatchers read the closed loop's indicators.

The view hands the page module (static/frontend/dashboard.js) the indicator and review addresses,
the townships and teams of the scope picker, the preset periods (today, this week, this month:
Asia/Shanghai days, computed here so the browser's clock zone does not matter), the township-share
target and every string the JS shows. The figures themselves come from `GET /api/v1/indicators/`
(gridops.selectors.indicators); the charts are ECharts from npm (static/vendor/echarts/).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from gridops.selectors.indicators import (
    COUNT_DEFINITIONS,
    COUNT_LABELS,
    INDICATORS,
    MAX_PERIOD_DAYS,
    TOWNSHIP_SHARE_TARGET,
    indicators_scope_choices,
    user_reads_indicators,
)
from gridops.selectors.reviews import REVIEW_KINDS
from inspections.models import CreditColour


def dashboard_periods(today) -> dict:
    """The preset periods: today, this week (Monday to today), this month (the 1st to today)."""
    return {
        "today": {"start": today.isoformat(), "end": today.isoformat()},
        "week": {"start": (today - timedelta(days=today.weekday())).isoformat(), "end": today.isoformat()},
        "month": {"start": today.replace(day=1).isoformat(), "end": today.isoformat()},
    }


def dashboard_i18n() -> dict:
    """Strings of dashboard.js."""
    return {
        "loading": _("加载中…"),
        "loadFailed": _("数据加载失败，请稍后重试"),
        "noData": _("无数据"),
        "fraction": _("%(num)s / %(den)s"),
        "hoursValue": _("%(n)s 小时"),
        "minutesValue": _("%(n)s 分钟"),
        "target": _("目标 %(pct)s"),
        "belowTarget": _("低于目标"),
        "meetsTarget": _("达到目标"),
        "county": _("全县"),
        "seriesTitle": _("各乡镇上报数量"),
        "teamCountsTitle": _("各队伍立案与结案"),
        "teamRatesTitle": _("各队伍结案率、按期结案率与返工率"),
        "townshipShareTitle": _("各乡镇乡镇处置占比"),
        "registered": _("立案"),
        "closed": _("已结案"),
        "unrouted": _("未分派（待分拣）"),
        "outsideGrid": _("网格外"),
        "intervalDay": _("按日"),
        "intervalWeek": _("按周"),
        "intervalMonth": _("按月"),
        "periodText": _("%(start)s 至 %(end)s"),
        "asOf": _("统计时间 %(t)s（北京时间）"),
        "badRange": _("结束日期不能早于开始日期。"),
        "teamColumn": _("队伍"),
        "townshipColumn": _("乡镇（街道）"),
        "inspectionsVisits": _("%(before)s 户次 → %(after)s 次联合检查"),
        "inspectionsColour": _(
            "联合检查 %(joint)s（已结案 %(closed)s）· 双随机 %(draw)s（已出结果 %(done)s）"
        ),
    }


class SupervisorRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Supervisors, dispatchers, administrators and superusers: anonymous → the login page;
    signed in without the role → 403 (never a loop back to the login page)."""

    def test_func(self) -> bool:
        return user_reads_indicators(user=self.request.user)

    def handle_no_permission(self):
        self.raise_exception = self.request.user.is_authenticated
        return super().handle_no_permission()


class DashboardView(SupervisorRequiredMixin, TemplateView):
    template_name = "frontend/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.localtime()
        today = now.date()
        choices = indicators_scope_choices()
        periods = dashboard_periods(today)
        context.update(
            today=today.isoformat(),
            periods=periods,
            choices=choices,
            review_kinds=[(kind, str(label)) for kind, label in REVIEW_KINDS.items()],
            inspection_colours=[(c, str(CreditColour(c).label)) for c in ("red", "yellow", "green")],
            indicators=INDICATORS,
            count_labels=[(key, str(label)) for key, label in COUNT_LABELS.items()],
            page_state={
                "api": {
                    "indicators": reverse("api:indicators"),
                    "review": reverse("api:indicators-review"),
                    # Joint inspections and draws (inspections app): county-wide, same period.
                    "inspections": reverse("inspections:indicators"),
                },
                "timeZone": settings.TIME_ZONE,
                "today": today.isoformat(),
                "periods": periods,
                "maxDays": MAX_PERIOD_DAYS,
                "target": TOWNSHIP_SHARE_TARGET,
                "indicators": [
                    {"code": i.code, "label": str(i.label), "unit": i.unit, "definition": str(i.definition)}
                    for i in INDICATORS
                ],
                "counts": [
                    {"code": key, "label": str(label), "definition": str(COUNT_DEFINITIONS[key])}
                    for key, label in COUNT_LABELS.items()
                ],
                "townships": choices["townships"],
                "teams": choices["teams"],
                "reviewKinds": {kind: str(label) for kind, label in REVIEW_KINDS.items()},
                "i18n": dashboard_i18n(),
            },
        )
        return context
