"""Demo devices and the live simulator.

The simulator test runs it against a real server (pytest-django's live_server) on the tiny county
for a few seconds: everything it does goes through HTTP, and the rows it leaves behind prove it.
The desk test runs it until a case has gone round the closed loop, with demo-like users: the
officer is an Officer of 一中队 (zh-1, the west half), nobody of 二中队 (zh-2, the east half).

    29.04 ┌────┬────┬────┬────┐
          │ zh-1    │ zh-2    │   zh-1 cases: registered … closed by dispatcher, officer, supervisor
    29.00 └────┴────┴────┴────┘   zh-2 cases: stop at dispatched (no officer there to accept)
       121.00  .01  .02  .03  .04
"""

import json
import stat
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, reverse

from geodata.models import Officer, Team
from gridops.models import Camera, CaseEvent, Device, Ping, Report, Unit
from gridops.record import record_verify
from gridops.services.demo_devices import (
    demo_credentials_read,
    demo_credentials_write,
    demo_devices_ensure,
    demo_known_keys,
)
from gridops.simulate import Desk, Move, SimConfig, Simulator, _distance_m, _multipart, totals_line


def _ensure(path, cameras=4):
    known = demo_known_keys(demo_credentials_read(path=path))
    credentials = demo_devices_ensure(known_keys=known, cameras=cameras, seed=1)
    demo_credentials_write(credentials=credentials, path=path)
    return credentials


@pytest.mark.django_db
def test_demo_devices_are_idempotent(tiny_county, tmp_path):
    path = tmp_path / "demo-devices.json"
    first = _ensure(path)
    assert first.issued == 4 + 2 * 2 + 2  # cameras, 2 vehicles per team, officers on foot (2 teams here)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    devices = Device.objects.count()
    second = _ensure(path)
    assert second.issued == 0  # every key in the file still opens its device
    assert Device.objects.count() == devices == 10
    assert Camera.objects.count() == 4 and Unit.objects.count() == 6
    assert json.loads(path.read_text())["units"] == [{k: v for k, v in u.items()} for u in second.units]
    camera = Camera.objects.select_related("device").first()
    assert camera.field_of_view.contains(camera.field_of_view.centroid)
    assert camera.device.kind == Device.Kind.CAMERA and camera.township is not None
    assert set(Unit.objects.values_list("team__code", flat=True)) == {"zh-1", "zh-2"}

    # A lost file: devices stay one per code, and each gets a new key.
    path.unlink()
    third = _ensure(path)
    assert third.issued == 10 and Device.objects.count() == 10
    assert third.units[0]["key"] != second.units[0]["key"]


def _endpoint_missing() -> str | None:
    for name in ("api:report-list", "api:camera-alert", "api:pings"):
        try:
            reverse(name)
        except NoReverseMatch:
            return f"{name} is not routed yet (another helper's endpoint)"
    return None


@pytest.mark.slow
def test_simulator_drives_traffic_over_http(live_server, transactional_db, tmp_path):
    missing = _endpoint_missing()
    if missing:
        pytest.skip(missing)
    from tests.factories import build_tiny_county

    build_tiny_county()
    worker = get_user_model().objects.create_user(username="gridworker", password="x")
    worker.groups.add(Group.objects.get_or_create(name="grid_worker")[0])
    path = tmp_path / "demo-devices.json"
    _ensure(path)
    lines: list[str] = []
    config = SimConfig(
        base_url=live_server.url,
        credentials=path,
        rate=4.0,
        duration=6.0,
        speedup=10.0,
        seed=7,
        totals_every=2.0,
        start_timeout=30.0,
        alert_types=("street_vending",),
    )
    totals = Simulator(config, out=lines.append).run()

    assert totals.get("reports_created", 0) > 0, lines
    assert totals.get("pings_accepted", 0) > 0, lines
    assert totals.get("connection_errors", 0) == 0
    assert totals.get("reports_failed", 0) == 0, lines
    assert Report.objects.filter(source=Report.Source.GRID_WORKER).count() == totals["reports_created"]
    assert Ping.objects.count() == totals["pings_accepted"]
    assert lines[0].startswith("[sim]") and len(lines) >= 3
    # reports landed on cells of the tiny county and were routed to its comprehensive teams
    assert set(Report.objects.filter(source="grid_worker").values_list("team__code", flat=True)) <= {
        "zh-1",
        "zh-2",
    }


