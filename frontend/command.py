"""The command centre (`/command/`): the dispatchers' wall map, case queue and report detail.

The view hands everything the page module (static/frontend/command.js) needs through one
`json_script`: API addresses, the live stream, the map, teams and townships for the filters and
the assign action, today's figures for the first paint, and every string the JS shows.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.middleware.csrf import get_token
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from frontend import selectors
from frontend.views import api_urls, home_i18n, live_state, map_state
from gridops.models import Report
from gridops.selectors.command import command_summary
from gridops.selectors.reports import user_is_dispatcher


def command_i18n() -> dict:
    """Strings of command.js, queue.js and detail.js (on top of the map strings of the home page)."""
    return {
        **home_i18n(),
        "layerCameras": _("摄像头"),
        "layerAlerts": _("告警"),
        "layerFov": _("摄像头视场"),
        "queueEmpty": _("没有符合条件的未办结上报"),
        "queueShown": _("显示 %(shown)s / %(total)s"),
        "all": _("全部"),
        "overdue": _("超时"),
        "overdueBy": _("超时 %(t)s"),
        "timeLeft": _("剩 %(t)s"),
        "urgent": _("紧急"),
        "minutes": pgettext("duration", "%(n)s分"),
        "hours": pgettext("duration", "%(n)s小时"),
        "days": pgettext("duration", "%(n)s天"),
        "ago": _("%(t)s前"),
        "justNow": _("刚刚"),
        "detailTitle": _("上报详情"),
        "close": _("关闭"),
        "photos": _("现场照片"),
        "noPhotos": _("无照片"),
        "timeline": _("处理经过"),
        "reasons": _("匹配依据"),
        "source": _("来源"),
        "status": _("状态"),
        "receivedAt": _("接收时间"),
        "dueAt": _("时限"),
        "description": _("描述"),
        "reporter": _("上报人"),
        "camera": _("摄像头"),
        "repeat": _("重复次数"),
        "acknowledge": _("受理"),
        "assign": _("指派"),
        "reassign": _("改派"),
        "assignTo": _("指派给队伍"),
        "assignNote": _("指派说明（可选）"),
        "actionDone": _("已完成"),
        "actionFailed": _("操作失败"),
        "readOnly": _("只读：只有调度员可以受理和指派。"),
        "caseLoopLater": _("立案、派遣、核查、结案等案件流程将在案件闭环功能上线后在此办理。"),
        "loadDetailFailed": _("详情加载失败"),
        "events": {
            "reported": _("设备上报"),
            "received": _("平台接收"),
            "routed": _("匹配责任队伍"),
            "triage": _("转人工分拣"),
            "repeated": _("重复告警"),
            "acknowledged": _("调度员受理"),
            "assigned": _("调度员指派"),
        },
        "statusLabels": {code: str(label) for code, label in Report.Status.choices},
        "sourceLabels": {code: str(label) for code, label in Report.Source.choices},
        "priorityLabels": {str(code): str(label) for code, label in Report.Priority.choices},
        "summary": {
            "reportsToday": _("今日上报"),
            "open": _("未办结"),
            "overdue": _("超时"),
            "triage": _("待分拣"),
            "unitsOnPatrol": _("在线巡查"),
            "openAlerts": _("告警"),
        },
        "newAlert": _("新告警"),
        "noAlerts": _("暂无告警"),
        "acknowledgeAlert": _("知悉"),
        "live": {
            "connecting": _("连接中…"),
            "live": _("实时"),
            "catching-up": _("正在补齐…"),
            "down": _("连接中断"),
            "denied": _("无权收听"),
        },
    }


class CommandView(LoginRequiredMixin, TemplateView):
    template_name = "frontend/command.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        summary = command_summary()
        context.update(
            summary=summary,
            page_state={
                "api": api_urls(),
                "live": live_state(user),
                **map_state(),
                "canDispatch": user_is_dispatcher(user=user),
                "csrfToken": get_token(self.request),
                "teams": selectors.teams_for_dispatch(),
                "townships": selectors.townships_for_filter(),
                "summary": summary,
                "i18n": command_i18n(),
            },
        )
        return context
