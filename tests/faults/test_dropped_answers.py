"""(d) Phones whose answers are lost after the server committed (a proxy drops 20% of them and
closes the connection) resend the same report, same client_uuid, until they get an answer:
every report is stored exactly once, the resends are answered 200 (replay)."""

import pytest

from bench.faults import scenario_dropped_answers

pytestmark = pytest.mark.slow


def test_phones_retrying_through_dropped_answers_store_each_report_once(fault_stack):
    r = scenario_dropped_answers(fault_stack, reports=300, phones=6, drop=0.2)
    assert r["answers_dropped"] > 20, "the proxy dropped (almost) nothing"
    assert r["replayed_200"] > 0
    assert r["answered"] == 300
    assert r["stored"] == 300 and r["distinct_stored"] == 300
    assert r["duplicates"] == 0 and r["missing"] == 0
    # One final answer per report: 201, or 200 (a replay) when an earlier answer was dropped.
    assert r["created_201"] + r["replayed_200"] == 300
    assert r["replayed_200"] <= r["answers_dropped"]
    assert r["server_500s"] == 0
