"""/open311/v2/…: every resource answers with and without the `.json` extension."""

from django.urls import re_path

from gridops.open311 import views

app_name = "open311"
_JSON = r"(?:\.json)?$"

urlpatterns = [
    re_path(r"^discovery" + _JSON, views.DiscoveryView.as_view(), name="discovery"),
    re_path(r"^services" + _JSON, views.ServiceListView.as_view(), name="services"),
    re_path(r"^services/(?P<code>[^/]+?)" + _JSON, views.ServiceDefinitionView.as_view(), name="service"),
    re_path(r"^requests" + _JSON, views.RequestListView.as_view(), name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]+?)" + _JSON, views.RequestDetailView.as_view(), name="request"),
]
