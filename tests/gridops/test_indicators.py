"""效能监督 (gridops/selectors/indicators.py, gridops/api/indicators.py): every indicator on the
hand-built week of tests/gridops/indicators_factory.py, its expected value worked out here.

The week is Monday 2026-03-02 to Sunday 2026-03-08 (Asia/Shanghai); the table of cases is in the
factory's docstring. Boundaries: I was received at 03-08 23:59 (in), J at 03-09 00:00 (out), K at
03-01 23:59 (out).
"""

from datetime import date
from io import BytesIO
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from geodata.errors import FieldError
from gridops.selectors.indicators import (
    indicators_by_team,
    indicators_by_township,
    indicators_case_list,
    indicators_compute,
    indicators_series,
    review_period,
)
from tests.gridops.indicators_factory import PASSWORD, WEEK, at, build_week, user

START, END = WEEK
NOW = at(11, 23, 12)  # "now" for the backlog: long after the week
W, E = "330225001", "330225101"


@pytest.fixture
def week(django_user_model, tiny_county, settings):
    return build_week(django_user_model, tiny_county, settings)


def values(figures: dict) -> dict:
    return {code: figure["value"] for code, figure in figures["indicators"].items()}


def fractions(figures: dict) -> dict:
    return {code: (f["numerator"], f["denominator"]) for code, f in figures["indicators"].items()}


# --- The county ------------------------------------------------------------------------------------


def test_every_indicator_of_the_county_week(week, django_assert_num_queries):
    with django_assert_num_queries(1):  # one aggregate query, whatever the number of cases
        figures = indicators_compute(start=START, end=END, now=NOW)
    # received in the week: A B C D E F I L = 8 (G H before, J just after, K just before)
    # registered in the week: A B C D F L = 6 (D at its county report-in, 03-05 12:00)
    assert figures["counts"] == {
        "received": 8,
        "registered": 6,
        "not_registered": 1,  # E (J and K fall outside)
        "closed": 3,  # A B D (L was referred: not closed)
        "escalated": 1,  # D
        "referred": 1,  # L
        "overdue_now": 3,  # F (due 03-07 10:00), H (due 02-27), I (new: response limit 120 min)
    }
    assert fractions(figures) == {
        "closure_rate": (3, 6),  # A B D ÷ A B C D F L
        "on_time_rate": (2, 3),  # A (03-03 ≤ 03-05), D (03-06 ≤ 03-10); B closed 03-05 > due 03-04
        "rework_rate": (1, 3),  # B ÷ verified A B D (C is handled, never verified)
        "extension_rate": (1, 6),  # C
        # A 08:30→08:30 next day 24 h, B 03-03 10:10→03-05 10:10 48 h, D 12:00→12:00 24 h: 96 h
        "avg_handling_hours": (96.0, 3),
        # A 08:00→09:00 60, B 10:00→11:10 70, C 09:00→09:50 50, D 08:00→14:00 360: 540 min
        "avg_response_minutes": (540.0, 4),
        "township_share": (2, 3),  # A B by zh-1; D was escalated to the market team
    }
    assert values(figures) == {
        "closure_rate": 0.5,
        "on_time_rate": 0.6667,
        "rework_rate": 0.3333,
        "extension_rate": 0.1667,
        "avg_handling_hours": 32.0,  # 96 ÷ 3
        "avg_response_minutes": 135.0,  # 540 ÷ 4
        "township_share": 0.6667,
    }
    assert figures["indicators"]["township_share"]["target"] == 0.8
    assert figures["indicators"]["closure_rate"]["label"] == "结案率"
    assert "已结案 ÷ 期内立案" in figures["indicators"]["closure_rate"]["definition"]
    assert figures["period"] == {
        "start": "2026-03-02",
        "end": "2026-03-08",
        "time_zone": "Asia/Shanghai",
        "as_of": "2026-11-23T12:00:00+08:00",
    }


