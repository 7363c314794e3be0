"""`manage.py check --deploy` is clean with the production settings: GRIDOPS_DEBUG=0 and the
environment docker-compose.yml gives the app, behind TLS (GRIDOPS_HTTPS=1), with a real secret
from the environment. Secrets are never defaults in production.

Each case runs manage.py in a subprocess: settings are read once, at start-up, from the
environment, which is exactly what is under test.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose_app_env() -> dict[str, str]:
    """The app's environment in docker-compose.yml, with ${VAR:-default} / ${VAR:?msg} resolved
    as compose would for an operator who set nothing but the required variables."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    raw = compose["x-app"]["environment"]

    def variable(m: re.Match) -> str:
        name, kind, default = m.group(1), m.group(2), m.group(3)
        if kind == "-":  # ${VAR:-default}: the default when unset or empty
            return os.environ.get(name) or default
        return os.environ.get(name, "")  # ${VAR} and ${VAR:?message}

    def resolve(value: str) -> str:
        return re.sub(r"\$\{(\w+)(?::([-?])([^}]*))?\}", variable, str(value))

    return {k: resolve(v) for k, v in raw.items()}


def _run(extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDOPS_", "SECRET_KEY", "DJANGO_"))}
    env.update(_compose_app_env())
    # The hosts of the compose network (db, redis) do not resolve here: the local services instead.
    env["DATABASE_URL"] = os.environ.get("DATABASE_URL", "postgis://gridops:gridops@127.0.0.1:5432/gridops")
    env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env["GRIDOPS_DB_POOL"] = "0"
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_compose_runs_the_app_without_debug():
    assert _compose_app_env()["GRIDOPS_DEBUG"] == "0"


def test_check_deploy_is_clean_with_the_production_settings():
    done = _run(
        {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "GRIDOPS_HTTPS": "1",
            "ALLOWED_HOSTS": "gridops.example.gov.cn",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_without_https_the_check_names_what_is_missing():
    """The same check fails, naming the HTTPS settings, when GRIDOPS_HTTPS is left off."""
    done = _run({"SECRET_KEY": secrets.token_urlsafe(50)}, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr


@pytest.mark.parametrize("secret", ["", "dev-only-insecure-key-change-me"])
def test_production_refuses_to_start_without_a_secret_from_the_environment(secret):
    done = _run({"SECRET_KEY": secret}, "check")
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr
