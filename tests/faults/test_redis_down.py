"""(a) Redis stops under load (real gridops_serve against the throw-away cluster and a throw-away
redis-server): every report still answers 2xx and is stored; consoles that stayed connected and
consoles that reconnected with `since` after Redis came back have every report.created once."""

import pytest

from bench.faults import scenario_redis_down

pytestmark = pytest.mark.slow


def test_redis_stopped_under_load(fault_stack):
    r = scenario_redis_down(fault_stack, down_seconds=4, rate=10, consoles=4)
    assert r["answered_2xx"] > 40
    assert r["non_2xx"] == {} and r["server_500s"] == 0
    assert r["stored"] == r["answered_2xx"] and r["stored_missing"] == 0
    for group in ("staying", "resuming"):
        assert r[group]["consoles"] == 2
        assert r[group]["missing"] == 0 and r[group]["duplicated"] == 0 and r[group]["gaps"] == 0
        assert all(c["received"] == r["answered_2xx"] for c in r[group]["per_console"])
    assert all(c["connects"] >= 2 for c in r["resuming"]["per_console"])
