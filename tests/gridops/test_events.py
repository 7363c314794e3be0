"""gridops/realtime/events.py: the times every payload and answer carries."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gridops.realtime.events import local_iso, local_iso_text


def test_times_are_shown_in_shanghai_whatever_zone_they_come_in():
    assert local_iso(datetime(2026, 5, 1, 17, 0, tzinfo=UTC)) == "2026-05-02T01:00:00+08:00"
    tokyo = timezone(timedelta(hours=9))
    assert local_iso(datetime(2026, 5, 2, 2, 0, 0, 5, tzinfo=tokyo)) == "2026-05-02T01:00:00.000005+08:00"
    assert local_iso(None) is None
    with pytest.raises(ValueError):  # a naive time has no place on the timeline: refused, not guessed
        local_iso(datetime(2026, 5, 1, 17, 0))


def test_times_kept_as_text_are_shown_in_shanghai_too():
    assert local_iso_text("2026-05-01T17:00:00+00:00") == "2026-05-02T01:00:00+08:00"
    assert local_iso_text("2026-05-01T17:00:00") == "2026-05-01T17:00:00"  # no offset: as stored
    assert local_iso_text("not a time") == "not a time"
    assert local_iso_text("2026-13-01T17:00:00+00:00") == "2026-13-01T17:00:00+00:00"
    assert local_iso_text("") is None and local_iso_text(None) is None
