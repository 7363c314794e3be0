"""Figures for coverage planning: what each zone of a version carries, and what publishing a draft
would change. Reads only; the planner page (/planner/) shows them before a draft is published.

    coverage_zone_figures(version)     per zone and per team: area, cells, townships, officers,
                                       base → farthest cell, reports in the last 90 days, per officer
    coverage_draft_diff(draft, against) cells whose team changes (per domain), open reports whose
                                       owner would change, monthly workload per team before/after

These live in gridops because they count reports; geodata never imports gridops.

Which zone a report counts for. A report counts in a zone when its stored cell (the one routing
chose, so a point on a shared edge counts once) is one of the zone's cells AND the zone's domain is
the report's *responsible domain*: the domain of the zone it was routed through, else the one
routing would use for its matter — comprehensive for no matter or a township-handled matter, the
matter's own domain for a county-handled one (Matter.responsible_domain; geodata.routing). County
matters are routed by their department's zones too, so a draft that redraws those zones moves them.

Everything is computed in PostgreSQL, a constant number of statements whatever the number of zones:
distances and areas on the spheroid (`::geography`, metres). Figures on the 3,000-cell demo county
are in docs/PLANNING.md (bench/planning.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from geodata.models import (
    CoverageVersion,
    Domain,
    EnforcementZone,
    GridCell,
    Matter,
    Officer,
    Region,
    Team,
    ZoneCell,
)
from geodata.selectors import coverage_version_in_force
from gridops.deadlines import OPEN
from gridops.models import Report

WINDOW_DAYS = 90
MONTH_DAYS = 30
# Lists in the diff stop here (the *_count fields carry the full number): moving a whole county
# should not answer with tens of thousands of rows.
DIFF_LIST_CAP = 500

_T = {
    "zone": EnforcementZone._meta.db_table,
    "zonecell": ZoneCell._meta.db_table,
    "cell": GridCell._meta.db_table,
    "team": Team._meta.db_table,
    "officer": Officer._meta.db_table,
    "region": Region._meta.db_table,
    "matter": Matter._meta.db_table,
    "report": Report._meta.db_table,
}

# The responsible domain of report r (matter mt, routed zone rz LEFT JOINed): see the module docstring.
_REPORT_DOMAIN = (
    "COALESCE(rz.domain, CASE WHEN mt.id IS NULL OR mt.handled_by = %(township_handled)s"
    " THEN %(comprehensive)s ELSE mt.domain END)"
)
_REPORT_JOINS = (
    f"LEFT JOIN {_T['matter']} mt ON mt.id = r.matter_id LEFT JOIN {_T['zone']} rz ON rz.id = r.zone_id"
)
_DOMAIN_PARAMS = {"township_handled": Matter.Handler.TOWNSHIP, "comprehensive": Domain.COMPREHENSIVE}


def _rows(sql: str, params: dict) -> list[tuple]:
    """Run one of these statements. (Their large cost estimates made PostgreSQL JIT-compile them,
    4.5 s for a 90 ms statement; every session runs with jit=off, see DATABASES in settings.)"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _team(code: str | None, name: str | None) -> dict | None:
    return {"code": code, "name": name} if code is not None else None


def _per_officer(reports: int, officers: int) -> float | None:
    return round(reports / officers, 2) if officers else None


