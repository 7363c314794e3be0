"""WORKING_HOURS: the working periods of a working day, e.g. [("08:30", "12:00"), ("13:30", "17:30")].

Validated at start-up (WorkcalendarConfig.ready): periods are "HH:MM" pairs, each ending after it
starts, in order and not overlapping, within one day. Anything else raises ImproperlyConfigured.
"""

from datetime import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Period = tuple[time, time]


def _parse_time(value: object) -> time:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(value)
    return time(int(value[:2]), int(value[3:]))


def parse_working_hours(value: object) -> tuple[Period, ...]:
    """The periods as (start, end) times; ImproperlyConfigured naming the problem otherwise."""
    prefix = 'WORKING_HOURS must be a non-empty list of ("HH:MM", "HH:MM") periods in order'
    if not isinstance(value, list | tuple) or not value:
        raise ImproperlyConfigured(f"{prefix}, got {value!r}.")
    periods: list[Period] = []
    for item in value:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ImproperlyConfigured(f"{prefix}; {item!r} is not a (start, end) pair.")
        try:
            start, end = _parse_time(item[0]), _parse_time(item[1])
        except ValueError:
            raise ImproperlyConfigured(f"{prefix}; {item!r} is not two HH:MM times.") from None
        if start >= end:
            raise ImproperlyConfigured(f"{prefix}; {item!r} ends before it starts.")
        if periods and start < periods[-1][1]:
            raise ImproperlyConfigured(f"{prefix}; {item!r} overlaps or precedes the period before it.")
        periods.append((start, end))
    return tuple(periods)


def working_hours_from_settings() -> tuple[Period, ...]:
    return parse_working_hours(getattr(settings, "WORKING_HOURS", None))
