"""A table locked from a PostgreSQL session of its own: every read of it waits (a stuck database,
for the console tests)."""

import psycopg
from django.db import connection


def _pg_connect() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname=s["NAME"]
    )


class TableLock:
    """ACCESS EXCLUSIVE on one table from a session of its own: every read of it waits."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.conn = _pg_connect()
        self.conn.execute(f"lock table {table} in access exclusive mode")

    def waiting(self) -> int:
        """How many sessions wait for this lock."""
        with _pg_connect() as c:
            return c.execute(
                "select count(*) from pg_locks where not granted and relation = %s::regclass", [self.table]
            ).fetchone()[0]

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
