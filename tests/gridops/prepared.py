"""What this test's database connection has prepared on the server (gridops/services/rows.py).

The test database connection, and what it prepared, outlives a test: tests count the runs since a
reading taken before their own writes."""

from django.db import connection


def prepared_runs(*prefixes: str) -> dict[str, int]:
    """{statement name: times run} for the prepared statements that begin with one of `prefixes`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, btrim(statement, E' \\n'), generic_plans + custom_plans FROM pg_prepared_statements"
        )
        return {name: runs for name, text, runs in cursor.fetchall() if text.startswith(prefixes)}


def runs_since(before: dict[str, int], *prefixes: str) -> list[int]:
    """How often each such statement ran since `before` (sorted; statements that did not run left out)."""
    after = prepared_runs(*prefixes)
    return sorted(n - before.get(name, 0) for name, n in after.items() if n != before.get(name, 0))
