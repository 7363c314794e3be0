"""Pages. Views stay thin: they read selectors and hand state to the page's ES module through
`json_script` (API addresses, map view, basemap, translated strings).

Who may open which page is decided once, by `PageScopeMiddleware` asking gridops/scopes.py
(`page_allowed`) before any page view runs: anonymous visitors of a page that needs signing in go
to the login page, a signed-in user whose role may not use the page gets a 403 page with a link
home (never a blank map), and a case record outside the user's scope is a 404.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseForbidden, JsonResponse
from django.template import engines
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from frontend import selectors
from geodata.models import Domain, Region
from geodata.routing import TRIAGE_NO_COVERAGE, TRIAGE_NO_TEAM, TRIAGE_OUTSIDE_GRID
from gridops import scopes
from gridops.models import Report
from gridops.realtime.access import live_default_stream

# Grid cells are drawn from this zoom on (fetched by bbox); below it the map shows a hint.
CELL_MIN_ZOOM = 13


def role_pages() -> list[dict]:
    """The role pages, each marked available once some app serves its address.

    Resolving the path rather than a URL name lets a page appear on the home page the moment it is
    wired up, whatever its author calls the route.
    """
    pages = [
        ("command", "/command/", _("指挥中心"), _("调度员的大屏地图：事件、案件、巡查力量")),
        ("report", "/report/", _("网格上报"), _("网格员在手机上按位置上报事件")),
        ("field", "/field/", _("现场办案"), _("执法队员在手机上签收、导航、处置案件")),
        ("planner", "/planner/", _("片区规划"), _("规划员调整各执法队伍负责的网格")),
        ("inspections", "/inspections/", _("检查计划"), _("执法对象名录、综合查一次、双随机抽查")),
        ("replay", "/replay/", _("轨迹回放"), _("督查员回放巡查轨迹、查看指标")),
        ("dashboard", "/dashboard/", _("效能监督"), _("结案率、按期结案率等指标，日碰头、周例会、月通报")),
        ("admin", "/admin/", _("后台管理"), _("区划、网格、队伍、事项清单的维护")),
        ("api-docs", "/api/docs/", _("接口文档"), _("REST 接口（OpenAPI）")),
    ]
    result = []
    for key, path, label, description in pages:
        try:
            resolve(path)
            available = True
        except Resolver404:
            available = False
        result.append(
            {"key": key, "url": path, "label": label, "description": description, "available": available}
        )
    return result


def home_i18n() -> dict[str, str | dict[str, str]]:
    """Every string home.js shows, translated for the request's language."""
    return {
        "layerTownships": _("乡镇/街道"),
        "layerVillages": _("村/社区"),
        "layerCells": _("网格"),
        "layerZones": _("执法片区"),
        "layerLabels": _("乡镇名称"),
        "basemap": _("底图"),
        "noBasemap": _("无底图"),
        "zoomForCells": _("放大查看网格"),
        "loading": _("加载中…"),
        "loadFailed": _("数据加载失败，请稍后重试"),
        "clickHint": _("点击地图任意位置，查询该点所属网格和责任队伍"),
        "routing": _("正在查询责任队伍…"),
        "routed": _("已匹配责任队伍"),
        "notRouted": _("不在网格内，转人工分拣"),
        "triageQueue": _("分拣队列"),
        "point": _("位置"),
        "cell": pgettext("route result field", "网格"),
        "village": pgettext("route result field", "村/社区"),
        "township": pgettext("route result field", "乡镇/街道"),
        "zone": pgettext("route result field", "执法片区"),
        "team": _("责任队伍"),
        "matter": pgettext("route result field", "执法事项"),
        "coverageVersion": _("覆盖版本"),
        "reasons": _("匹配依据"),
        "queriedAt": _("查询时间（北京时间）"),
        "none": _("无"),
        "anyMatter": _("不限事项（按综合执法）"),
        "noZone": _("未划片区"),
        "teamComprehensive": _("综合执法队"),
        "teamProfessional": _("专业执法队伍"),
        "cellsShown": _("当前视图网格数"),
        "zoneDomain": _("片区领域"),
        "allDomains": _("全部领域"),
        "badRequest": _("查询被拒绝"),
        "liveConnecting": _("连接中…"),
        "liveOn": _("实时"),
        "liveCatchingUp": _("正在补齐…"),
        "liveDegraded": _("数据库暂不可用，恢复后补齐"),
        "liveDown": _("连接中断，%(s)s 秒后重连"),
        "liveDenied": _("无权收听"),
        "layerReports": _("今日上报"),
        "layerUnits": _("巡查单元"),
        "triage": _("待分拣"),
        "noMatter": _("未指定事项"),
        "newReport": _("新上报"),
        "updatedReport": _("上报更新"),
        "alertRaised": _("告警"),
        "alertUpdated": _("告警更新"),
        "unitKindShort": {
            "vehicle": pgettext("unit kind, one character on the map", "车"),
            "officer": pgettext("unit kind, one character on the map", "人"),
            "drone": pgettext("unit kind, one character on the map", "机"),
        },
    }


