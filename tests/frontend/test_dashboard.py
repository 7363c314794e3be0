"""The indicators page (/dashboard/) in Chromium, on the hand-built week of
tests/gridops/indicators_factory.py (its expected figures are worked out in
tests/gridops/test_indicators.py): the cards show them, switching scope and period updates them,
the charts draw, and the 周例会 button downloads a workbook holding the same numbers.
"""

from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.frontend.conftest import login, screenshot
from tests.gridops.indicators_factory import PASSWORD, build_week, user

WALL = {"width": 1600, "height": 1000}
WEEK_QUERY = "?start=2026-03-02&end=2026-03-08"


@pytest.fixture
def week(asgi_server, django_user_model, settings):
    from tests.factories import build_tiny_county

    return build_week(django_user_model, build_tiny_county(), settings)


def card(page, code: str) -> str:
    return page.locator(f".card[data-indicator='{code}'] .card-value").inner_text()


def count(page, code: str) -> str:
    return page.locator(f".count[data-count='{code}'] .count-value").inner_text()


def wait_loaded(page, loaded: str) -> None:
    page.wait_for_selector(f"#dashboard[data-state='ready'][data-loaded='{loaded}']")


@pytest.mark.browser
@pytest.mark.slow
def test_the_dashboard_shows_the_week_and_follows_scope_and_period(asgi_server, week, page, page_log):
    page.set_viewport_size(WALL)
    login(page, asgi_server.url, "supervisor", PASSWORD, next_path="/dashboard/")
    page.goto(f"{asgi_server.url}/dashboard/{WEEK_QUERY}")
    wait_loaded(page, "2026-03-02/2026-03-08//day")

    # The county (hand-worked in test_indicators.py)
    assert card(page, "closure_rate") == "50.0%"  # 3 ÷ 6
    assert card(page, "on_time_rate") == "66.7%"  # 2 ÷ 3
    assert card(page, "rework_rate") == "33.3%"  # 1 ÷ 3
    assert card(page, "extension_rate") == "16.7%"  # 1 ÷ 6
    assert card(page, "avg_handling_hours") == "32 小时"  # 96 ÷ 3
    assert card(page, "avg_response_minutes") == "135 分钟"  # 540 ÷ 4
    assert card(page, "township_share") == "66.7%"  # 2 ÷ 3
    share = page.locator(".card[data-indicator='township_share']")
    assert share.get_attribute("title").startswith("2 / 3")  # numerator / denominator on hover
    assert share.get_attribute("data-meets-target") == "false"
    assert "目标 80.0%" in share.locator(".card-target").inner_text()
    assert page.locator(".card[data-indicator='closure_rate'] .card-fraction").inner_text() == "3 / 6"
    assert (count(page, "received"), count(page, "registered"), count(page, "overdue_now")) == ("8", "6", "3")
    assert page.locator("#team-table tbody tr").count() == 3
    assert (
        page.locator("#township-table tbody tr[data-code='330225001'] td[data-count='received']").inner_text()
        == "5"
    )

    # Every chart drew on its canvas (some pixels are not blank).
    for chart_id in ("chart-series", "chart-team-counts", "chart-team-rates", "chart-township-share"):
        drawn = page.evaluate(
            """(id) => {
                const canvas = document.querySelector(`#${id} canvas`);
                if (!canvas || !canvas.width) return 0;
                const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let painted = 0;
                for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
                return painted;
            }""",
            chart_id,
        )
        assert drawn > 500, chart_id
    screenshot(page, "dashboard")

    # Scope: the team 一中队 (A B F I)
    page.select_option("#scope", "team:zh-1")
    wait_loaded(page, "2026-03-02/2026-03-08/team:zh-1/day")
    assert card(page, "closure_rate") == "66.7%"  # 2 ÷ 3
    assert card(page, "on_time_rate") == "50.0%"
    assert card(page, "township_share") == "100.0%"
    assert page.locator(".card[data-indicator='township_share']").get_attribute("data-meets-target") == "true"
    assert "team=zh-1" in page.url

    # Scope: 石浦镇 — nothing closed there: empty denominators show a dash, not 0%
    page.select_option("#scope", "township:330225101")
    wait_loaded(page, "2026-03-02/2026-03-08/township:330225101/day")
    assert card(page, "on_time_rate") == "—" and card(page, "closure_rate") == "0.0%"

    # Period: today (nothing of the week), and back to the county
    page.select_option("#scope", "")
    page.click(".period-button[data-period='today']")
    page.wait_for_function(
        "() => document.querySelector('#dashboard').dataset.loaded.endsWith('//day')"
        " && !document.querySelector('#dashboard').dataset.loaded.startsWith('2026-03-02')"
    )
    page.wait_for_selector("#dashboard[data-state='ready']")
    assert count(page, "received") == "0" and card(page, "closure_rate") == "—"
    assert count(page, "overdue_now") == "3"  # the backlog is not limited to the period
    assert page.locator(".period-button[data-period='today']").get_attribute("aria-pressed") == "true"

    # A custom period the other way round is refused at the form, with a message
    page.fill("#period-start", "2026-03-08")
    page.fill("#period-end", "2026-03-02")
    page.dispatch_event("#period-end", "change")
    assert page.locator("#form-message").inner_text() == "结束日期不能早于开始日期。"

    assert page_log.errors == []
    assert page_log.external_requests == []


@pytest.mark.browser
@pytest.mark.slow
def test_the_weekly_review_button_downloads_the_workbook(asgi_server, week, page, page_log):
    page.set_viewport_size(WALL)
    login(page, asgi_server.url, "dispatcher", PASSWORD, next_path="/dashboard/")
    page.goto(f"{asgi_server.url}/dashboard/{WEEK_QUERY}&team=zh-1")
    wait_loaded(page, "2026-03-02/2026-03-08/team:zh-1/day")
    with page.expect_download() as info:
        page.click("#export-weekly")
    download = info.value
    assert download.suggested_filename == "周例会_2026-03-02_2026-03-08.xlsx"
    book = load_workbook(BytesIO(open(download.path(), "rb").read()))
    rows = {row[0]: row[1:] for row in book["指标"].iter_rows(min_row=6, values_only=True) if row[0]}
    assert rows["结案率"][:3] == (0.6667, 2, 3)  # 一中队: A B ÷ A B F
    assert book["指标"]["B2"].value == "综合行政执法一中队"
    assert page_log.errors == []


def test_who_may_open_the_dashboard(client, django_user_model, tiny_county):
    assert client.get("/dashboard/").status_code == 302  # anonymous → the login page
    assert "/accounts/login/" in client.get("/dashboard/")["Location"]
    user(django_user_model, "officer", "officer")
    client.login(username="officer", password=PASSWORD)
    assert client.get("/dashboard/").status_code == 403
    for username, group in (("supervisor", "supervisor"), ("dispatcher", "dispatcher")):
        user(django_user_model, username, group)
        client.login(username=username, password=PASSWORD)
        response = client.get("/dashboard/")
        assert response.status_code == 200
        assert b"dashboard-state" in response.content and b"vendor/echarts/echarts.min.js" in response.content
        assert "丹东街道".encode() in response.content  # the scope picker


def test_the_home_page_lists_the_dashboard():
    from frontend.views import role_pages

    pages = {page["key"]: page for page in role_pages()}
    assert pages["dashboard"]["available"] and pages["dashboard"]["url"] == "/dashboard/"