def test_a_township_and_a_team(week):
    west = indicators_compute(start=START, end=END, township=W, now=NOW)
    # 丹东街道: A B D F I received; A B D F registered; D stays here (its place) though escalated
    assert west["counts"] == {
        "received": 5,
        "registered": 4,
        "not_registered": 0,
        "closed": 3,
        "escalated": 1,
        "referred": 0,
        "overdue_now": 2,  # F and I (H is in 石浦镇)
    }
    assert fractions(west)["closure_rate"] == (3, 4) and values(west)["closure_rate"] == 0.75
    assert fractions(west)["avg_response_minutes"] == (490.0, 3)  # 60 + 70 + 360
    assert values(west)["avg_response_minutes"] == 163.33  # 490 ÷ 3
    assert values(west)["extension_rate"] == 0.0  # 0 ÷ 4: a zero, not a null

    zh1 = indicators_compute(start=START, end=END, team="zh-1", now=NOW)
    # The team responsible now: A B F I (D went to the market team)
    assert (zh1["counts"]["received"], zh1["counts"]["registered"], zh1["counts"]["closed"]) == (4, 3, 2)
    assert values(zh1) == {
        "closure_rate": 0.6667,  # A B ÷ A B F
        "on_time_rate": 0.5,  # A ÷ A B
        "rework_rate": 0.5,  # B ÷ A B
        "extension_rate": 0.0,
        "avg_handling_hours": 36.0,  # (24 + 48) ÷ 2
        "avg_response_minutes": 65.0,  # (60 + 70) ÷ 2
        "township_share": 1.0,
    }
    assert zh1["scope"]["team"] == {"code": "zh-1", "name": "综合行政执法一中队", "kind": "comprehensive"}

    market = indicators_compute(start=START, end=END, team="market", now=NOW)
    assert fractions(market)["township_share"] == (0, 1)  # D, closed by a county team
    assert values(market)["avg_response_minutes"] == 360.0
    assert market["counts"]["escalated"] == 1


def test_empty_denominators_give_null_not_zero(week):
    east = indicators_compute(start=START, end=END, township=E, team="zh-2", now=NOW)
    # 石浦镇 / zh-2: C E L received; C L registered; nothing closed
    assert east["counts"]["received"] == 3 and east["counts"]["registered"] == 2
    assert values(east) == {
        "closure_rate": 0.0,  # 0 ÷ 2
        "on_time_rate": None,  # 0 ÷ 0
        "rework_rate": None,  # nothing verified
        "extension_rate": 0.5,  # C ÷ C L
        "avg_handling_hours": None,
        "avg_response_minutes": 50.0,  # C only
        "township_share": None,
    }
    quiet = indicators_compute(start=date(2025, 1, 1), end=date(2025, 1, 7), now=NOW)
    assert all(value is None for value in values(quiet).values())
    assert {k: v for k, v in quiet["counts"].items() if k != "overdue_now"} == dict.fromkeys(
        ("received", "registered", "not_registered", "closed", "escalated", "referred"), 0
    )
    assert quiet["counts"]["overdue_now"] == 3  # the backlog does not depend on the period


def test_the_period_is_whole_shanghai_days(week):
    # One day: 03-08 holds only I (23:59); 03-09 holds J (00:00)
    assert (
        indicators_compute(start=date(2026, 3, 8), end=date(2026, 3, 8), now=NOW)["counts"]["received"] == 1
    )
    nine = indicators_compute(start=date(2026, 3, 9), end=date(2026, 3, 9), now=NOW)
    assert nine["counts"]["received"] == 1 and nine["counts"]["not_registered"] == 1
    assert (
        indicators_compute(start=date(2026, 3, 1), end=date(2026, 3, 1), now=NOW)["counts"]["received"] == 1
    )


def test_breakdowns_per_team_and_per_township(week, django_assert_num_queries):
    with django_assert_num_queries(1):
        teams = indicators_by_team(start=START, end=END, now=NOW)
    by_code = {row["team"]["code"]: row for row in teams}
    assert [row["team"]["code"] for row in teams] == ["zh-1", "zh-2", "market"]  # H is zh-2 (backlog)
    assert by_code["zh-1"]["counts"]["registered"] == 3
    assert by_code["zh-1"]["indicators"]["on_time_rate"]["value"] == 0.5
    assert by_code["zh-2"]["counts"]["overdue_now"] == 1  # H
    assert by_code["market"]["indicators"]["township_share"]["value"] == 0.0
    # The rows add up to the county
    assert sum(row["counts"]["received"] for row in teams) == 8

    townships = indicators_by_township(start=START, end=END, now=NOW)
    assert [(row["township"]["code"], row["counts"]["received"]) for row in townships] == [(W, 5), (E, 3)]
    assert townships[0]["indicators"]["township_share"]["numerator"] == 2  # A B of A B D


def test_cases_per_township_over_time(week):
    daily = indicators_series(start=START, end=END)
    assert daily["interval"] == "day"  # a week: by day
    assert daily["buckets"] == [f"2026-03-0{d}" for d in range(2, 9)]
    assert [(r["township"]["code"], r["counts"]) for r in daily["townships"]] == [
        (W, [1, 1, 0, 1, 0, 1, 1]),  # A B . D . F I
        (E, [0, 1, 1, 0, 1, 0, 0]),  # . L C . E . .
    ]
    weekly = indicators_series(start=START, end=END, interval="week")
    assert weekly["buckets"] == ["2026-03-02"]
    assert [r["counts"] for r in weekly["townships"]] == [[5], [3]]
    monthly = indicators_series(start=date(2026, 2, 1), end=date(2026, 3, 31), interval="month")
    # February: G (W), H (E); March: A B D F I (W) / C E J K L (E: K is 03-01, J 03-09)
    assert monthly["buckets"] == ["2026-02-01", "2026-03-01"]
    assert [(r["township"]["code"], r["counts"]) for r in monthly["townships"]] == [(W, [1, 5]), (E, [1, 5])]
    only_west = indicators_series(start=START, end=END, township=W)
    assert [r["township"]["code"] for r in only_west["townships"]] == [W]


