"""What every benchmark needs to get a database of its own (next to the one DATABASE_URL names)."""

import os


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
