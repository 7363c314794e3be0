from django.urls import include, path
from rest_framework.routers import DefaultRouter

from geodata.api import views

router = DefaultRouter(trailing_slash=True)
router.register("regions", views.RegionViewSet, basename="region")
router.register("cells", views.GridCellViewSet, basename="cell")
router.register("teams", views.TeamViewSet, basename="team")
router.register("coverage-versions", views.CoverageVersionViewSet, basename="coverage-version")
router.register("zones", views.ZoneViewSet, basename="zone")
router.register("matters", views.MatterViewSet, basename="matter")

app_name = "api"
urlpatterns = [
    path("route/", views.RouteView.as_view(), name="route"),
    path("tiles/cells/<int:z>/<int:x>/<int:y>.pbf", views.CellTileView.as_view(), name="cell-tile"),
    *router.urls,
    # Operations (reports, camera alerts, pings, units) share the /api/v1/ prefix and namespace.
    path("", include("gridops.api.urls")),
]
