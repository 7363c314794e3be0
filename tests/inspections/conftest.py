"""Fixtures for inspection planning, on the tiny county (tests/factories.py):

    29.04 ┌────┬────┬────┬────┐
          │ W 丹东街道 │ E 石浦镇  │   zh-1 covers W, zh-2 covers E, market everywhere
    29.00 └────┴────┴────┴────┘
       121.00  .01  .02  .03  .04     (0.01° ≈ 973 m east-west, 1,109 m north-south here)

Plus a county emergency-management team (yj) for a third department, people in their groups, and
`make_target` / `make_inspector` helpers that write through the same rows the services read.
"""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from geodata.models import Domain, Officer, Team
from inspections import services
from inspections.credit import ALPHABET, credit_code_check_char
from inspections.models import CreditColour, OfficerQualification, Target


def valid_code(n: int, head: str = "91330225") -> str:
    """A valid 18-character credit code, different for every n."""
    body = head + "".join(ALPHABET[(n // 31**i) % 31] for i in range(9))[::-1]
    return body + credit_code_check_char(body)


def make_target(name: str, lon: float, lat: float, colour: str = CreditColour.GREEN, **extra) -> Target:
    """Through the service (township resolved from the point by the routing engine), then any
    extra fields set directly."""
    target = services.target_create(raw={"name": name, "lon": lon, "lat": lat, "colour": colour})
    if extra:
        Target.objects.filter(pk=target.pk).update(**extra)
        target.refresh_from_db()
    return target


_certificates = iter(range(1, 10**6))


def make_inspector(
    team: Team,
    name: str,
    domains=(Domain.MARKET,),
    *,
    valid_until: date | None = None,
    status: str = Officer.Status.STAFF,
    active: bool = True,
    user=None,
) -> Officer:
    officer = Officer.objects.create(
        team=team,
        name=name,
        certificate_no=f"ZJ{next(_certificates):08d}" if status == Officer.Status.STAFF else "",
        status=status,
        user=user,
    )
    OfficerQualification.objects.create(
        officer=officer,
        domains=list(domains),
        certificate_valid_from=timezone.localdate() - timedelta(days=365),
        certificate_valid_until=valid_until or timezone.localdate() + timedelta(days=365),
        active_for_draws=active,
    )
    return officer


def make_user(django_user_model, username: str, *groups: str, **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-123456", **extra)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


@pytest.fixture
def county(tiny_county):
    tiny_county.teams["yj"] = Team.objects.create(
        code="yj",
        name="县应急管理执法队",
        kind=Team.Kind.PROFESSIONAL,
        domain=Domain.EMERGENCY,
        department="县应急管理局",
    )
    return tiny_county


@pytest.fixture
def planner(django_user_model):
    return make_user(django_user_model, "planner", "planner", first_name="规划员")


@pytest.fixture
def dispatcher(django_user_model):
    return make_user(django_user_model, "dispatcher", "dispatcher", first_name="调度员")


@pytest.fixture
def planner_client(planner) -> APIClient:
    client = APIClient()
    client.force_authenticate(planner)
    return client
