"""效能监督: indicators and review exports (see gridops/api/indicators.py)."""

from django.urls import path, re_path

from gridops.api import indicators

urlpatterns = [
    path("indicators/", indicators.IndicatorsView.as_view(), name="indicators"),
    # A file-like address (no trailing slash), like the track exports.
    re_path(r"^indicators/review\.xlsx$", indicators.ReviewExportView.as_view(), name="indicators-review"),
]
