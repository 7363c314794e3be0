"""Who sees what in inspection planning, built on gridops/scopes.py (the one place that resolves
a user's roles, UserScope row, officer row and the staff-without-role rule).

Places. A scoped dispatcher's or supervisor's *own teams* are the UserScope's teams, an officer's
their roster team; *own townships* the UserScope's townships. Two derived sets come from the
coverage version in force (geodata EnforcementZone → cells → township):

    covering teams       teams with a zone in an own township (丹东街道 → 一中队 and 市场监管)
    covered townships    townships where an own team has a zone (一中队 → 丹东街道)

    role                         reads                                        writes
    admin, superuser,            everything                                   everything
      staff in no role group
    planner                      everything (the county plans inspections)    registry, plans, merging,
                                                                              draws (cases: no)
    county-wide dispatcher       everything                                   as the planner, + cases
    county-wide supervisor       everything                                   nothing
    scoped dispatcher            targets of own + covered townships;          plans of own teams (checks on
                                 roster and conflicts of own + covering       targets they see); visits and
                                 teams; plans of own + covering teams (a      draws within own places: a
                                 covering team's plan with only the checks    visit led by an own team or at
                                 on targets they see); visits led by or       an own township, a draw whose
                                 with checks of an own team or at an own      township filter lies within own
                                 township; draws with a target in an own      + covered townships; cases
                                 township, an inspector of an own team, or
                                 run by them
    scoped supervisor            as the scoped dispatcher                     nothing
    officer (roster row)         the above for their team alone (no own       the outcome of a drawn check
                                 townships: targets of covered townships)     their team inspects
    grid worker, citizen,        nothing (403); the public draws are public   nothing
      officer without a row

Registry writes (targets, colours, import, qualifications, conflict declarations) and merging
plans into joint visits are county-level: the registry is one county list (执法对象名录库) and a
merge crosses departments. Outside the reader's rows reads as absent (404); a visible object the
caller may not change answers 403 naming why.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from geodata.models import Officer, ZoneCell
from geodata.selectors import coverage_version_in_force
from gridops import scopes
from gridops.scopes import DISPATCHER, PLANNER, SUPERVISOR


@dataclass(frozen=True)
class InspectionScope:
    user_id: int | None = None
    reads: bool = False  # may use the (non-public) inspection API at all
    county: bool = False  # reads every row
    county_writes: bool = False  # registry, plans, merging, draws anywhere
    dispatches: bool = False  # opens inspection cases (the closed loop's dispatcher step)
    team_ids: frozenset[int] = frozenset()  # own teams (UserScope teams, officer's team)
    township_ids: frozenset[int] = frozenset()  # own townships (UserScope townships)
    covering_team_ids: frozenset[int] = frozenset()
    covered_township_ids: frozenset[int] = frozenset()
    write_team_ids: frozenset[int] = frozenset()  # a scoped dispatcher's own teams
    write_township_ids: frozenset[int] = frozenset()  # a scoped dispatcher's own + covered townships
    write_township_codes: frozenset[str] = frozenset()
    officer_team_id: int | None = None

    @property
    def writes(self) -> bool:
        """Writes something somewhere (the object decides where)."""
        return self.county_writes or bool(self.write_team_ids or self.write_township_ids)

    @property
    def read_team_ids(self) -> frozenset[int]:
        return self.team_ids | self.covering_team_ids

    @property
    def read_township_ids(self) -> frozenset[int]:
        return self.township_ids | self.covered_township_ids


NOTHING = InspectionScope()


def _teams_covering(township_ids: frozenset[int], version) -> frozenset[int]:
    if not township_ids or version is None:
        return frozenset()
    return frozenset(
        ZoneCell.objects.filter(zone__version=version, cell__township_id__in=township_ids)
        .values_list("zone__team_id", flat=True)
        .distinct()
    )


def _townships_covered(team_ids: frozenset[int], version) -> frozenset[int]:
    if not team_ids or version is None:
        return frozenset()
    return frozenset(
        ZoneCell.objects.filter(
            zone__version=version, zone__team_id__in=team_ids, cell__township__isnull=False
        )
        .values_list("cell__township_id", flat=True)
        .distinct()
    )


def _resolve(user) -> InspectionScope:
    s = scopes.scope_for(user)
    if not s.authenticated:
        return NOTHING
    dispatcher = DISPATCHER in s.roles
    if s.everything or PLANNER in s.roles or (s.commands and s.county_wide):
        return InspectionScope(
            user_id=s.user_id,
            reads=True,
            county=True,
            county_writes=s.everything or PLANNER in s.roles or (dispatcher and s.county_wide),
            dispatches=s.everything or dispatcher,
            officer_team_id=s.officer_team_id,
        )
    commands = bool(s.roles & {DISPATCHER, SUPERVISOR})
    if not commands and s.officer_team_id is None:
        return InspectionScope(user_id=s.user_id)
    version = coverage_version_in_force()
    command_teams = frozenset(s.team_ids) if commands else frozenset()
    townships = frozenset(s.township_ids) if commands else frozenset()
    teams = command_teams | ({s.officer_team_id} if s.officer_team_id is not None else set())
    write_townships: frozenset[int] = frozenset()
    write_codes: frozenset[str] = frozenset()
    if dispatcher:
        from geodata.models import Region

        write_townships = townships | _townships_covered(command_teams, version)
        write_codes = frozenset(Region.objects.filter(pk__in=write_townships).values_list("code", flat=True))
    return InspectionScope(
        user_id=s.user_id,
        reads=True,
        dispatches=dispatcher,
        team_ids=teams,
        township_ids=townships,
        covering_team_ids=_teams_covering(townships, version),
        covered_township_ids=_townships_covered(teams, version),
        write_team_ids=command_teams if dispatcher else frozenset(),
        write_township_ids=write_townships,
        write_township_codes=write_codes,
        officer_team_id=s.officer_team_id,
    )


def inspection_scope_for(user) -> InspectionScope:
    """The user's inspection scope, cached on the user object for the request."""
    cached = getattr(user, "_inspection_scope", None)
    if cached is None:
        cached = _resolve(user)
        try:
            user._inspection_scope = cached
        except AttributeError:  # AnonymousUser: nothing to cache
            pass
    return cached


