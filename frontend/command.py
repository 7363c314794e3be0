"""The command centre (`/command/`): the dispatchers' wall map, case queue and report detail.

The view hands everything the page module (static/frontend/command.js) needs through one
`json_script`: API addresses, the live stream, the map, teams and townships for the filters and
the assign action, today's figures for the first paint, and every string the JS shows.
"""

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from frontend import selectors
from frontend.views import api_urls, home_i18n, live_link_i18n, live_state, map_state
from gridops import lifecycle
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
        "printRecord": _("打印办案记录"),
        "reasons": _("匹配依据"),
        "source": _("来源"),
        "status": _("状态"),
        "receivedAt": _("接收时间"),
        "dueAt": _("时限"),
        "description": _("描述"),
        "reporter": _("上报人"),
        "camera": _("摄像头"),
        "repeat": _("重复次数"),
        "assign": _("指派"),
        "reassign": _("改派"),
        "assignTo": _("指派给队伍"),
        "assignNote": _("指派说明（可选）"),
        "actionDone": _("已完成"),
        "actionFailed": _("操作失败"),
        "noSteps": _("您当前不能对该案件进行操作。"),
        "note": _("说明"),
        "noteRequired": _("说明（必填）"),
        "noteOptional": _("说明（可选）"),
        "confirmStep": _("确认%(action)s"),
        "cancel": _("取消"),
        "noUnit": _("不指定巡查单元"),
        "inHand": _("在办 %(n)s"),
        "recommendFailed": _("派遣推荐暂不可用"),
        "referTo": _("移送对象"),
        "referToName": _("接收机关名称（移送司法、公安、法院时必填）"),
        "countyTeam": _("县级专业队伍"),
        "teamByMatter": _("按事项领域自动选择"),
        "extensionDays": _("延期工作日数"),
        "afterPhotos": _("处置后照片"),
        "noLocation": _("无法获取当前位置，请允许定位后重试。"),
        "caseUnit": _("派遣单元"),
        "caseHandler": _("承办人"),
        "caseEscalatedFrom": _("提请队伍"),
        "caseReportInDue": _("报到期限"),
        "caseExtensionPending": _("待批延期"),
        "caseDays": _("%(n)s 个工作日"),
        "caseExtensions": _("已延期次数"),
        "caseRework": _("返工次数"),
        "caseReferral": _("移送至"),
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
        "live": live_link_i18n(),
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
                "openStatuses": list(lifecycle.OPEN),
                "referralKinds": {kind: str(label) for kind, label in lifecycle.Referral.CHOICES.items()},
                "extensionMaxDays": settings.CASE_EXTENSION_MAX_DAYS,
                "recordPage": reverse("case-record", args=[0]).replace("/0/", "/{id}/"),
                "csrfToken": get_token(self.request),
                "teams": selectors.teams_for_dispatch(),
                "townships": selectors.townships_for_filter(),
                "summary": summary,
                "i18n": command_i18n(),
            },
        )
        return context