def test_the_review_case_list_names_what_went_wrong(week):
    cases = {c["id"]: c for c in indicators_case_list(start=START, end=END, now=NOW)}
    ids = week.cases
    assert set(cases) == {ids["B"].pk, ids["F"].pk, ids["H"].pk, ids["I"].pk}
    assert cases[ids["B"].pk]["problems"] == ["逾期结案", "返工"]
    assert cases[ids["H"].pk]["problems"] == ["超期未结"]


def test_bad_periods_and_unknown_scopes_are_field_errors(week):
    with pytest.raises(FieldError) as backwards:
        indicators_compute(start=END, end=START)
    assert backwards.value.field == "end"
    with pytest.raises(FieldError) as too_long:
        indicators_compute(start=date(2025, 1, 1), end=date(2026, 1, 2))  # 367 days
    assert too_long.value.field == "end"
    indicators_compute(start=date(2025, 1, 1), end=date(2026, 1, 1))  # 366 days: the longest
    indicators_compute(start=date(2024, 1, 1), end=date(2024, 12, 31))  # 366 (leap year): fine
    with pytest.raises(FieldError) as township:
        indicators_compute(start=START, end=END, township="330225199")
    assert township.value.field == "township"
    with pytest.raises(FieldError) as village:  # a village is not a township
        indicators_compute(start=START, end=END, township="330225001001")
    assert village.value.field == "township"
    with pytest.raises(FieldError) as team:
        indicators_compute(start=START, end=END, team="nobody")
    assert team.value.field == "team"
    with pytest.raises(FieldError) as interval:
        indicators_series(start=START, end=END, interval="year")
    assert interval.value.field == "interval"