# --- rows ----------------------------------------------------------------------------------------


def target_q(scope: InspectionScope) -> Q | None:
    """Targets (the registry) this scope sees; None for all."""
    if scope.county:
        return None
    return Q(township_id__in=scope.read_township_ids)


def inspector_q(scope: InspectionScope) -> Q | None:
    """Roster officers (geodata.Officer) this scope sees."""
    if scope.county:
        return None
    return Q(team_id__in=scope.read_team_ids)


def conflict_q(scope: InspectionScope) -> Q | None:
    if scope.county:
        return None
    return Q(officer__team_id__in=scope.read_team_ids)


def plan_q(scope: InspectionScope) -> Q | None:
    if scope.county:
        return None
    return Q(team_id__in=scope.read_team_ids)


def planned_check_q(scope: InspectionScope) -> Q | None:
    """Checks shown within a visible plan: all of an own team's plan, of a covering team's plan
    only those on targets the scope sees."""
    if scope.county:
        return None
    return Q(plan__team_id__in=scope.team_ids) | Q(target__township_id__in=scope.read_township_ids)


def visit_q(scope: InspectionScope) -> Q | None:
    if scope.county:
        return None
    from inspections.models import PlannedCheck, VisitTarget

    member = PlannedCheck.objects.filter(visit=OuterRef("pk"), plan__team_id__in=scope.team_ids)
    here = VisitTarget.objects.filter(visit=OuterRef("pk"), target__township_id__in=scope.township_ids)
    return Q(lead_team_id__in=scope.team_ids) | Q(Exists(member)) | Q(Exists(here))


def _team_officer_ids(team_ids) -> list[int]:
    return list(Officer.objects.filter(team_id__in=team_ids).values_list("id", flat=True))


def _inspected_by_q(officer_ids: list[int], prefix: str = "") -> Q:
    q = Q(pk__in=[])
    for officer_id in officer_ids:  # a team's roster: tens of rows
        q |= Q(**{f"{prefix}inspectors__contains": [officer_id]})
    return q


def draw_q(scope: InspectionScope) -> Q | None:
    if scope.county:
        return None
    from inspections.models import DrawResult

    results = DrawResult.objects.filter(draw=OuterRef("pk")).filter(
        Q(target__township_id__in=scope.township_ids) | _inspected_by_q(_team_officer_ids(scope.team_ids))
    )
    return Q(Exists(results)) | Q(run_by_id=scope.user_id)


