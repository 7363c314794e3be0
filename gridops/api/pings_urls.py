"""GPS pings, patrol units and alerts (see gridops/api/pings.py)."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from gridops.api import pings

router = SimpleRouter(trailing_slash=True)
router.register("units", pings.UnitViewSet, basename="unit")
router.register("alerts", pings.AlertViewSet, basename="alert")

urlpatterns = [
    path("pings/", pings.PingBatchView.as_view(), name="pings"),
    *router.urls,
    # Track exports: file-like URLs without a trailing slash, so not router @actions.
    re_path(
        r"^units/(?P<pk>[^/.]+)/track\.gpx$",
        pings.UnitViewSet.as_view({"get": "track_gpx"}),
        name="unit-track-gpx",
    ),
    re_path(
        r"^units/(?P<pk>[^/.]+)/track\.geojson$",
        pings.UnitViewSet.as_view({"get": "track_geojson"}),
        name="unit-track-geojson",
    ),
]
