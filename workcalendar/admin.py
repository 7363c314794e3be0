"""Admin of the working calendar: administrators correct or add days (a county's local holiday, a
typhoon closure); every save takes effect for the time limits at once (workcalendar/signals.py)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext_lazy as _

from workcalendar.models import CalendarDay


class YearFilter(admin.SimpleListFilter):
    title = _("年份")
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        years = CalendarDay.objects.dates("date", "year", order="DESC")
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(date__year=int(value))
        return queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "weekday", "working", "name", "source", "updated")
    list_filter = (YearFilter, "working")
    search_fields = ("name", "source")
    date_hierarchy = "date"
    ordering = ("date",)
    readonly_fields = ("created", "updated")
    list_per_page = 100

    @admin.display(description=_("星期"), ordering="date")
    def weekday(self, obj: CalendarDay) -> str:
        return date_format(obj.date, "l")  # localised weekday name (Django's own catalogue)
