"""Ping retention (gridops/services/ping_retention.py): fixes before the cutoff go, per unit and in
batches; a fix exactly at the cutoff, later fixes and every other table stay; nothing goes while
the retention is 0."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from gridops.models import Ping, Unit
from gridops.services.ping_retention import pings_prune
from gridops.tasks import pings_prune as pings_prune_task
from tests.gridops.units_factory import tracked_unit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def _fixes(unit: Unit, now, *ages: timedelta) -> None:
    point = Point(121.01, 29.01)
    Ping.objects.bulk_create(
        Ping(unit=unit, device=unit.device, fixed_at=now - age, received_at=now - age, point=point)
        for age in ages
    )


def _ages(unit: Unit, now) -> list[timedelta]:
    return sorted(now - t for t in Ping.objects.filter(unit=unit).values_list("fixed_at", flat=True))


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def units(tiny_county, now):
    car = tracked_unit(tiny_county.teams["W"], code="zh-1-car-1").unit
    boat = tracked_unit(tiny_county.teams["fishery"], code="yy-boat-1").unit
    # The car: well past, just past, exactly at, just inside and well inside a 30-day retention.
    _fixes(car, now, 400 * DAY, 30 * DAY + SECOND, 30 * DAY, 30 * DAY - SECOND, DAY, timedelta(0))
    _fixes(boat, now, *(31 * DAY + n * SECOND for n in range(7)), 29 * DAY)
    return car, boat


def test_fixes_before_the_cutoff_go_and_the_rest_stay(units, now):
    car, boat = units
    pruned = pings_prune(older_than=30 * DAY, now=now, batch=3)  # the boat's 7 take three batches
    assert (pruned.deleted, pruned.units, pruned.cutoff) == (2 + 7, 2, now - 30 * DAY)
    assert _ages(car, now) == [timedelta(0), DAY, 30 * DAY - SECOND, 30 * DAY]
    assert _ages(boat, now) == [29 * DAY]
    # A second run finds nothing more.
    again = pings_prune(older_than=30 * DAY, now=now)
    assert (again.deleted, again.units) == (0, 0)
    assert Unit.objects.count() == 2  # only fixes are deleted


def test_a_dry_run_counts_and_deletes_nothing(units, now):
    before = Ping.objects.count()
    pruned = pings_prune(older_than=30 * DAY, now=now, dry_run=True)
    assert (pruned.deleted, pruned.units) == (9, 2)
    assert Ping.objects.count() == before


def test_a_batch_exactly_the_size_of_the_old_fixes_ends(units, now):
    _car, boat = units
    assert pings_prune(older_than=30 * DAY, now=now, batch=7).deleted == 9
    assert _ages(boat, now) == [29 * DAY]


@pytest.mark.parametrize("older_than, batch", [(timedelta(0), 10), (-DAY, 10), (DAY, 0)])
def test_nonsense_is_refused(units, older_than, batch):
    with pytest.raises(ValueError):
        pings_prune(older_than=older_than, batch=batch)
    assert Ping.objects.count() == 14


def test_the_nightly_task_keeps_everything_while_the_retention_is_0(units, settings):
    settings.PING_RETENTION_DAYS = 0
    assert "kept" in pings_prune_task()
    assert Ping.objects.count() == 14


def test_the_nightly_task_prunes_with_the_setting(units, settings, now):
    settings.PING_RETENTION_DAYS = 30
    answer = pings_prune_task()
    # The task reads its own clock, a moment after `now`: the fixes within a second or two of the
    # cutoff may go either way; everything older is gone, everything a day younger stays.
    assert answer["deleted"] >= 9 and answer["units"] == 2
    assert not Ping.objects.filter(fixed_at__lt=now - 30 * DAY).exists()
    assert Ping.objects.filter(fixed_at__gte=now - 29 * DAY).count() == 3


def test_the_command(units, settings):
    settings.PING_RETENTION_DAYS = 0
    out = StringIO()
    call_command("gridops_pings_prune", stdout=out)
    assert "every fix is kept" in out.getvalue() and Ping.objects.count() == 14

    out = StringIO()
    call_command("gridops_pings_prune", "--days", "100", "--dry-run", stdout=out)
    assert "would delete 1 from 1 units" in out.getvalue() and Ping.objects.count() == 14
    assert "+0800" in out.getvalue()  # the cutoff in Asia/Shanghai

    out = StringIO()
    call_command("gridops_pings_prune", "--days", "100", stdout=out)
    assert "deleted 1 from 1 units" in out.getvalue() and Ping.objects.count() == 13

    for bad in (["--days", "0"], ["--days", "-3"], ["--days", "5", "--batch", "0"]):
        with pytest.raises(CommandError):
            call_command("gridops_pings_prune", *bad)


def test_a_negative_setting_stops_start_up():
    env = dict(os.environ, GRIDOPS_PING_RETENTION_DAYS="-1", DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode != 0 and "GRIDOPS_PING_RETENTION_DAYS" in done.stderr
