"""The demo matter catalogue and the fake-people helpers: plain data checks, no database."""

import random
import re
from collections import Counter

import pytest

from geodata.demo import catalogue, people
from geodata.demo.catalogue import CAMERA_ALERT_MATTERS, MATTERS
from geodata.models import Domain, Matter

CAMERA_ALERTS = {
    "street_vending",
    "illegal_parking",
    "exposed_rubbish",
    "illegal_construction",
    "smoke_fire",
    "outdoor_ads",
    "roadside_burning",
}


def test_catalogue_is_large_enough():
    assert len(MATTERS) >= 60


def test_codes_are_unique_and_follow_the_scheme():
    codes = [m.code for m in MATTERS]
    assert len(codes) == len(set(codes))
    for m in MATTERS:
        prefix = catalogue.DOMAIN_PREFIXES[m.domain]
        letters = catalogue.KIND_LETTERS[m.kind]
        assert re.fullmatch(rf"{prefix}-{letters}-\d{{3}}", m.code), m.code
        assert len(m.code) <= Matter._meta.get_field("code").max_length


def test_values_match_the_model_choices():
    for m in MATTERS:
        assert m.domain in Domain.values, m
        assert m.kind in Matter.Kind.values, m
        assert m.handled_by in Matter.Handler.values, m
    # The module's own constants mirror the model.
    assert set(catalogue.DOMAIN_PREFIXES) == set(Domain.values)
    assert set(catalogue.KIND_LETTERS) == set(Matter.Kind.values)


def test_every_domain_has_at_least_three_matters():
    per_domain = Counter(m.domain for m in MATTERS)
    for domain in Domain.values:
        assert per_domain[domain] >= 3, domain


def test_kind_mix():
    per_kind = Counter(m.kind for m in MATTERS)
    assert set(per_kind) == set(Matter.Kind.values)
    assert per_kind[Matter.Kind.PENALTY] > len(MATTERS) / 2
    assert per_kind[Matter.Kind.INSPECTION] >= 8
    assert per_kind[Matter.Kind.COERCION] >= 3
    assert per_kind[Matter.Kind.OTHER] >= 3


def test_no_county_handled_comprehensive_matter():
    offenders = [
        m.code for m in MATTERS if m.domain == Domain.COMPREHENSIVE and m.handled_by == Matter.Handler.COUNTY
    ]
    assert offenders == []


def test_handler_mix():
    township = sum(m.handled_by == Matter.Handler.TOWNSHIP for m in MATTERS)
    assert township / len(MATTERS) >= 0.5
    # Townships also receive delegated matters from professional domains, and the county keeps some.
    delegated = {m.domain for m in MATTERS if m.handled_by == Matter.Handler.TOWNSHIP}
    assert len(delegated - {Domain.COMPREHENSIVE}) >= 5
    assert any(m.handled_by == Matter.Handler.COUNTY for m in MATTERS)


def test_rows_are_complete():
    name_max = Matter._meta.get_field("name").max_length
    for m in MATTERS:
        assert m.name and len(m.name) <= name_max, m.code
        assert "《" in m.legal_basis and "》" in m.legal_basis, m.code
        assert 1 <= m.time_limit_days <= 90, m.code
    names = [m.name for m in MATTERS]
    assert len(names) == len(set(names))


def test_rows_are_frozen():
    with pytest.raises(AttributeError):
        MATTERS[0].code = "X"  # type: ignore[misc]


def test_camera_alerts_map_to_existing_matters():
    codes = {m.code for m in MATTERS}
    assert set(CAMERA_ALERT_MATTERS) == CAMERA_ALERTS
    for alert, code in CAMERA_ALERT_MATTERS.items():
        assert code in codes, alert
        # Camera alerts are street-level matters for the township team.
        assert catalogue.matter_for_alert(alert).handled_by == Matter.Handler.TOWNSHIP


def test_names_are_deterministic_for_a_seed():
    a = [people.person_name(random.Random(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng1, rng2 = random.Random(42), random.Random(42)
    assert [people.person_name(rng1) for _ in range(200)] == [people.person_name(rng2) for _ in range(200)]
    rng3, rng4 = random.Random(1), random.Random(2)
    assert [people.person_name(rng3) for _ in range(20)] != [people.person_name(rng4) for _ in range(20)]


def test_names_look_chinese_and_are_mostly_distinct():
    rng = random.Random(2024)
    names = [people.person_name(rng) for _ in range(500)]
    for name in names:
        assert 2 <= len(name) <= 3, name
        assert name[0] in people.SURNAME_WEIGHTS
        assert all("\u4e00" <= ch <= "\u9fff" for ch in name), name
    assert len(set(names)) >= 480
    # Frequent surnames come out more often than rare ones.
    surnames = Counter(name[0] for name in names)
    assert surnames["王"] > surnames.get("舒", 0)


def test_unique_names_are_distinct_and_deterministic():
    names = people.unique_names(random.Random(5), 2000)
    assert len(names) == len(set(names)) == 2000
    assert names == people.unique_names(random.Random(5), 2000)


def test_phone_numbers_are_demo_numbers():
    rng1, rng2 = random.Random(9), random.Random(9)
    numbers = [people.phone(rng1) for _ in range(100)]
    assert numbers == [people.phone(rng2) for _ in range(100)]
    for n in numbers:
        assert re.fullmatch(r"1[3589]\d{9}", n), n
        assert people.is_demo_phone(n)
    assert len(set(numbers)) > 90


def test_certificate_numbers():
    rng = random.Random(0)
    assert people.certificate_no(rng, "330225", 42) == "3302250000042"
    numbers = {people.certificate_no(rng, "330225", seq) for seq in range(1, 1001)}
    assert len(numbers) == 1000
    assert all(n.startswith("33022500") and len(n) == 13 for n in numbers)
    with pytest.raises(ValueError):
        people.certificate_no(rng, "3302", 1)
    with pytest.raises(ValueError):
        people.certificate_no(rng, "330225", 100_000)
