"""One-statement writes for the hottest intake path: a new row and its outbox event together.

Profiled under load (py-spy --gil, 2 web workers, ~190 reports/s): compiling Django's INSERT for
the 30 report columns, the separate outbox INSERT and the BEGIN/COMMIT round trips were about 40%
of a report's CPU. Here each statement is compiled once per model, the id comes from the table's
own sequence in blocks, and the row and its event reach PostgreSQL as one statement:

    WITH row AS (INSERT INTO gridops_report (...) VALUES (...) RETURNING 1),
         event AS (INSERT INTO gridops_outboxevent (...) SELECT ... FROM row RETURNING id)
    SELECT id FROM event

A single statement is atomic on its own, so outside a transaction no BEGIN/COMMIT is sent; inside
one (a caller's atomic block) it runs under a savepoint so a refused row leaves the caller's
transaction usable. Values go through each field's get_db_prep_save, exactly as Model.save does.

The hot statements (this one, a ping batch's) run as prepared statements (`prepared_cursor`):
Django binds parameters in the client by default and PostgreSQL parses and plans each statement
afresh. Measured on the report insert: planning 0.37-0.58 ms of the backend's time per report
(EXPLAIN ANALYZE), and psycopg's client-side quoting 5.9% of a web worker's GIL time (py-spy).
"""

import threading
from collections import deque
from datetime import datetime

from django.conf import settings
from django.db import connection, models, transaction
from django.db.backends.postgresql.base import ServerBindingCursor

from gridops.models import OutboxEvent
from gridops.realtime.outbox import relay_kick
from gridops.services import pgbinary

ID_BLOCK = 32
SHAPES_MAX = 256

_lock = threading.Lock()
_ids: dict[type, deque] = {}
_sql: dict[tuple, str] = {}  # (model, columns, event columns) → the statement


def next_id(model: type[models.Model]) -> int:
    """An id from the model's identity sequence, taken 32 at a time (one query per 32 rows).

    Ids are unique but, across processes, not in time order; order by the time fields instead."""
    with _lock:
        block = _ids.setdefault(model, deque())
        if not block:
            table = model._meta.db_table
            column = model._meta.pk.column
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [table, column, ID_BLOCK],
                )
                block.extend(row[0] for row in cursor.fetchall())
        return block.popleft()


def _columns(model: type[models.Model], instance: models.Model, *, with_pk: bool) -> tuple[tuple, list]:
    """The fields to write and their values. A NULL goes by leaving its column out (the column is
    then NULL, having no database default), so a new report names ~35 columns instead of all 50:
    psycopg caches the conversion of a statement of at most 50 parameters, and the full 55 (with
    the event's) were parsed afresh on every report (`_query2pg_client_nocache`, ~10% of a worker's
    GIL time under load, py-spy).

    Each value is what the field's get_db_prep_save(pre_save()) gives, as Model.save writes it; for
    the plain fields (`_shortcut`) that is the value itself or a fixed wrapping of it, taken
    directly when the value has the plain type. Measured: 180 → 60 µs for a report's 50 fields
    (the full chain of get_db_prep_save → get_db_prep_value → get_prep_value → to_python per field
    was 7% of a report request's CPU, py-spy in-process)."""
    names, params = [], []
    for f, column, plain, convert, omit_null in _plan(model):
        if f.primary_key and not with_pk:
            continue
        value = getattr(instance, f.attname) if plain is not None else None
        if value is not None and type(value) is plain and (plain is not datetime or value.tzinfo is not None):
            if convert is not None:
                value = convert(value)
        elif value is not None or plain is None:
            value = f.get_db_prep_save(f.pre_save(instance, True), connection)
        if value is None and omit_null:
            continue
        names.append(column)
        params.append(value)
    return tuple(names), params


_plans: dict[type, tuple] = {}
_IDENTITY = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.FloatField: float,
    models.DateTimeField: datetime,  # aware ones only (a naive one warns and is converted)
    models.AutoField: int,
    models.BigAutoField: int,
}
_INTEGERS = (
    models.IntegerField,
    models.SmallIntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
)


