"""Celery application: SLA timers, long imports and digests run here (broker: Redis)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("gridops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