def _window(now: datetime | None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    return now - timedelta(days=WINDOW_DAYS), now


# --- per-zone figures -----------------------------------------------------------------------------


_FIGURES_SQL = f"""
WITH zone AS MATERIALIZED (
    SELECT z.id, z.name, z.domain, z.team_id, z.geom IS NOT NULL AS has_geom
    FROM {_T["zone"]} z WHERE z.version_id = %(version)s
), member AS MATERIALIZED (
    SELECT zc.zone_id, zc.cell_id, z.domain, c.township_id
    FROM {_T["zonecell"]} zc JOIN zone z ON z.id = zc.zone_id JOIN {_T["cell"]} c ON c.id = zc.cell_id
), cell_count AS (
    SELECT zone_id, count(*) AS cells FROM member GROUP BY zone_id
), shape AS (
    -- Area and convex hull from the zone polygon, the union of its cells (every planning edit
    -- rewrites it and coverage_validate checks it; cells tile, so its area is the cells' sum): 18
    -- polygons instead of 30,000 memberships on the demo county. A zone without a polygon (made
    -- outside the planning services) falls back to its cells.
    SELECT z.id AS zone_id, ST_Area(zg.geom::geography) AS area_m2, ST_ConvexHull(zg.geom) AS hull
    FROM zone z JOIN {_T["zone"]} zg ON zg.id = z.id WHERE z.has_geom
    UNION ALL
    SELECT m.zone_id, sum(ST_Area(c.geom::geography)), ST_ConvexHull(ST_Collect(c.geom))
    FROM member m JOIN zone z ON z.id = m.zone_id AND NOT z.has_geom
    JOIN {_T["cell"]} c ON c.id = m.cell_id
    GROUP BY m.zone_id
), farthest AS (
    -- The farthest point of a set from a point is a vertex of its convex hull (exact in a plane;
    -- at county scale lon/lat differ from one by an affine stretch, which keeps hull vertices):
    -- a few dozen geodesic distances per zone instead of one per cell vertex: on the 3,000-cell
    -- demo county (18 zones, 30,000 memberships) 1.5 s → a few ms.
    SELECT sh.zone_id, max(ST_Distance(t.base::geography, p.geom::geography)) AS metres
    FROM shape sh JOIN zone z ON z.id = sh.zone_id
    JOIN {_T["team"]} t ON t.id = z.team_id AND t.base IS NOT NULL
    CROSS JOIN LATERAL ST_DumpPoints(sh.hull) AS p
    GROUP BY sh.zone_id
), townships AS (
    SELECT s.zone_id, json_agg(json_build_object('code', tw.code, 'name', tw.name) ORDER BY tw.code) AS list
    FROM (SELECT DISTINCT zone_id, township_id FROM member) s
    JOIN {_T["region"]} tw ON tw.id = s.township_id
    GROUP BY s.zone_id
), reports AS (
    SELECT m.zone_id, count(*) AS n
    FROM {_T["report"]} r {_REPORT_JOINS}
    JOIN member m ON m.cell_id = r.cell_id AND m.domain = {_REPORT_DOMAIN}
    WHERE r.received_at >= %(since)s AND r.received_at <= %(now)s
    GROUP BY m.zone_id
), officers AS (
    SELECT team_id, count(*) AS n FROM {_T["officer"]} GROUP BY team_id
)
SELECT z.id, z.name, z.domain, t.code, t.name, t.domain,
       COALESCE(cc.cells, 0), COALESCE(sh.area_m2, 0), f.metres, COALESCE(tw.list, '[]'),
       COALESCE(o.n, 0), COALESCE(rp.n, 0)
FROM zone z JOIN {_T["team"]} t ON t.id = z.team_id
LEFT JOIN cell_count cc ON cc.zone_id = z.id
LEFT JOIN shape sh ON sh.zone_id = z.id
LEFT JOIN farthest f ON f.zone_id = z.id
LEFT JOIN townships tw ON tw.zone_id = z.id
LEFT JOIN officers o ON o.team_id = z.team_id
LEFT JOIN reports rp ON rp.zone_id = z.id
ORDER BY z.domain, t.code, z.name, z.id
"""


def coverage_zone_figures(*, version: CoverageVersion, now: datetime | None = None) -> dict:
    """Per zone of `version` and per team (sums over its zones): the workload-balance figures.

    One SQL statement. `officers` counts the team's whole roster (Officer.team): both roster
    statuses, staff (在编) and auxiliary (协管), are on duty — the model has no off-duty status.
    `reports_90d` counts reports received in [now − 90 days, now] by the rule of the module docstring.
    """
    since, now = _window(now)
    rows = _rows(_FIGURES_SQL, {"version": version.pk, "since": since, "now": now, **_DOMAIN_PARAMS})
    zones = []
    teams: dict[str, dict] = {}
    for (
        zone_id,
        name,
        domain,
        team_code,
        team_name,
        team_domain,
        cells,
        area_m2,
        metres,
        townships,
        officers,
        reports,
    ) in rows:
        zones.append(
            {
                "id": zone_id,
                "name": name,
                "domain": domain,
                "team": _team(team_code, team_name),
                "area_km2": round(area_m2 / 1e6, 3),
                "cells": cells,
                "townships": json.loads(townships) if isinstance(townships, str) else townships,
                "officers": officers,
                "base_to_farthest_cell_km": round(metres / 1000, 3) if metres is not None else None,
                "reports_90d": reports,
                "reports_per_officer": _per_officer(reports, officers),
            }
        )
        team = teams.setdefault(
            team_code,
            {
                "code": team_code,
                "name": team_name,
                "domain": team_domain,
                "zones": 0,
                "cells": 0,
                "officers": officers,
                "reports_90d": 0,
            },
        )
        team["zones"] += 1
        team["cells"] += cells
        team["reports_90d"] += reports
    team_rows = sorted(teams.values(), key=lambda t: t["code"])
    for team in team_rows:
        team["reports_per_officer"] = _per_officer(team["reports_90d"], team["officers"])
    return {
        "version": {
            "id": version.pk,
            "name": version.name,
            "status": version.status,
            "revision": version.revision,
        },
        "window_days": WINDOW_DAYS,
        "generated_at": timezone.localtime(now).isoformat(),
        "zones": zones,
        "teams": team_rows,
        "balance": _balance(team_rows),
    }


def _balance(team_rows: list[dict]) -> dict:
    """Max and min reports per officer over the teams with officers; ratio max/min (None when the
    minimum is 0 or there is no team with officers)."""
    loads = [t["reports_per_officer"] for t in team_rows if t["officers"]]
    if not loads:
        return {"max_per_officer": None, "min_per_officer": None, "ratio": None}
    high, low = max(loads), min(loads)
    return {
        "max_per_officer": high,
        "min_per_officer": low,
        "ratio": round(high / low, 2) if low else None,
    }


# --- the pre-publish diff -------------------------------------------------------------------------


# One statement, three parts, each row a JSON array tagged with its part and place, so both
# sides' coverage is built once, in one hash aggregate over the memberships of the two versions.
# On the 3,000-cell demo county (2 × 30,000 memberships) three statements each sorting both sides
# (DISTINCT ON, then a merge join) took ~3 × 130 ms.
_DIFF_SQL = f"""
WITH side AS MATERIALIZED (
    -- per (cell, domain): the zone holding it on each side; of two zones of one domain claiming
    -- a cell (an overlap) the lowest zone id wins, as in routing
    SELECT zc.cell_id, z.domain,
           min(z.id) FILTER (WHERE z.version_id = %(against)s) AS before_zone,
           min(z.id) FILTER (WHERE z.version_id = %(draft)s) AS after_zone
    FROM {_T["zonecell"]} zc JOIN {_T["zone"]} z ON z.id = zc.zone_id
    WHERE z.version_id IN (%(against)s, %(draft)s)
    GROUP BY zc.cell_id, z.domain
), coverage AS MATERIALIZED (
    SELECT s.cell_id, s.domain, bz.team_id AS before_team, az.team_id AS after_team
    FROM side s
    LEFT JOIN {_T["zone"]} bz ON bz.id = s.before_zone
    LEFT JOIN {_T["zone"]} az ON az.id = s.after_zone
), report AS MATERIALIZED (
    SELECT r.id, r.received_at, r.status, r.team_id, r.cell_id, r.matter_id,
           {_REPORT_DOMAIN} AS domain
    FROM {_T["report"]} r {_REPORT_JOINS}
    WHERE r.cell_id IS NOT NULL
      AND (r.status = ANY(%(open)s) OR (r.received_at >= %(since)s AND r.received_at <= %(now)s))
), changed AS (
    SELECT cell_id, domain, before_team AS from_team, after_team AS to_team
    FROM coverage WHERE before_team IS DISTINCT FROM after_team
), cells AS (
    SELECT 'cell' AS part, count(*) OVER () AS total,
           row_number() OVER (ORDER BY c.code, ch.domain) AS place,
           json_build_array(c.id, c.code, c.name, ch.domain, ft.code, ft.name, tt.code, tt.name) AS row
    FROM changed ch JOIN {_T["cell"]} c ON c.id = ch.cell_id
    LEFT JOIN {_T["team"]} ft ON ft.id = ch.from_team
    LEFT JOIN {_T["team"]} tt ON tt.id = ch.to_team
), cases AS (
    SELECT 'case' AS part, count(*) OVER () AS total,
           row_number() OVER (ORDER BY r.received_at, r.id) AS place,
           json_build_array(r.id, r.received_at, mt.code, mt.name, c.code, ft.code, ft.name,
                            tt.code, tt.name, cv.before_team IS DISTINCT FROM cv.after_team) AS row
    FROM report r
    JOIN {_T["cell"]} c ON c.id = r.cell_id
    JOIN {_T["team"]} ft ON ft.id = r.team_id
    LEFT JOIN {_T["matter"]} mt ON mt.id = r.matter_id
    LEFT JOIN coverage cv ON cv.cell_id = r.cell_id AND cv.domain = r.domain
    LEFT JOIN {_T["team"]} tt ON tt.id = cv.after_team
    WHERE r.status = ANY(%(open)s) AND cv.after_team IS DISTINCT FROM r.team_id
), workload AS (
    SELECT 'load' AS part, 0 AS total, 0 AS place,
           json_build_array(cv.before_team, cv.after_team, count(*)) AS row
    FROM report r
    LEFT JOIN coverage cv ON cv.cell_id = r.cell_id AND cv.domain = r.domain
    WHERE r.received_at >= %(since)s AND r.received_at <= %(now)s
    GROUP BY cv.before_team, cv.after_team
)
SELECT part, total, place, row FROM cells WHERE place <= %(cap)s
UNION ALL SELECT part, total, place, row FROM cases WHERE place <= %(cap)s
UNION ALL SELECT part, total, place, row FROM workload
"""


def coverage_draft_diff(
    *, draft: CoverageVersion, against: CoverageVersion | None = None, now: datetime | None = None
) -> dict:
    """What publishing `draft` would change compared with `against` (default: the published version
    in force at `now`; with none, every covered cell of the draft is a change from nobody).

    - cells_changing_team: per (cell, domain) whose team differs (None = uncovered on that side);
    - open_cases_changing_owner: open reports (gridops.deadlines.OPEN, the report list's `open`)
      with a team, whose cell the draft gives to another team — or to nobody (`to` None) — in the
      report's responsible domain. Compared with the report's current team, so a report a
      dispatcher assigned by hand away from its zone's team shows too; `coverage_changed` says
      whether the draft itself moved the cell. Reports in triage have no owner and are left out;
    - monthly_workload: the reports received in the last 90 days attributed by each side's coverage
      to a team, per 30 days. Reports neither side attributes are in `unattributed`.
    Lists stop at DIFF_LIST_CAP rows; the *_count fields are the full numbers. Two statements
    (three when `against` is looked up).
    """
    since, now = _window(now)
    if against is None:
        against = coverage_version_in_force(at=now)
    params = {
        "draft": draft.pk,
        "against": against.pk if against else None,
        "cap": DIFF_LIST_CAP,
        "open": list(OPEN),
        "since": since,
        "now": now,
        **_DOMAIN_PARAMS,
    }

    parts: dict[str, list] = {"cell": [], "case": [], "load": []}
    totals = {"cell": 0, "case": 0}
    for part, total, place, row in _rows(_DIFF_SQL, params):
        parts[part].append((place, row))
        totals[part] = total
    cells, cases = (
        [row for _place, row in sorted(parts[name], key=lambda item: item[0])] for name in ("cell", "case")
    )
    return {
        "draft": {"id": draft.pk, "name": draft.name, "revision": draft.revision},
        "against": (
            {
                "id": against.pk,
                "name": against.name,
                "effective_from": (
                    timezone.localtime(against.effective_from).isoformat() if against.effective_from else None
                ),
            }
            if against
            else None
        ),
        "cells_changing_team": [
            {
                "cell": {"id": cell_id, "code": code, "name": name},
                "domain": domain,
                "from": _team(from_code, from_name),
                "to": _team(to_code, to_name),
            }
            for cell_id, code, name, domain, from_code, from_name, to_code, to_name in cells
        ],
        "cells_changing_team_count": totals["cell"],
        "open_cases_changing_owner": [
            {
                "id": report_id,
                "number": Report(pk=report_id, received_at=datetime.fromisoformat(received_at)).number,
                "matter": _team(matter_code, matter_name),
                "cell": cell_code,
                "from": _team(from_code, from_name),
                "to": _team(to_code, to_name),
                "coverage_changed": coverage_changed,
            }
            for (
                report_id,
                received_at,
                matter_code,
                matter_name,
                cell_code,
                from_code,
                from_name,
                to_code,
                to_name,
                coverage_changed,
            ) in cases
        ],
        "open_cases_changing_owner_count": totals["case"],
        **_monthly_workload(counts=[row for _place, row in parts["load"]], draft=draft, against=against),
        "window_days": WINDOW_DAYS,
    }


def _monthly_workload(*, counts: list[list], draft: CoverageVersion, against: CoverageVersion | None) -> dict:
    """Per team: reports of the window each side attributes to it, per 30 days (one query for the
    teams: those counted and those with a zone on either side, so a team losing everything shows)."""
    before: dict[int | None, int] = defaultdict(int)
    after: dict[int | None, int] = defaultdict(int)
    for before_team, after_team, n in counts:
        before[before_team] += n
        after[after_team] += n
    versions = [draft.pk] + ([against.pk] if against else [])
    ids = {t for t in (*before, *after) if t is not None}
    teams = Team.objects.filter(Q(pk__in=ids) | Q(zones__version__in=versions)).distinct().order_by("code")

    def shift(b: int, a: int) -> dict:
        def per_month(n: int) -> float:
            return round(n * MONTH_DAYS / WINDOW_DAYS, 2)

        # delta from the counts, not from the rounded figures (7/3 → 5/3 is −0.67, not −0.66)
        return {"before": per_month(b), "after": per_month(a), "delta": per_month(a - b)}

    rows = [
        {"team": _team(team.code, team.name), **shift(before.get(team.pk, 0), after.get(team.pk, 0))}
        for team in teams.only("code", "name")
    ]
    return {"monthly_workload": rows, "unattributed": shift(before.get(None, 0), after.get(None, 0))}
