"""The State Council's holiday schedules for 2025 and 2026 (holidays and make-up working days),
read from workcalendar/data/cn_<year>.json — the files `manage.py workcalendar_load` reads too.
Later years are loaded with that command (docs/CALENDAR.md), not with migrations."""

from django.db import migrations

YEARS = (2025, 2026)


def load(apps, schema_editor):
    from workcalendar.schedule import bundled_schedule_path, schedule_read

    CalendarDay = apps.get_model("workcalendar", "CalendarDay")
    for year in YEARS:
        schedule, problems = schedule_read(bundled_schedule_path(year), year=year)
        fatal = [p for p in problems if p.fatal]
        if schedule is None or fatal:
            raise RuntimeError(f"workcalendar/data/cn_{year}.json: {fatal}")
        for day in schedule.days:
            CalendarDay.objects.update_or_create(
                date=day.date, defaults={"working": day.working, "name": day.name, "source": day.source}
            )


def unload(apps, schema_editor):
    from workcalendar.schedule import bundled_schedule_path, schedule_read

    CalendarDay = apps.get_model("workcalendar", "CalendarDay")
    for year in YEARS:
        schedule, _problems = schedule_read(bundled_schedule_path(year), year=year)
        if schedule is not None:
            CalendarDay.objects.filter(date__in=[d.date for d in schedule.days]).delete()


class Migration(migrations.Migration):
    dependencies = [("workcalendar", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
