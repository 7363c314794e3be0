"""The production topology in docker-compose.yml names services that exist and run real commands."""

import importlib
import shutil
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_services_exist():
    services = load_compose()["services"]
    assert {"db", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    assert "postgis" in services["db"]["image"]
    assert services["redis"]["image"].startswith("redis:7")


def test_app_services_point_at_real_commands():
    services = load_compose()["services"]
    web = services["web"]["command"]
    assert web[0] == "uvicorn"
    module, attr = web[1].split(":")
    assert hasattr(importlib.import_module(module), attr)

    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "config"]
        assert command[3] == name
        assert importlib.import_module("config").celery_app.main == "gridops"
        assert shutil.which("celery", path=str(ROOT / ".venv" / "bin")) or shutil.which("celery")

    migrate = services["migrate"]["command"]
    assert migrate[:2] == ["python", "manage.py"] and migrate[2] in get_commands()


def test_app_services_share_configuration():
    services = load_compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgis://") and "@db:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert set(services[name]["depends_on"]) == {"db", "redis"}
