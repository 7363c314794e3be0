"""(c) Consoles reconnecting every second or two (half closing cleanly, half dropping the TCP
connection) while reports flow: each resumes with `since` = the last seq it applied and ends
with every report.created exactly once, in a gap-free sequence."""

import pytest

from bench.faults import scenario_reconnecting_consoles

pytestmark = pytest.mark.slow


def test_consoles_reconnecting_miss_nothing_and_see_nothing_twice(fault_stack):
    r = scenario_reconnecting_consoles(fault_stack, consoles=3, seconds=10, rate=10, every=(1.0, 2.0))
    assert r["reports"] > 50 and r["non_2xx"] == {}
    assert r["connects"] >= 3 * 4, "the consoles did not reconnect several times"
    assert r["missing"] == 0 and r["duplicated"] == 0 and r["gaps"] == 0 and r["reloads"] == 0
    assert all(c["received"] == r["reports"] for c in r["per_console"])
