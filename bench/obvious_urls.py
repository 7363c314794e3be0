"""The platform's URLs and, before them, the obvious way to take a report (bench/obvious.py)."""

from django.urls import path

from bench.obvious import ObviousReportCreate
from config.urls import urlpatterns as site

urlpatterns = [path("bench/obvious/reports/", ObviousReportCreate.as_view()), *site]
