"""Review reports (日碰头、周例会、月通报) as Excel workbooks, built from the indicator selectors.

    sheet 1 指标            the headline indicators (value, numerator, denominator, definition), counts
    sheet 2 按队伍          the same figures per responsible team
    sheet 3 按乡镇          … per township
    sheet 4 超期与返工案件  open cases overdue now, and the period's cases closed late or reworked

Rates are written as numbers with a percent format (0.6667 shows as 66.7%), times as Asia/Shanghai
wall-clock times (Excel has no time zones), headers in the request's language.
"""

from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from gridops.selectors.indicators import (
    COUNT_DEFINITIONS,
    COUNT_LABELS,
    INDICATORS,
    indicators_by_team,
    indicators_by_township,
    indicators_case_list,
    indicators_compute,
    review_period,
)

REVIEW_KINDS = {
    "daily": gettext_lazy("日碰头"),
    "weekly": gettext_lazy("周例会"),
    "monthly": gettext_lazy("月通报"),
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")
_TITLE_FONT = Font(bold=True, size=14)
_PERCENT = "0.0%"
_NUMBER = "0.00"
_TIME = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Review:
    kind: str
    start: date
    end: date
    filename: str  # e.g. 周例会_2026-11-16_2026-11-22.xlsx (translated kind)
    ascii_filename: str  # e.g. weekly_2026-11-16_2026-11-22.xlsx
    content: bytes


def _local(value: datetime | None):
    """A naive Asia/Shanghai datetime for Excel (openpyxl refuses aware ones)."""
    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0)


def _header(sheet, row: int, titles: list[str]) -> None:
    for column, title in enumerate(titles, start=1):
        cell = sheet.cell(row=row, column=column, value=title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)


def _widths(sheet, widths: list[int]) -> None:
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _value_cell(sheet, row: int, column: int, figure: dict, unit: str) -> None:
    cell = sheet.cell(row=row, column=column, value=figure["value"])
    cell.number_format = _PERCENT if unit == "ratio" else _NUMBER


def _scope_text(figures: dict) -> str:
    parts = []
    if figures["scope"]["township"]:
        parts.append(figures["scope"]["township"]["name"])
    if figures["scope"]["team"]:
        parts.append(figures["scope"]["team"]["name"])
    return " · ".join(parts) or _("全县")


def _sheet_headline(sheet, figures: dict, title: str) -> None:
    sheet.title = _("指标")
    sheet.cell(row=1, column=1, value=title).font = _TITLE_FONT
    as_of = _local(datetime.fromisoformat(figures["period"]["as_of"]))
    sheet.cell(row=2, column=1, value=_("范围"))
    sheet.cell(row=2, column=2, value=_scope_text(figures))
    sheet.cell(row=3, column=1, value=_("统计时段"))
    sheet.cell(row=3, column=2, value=f"{figures['period']['start']} — {figures['period']['end']}")
    sheet.cell(row=4, column=1, value=_("统计时间（北京时间）"))
    cell = sheet.cell(row=4, column=2, value=as_of)
    cell.number_format = _TIME
    row = 6
    _header(sheet, row, [_("指标"), _("数值"), _("分子"), _("分母"), _("定义")])
    for indicator in INDICATORS:
        figure = figures["indicators"][indicator.code]
        row += 1
        sheet.cell(row=row, column=1, value=str(indicator.label))
        _value_cell(sheet, row, 2, figure, indicator.unit)
        sheet.cell(row=row, column=3, value=figure["numerator"])
        sheet.cell(row=row, column=4, value=figure["denominator"])
        sheet.cell(row=row, column=5, value=str(indicator.definition)).alignment = Alignment(wrap_text=True)
    row += 2
    _header(sheet, row, [_("数量"), _("件数"), "", "", _("定义")])
    for key, label in COUNT_LABELS.items():
        row += 1
        sheet.cell(row=row, column=1, value=str(label))
        sheet.cell(row=row, column=2, value=figures["counts"][key])
        sheet.cell(row=row, column=5, value=str(COUNT_DEFINITIONS[key])).alignment = Alignment(wrap_text=True)
    _widths(sheet, [18, 14, 12, 12, 90])


