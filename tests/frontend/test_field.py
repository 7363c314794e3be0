"""The officer's phone page /field/: who may open it, what it lists, and in real Chromium on a
phone-sized, geolocated context a dispatch arriving live and being closed out on the phone.

lat 29.04 ┌──────┬──────┬──────┬──────┐
          │ W    │ W    │ E    │ E    │   W = 丹东街道 (一中队 zh-1), E = 石浦镇 (二中队 zh-2)
lat 29.02 ├──────┼──────┼──────┼──────┤
          │ W    │ W  ✕ │ E    │ E  ◆ │   ● 121.005 29.005  the phone (PHONE_FIX)
lat 29.00 └──●───┴──────┴──────┴──────┘   ✕ 121.015 29.015  a case of zh-1, about 1.4 km away
       121.00                       121.04  ◆ 121.035 29.015  a case of zh-2 (never on this phone)
"""

import pytest
from django.contrib.auth.models import Group, User

from geodata.models import Officer
from gridops.models import CaseEvent, Report
from gridops.selectors.field import field_cases, field_officer
from gridops.services.cases import Step, case_transition
from gridops.services.reports import ReportInput, report_submit
from tests.data import images
from tests.frontend.conftest import PHONE_FIX, TINY_COUNTY_SERVICE_AREA, login, screenshot
from tests.gridops.units_factory import tracked_unit

PASSWORD = "test-pass-123"
WEST = (121.015, 29.015)  # zh-1
EAST = (121.035, 29.015)  # zh-2


def _user(username: str, group: str | None, **extra) -> User:
    user = User.objects.create_user(username, password=PASSWORD, **extra)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def _officer(county, username: str, team: str = "W", name: str = "执法队员甲") -> User:
    user = _user(username, "officer", first_name=name)
    Officer.objects.create(team=county.teams[team], user=user, name=name)
    return user


def _case(where, *, description: str = "占道摆摊", priority: int = 0) -> Report:
    report, _ = report_submit(
        data=ReportInput(
            source="grid_worker",
            lon=where[0],
            lat=where[1],
            matter_code="ZH-001",
            description=description,
            address="丹城路 18 号",
            priority=priority,
        )
    )
    return report


def _step(report: Report, action: str, actor, **step) -> Report:
    return case_transition(report=report, action=action, actor=actor, step=Step(**step))


def _dispatched(where, dispatcher, **kwargs) -> Report:
    unit = kwargs.pop("unit", None)
    report = _step(_case(where, **kwargs), "register", dispatcher)
    return _step(report, "dispatch", dispatcher, unit=unit)


@pytest.fixture
def county(db, settings, tmp_path):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    settings.MEDIA_ROOT = tmp_path / "media"
    county = build_tiny_county()
    county.dispatcher = _user("dispatcher", "dispatcher", first_name="值班调度")
    county.officer = _officer(county, "officer")
    return county


