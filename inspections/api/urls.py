"""/api/v1/inspections/ (namespace "inspections"); see inspections/api/views.py for the table."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from inspections.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("targets", views.TargetViewSet, basename="target")
router.register("inspectors", views.InspectorViewSet, basename="inspector")
router.register("conflicts", views.ConflictViewSet, basename="conflict")
router.register("plans", views.PlanViewSet, basename="plan")
router.register("joint-visits", views.JointVisitViewSet, basename="joint-visit")
router.register("draws", views.DrawViewSet, basename="draw")
router.register("public/draws", views.PublicDrawViewSet, basename="public-draw")

app_name = "inspections"
urlpatterns = [
    path("joint-visits/proposals/", views.ProposalView.as_view(), name="joint-visit-proposals"),
    path("indicators/", views.IndicatorsView.as_view(), name="indicators"),
    *router.urls,
]
