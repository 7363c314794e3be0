"""GPS pings, patrol units and alerts (see gridops/api/pings.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from gridops.api import pings

router = SimpleRouter(trailing_slash=True)
router.register("units", pings.UnitViewSet, basename="unit")
router.register("alerts", pings.AlertViewSet, basename="alert")

urlpatterns = [
    path("pings/", pings.PingBatchView.as_view(), name="pings"),
    *router.urls,
]
