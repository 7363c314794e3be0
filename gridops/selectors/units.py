"""Reads over patrol units, their tracks and alerts (selectors: keyword-only, typed).

The REST API and the pages read through these so that "a unit's live position" and "a track"
mean the same thing at every door.
"""

from django.db.models import QuerySet

from gridops.models import Alert, Unit

# A track is drawn as separate lines where two consecutive fixes are further apart than this, so
# a tracker that was off (tunnel, flat battery) is not drawn as a straight line across the map.
TRACK_GAP_SECONDS = 300
TRACK_DEFAULT_HOURS = 24
TRACK_MAX_DAYS = 7


def unit_list(*, team: str | None = None, kind: str | None = None, outside: bool | None = None) -> QuerySet:
    """Units with their team, live position first-class (the wall map reloads from this)."""
    qs = Unit.objects.select_related("team").order_by("code")
    if team:
        qs = qs.filter(team__code=team)
    if kind:
        qs = qs.filter(kind=kind)
    if outside is not None:
        qs = qs.filter(outside_since__isnull=not outside)
    return qs


def alert_list(*, status: str | None = None, kind: str | None = None, team: str | None = None) -> QuerySet:
    # The township's polygon is not needed for {code, name}: leave it in the database.
    qs = (
        Alert.objects.select_related("unit", "team", "township")
        .defer("township__geom")
        .order_by("-raised_at", "-id")
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if team:
        qs = qs.filter(team__code=team)
    return qs
