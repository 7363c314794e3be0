from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeodataConfig(AppConfig):
    name = "geodata"
    verbose_name = _("责任地图")

    def ready(self) -> None:
        from geodata import signals  # noqa: F401  (registers the revision bumps)
