"""Operations API under /api/v1/ (same namespace "api" as geodata's). One module per area."""

from django.urls import include, path

from gridops.api import schema  # noqa: F401  (registers the device-key security scheme)
from gridops.api.command import CameraListView, SummaryView

urlpatterns = [
    path("", include("gridops.api.pings_urls")),  # first: trackers post many times a second
    path("", include("gridops.api.reports_urls")),
    path("", include("gridops.api.planning_urls")),
    path("", include("gridops.api.indicators_urls")),
    path("summary/", SummaryView.as_view(), name="summary"),
    path("cameras/", CameraListView.as_view(), name="camera-list"),
]
