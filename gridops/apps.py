from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridopsConfig(AppConfig):
    name = "gridops"
    verbose_name = _("指挥调度")
