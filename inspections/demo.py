"""Demo inspection data on the demo county (geodata_demo must have run): ~200 targets over its
townships with credit colours, ~30 qualified inspectors from the roster, and this month's plans of
three departments (market supervision, emergency management, ecology) plus a comprehensive team,
whose checks overlap on purpose so joint inspection has something to merge.

Deterministic for a seed. Called by `manage.py inspections_demo_load`.
"""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from geodata.models import Domain, GridCell, Matter, Officer, Team
from inspections.credit import ALPHABET, credit_code_check_char
from inspections.models import (
    Conflict,
    CreditColour,
    CreditColourChange,
    Draw,
    InspectionPlan,
    JointVisit,
    OfficerQualification,
    Target,
)
from inspections.periods import period_of
from inspections.services import DrawShortage, draw_publish, draw_run, plan_create, planned_check_add

# industry → (target kind, name suffix, domains whose teams check it)
INDUSTRIES = [
    ("餐饮服务", Target.Kind.SHOP, "餐馆", [Domain.MARKET, Domain.HEALTH, Domain.EMERGENCY]),
    ("食品销售", Target.Kind.SHOP, "超市", [Domain.MARKET]),
    (
        "水产品加工",
        Target.Kind.ENTERPRISE,
        "水产食品有限公司",
        [Domain.MARKET, Domain.ECOLOGY, Domain.EMERGENCY],
    ),
    ("危险化学品经营", Target.Kind.ENTERPRISE, "化工贸易有限公司", [Domain.EMERGENCY, Domain.ECOLOGY]),
    ("建筑施工", Target.Kind.SITE, "项目工地", [Domain.EMERGENCY, Domain.COMPREHENSIVE]),
    ("民宿", Target.Kind.SHOP, "民宿", [Domain.CULTURE, Domain.HEALTH, Domain.COMPREHENSIVE]),
    ("汽车维修", Target.Kind.ENTERPRISE, "汽车维修有限公司", [Domain.ECOLOGY, Domain.MARKET]),
    ("娱乐场所", Target.Kind.SHOP, "KTV", [Domain.CULTURE, Domain.EMERGENCY]),
]
WORDS = "海星丰泰恒盛鑫隆德兴华宏安顺福瑞祥和永昌源达浦港渔湾石塔山".replace(" ", "")
COLOUR_SHARES = ((CreditColour.GREEN, 0.70), (CreditColour.YELLOW, 0.22), (CreditColour.RED, 0.08))
# The planning departments: (team code, plan title, domain)
PLAN_TEAMS = [
    ("sc-dancheng", "市场监管月度检查计划", Domain.MARKET),
    ("yj", "安全生产月度检查计划", Domain.EMERGENCY),
    ("st", "生态环境月度检查计划", Domain.ECOLOGY),
    ("zh-chengqu", "城区中队月度巡查计划", Domain.COMPREHENSIVE),
]


@dataclass
class DemoSummary:
    targets: int
    inspectors: int
    plans: int
    checks: int
    skipped: bool = False


def _credit_code(rng: random.Random, kind: str) -> str:
    head = "92" if kind == Target.Kind.SHOP else "91"
    body = head + "330225" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


def _colour(rng: random.Random) -> str:
    x, acc = rng.random(), 0.0
    for colour, share in COLOUR_SHARES:
        acc += share
        if x < acc:
            return colour
    return CreditColour.GREEN


def inspections_demo_wipe() -> None:
    Draw.objects.all().delete()
    JointVisit.objects.all().delete()
    InspectionPlan.objects.all().delete()
    Conflict.objects.all().delete()
    OfficerQualification.objects.all().delete()
    Target.objects.all().delete()


