"""Reads behind the officer's phone page (`/field/`): who the officer is and the cases in their hands.

The REST list (`GET /api/v1/reports/?team=&status=`) has no handler nor assigned unit on its rows,
and the page needs both at once: "待签收" is every case dispatched to the officer's team (those
dispatched to one of its units stand out), "办理中" and "待核查" are only the ones this officer
accepted. One query answers the three lists; the live events (`case.updated`, which carries
`handler_id` and `assigned_unit`) keep them current afterwards.
"""

from django.db.models import Q, QuerySet

from geodata.models import Officer
from gridops.models import Report
from gridops.selectors.reports import report_list

OFFICER_GROUP = "officer"
S = Report.Status

# The states the page lists: waiting for the team to accept, in this officer's hands, waiting for
# someone else to verify this officer's work.
FIELD_WAITING = (S.DISPATCHED,)
FIELD_IN_HAND = (S.ACCEPTED, S.HANDLING)
FIELD_TO_VERIFY = (S.HANDLED,)
FIELD_STATUSES = (*FIELD_WAITING, *FIELD_IN_HAND, *FIELD_TO_VERIFY)
# A phone list, not an archive: the newest this many cases (a team never has that many waiting).
FIELD_CASES_MAX = 200


def field_officer(*, user) -> Officer | None:
    """The roster line of a signed-in member of the `officer` group, or None (not an officer)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not user.groups.filter(name=OFFICER_GROUP).exists():
        return None
    return Officer.objects.filter(user=user).select_related("team").defer("team__base").first()


def field_cases(*, officer: Officer, limit: int = FIELD_CASES_MAX) -> list[Report]:
    """The cases the officer's page lists: dispatched to their team, or accepted by them and not
    yet verified; newest first (the page orders each list by urgency)."""
    queryset: QuerySet[Report] = (
        report_list(team=officer.team.code, status=list(FIELD_STATUSES))
        .filter(Q(status__in=FIELD_WAITING) | Q(handler_id=officer.user_id))
        .select_related("assigned_unit")
        .defer("assigned_unit__fix_point")
    )
    return list(queryset[:limit])
