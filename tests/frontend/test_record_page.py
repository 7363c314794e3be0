"""The printable full-process record (`/cases/<id>/record/`): who may read it, what it shows, and
that a tampered record says so on the page."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from gridops.models import CaseEvent
from gridops.services.cases import Step, case_transition
from gridops.services.reports import ReportInput, report_submit


def _user(django_user_model, username, group):
    user = django_user_model.objects.create_user(username, password="pw-123456", first_name=username.upper())
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def case(tiny_county, django_user_model):
    worker = _user(django_user_model, "worker", "grid_worker")
    dispatcher = _user(django_user_model, "dispatcher", "dispatcher")
    report, _ = report_submit(
        data=ReportInput(
            source="grid_worker",
            lon=121.005,
            lat=29.005,
            matter_code="ZH-001",
            description="占道",
            reporter_phone="13812345678",
        ),
        reporter=worker,
    )
    report = case_transition(report=report, action="register", actor=dispatcher)
    report = case_transition(report=report, action="dispatch", actor=dispatcher, step=Step(note="请速到场"))
    return report


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_record_shows_every_step_and_that_the_chain_holds(case, django_user_model):
    dispatcher = django_user_model.objects.get(username="dispatcher")
    page = _client(dispatcher).get(f"/cases/{case.pk}/record/")
    assert page.status_code == 200
    html = page.content.decode()
    assert case.number in html and 'data-chain="intact"' in html
    assert html.count("<tr data-seq=") == 2 and "请速到场" in html and "DISPATCHER" in html
    assert "13812345678" in html  # dispatchers see the contact in full


def test_who_may_read_it(case, django_user_model):
    worker = django_user_model.objects.get(username="worker")
    stranger = _user(django_user_model, "other", "grid_worker")
    assert _client(worker).get(f"/cases/{case.pk}/record/").status_code == 200  # their own report
    assert "138****5678" in _client(worker).get(f"/cases/{case.pk}/record/").content.decode()
    assert _client(stranger).get(f"/cases/{case.pk}/record/").status_code == 404  # out of scope
    assert Client().get(f"/cases/{case.pk}/record/").status_code == 302  # to the login page
    dispatcher = django_user_model.objects.get(username="dispatcher")
    assert _client(dispatcher).get("/cases/999999/record/").status_code == 404


def test_a_tampered_record_says_so(case, django_user_model):
    CaseEvent.objects.filter(report=case, seq=1).update(note="后改的")
    html = (
        _client(django_user_model.objects.get(username="dispatcher"))
        .get(f"/cases/{case.pk}/record/")
        .content.decode()
    )
    assert 'data-chain="broken"' in html and "#1" in html