# Who takes which step in the demo (docs/CASES.md): the desk must act as exactly these people.
STEP_USERS = {
    "register": "dispatcher",
    "not_register": "dispatcher",
    "dispatch": "dispatcher",
    "escalate": "dispatcher",
    "report_in": "dispatcher",
    "close": "dispatcher",
    "accept": "officer",
    "start": "officer",
    "handle": "officer",
    "request_extension": "officer",
    "verify_pass": "supervisor",
    "verify_fail": "supervisor",
    "approve_extension": "supervisor",
    "refuse_extension": "supervisor",
}
MAIN_PATH = ["register", "dispatch", "accept", "start", "handle", "verify_pass", "close"]


def _demo_users(tiny_county_teams: dict[str, Team]) -> None:
    User = get_user_model()
    for username, group in (
        ("dispatcher", "dispatcher"),
        ("supervisor", "supervisor"),
        ("officer", "officer"),
        ("gridworker", "grid_worker"),
    ):
        user = User.objects.create_user(username=username, password="x", first_name=f"演示{username}")
        user.groups.add(Group.objects.get_or_create(name=group)[0])
        if username == "officer":
            Officer.objects.create(team=tiny_county_teams["W"], user=user, name="城区队员")


def _run_until(sim: Simulator, done, *, give_up: float) -> dict[str, int]:
    """Run the simulator in a thread until `done()` holds (or `give_up` seconds pass); its totals."""
    result: dict[str, dict] = {}
    thread = threading.Thread(target=lambda: result.setdefault("totals", sim.run()), daemon=True)
    thread.start()
    deadline = time.monotonic() + give_up
    while thread.is_alive() and time.monotonic() < deadline and not done():
        time.sleep(0.5)
    sim.stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive()
    return result["totals"]


@pytest.mark.slow
def test_the_desk_takes_cases_round_the_loop_as_the_right_people(
    live_server, transactional_db, tmp_path, settings
):
    missing = _endpoint_missing()
    if missing:
        pytest.skip(missing)
    from tests.factories import build_tiny_county

    settings.MEDIA_ROOT = tmp_path / "media"
    county = build_tiny_county()
    _demo_users(county.teams)
    path = tmp_path / "demo-devices.json"
    credentials = _ensure(path, cameras=0)
    assert {"dispatcher", "officer", "supervisor"} <= set(credentials.tokens)
    lines: list[str] = []
    config = SimConfig(
        base_url=live_server.url,
        credentials=path,
        rate=0.5,
        desk_rate=2.0,
        duration=0,
        speedup=5.0,
        seed=3,
        totals_every=5.0,
        start_timeout=30.0,
    )
    sim = Simulator(config, out=lines.append)
    closed = Report.objects.filter(status=Report.Status.CLOSED)
    totals = _run_until(sim, closed.exists, give_up=240)

    assert closed.exists(), lines
    assert totals.get("cases_closed", 0) >= 1, lines
    assert totals.get("case_refused", 0) == 0 and totals.get("case_failed", 0) == 0, lines
    assert totals.get("connection_errors", 0) == 0, lines
    # Every step the desk counted is a step in a record, and every step in a record was a person's.
    events = CaseEvent.objects.select_related("actor", "report__team")
    people_steps = events.exclude(actor=None)
    assert people_steps.count() == totals["case_steps"], lines
    for event in people_steps:
        assert event.actor.username == STEP_USERS[event.action], (event.action, event.actor.username)
    # Only the officer's team goes past dispatched: nobody accepts for 二中队.
    assert not events.filter(action="accept").exclude(report__team__code="zh-1").exists()

    checked, problems = record_verify(reports=closed)
    assert checked == closed.count() and problems == []
    for case in closed:
        steps = list(case.case_events.order_by("seq"))
        actions = [e.action for e in steps]
        walk = iter(actions)
        assert all(a in walk for a in MAIN_PATH), actions  # the main path, in order (返工 may repeat)
        by_action = {e.action: e for e in steps}  # the last of each
        assert by_action["handle"].note and by_action["handle"].photos.count() >= 1
        unit = by_action["dispatch"].data.get("unit")
        assert unit and Unit.objects.get(code=unit["code"]).team.code == case.team.code == "zh-1"
        verified = by_action["verify_pass"].point
        assert (
            verified is not None and _distance_m((verified.x, verified.y), (case.point.x, case.point.y)) < 50
        )
        assert by_action["start"].point is not None
        assert case.handler.username == "officer"

    # A step the server refuses is counted and logged, never raised, and writes nothing.
    before = CaseEvent.objects.count()
    other = Simulator(config, out=lines.append)
    desk = Desk(other, credentials.tokens)
    case = closed.first()
    detail = {"id": case.pk, "number": case.number, "status": case.status}
    assert desk.transition(detail, Move("close"), desk.headers["officer"]) is False
    assert desk.transition(detail, Move("verify_pass"), desk.headers["supervisor"]) is False
    assert other.totals.snapshot() == {"case_refused": 2}
    assert CaseEvent.objects.count() == before
    desk.client.close()


