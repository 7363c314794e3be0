"""Who sees what: the one place that answers "what may this user see".

Reports carry people's names, phones and locations, and unit tracks are location tracks of
people (sensitive personal information under PIPL), so every door — the REST API, the websocket,
the pages, the exports and the admin — asks here instead of deciding for itself.

    superuser, admin group       everything, every stream, every page
    dispatcher / supervisor      no UserScope row (or county_wide): everything operational, any stream
      with a UserScope row       reports and cases whose township is in scope OR whose team (or the
                                 team it was escalated from) is in scope; units of the scope's teams
                                 (with their tracks); alerts of those townships and teams; the
                                 streams township:<in scope> and team:<in scope>, never county
    officer (+ Officer row)      cases of their team, escalated from it, or handled by them; their
                                 team's units live (no tracks); their team's alerts; team:<theirs>
    grid_worker                  reports they made or in their cells; no units, tracks or alerts;
                                 the stream of their cells' township, filtered to those reports
    planner                      no case contents: coverage drafts and publishing, read-only map
    anyone signed in             what they reported themselves
    anonymous                    nothing (public pages show redacted closed cases only:
                                 gridops/selectors/disclosure.py)

Roles add up: a user in two groups sees the union. A staff account in no role group is treated as
an administrator (how accounts were set up before scopes); give it a role group to scope it.
A detail or action on an object outside the scope answers 404, never 403: existence is not told.

Supervisors read replays (tracks, stops, visited cells, their exports) and the indicators within
their scope; so do dispatchers (the command centre). Officers see their team's units live but not
their colleagues' tracks.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import F, Q, QuerySet

from geodata.models import Officer, UserScope
from gridops.realtime.events import COUNTY_STREAM

ADMIN = "admin"
DISPATCHER = "dispatcher"
SUPERVISOR = "supervisor"
OFFICER = "officer"
GRID_WORKER = "grid_worker"
PLANNER = "planner"
ROLES = (ADMIN, DISPATCHER, SUPERVISOR, OFFICER, GRID_WORKER, PLANNER)
COMMAND_ROLES = (DISPATCHER, SUPERVISOR)

# Codes are ASCII (township codes are digits, team codes slugs); channel group names allow only
# letters, digits, hyphens, underscores and periods and must stay under 100 characters.
STREAM_RE = re.compile(r"^(?:county|(?P<kind>township|team):(?P<code>[A-Za-z0-9_-]{1,40}))$")

# Sequenced event types a grid worker may receive on their township stream, once filtered to
# their own reports and cells; everything else on that stream is withheld.
_REPORT_EVENT_TYPES = ("report.created", "report.updated", "case.updated")
_GEOGRAPHY_EVENT_TYPES = ("coverage.published",)


@dataclass(frozen=True)
class Scope:
    """What one user may see, resolved once per request (or per websocket re-check)."""

    user_id: int | None = None
    roles: frozenset[str] = frozenset()
    everything: bool = False  # superuser, admin group, legacy staff: all data, all pages
    county_wide: bool = False  # a dispatcher or supervisor over the whole county (or everything)
    township_ids: frozenset[int] = frozenset()  # a scoped dispatcher's / supervisor's
    township_codes: frozenset[str] = frozenset()
    team_ids: frozenset[int] = frozenset()
    team_codes: frozenset[str] = frozenset()
    officer_team_id: int | None = None
    officer_team_code: str | None = None
    cell_ids: frozenset[int] = frozenset()  # a grid worker's
    cell_codes: frozenset[str] = frozenset()
    cell_township_codes: frozenset[str] = frozenset()

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def commands(self) -> bool:
        """A dispatcher or supervisor (scoped or not), or an administrator."""
        return self.everything or bool(self.roles & set(COMMAND_ROLES))


ANONYMOUS = Scope()


def _resolve(user) -> Scope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    # One query for the roles and the UserScope row: every API request pays it, so it is one.
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            role_names=ArrayAgg("groups__name", filter=Q(groups__name__in=ROLES), default=[]),
            scope_id=F("gridops_scope__id"),
            scope_county_wide=F("gridops_scope__county_wide"),
        )
        .values("role_names", "scope_id", "scope_county_wide")
        .first()
    )
    if row is None:
        return ANONYMOUS
    roles = frozenset(row["role_names"])
    everything = user.is_superuser or ADMIN in roles or (user.is_staff and not roles)
    fields: dict = {"user_id": user.pk, "roles": roles, "everything": everything}
    if everything:
        return Scope(**fields, county_wide=True)
    if roles & set(COMMAND_ROLES):
        if row["scope_id"] is None or row["scope_county_wide"]:
            fields["county_wide"] = True
        else:
            scope = UserScope(pk=row["scope_id"])
            townships = list(scope.townships.values_list("id", "code"))
            teams = list(scope.teams.values_list("id", "code"))
            fields.update(
                township_ids=frozenset(i for i, _c in townships),
                township_codes=frozenset(c for _i, c in townships),
                team_ids=frozenset(i for i, _c in teams),
                team_codes=frozenset(c for _i, c in teams),
            )
    if OFFICER in roles:
        officer = Officer.objects.filter(user=user).values_list("team_id", "team__code").first()
        if officer is not None:
            fields["officer_team_id"], fields["officer_team_code"] = officer
    if GRID_WORKER in roles:
        cells = list(user.grid_cells.values_list("id", "code", "township__code"))
        fields.update(
            cell_ids=frozenset(c[0] for c in cells),
            cell_codes=frozenset(c[1] for c in cells),
            cell_township_codes=frozenset(c[2] for c in cells if c[2]),
        )
    return Scope(**fields)


def scope_for(user, *, fresh: bool = False) -> Scope:
    """The user's scope, cached on the user object for the request (`fresh`: read it again)."""
    cached = getattr(user, "_gridops_scope", None)
    if cached is None or fresh:
        cached = _resolve(user)
        try:
            user._gridops_scope = cached
        except AttributeError:  # AnonymousUser instances are shared; nothing to cache anyway
            pass
    return cached


