"""执法全过程记录: the hash chain over a case's steps, and its verification.

Each CaseEvent's hash is SHA-256 over a canonical JSON of what the step says (case, sequence number,
action, states, actor, time in UTC to the microsecond, location, note, data) and the previous
step's hash. Changing any of those in a stored row, removing a row or reordering rows changes the
hash from that row on; the report row holds the last link (`record_seq`, `record_hash`), so
removing the newest steps is caught as well.

Verification reads the chains in one ordered query and names every broken case with the first
row at fault and why.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC

from django.db.models import QuerySet

from gridops.models import CaseEvent, Report


def event_content(
    *, report_id, seq, action, from_status, to_status, actor_id, actor_name, at, point, note, data
):
    """The canonical content of a step (what the hash covers)."""
    return {
        "report": report_id,
        "seq": seq,
        "action": action,
        "from": from_status,
        "to": to_status,
        "actor": actor_id,
        "actor_name": actor_name,
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "point": [round(point.x, 7), round(point.y, 7)] if point is not None else None,
        "note": note,
        "data": data,
    }


def chain_hash(content: dict, prev_hash: str) -> str:
    body = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def report_genesis(report: Report) -> str:
    """The first link of a case's chain: the report's intake facts that never change (id, source,
    time received, place, description, reporter). Altering them after the first step breaks it."""
    content = {
        "report": report.pk,
        "source": report.source,
        "received_at": report.received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "point": [round(report.point.x, 7), round(report.point.y, 7)],
        "description": report.description,
        "reporter": report.reporter_id,
    }
    return chain_hash(content, "")


def event_hash(event: CaseEvent) -> str:
    """The hash a stored row should have, recomputed from its columns."""
    content = event_content(
        report_id=event.report_id,
        seq=event.seq,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        actor_id=event.actor_id,
        actor_name=event.actor_name,
        at=event.at,
        point=event.point,
        note=event.note,
        data=event.data,
    )
    return chain_hash(content, event.prev_hash)


@dataclass(frozen=True)
class RecordProblem:
    report_id: int
    number: str
    seq: int | None  # the first row at fault (None: the report's head, i.e. rows are missing at the end)
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"#{self.seq} (id {self.event_id})" if self.seq is not None else "head"
        return f"{self.number} {where}: {self.reason}"


def _check_case(report: Report, events: list[CaseEvent]) -> RecordProblem | None:
    def problem(event: CaseEvent | None, reason: str) -> RecordProblem:
        return RecordProblem(
            report.pk,
            report.number,
            event.seq if event else None,
            event.pk if event else None,
            reason,
        )

    prev = report_genesis(report) if events else ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return problem(event, f"row #{expected_seq} is missing (the next stored row is #{event.seq})")
        if event.prev_hash != prev:
            reason = (
                "the report's intake facts were altered after the record began"
                if expected_seq == 1
                else "its link to the previous row does not match (a row before it was changed)"
            )
            return problem(event, reason)
        if event_hash(event) != event.hash:
            return problem(event, "its content was altered after it was recorded")
        prev = event.hash
    head = events[-1].hash if events else ""
    if report.record_seq != len(events) or report.record_hash != head:
        return problem(
            None,
            f"the case records {report.record_seq} rows ending in {report.record_hash[:12] or '-'}, "
            f"the table holds {len(events)} ending in {head[:12] or '-'} (rows removed at the end)",
        )
    return None


def _grouped(reports: QuerySet[Report]) -> Iterator[tuple[Report, list[CaseEvent]]]:
    by_report: dict[int, list[CaseEvent]] = {}
    report_ids = list(reports.values_list("pk", flat=True))
    for start in range(0, len(report_ids), 2000):
        chunk = report_ids[start : start + 2000]
        by_report.clear()
        for event in CaseEvent.objects.filter(report_id__in=chunk).order_by("report_id", "seq"):
            by_report.setdefault(event.report_id, []).append(event)
        for report in (
            Report.objects.filter(pk__in=chunk)
            .order_by("pk")
            .only(
                "pk",
                "source",
                "received_at",
                "point",
                "description",
                "reporter_id",
                "record_seq",
                "record_hash",
            )
        ):
            yield report, by_report.get(report.pk, [])


def record_verify(
    *, reports: Iterable[Report] | QuerySet[Report] | None = None
) -> tuple[int, list[RecordProblem]]:
    """Check the chains of these cases (default: every case with a record). Returns (cases checked,
    problems), one problem per broken case."""
    if reports is None:
        queryset = Report.objects.filter(record_seq__gt=0) | Report.objects.filter(
            pk__in=CaseEvent.objects.values("report_id")
        )
    elif isinstance(reports, QuerySet):
        queryset = reports
    else:
        queryset = Report.objects.filter(pk__in=[r.pk for r in reports])
    checked = 0
    problems = []
    for report, events in _grouped(queryset.distinct()):
        checked += 1
        found = _check_case(report, events)
        if found:
            problems.append(found)
    return checked, problems
