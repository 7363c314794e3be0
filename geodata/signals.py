"""Single saves through the ORM (admin, API, shell) bump the geodata revision. Bulk loaders
(import, demo) bypass signals and bump once themselves."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from geodata.models import CoverageVersion, EnforcementZone, GridCell, Matter, Region, Team, ZoneCell
from geodata.revision import geodata_revision_bump

_TRACKED = (Region, GridCell, Team, CoverageVersion, EnforcementZone, ZoneCell, Matter)


@receiver(post_save)
@receiver(post_delete)
def _bump_on_change(sender, **kwargs):
    if sender in _TRACKED and not kwargs.get("raw"):
        geodata_revision_bump()


@receiver(m2m_changed, sender=EnforcementZone.cells.through)
def _bump_on_zone_cells(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        geodata_revision_bump()