# --- rows ----------------------------------------------------------------------------------------


def report_q(scope: Scope) -> Q | None:
    """The reports this scope sees as a filter; None for all of them."""
    if scope.county_wide:
        return None
    if not scope.authenticated:
        return Q(pk__in=[])
    q = Q(reporter_id=scope.user_id)  # anyone sees what they reported themselves
    if scope.township_ids:
        q |= Q(township_id__in=scope.township_ids)
    if scope.team_ids:
        q |= Q(team_id__in=scope.team_ids) | Q(escalated_from_id__in=scope.team_ids)
    if scope.officer_team_id is not None:
        q |= Q(team_id=scope.officer_team_id) | Q(escalated_from_id=scope.officer_team_id)
        q |= Q(handler_id=scope.user_id)
    if scope.cell_ids:
        q |= Q(cell_id__in=scope.cell_ids)
    return q


def report_queryset_for(user, queryset: QuerySet) -> QuerySet:
    """Reports (cases) of `queryset` this user may see."""
    q = report_q(scope_for(user))
    return queryset if q is None else queryset.filter(q)


def report_visible(user, report) -> bool:
    """May this user see this report (a page that already holds the row)?"""
    from gridops.models import Report

    q = report_q(scope_for(user))
    return q is None or Report.objects.filter(q, pk=report.pk).exists()


def unit_q(scope: Scope) -> Q | None:
    if scope.county_wide:
        return None
    team_ids = set(scope.team_ids)
    if scope.officer_team_id is not None:
        team_ids.add(scope.officer_team_id)
    return Q(team_id__in=team_ids)


def unit_queryset_for(user, queryset: QuerySet) -> QuerySet:
    """Patrol units of `queryset` this user may see (live position, detail)."""
    q = unit_q(scope_for(user))
    return queryset if q is None else queryset.filter(q)


def track_unit_queryset_for(user, queryset: QuerySet) -> QuerySet:
    """Units whose tracks (replay, stops, visited cells, exports) this user may read: dispatchers,
    supervisors and administrators, within their unit scope. Officers see their colleagues live
    on the map, not where they have been."""
    scope = scope_for(user)
    if not scope.commands:
        return queryset.none()
    return unit_queryset_for(user, queryset)


def alert_q(scope: Scope) -> Q | None:
    if scope.county_wide:
        return None
    q = Q(pk__in=[])
    if scope.township_ids:
        q |= Q(township_id__in=scope.township_ids)
    if scope.team_ids:
        q |= Q(team_id__in=scope.team_ids)
    if scope.officer_team_id is not None:
        q |= Q(team_id=scope.officer_team_id)
    return q


def alert_queryset_for(user, queryset: QuerySet) -> QuerySet:
    q = alert_q(scope_for(user))
    return queryset if q is None else queryset.filter(q)


# --- abilities -----------------------------------------------------------------------------------


def may_read_indicators(user) -> bool:
    """Supervisors, dispatchers and administrators; scoped ones within their scope."""
    return scope_for(user).commands


def indicator_scope(user) -> tuple[frozenset[str], frozenset[str]] | None:
    """(township codes, team codes) an indicator query must stay within; None: the whole county."""
    scope = scope_for(user)
    if scope.county_wide:
        return None
    return scope.township_codes, scope.team_codes


