import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config import health
from gridops.api.media import ReportPhotoFileView

admin.site.site_header = _("GridOps 网格化综合行政执法管理后台")
admin.site.site_title = _("GridOps 管理后台")
admin.site.index_title = _("数据管理")

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/inspections/", include("inspections.api.urls")),
    path("api/v1/", include("geodata.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("open311/v2/", include("gridops.open311.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Report photos, to those who may see their report (gridops/api/media.py), whatever serves
    # the static files: MEDIA_ROOT is never published as a directory.
    re_path(
        rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$",
        ReportPhotoFileView.as_view(),
        name="media",
    ),
    path("", include("frontend.urls")),
]
