"""The coverage editor (`/planner/`): planners redraw which team covers which grid cells.

Planners are members of the group `planner` (or superusers): anyone else who is signed in gets a
403 page, anonymous visitors the login page. The page itself is static/frontend/planner.js with
its data modules (plannerapi.js: REST; plannermodel.js: the version being edited, no DOM) and UI
modules (plannermap.js: Leaflet + Geoman; plannerpanel.js: the side panels and dialogs). Every
edit goes through the planning API (docs/PLANNING.md) with the draft revision the page read, so a
stale save answers 409 and the page says so instead of overwriting.

The view hands over the API addresses (per-version ones as templates with `{id}`; the figures and
diff ones are null while gridops does not serve them, so the page shows "unavailable" instead of
asking for a 404), the map, the default effective time (now, Asia/Shanghai) and every string.
"""

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from frontend.views import api_urls, home_i18n, map_state
from geodata.api.views import PLANNER_GROUP

# A placeholder id no version has, swapped for "{id}" after reverse(): the page fills in the id.
_PLACEHOLDER_ID = 987654321

# Per-version endpoints of the planning API, by page key and URL name.
VERSION_ENDPOINTS = {
    "detail": "api:coverage-version-detail",
    "membership": "api:coverage-version-membership",
    "cellsIn": "api:coverage-version-cells-in",
    "validate": "api:coverage-version-validate",
    "zones": "api:coverage-version-zones",
    "merge": "api:coverage-version-merge",
    "split": "api:coverage-version-split",
    "publish": "api:coverage-version-publish",
    "rollback": "api:coverage-version-rollback",
    # Figures and the publish diff are gridops' (issue 5); until served the page does without.
    "figures": "api:coverage-version-figures",
    "diff": "api:coverage-version-diff",
}


