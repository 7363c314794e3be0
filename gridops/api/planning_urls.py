"""Coverage-planning figures under /api/v1/ (namespace "api"): api:coverage-version-figures,
api:coverage-version-diff. Next to geodata's router for coverage-versions, which matches neither."""

from django.urls import path

from gridops.api.planning import CoverageDiffView, CoverageFiguresView

urlpatterns = [
    path(
        "coverage-versions/<int:pk>/figures/", CoverageFiguresView.as_view(), name="coverage-version-figures"
    ),
    path("coverage-versions/<int:pk>/diff/", CoverageDiffView.as_view(), name="coverage-version-diff"),
]