def draw_result_q(scope: InspectionScope, draw) -> Q | None:
    """The results shown within a draw the reader sees. All of them to county-level readers, to
    the one who ran it, and once it is published (it is public then). Otherwise those on targets
    of the reader's townships (own and covered) and those their team inspects: before it is
    published a draw names whom the county will inspect, and a township does not learn that for
    another's targets."""
    if scope.county or draw.published or (scope.user_id is not None and draw.run_by_id == scope.user_id):
        return None
    return Q(target__township_id__in=scope.read_township_ids) | _inspected_by_q(
        _team_officer_ids(scope.team_ids)
    )


def _filtered(q: Q | None, queryset: QuerySet) -> QuerySet:
    return queryset if q is None else queryset.filter(q)


def target_queryset_for(user, queryset: QuerySet) -> QuerySet:
    return _filtered(target_q(inspection_scope_for(user)), queryset)


def inspector_queryset_for(user, queryset: QuerySet) -> QuerySet:
    return _filtered(inspector_q(inspection_scope_for(user)), queryset)


def conflict_queryset_for(user, queryset: QuerySet) -> QuerySet:
    return _filtered(conflict_q(inspection_scope_for(user)), queryset)


def plan_queryset_for(user, queryset: QuerySet) -> QuerySet:
    return _filtered(plan_q(inspection_scope_for(user)), queryset)


def planned_check_queryset_for(user, queryset: QuerySet) -> QuerySet:
    return _filtered(planned_check_q(inspection_scope_for(user)), queryset)


def visit_queryset_for(user, queryset: QuerySet) -> QuerySet:
    return _filtered(visit_q(inspection_scope_for(user)), queryset)


def draw_queryset_for(user, queryset: QuerySet) -> QuerySet:
    return _filtered(draw_q(inspection_scope_for(user)), queryset)


# --- abilities -----------------------------------------------------------------------------------


def may_read_inspections(user) -> bool:
    return inspection_scope_for(user).reads


def may_use_inspections_page(user) -> bool:
    """The /inspections/ page: the rule of gridops/scopes.py PAGES (one rule for page and view)."""
    return scopes.page_allowed(user, "inspections")


def may_write_inspections(user) -> bool:
    """Writes something somewhere (object rules below decide where)."""
    return inspection_scope_for(user).writes


def may_record_outcomes(user) -> bool:
    """Records some drawn check's outcome (`may_record_outcome` decides which)."""
    scope = inspection_scope_for(user)
    return scope.writes or scope.officer_team_id is not None


def may_edit_registry(user) -> bool:
    """Targets, colours, import, qualifications, conflict declarations; merging plans."""
    return inspection_scope_for(user).county_writes


def may_write_plan_of(user, team_id: int) -> bool:
    scope = inspection_scope_for(user)
    return scope.county_writes or team_id in scope.write_team_ids


def may_act_on_visit(user, visit) -> bool:
    """Open the case of / cancel a visible visit: county writers, or a scoped dispatcher whose own
    team leads it or whose township it visits."""
    scope = inspection_scope_for(user)
    if scope.county_writes:
        return True
    if visit.lead_team_id in scope.write_team_ids:
        return True
    return visit.visit_targets.filter(target__township_id__in=scope.write_township_ids).exists()


def may_draw_in(user, township_codes) -> bool:
    """Run (or publish, or open the cases of) a draw over these townships: county writers
    anywhere; a scoped dispatcher only when the draw names townships, all within theirs."""
    scope = inspection_scope_for(user)
    if scope.county_writes:
        return True
    codes = set(township_codes or [])
    return bool(codes) and codes <= scope.write_township_codes


def may_act_on_draw(user, draw) -> bool:
    return may_draw_in(user, (draw.filters or {}).get("townships"))


def may_record_outcome(user, result) -> bool:
    """A drawn check's outcome: whoever may act on the draw, a scoped dispatcher for a target in
    their townships, or an officer whose team holds one of the drawn inspectors."""
    scope = inspection_scope_for(user)
    if may_act_on_draw(user, result.draw):
        return True
    if result.target.township_id in scope.write_township_ids:
        return True
    if scope.officer_team_id is None:
        return False
    return Officer.objects.filter(pk__in=result.inspectors, team_id=scope.officer_team_id).exists()