def api_urls() -> dict[str, str]:
    """The REST addresses every page's data module may call (reverse(), never hard-coded)."""
    return {
        "regions": reverse("api:region-list"),
        "cells": reverse("api:cell-list"),
        "zones": reverse("api:zone-list"),
        "teams": reverse("api:team-list"),
        "matters": reverse("api:matter-list"),
        "route": reverse("api:route"),
        "reports": reverse("api:report-list"),
        "units": reverse("api:unit-list"),
        "alerts": reverse("api:alert-list"),
        "summary": reverse("api:summary"),
        "cameras": reverse("api:camera-list"),
    }


def live_link_i18n() -> dict[str, str]:
    """The live-link indicator's words, by LiveConnection state (command centre, field page)."""
    return {
        "connecting": _("连接中…"),
        "live": _("实时"),
        "catching-up": _("正在补齐…"),
        "down": _("连接中断"),
        "denied": _("无权收听"),
        "degraded": _("数据库暂不可用，恢复后补齐"),
    }


def live_state(user) -> dict:
    """How the page's LiveConnection connects: the widest stream this user may hear, or None."""
    return {
        "path": "/ws/live/",
        "stream": live_default_stream(user),
        "heartbeatSeconds": settings.LIVE_HEARTBEAT_SECONDS,
        "todayStart": timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0).isoformat(),
    }


def cell_tile_url_template() -> str:
    """/api/v1/tiles/cells/{z}/{x}/{y}.pbf, as the URL conf spells it (for the map's tile layer)."""
    return reverse("api:cell-tile", args=[0, 0, 0]).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")


def map_state() -> dict:
    """The map's view, basemap, administrative levels, domains and triage queue names."""
    leaflet = settings.LEAFLET_CONFIG
    return {
        "map": {
            "center": list(leaflet["DEFAULT_CENTER"]),
            "zoom": leaflet["DEFAULT_ZOOM"],
            "minZoom": leaflet["MIN_ZOOM"],
            "maxZoom": leaflet["MAX_ZOOM"],
            "cellMinZoom": CELL_MIN_ZOOM,
            # Below cellMinZoom the cells' outlines come as vector tiles (geodata/tiles.py).
            "cellTiles": {"url": cell_tile_url_template(), "minZoom": settings.GRID_TILE_MIN_ZOOM},
        },
        "levels": {
            "township": list(Region.TOWNSHIP_LEVELS),
            "village": list(Region.VILLAGE_LEVELS),
        },
        "tiles": {"url": settings.TILE_URL, "attribution": settings.TILE_ATTRIBUTION},
        "domains": {code: str(label) for code, label in Domain.choices},
        "timeZone": settings.TIME_ZONE,
        "triageQueues": {
            TRIAGE_OUTSIDE_GRID: _("网格外事件，人工分拣"),
            TRIAGE_NO_COVERAGE: _("无生效覆盖版本，人工分拣"),
            TRIAGE_NO_TEAM: _("无责任片区，人工分拣"),
        },
    }


class HomeView(TemplateView):
    template_name = "frontend/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            overview=selectors.county_overview(),
            today=timezone.localdate(),
            role_pages=role_pages(),
            page_state={
                "api": api_urls(),
                "live": live_state(self.request.user),
                **map_state(),
                "i18n": home_i18n(),
            },
        )
        return context


# --- who may open which page -----------------------------------------------------------------------

# Pages that answer JSON: a refusal is JSON too, never an HTML page or a redirect.
DATA_PAGES = ("field-cases",)

# Rendered from a string so the 403 page needs no template file of its own; its words come from
# gettext in Python (makemessages does not read {% translate %} inside a Python string).
_FORBIDDEN_TEMPLATE = """{% extends "frontend/base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block content %}<main class="forbidden-page" data-forbidden="{{ page }}">
  <h1>{{ title }}</h1>
  <p>{{ message }}</p>
  <p><a href="{% url 'home' %}">{{ home }}</a></p>
</main>{% endblock %}"""


def forbidden_page(request, page: str) -> HttpResponseForbidden:
    """The 403 page: what happened and a link home."""
    template = engines["django"].from_string(_FORBIDDEN_TEMPLATE)
    context = {
        "page": page,
        "title": _("无权访问"),
        "message": _("您的账号不能使用此页面。如需使用，请联系管理员调整角色或数据范围。"),
        "home": _("返回首页"),
    }
    return HttpResponseForbidden(template.render(context, request))


def _is_page(view_func) -> bool:
    return (getattr(view_func, "__module__", "") or "").startswith("frontend.")


class PageScopeMiddleware:
    """Applies gridops.scopes.page_allowed to every page of the frontend app (by URL name).

    A frontend view whose name gridops.scopes.PAGES does not list is refused: a new page cannot
    ship without a decision on who may open it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        name = match.url_name if match is not None else None
        if name not in scopes.PAGES and not _is_page(view_func):
            return None  # not a page of this app (API, admin, i18n): their own doors decide
        user = request.user
        if scopes.page_allowed(user, name):
            if name == "case-record" and not scopes.report_visible(user, Report(pk=view_kwargs.get("pk"))):
                raise Http404
            return None
        if name in DATA_PAGES:  # a data address: JSON, never a redirect to the login page
            return JsonResponse({"detail": _("您无权访问此页面。")}, status=403)
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return forbidden_page(request, name or "")
