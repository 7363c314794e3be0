"""One throw-away PostgreSQL cluster (migrated, demo county seeded) for every fault test of the
session; each scenario starts its own server processes and throw-away Redis against it and marks
its reports, so the scenarios do not see each other's data. The shared PostgreSQL and Redis are
never stopped or reconfigured."""

import shutil

import pytest

from tests.faults.pg_server import PgServer


@pytest.fixture(scope="session")
def fault_stack():
    reason = PgServer.unavailable_reason()
    if reason:
        pytest.skip(f"no throw-away PostgreSQL here: {reason}")
    if not (shutil.which("redis-server") or shutil.which("/usr/bin/redis-server")):
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    from bench.faults import Stack

    stack = Stack.build(cells=600, workers=1)
    yield stack
    stack.close()
