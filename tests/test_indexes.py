"""The indexes of our tables, read from PostgreSQL's catalogue after the migrations ran.

Every index is written by every insert (and by every update that is not HOT), so an index no query
needs is paid for on the busiest paths; and a foreign key without an index leading with its column
makes each delete of the referenced row scan the whole referencing table. Migration gridops 0009
took gridops_report from 23 indexes to 18 (a phone's new report: 21 index entries to 12).
"""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

APPS = ("geodata_", "gridops_", "workcalendar_", "inspections_")
# Tables Django makes for a many-to-many field without a `through` model: their indexes are
# Django's to choose (each side's own index beside the unique pair). Written when a planner edits
# a scope or a cell's workers, never on an intake path.
DJANGOS_OWN = ("geodata_gridcell_workers", "geodata_userscope_teams", "geodata_userscope_townships")


def _indexes() -> list[dict]:
    """Our tables' indexes: table, name, key columns in order, predicate (or None), unique."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, i.relname, ix.indisunique,
                   ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                         ORDER BY k.n),
                   pg_get_expr(ix.indpred, ix.indrelid),
                   am.amname,
                   ix.indexprs IS NOT NULL,
                   ARRAY(SELECT opc.opcname FROM unnest(ix.indclass) c(oid)
                         JOIN pg_opclass opc ON opc.oid = c.oid)
            FROM pg_index ix
            JOIN pg_class t ON t.oid = ix.indrelid
            JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_am am ON am.oid = i.relam
            JOIN pg_namespace ns ON ns.oid = t.relnamespace
            WHERE ns.nspname = current_schema() AND t.relkind IN ('r', 'p')
            """
        )
        rows = cursor.fetchall()
    return [
        {
            "table": table,
            "name": name,
            "unique": unique,
            "columns": list(columns),
            "predicate": predicate,
            "method": method,
            "expressions": expressions,
            "opclasses": list(opclasses),
        }
        for table, name, unique, columns, predicate, method, expressions, opclasses in rows
        if table.startswith(APPS)
    ]


def _foreign_keys() -> list[tuple[str, str, str]]:
    """(table, column, constraint) of every single-column foreign key of our tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, a.attname, c.conname
            FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_namespace ns ON ns.oid = t.relnamespace
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1 AND ns.nspname = current_schema()
            """
        )
        return [row for row in cursor.fetchall() if row[0].startswith(APPS)]


def _serves_lookups_of(index: dict, column: str) -> bool:
    """The index answers `column = value` (what a delete of the referenced row runs): a btree
    leading with the column, on every row or on the rows where the column is set."""
    if index["method"] != "btree" or index["expressions"] or index["columns"][:1] != [column]:
        return False
    return index["predicate"] in (None, f"({column} IS NOT NULL)")


def test_every_foreign_key_leads_an_index():
    indexes = _indexes()
    missing = [
        f"{table}.{column} ({constraint})"
        for table, column, constraint in _foreign_keys()
        if not any(i["table"] == table and _serves_lookups_of(i, column) for i in indexes)
    ]
    assert missing == []


def test_no_index_is_covered_by_another():
    """A btree on columns (a) beside one on (a, b) with the same predicate answers nothing the
    longer one does not, and costs every insert. Unique indexes are constraints and stay."""
    indexes = [
        i
        for i in _indexes()
        if i["method"] == "btree" and not i["expressions"] and i["table"] not in DJANGOS_OWN
    ]
    redundant = []
    for short in indexes:
        if short["unique"]:
            continue
        for long in indexes:
            if (
                long is not short
                and long["table"] == short["table"]
                and long["predicate"] == short["predicate"]
                and len(long["columns"]) > len(short["columns"])
                and long["columns"][: len(short["columns"])] == short["columns"]
                and long["opclasses"][: len(short["opclasses"])] == short["opclasses"]
            ):
                redundant.append(f"{short['name']} (covered by {long['name']})")
    assert redundant == []


def test_no_like_only_copies_on_the_report_table():
    """Django adds a varchar_pattern_ops copy beside a text column's index for LIKE 'x%'; no query
    of the report table matches status or the idempotency key that way."""
    pattern_ops = [
        i["name"]
        for i in _indexes()
        if i["table"] == "gridops_report" and "varchar_pattern_ops" in i["opclasses"]
    ]
    assert pattern_ops == []


def test_a_new_reports_index_entries():
    """The indexes a phone's new report is entered in: those without a predicate, and the partial
    ones whose column it sets (none: no device, camera, unit, handler, deadline yet)."""
    report = [i for i in _indexes() if i["table"] == "gridops_report"]
    every_row = sorted(",".join(i["columns"]) for i in report if i["predicate"] is None)
    assert every_row == [
        "cell_id",
        "coverage_version_id",
        "id",
        "idempotency_key",
        "matter_id",
        "point",
        "received_at",
        "reporter_id",
        "status",
        "team_id,status",
        "township_id,received_at",
        "zone_id",
    ]
    partial = sorted(i["predicate"] for i in report if i["predicate"] is not None)
    assert partial == [
        "(assigned_unit_id IS NOT NULL)",
        "(camera_id IS NOT NULL)",
        "(device_id IS NOT NULL)",
        "(due_at IS NOT NULL)",
        "(escalated_from_id IS NOT NULL)",
        "(handler_id IS NOT NULL)",
    ]
