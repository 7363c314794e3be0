"""Reads over patrol units, their tracks and alerts (selectors: keyword-only, typed).

The REST API and the pages read through these so that "a unit's live position" and "a track"
mean the same thing at every door.
"""

from datetime import datetime, timedelta

from django.db.models import F, FloatField, Func, QuerySet
from django.utils import timezone

from gridops.models import Alert, Unit

# A track is drawn as separate lines where two consecutive fixes are further apart than this, so
# a tracker that was off (tunnel, flat battery) is not drawn as a straight line across the map.
TRACK_GAP_SECONDS = 300
TRACK_DEFAULT_HOURS = 24
TRACK_MAX_DAYS = 7


class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


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


def unit_track(*, unit: Unit, start: datetime, end: datetime, gap_seconds: int = TRACK_GAP_SECONDS) -> dict:
    """The unit's pings in [start, end] as one GeoJSON Feature.

    geometry: a MultiLineString, one line per run of fixes without a gap > `gap_seconds`
    (null when no run has two fixes). properties.times / speeds / headings are nested like the
    coordinates (times[k][j] is the time of coordinates[k][j]); a fix alone between two gaps
    cannot make a line and is listed in properties.isolated instead.
    """
    rows = (
        unit.pings.filter(fixed_at__gte=start, fixed_at__lte=end)
        .order_by("fixed_at")
        .annotate(x=_X(F("point")), y=_Y(F("point")))
        .values_list("fixed_at", "x", "y", "speed", "heading")
    )
    gap = timedelta(seconds=gap_seconds)
    runs: list[list[tuple]] = []
    previous = None
    for row in rows.iterator(chunk_size=5000):
        if previous is None or row[0] - previous > gap:
            runs.append([])
        runs[-1].append(row)
        previous = row[0]

    def iso(value: datetime) -> str:
        return timezone.localtime(value).isoformat()

    lines = [run for run in runs if len(run) > 1]
    isolated = [run[0] for run in runs if len(run) == 1]
    return {
        "type": "Feature",
        "id": unit.pk,
        "geometry": (
            {"type": "MultiLineString", "coordinates": [[[r[1], r[2]] for r in run] for run in lines]}
            if lines
            else None
        ),
        "properties": {
            "unit": {"id": unit.pk, "code": unit.code, "name": unit.name},
            "start": iso(start),
            "end": iso(end),
            "count": sum(len(run) for run in runs),
            "gap_seconds": gap_seconds,
            "segments": [
                {"start": iso(run[0][0]), "end": iso(run[-1][0]), "count": len(run)} for run in lines
            ],
            "times": [[iso(r[0]) for r in run] for run in lines],
            "speeds": [[r[3] for r in run] for run in lines],
            "headings": [[r[4] for r in run] for run in lines],
            "isolated": [
                {"time": iso(r[0]), "point": [r[1], r[2]], "speed": r[3], "heading": r[4]} for r in isolated
            ],
        },
    }


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