def _breakdown_sheet(sheet, rows: list[dict], key: str, name_title: str, unnamed: str) -> None:
    titles = [_("编号"), name_title, *[str(label) for label in COUNT_LABELS.values()]]
    titles += [str(i.label) for i in INDICATORS]
    _header(sheet, 1, titles)
    for r, item in enumerate(rows, start=2):
        who = item[key]
        sheet.cell(row=r, column=1, value=who["code"] if who else "")
        sheet.cell(row=r, column=2, value=who["name"] if who else unnamed)
        column = 3
        for count_key in COUNT_LABELS:
            sheet.cell(row=r, column=column, value=item["counts"][count_key])
            column += 1
        for indicator in INDICATORS:
            _value_cell(sheet, r, column, item["indicators"][indicator.code], indicator.unit)
            column += 1
    _widths(sheet, [14, 24, *([10] * (len(titles) - 2))])
    sheet.freeze_panes = "C2"


def _sheet_cases(sheet, cases: list[dict]) -> None:
    sheet.title = _("超期与返工案件")
    titles = [
        _("案件编号"),
        _("问题"),
        _("状态"),
        _("乡镇（街道）"),
        _("责任队伍"),
        _("执法事项"),
        _("接收时间"),
        _("立案时间"),
        _("办理期限"),
        _("结案时间"),
        _("返工次数"),
        _("延期次数"),
    ]
    _header(sheet, 1, titles)
    for r, case in enumerate(cases, start=2):
        values = [
            case["number"],
            "、".join(case["problems"]),
            case["status_label"],
            case["township"],
            case["team"],
            case["matter"],
            _local(case["received_at"]),
            _local(case["registered_at"]),
            _local(case["due_at"]),
            _local(case["closed_at"]),
            case["rework_count"],
            case["extension_count"],
        ]
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=column, value=value)
            if isinstance(value, datetime):
                cell.number_format = _TIME
    _widths(sheet, [20, 18, 10, 14, 22, 22, 17, 17, 17, 17, 9, 9])
    sheet.freeze_panes = "B2"


def review_workbook(
    *,
    kind: str,
    day: date,
    township: str | None = None,
    team: str | None = None,
    now: datetime | None = None,
) -> Review:
    """The review of `kind` (daily | weekly | monthly) for the period holding `day`, as xlsx bytes.
    Raises FieldError for an unknown kind, township or team."""
    start, end = review_period(kind=kind, day=day)
    now = now or timezone.now()
    scope = {"start": start, "end": end, "township": township, "team": team, "now": now}
    figures = indicators_compute(**scope)
    label = str(REVIEW_KINDS[kind])
    dates = start.isoformat() if start == end else f"{start.isoformat()}_{end.isoformat()}"
    title = f"{label} {start.isoformat()}" + ("" if start == end else f" — {end.isoformat()}")
    title += f" · {_scope_text(figures)}"

    book = Workbook()
    _sheet_headline(book.active, figures, title)
    teams = book.create_sheet(_("按队伍"))
    _breakdown_sheet(teams, indicators_by_team(**scope), "team", _("队伍"), _("未分派（待分拣）"))
    townships = book.create_sheet(_("按乡镇"))
    _breakdown_sheet(townships, indicators_by_township(**scope), "township", _("乡镇（街道）"), _("网格外"))
    _sheet_cases(book.create_sheet(), indicators_case_list(**scope))
    book.properties.title = title
    book.properties.creator = "GridOps"
    buffer = BytesIO()
    book.save(buffer)
    return Review(
        kind=kind,
        start=start,
        end=end,
        filename=f"{label}_{dates}.xlsx",
        ascii_filename=f"{kind}_{dates}.xlsx",
        content=buffer.getvalue(),
    )
