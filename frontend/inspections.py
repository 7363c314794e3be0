"""检查计划 (`/inspections/`) and 双随机一公开 (`/public/inspections/`): the inspection planning pages.

`/inspections/` is for the county's planners, dispatchers and supervisors (and administrators):
the same people the inspection API lets write (inspections.selectors.user_plans_inspections).
Three tabs on one map:

    targets  the registry coloured by credit colour, filtered (township, industry, colour,
             no-disturbance), a target's colour history, CSV/xlsx import with a dry run first
    plans    the period (year/month), the departments' plans, the joint-visit proposal with the
             merge radius and the figures before / after / avoided, commit, open a visit's case
    draws    double-random draws: filters, colour rates, inspectors per target; run, replay from
             the seed, publish

The page itself is static/frontend/inspections.js with its data module (inspectionsapi.js: REST,
no DOM) and its map module (inspectionsmap.js: Leaflet). The view hands over the API addresses,
the map, the period and filter choices, the defaults from settings and every string.

`/public/inspections/` is rendered on the server for anyone: published draws only, each target by
name with its result and the inspectors by name (inspections.selectors.draw_results).
"""

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.paginator import Paginator
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from frontend import selectors as page_selectors
from frontend.views import map_state
from geodata.models import Domain, Region
from gridops.selectors.reports import user_is_dispatcher
from inspections import selectors
from inspections.models import CreditColour, DrawResult, JointVisit, Target
from inspections.scopes import inspection_scope_for, may_edit_registry

PUBLIC_DRAWS_PER_PAGE = 10


def inspection_api_urls() -> dict:
    """The inspection API's addresses; per-object ones as templates with `{id}`."""

    def template(name: str) -> str:
        return reverse(name, args=[987654321]).replace("987654321", "{id}")

    return {
        "targets": reverse("inspections:target-list"),
        "target": template("inspections:target-detail"),
        # The action is the method `import_` (import is a keyword), so the router names it "import-".
        "targetImport": reverse("inspections:target-import-"),
        "inspectors": reverse("inspections:inspector-list"),
        "plans": reverse("inspections:plan-list"),
        "proposals": reverse("inspections:joint-visit-proposals"),
        "visits": reverse("inspections:joint-visit-list"),
        "visitOpenCase": template("inspections:joint-visit-open-case"),
        "draws": reverse("inspections:draw-list"),
        "draw": template("inspections:draw-detail"),
        "drawReplay": template("inspections:draw-replay"),
        "drawPublish": template("inspections:draw-publish"),
        "drawOpenCases": template("inspections:draw-open-cases"),
        "regions": reverse("api:region-list"),
        "caseRecord": reverse("case-record", args=[987654321]).replace("987654321", "{id}"),
        "command": reverse("command"),
        "publicDraws": reverse("public-inspections"),
    }


def inspections_i18n() -> dict:
    """Every string inspections.js and inspectionsmap.js show."""
    return {
        "basemap": _("底图"),
        "noBasemap": _("无底图"),
        "loading": _("加载中…"),
        "loadFailed": _("数据加载失败，请稍后重试"),
        "failed": _("操作失败：%(m)s"),
        "none": _("无"),
        "all": _("全部"),
        "yes": _("是"),
        "no": _("否"),
        "colours": {str(c): str(CreditColour(c).label) for c in CreditColour.values},
        "colourShort": {
            "red": pgettext("credit colour", "红"),
            "yellow": pgettext("credit colour", "黄"),
            "green": pgettext("credit colour", "绿"),
        },
        "kinds": {str(k): str(Target.Kind(k).label) for k in Target.Kind.values},
        "visitStatus": {str(s): str(JointVisit.Status(s).label) for s in JointVisit.Status.values},
        "outcomes": {str(o): str(DrawResult.Outcome(o).label) for o in DrawResult.Outcome.values},
        # targets
        "targetCount": _("共 %(n)s 户"),
        "noTargets": _("没有符合条件的执法对象"),
        "noDisturbance": _("无事不扰"),
        "noDisturbanceUntil": _("无事不扰至 %(d)s"),
        "colourHistory": _("信用等级变更"),
        "firstColour": _("初始等级"),
        "township": _("乡镇（街道）"),
        "industry": _("行业"),
        "creditCode": _("统一社会信用代码"),
        "address": _("地址"),
        "kind": _("类型"),
        "colour": _("信用等级"),
        "when": _("时间"),
        "reason": _("理由"),
        "by": _("操作人"),
        "fromTo": _("%(from)s → %(to)s"),
        "importRows": _("共 %(rows)s 行，有效 %(valid)s 行，问题 %(problems)s 个"),
        "importCommitted": _("已写入：新增 %(created)s 户，更新 %(updated)s 户"),
        "importClean": _("校验通过，可以导入。"),
        "importHasProblems": _("有问题的行须先修正；勾选“跳过有问题的行”可只导入其余行。"),
        "importRow": _("行"),
        "importField": _("字段"),
        "importMessage": _("问题"),
        "chooseFile": _("请先选择文件。"),
        # plans and joint visits
        "planChecks": _("%(n)s 项计划检查"),
        "noPlans": _("该期间没有检查计划"),
        "before": _("合并前检查户次"),
        "after": _("合并后联合检查"),
        "avoided": _("减少检查户次"),
        "doorEntriesAvoided": _("减少入户 %(n)s 次"),
        "skipped": _("无事不扰，跳过 %(n)s 项"),
        "checksCount": _("%(n)s 项检查"),
        "noProposals": _("没有待合并的计划检查"),
        "leadTeam": _("牵头"),
        "members": _("参加"),
        "plannedDate": _("计划日期 %(d)s"),
        "targetsLabel": _("检查对象"),
        "mandatory": _("必查"),
        "committedCount": _("已提交 %(n)s 次联合检查"),
        "noVisits": _("该期间还没有已提交的联合检查"),
        "openCase": _("生成检查案件"),
        "caseOpened": _("检查案件 %(number)s"),
        "caseStatus": _("状态：%(s)s"),
        "onCommand": _("在指挥中心办理"),
        "record": _("办案记录"),
        "openCaseDispatcherOnly": _("只有调度员可以生成检查案件"),
        "badRadius": _("合并距离应为 0 到 5000 米之间的数。"),
        # draws
        "drawSeed": _("随机种子"),
        "poolHash": _("抽取池摘要（SHA-256）"),
        "poolSize": _("抽取池 %(n)s 户，抽中 %(k)s 户"),
        "drawRates": _("抽查比例"),
        "inspectors": _("执法人员"),
        "position": _("序号"),
        "target": _("检查对象"),
        "outcome": _("检查结果"),
        "conflictsExcluded": _("回避排除"),
        "noConflicts": _("无回避排除"),
        "conflictPair": _("%(officer)s 回避 %(target)s"),
        "replayEqual": _("按种子重放：结果一致"),
        "replayDiffers": _("按种子重放：结果不一致"),
        "snapshotBroken": _("抽取池快照与摘要不符"),
        "poolUnchanged": _("当前抽取池与快照相同"),
        "poolChanged": _("当前抽取池已变化（对象或人员名录有更新）"),
        "published": _("已公开"),
        "unpublished": _("未公开"),
        "publishedAt": _("已于 %(t)s 公开"),
        "publicLink": _("查看公开页面"),
        "noDraws": _("还没有抽查"),
        "drawTitleDefault": _("双随机抽查"),
        "drawOf": _("%(date)s · %(domain)s · %(n)s 户"),
        "noDrawn": _("本次没有抽中对象"),
    }


class InspectionPlannerRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Planners, dispatchers, supervisors, administrators and superusers; anonymous → the login
    page, anyone else signed in → 403 (never a loop back to the login page)."""

    def test_func(self) -> bool:
        return selectors.user_plans_inspections(user=self.request.user)

    def handle_no_permission(self):
        self.raise_exception = self.request.user.is_authenticated
        return super().handle_no_permission()


class InspectionsView(InspectionPlannerRequiredMixin, TemplateView):
    template_name = "frontend/inspections.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        scope = inspection_scope_for(self.request.user)
        county_level = scope.county
        townships = page_selectors.townships_for_filter()
        if not county_level:
            # The filters (targets, draws) offer the townships whose targets this reader sees:
            # own and covered (inspections/scopes.py); another township would list nothing, and a
            # draw over it answers 403.
            visible = set(
                Region.objects.filter(pk__in=scope.township_ids | scope.covered_township_ids).values_list(
                    "code", flat=True
                )
            )
            townships = [t for t in townships if t["code"] in visible]
        industries = sorted(set(Target.objects.exclude(industry="").values_list("industry", flat=True)))
        context.update(
            townships=townships,
            industries=industries,
            colours=[(str(c), str(CreditColour(c).label)) for c in ("red", "yellow", "green")],
            domains=list(Domain.choices),
            default_domain=Domain.MARKET,
            colour_rates=[
                (str(c), str(CreditColour(c).label), settings.INSPECTION_DRAW_RATES[c])
                for c in ("red", "yellow", "green")
            ],
            per_target=settings.INSPECTION_INSPECTORS_PER_TARGET,
            county_level=county_level,
            registry_editable=may_edit_registry(self.request.user),
            radius=settings.INSPECTION_JOINT_RADIUS_METRES,
            year=today.year,
            month=today.month,
            years=list(range(today.year - 2, today.year + 2)),
            months=list(range(1, 13)),
            page_state={
                "api": inspection_api_urls(),
                **map_state(),
                "csrfToken": get_token(self.request),
                "today": today.isoformat(),
                # Opening a visit's case registers it (立案): a dispatcher's step.
                "canOpenCase": user_is_dispatcher(user=self.request.user),
                # Merge proposals and the registry's writes are county-level (inspections/scopes.py):
                # a township's dispatcher or supervisor sees the page without those panels.
                "countyLevel": county_level,
                "townships": townships,
                "i18n": inspections_i18n(),
            },
        )
        return context


class PublicInspectionsView(TemplateView):
    """双随机一公开: published draws, newest first, with their targets, results and inspectors."""

    template_name = "frontend/public_inspections.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = Paginator(selectors.public_draws(), PUBLIC_DRAWS_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        context.update(
            page=page,
            draws=[
                {
                    "draw": draw,
                    "domain_label": Domain(draw.domain).label,
                    "results": selectors.draw_results(draw=draw),
                }
                for draw in page.object_list
            ],
        )
        return context
