"""The officer's phone page (`/field/`): receive a case live, navigate to it, handle it, close it out.

Who: a signed-in member of the `officer` group with an Officer record (the roster line says which
team). Anyone else who is signed in gets a 403 page, anonymous visitors the login page.

The page module (static/frontend/field.js, with fieldmodel.js: the lists, no DOM; fieldcard.js:
one case's sheet) gets everything through one `json_script`: the officer and their team, the cases
in their hands for the first paint (so a phone on a slow link shows its work at once), the API
addresses, the live stream (`team:<code>`), the map and every string it shows. Steps go to the
REST API (`POST /api/v1/reports/{id}/transition/`); a case's sheet reads `GET /api/v1/reports/{id}/`
(photos, reasons, record, the steps allowed to the caller). `/field/cases/` answers the same lists
as JSON, for a reload after the live link lost its place.
"""

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views import View
from django.views.generic import TemplateView

from frontend import selectors
from frontend.views import api_urls, live_link_i18n, live_state, map_state
from geodata.models import Officer
from gridops.api.report_serializers import ReportSerializer
from gridops.models import Report
from gridops.realtime.events import ref
from gridops.selectors.field import field_cases, field_officer


def field_case_row(report: Report) -> dict:
    """A list row (the API's shape) plus what the officer's lists are split by."""
    row = ReportSerializer(report).data
    row["handler_id"] = report.handler_id
    row["assigned_unit"] = (
        ref(report.assigned_unit, "id", "code", "name") if report.assigned_unit_id else None
    )
    row["extension_pending"] = bool(report.extension_request)
    return row


def field_cases_state(officer: Officer) -> dict:
    return {
        "cases": [field_case_row(report) for report in field_cases(officer=officer)],
        "at": timezone.localtime().isoformat(),
    }


def field_i18n() -> dict:
    """Every string field.js, fieldcard.js and fieldmodel.js show, translated for the request."""
    return {
        "tabs": {"waiting": _("待签收"), "inHand": _("办理中"), "toVerify": _("待核查")},
        "empty": {
            "waiting": _("没有待签收的案件"),
            "inHand": _("没有办理中的案件"),
            "toVerify": _("没有待核查的案件"),
        },
        "waitingCount": _("待签收 %(n)s 件"),
        "live": {**live_link_i18n(), "polling": _("每 30 秒刷新")},
        "linkDown": _("与指挥中心的连接已中断，列表可能不是最新，正在重连…"),
        "linkDenied": _("无权收听本队的实时消息，列表每 30 秒刷新"),
        "refresh": _("刷新"),
        "loadFailed": _("案件列表加载失败"),
        "newDispatch": _("新派遣：%(number)s %(matter)s"),
        "rework": _("返工：%(number)s 核查未通过，请重新处置"),
        "verified": _("核查通过：%(number)s"),
        "toUnit": _("派给 %(unit)s"),
        "urgent": _("紧急"),
        "noMatter": _("未指定事项"),
        "overdueBy": _("超时 %(t)s"),
        "timeLeft": _("剩 %(t)s"),
        "noDeadline": _("无时限"),
        "minutes": pgettext("duration", "%(n)s分"),
        "hours": pgettext("duration", "%(n)s小时"),
        "days": pgettext("duration", "%(n)s天"),
        "metres": _("%(n)s 米"),
        "kilometres": _("%(n)s 公里"),
        "noFix": _("未定位"),
        "locating": _("正在定位…"),
        "located": _("已定位 ±%(m)s 米"),
        "geoUnavailable": _("无法获取定位，距离不显示"),
        "back": _("返回列表"),
        "loading": _("加载中…"),
        "loadDetailFailed": _("详情加载失败"),
        "retry": _("重试"),
        "status": _("状态"),
        "matter": _("执法事项"),
        "place": _("地点"),
        "address": _("地址"),
        "receivedAt": _("接收时间"),
        "dueAt": _("时限"),
        "description": _("描述"),
        "reporter": _("上报人"),
        "unit": _("派遣单元"),
        "handler": _("承办人"),
        "distance": _("距离"),
        "photos": _("现场照片"),
        "noPhotos": _("无照片"),
        "reasons": _("为何派给本队"),
        "timeline": _("处理经过"),
        "navigate": _("导航"),
        "navigateAmap": _("高德地图导航"),
        "navigateGeo": _("其他地图应用"),
        "mapMe": _("我"),
        "mapCase": _("事发地"),
        "steps": _("办理"),
        "noSteps": _("当前没有您可以办理的步骤。"),
        "note": _("说明"),
        "noteRequired": _("说明（必填）"),
        "noteOptional": _("说明（可选）"),
        "handleNote": _("处置情况（必填）"),
        "extensionReason": _("延期理由（必填）"),
        "escalateNote": _("提请理由（必填）"),
        "extensionDays": _("延期工作日数"),
        "extensionPending": _("延期申请待审批（%(n)s 个工作日）"),
        "countyTeam": _("县级专业队伍"),
        "teamByMatter": _("按事项领域自动选择"),
        "afterPhotos": _("处置后照片"),
        "takePhoto": _("拍照 / 选择照片"),
        "removePhoto": _("删除照片"),
        "photosNeeded": _("至少 %(n)s 张处置后照片"),
        "photosTooMany": _("最多 %(n)s 张照片"),
        "needNote": _("请填写说明"),
        "confirmStep": _("确认%(action)s"),
        "cancel": _("取消"),
        "sending": _("发送中…"),
        "gettingLocation": _("正在获取位置…"),
        "noLocationSent": _("未能获取位置，已不带位置提交"),
        "stepDone": _("已%(action)s"),
        "stepRefused": _("未能%(action)s：%(message)s"),
        "stepNetwork": _("发送失败：网络或连接中断，步骤尚未提交"),
        "statusLabels": {code: str(label) for code, label in Report.Status.choices},
        "sourceLabels": {code: str(label) for code, label in Report.Source.choices},
        "events": {
            "reported": _("设备上报"),
            "received": _("平台接收"),
            "routed": _("匹配责任队伍"),
            "triage": _("转人工分拣"),
            "repeated": _("重复告警"),
        },
    }


class OfficerRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Officers only: anonymous → the login page; signed in but not an officer → 403."""

    def test_func(self) -> bool:
        self.officer = field_officer(user=self.request.user)
        return self.officer is not None

    def handle_no_permission(self):
        # LoginRequiredMixin would send a signed-in user back to the login page (a loop).
        self.raise_exception = self.request.user.is_authenticated
        return super().handle_no_permission()


class FieldPageView(OfficerRequiredMixin, TemplateView):
    template_name = "frontend/field.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, officer = self.request.user, self.officer
        teams = selectors.teams_for_dispatch()
        context["officer"] = officer
        context["page_state"] = {
            "api": api_urls(),
            "casesUrl": reverse("field-cases"),
            "csrfToken": get_token(self.request),
            "user": {"id": user.pk, "username": user.get_username(), "name": officer.name},
            "team": {"code": officer.team.code, "name": officer.team.name, "kind": officer.team.kind},
            "live": {**live_state(user), "pollSeconds": 30},
            **map_state(),
            "minPhotos": settings.CASE_HANDLED_MIN_PHOTOS,
            "maxPhotos": settings.PHOTO_MAX_PER_REPORT,
            "extensionMaxDays": settings.CASE_EXTENSION_MAX_DAYS,
            "countyTeams": [team for team in teams if team["kind"] == "professional"],
            **field_cases_state(officer),
            "i18n": field_i18n(),
        }
        return context


class FieldCasesView(OfficerRequiredMixin, View):
    """`/field/cases/`: the officer's lists as JSON (the page's reload after a lost live link)."""

    def handle_no_permission(self):
        # A data address: a 403 in JSON, never a redirect to the login page.
        return JsonResponse({"detail": _("只有执法队员可以查看。")}, status=403)

    def get(self, request):
        response = JsonResponse(field_cases_state(self.officer))
        response["Cache-Control"] = "no-store"
        return response