@transaction.atomic
def inspections_demo_load(
    *, targets: int = 200, inspectors: int = 30, seed: int = 330225, force: bool = False
) -> DemoSummary:
    if Target.objects.exists() and not force:
        return DemoSummary(Target.objects.count(), OfficerQualification.objects.count(), 0, 0, skipped=True)
    cells = list(GridCell.objects.order_by("code").values_list("id", "township_id", "geom"))
    if not cells:
        raise ValueError("the demo county is not loaded: run `manage.py geodata_demo` first")
    inspections_demo_wipe()
    rng = random.Random(seed)
    today = timezone.localdate()

    # Targets: in random grid cells, a few in pairs a few dozen metres apart (neighbouring shops).
    made: list[Target] = []
    for i in range(targets):
        industry, kind, suffix, _domains = INDUSTRIES[i % len(INDUSTRIES)]
        if made and rng.random() < 0.25:
            near = rng.choice(made)
            point = near.point.clone()
            point.x += rng.uniform(-0.0004, 0.0004)
            point.y += rng.uniform(-0.0004, 0.0004)
            township_id = near.township_id
        else:
            _cid, township_id, geom = rng.choice(cells)
            point = geom.point_on_surface
        colour = _colour(rng)
        name = "象山" + "".join(rng.sample(WORDS, 2)) + suffix
        made.append(
            Target(
                name=f"{name}{i + 1:03d}" if kind == Target.Kind.SITE else name,
                kind=kind,
                credit_code="" if kind == Target.Kind.SITE else _credit_code(rng, kind),
                address=f"象山县{name}",
                point=point,
                township_id=township_id,
                industry=industry,
                colour=colour,
                no_disturbance=colour == CreditColour.GREEN and rng.random() < 0.05,
                no_disturbance_reason="连续三年无违法记录（无事不扰）",
            )
        )
    for t in made:
        if not t.no_disturbance:
            t.no_disturbance_reason = ""
    Target.objects.bulk_create(made)
    CreditColourChange.objects.bulk_create(
        CreditColourChange(target=t, from_colour="", to_colour=t.colour, reason="演示数据导入") for t in made
    )

    # Inspectors: staff officers with a certificate, spread over teams; two certificates expired.
    roster = list(
        Officer.objects.filter(status=Officer.Status.STAFF)
        .exclude(certificate_no="")
        .select_related("team")
        .order_by("id")
    )
    chosen = rng.sample(roster, min(inspectors, len(roster)))
    for i, officer in enumerate(sorted(chosen, key=lambda o: o.pk)):
        domains = [officer.team.domain]
        if officer.team.domain == Domain.COMPREHENSIVE and rng.random() < 0.5:
            domains.append(rng.choice([Domain.MARKET, Domain.EMERGENCY]))
        OfficerQualification.objects.create(
            officer=officer,
            domains=sorted(set(domains)),
            certificate_valid_from=today - timedelta(days=700),
            certificate_valid_until=today - timedelta(days=10) if i < 2 else today + timedelta(days=900),
        )

    # This month's plans: each department checks the targets of its industries.
    start, end = period_of(year=today.year, month=today.month)
    plans = checks = 0
    for code, title, domain in PLAN_TEAMS:
        team = Team.objects.filter(code=code).first()
        if team is None:
            continue
        plan = plan_create(team=team, title=title, year=today.year, month=today.month)
        plans += 1
        matter = (
            Matter.objects.filter(domain=domain, kind=Matter.Kind.INSPECTION, active=True)
            .order_by("code")
            .first()
        )
        for target in made:
            domains = next(d for ind, _k, _s, d in INDUSTRIES if ind == target.industry)
            if domain in domains and rng.random() < 0.35:
                day = rng.randint(0, (end - start).days)
                planned_check_add(
                    plan=plan,
                    target=target,
                    matter=matter,
                    due_from=start + timedelta(days=max(0, day - 7)),
                    due_until=min(end, start + timedelta(days=day + 7)),
                )
                checks += 1
    # One published market-supervision draw over food businesses, so the public page has content.
    try:
        draw = draw_run(
            domain=Domain.MARKET,
            filters={"industries": ["餐饮服务", "食品销售"]},
            seed=seed,
            title=f"{today.year}年{today.month}月食品经营双随机抽查",
        )
        draw_publish(draw=draw)
    except DrawShortage:
        pass  # fewer than two market inspectors drawn into the demo roster
    return DemoSummary(len(made), len(chosen), plans, checks)
