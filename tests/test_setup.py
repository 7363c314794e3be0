"""The set-up is idempotent: `make test` has just run scripts/setup.sh, so running it again must
install, create and start nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not Path("/usr/bin/dpkg-query").exists(), reason="Debian set-up script")
def test_second_setup_run_changes_nothing():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        ["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stdout.splitlines() if "[setup]" in line]
    assert all(("migrating" in s) or ("ready" in s) for s in steps), steps


def run_check(**env_overrides) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("TILE_URL", "https://tiles.example/tile.png", "TILE_URL must be a template"),
        ("DATABASE_URL", "sqlite:///tmp/x.db", "DATABASE_URL must point at PostgreSQL"),
        ("GRIDOPS_DB_POOL", "maybe", "GRIDOPS_DB_POOL must be a boolean"),
        ("GRIDOPS_SERVICE_AREA_BBOX", "122,29,121,30", "GRIDOPS_SERVICE_AREA_BBOX"),
    ],
)
def test_bad_settings_stop_start_up_with_their_name(name, value, message):
    done = run_check(**{name: value})
    assert done.returncode != 0
    assert message in done.stderr


def test_good_tile_url_is_accepted():
    done = run_check(
        TILE_URL="https://t0.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k"
    )
    assert done.returncode == 0, done.stderr
