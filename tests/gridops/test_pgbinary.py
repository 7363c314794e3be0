"""Arrays in PostgreSQL's binary format (gridops/services/pgbinary.py), read back by PostgreSQL
beside the same values encoded by psycopg itself."""

import math
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from django.db import connection

from gridops.services import pgbinary

SHANGHAI = timezone(timedelta(hours=8))

FLOATS = [
    [],
    [121.871234, 29.470000000000002],
    [0.0, -0.0, 5e-324, 1.7976931308254e308, -1e-300, 360.0, 1.0],
    [None],
    [None, 12.5, None, 0.0, None],
]
TIMES = [
    [],
    [datetime(2026, 5, 1, 9, 30, tzinfo=SHANGHAI)],
    [
        datetime(2026, 5, 1, 1, 30, 0, 123456, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before PostgreSQL's epoch
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 24, 17, 0, 0, 1, tzinfo=SHANGHAI),
    ],
]
BOOLS = [[], [True], [False, True, False]]


@pytest.fixture
def server_cursor(db):
    connection.ensure_connection()
    raw = connection.connection
    pgbinary.ready(raw)  # before the cursor, which copies the connection's adapters
    with psycopg.Cursor(raw) as cursor:  # server-side binding, as services/rows.py's cursor
        yield cursor


def read_back(cursor, ours, theirs, cast: str):
    cursor.execute(f"SELECT %b::{cast}, %b::{cast}", [ours, theirs])
    return cursor.fetchone()


@pytest.mark.parametrize("values", FLOATS)
def test_float8_arrays_read_back_as_psycopg_sends_them(server_cursor, values):
    ours, theirs = read_back(server_cursor, pgbinary.float8_array(values), values, "float8[]")
    assert ours == theirs == values
    assert [math.copysign(1, v) for v in ours if v is not None] == [
        math.copysign(1, v) for v in values if v is not None
    ]


@pytest.mark.parametrize("values", TIMES)
def test_timestamptz_arrays_read_back_to_the_microsecond(server_cursor, values):
    ours, theirs = read_back(server_cursor, pgbinary.timestamptz_array(values), values, "timestamptz[]")
    assert ours == theirs == values


@pytest.mark.parametrize("values", BOOLS)
def test_bool_arrays_read_back(server_cursor, values):
    ours, theirs = read_back(server_cursor, pgbinary.bool_array(values), values, "bool[]")
    assert ours == theirs == values


def test_the_arrays_unnest_together_with_their_nulls(server_cursor):
    times = [datetime(2026, 5, 1, 9, 30, s, tzinfo=SHANGHAI) for s in range(3)]
    server_cursor.execute(
        "SELECT * FROM unnest(%b::timestamptz[], %b::float8[], %b::bool[])",
        [
            pgbinary.timestamptz_array(times),
            pgbinary.float8_array([1.5, None, -2.0]),
            pgbinary.bool_array([1, 0, 1]),
        ],
    )
    assert server_cursor.fetchall() == [
        (times[0], 1.5, True),
        (times[1], None, False),
        (times[2], -2.0, True),
    ]