def user_is_planner(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.groups.filter(name=PLANNER_GROUP).exists()


def _template(name: str) -> str | None:
    try:
        url = reverse(name, args=[_PLACEHOLDER_ID])
    except NoReverseMatch:
        return None
    return url.replace(str(_PLACEHOLDER_ID), "{id}")


def planner_endpoints() -> dict:
    """`/api/v1/coverage-versions/{id}/validate/` etc.; None for an endpoint not wired up (yet)."""
    return {
        "versions": reverse("api:coverage-version-list"),
        "version": {key: _template(name) for key, name in VERSION_ENDPOINTS.items()},
        "zone": _template("api:zone-detail"),
    }


def planner_i18n() -> dict:
    """Strings of planner.js, plannermap.js and plannerpanel.js (on top of the home page's)."""
    return {
        **home_i18n(),
        "versions": _("覆盖版本"),
        "inForce": _("当前生效"),
        "drafts": _("草稿"),
        "history": _("历史版本"),
        "statusLabels": {
            "draft": _("草稿"),
            "published": _("已发布"),
            "retired": _("已撤回"),
        },
        "effectiveFrom": _("生效时间（北京时间）"),
        "newDraft": _("新建草稿"),
        "newDraftName": _("草稿 %(t)s"),
        "draftName": _("草稿名称"),
        "draftCreated": _("已新建草稿“%(name)s”"),
        "readOnly": _("只读：已发布的版本不能修改。请基于当前生效版本新建草稿。"),
        "editing": _("正在编辑草稿（修订号 %(n)s）"),
        "rollback": _("回退到此版本"),
        "rollbackTitle": _("回退覆盖版本"),
        "rollbackText": _("将把“%(name)s”复制为新版本并在下列时间生效；现有版本都保留为历史。"),
        "rolledBack": _("已回退：新版本“%(name)s”已发布"),
        "zones": _("执法片区"),
        "zoneCells": _("%(n)s 个网格"),
        "noZones": _("该领域没有片区"),
        "selectZoneHint": _("选择一个片区后可在地图上编辑它的网格"),
        "selectedZone": _("当前片区"),
        "mode": _("选择网格后"),
        "modeAdd": _("加入片区"),
        "modeRemove": _("移出片区"),
        "modeMark": _("仅标记（用于新建、拆分）"),
        "drawPolygon": _("画多边形选择网格"),
        "cancelDraw": _("取消绘制"),
        "drawHint": _("在地图上依次点击顶点，点击第一个顶点完成；网格至少一半在多边形内即算选中。"),
        "pickRegion": _("按区域选择"),
        "regionPlaceholder": _("选择乡镇、村、农场或园区"),
        "apply": _("应用"),
        "clearMarks": _("清除标记"),
        "marked": _("已标记 %(n)s 个网格"),
        "createZone": _("新建片区"),
        "editZone": _("修改片区"),
        "editZoneHint": _("把片区交给另一支队伍或改为另一领域；网格不变。"),
        "zoneName": _("片区名称"),
        "team": _("执法队伍"),
        "domain": _("领域"),
        "create": _("创建"),
        "needMarks": _("请先用“仅标记”方式选择网格。"),
        "split": _("拆分"),
        "splitName": _("新片区名称"),
        "splitHint": _("把已标记的、属于当前片区的网格移入同一队伍的新片区。"),
        "merge": _("合并"),
        "mergeTitle": _("合并片区"),
        "mergeHint": _("选择同一队伍、同一领域的片区（至少两个，含当前片区）。"),
        "mergedName": _("合并后名称"),
        "delete": _("删除"),
        "deleteConfirm": _("确定删除片区“%(name)s”吗？其网格将不再由该片区负责。"),
        "confirm": _("确定"),
        "cancel": _("取消"),
        "close": _("关闭"),
        "saving": _("正在保存…"),
        "saved": _("已保存"),
        "added": _("已加入 %(n)s 个网格"),
        "removed": _("已移出 %(n)s 个网格"),
        "nothingChanged": _("没有网格需要变更"),
        "noCellsSelected": _("所选范围内没有网格"),
        "editFailed": _("保存失败：%(m)s"),
        "stale": _("草稿已被他人修改（当前修订号 %(n)s），您的修改未保存"),
        "reload": _("重新加载"),
        "validation": _("覆盖检查"),
        "validating": _("正在检查…"),
        "badge": _("缺口 %(gaps)s · 重叠 %(overlaps)s"),
        "gaps": _("缺口（无队伍负责的网格）"),
        "overlaps": _("重叠（同一领域多个片区）"),
        "noProblems": _("没有缺口或重叠"),
        "gapSwatch": _("缺口"),
        "overlapSwatch": _("重叠"),
        "legend": _("图例"),
        "figures": _("按近 %(n)s 天的上报统计"),
        "figuresUnavailable": _("统计暂不可用"),
        "figuresByZone": _("按片区"),
        "figuresByTeam": _("按队伍"),
        "columns": {
            "name": _("名称"),
            "team": _("队伍"),
            "cells": pgettext("column", "网格"),
            "area_km2": _("面积（km²）"),
            "townships": _("乡镇"),
            "officers": _("人员"),
            "base_to_farthest_cell_km": _("驻地至最远网格（km）"),
            "reports_90d": _("上报数"),
            "reports_per_officer": _("人均上报"),
            "zones": pgettext("column", "片区"),
        },
        "balance": _("人均上报最高 %(max)s，最低 %(min)s（比值 %(ratio)s）"),
        "heaviest": _("人均上报最高"),
        "sortBy": _("按此列排序"),
        "publish": _("发布"),
        "publishTitle": _("发布草稿"),
        "diff": _("与当前生效版本的差异"),
        "diffUnavailable": _("差异暂不可用"),
        "cellsChangingTeam": _("改变负责队伍的网格：%(n)s 个"),
        "casesChangingOwner": _("将改变承办队伍的未结案件：%(n)s 件"),
        "monthlyWorkload": _("月工作量（按近 %(n)s 天折算）"),
        "before": _("调整前"),
        "after": _("调整后"),
        "delta": _("变化"),
        "from": pgettext("diff", "原队伍"),
        "to": pgettext("diff", "新队伍"),
        "cell": pgettext("diff column", "网格"),
        "case": _("案件"),
        "overrideReason": _("发布理由（有缺口或重叠时必填）"),
        "overrideNeeded": _("当前草稿有 %(gaps)s 处缺口、%(overlaps)s 处重叠，须填写发布理由。"),
        "published": _("已发布“%(name)s”，生效时间 %(t)s"),
        "badTime": _("请填写生效时间。"),
        "more": _("……另有 %(n)s 条"),
    }


class PlannerView(LoginRequiredMixin, UserPassesTestMixin, TemplateView):
    template_name = "frontend/planner.html"

    def test_func(self) -> bool:
        return user_is_planner(self.request.user)

    def handle_no_permission(self):
        # Signed in but not a planner: a 403 page, not a login loop (LoginRequiredMixin's default
        # would send a signed-in user back to the login page).
        self.raise_exception = self.request.user.is_authenticated
        return super().handle_no_permission()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.localtime()
        context["page_state"] = {
            "api": api_urls(),
            "planning": planner_endpoints(),
            **map_state(),
            "csrfToken": get_token(self.request),
            "now": now.isoformat(timespec="seconds"),
            "i18n": planner_i18n(),
        }
        return context
