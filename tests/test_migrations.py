"""The models and the migrations agree: nobody forgot `makemigrations`."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits non-zero when a migration is missing
        pytest.fail(f"models changed without a migration:\n{out.getvalue()} ({exc})")


@pytest.mark.django_db
def test_no_table_has_the_same_index_twice():
    """Every insert maintains every index: two identical ones cost twice for nothing. A geometry
    field indexed by name in Meta.indexes has spatial_index=False, or Django adds its own GiST
    index beside it (six tables had both until migration 0006/0007/0003 "spatial_index_once")."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT indrelid::regclass::text, array_agg(indexrelid::regclass::text ORDER BY 1)
            FROM pg_index JOIN pg_class c ON c.oid = indrelid
            WHERE c.relnamespace = 'public'::regnamespace
            GROUP BY indrelid, indkey::text, indclass::text,
                     coalesce(pg_get_expr(indpred, indrelid), ''),
                     coalesce(pg_get_expr(indexprs, indrelid), '')
            HAVING count(*) > 1
            """
        )
        twice = cursor.fetchall()
    assert twice == []