def _shortcut(field: models.Field) -> tuple[type | None, object]:
    """(the plain type whose values this field writes as they are or wrapped by a fixed function,
    that function or None); (None, None) for every other field, which takes the full chain.

    Only Django's own classes, whose chain for a plain value is, on PostgreSQL: the value itself
    (text, booleans, floats, aware datetimes without auto_now, auto primary keys and foreign keys
    to them) or psycopg's typed integer (integer fields: connection.ops.integerfield_type_map)."""
    kind = type(field)
    if kind is models.DateTimeField and (field.auto_now or field.auto_now_add):
        return None, None
    if kind in _IDENTITY:
        return _IDENTITY[kind], None
    if kind in _INTEGERS:
        return int, connection.ops.integerfield_type_map[field.get_internal_type()]
    if kind is models.ForeignKey and type(field.target_field) in (models.AutoField, models.BigAutoField):
        return int, None
    return None, None


def _plan(model: type[models.Model]) -> tuple:
    plan = _plans.get(model)
    if plan is None:  # a race builds the same plan twice: harmless
        plan = _plans[model] = tuple(
            (f, f.column, *_shortcut(f), f.db_default is models.NOT_PROVIDED)
            for f in model._meta.concrete_fields
        )
    return plan


def _statement(model: type[models.Model], columns: tuple, event_columns: tuple) -> str:
    key = (model, columns, event_columns)
    sql = _sql.get(key)
    if sql is None:
        if len(_sql) >= SHAPES_MAX:  # shapes are few (which columns are NULL); never unbounded
            _sql.clear()
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        event_table = quote(OutboxEvent._meta.db_table)
        sql = _sql[key] = (
            f"WITH row AS (INSERT INTO {table} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}) RETURNING 1), "
            f"event AS (INSERT INTO {event_table} ({', '.join(map(quote, event_columns))}) "
            f"SELECT {', '.join(['%s'] * len(event_columns))} FROM row RETURNING id) "
            f"SELECT id FROM event"
        )
    return sql


def insert_with_event(instance: models.Model, event: OutboxEvent) -> None:
    """Insert `instance` (its pk already set, see next_id) and `event` in one statement.

    Raises IntegrityError (nothing written) when a constraint refuses the row."""
    columns, params = _columns(type(instance), instance, with_pk=True)
    event_columns, event_params = _columns(OutboxEvent, event, with_pk=False)
    sql = _statement(type(instance), columns, event_columns)
    params += event_params
    if connection.in_atomic_block:
        with transaction.atomic():
            event.pk = _execute(sql, params)
    else:
        event.pk = _execute(sql, params)
    instance._state.adding = False
    instance._state.db = connection.alias
    event._state.adding = False
    event._state.db = connection.alias
    transaction.on_commit(relay_kick)


def _execute(sql: str, params: list) -> int:
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


class _PreparingCursor(ServerBindingCursor):
    """Parameters bound by PostgreSQL, and every statement prepared on its first run.

    psycopg keeps the prepared statements per connection (the last 100 by default), so with the
    connection pool a statement is parsed and planned once per pooled connection."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def prepared_cursor():
    """A Django cursor (query logging, execute wrappers, error translation as usual) whose
    statements are prepared on the server: for a few statements run hundreds of times a second.

    Parameters are sent apart from the SQL, so a statement must be valid SQL with placeholders in
    it: no placeholder where PostgreSQL does not take a parameter (a table name, SET's value).
    GRIDOPS_PREPARED_STATEMENTS=0 falls back to Django's cursor, for a transaction-mode PgBouncer
    older than 1.21 in front of PostgreSQL (it cannot keep prepared statements per client)."""
    if not settings.PREPARED_STATEMENTS:
        return connection.cursor()
    # What connection.cursor() does (BaseDatabaseWrapper._cursor), with our cursor class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    # The binary arrays' dumpers (services/pgbinary.py), once per connection and before the
    # cursor, which copies the connection's adapters when it is made.
    pgbinary.ready(connection.connection)
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparingCursor(connection.connection))
