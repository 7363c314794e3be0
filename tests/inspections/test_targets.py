"""执法对象名录库: credit codes, the spreadsheet import with row-level problems, colour history."""

import io

import pytest
from django.utils import translation
from openpyxl import Workbook

from geodata.errors import FieldError
from inspections import services
from inspections.credit import credit_code_problem
from inspections.models import CreditColourChange, Target
from tests.inspections.conftest import valid_code

GOOD = valid_code(1)
GOOD2 = valid_code(2)
BAD_CHECK = GOOD[:17] + ("0" if GOOD[17] != "0" else "1")

HEADER = ["名称", "统一社会信用代码", "地址", "经度", "纬度", "乡镇", "行业", "信用等级"]
ROWS = [
    ["甲餐馆", GOOD, "丹东街道一号", "121.005", "29.005", "", "餐饮服务", "绿"],  # row 2: good
    ["乙超市", BAD_CHECK, "", "121.006", "29.006", "", "食品销售", "green"],  # row 3: check character
    ["丙水产", "", "", "29.005", "121.005", "", "水产品加工", "yellow"],  # row 4: lon/lat swapped
    ["丁汽修", "", "", "200", "29.0", "", "汽车维修", "green"],  # row 5: longitude out of range
    ["戊民宿", "", "", "121.015", "29.015", "不存在镇", "民宿", "green"],  # row 6: unknown township
    ["己餐馆", GOOD.lower(), "", "121.007", "29.007", "", "餐饮服务", "green"],  # row 7: duplicate of row 2
    ["庚化工", GOOD2, "", "121.035", "29.035", "330225101", "危险化学品经营", "红"],  # row 8: good
]
EXPECTED = [(3, "credit_code"), (4, "lon"), (5, "lon"), (6, "township"), (7, "credit_code")]


def _csv(rows, encoding="utf-8-sig") -> io.BytesIO:
    text = io.StringIO()
    import csv

    csv.writer(text).writerows([HEADER, *rows])
    return io.BytesIO(text.getvalue().encode(encoding))


def _xlsx(rows) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_credit_code_check_character_gb32100():
    # Messages in the default language, whatever an earlier test in this worker left active.
    with translation.override("zh-hans"):
        assert credit_code_problem("91350100M000100Y43") is None  # the standard's worked example
        assert "校验位" in credit_code_problem("91350100M000100Y44")
        assert "18" in credit_code_problem("91350100M000100Y4")
        assert "I" in credit_code_problem("91350100M00010IY43")


@pytest.mark.parametrize(
    "make", [_csv, lambda rows: _csv(rows, "gb18030"), _xlsx], ids=["csv", "gbk", "xlsx"]
)
def test_import_reports_every_bad_row_and_writes_nothing_unless_told(county, make):
    dry = services.targets_import(file=make(ROWS), name="x.xlsx" if make is _xlsx else "x.csv")
    assert [(p.row, p.field) for p in dry.problems] == EXPECTED
    assert "校验位" in dry.problems[0].message
    assert "颠倒" in dry.problems[1].message
    assert "第 2 行" in dry.problems[4].message
    assert (dry.rows, dry.valid, dry.committed) == (7, 2, False)
    assert Target.objects.count() == 0

    refused = services.targets_import(
        file=make(ROWS), name="x.xlsx" if make is _xlsx else "x.csv", commit=True
    )
    assert refused.committed is False and Target.objects.count() == 0

    done = services.targets_import(
        file=make(ROWS), name="x.xlsx" if make is _xlsx else "x.csv", commit=True, skip_bad=True
    )
    assert (done.committed, done.created, done.updated) == (True, 2, 0)
    first = Target.objects.get(credit_code=GOOD)
    assert first.township.code == "330225001"  # resolved from the point by the routing engine
    assert first.colour == "green"
    last = Target.objects.get(credit_code=GOOD2)
    assert last.township.code == "330225101" and last.colour == "red"
    assert CreditColourChange.objects.filter(target=last, from_colour="", to_colour="red").exists()


def test_reimport_updates_by_credit_code_and_records_the_colour_change(county):
    services.targets_import(file=_csv([ROWS[0]]), name="a.csv", commit=True)
    again = services.targets_import(
        file=_csv([["甲餐馆（新址）", GOOD, "", "121.006", "29.006", "", "餐饮服务", "黄"]]),
        name="a.csv",
        commit=True,
    )
    assert (again.created, again.updated) == (0, 1)
    target = Target.objects.get(credit_code=GOOD)
    assert target.name == "甲餐馆（新址）" and target.colour == "yellow"
    assert list(target.colour_changes.values_list("from_colour", "to_colour")) == [
        ("", "green"),
        ("green", "yellow"),
    ]


def test_import_refuses_a_file_without_the_needed_columns(county):
    with pytest.raises(FieldError) as e:
        services.targets_import(file=io.BytesIO("名称,地址\n甲,乙\n".encode()), name="a.csv")
    assert e.value.field == "file" and "lon" in e.value.message


def test_colour_set_writes_history_and_needs_a_reason(county, planner):
    target = services.target_create(raw={"name": "甲", "lon": 121.005, "lat": 29.005})
    with pytest.raises(FieldError) as e:
        services.target_colour_set(target=target, colour="red", reason=" ", actor=planner)
    assert e.value.field == "reason"
    services.target_colour_set(target=target, colour="red", reason="抽查发现无证经营", actor=planner)
    services.target_colour_set(target=target, colour="red", reason="重复", actor=planner)  # no change
    rows = list(target.colour_changes.order_by("at", "id").values_list("from_colour", "to_colour", "by"))
    assert rows == [("", "green", None), ("green", "red", planner.pk)]


def test_create_reports_all_field_problems_at_once(county):
    with pytest.raises(services.TargetInvalid) as e:
        services.target_create(raw={"name": "", "credit_code": BAD_CHECK, "lon": "x", "lat": 29.0})
    assert set(e.value.as_dict()) == {"name", "credit_code", "lon"}
