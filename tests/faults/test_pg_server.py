"""The throw-away cluster itself: PostGIS works, and stop / start / restart (fast and immediate)
do what the scenarios rely on — while it is stopped nothing answers on its port."""

import psycopg
import pytest

from tests.faults.pg_server import PgServer

pytestmark = pytest.mark.slow


@pytest.fixture
def pg():
    reason = PgServer.unavailable_reason()
    if reason:
        pytest.skip(f"no throw-away PostgreSQL here: {reason}")
    server = PgServer()
    server.start()
    yield server
    server.destroy()


def test_postgis_and_restart_modes(pg):
    url = pg.create_database("faults_probe").replace("postgis://", "postgresql://")
    with psycopg.connect(url) as conn:
        assert conn.execute("select postgis_version()").fetchone()[0].startswith("3.")
        conn.execute("create table t (id int primary key)")
        conn.execute("insert into t values (1)")
        conn.commit()
    held = psycopg.connect(url)
    for mode in ("fast", "immediate"):
        pg.stop(mode)
        assert not pg.is_running()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2)
        pg.start()
        with psycopg.connect(url) as conn:  # committed rows survive both, fsync=off or not
            assert conn.execute("select count(*) from t").fetchone()[0] == 1
    # A connection from before the restart is dead, not silently reconnected.
    with pytest.raises(psycopg.OperationalError):
        held.execute("select 1")
    held.close()
    pg.restart("fast")
    with psycopg.connect(url) as conn:
        assert conn.execute("select 1").fetchone()[0] == 1


def test_destroy_removes_the_cluster():
    if PgServer.unavailable_reason():
        pytest.skip(PgServer.unavailable_reason())
    pg = PgServer()
    pg.start()
    base = pg.base
    pg.destroy()
    assert not base.exists()
