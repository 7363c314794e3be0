"""Read-only queries behind the pages, built on geodata.selectors so "valid today" and "the version
in force" mean the same thing on a page as in the API."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from geodata import selectors as geodata_selectors
from geodata.models import EnforcementZone, GridCell, Matter, Region, Team


@dataclass(frozen=True)
class CountyOverview:
    county_name: str | None
    county_code: str | None
    townships: int
    villages: int
    cells: int
    teams: int
    zones: int
    matters: int
    coverage_version: str | None


def county_overview(*, today: date | None = None) -> CountyOverview:
    """Today's counts for the page header: cells valid today (Asia/Shanghai), zones of the
    coverage version in force, active matters."""
    today = today or timezone.localdate()
    county = Region.objects.filter(level=Region.Level.COUNTY).order_by("code").only("code", "name").first()
    version = geodata_selectors.coverage_version_in_force()
    return CountyOverview(
        county_name=county.name if county else None,
        county_code=county.code if county else None,
        townships=Region.objects.filter(level__in=Region.TOWNSHIP_LEVELS).count(),
        villages=Region.objects.filter(level__in=Region.VILLAGE_LEVELS).count(),
        cells=GridCell.objects.filter(geodata_selectors.gridcell_valid_on_q(on=today)).count(),
        teams=Team.objects.count(),
        zones=EnforcementZone.objects.filter(version=version).count() if version else 0,
        matters=Matter.objects.filter(active=True).count(),
        coverage_version=version.name if version else None,
    )


def teams_for_dispatch() -> list[dict]:
    """Every team a dispatcher may assign a report to, comprehensive teams first."""
    rows = Team.objects.order_by("kind", "code").values("code", "name", "kind", "domain")
    return [dict(row) for row in rows]


def townships_for_filter() -> list[dict]:
    rows = Region.objects.filter(level__in=Region.TOWNSHIP_LEVELS).order_by("code").values("code", "name")
    return [dict(row) for row in rows]
