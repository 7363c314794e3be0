"""Inspection planning: the reads (lists for the API and the page, the indicators, the public page).

Indicators for a period [start, end] (whole days, Asia/Shanghai), as the dashboard will show them:

    visits avoided by joint inspection   Σ over the period's joint visits (planned date in the
                                          period, not cancelled) of (separate team-target visits
                                          the member checks were − 1). Xiangshan (seed 004) counts
                                          the same thing: "减少重复执法和执法扰民扰企5761户次".
    inspections by colour                 targets inspected in joint visits of the period (colour
                                          when the visit was committed) and targets drawn in draws
                                          of the period (colour in the snapshot), per colour; with
                                          how many are done (visit case closed / draw result in).
"""

from datetime import date

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum

from geodata.models import Officer
from gridops.models import Report
from inspections import scopes
from inspections.models import (
    COLOUR_ORDER,
    Conflict,
    CreditColour,
    Draw,
    DrawResult,
    InspectionPlan,
    JointVisit,
    PlannedCheck,
    Target,
    VisitTarget,
)
from inspections.periods import period_check


def user_plans_inspections(*, user) -> bool:
    """May this user open the inspection planning page? The rule of gridops/scopes.py PAGES
    (planners, dispatchers, supervisors, administrators and staff in no role group); what they may
    then read and change is inspections/scopes.py."""
    return scopes.may_use_inspections_page(user)


def target_list(
    *,
    township: str | None = None,
    industry: str | None = None,
    colour: list[str] | None = None,
    kind: str | None = None,
    no_disturbance: bool | None = None,
    q: str | None = None,
    visible_to=None,
) -> QuerySet[Target]:
    """The registry, filtered; with `visible_to`, only that user's rows (inspections/scopes.py)."""
    targets = Target.objects.select_related("township").defer("township__geom").order_by("id")
    if visible_to is not None:
        targets = scopes.target_queryset_for(visible_to, targets)
    if township:
        targets = targets.filter(township__code=township)
    if industry:
        targets = targets.filter(industry=industry)
    if colour:
        targets = targets.filter(colour__in=colour)
    if kind:
        targets = targets.filter(kind=kind)
    if no_disturbance is not None:
        targets = targets.filter(no_disturbance=no_disturbance)
    if q:
        targets = targets.filter(Q(name__icontains=q) | Q(credit_code__iexact=q) | Q(address__icontains=q))
    return targets


def target_get(*, pk: int, visible_to=None) -> Target | None:
    targets = Target.objects.filter(pk=pk)
    if visible_to is not None:
        targets = scopes.target_queryset_for(visible_to, targets)
    return (
        targets.select_related("township")
        .defer("township__geom")
        .prefetch_related("colour_changes__by")
        .first()
    )


def inspector_list(
    *, domain: str | None = None, team: str | None = None, visible_to=None
) -> QuerySet[Officer]:
    officers = Officer.objects.select_related("team", "qualification").order_by("id")
    if visible_to is not None:
        officers = scopes.inspector_queryset_for(visible_to, officers)
    if team:
        officers = officers.filter(team__code=team)
    if domain:
        officers = officers.filter(qualification__domains__contains=[domain])
    return officers


def conflict_list(*, visible_to=None) -> QuerySet[Conflict]:
    conflicts = Conflict.objects.select_related("officer", "target").order_by("id")
    return conflicts if visible_to is None else scopes.conflict_queryset_for(visible_to, conflicts)


def plan_list(
    *, year: int | None = None, month: int | None = None, team: str | None = None, visible_to=None
) -> QuerySet:
    plans = InspectionPlan.objects.select_related("team")
    if visible_to is not None:
        plans = scopes.plan_queryset_for(visible_to, plans)
    plans = plans.annotate(check_count=Count("checks")).order_by("-year", "month", "id")
    if year:
        plans = plans.filter(year=year)
    if month:
        plans = plans.filter(month=month)
    if team:
        plans = plans.filter(team__code=team)
    return plans


def plan_checks(*, plan: InspectionPlan, visible_to=None) -> QuerySet[PlannedCheck]:
    """A plan's checks; with `visible_to`, those the user sees (a covering team's plan shows only
    the checks on the user's targets)."""
    checks = plan.checks.select_related("target", "matter", "plan__team").order_by("id")
    return checks if visible_to is None else scopes.planned_check_queryset_for(visible_to, checks)


def visit_list(
    *, start: date | None = None, end: date | None = None, status: str | None = None, visible_to=None
) -> QuerySet:
    visits = JointVisit.objects.all()
    if visible_to is not None:
        visits = scopes.visit_queryset_for(visible_to, visits)
    visits = (
        visits.select_related("lead_team", "report")
        .prefetch_related(
            "visit_targets__target",
            Prefetch(
                "member_checks",
                queryset=PlannedCheck.objects.select_related("plan__team", "matter", "target"),
            ),
        )
        .order_by("planned_date", "id")
    )
    if start:
        visits = visits.filter(planned_date__gte=start)
    if end:
        visits = visits.filter(planned_date__lte=end)
    if status:
        visits = visits.filter(status=status)
    return visits


