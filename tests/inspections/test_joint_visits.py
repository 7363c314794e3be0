"""综合查一次: merging planned checks into joint visits (inspections.services.joint_visits_*).

The hand-built plan, June 2026, tiny county (metres: 0.0005° of longitude ≈ 48.7 m at 29° N):

    lat 29.035                                   C (121.035)
    lat 29.015                        N (121.025)   ← on the no-disturbance list
    lat 29.005   A (121.005) B (121.0055)   D (121.015)
                 └─ 48.7 m ─┘   └──── ~950 m ────┘

    check  team    target  window (June)  note
      1    market    A        1–30
      2    yj        A       10–20
      3    zh-1      A        5–25
      4    market    B        1–30
      5    yj        C        1–15
      6    market    C       10–30
      7    market    D        1–30
      8    market    N        1–30        skipped: N is no-disturbance, the check is routine
      9    yj        N       12–18        mandatory (complaint): kept
     10    market    A       July         outside the period: not taken
     11    zh-1      A        1–30        a second zh-1 matter at A: same team, same door

Expected with radius 100 m (leader clustering in target id order A < B < C < D < N):
    {A, B}: checks 1 2 3 4 11. Checks per team: market 2, zh-1 2, yj 1 → tie market/zh-1 → the
            comprehensive team zh-1 leads. Separate visits before: (market,A) (yj,A) (zh-1,A)
            (market,B) = 4. Day: latest window start 10, earliest end 20 → June 10.
    {C}:    checks 5 6: market 1, yj 1 → tie, neither comprehensive → lowest team id (market).
            Before 2. Day: max(1, 10) = 10 ≤ min(15, 30) → June 10.
    {D}:    check 7, market, before 1, June 1.
    {N}:    check 9, yj, before 1, June 12.
    visits before 8, after 4, avoided 4; door entries after 5 (A, B, C, D, N), avoided 3.
With radius 0, A and B are separate visits: {A} 1 2 3 11 (zh-1 leads with 2), {B} 4 →
    after 5, avoided 3.
"""

from datetime import date

import pytest

from geodata.errors import FieldError
from inspections import selectors, services
from inspections.models import JointVisit, PlannedCheck
from tests.inspections.conftest import make_target

JUNE = (date(2026, 6, 1), date(2026, 6, 30))


def d(day: int, month: int = 6) -> date:
    return date(2026, month, day)


@pytest.fixture
def plan_fixture(county):
    t = county.teams
    targets = {
        "A": make_target("甲餐馆", 121.005, 29.005),
        "B": make_target("乙超市", 121.0055, 29.005),
        "C": make_target("丙水产", 121.035, 29.035),
        "D": make_target("丁汽修", 121.015, 29.005),
        "N": make_target(
            "戊民宿", 121.025, 29.015, no_disturbance=True, no_disturbance_reason="连续三年无违法"
        ),
    }
    plans = {
        key: services.plan_create(team=t[key], title=f"{t[key].name}六月计划", year=2026, month=6)
        for key in ("market", "yj", "W")
    }
    july = services.plan_create(team=t["market"], title="七月计划", year=2026, month=7)
    food = county.matters["food"]
    rows = [
        (1, plans["market"], "A", 1, 30, {}),
        (2, plans["yj"], "A", 10, 20, {}),
        (3, plans["W"], "A", 5, 25, {}),
        (4, plans["market"], "B", 1, 30, {}),
        (5, plans["yj"], "C", 1, 15, {}),
        (6, plans["market"], "C", 10, 30, {}),
        (7, plans["market"], "D", 1, 30, {}),
        (8, plans["market"], "N", 1, 30, {}),
        (9, plans["yj"], "N", 12, 18, {"mandatory": True, "mandatory_reason": "12345 投诉"}),
    ]
    checks = {}
    for n, plan, key, a, b, extra in rows:
        matter = food if plan.team.code == "market" else None
        checks[n] = services.planned_check_add(
            plan=plan, target=targets[key], matter=matter, due_from=d(a), due_until=d(b), **extra
        )
    checks[10] = services.planned_check_add(
        plan=july, target=targets["A"], due_from=d(1, 7), due_until=d(31, 7)
    )
    checks[11] = services.planned_check_add(
        plan=plans["W"], target=targets["A"], matter=county.matters["vending"], due_from=d(1), due_until=d(30)
    )
    return targets, checks


def _ids(visit) -> list[int]:
    return [c.pk for c in visit.checks]


