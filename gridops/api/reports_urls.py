"""Reports and camera alerts under /api/v1/ (namespace "api"): api:report-list, api:report-detail,
api:report-acknowledge, api:report-assign, api:camera-alert."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from gridops.api.reports import CameraAlertView, ReportViewSet

router = SimpleRouter(trailing_slash=True)
router.register("reports", ReportViewSet, basename="report")

urlpatterns = [
    path("camera-alerts/", CameraAlertView.as_view(), name="camera-alert"),
    *router.urls,
]
