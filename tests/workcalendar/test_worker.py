"""A real Celery worker (`celery -A config worker`, the command of `make demo` and the compose
`worker` service) takes a task from the Redis broker, runs it against the test database and sends
the result back; then it stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection

from tests.workcalendar.schedules import ensure_bundled_schedules

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def worker_queue(django_db_setup, django_db_blocker):
    """A worker on a queue of its own (nothing else on this Redis consumes it), using the test
    database and a Redis result backend. The 2025/2026 schedule is committed there as the migration
    left it (a transactional test before this one may have flushed it)."""
    with django_db_blocker.unblock():
        ensure_bundled_schedules()
    db = connection.settings_dict
    database_url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    queue = f"workcalendar-test-{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_RESULT_BACKEND=settings.CELERY_BROKER_URL,
        GRIDOPS_DB_POOL="0",
    )
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", queue]
    command += [
        "-n",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "info",
    ]
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield queue, worker
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()


def test_a_real_worker_runs_the_calendar_check(worker_queue):
    queue, worker = worker_queue
    client = Celery(
        "workcalendar-test", broker=settings.CELERY_BROKER_URL, backend=settings.CELERY_BROKER_URL
    )
    try:
        result = client.send_task(
            "workcalendar.tasks.calendar_check", kwargs={"today": "2026-12-05"}, queue=queue
        )
        answer = result.get(timeout=30)
        result.forget()
    finally:
        client.close()
    assert answer == {
        "today": "2026-12-05",
        "year": 2026,
        "days": 39,
        "next_year": 2027,
        "next_year_days": 0,
        "ok": False,
    }

    worker.send_signal(signal.SIGTERM)  # a warm shutdown: finish the current task, then exit
    output = worker.communicate(timeout=15)[0].decode()
    assert worker.returncode == 0, output
    assert "workcalendar.tasks.calendar_check" in output and "succeeded" in output
    assert "the 2027 schedule is not loaded" in output  # the warning reaches the worker's log