def test_checks_of_one_target_and_its_neighbour_merge_into_one_visit_with_the_lead_team_by_rule(
    plan_fixture, county
):
    _targets, checks = plan_fixture
    proposal = services.joint_visits_propose(start=JUNE[0], end=JUNE[1], radius_m=100)
    by_first_target = {v.targets[0].name: v for v in proposal.visits}
    assert sorted(by_first_target) == ["丁汽修", "丙水产", "戊民宿", "甲餐馆"]

    ab = by_first_target["甲餐馆"]
    assert [t.name for t in ab.targets] == ["甲餐馆", "乙超市"]
    assert _ids(ab) == sorted(checks[n].pk for n in (1, 2, 3, 4, 11))
    assert ab.lead_team == county.teams["W"]  # tie 2–2 with market: the comprehensive team leads
    assert ab.visits_before == 4
    assert ab.planned_date == d(10)

    c = by_first_target["丙水产"]
    assert _ids(c) == [checks[5].pk, checks[6].pk]
    assert c.lead_team == county.teams["market"]  # tie 1–1, no comprehensive team: lowest id
    assert county.teams["market"].pk < county.teams["yj"].pk
    assert c.planned_date == d(10) and c.visits_before == 2

    assert _ids(by_first_target["丁汽修"]) == [checks[7].pk]
    assert by_first_target["丁汽修"].planned_date == d(1)
    n = by_first_target["戊民宿"]
    assert _ids(n) == [checks[9].pk] and n.lead_team == county.teams["yj"] and n.planned_date == d(12)

    assert proposal.figures() == {
        "checks": 9,
        "visits_before": 8,
        "visits_after": 4,
        "visits_avoided": 4,
        "door_entries_after": 5,
        "door_entries_avoided": 3,
        "skipped_no_disturbance": 1,
    }
    assert checks[10].pk not in {c.pk for v in proposal.visits for c in v.checks}


def test_with_radius_zero_only_checks_of_the_same_target_merge(plan_fixture, county):
    _targets, checks = plan_fixture
    proposal = services.joint_visits_propose(start=JUNE[0], end=JUNE[1], radius_m=0)
    groups = sorted(_ids(v) for v in proposal.visits)
    assert groups == sorted(
        [
            sorted(checks[n].pk for n in (1, 2, 3, 11)),
            [checks[4].pk],
            [checks[5].pk, checks[6].pk],
            [checks[7].pk],
            [checks[9].pk],
        ]
    )
    a = next(v for v in proposal.visits if checks[1].pk in _ids(v))
    assert a.lead_team == county.teams["W"]  # zh-1 has two checks at A (3 and 11)
    figures = proposal.figures()
    assert (figures["visits_before"], figures["visits_after"], figures["visits_avoided"]) == (8, 5, 3)


def test_no_disturbance_target_is_skipped_unless_the_check_is_mandatory(plan_fixture):
    targets, checks = plan_fixture
    proposal = services.joint_visits_propose(start=JUNE[0], end=JUNE[1], radius_m=100)
    assert [(c.pk, reason) for c, reason in proposal.skipped] == [(checks[8].pk, "连续三年无违法")]
    # When the listing has expired before the period, the routine check goes again.
    targets["N"].no_disturbance_until = date(2026, 5, 31)
    targets["N"].save()
    proposal = services.joint_visits_propose(start=JUNE[0], end=JUNE[1], radius_m=100)
    assert proposal.skipped == []
    n = next(v for v in proposal.visits if v.targets[0].pk == targets["N"].pk)
    assert sorted(_ids(n)) == [checks[8].pk, checks[9].pk]


def test_commit_stores_the_visits_and_takes_the_checks_out_of_later_proposals(plan_fixture, planner, county):
    proposal = services.joint_visits_propose(start=JUNE[0], end=JUNE[1], radius_m=100)
    first = proposal.visits[0].key
    _again, created = services.joint_visits_commit(
        start=JUNE[0], end=JUNE[1], radius_m=100, keys=[first], actor=planner
    )
    assert len(created) == 1
    visit = created[0]
    assert visit.created_by == planner and visit.status == JointVisit.Status.PLANNED
    assert set(visit.member_checks.values_list("id", flat=True)) == set(_ids(proposal.visits[0]))
    # A key that is no longer proposed (its checks are taken) is refused, and nothing is written.
    with pytest.raises(FieldError) as refused:
        services.joint_visits_commit(start=JUNE[0], end=JUNE[1], radius_m=100, keys=[first, "v-nope"])
    assert refused.value.field == "keys"
    assert JointVisit.objects.count() == 1
    _proposal, rest = services.joint_visits_commit(start=JUNE[0], end=JUNE[1], radius_m=100, actor=planner)
    assert len(rest) == 3
    assert services.joint_visits_propose(start=JUNE[0], end=JUNE[1], radius_m=100).visits == []
    assert PlannedCheck.objects.filter(visit__isnull=True).count() == 2  # the skipped one and July's

    figures = selectors.inspection_indicators(start=JUNE[0], end=JUNE[1])
    assert figures["joint"] == {"visits_before": 8, "visits_after": 4, "visits_avoided": 4}
    assert figures["by_colour"]["green"]["joint"] == 5

    # Cancelling gives the checks back to the plan.
    services.joint_visit_cancel(visit=visit)
    assert len(services.joint_visits_propose(start=JUNE[0], end=JUNE[1], radius_m=100).visits) == 1
    assert selectors.inspection_indicators(start=JUNE[0], end=JUNE[1])["joint"]["visits_avoided"] == 4 - (
        visit.visits_before - 1
    )


def test_bad_period_and_radius_are_field_errors(county):
    with pytest.raises(FieldError) as e:
        services.joint_visits_propose(start=d(30), end=d(1), radius_m=100)
    assert e.value.field == "end"
    with pytest.raises(FieldError) as e:
        services.joint_visits_propose(start=d(1), end=d(30), radius_m=-5)
    assert e.value.field == "radius_m"
