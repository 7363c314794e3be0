"""The production topology in docker-compose.yml names services that exist and run real commands."""

import importlib
import shutil
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_services_exist():
    services = load_compose()["services"]
    assert {"db", "redis", "web", "relay", "worker", "beat", "migrate"} <= set(services)
    assert "postgis" in services["db"]["image"]
    assert services["redis"]["image"].startswith("redis:7")


def test_app_services_point_at_real_commands():
    services = load_compose()["services"]
    web = services["web"]["command"]
    assert web[:3] == ["python", "manage.py", "gridops_serve"] and "--no-relay" in web
    assert hasattr(importlib.import_module("config.asgi"), "application")  # what gridops_serve serves

    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "config"]
        assert command[3] == name
        assert importlib.import_module("config").celery_app.main == "gridops"
        assert shutil.which("celery", path=str(ROOT / ".venv" / "bin")) or shutil.which("celery")

    for name in ("migrate", "relay"):
        command = services[name]["command"]
        assert command[:2] == ["python", "manage.py"] and command[2] in get_commands()
    assert services["web"]["environment"]["GRIDOPS_OUTBOX_RELAY"] == "process"  # the relay numbers


def test_app_services_share_configuration():
    services = load_compose()["services"]
    for name in ("web", "relay", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgis://") and "@db:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert set(services[name]["depends_on"]) == {"db", "redis"}


@pytest.mark.django_db
def test_web_replicas_sit_behind_the_proxy_with_health_checks():
    """Several web replicas, none publishing a host port; nginx (deploy/nginx.conf) in front,
    re-resolving the replicas and upgrading websockets; the replicas' health check is /readyz."""
    services = load_compose()["services"]
    web, proxy = services["web"], services["proxy"]
    assert web["deploy"]["replicas"] >= 2
    assert "ports" not in web and web["expose"] == ["8000"]
    assert "/readyz" in " ".join(web["healthcheck"]["test"])
    assert proxy["image"].startswith("nginx:")
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    mount = next(v for v in proxy["volumes"] if v.endswith(":/etc/nginx/nginx.conf:ro"))
    conf = (ROOT / mount.split(":")[0]).read_text(encoding="utf-8")
    assert "http://web:8000" in conf and "resolver 127.0.0.11" in conf
    assert "proxy_set_header Upgrade $http_upgrade" in conf
    assert conf.count("{") == conf.count("}")
    from django.test import Client

    assert Client().get("/readyz").status_code in (200, 503)  # the address the health check asks
