"""Any save or delete of a CalendarDay through the ORM (admin, shell, the load command) drops this
process's cached calendar at once; other processes notice within WORKCALENDAR_CHECK_SECONDS."""

from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from workcalendar.calendar import calendar_cache_clear
from workcalendar.models import CalendarDay


@receiver(post_save, sender=CalendarDay)
@receiver(post_delete, sender=CalendarDay)
def _calendar_changed(sender, **kwargs) -> None:
    # Now, so that the writing transaction reads its own change; and after commit, so that the
    # state other transactions see is reloaded (a rollback is caught by the stamp check).
    calendar_cache_clear()
    transaction.on_commit(calendar_cache_clear)


@receiver(setting_changed)
def _working_hours_changed(setting: str, **kwargs) -> None:
    if setting == "WORKING_HOURS":
        calendar_cache_clear()
