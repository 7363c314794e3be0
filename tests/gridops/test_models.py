"""What the database itself refuses in the operations tables, whatever door writes."""

from datetime import UTC, datetime

import pytest
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone

from gridops.models import Alert, Device, Ping, Report, Unit


def _report(**kw) -> Report:
    base = dict(source=Report.Source.GRID_WORKER, point=Point(121.005, 29.005, srid=4326))
    base.update(kw)
    return Report(**base)


def test_a_report_is_either_routed_to_a_team_or_in_a_triage_queue(tiny_county):
    team = tiny_county.teams["W"]
    _report(routed=True, team=team).save()
    _report(routed=False, triage_queue="triage:outside_grid", status=Report.Status.TRIAGE).save()
    for bad in (
        _report(routed=True),  # routed without a team
        _report(routed=False),  # neither team nor queue: silently lost
        _report(routed=False, team=team, triage_queue="triage:no_team"),  # both
        _report(routed=True, team=team, triage_queue="triage:no_team"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            bad.save()


def test_report_number_uses_the_shanghai_day(tiny_county):
    # 2026-05-01 17:00 UTC is already 2 May in Asia/Shanghai.
    received = datetime(2026, 5, 1, 17, 0, tzinfo=UTC)
    report = _report(routed=True, team=tiny_county.teams["W"], received_at=received)
    report.save()
    assert report.number == f"SJ20260502{report.pk:06d}"


def test_one_fix_per_device_and_time(tiny_county):
    device = Device.objects.create(code="trk-1", name="终端", kind=Device.Kind.TRACKER)
    unit = Unit.objects.create(
        code="u1", name="一号车", kind=Unit.Kind.VEHICLE, team=tiny_county.teams["W"], device=device
    )
    at = timezone.now()
    Ping.objects.create(unit=unit, device=device, fixed_at=at, point=Point(121.01, 29.01, srid=4326))
    with pytest.raises(IntegrityError), transaction.atomic():
        Ping.objects.create(unit=unit, device=device, fixed_at=at, point=Point(121.02, 29.01, srid=4326))


def test_one_open_out_of_zone_alert_per_unit(tiny_county):
    unit = Unit.objects.create(code="u1", name="一号车", kind=Unit.Kind.VEHICLE, team=tiny_county.teams["W"])
    Alert.objects.create(kind=Alert.Kind.OUT_OF_ZONE, unit=unit, message="驶离辖区")
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(kind=Alert.Kind.OUT_OF_ZONE, unit=unit, message="驶离辖区")
    Alert.objects.filter(unit=unit).update(status=Alert.Status.CLEARED)
    Alert.objects.create(kind=Alert.Kind.OUT_OF_ZONE, unit=unit, message="再次驶离辖区")
