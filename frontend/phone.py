"""The grid worker's phone page (`/report/`): where am I, which cell and team is that, report it.

Offline first: the page's ES module (report.js) puts every report in an IndexedDB queue
(outbox.js) before sending it, so this view only hands over state: API addresses, the worker's
frequent matters, the live stream and every string the JS shows. A service worker
(`report_service_worker`, template report_sw.js) keeps a copy of the page and its static files,
so the page opens with no network too.
"""

import hashlib
import json
from datetime import timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db.models import Count
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from frontend.views import api_urls, live_state, map_state
from gridops.models import Report

FREQUENT_MATTERS_DAYS = 90
FREQUENT_MATTERS_LIMIT = 5
# Zoom the map goes to around the worker's position: cells (about 1 km) are tappable there.
REPORT_ZOOM = 15

# Every static file /report/ loads (report.html and base.html, and the modules report.js imports),
# precached by the service worker. The page draws no Leaflet marker nor layer control, so none of
# Leaflet's images is ever requested. tests/frontend/test_report_offline.py checks the list
# against the page.
REPORT_STATIC_FILES = (
    "frontend/base.css",
    "vendor/leaflet/leaflet.css",
    "frontend/report.css",
    "vendor/leaflet/leaflet.js",
    "frontend/report.js",
    "frontend/api.js",
    "frontend/live.js",
    "frontend/outbox.js",
    "frontend/verify.js",
    "frontend/dom.js",
)


def frequent_matter_codes(
    *, user, days: int = FREQUENT_MATTERS_DAYS, limit: int = FREQUENT_MATTERS_LIMIT
) -> list[str]:
    """The codes of the active matters this user reported most over the last `days` days, most
    used first (ties by code, so the order is stable)."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        Report.objects.filter(reporter=user, received_at__gte=since, matter__active=True)
        .values("matter__code")
        .annotate(n=Count("id"))
        .order_by("-n", "matter__code")[:limit]
    )
    return [row["matter__code"] for row in rows]


def report_i18n() -> dict[str, str]:
    """Every string report.js shows, translated for the request's language."""
    return {
        "locating": _("正在定位…"),
        "accuracy": _("定位精度 ±%(m)s 米"),
        "geoDenied": _("无法获取定位，请在地图上点选位置"),
        "geoUnsupported": _("此设备不支持定位，请在地图上点选位置"),
        "tapped": _("已在地图上选点"),
        "routing": _("正在查询责任网格…"),
        "routeOffline": _("离线：暂时无法查询责任队伍，上报将在联网后发送"),
        "routeFailed": _("查询失败"),
        "cell": pgettext("route result field", "网格"),
        "township": pgettext("route result field", "乡镇/街道"),
        "notInGrid": _("不在网格内，将转人工分拣"),
        "none": _("无"),
        "noMatter": _("不指定事项（按综合执法）"),
        "frequent": _("常用事项"),
        "allMatters": _("全部事项"),
        "noMatch": _("没有匹配的事项"),
        "mattersFailed": _("事项清单加载失败"),
        "removePhoto": _("删除照片"),
        "tooManyPhotos": _("最多 %(n)s 张照片"),
        "needPlace": _("请先定位或在地图上点选位置"),
        "queuedOne": _("已保存，等待发送"),
        "sentTo": _("已发送至%(team)s"),
        "sentTriage": _("已发送，未匹配到责任队伍，转人工分拣"),
        "stateQueued": _("待发送"),
        "stateSending": _("发送中"),
        "stateFailed": _("发送失败"),
        "retryIn": _("%(s)s 秒后重试"),
        "delete": _("删除"),
        "retry": _("重试"),
        "photosCount": _("%(n)s 张照片"),
        "myEmpty": _("还没有上报"),
        "myFailed": _("我的上报加载失败"),
        "liveOn": _("实时"),
        "liveDown": _("连接中断"),
        "livePolling": _("每 30 秒刷新"),
        "storageFailed": _("无法保存到本机，请检查浏览器设置"),
        # Verification (核查) of the worker's handled reports: verify.js.
        "verifyBadge": _("待您核查"),
        "verifyOpen": _("查看处置结果并核查"),
        "reworkShort": _("返工 %(n)s 次"),
        "verifyLoading": _("正在加载处置结果…"),
        "verifyLoadFailed": _("处置结果加载失败，请稍后重试"),
        "verifyClose": _("收起"),
        "reportPhotos": _("上报照片"),
        "handledTitle": _("处置情况"),
        "handler": _("处置人"),
        "handledAt": _("处置时间"),
        "handleNote": _("处置说明"),
        "afterPhotos": _("处置后照片"),
        "noAfterPhotos": _("没有处置后照片"),
        "reworkCount": _("已返工 %(n)s 次"),
        "verifyNote": _("核查意见"),
        "verifyNoteHint": _("核查不通过时必填：写明哪里还需返工"),
        "verifyPhoto": _("核查照片（可选）"),
        "photoPick": _("拍照 / 选择照片"),
        "photosChosen": _("已选 %(n)s 张照片"),
        "verifyLocationHint": _("核查将记录您现在所在的位置"),
        "verifyNeedNote": _("核查不通过须填写原因：请在“核查意见”中写明哪里还需返工"),
        "verifyLocating": _("正在获取您的位置…"),
        "verifyNoLocation": _("无法获取您的位置，未发送：核查须记录核查人所在位置，请打开定位后重试"),
        "verifySending": _("正在发送…"),
        "verifyOffline": _("网络不通，未发送，请稍后重试"),
        "verifyRefused": _("未能核查：%(reason)s"),
        "verifyPassed": _("已核查通过"),
        "verifyReturned": _("已退回返工"),
        "verifyStatusNow": _("当前状态：%(status)s"),
        "verifyTaken": _("该上报已不在待核查状态（现为“%(status)s”），无需核查"),
        "verifyNotAllowed": _("您不能核查此上报：核查须由处置人以外的人员进行"),
    }


