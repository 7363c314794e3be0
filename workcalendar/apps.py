from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkcalendarConfig(AppConfig):
    name = "workcalendar"
    verbose_name = _("工作日历")

    def ready(self) -> None:
        from workcalendar import signals  # noqa: F401  (cache invalidation on every CalendarDay change)
        from workcalendar.hours import working_hours_from_settings

        # A malformed WORKING_HOURS stops start-up (manage.py, the server, the Celery worker) with its
        # name, instead of producing wrong deadlines later.
        working_hours_from_settings()