def may_edit_coverage(user) -> bool:
    """Planners edit coverage drafts and publish them (and administrators)."""
    scope = scope_for(user)
    return scope.everything or PLANNER in scope.roles


def may_read_tracks(user) -> bool:
    return scope_for(user).commands


# --- live streams --------------------------------------------------------------------------------


def stream_valid(stream: str) -> bool:
    """Is this the syntax of a stream ("county", "township:<code>", "team:<code>")?"""
    return bool(STREAM_RE.match(stream))


def _stream_full(scope: Scope, stream: str) -> bool:
    """Is every event of this stream within the scope?"""
    if scope.county_wide:
        return True
    match = STREAM_RE.match(stream)
    if match is None or stream == COUNTY_STREAM:
        return False
    kind, code = match.group("kind"), match.group("code")
    if kind == "township":
        return code in scope.township_codes
    return code in scope.team_codes or code == scope.officer_team_code


def stream_allowed(user, stream: str) -> bool:
    """May this user listen to this stream? The county stream carries everything, so only
    county-wide users; a grid worker hears their township, filtered by `stream_event_filter`."""
    if not stream_valid(stream):
        return False
    scope = scope_for(user)
    if not scope.authenticated:
        return False
    if _stream_full(scope, stream):
        return True
    return stream.startswith("township:") and stream.split(":", 1)[1] in scope.cell_township_codes


def stream_event_filter(user, stream: str) -> Callable[[dict], bool] | None:
    """None when every event of the stream may go to this user; otherwise a predicate over a
    message ({"type", "data", ...}) saying which ones may (the rest are withheld)."""
    scope = scope_for(user)
    if _stream_full(scope, stream):
        return None
    cell_codes, user_id = scope.cell_codes, scope.user_id

    def visible(message: dict) -> bool:
        type_ = message.get("type")
        if type_ in _GEOGRAPHY_EVENT_TYPES:
            return True
        if type_ not in _REPORT_EVENT_TYPES:
            return False
        data = message.get("data") or {}
        cell = data.get("cell") or {}
        return data.get("reporter_id") == user_id or (cell.get("code") in cell_codes if cell else False)

    return visible


def default_stream(user) -> str | None:
    """The widest stream this user may listen to (what a console opens by default), or None."""
    scope = scope_for(user)
    if not scope.authenticated:
        return None
    if scope.county_wide:
        return COUNTY_STREAM
    candidates = [f"township:{c}" for c in sorted(scope.township_codes)]
    candidates += [f"team:{c}" for c in sorted(scope.team_codes)]
    if scope.officer_team_code:
        candidates.append(f"team:{scope.officer_team_code}")
    candidates += [f"township:{c}" for c in sorted(scope.cell_township_codes)]
    return next((s for s in candidates if stream_allowed(user, s)), None)


# --- pages ---------------------------------------------------------------------------------------

PUBLIC = "public"
SIGNED_IN = "signed_in"

# Every page of the `frontend` app by URL name. A page missing here is refused (fail closed), so
# a new page cannot ship without a decision; tests/gridops/test_scopes_matrix.py checks the list.
PAGES: dict[str, str | Callable[[Scope], bool]] = {
    "home": PUBLIC,
    "public-cases": PUBLIC,
    "login": PUBLIC,
    "logout": PUBLIC,
    "report-sw": PUBLIC,  # the report page's service worker: static code, nothing private
    "report": SIGNED_IN,  # anyone signed in may report (citizens too); they see their own reports
    "case-record": SIGNED_IN,  # and the case must be in scope (checked on the object: 404)
    "command": lambda s: s.commands,
    "replay": lambda s: s.commands,
    "dashboard": lambda s: s.commands,
    "field": lambda s: s.everything or s.officer_team_id is not None,
    "field-cases": lambda s: s.everything or s.officer_team_id is not None,
    "planner": lambda s: s.everything or PLANNER in s.roles,
    # Inspection planning: planners, dispatchers and supervisors (and administrators); what each
    # reads and changes there is inspections/scopes.py, built on scope_for (docs/INSPECTIONS.md).
    "inspections": lambda s: s.everything or bool(s.roles & {PLANNER, DISPATCHER, SUPERVISOR}),
    "public-inspections": PUBLIC,  # 双随机一公开: published draws are public by law
}


def page_allowed(user, page: str) -> bool:
    """May this user open the page named `page` (a URL name of the frontend app)?"""
    rule = PAGES.get(page)
    if rule is None:
        return False
    if rule == PUBLIC:
        return True
    scope = scope_for(user)
    if not scope.authenticated:
        return False
    return rule == SIGNED_IN or rule(scope)
