"""A hand-built week of cases for the indicator tests (tests/gridops/test_indicators.py and the
dashboard's browser test).

Each case walks the closed loop through `case_transition` (so statuses, teams, escalation,
referral, rework and extension counts are what the service makes of them), then its stage times are
set to exact values with `queryset.update()`. The period under test is the week of Monday
2026-03-02 to Sunday 2026-03-08 (Asia/Shanghai).

    W = 丹东街道 (330225001), team zh-1 (一中队, township)      E = 石浦镇 (330225101), team zh-2 (二中队)
    market = 县市场监管执法队 (county)

    case township team    received     registered   arrived      closed       due          notes
    A    W        zh-1    03-02 08:00  03-02 08:30  03-02 09:00  03-03 08:30  03-05 17:30  on time
    B    W        zh-1    03-03 10:00  03-03 10:10  03-03 11:10  03-05 10:10  03-04 10:10  late, 1 rework
    C    E        zh-2    03-04 09:00  03-04 09:20  03-04 09:50  —            2099         handled, extended
    D    W        market  03-05 08:00  03-05 12:00  03-05 14:00  03-06 12:00  03-10 12:00  escalated from zh-1
    E    E        zh-2    03-06 08:00  —            —            —            —            not registered
    F    W        zh-1    03-07 09:00  03-07 09:05  —            —            03-07 10:00  dispatched, overdue
    I    W        zh-1    03-08 23:59  —            —            —            (response)   new, overdue (2 h)
    L    E        zh-2    03-03 14:00  03-03 14:30  —            —            —            referred to police
    outside the period:
    G    W        zh-1    02-20 09:00  02-20 09:10  02-20 10:00  02-21 09:10  02-25        closed
    H    E        zh-2    02-25 09:00  02-25 09:10  —            —            02-27 09:10  registered, overdue
    J    E        zh-2    03-09 00:00  —            —            —            —            not registered
    K    E        zh-2    03-01 23:59  —            —            —            —            not registered
"""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group

from geodata.models import Officer
from gridops.models import Report
from gridops.services.cases import Step, case_transition
from gridops.services.reports import ReportInput, report_submit

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = (date(2026, 3, 2), date(2026, 3, 8))
WEST = (121.005, 29.005)  # cell (0, 0): 丹东街道, zh-1
EAST = (121.035, 29.035)  # cell (3, 3): 石浦镇, zh-2
HERE = {"lon": 121.0051, "lat": 29.0052}
PASSWORD = "pw-123456"


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def user(django_user_model, username: str, *groups: str, **extra):
    person = django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)
    for name in groups:
        person.groups.add(Group.objects.get_or_create(name=name)[0])
    return person


@dataclass
class Week:
    cases: dict[str, Report]
    dispatcher: object
    supervisor: object
    worker: object
    officer: object


