"""Track replay (`/replay/`): supervisors play back patrol units' tracks on one timeline.

The view hands the page module (static/frontend/replay.js) the units to pick from, the API
addresses (the per-unit ones as templates with `{id}`, or null while an endpoint is not served
yet, so the page says "unavailable" instead of asking for a 404), the default range (today
00:00 → now, Asia/Shanghai) and every string the JS shows. The timeline logic itself lives in
static/frontend/player.js (no DOM, no Leaflet).
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from frontend.views import api_urls, home_i18n, map_state
from gridops.selectors.units import TRACK_GAP_SECONDS, unit_list

# A placeholder id no unit has, swapped for "{id}" after reverse(): the page fills in the unit.
_PLACEHOLDER_ID = 987654321

# The per-unit endpoints of the replay contract (issue 5), by page key and URL name.
UNIT_ENDPOINTS = {
    "track": "api:unit-track",
    "stops": "api:unit-stops",
    "visitedCells": "api:unit-visited-cells",
    "activity": "api:unit-activity",
    "gpx": "api:unit-track-gpx",
    "geojson": "api:unit-track-geojson",
}

REPLAY_SPEEDS = [1, 2, 5, 10, 30, 60, 120]


def unit_endpoint_templates() -> dict[str, str | None]:
    """`/api/v1/units/{id}/stops/` etc.; None for an endpoint that is not wired up (yet)."""
    templates: dict[str, str | None] = {}
    for key, name in UNIT_ENDPOINTS.items():
        try:
            url = reverse(name, args=[_PLACEHOLDER_ID])
        except NoReverseMatch:
            templates[key] = None
            continue
        templates[key] = url.replace(str(_PLACEHOLDER_ID), "{id}")
    return templates


def replay_units() -> list[dict]:
    """Every unit the supervisor may pick, with its team (grouping and marker colour)."""
    return [
        {
            "id": unit.pk,
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "team": {"code": unit.team.code, "name": unit.team.name} if unit.team_id else None,
        }
        for unit in unit_list()
    ]


def replay_i18n() -> dict:
    """Strings of replay.js (on top of the map strings of the home page)."""
    return {
        **home_i18n(),
        "pickUnits": _("请选择至少一个巡查单元"),
        "badRange": _("结束时间必须晚于开始时间"),
        "noFixes": _("该时段没有定位数据"),
        "fixes": _("%(n)s 个定位点"),
        "signalLost": _("信号中断"),
        "noDataYet": _("尚无定位"),
        "trackEnded": _("轨迹结束"),
        "stopLabel": _("停留 %(t)s"),
        "seconds": pgettext("duration", "%(n)s秒"),
        "minutes": pgettext("duration", "%(n)s分"),
        "hours": pgettext("duration", "%(n)s小时"),
        "metres": _("%(n)s 米"),
        "kilometres": _("%(n)s 公里"),
        "unavailable": _("暂不可用"),
        "summary": _("汇总"),
        "distance": _("里程"),
        "movingTime": _("行驶时长"),
        "stoppedTime": _("停留时长"),
        "gaps": _("信号中断"),
        "gapsValue": _("%(n)s 次，共 %(t)s"),
        "stops": _("停留点"),
        "trips": _("行程"),
        "noStops": _("无停留"),
        "noTrips": _("无行程"),
        "coverage": _("巡查覆盖"),
        "coverageValue": _("%(visited)s / %(assigned)s 个网格（%(pct)s）"),
        "visited": _("已巡查"),
        "notVisited": _("未巡查"),
        "exportGpx": _("导出 GPX"),
        "exportGeojson": _("导出 GeoJSON"),
        "layerTracks": _("轨迹"),
        "layerStops": _("停留点"),
        "layerCoverage": _("巡查覆盖"),
        "play": _("播放"),
        "pause": _("暂停"),
        "noTeam": _("无队伍"),
        "activity": _("办案活动"),
        "noActivity": _("无办案活动"),
        "layerActivity": _("办案活动"),
    }


class ReplayView(LoginRequiredMixin, TemplateView):
    template_name = "frontend/replay.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.localtime()
        context.update(
            speeds=REPLAY_SPEEDS,
            today=now.date().isoformat(),
            now_hhmm=now.strftime("%H:%M"),
            page_state={
                "api": api_urls(),
                "unitApi": unit_endpoint_templates(),
                **map_state(),
                "units": replay_units(),
                "speeds": REPLAY_SPEEDS,
                "gapSeconds": TRACK_GAP_SECONDS,
                "defaultRange": {
                    "date": now.date().isoformat(),
                    "from": "00:00",
                    "to": now.strftime("%H:%M"),
                },
                "i18n": replay_i18n(),
            },
        )
        return context