class ReportPageView(LoginRequiredMixin, TemplateView):
    template_name = "frontend/report.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        shared = map_state()
        context["page_state"] = {
            "api": api_urls(),
            "pageUrl": reverse("report"),
            "serviceWorker": reverse("report-sw"),
            "csrfToken": get_token(self.request),
            # The outbox reads the token from this cookie when it sends: the page may be an
            # offline copy whose csrfToken is older than the worker's last sign-in.
            "csrfCookieName": None if settings.CSRF_USE_SESSIONS else settings.CSRF_COOKIE_NAME,
            "user": {"id": user.pk, "name": user.get_full_name() or user.username},
            "frequentMatters": frequent_matter_codes(user=user),
            "live": {**live_state(user), "pollSeconds": 30},
            **shared,
            "map": {**shared["map"], "reportZoom": REPORT_ZOOM},
            "photoMax": settings.PHOTO_MAX_PER_REPORT,
            "statuses": {code: str(label) for code, label in Report.Status.choices},
            "i18n": report_i18n(),
        }
        return context


@cache
def report_sw_version(static_files: tuple[str, ...] = REPORT_STATIC_FILES) -> str:
    """A short hash of the precached files' URLs and contents, made once per process: a deploy
    that changes any of them names a new cache, and the old one is dropped."""
    digest = hashlib.sha256()
    for name in static_files:
        digest.update(staticfiles_storage.url(name).encode())
        found = finders.find(name)
        if found:
            digest.update(Path(found).read_bytes())
        elif staticfiles_storage.exists(name):
            with staticfiles_storage.open(name) as collected:
                digest.update(collected.read())
    return digest.hexdigest()[:12]


def report_service_worker(request):
    """/report/sw.js: the phone page's service worker. Public, since the browser re-fetches it on
    its own (a redirect to the login page would break it), and it holds nothing private;
    `no-cache` so that a deploy reaches the phones at their next visit."""
    context = {
        name: json.dumps(value)
        for name, value in {
            # With DEBUG (runserver does not restart on a JS edit) the hash is made on each request.
            "version": report_sw_version.__wrapped__() if settings.DEBUG else report_sw_version(),
            "precache": [staticfiles_storage.url(name) for name in REPORT_STATIC_FILES],
            "page_url": reverse("report"),
            "static_url": staticfiles_storage.base_url,
        }.items()
    }
    response = render(
        request, "frontend/report_sw.js", context, content_type="text/javascript; charset=utf-8"
    )
    patch_cache_control(response, no_cache=True)
    return response