def draw_list(*, published: bool | None = None, visible_to=None) -> QuerySet[Draw]:
    draws = Draw.objects.all()
    if visible_to is not None:
        draws = scopes.draw_queryset_for(visible_to, draws)
    draws = (
        draws.select_related("matter", "run_by")
        .annotate(target_count=Count("results"))
        .order_by("-run_at", "-id")
    )
    if published is not None:
        draws = draws.filter(published=published)
    return draws


def draw_results(*, draw: Draw, with_cases: bool = False, visible: Q | None = None) -> list[dict]:
    """The drawn targets with their inspectors' names (the public page shows exactly this);
    `with_cases` adds each check's case (number and status) for the planners' page; `visible`
    (inspections.scopes.draw_result_q) keeps the results a reader may see."""
    rows = draw.results.all() if visible is None else draw.results.filter(visible)
    results = list(rows.select_related("target", "report").order_by("position"))
    officer_ids = {o for r in results for o in r.inspectors}
    names = dict(Officer.objects.filter(pk__in=officer_ids).values_list("id", "name"))
    rows = []
    for r in results:
        row = {
            "position": r.position,
            "target": {"id": r.target_id, "name": r.target.name, "credit_code": r.target.credit_code},
            "colour": r.colour,
            "inspectors": [{"id": o, "name": names.get(o, "")} for o in r.inspectors],
            "outcome": r.outcome,
            "outcome_label": str(DrawResult.Outcome(r.outcome).label),
            "outcome_note": r.outcome_note,
            "outcome_at": r.outcome_at,
        }
        if with_cases:
            row["case"] = (
                {
                    "id": r.report_id,
                    "number": r.report.number,
                    "status": r.report.status,
                    "status_display": r.report.get_status_display(),
                }
                if r.report_id
                else None
            )
        rows.append(row)
    return rows


def public_draws() -> QuerySet[Draw]:
    return draw_list(published=True)


def inspection_indicators(
    *, start: date, end: date, township: str | None = None, team: str | None = None
) -> dict:
    """The two inspection figures for [start, end]; see the module docstring.

    `township` (a code): joint visits with a target there, counting only those targets by colour,
    and drawn targets there. `team` (a code): joint visits it leads or has a check in, and drawn
    checks one of its officers inspects. Both: both conditions. The API keeps them within the
    reader's scope (gridops.scopes.indicator_scope), as for the closed loop's indicators."""
    start, end = period_check(start=start, end=end)
    visits = JointVisit.objects.filter(planned_date__gte=start, planned_date__lte=end).exclude(
        status=JointVisit.Status.CANCELLED
    )
    visit_targets = VisitTarget.objects.filter(visit__in=visits)
    results = DrawResult.objects.filter(draw__draw_date__gte=start, draw__draw_date__lte=end)
    if township:
        here = VisitTarget.objects.filter(visit=OuterRef("pk"), target__township__code=township)
        visits = visits.filter(Exists(here))
        visit_targets = visit_targets.filter(target__township__code=township)
        results = results.filter(target__township__code=township)
    if team:
        led_or_member = Q(lead_team__code=team) | Q(
            Exists(PlannedCheck.objects.filter(visit=OuterRef("pk"), plan__team__code=team))
        )
        visits = visits.filter(led_or_member)
        visit_targets = visit_targets.filter(visit__in=visits)
        officer_ids = list(Officer.objects.filter(team__code=team).values_list("id", flat=True))
        inspected = Q(pk__in=[])
        for officer_id in officer_ids:  # one team's roster: tens of rows
            inspected |= Q(inspectors__contains=[officer_id])
        results = results.filter(inspected)
    totals = visits.aggregate(before=Sum("visits_before"), count=Count("id"))
    before, after = totals["before"] or 0, totals["count"] or 0
    by_colour = {str(c): {"joint": 0, "joint_closed": 0, "draw": 0, "draw_done": 0} for c in COLOUR_ORDER}
    rows = (
        visit_targets.values("colour")
        .annotate(n=Count("id"), closed=Count("id", filter=Q(visit__report__status=Report.Status.CLOSED)))
        .order_by()
    )
    for row in rows:
        colour = row["colour"]
        if colour in by_colour:
            by_colour[colour]["joint"] += row["n"]
            by_colour[colour]["joint_closed"] += row["closed"]
    draw_rows = (
        results.values("colour")
        .annotate(n=Count("id"), done=Count("id", filter=~Q(outcome=DrawResult.Outcome.PENDING)))
        .order_by()
    )
    for row in draw_rows:
        if row["colour"] in by_colour:
            by_colour[row["colour"]]["draw"] += row["n"]
            by_colour[row["colour"]]["draw_done"] += row["done"]
    for colour, figures in by_colour.items():
        figures["total"] = figures["joint"] + figures["draw"]
        figures["label"] = str(CreditColour(colour).label)
    return {
        "start": start,
        "end": end,
        "joint": {
            "visits_before": before,
            "visits_after": after,
            "visits_avoided": before - after,
        },
        "by_colour": by_colour,
    }