def _photo(name: str = "after.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, images.jpeg_bytes(64, 48), content_type="image/jpeg")


# --- who may open it ----------------------------------------------------------------------------


def test_anonymous_visitors_go_to_sign_in(client, db):
    response = client.get("/field/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/field/")
    assert client.get("/field/cases/").status_code == 403


@pytest.mark.parametrize("who", ["grid_worker", "dispatcher", "group_without_roster", "roster_without_group"])
def test_everyone_but_officers_gets_403(client, county, who):
    if who == "group_without_roster":
        user = _user("nobody", "officer")
    elif who == "roster_without_group":
        user = _user("nobody", None)
        Officer.objects.create(team=county.teams["W"], user=user, name="无角色")
    elif who == "dispatcher":
        user = county.dispatcher
    else:
        user = _user("nobody", "grid_worker")
    client.force_login(user)
    assert field_officer(user=user) is None
    page = client.get("/field/")
    assert page.status_code == 403
    data = client.get("/field/cases/")
    assert data.status_code == 403
    assert data.json()["detail"]


def test_the_home_page_lists_the_officers_page(client, db):
    response = client.get("/")
    pages = {p["key"]: p for p in response.context["role_pages"]}
    assert pages["field"]["available"] and pages["field"]["url"] == "/field/"


# --- what it lists ---------------------------------------------------------------------------------


def test_lists_hold_my_teams_dispatches_and_my_own_work_only(county):
    me, dispatcher = county.officer, county.dispatcher
    colleague = _officer(county, "colleague", name="执法队员乙")
    _officer(county, "east", team="E", name="东队员")
    tracked_unit(county.teams["W"], code="zh-1-car-1", name="一中队巡查车")

    waiting = _dispatched(WEST, dispatcher, description="待签收", unit="zh-1-car-1")
    east = _dispatched(EAST, dispatcher, description="二中队的")
    registered = _step(_case(WEST, description="未派遣"), "register", dispatcher)
    mine = _step(_dispatched(WEST, dispatcher, description="我在办"), "accept", me)
    theirs = _step(_dispatched(WEST, dispatcher, description="别人在办"), "accept", colleague)
    handled = _step(_dispatched(WEST, dispatcher, description="我已处置"), "accept", me)
    handled = _step(handled, "start", me)
    handled = _step(handled, "handle", me, note="已处置", photos=(_photo(),))
    escalated = _step(_dispatched(WEST, dispatcher, description="已提请县级"), "accept", me)
    escalated = _step(escalated, "escalate", me, note="需专业队伍", team="market")

    officer = field_officer(user=me)
    listed = {r.pk for r in field_cases(officer=officer)}
    assert listed == {waiting.pk, mine.pk, handled.pk}
    assert not listed & {east.pk, registered.pk, theirs.pk, escalated.pk}

    # The colleague sees the same dispatch waiting, their own case, not mine.
    assert {r.pk for r in field_cases(officer=field_officer(user=colleague))} == {waiting.pk, theirs.pk}


def test_page_state_for_an_officer(client, county):
    dispatcher = county.dispatcher
    tracked_unit(county.teams["W"], code="zh-1-car-1", name="一中队巡查车")
    waiting = _dispatched(WEST, dispatcher, unit="zh-1-car-1", priority=1)
    _dispatched(EAST, dispatcher)
    client.force_login(county.officer)
    response = client.get("/field/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="field-state"' in html and "onclick" not in html
    assert "综合行政执法一中队" in html  # the header names the team
    state = response.context["page_state"]
    assert state["live"]["stream"] == "team:zh-1"
    assert state["team"]["code"] == "zh-1"
    assert state["user"] == {"id": county.officer.pk, "username": "officer", "name": "执法队员甲"}
    assert state["casesUrl"] == "/field/cases/"
    assert state["minPhotos"] >= 1
    assert {t["code"] for t in state["countyTeams"]} == {"market", "fishery"}
    (row,) = state["cases"]
    assert row["id"] == waiting.pk and row["status"] == "dispatched" and row["priority"] == 1
    assert row["assigned_unit"]["name"] == "一中队巡查车"
    assert row["handler_id"] is None
    assert row["point"]["coordinates"] == list(WEST)
    assert row["address"] == "丹城路 18 号" and row["reasons"]
    # Every string the JS shows comes translated from the view.
    assert state["i18n"]["tabs"] == {"waiting": "待签收", "inHand": "办理中", "toVerify": "待核查"}

    data = client.get("/field/cases/")
    assert data.status_code == 200 and data["Cache-Control"] == "no-store"
    assert [r["id"] for r in data.json()["cases"]] == [waiting.pk]


# --- the browser ------------------------------------------------------------------------------------


def browser_failures(errors):
    """Console errors other than Chromium's own notes of failed loads (the server stopped on purpose)."""
    noise = ("Failed to load resource", "ERR_CONNECTION_REFUSED", "WebSocket connection")
    return [e for e in errors if not any(n in e for n in noise)]


@pytest.fixture
def field_phone(asgi_server, phone, settings, tmp_path):
    """The tiny county, an officer of zh-1 signed in on the phone at /field/, the link live."""
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    settings.MEDIA_ROOT = tmp_path / "media"
    county = build_tiny_county()
    county.dispatcher = _user("dispatcher", "dispatcher", first_name="值班调度")
    county.officer = _officer(county, "officer")
    tracked_unit(county.teams["W"], code="zh-1-car-1", name="一中队巡查车")
    # Record vibrations instead of shaking a phone.
    phone.add_init_script(
        "window.__vibrations = []; navigator.vibrate = (p) => { window.__vibrations.push(p); return true; };"
    )
    login(phone, asgi_server.url, "officer", PASSWORD, next_path="/field/")
    phone.wait_for_selector("#live-status[data-state='live']")
    phone.wait_for_selector("#geo-line[data-state='located']")
    return county


@pytest.mark.browser
@pytest.mark.slow
def test_a_dispatch_arrives_live_and_is_handled_on_the_phone(field_phone, phone, page_log, tmp_path):
    county = field_phone
    assert phone.inner_text("#officer-team") == "综合行政执法一中队"
    assert phone.inner_text("#waiting-count") == "0"
    phone.wait_for_selector(".case-list[data-list='waiting'] .case-empty")
    phone.click("#tab-waiting")  # the officer has touched the page: the phone may vibrate now

    east = _dispatched(EAST, county.dispatcher, description="二中队的案件")
    report = _dispatched(WEST, county.dispatcher, description="人行道上摆摊", unit="zh-1-car-1")
    item = f".case-list[data-list='waiting'] [data-report-id='{report.pk}']"
    phone.wait_for_selector(item)
    # The toast names it, the phone vibrated, the header counts it; it stands out (sent to a unit).
    phone.wait_for_selector(f"#toast:not([hidden]) [data-report-id='{report.pk}']")
    assert report.number in phone.inner_text("#toast")
    assert phone.evaluate("window.__vibrations.length") == 1
    assert phone.inner_text("#waiting-count") == "1"
    assert "is-unit" in phone.get_attribute(item, "class")
    text = phone.inner_text(item)
    assert "占道经营" in text and "派给 一中队巡查车" in text and "丹东街道" in text
    assert "剩" in text  # time left to the deadline
    # Distance from the phone's fix: about 1.4 km.
    metres = int(phone.get_attribute(f"{item} .case-distance", "data-metres"))
    assert 1300 < metres < 1500 and "公里" in text
    phone.wait_for_selector(f"{item} .case-place:has-text('丹城路 18 号')")  # filled in from the detail
    # The other team's case never shows.
    assert phone.query_selector(f"[data-report-id='{east.pk}']") is None
    phone.wait_for_selector("#toast", state="hidden", timeout=12_000)
    screenshot(phone, "field-phone-list")

    # The card: navigation at the case's point, a map with me and the case, the reasons, the steps.
    phone.click(f"{item} .case-open")
    phone.wait_for_selector("#case-sheet[data-status='dispatched'] [data-action='accept']")
    assert (
        phone.get_attribute("[data-nav='geo']", "href") == "geo:29.015000,121.015000?q=29.015000,121.015000"
    )
    amap = phone.get_attribute("[data-nav='amap']", "href")
    assert amap.startswith("https://uri.amap.com/marker?position=121.015000,29.015000&")
    assert "coordinate=wgs84" in amap
    phone.wait_for_selector("#sheet-map[data-state='ready'][data-me='on']")
    assert "人行道上摆摊" in phone.inner_text("#case-sheet .sheet-facts")
    assert phone.query_selector_all("#case-sheet .sheet-reasons li")
    assert phone.query_selector("#case-sheet .sheet-timeline [data-event='dispatch']")
    screenshot(phone, "field-phone-card")

    phone.click("#case-sheet [data-action='accept']")
    phone.wait_for_selector("#case-sheet[data-status='accepted'] [data-action='start']")
    assert "已签收" in phone.inner_text("#case-sheet .step-message")
    phone.click("#case-sheet [data-action='start']")
    phone.wait_for_selector("#case-sheet[data-status='handling'] [data-action='handle']")
    start = CaseEvent.objects.get(report=report, action="start")
    assert start.actor == county.officer
    assert start.point.coords == pytest.approx((PHONE_FIX["longitude"], PHONE_FIX["latitude"]))

    phone.click("#case-sheet [data-action='handle']")
    form = "#case-sheet form[data-step='handle']"
    phone.wait_for_selector(form)
    assert phone.get_attribute(f"{form} input[type=file]", "capture") == "environment"
    # Too few photos: said on the phone, nothing sent.
    phone.fill(f"{form} textarea[name='note']", "已劝离，路面恢复")
    phone.click(f"{form} .step-confirm")
    phone.wait_for_selector("#case-sheet .step-message[data-state='refused']")
    assert "至少 1 张" in phone.inner_text("#case-sheet .step-message")
    photo = tmp_path / "after.jpg"
    photo.write_bytes(images.jpeg_bytes(64, 48))
    phone.set_input_files(f"{form} input[type=file]", str(photo))
    phone.wait_for_selector(f"{form} .photo-preview img")
    phone.click(f"{form} .step-confirm")
    phone.wait_for_selector("#case-sheet[data-status='handled']")
    phone.wait_for_selector("#case-sheet .sheet-timeline [data-event='handle'] .sheet-photos img")
    screenshot(phone, "field-phone-handled")

    report.refresh_from_db()
    assert report.status == Report.Status.HANDLED and report.handler == county.officer
    handle = CaseEvent.objects.get(report=report, action="handle")
    assert handle.note == "已劝离，路面恢复" and handle.photos.count() == 1

    # Back to the lists: the case waits for verification, under 待核查.
    phone.click("#sheet-back")
    phone.wait_for_selector("#case-sheet", state="hidden")
    phone.wait_for_selector(f".case-list[data-list='toVerify'] [data-report-id='{report.pk}']")
    assert phone.get_attribute("#tab-toVerify", "aria-selected") == "true"
    assert phone.inner_text("#waiting-count") == "0"
    assert page_log.errors == []
    assert page_log.external_requests == []


@pytest.mark.browser
@pytest.mark.slow
def test_a_refused_step_shows_why_and_a_lost_step_is_sent_again(field_phone, phone, page_log, asgi_server):
    county = field_phone
    report = _step(_dispatched(WEST, county.dispatcher), "accept", county.officer)
    item = f".case-list[data-list='inHand'] [data-report-id='{report.pk}']"
    phone.wait_for_selector(item, state="attached")  # arrived live (the accept's event)
    phone.click("#tab-inHand")
    phone.click(f"{item} .case-open")
    phone.wait_for_selector("#case-sheet[data-status='accepted'] [data-action='request_extension']")

    phone.click("#case-sheet [data-action='request_extension']")
    form = "#case-sheet form[data-step='request_extension']"
    phone.fill(f"{form} input[name='days']", "99")
    phone.fill(f"{form} textarea[name='note']", "当事人外出，需再约")
    phone.click(f"{form} .step-confirm")
    phone.wait_for_selector("#case-sheet .step-message[data-state='refused']")
    assert "延期天数应在 1 到" in phone.inner_text("#case-sheet .step-message")

    # The server goes away: the page says the link is down; the step fails and can be sent again.
    asgi_server.stop()
    phone.wait_for_selector("#link-banner:not([hidden])")
    assert "连接已中断" in phone.inner_text("#link-banner")
    phone.wait_for_selector("#sheet-link:not([hidden])")  # said on the case sheet, too
    phone.fill(f"{form} input[name='days']", "3")
    phone.click(f"{form} .step-confirm")
    phone.wait_for_selector("#case-sheet .step-message[data-state='failed'] .step-retry")
    assert "发送失败" in phone.inner_text("#case-sheet .step-message")
    report.refresh_from_db()
    assert report.extension_request == {}
    screenshot(phone, "field-phone-failed")

    asgi_server.start()
    phone.click("#case-sheet .step-retry")
    phone.wait_for_selector("#case-sheet .step-message[data-state='done']")
    report.refresh_from_db()
    assert report.extension_request["days"] == 3
    phone.wait_for_selector("#live-status[data-state='live']", timeout=30_000)
    phone.wait_for_selector("#link-banner", state="hidden")
    phone.wait_for_selector("#sheet-link", state="hidden")
    assert browser_failures(page_log.errors) == []


@pytest.mark.browser
@pytest.mark.slow
def test_most_urgent_first_and_overdue_in_red(asgi_server, phone, page_log, settings, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    county = build_tiny_county()
    dispatcher = _user("dispatcher", "dispatcher")
    _officer(county, "officer")
    normal = _dispatched(WEST, dispatcher, description="普通")
    overdue = _dispatched(WEST, dispatcher, description="超期")
    Report.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(hours=3))
    urgent = _dispatched(WEST, dispatcher, description="紧急", priority=1)

    login(phone, asgi_server.url, "officer", PASSWORD, next_path="/field/")
    phone.wait_for_selector("#live-status[data-state='live']")
    order = phone.eval_on_selector_all(
        ".case-list[data-list='waiting'] [data-report-id]",
        "items => items.map(i => Number(i.dataset.reportId))",
    )
    assert order == [urgent.pk, overdue.pk, normal.pk]
    late = f"[data-report-id='{overdue.pk}']"
    assert "is-overdue" in phone.get_attribute(late, "class")
    assert phone.inner_text(f"{late} .case-clock").startswith("超时 3小时")
    red = phone.eval_on_selector(f"{late} .case-clock", "e => getComputedStyle(e).backgroundColor")
    assert red == "rgb(220, 38, 38)"
    assert "紧急" in phone.inner_text(f"[data-report-id='{urgent.pk}']")
    assert phone.inner_text("#waiting-count") == "3"
    assert page_log.errors == []
