"""What every benchmark needs: a database of its own (next to the one DATABASE_URL names), a place
for its figures, and a local process's CPU time."""

import json
import os
from pathlib import Path


def database_url(name: str) -> str:
    """DATABASE_URL with its database name replaced by `name`."""
    base = os.environ.get("DATABASE_URL", "postgis://gridops:gridops@127.0.0.1:5432/gridops")
    return base.rsplit("/", 1)[0] + "/" + name


def _admin_url(url: str) -> str:
    return url.replace("postgis://", "postgresql://").rsplit("/", 1)[0] + "/postgres"


def ensure_database(url: str) -> None:
    """Create the database of `url` if it is missing (kept between runs), with PostGIS."""
    import psycopg

    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [dbname]).fetchone():
            conn.execute(f'create database "{dbname}"')
    with psycopg.connect(url.replace("postgis://", "postgresql://"), autocommit=True) as conn:
        conn.execute("create extension if not exists postgis")


def recreate_database(url: str) -> None:
    """Drop (forcing other sessions off) and create the database of `url`, with PostGIS."""
    import psycopg

    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{dbname}" with (force)')
        conn.execute(f'create database "{dbname}"')
    with psycopg.connect(url.replace("postgis://", "postgresql://"), autocommit=True) as conn:
        conn.execute("create extension if not exists postgis")


def use_database(name: str, *, fresh: bool = False, redis_url: str | None = None) -> str:
    """Point this process (and, through the environment, the servers it starts) at database `name`
    — recreated when `fresh`, else created if missing — and at `redis_url` if given; set Django
    up. Returns the database URL."""
    url = database_url(name)
    (recreate_database if fresh else ensure_database)(url)
    os.environ["DATABASE_URL"] = url
    if redis_url is not None:
        os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("GRIDOPS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    return url


def write_results(results: dict, out: str) -> Path:
    """Write a benchmark's figures as JSON to `out` (folders created); returns the path."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a local process from /proc (None where there is no such process or /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
