from django.contrib.auth import views as auth_views
from django.urls import path

from frontend.command import CommandView
from frontend.dashboard import DashboardView
from frontend.field import FieldCasesView, FieldPageView
from frontend.inspections import InspectionsView, PublicInspectionsView
from frontend.phone import ReportPageView, report_service_worker
from frontend.planner import PlannerView
from frontend.public import PublicCasesView
from frontend.record import CaseRecordView
from frontend.replay import ReplayView
from frontend.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("command/", CommandView.as_view(), name="command"),
    path("report/", ReportPageView.as_view(), name="report"),
    path("report/sw.js", report_service_worker, name="report-sw"),
    path("replay/", ReplayView.as_view(), name="replay"),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    path("field/", FieldPageView.as_view(), name="field"),
    path("field/cases/", FieldCasesView.as_view(), name="field-cases"),
    path("planner/", PlannerView.as_view(), name="planner"),
    path("cases/<int:pk>/record/", CaseRecordView.as_view(), name="case-record"),
    path("public/cases/", PublicCasesView.as_view(), name="public-cases"),
    path("inspections/", InspectionsView.as_view(), name="inspections"),
    path("public/inspections/", PublicInspectionsView.as_view(), name="public-inspections"),
    # Everyone signs in here (grid workers and officers are not admin staff); see settings.LOGIN_URL.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
