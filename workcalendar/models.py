"""The working calendar: which days are working days (Asia/Shanghai).

The default week is Monday–Friday working, Saturday and Sunday rest. A `CalendarDay` row overrides
that rule for one date:

- a public holiday on a weekday (法定节假日, ``working=False``);
- a weekend make-up working day (调休上班, ``working=True``): the State Council moves rest days to
  build long holidays, and those Saturdays/Sundays are normal working days;
- a county's local day (e.g. a local festival or a typhoon closure), added by its administrator.

A holiday falling on a weekend changes nothing but may still be stored, for its name. The State
Council publishes next year's schedule each November; `manage.py workcalendar_load` loads it
(docs/CALENDAR.md). The answers (working days, working hours, deadlines) live in
`workcalendar/calendar.py`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CalendarDay(models.Model):
    date = models.DateField(_("日期"), unique=True)
    working = models.BooleanField(
        _("上班"),
        default=False,
        help_text=_("勾选：当天上班（如调休上班日）；不勾选：当天休息（如法定节假日）。"),
    )
    name = models.CharField(_("名称"), max_length=50, help_text=_("如“春节”“春节调休上班”。"))
    source = models.CharField(
        _("依据"), max_length=200, blank=True, help_text=_("如“国办发明电〔2025〕7号”。")
    )
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = pgettext_lazy("singular", "节假日与调休")
        verbose_name_plural = _("节假日与调休")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}"
