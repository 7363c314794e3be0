"""Who may listen to which live stream: decided here and nowhere else.

    superuser, staff, groups dispatcher / supervisor / admin   any stream
    group officer with an Officer record                      team:<their team>
    group grid_worker                                         township:<township of a cell they work in>

The websocket consumer asks `live_stream_allowed` once at connect; the REST API can ask the same
question when it serves the snapshot a console loads before listening.
"""

import re

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from geodata.models import Officer
from gridops.realtime.events import COUNTY_STREAM

# Codes are ASCII (township codes are digits, team codes slugs); channel group names allow only
# letters, digits, hyphens, underscores and periods and must stay under 100 characters.
STREAM_RE = re.compile(r"^(?:county|(?P<kind>township|team):(?P<code>[A-Za-z0-9_-]{1,40}))$")

ANY_STREAM_GROUPS = ("dispatcher", "supervisor", "admin")
OFFICER_GROUP = "officer"
GRID_WORKER_GROUP = "grid_worker"


def live_stream_valid(stream: str) -> bool:
    """Is this the syntax of a stream ("county", "township:<code>", "team:<code>")?"""
    return bool(STREAM_RE.match(stream))


def live_stream_allowed(user: AbstractBaseUser | AnonymousUser, stream: str) -> bool:
    """May this user listen to this stream? Unauthenticated users and bad syntax: never."""
    match = STREAM_RE.match(stream)
    if match is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.is_staff:
        return True
    groups = set(user.groups.values_list("name", flat=True))
    if groups.intersection(ANY_STREAM_GROUPS):
        return True
    if stream == COUNTY_STREAM:
        return False
    kind, code = match.group("kind"), match.group("code")
    if kind == "team" and OFFICER_GROUP in groups:
        return Officer.objects.filter(user=user, team__code=code).exists()
    if kind == "township" and GRID_WORKER_GROUP in groups:
        return user.grid_cells.filter(township__code=code).exists()
    return False


def live_default_stream(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The widest stream this user may listen to (what a console opens by default), or None."""
    if not user.is_authenticated:
        return None
    if live_stream_allowed(user, COUNTY_STREAM):
        return COUNTY_STREAM
    candidates = []
    officer = Officer.objects.filter(user=user).select_related("team").first()
    if officer is not None:
        candidates.append(f"team:{officer.team.code}")
    township = user.grid_cells.order_by("township__code").values_list("township__code", flat=True).first()
    if township:
        candidates.append(f"township:{township}")
    return next((s for s in candidates if live_stream_allowed(user, s)), None)