def test_review_periods():
    day = date(2026, 11, 18)  # a Wednesday
    assert review_period(kind="daily", day=day) == (day, day)
    assert review_period(kind="weekly", day=day) == (date(2026, 11, 16), date(2026, 11, 22))
    assert review_period(kind="monthly", day=day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert review_period(kind="monthly", day=date(2024, 2, 29)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert review_period(kind="monthly", day=date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))


# --- The API ---------------------------------------------------------------------------------------


def client_for(person) -> APIClient:
    client = APIClient()
    if person is not None:
        client.force_authenticate(person)
    return client


URL = "/api/v1/indicators/"
XLSX = "/api/v1/indicators/review.xlsx"


def test_the_api_answers_the_figures_and_the_tables(week):
    response = client_for(week.supervisor).get(URL, {"start": "2026-03-02", "end": "2026-03-08"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["counts"]["received"] == 8 and body["counts"]["registered"] == 6
    assert body["indicators"]["closure_rate"]["value"] == 0.5
    assert body["indicators"]["avg_handling_hours"]["value"] == 32.0
    assert [row["team"]["code"] for row in body["teams"]] == ["zh-1", "zh-2", "market"]
    assert [row["township"]["code"] for row in body["townships"]] == [W, E]
    assert body["series"]["interval"] == "day" and len(body["series"]["buckets"]) == 7
    scoped = client_for(week.dispatcher).get(
        URL, {"start": "2026-03-02", "end": "2026-03-08", "team": "zh-1", "interval": "week"}
    )
    assert scoped.status_code == 200
    assert scoped.json()["indicators"]["on_time_rate"]["value"] == 0.5
    assert scoped.json()["series"]["buckets"] == ["2026-03-02"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-02-30"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-03-02", "end": "03/08/2026"}, "end"),
        ({"start": "2026-03-08", "end": "2026-03-02"}, "end"),
        ({"start": "2025-01-01", "end": "2026-01-02"}, "end"),
        ({"start": "2026-03-02", "township": "999999999"}, "township"),
        ({"start": "2026-03-02", "team": "no-such-team"}, "team"),
        ({"start": "2026-03-02", "interval": "hour"}, "interval"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(tiny_county, django_user_model, params, field):
    supervisor = user(django_user_model, "supervisor", "supervisor")
    response = client_for(supervisor).get(URL, params)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field] and response.json()[field][0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "yearly", "date": "2026-03-02"}, "kind"),
        ({"date": "2026-03-02"}, "kind"),
        ({"kind": "weekly", "date": "2026-13-01"}, "date"),
        ({"kind": "weekly", "date": "2026-03-02", "team": "nobody"}, "team"),
        ({"kind": "daily", "date": "2026-03-02", "township": "330225"}, "township"),  # the county
    ],
)
def test_bad_review_requests_are_a_400(tiny_county, django_user_model, params, field):
    dispatcher = user(django_user_model, "dispatcher", "dispatcher")
    response = client_for(dispatcher).get(XLSX, params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_who_may_read_the_indicators(week, django_user_model):
    officer = week.officer
    planner = user(django_user_model, "planner", "planner")
    admin = user(django_user_model, "admin-group", "admin")
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    params = {"start": "2026-03-02", "end": "2026-03-08"}
    for person in (week.supervisor, week.dispatcher, admin, root):
        assert client_for(person).get(URL, params).status_code == 200, person.username
        assert client_for(person).get(XLSX, {"kind": "daily", "date": "2026-03-02"}).status_code == 200
    for person in (officer, week.worker, planner):
        assert client_for(person).get(URL, params).status_code == 403, person.username
        assert client_for(person).get(XLSX, {"kind": "daily", "date": "2026-03-02"}).status_code == 403
    assert client_for(None).get(URL, params).status_code in (401, 403)
    assert client_for(None).get(XLSX, {"kind": "daily"}).status_code in (401, 403)


def test_the_weekly_review_workbook_holds_the_figures(week):
    response = client_for(week.supervisor).get(XLSX, {"kind": "weekly", "date": "2026-03-04"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response["Content-Disposition"]
    assert 'filename="weekly_2026-03-02_2026-03-08.xlsx"' in disposition
    assert f"filename*=UTF-8''{quote('周例会_2026-03-02_2026-03-08.xlsx')}" in disposition

    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["指标", "按队伍", "按乡镇", "超期与返工案件"]
    headline = book["指标"]
    rows = {row[0]: row[1:] for row in headline.iter_rows(min_row=6, values_only=True) if row[0]}
    assert headline["A1"].value.startswith("周例会 2026-03-02 — 2026-03-08")
    # value, numerator, denominator, definition
    assert rows["结案率"][:3] == (0.5, 3, 6)
    assert rows["按期结案率"][:3] == (0.6667, 2, 3)
    assert rows["返工率"][:3] == (0.3333, 1, 3)
    assert rows["延期率"][:3] == (0.1667, 1, 6)
    assert rows["平均办理时长"][:3] == (32, 96, 3)
    assert rows["平均响应时间"][:3] == (135, 540, 4)
    assert rows["乡镇处置占比"][:3] == (0.6667, 2, 3)
    assert "已结案 ÷ 期内立案" in rows["结案率"][3]
    assert rows["接收上报"][0] == 8 and rows["当前超期"][0] >= 3
    assert headline["B7"].number_format == "0.0%"

    teams = list(book["按队伍"].iter_rows(values_only=True))
    header = teams[0]
    assert header[:3] == ("编号", "队伍", "接收上报")
    zh1 = next(row for row in teams if row[0] == "zh-1")
    assert zh1[header.index("立案")] == 3 and zh1[header.index("按期结案率")] == 0.5
    townships = list(book["按乡镇"].iter_rows(values_only=True))
    assert [(row[0], row[2]) for row in townships[1:]] == [(W, 5), (E, 3)]

    cases = list(book["超期与返工案件"].iter_rows(values_only=True))
    by_number = {row[0]: row for row in cases[1:]}
    b = by_number[week.cases["B"].number]
    assert b[1] == "逾期结案、返工"
    # Times are Asia/Shanghai wall-clock times: B was received at 10:00 Beijing time.
    assert b[6].isoformat() == "2026-03-03T10:00:00"
    assert week.cases["H"].number in by_number  # overdue now, from before the week


def test_daily_and_monthly_reviews_and_their_scope(week):
    daily = client_for(week.supervisor).get(XLSX, {"kind": "daily", "date": "2026-03-03", "township": W})
    assert f"filename*=UTF-8''{quote('日碰头_2026-03-03.xlsx')}" in daily["Content-Disposition"]
    headline = load_workbook(BytesIO(daily.content))["指标"]
    rows = {row[0]: row[1:] for row in headline.iter_rows(min_row=6, values_only=True) if row[0]}
    assert rows["接收上报"][0] == 1  # B (L was received in 石浦镇)
    assert headline["B2"].value == "丹东街道"
    monthly = client_for(week.supervisor).get(XLSX, {"kind": "monthly", "date": "2026-03-31", "team": "zh-2"})
    assert "monthly_2026-03-01_2026-03-31.xlsx" in monthly["Content-Disposition"]
    headline = load_workbook(BytesIO(monthly.content))["指标"]
    rows = {row[0]: row[1:] for row in headline.iter_rows(min_row=6, values_only=True) if row[0]}
    assert rows["接收上报"][0] == 5  # C E J K L
    assert rows["按期结案率"][0] is None  # nothing closed: an empty cell, not 0
