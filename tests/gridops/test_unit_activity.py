"""A unit's activity for the replay timeline (`GET /api/v1/units/{id}/activity/`): the steps of the
cases dispatched to it, where each was taken, and the reports its own device sent."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from geodata.models import Officer
from gridops.services.cases import Step, case_transition
from gridops.services.reports import ReportInput, report_submit
from tests.gridops.units_factory import tracked_unit


@pytest.fixture
def scene(tiny_county, django_user_model):
    dispatcher = django_user_model.objects.create_user("desk", password="x")
    dispatcher.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    officer = django_user_model.objects.create_user("officer", password="x", first_name="队员")
    officer.groups.add(Group.objects.get_or_create(name="officer")[0])
    Officer.objects.create(team=tiny_county.teams["W"], user=officer, name="队员")
    car = tracked_unit(tiny_county.teams["W"], code="car")
    other = tracked_unit(tiny_county.teams["W"], code="other")
    mine, _ = report_submit(data=ReportInput(source="citizen", lon=121.005, lat=29.005, matter_code="ZH-001"))
    theirs, _ = report_submit(
        data=ReportInput(source="citizen", lon=121.006, lat=29.006, matter_code="ZH-001")
    )
    for report, unit in ((mine, car.unit), (theirs, other.unit)):
        report = case_transition(report=report, action="register", actor=dispatcher)
        report = case_transition(
            report=report, action="dispatch", actor=dispatcher, step=Step(unit=unit.code)
        )
    mine = case_transition(report=mine, action="accept", actor=officer)
    case_transition(report=mine, action="start", actor=officer, step=Step(lon=121.0052, lat=29.0051))
    found, _ = report_submit(
        data=ReportInput(
            source="patrol", lon=121.007, lat=29.007, matter_code="ZH-001", description="巡查发现"
        ),
        device=car.device,
    )
    return car.unit, mine, found


def _get(unit, user=None, **params):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client.get(f"/api/v1/units/{unit.pk}/activity/", params)


def test_steps_of_its_cases_and_its_own_reports_oldest_first(scene, django_user_model):
    unit, case, found = scene
    data = _get(unit, django_user_model.objects.get(username="desk")).json()
    kinds = [(e["kind"], e["action"]) for e in data["events"]]
    assert kinds == [
        ("case_step", "register"),
        ("case_step", "dispatch"),
        ("case_step", "accept"),
        ("case_step", "start"),
        ("report", "reported"),
    ]
    assert all(e["report"]["id"] == case.pk for e in data["events"][:4])  # not the other unit's case
    start = data["events"][3]
    assert start["point"] == pytest.approx([121.0052, 29.0051]) and start["located"] is True
    assert (
        data["events"][0]["point"] == pytest.approx([121.005, 29.005])
        and data["events"][0]["located"] is False
    )
    assert data["events"][4]["report"]["number"] == found.number
    assert [e["at"] for e in data["events"]] == sorted(e["at"] for e in data["events"])


def test_the_period_bounds_it_and_strangers_are_refused(scene, django_user_model):
    unit, _case, _found = scene
    desk = django_user_model.objects.get(username="desk")
    later = (timezone.localtime() + timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    much_later = (
        (timezone.localtime() + timedelta(hours=2)).replace(tzinfo=None).isoformat(timespec="seconds")
    )
    assert _get(unit, desk, start=later, end=much_later).json()["events"] == []
    assert _get(unit, desk, start=much_later, end=later).status_code == 400
    assert _get(unit).status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(desk)
    assert client.get("/api/v1/units/999999/activity/").status_code == 404
