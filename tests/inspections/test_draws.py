"""双随机: seeded draws of targets and inspectors (inspections.services.draw_*).

Pool: 40 green, 20 yellow and 5 red targets spread over the tiny county, market domain. Roster
(market team): six qualified market inspectors, plus five who must never be drawn — an expired
certificate, an auxiliary (协管, no certificate), one qualified for ecology only, one withdrawn
from draws, and one whose certificate starts tomorrow.
"""

import math
from collections import Counter
from datetime import timedelta
from statistics import NormalDist

import pytest
from django.utils import timezone

from geodata.errors import FieldError
from geodata.models import Domain, Officer
from inspections import services
from inspections.models import CreditColour, DrawResult, OfficerQualification, Target
from tests.inspections.conftest import make_inspector, make_target

G, Y, R = CreditColour.GREEN, CreditColour.YELLOW, CreditColour.RED


@pytest.fixture
def pool(county):
    targets = []
    for i in range(65):
        colour = G if i < 40 else Y if i < 60 else R
        targets.append(
            make_target(f"对象{i:02d}", 121.001 + (i % 13) * 0.003, 29.001 + (i // 13) * 0.007, colour)
        )
    market = county.teams["market"]
    good = [make_inspector(market, f"检查员{i}") for i in range(6)]
    today = timezone.localdate()
    bad = {
        "expired": make_inspector(market, "过期", valid_until=today - timedelta(days=1)),
        "auxiliary": make_inspector(market, "协管", status=Officer.Status.AUXILIARY),
        "ecology": make_inspector(county.teams["market"], "生态", domains=(Domain.ECOLOGY,)),
        "inactive": make_inspector(market, "暂停", active=False),
        "future": make_inspector(market, "明日"),
    }
    OfficerQualification.objects.filter(officer=bad["future"]).update(
        certificate_valid_from=today + timedelta(days=1)
    )
    return targets, good, bad


def _results(draw) -> list[tuple[int, str, list[int]]]:
    return [(r.target_id, r.colour, r.inspectors) for r in draw.results.order_by("position")]


def test_a_draw_is_reproduced_from_its_seed_and_another_seed_draws_differently(pool, planner):
    targets, good, _bad = pool
    draw = services.draw_run(domain=Domain.MARKET, seed=20260601, actor=planner)
    assert draw.seed == 20260601 and draw.run_by == planner
    assert len(draw.pool_hash) == 64 and draw.snapshot["officers"] == sorted(o.pk for o in good)
    replay = services.draw_replay(draw=draw)
    assert replay["equal"] and replay["snapshot_intact"] and replay["pool_unchanged"]
    assert [(r["target"], r["colour"], r["inspectors"]) for r in replay["replayed"]] == _results(draw)

    again = services.draw_run(domain=Domain.MARKET, seed=20260601)
    assert _results(again) == _results(draw) and again.pool_hash == draw.pool_hash
    other = services.draw_run(domain=Domain.MARKET, seed=20260602)
    assert _results(other) != _results(draw)

    # Every red target is drawn (rate 1), each with two distinct qualified inspectors.
    drawn = _results(draw)
    assert {t for t, c, _i in drawn if c == R} == {t.pk for t in targets if t.colour == R}
    assert all(len(set(i)) == 2 and set(i) <= {o.pk for o in good} for _t, _c, i in drawn)


def test_a_draw_without_seed_gets_one_stored_and_replays(pool):
    draw = services.draw_run(domain=Domain.MARKET)
    assert 0 <= draw.seed < 2**63
    assert services.draw_replay(draw=draw)["equal"]


def test_replay_notices_a_tampered_result_or_snapshot_and_a_changed_pool(pool):
    draw = services.draw_run(domain=Domain.MARKET, seed=7)
    first = draw.results.order_by("position").first()
    first.inspectors = list(reversed(first.inspectors))
    first.save()
    assert services.draw_replay(draw=draw)["equal"] is False
    first.inspectors = list(reversed(first.inspectors))
    first.save()
    assert services.draw_replay(draw=draw)["equal"] is True

    draw.snapshot["targets"] = draw.snapshot["targets"][1:]
    replay = services.draw_replay(draw=draw)
    assert replay["snapshot_intact"] is False and replay["equal"] is False

    draw.refresh_from_db()
    make_target("新登记", 121.02, 29.02, R)
    replay = services.draw_replay(draw=draw)
    assert replay["equal"] is True and replay["pool_unchanged"] is False


def test_colour_rates_hold_over_many_draws_within_binomial_tolerance(pool):
    """Each target of colour c is drawn with probability r_c (randomised rounding of n·r_c).

    Over M seeded draws: the share of green (yellow) targets drawn must be within z·σ of r, where
    σ = √(r(1−r)/(M·n)) is the binomial standard deviation of a share of M·n independent trials —
    conservative here, since the count per draw varies less than a binomial one (by at most one).
    Each single target's count must be within the binomial band of Binomial(M, r), the z taken
    for a 1e-6 chance of a false alarm over all 60 targets (Bonferroni), so a sampler that kept
    choosing the same targets fails although the totals are right."""
    targets, _good, _bad = pool
    rates = {"green": 0.07, "yellow": 0.23, "red": 1.0}
    snapshot = services.draw_snapshot(
        domain=Domain.MARKET, matter=None, filters={}, rates=rates, per_target=2, on=timezone.localdate()
    )
    draws = 2000
    counts: Counter = Counter()
    for seed in range(draws):
        results, _excluded = services.draw_select(snapshot=snapshot, seed=seed)
        counts.update(t for t, _c, _i in results)
        n_green = sum(1 for _t, c, _i in results if c == G)
        assert n_green in (math.floor(40 * 0.07), math.ceil(40 * 0.07))
    by_colour = {G: [t.pk for t in targets if t.colour == G], Y: [t.pk for t in targets if t.colour == Y]}
    z_total = NormalDist().inv_cdf(1 - 1e-6 / 2)
    z_each = NormalDist().inv_cdf(1 - 1e-6 / (2 * 60))
    for colour, ids in by_colour.items():
        r = rates[colour]
        share = sum(counts[t] for t in ids) / (draws * len(ids))
        sigma = math.sqrt(r * (1 - r) / (draws * len(ids)))
        assert abs(share - r) <= z_total * sigma, (colour, share, r)
        band = z_each * math.sqrt(draws * r * (1 - r))
        for t in ids:
            assert abs(counts[t] - draws * r) <= band, (colour, t, counts[t], draws * r, band)
    assert all(counts[t.pk] == draws for t in targets if t.colour == R)


def test_conflicts_expired_certificates_and_unqualified_officers_are_never_drawn(pool, planner):
    targets, good, bad = pool
    red = next(t for t in targets if t.colour == R)
    services.conflict_declare(officer=good[0], target=red, reason="配偶为该企业法定代表人", actor=planner)
    with pytest.raises(FieldError):
        services.conflict_declare(officer=good[0], target=red, reason="重复申报")
    never = {o.pk for o in bad.values()}
    seen_for_red: set[int] = set()
    seen_elsewhere: set[int] = set()
    for seed in range(60):
        draw = services.draw_run(domain=Domain.MARKET, seed=seed)
        for result in DrawResult.objects.filter(draw=draw):
            assert not never & set(result.inspectors)
            (seen_for_red if result.target_id == red.pk else seen_elsewhere).update(result.inspectors)
        assert [good[0].pk, red.pk] in draw.conflicts_excluded
        assert services.draw_replay(draw=draw)["equal"]
    assert good[0].pk not in seen_for_red
    assert good[0].pk in seen_elsewhere  # excluded for that target only
    assert seen_for_red == {o.pk for o in good[1:]}


def test_too_few_inspectors_is_a_field_error_and_nothing_is_stored(pool):
    with pytest.raises(FieldError) as e:
        services.draw_run(domain=Domain.MARKET, inspectors_per_target=7, seed=1)
    assert e.value.field == "inspectors_per_target"
    with pytest.raises(FieldError) as e:
        services.draw_run(domain=Domain.MARKET, inspectors_per_target=1, seed=1)
    assert e.value.field == "inspectors_per_target"
    from inspections.models import Draw

    assert Draw.objects.count() == 0


def test_filters_narrow_the_pool_and_no_disturbance_targets_are_left_out(pool, county):
    targets, _good, _bad = pool
    Target.objects.filter(pk=targets[-1].pk).update(no_disturbance=True)
    draw = services.draw_run(
        domain=Domain.MARKET, filters={"townships": ["330225101"], "colours": ["red"]}, seed=3
    )
    east = {t.pk for t in Target.objects.filter(township__code="330225101", colour=R, no_disturbance=False)}
    # Red targets are i = 60..64 at lon 121.001 + (i mod 13)·0.003 = 121.025 … 121.037: all east
    # of 121.02 (石浦镇); the last is on the no-disturbance list.
    assert len(east) == 4 and targets[-1].pk not in east
    assert {t for t, _c in draw.snapshot["targets"]} == east
    assert {r.target_id for r in draw.results.all()} == east
    with pytest.raises(FieldError) as e:
        services.draw_run(domain=Domain.MARKET, filters={"townships": ["999999999"]})
    assert e.value.field == "filters"
    with pytest.raises(FieldError) as e:
        services.draw_run(domain=Domain.MARKET, rates={"green": 1.5})
    assert e.value.field == "rates"


def test_drawn_checks_become_cases_held_by_the_inspectors_team(pool, county, planner, dispatcher):
    """Every drawn check opens one case (source 执法检查) held by the team of its first inspector —
    the market team here, though routing would give the point to a township team — registered, and
    opened once only; a planner cannot open them."""
    from rest_framework.test import APIClient

    from gridops.models import Report
    from gridops.services.cases import CasePermissionDenied

    draw = services.draw_run(domain=Domain.MARKET, seed=7, rates={"green": 0, "yellow": 0, "red": 1})
    results = list(draw.results.order_by("position"))
    assert len(results) == 5
    with pytest.raises(CasePermissionDenied):
        services.draw_result_case_open(result=results[0], actor=planner)
    assert not Report.objects.exists()  # the refused step wrote nothing

    client = APIClient()
    client.force_authenticate(dispatcher)
    response = client.post(f"/api/v1/inspections/draws/{draw.pk}/open-cases/")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert all(row["case"] and row["case"]["status"] == "registered" for row in rows)
    reports = Report.objects.filter(source=Report.Source.INSPECTION)
    assert reports.count() == 5
    assert set(reports.values_list("team", flat=True)) == {county.teams["market"].pk}
    first = DrawResult.objects.select_related("report", "target").get(draw=draw, position=1)
    assert first.target.name in first.report.description
    assert client.post(f"/api/v1/inspections/draws/{draw.pk}/open-cases/").status_code == 200
    assert Report.objects.filter(source=Report.Source.INSPECTION).count() == 5  # once only
    # The public read of a draw shows no case.
    public = services.draw_publish(draw=draw)
    body = APIClient().get(f"/api/v1/inspections/public/draws/{public.pk}/")
    assert body.status_code == 200 and all("case" not in r for r in body.json()["results"])
