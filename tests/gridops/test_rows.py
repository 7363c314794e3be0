"""gridops/services/rows.py: the values written for a row are exactly what Model.save would write."""

import warnings
from datetime import datetime, timedelta

import pytest
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy
from psycopg.types.json import Jsonb

from gridops.models import Alert, OutboxEvent, Report
from gridops.realtime import events
from gridops.realtime.outbox import outbox_event
from gridops.services.reports import ReportInput, report_submit
from gridops.services.rows import _columns

pytestmark = pytest.mark.django_db


def _comparable(value):
    if isinstance(value, Jsonb):  # psycopg's wrapper has no equality of its own
        return ("jsonb", repr(value.obj))
    return (type(value), value)


def _djangos(model, instance, *, with_pk: bool) -> tuple[tuple, list]:
    """Model.save's values: every field's get_db_prep_save(pre_save()), NULLs left out."""
    names, params = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and not with_pk:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a naive datetime, on purpose below
            value = f.get_db_prep_save(f.pre_save(instance, True), connection)
        if value is None and f.db_default is models.NOT_PROVIDED:
            continue
        names.append(f.column)
        params.append(value)
    return tuple(names), params


def _assert_same(model, instance, *, with_pk: bool = True) -> None:
    connection.ensure_connection()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ours = _columns(model, instance, with_pk=with_pk)
    theirs = _djangos(model, instance, with_pk=with_pk)
    assert ours[0] == theirs[0]
    assert [_comparable(v) for v in ours[1]] == [_comparable(v) for v in theirs[1]]


def test_stored_reports_of_every_kind_give_the_same_values(tiny_county):
    routed, _ = report_submit(
        data=ReportInput(source="grid_worker", lon=121.005, lat=29.005, description="占道")
    )
    outside, _ = report_submit(data=ReportInput(source="citizen", lon=121.9, lat=29.9, description="界外"))
    keyed, _ = report_submit(
        data=ReportInput(
            source="hotline", lon=121.005, lat=29.005, priority=1, accuracy=12.5, description="x"
        ),
        idempotency_key="k-1",
    )
    for report in (routed, outside, keyed, Report.objects.get(pk=keyed.pk)):
        _assert_same(Report, report)
    for event in OutboxEvent.objects.all():
        _assert_same(OutboxEvent, event, with_pk=False)


def test_values_of_other_types_take_djangos_conversions(tiny_county):
    report, _ = report_submit(
        data=ReportInput(source="grid_worker", lon=121.005, lat=29.005, description="x")
    )
    report.priority = True  # a bool in an integer field: int(True), typed
    report.accuracy = 7  # an int in a float field: 7.0
    report.repeat_count = "3"  # text in an integer field: 3
    report.description = gettext_lazy("待受理")  # a lazy translation: Django's cast to text
    report.last_seen_at = datetime(2026, 11, 24, 8, 0)  # naive: Django's warning and conversion
    report.matter_id = None
    _assert_same(Report, report)
    report.address = timezone.now() + timedelta(days=1)  # not text at all: Django's to_python
    _assert_same(Report, report)


def test_an_event_and_an_alert_the_same_way(tiny_county):
    event = outbox_event(type=events.REPORT_CREATED, data={"a": 1}, streams=["county"])
    _assert_same(OutboxEvent, event, with_pk=False)
    alert = Alert(kind=Alert.Kind.choices[0][0], raised_at=timezone.now())
    _assert_same(Alert, alert)