def test_the_desk_only_takes_steps_the_server_allows():
    """The choice is read from `case.allowed_actions`: nothing allowed, nothing done."""
    sim = Simulator(SimConfig(seed=1), out=lambda line: None)
    desk = Desk(sim, {"dispatcher": "d", "officer": "o", "supervisor": "s"})
    detail = {"id": 1, "status": "handled", "point": {"coordinates": [121.005, 29.005]}, "case": {}}
    duties = {d.name: d for d in desk.duties}
    assert all(desk.choose(d, detail) is None for d in duties.values())
    detail["case"]["allowed_actions"] = [{"action": "verify_pass"}, {"action": "verify_fail"}]
    moves = [desk.choose(duties["verify"], detail) for _ in range(200)]
    assert {m.action for m in moves} == {"verify_pass", "verify_fail"}
    assert all(m.fields["lon"] and m.fields["lat"] for m in moves)
    assert all(m.fields.get("note") for m in moves if m.action == "verify_fail")
    # The officer's step with photos goes as multipart.
    detail = {"id": 2, "status": "handling", "team": {"code": "zh-1"}, "case": {}}
    detail["case"]["allowed_actions"] = [{"action": "handle"}]
    move = desk.choose(duties["work"], detail)
    assert move.action == "handle" and move.fields["note"]
    body, content_type = _multipart({"action": move.action, **move.fields}, move.files)
    assert content_type.startswith("multipart/form-data; boundary=")
    assert b'name="photos"; filename="after.jpg"' in body and move.files[0][2][:3] == b"\xff\xd8\xff"
    assert move.fields["note"].encode() in body


def test_simulator_waits_for_a_server_that_is_not_up(tmp_path):
    """Planning retries with backoff; with a start timeout it gives up with a clear error."""
    config = SimConfig(base_url="http://127.0.0.1:9", credentials=tmp_path / "none.json", start_timeout=1.0)
    with pytest.raises(RuntimeError, match="not ready"):
        Simulator(config, out=lambda line: None).run()


def test_totals_line_reads_well():
    line = totals_line({"reports_created": 3, "pings_accepted": 12, "case_steps": 9, "cases_closed": 1}, 10.0)
    assert "reports 3 new" in line and "pings 12 accepted" in line
    assert "cases 9 steps (1 closed), 0 refused" in line
