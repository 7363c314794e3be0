"""Periods of plans, proposals and indicators: whole days in settings.TIME_ZONE."""

import calendar
from datetime import date

from django.utils.translation import gettext as _

from geodata.errors import FieldError

MAX_PERIOD_DAYS = 366


def period_of(*, year: int, month: int | None = None) -> tuple[date, date]:
    """A year, or a month of it, as (first day, last day)."""
    if not 2000 <= year <= 2100:
        raise FieldError("year", _("年度应在 2000 到 2100 之间。"))
    if month is None:
        return date(year, 1, 1), date(year, 12, 31)
    if not 1 <= month <= 12:
        raise FieldError("month", _("月份应在 1 到 12 之间。"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def period_check(*, start: date, end: date) -> tuple[date, date]:
    if end < start:
        raise FieldError("end", _("结束日期不能早于开始日期。"))
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise FieldError("end", _("期间不能超过 %(n)d 天。") % {"n": MAX_PERIOD_DAYS})
    return start, end
