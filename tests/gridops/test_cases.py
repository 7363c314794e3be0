"""The closed loop (gridops/services/cases.py): every step, who may take it, the record it leaves.

The tiny county (tests/factories.py): 一中队 (zh-1) covers the west half, 二中队 (zh-2) the east,
县市场监管执法队 (market) is the county team of the market domain.

    29.04 ┌────┬────┬────┬────┐
          │ zh-1    │ zh-2    │
    29.00 └────┴────┴────┴────┘    P = (121.005, 29.005): inside cell (0,0), zh-1
       121.00  .01  .02  .03  .04
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from geodata.errors import FieldError
from geodata.models import Officer
from gridops import lifecycle
from gridops.api.report_serializers import ReportDetailSerializer
from gridops.models import Alert, CaseEvent, OutboxEvent, Report
from gridops.realtime import events
from gridops.record import record_verify
from gridops.services.cases import (
    CasePermissionDenied,
    Step,
    case_allowed_actions,
    case_timers_sweep,
    case_transition,
)
from gridops.services.reports import ReportInput, report_assign, report_submit
from tests.data import images
from tests.gridops.units_factory import tracked_unit

S = Report.Status
P = (121.005, 29.005)
HERE = {"lon": 121.0051, "lat": 29.0052}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _user(django_user_model, username, *groups, **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-123456", **extra)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


class People:
    def __init__(self, django_user_model, county):
        self.worker = _user(django_user_model, "worker", "grid_worker", first_name="网格员甲")
        self.other_worker = _user(django_user_model, "worker2", "grid_worker")
        self.dispatcher = _user(django_user_model, "dispatcher", "dispatcher", first_name="调度员乙")
        self.dispatcher2 = _user(django_user_model, "dispatcher2", "dispatcher", first_name="调度员庚")
        self.supervisor = _user(django_user_model, "supervisor", "supervisor", first_name="督查丙")
        self.planner = _user(django_user_model, "planner", "planner")
        self.officer = _user(django_user_model, "officer", "officer", first_name="队员丁")
        self.officer2 = _user(django_user_model, "officer2", "officer", first_name="队员戊")
        self.east_officer = _user(django_user_model, "east", "officer")
        self.market_officer = _user(django_user_model, "market", "officer", first_name="市监己")
        Officer.objects.create(team=county.teams["W"], user=self.officer, name="队员丁")
        Officer.objects.create(team=county.teams["W"], user=self.officer2, name="队员戊")
        Officer.objects.create(team=county.teams["E"], user=self.east_officer, name="东队员")
        Officer.objects.create(team=county.teams["market"], user=self.market_officer, name="市监己")


@pytest.fixture
def people(django_user_model, tiny_county):
    return People(django_user_model, tiny_county)


def _report(people, matter="ZH-001", **extra) -> Report:
    report, _ = report_submit(
        data=ReportInput(
            source="grid_worker", lon=P[0], lat=P[1], matter_code=matter, description="占道摆摊", **extra
        ),
        reporter=people.worker,
    )
    return report


def _photo():
    return images.upload("after.jpg", images.jpeg_bytes())


def step(report, action, actor, **kwargs) -> Report:
    return case_transition(report=report, action=action, actor=actor, step=Step(**kwargs))


def _to(report, people, status) -> Report:
    """Walk a fresh case along the main path up to `status` (each step through the service)."""
    path = [
        ("register", people.dispatcher, {}),
        ("dispatch", people.dispatcher, {}),
        ("accept", people.officer, {}),
        ("start", people.officer, {}),
        ("handle", people.officer, {"note": "已劝离", "photos": (_photo(),)}),
        ("verify_pass", people.worker, HERE),
        ("close", people.dispatcher, {}),
    ]
    for action, actor, kwargs in path:
        if report.status == status:
            break
        if report.status in lifecycle.TRANSITIONS[action].sources:
            report = step(report, action, actor, **kwargs)
    assert report.status == status
    return report


# --- The main path ---------------------------------------------------------------------------------


def test_a_case_goes_round_the_whole_loop_and_every_step_is_recorded(people, tiny_county):
    unit = tracked_unit(tiny_county.teams["W"]).unit
    report = _report(people)
    assert report.status == S.NEW
    report = step(report, "register", people.dispatcher)
    assert report.status == S.REGISTERED and report.registered_at and report.due_at > report.registered_at
    report = step(report, "dispatch", people.dispatcher, unit=unit.code, note="就近派遣")
    assert report.status == S.DISPATCHED and report.assigned_unit == unit
    report = step(report, "accept", people.officer)
    assert report.status == S.ACCEPTED and report.handler == people.officer
    report = step(report, "start", people.officer, lon=121.0052, lat=29.0051)
    assert report.arrived_at is not None
    report = step(report, "handle", people.officer, note="已劝离，恢复通行", photos=(_photo(), _photo()))
    assert report.status == S.HANDLED and report.handled_at
    report = step(report, "verify_pass", people.worker, note="现场已清理", **HERE)
    assert report.status == S.VERIFIED
    report = step(report, "close", people.dispatcher)
    assert report.status == S.CLOSED and report.closed_at

    rows = list(CaseEvent.objects.filter(report=report).order_by("seq"))
    assert [r.action for r in rows] == [
        "register",
        "dispatch",
        "accept",
        "start",
        "handle",
        "verify_pass",
        "close",
    ]
    assert [r.to_status for r in rows] == [
        "registered",
        "dispatched",
        "accepted",
        "handling",
        "handled",
        "verified",
        "closed",
    ]
    assert rows[1].data["unit"]["code"] == unit.code and rows[1].note == "就近派遣"
    assert rows[5].actor == people.worker and rows[5].point.coords == pytest.approx(
        (HERE["lon"], HERE["lat"])
    )
    assert rows[4].photos.count() == 2  # the after-photos belong to the step
    assert report.photos.filter(event__isnull=True).count() == 0
    # Each step pushed case.updated to the county, the township and the team.
    pushed = OutboxEvent.objects.filter(type=events.CASE_UPDATED).order_by("id")
    assert [e.data["action"] for e in pushed] == [r.action for r in rows]
    assert set(pushed.last().streams) == {"county", "township:330225001", "team:zh-1"}
    assert record_verify(reports=[report]) == (1, [])


def test_the_detail_offers_each_person_only_the_steps_they_may_take(people):
    report = step(_report(people), "register", people.dispatcher)
    names = lambda user: {a["action"] for a in case_allowed_actions(report=report, user=user)}  # noqa: E731
    assert names(people.dispatcher) >= {"dispatch", "escalate", "refer", "request_extension"}
    assert "accept" not in names(people.dispatcher)
    assert names(people.supervisor) == {"suspend"}
    assert names(people.officer) == {"escalate", "request_extension"}
    assert names(people.east_officer) == set()
    assert names(people.planner) == set()
    report = step(report, "dispatch", people.dispatcher)
    assert names(people.officer) == {"accept", "escalate", "request_extension"}


# --- Who may do what, from where --------------------------------------------------------------------

ROLE_USERS = ("dispatcher", "supervisor", "officer", "east_officer", "worker", "other_worker", "planner")
# The state each action is tried from (reached through the service), and the roles that may take it.
FROM = {
    "register": S.NEW,
    "not_register": S.NEW,
    "dispatch": S.REGISTERED,
    "accept": S.DISPATCHED,
    "start": S.ACCEPTED,
    "handle": S.HANDLING,
    "verify_pass": S.HANDLED,
    "verify_fail": S.HANDLED,
    "close": S.VERIFIED,
    "escalate": S.REGISTERED,
    "refer": S.REGISTERED,
    "suspend": S.REGISTERED,
    "request_extension": S.REGISTERED,
}
ALLOWED = {
    "register": {"dispatcher"},
    "not_register": {"dispatcher"},
    "dispatch": {"dispatcher"},
    "accept": {"officer"},
    "start": {"officer"},
    "handle": {"officer"},
    "verify_pass": {"dispatcher", "supervisor", "worker"},
    "verify_fail": {"dispatcher", "supervisor", "worker"},
    "close": {"dispatcher"},
    "escalate": {"dispatcher", "officer"},
    "refer": {"dispatcher"},
    "suspend": {"supervisor"},
    "request_extension": {"dispatcher", "officer"},
}
INPUTS = {
    "not_register": {"note": "重复上报"},
    "handle": {"note": "已处置", "photos": "photo"},
    "verify_pass": HERE,
    "verify_fail": {**HERE, "note": "仍有摊点"},
    "escalate": {"note": "涉及食品安全，需专业执法", "team": "market"},
    "refer": {"note": "涉嫌犯罪", "to_kind": "police", "to_name": "象山县公安局丹东派出所"},
    "suspend": {"note": "当事人下落不明"},
    "request_extension": {"note": "需检测", "days": 5},
}


@pytest.mark.parametrize("action", sorted(FROM))
def test_each_step_is_allowed_to_exactly_its_roles(people, action):
    for role in ROLE_USERS:
        report = _to(_report(people), people, FROM[action])
        kwargs = dict(INPUTS.get(action, {}))
        if kwargs.get("photos") == "photo":
            kwargs["photos"] = (_photo(),)
        before = CaseEvent.objects.filter(report=report).count()
        if role in ALLOWED[action]:
            done = step(report, action, getattr(people, role), **kwargs)
            assert CaseEvent.objects.filter(report=report).count() == before + 1, (action, role)
            assert done.status != FROM[action] or action == "request_extension", (action, role)
        else:
            with pytest.raises(CasePermissionDenied):
                step(report, action, getattr(people, role), **kwargs)
            report.refresh_from_db()
            assert report.status == FROM[action], (action, role)
            assert CaseEvent.objects.filter(report=report).count() == before, (action, role)


@pytest.mark.parametrize("action", sorted(lifecycle.TRANSITIONS))
def test_a_step_from_a_state_it_does_not_start_from_is_refused_and_writes_nothing(people, action):
    closed = _to(_report(people), people, S.CLOSED)
    seq = closed.record_seq
    # (Another dispatcher: the one who closed it, closing again, is a harmless repeat — next test.)
    with pytest.raises(FieldError) as refused:
        step(closed, action, people.dispatcher2, note="x", days=1, to_kind="police", to_name="x", **HERE)
    assert refused.value.field == "status"
    closed.refresh_from_db()
    assert closed.status == S.CLOSED and closed.record_seq == seq


def test_repeating_the_step_one_just_took_changes_nothing(people):
    closed = _to(_report(people), people, S.CLOSED)
    again = step(closed, "close", people.dispatcher)
    assert again.status == S.CLOSED and again.record_seq == closed.record_seq
    with pytest.raises(FieldError):
        step(closed, "close", people.dispatcher2)  # someone else: the case is already closed


def test_the_handler_may_not_verify_their_own_work_whatever_else_they_are(people, tiny_county):
    people.officer.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    report = _to(_report(people), people, S.HANDLED)
    with pytest.raises(CasePermissionDenied, match="处置人以外"):
        step(report, "verify_pass", people.officer, **HERE)
    assert step(report, "verify_pass", people.supervisor, **HERE).status == S.VERIFIED


def test_only_the_officer_who_accepted_handles_the_case(people):
    report = _to(_report(people), people, S.ACCEPTED)
    with pytest.raises(CasePermissionDenied, match="他人承办"):
        step(report, "start", people.officer2)


def test_inputs_a_step_needs_are_asked_for_by_field(people):
    report = _to(_report(people), people, S.HANDLING)
    with pytest.raises(FieldError) as no_photo:
        step(report, "handle", people.officer, note="已处置")
    assert no_photo.value.field == "photos"
    with pytest.raises(FieldError) as no_note:
        step(report, "handle", people.officer, photos=(_photo(),))
    assert no_note.value.field == "note"
    report = step(report, "handle", people.officer, note="ok", photos=(_photo(),))
    with pytest.raises(FieldError) as nowhere:
        step(report, "verify_pass", people.worker)
    assert nowhere.value.field == "lon"
    with pytest.raises(FieldError) as swapped:
        step(report, "verify_pass", people.worker, lon=29.0, lat=121.0)
    assert swapped.value.field in ("lon", "lat")
    with pytest.raises(FieldError) as nan:
        step(report, "verify_pass", people.worker, lon="NaN", lat=29.0)
    assert nan.value.field in ("lon", "lat")
    with pytest.raises(FieldError) as unknown:
        step(report, "fly_away", people.worker)
    assert unknown.value.field == "action"


def test_a_unit_of_another_team_cannot_be_dispatched(people, tiny_county):
    east_unit = tracked_unit(tiny_county.teams["E"], code="zh-2-car").unit
    report = step(_report(people), "register", people.dispatcher)
    with pytest.raises(FieldError) as refused:
        step(report, "dispatch", people.dispatcher, unit=east_unit.code)
    assert refused.value.field == "unit" and "不属于" in refused.value.message
    with pytest.raises(FieldError):
        step(report, "dispatch", people.dispatcher, unit="no-such-unit")


# --- Rework, escalation, referral, extension, suspension ------------------------------------------------


def test_failed_verification_sends_the_case_back_to_the_handler(people):
    report = _to(_report(people), people, S.HANDLED)
    report = step(report, "verify_fail", people.worker, note="摊点又回来了", **HERE)
    assert report.status == S.HANDLING and report.rework_count == 1 and report.handler == people.officer
    report = step(report, "handle", people.officer, note="再次清理", photos=(_photo(),))
    report = step(report, "verify_pass", people.worker, **HERE)
    assert report.status == S.VERIFIED
    actions = list(report.case_events.order_by("seq").values_list("action", flat=True))
    assert actions[-4:] == ["handle", "verify_fail", "handle", "verify_pass"]


def test_escalation_to_the_county_team_needs_its_report_in_and_chases_it_when_late(
    people, tiny_county, settings
):
    settings.CASE_ESCALATION_REPORT_IN_MINUTES = 30
    # 擅自占用城市道路摆卖商品: a market-domain matter delegated to the township team.
    report = step(_report(people, matter="SC-101"), "register", people.dispatcher)
    assert report.team == tiny_county.teams["W"]
    report = step(report, "escalate", people.officer, note="无证食品经营，需市场监管")  # team from the domain
    assert report.status == S.ESCALATED
    assert report.team == tiny_county.teams["market"] and report.escalated_from == tiny_county.teams["W"]
    assert report.routing["reasons"][-1]["code"] == "escalated"
    assert "市场监管" in report.routing["reasons"][-1]["text"]
    # The township team's officer no longer acts on it; the county team's does.
    with pytest.raises(CasePermissionDenied):
        step(report, "report_in", people.officer)

    assert case_timers_sweep(now=report.escalation_due_at - timedelta(seconds=1))["escalation_late"] == 0
    late = case_timers_sweep(now=report.escalation_due_at + timedelta(seconds=1))
    assert late["escalation_late"] == 1
    assert (
        case_timers_sweep(now=report.escalation_due_at + timedelta(minutes=5))["escalation_late"] == 0
    )  # once
    alert = Alert.objects.get(report=report, kind=Alert.Kind.ESCALATION_LATE)
    assert alert.status == Alert.Status.OPEN and alert.team == tiny_county.teams["market"]
    assert report.case_events.order_by("seq").last().action == "escalation_late"

    report = step(report, "report_in", people.market_officer)
    assert report.status == S.REGISTERED and report.due_at is not None
    alert.refresh_from_db()
    assert alert.status == Alert.Status.CLEARED
    assert record_verify(reports=[report]) == (1, [])


def test_only_a_township_team_escalates(people, tiny_county):
    report = step(_report(people, matter="SC-001"), "register", people.dispatcher)
    assert report.team == tiny_county.teams["market"]
    with pytest.raises(CasePermissionDenied, match="乡镇综合执法队"):
        step(report, "escalate", people.dispatcher, note="x")


def test_referral_outside_the_platform_ends_the_case_and_to_a_department_hands_it_over(people, tiny_county):
    report = step(_report(people), "register", people.dispatcher)
    with pytest.raises(FieldError) as no_name:
        step(report, "refer", people.dispatcher, note="涉嫌犯罪", to_kind="judiciary")
    assert no_name.value.field == "to_name"
    with pytest.raises(FieldError) as bad_kind:
        step(report, "refer", people.dispatcher, note="x", to_kind="army", to_name="x")
    assert bad_kind.value.field == "to_kind"
    out = step(
        report, "refer", people.dispatcher, note="涉嫌犯罪", to_kind="judiciary", to_name="象山县人民检察院"
    )
    assert out.status == S.REFERRED and out.referral["to"] == "象山县人民检察院" and out.due_at is None
    assert out.status not in lifecycle.OPEN
    shown = ReportDetailSerializer(out).data["case"]["referral"]
    assert shown["to"] == "象山县人民检察院" and shown["at"].endswith("+08:00")  # kept in UTC, shown local
    assert parse_datetime(shown["at"]) == parse_datetime(out.referral["at"])

    other = step(_report(people), "register", people.dispatcher)
    handed = step(
        other, "refer", people.dispatcher, note="属市场监管职责", to_kind="department", team="market"
    )
    assert handed.status == S.REGISTERED and handed.team == tiny_county.teams["market"]
    assert handed.routing["reasons"][-1]["code"] == "referred"
    event = OutboxEvent.objects.filter(type=events.CASE_UPDATED).order_by("id").last()
    assert "team:zh-1" in event.streams and "team:market" in event.streams  # the old team hears it left


def test_an_extension_is_requested_and_approved_by_someone_else(people):
    report = _to(_report(people), people, S.ACCEPTED)
    due = report.due_at
    with pytest.raises(FieldError) as too_long:
        step(report, "request_extension", people.officer, note="需检测", days=99)
    assert too_long.value.field == "days"
    report = step(report, "request_extension", people.officer, note="需检测", days=5)
    assert report.status == S.ACCEPTED and report.extension_request["days"] == 5
    with pytest.raises(CasePermissionDenied, match="已有一条"):
        step(report, "request_extension", people.officer, note="again", days=2)
    report = step(report, "approve_extension", people.supervisor)
    assert report.extension_count == 1 and report.extension_request == {}
    assert report.due_at > due + timedelta(days=4)  # five working days later

    report = step(report, "request_extension", people.dispatcher, note="再延", days=2)
    with pytest.raises(CasePermissionDenied, match="申请人以外"):
        step(report, "approve_extension", people.dispatcher)
    report = step(report, "refuse_extension", people.supervisor, note="理由不足")
    assert report.extension_count == 1 and report.extension_request == {}


def test_suspension_stops_the_clock_and_resuming_returns_to_where_it_was(people, monkeypatch):
    report = _to(_report(people), people, S.HANDLING)
    due = report.due_at
    report = step(report, "suspend", people.supervisor, note="当事人下落不明")
    assert report.status == S.SUSPENDED and report.suspended_from == S.HANDLING
    later = timezone.now() + timedelta(days=3)
    monkeypatch.setattr("gridops.services.cases.timezone.now", lambda: later)
    report = step(report, "resume", people.dispatcher)
    assert report.status == S.HANDLING and report.suspended_from == ""
    assert report.due_at - due == pytest.approx(timedelta(days=3), abs=timedelta(seconds=5))


def test_reassigning_is_recorded_and_a_dispatched_case_cannot_be_reassigned(people, tiny_county):
    report = step(_report(people), "register", people.dispatcher)
    report = report_assign(report=report, team=tiny_county.teams["E"], actor=people.dispatcher, note="跨片区")
    assert report.status == S.NEW and report.due_at is None
    assert report.case_events.order_by("seq").last().data == {"from_team": "zh-1", "to_team": "zh-2"}
    report = _to(report, people, S.REGISTERED)
    report = step(report, "dispatch", people.dispatcher)
    with pytest.raises(FieldError):
        report_assign(report=report, team=tiny_county.teams["W"], actor=people.dispatcher)


# --- Timers ------------------------------------------------------------------------------------------


def test_timers_warn_before_the_limit_and_raise_at_it_once_each(people, settings):
    settings.CASE_WARNING_FRACTION = 0.2
    report = step(_report(people), "register", people.dispatcher)
    span = report.due_at - report.registered_at
    warn_at = report.due_at - span * 0.2
    assert case_timers_sweep(now=warn_at - timedelta(seconds=1)) == {
        "warned": 0,
        "overdue": 0,
        "escalation_late": 0,
    }
    assert case_timers_sweep(now=warn_at + timedelta(seconds=1))["warned"] == 1
    assert case_timers_sweep(now=warn_at + timedelta(seconds=2))["warned"] == 0
    assert case_timers_sweep(now=report.due_at + timedelta(seconds=1))["overdue"] == 1
    assert case_timers_sweep(now=report.due_at + timedelta(hours=1))["overdue"] == 0
    kinds = set(Alert.objects.filter(report=report, status="open").values_list("kind", flat=True))
    assert kinds == {Alert.Kind.CASE_DUE_SOON, Alert.Kind.CASE_OVERDUE}
    report.refresh_from_db()
    assert [e.action for e in report.case_events.order_by("seq")][-2:] == ["due_soon", "overdue"]
    assert report.case_events.order_by("seq").last().actor is None  # the system did it

    # An approved extension resets the timers and clears their alerts.
    report = step(report, "request_extension", people.officer, note="需检测", days=3)
    report = step(report, "approve_extension", people.supervisor)
    assert report.warned_at is None and report.overdue_at is None
    assert not Alert.objects.filter(report=report, status="open").exists()
    assert record_verify(reports=[report]) == (1, [])


def test_a_closed_case_clears_its_timer_alerts(people):
    report = step(_report(people), "register", people.dispatcher)
    case_timers_sweep(now=report.due_at + timedelta(seconds=1))
    assert Alert.objects.filter(report=report, status="open").count() == 1
    _to(Report.objects.get(pk=report.pk), people, S.CLOSED)
    assert not Alert.objects.filter(report=report, status="open").exists()


# --- The full-process record ------------------------------------------------------------------------


def _closed_case(people) -> Report:
    return _to(_report(people), people, S.CLOSED)


def test_an_altered_row_is_named(people):
    report = _closed_case(people)
    CaseEvent.objects.filter(report=report, seq=3).update(note="篡改")  # bypasses the model's guard
    checked, problems = record_verify()
    assert checked == 1 and len(problems) == 1
    assert problems[0].seq == 3 and "altered" in problems[0].reason


def test_a_removed_row_in_the_middle_or_at_the_end_is_named(people):
    middle, tail = _closed_case(people), _closed_case(people)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM gridops_caseevent WHERE report_id = %s AND seq = 4", [middle.pk])
        cursor.execute("DELETE FROM gridops_caseevent WHERE report_id = %s AND seq = 7", [tail.pk])
    _checked, problems = record_verify()
    by_case = {p.report_id: p for p in problems}
    assert by_case[middle.pk].seq == 5 and "#4 is missing" in by_case[middle.pk].reason
    assert by_case[tail.pk].seq is None and "removed at the end" in by_case[tail.pk].reason


def test_altered_intake_facts_break_the_first_link(people):
    report = _closed_case(people)
    Report.objects.filter(pk=report.pk).update(description="另一件事")
    _checked, problems = record_verify(reports=[report])
    assert problems[0].seq == 1 and "intake" in problems[0].reason


def test_rows_cannot_be_changed_or_deleted_through_the_model(people):
    row = _closed_case(people).case_events.first()
    row.note = "x"
    with pytest.raises(TypeError):
        row.save()
    with pytest.raises(TypeError):
        row.delete()


def test_the_verify_command_exits_non_zero_and_names_the_row(people, capsys):
    report = _closed_case(people)
    call_command("gridops_verify_record")
    assert "all intact" in capsys.readouterr().out
    CaseEvent.objects.filter(report=report, seq=2).update(at=timezone.now())
    with pytest.raises(CommandError) as failed:
        call_command("gridops_verify_record", "--report", str(report.pk))
    assert failed.value.returncode == 1
    assert f"{report.number} #2" in capsys.readouterr().err


# --- Over HTTP ------------------------------------------------------------------------------------------


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_the_api_takes_steps_with_field_errors_and_403s(people):
    report = _report(people)
    url = f"/api/v1/reports/{report.pk}/transition/"
    assert _client(people.officer).post(url, {"action": "register"}, format="json").status_code == 403
    bad = _client(people.dispatcher).post(url, {"action": "explode"}, format="json")
    assert bad.status_code == 400 and "action" in bad.json()
    done = _client(people.dispatcher).post(url, {"action": "register"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "registered"
    case = done.json()["case"]
    assert [e["action"] for e in case["events"]] == ["register"]
    assert {a["action"] for a in case["allowed_actions"]} >= {"dispatch", "refer"}
    assert done.json()["timeline"][-1]["event"] == "register"

    report = _to(Report.objects.get(pk=report.pk), people, S.HANDLING)
    no_photo = _client(people.officer).post(url, {"action": "handle", "note": "ok"}, format="multipart")
    assert no_photo.status_code == 400 and "photos" in no_photo.json()
    handled = _client(people.officer).post(
        url, {"action": "handle", "note": "已清理", "photos": [_photo()]}, format="multipart"
    )
    assert handled.status_code == 200, handled.content
    assert handled.json()["case"]["events"][-1]["photos"][0]["thumbnail"]
    swapped = _client(people.worker).post(
        url, {"action": "verify_pass", "lon": 29.0, "lat": 121.0}, format="json"
    )
    assert swapped.status_code == 400

    record = _client(people.supervisor).get(f"/api/v1/reports/{report.pk}/record/")
    assert record.status_code == 200 and record.json()["intact"] is True
    assert [e["seq"] for e in record.json()["events"]] == [1, 2, 3, 4, 5]


def test_the_timers_run_on_celery_beat_every_minute(people, settings):
    from config.celery import app
    from gridops.tasks import case_timers_sweep as task

    entry = settings.CELERY_BEAT_SCHEDULE["case-timers-sweep"]
    assert entry["task"] == task.name and entry["schedule"] == 60.0
    assert task.name in app.tasks
    report = step(_report(people), "register", people.dispatcher)
    Report.objects.filter(pk=report.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    assert task.apply().get() == {"warned": 0, "overdue": 1, "escalation_late": 0}


def test_the_handling_limit_counts_working_days_across_the_spring_festival(people, monkeypatch):
    """ZH-001 has 15 working days. Registered on Friday 2026-02-13 at 10:00 (Beijing time), the
    days after it are counted on the 2026 schedule (国办发明电〔2025〕7号):

        02-14 Sat make-up working day .......... 1
        02-15 … 02-23 Spring Festival ......... (rest)
        02-24 Tue 2 · 02-25 3 · 02-26 4 · 02-27 5
        02-28 Sat make-up working day .......... 6
        03-02 Mon 7 · 03-03 8 · 03-04 9 · 03-05 10 · 03-06 11
        03-09 Mon 12 · 03-10 13 · 03-11 14 · 03-12 15  → due 2026-03-12 17:30 (the day's close)
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.workcalendar.schedules import ensure_bundled_schedules
    from workcalendar.calendar import calendar_cache_clear

    ensure_bundled_schedules()  # a transactional test elsewhere may have emptied the table
    calendar_cache_clear()
    shanghai = ZoneInfo("Asia/Shanghai")
    report = _report(people)
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 2, 13, 10, 0, tzinfo=shanghai))
    report = step(report, "register", people.dispatcher)
    assert report.due_at == datetime(2026, 3, 12, 17, 30, tzinfo=shanghai)