def build_week(django_user_model, county, settings) -> Week:
    """The cases of the table above, in the tiny county (tests/factories.py)."""
    settings.CASE_HANDLED_MIN_PHOTOS = 0  # photos are the photo tests' business
    dispatcher = user(django_user_model, "dispatcher", "dispatcher", first_name="调度员")
    supervisor = user(django_user_model, "supervisor", "supervisor", first_name="督查员")
    worker = user(django_user_model, "worker", "grid_worker")
    west = user(django_user_model, "officer", "officer")
    east = user(django_user_model, "east", "officer")
    market = user(django_user_model, "market", "officer")
    Officer.objects.create(team=county.teams["W"], user=west, name="队员甲")
    Officer.objects.create(team=county.teams["E"], user=east, name="队员乙")
    Officer.objects.create(team=county.teams["market"], user=market, name="市监丙")

    def new(point, matter="ZH-001") -> Report:
        report, _created = report_submit(
            data=ReportInput(source="grid_worker", lon=point[0], lat=point[1], matter_code=matter),
            reporter=worker,
        )
        return report

    def walk(report, *steps) -> Report:
        for action, actor, kwargs in steps:
            report = case_transition(report=report, action=action, actor=actor, step=Step(**kwargs))
        return report

    def to_handled(report, officer) -> Report:
        return walk(
            report,
            ("register", dispatcher, {}),
            ("dispatch", dispatcher, {}),
            ("accept", officer, {}),
            ("start", officer, {}),
            ("handle", officer, {"note": "已处置"}),
        )

    def close(report, here) -> Report:
        return walk(report, ("verify_pass", worker, here), ("close", dispatcher, {}))

    cases = {}
    cases["A"] = close(to_handled(new(WEST), west), HERE)
    b = to_handled(new(WEST), west)
    b = walk(b, ("verify_fail", worker, {**HERE, "note": "仍有摊点"}), ("handle", west, {"note": "再次清理"}))
    cases["B"] = close(b, HERE)
    # An extension is asked and approved while the case is in hand, before it is handled.
    c = walk(
        new(EAST),
        ("register", dispatcher, {}),
        ("request_extension", dispatcher, {"note": "需检测", "days": 2}),
        ("approve_extension", supervisor, {}),
        ("dispatch", dispatcher, {}),
        ("accept", east, {}),
        ("start", east, {}),
        ("handle", east, {"note": "已处置"}),
    )
    cases["C"] = c
    # 擅自占用城市道路摆卖商品: delegated to the township team, escalated to the market team.
    d = walk(
        new(WEST, matter="SC-101"),
        ("register", dispatcher, {}),
        ("escalate", west, {"note": "涉及食品安全", "team": "market"}),
        ("report_in", market, {}),
        ("dispatch", dispatcher, {}),
        ("accept", market, {}),
        ("start", market, {}),
        ("handle", market, {"note": "已查处"}),
    )
    cases["D"] = close(d, HERE)
    cases["E"] = walk(new(EAST), ("not_register", dispatcher, {"note": "重复上报"}))
    cases["F"] = walk(new(WEST), ("register", dispatcher, {}), ("dispatch", dispatcher, {}))
    cases["I"] = new(WEST)
    cases["L"] = walk(
        new(EAST),
        ("register", dispatcher, {}),
        ("refer", dispatcher, {"note": "暴力抗法", "to_kind": "police", "to_name": "石浦派出所"}),
    )
    cases["G"] = close(to_handled(new(WEST), west), HERE)
    cases["H"] = walk(new(EAST), ("register", dispatcher, {}))
    cases["J"] = walk(new(EAST), ("not_register", dispatcher, {"note": "不属于执法事项"}))
    cases["K"] = walk(new(EAST), ("not_register", dispatcher, {"note": "不属于执法事项"}))

    times = {
        "A": dict(
            received_at=at(3, 2, 8), registered_at=at(3, 2, 8, 30), arrived_at=at(3, 2, 9),
            closed_at=at(3, 3, 8, 30), due_at=at(3, 5, 17, 30),
        ),
        "B": dict(
            received_at=at(3, 3, 10), registered_at=at(3, 3, 10, 10), arrived_at=at(3, 3, 11, 10),
            closed_at=at(3, 5, 10, 10), due_at=at(3, 4, 10, 10),
        ),
        "C": dict(
            received_at=at(3, 4, 9), registered_at=at(3, 4, 9, 20), arrived_at=at(3, 4, 9, 50),
            closed_at=None, due_at=at(1, 1, year=2099),
        ),
        "D": dict(
            received_at=at(3, 5, 8), registered_at=at(3, 5, 12), arrived_at=at(3, 5, 14),
            closed_at=at(3, 6, 12), due_at=at(3, 10, 12), escalation_due_at=None,
        ),
        "E": dict(received_at=at(3, 6, 8)),
        "F": dict(received_at=at(3, 7, 9), registered_at=at(3, 7, 9, 5), due_at=at(3, 7, 10)),
        "I": dict(received_at=at(3, 8, 23, 59)),
        "L": dict(received_at=at(3, 3, 14), registered_at=at(3, 3, 14, 30), closed_at=at(3, 3, 15)),
        "G": dict(
            received_at=at(2, 20, 9), registered_at=at(2, 20, 9, 10), arrived_at=at(2, 20, 10),
            closed_at=at(2, 21, 9, 10), due_at=at(2, 25),
        ),
        "H": dict(received_at=at(2, 25, 9), registered_at=at(2, 25, 9, 10), due_at=at(2, 27, 9, 10)),
        "J": dict(received_at=at(3, 9, 0, 0)),
        "K": dict(received_at=at(3, 1, 23, 59)),
    }  # fmt: skip
    for key, values in times.items():
        Report.objects.filter(pk=cases[key].pk).update(**values)
        cases[key].refresh_from_db()
    return Week(cases=cases, dispatcher=dispatcher, supervisor=supervisor, worker=worker, officer=west)
