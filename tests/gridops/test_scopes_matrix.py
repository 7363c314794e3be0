"""Who sees what: every role × every read endpoint × an object in / out of the role's scope.

The endpoints are enumerated from the URL resolver, so a new one cannot be forgotten: the test
fails for a URL name that is neither in the matrix nor in an explicit list of addresses that hold
no personal data (reference geography, the public pages, device-only intake, the schema).

A leak is an object outside the role's scope that appears in a list, a detail or action on such
an object that answers anything but 404, or a page the role may not use that answers 200. The
matrix counts its checks and its leaks and asserts 0 leaks; it also asserts that what *should*
be seen is seen (a scope that hides everything would pass a leak test and fail here).

    tiny county (tests/factories.py)
        W = 丹东街道, team zh-1      E = 石浦镇, team zh-2
        r_own  in cell (0,0) of W, reported by the grid worker (who looks after cell (0,0))
        r_w    in cell (1,1) of W, reported by a citizen
        r_e    in cell (3,3) of E, reported by a citizen
        u_w, a_w: unit and alert of zh-1 / W      u_e, a_e: of zh-2 / E

    inspections (inspections/scopes.py), one of each in W / zh-1 and in E / zh-2:
        t_  targets        i_  roster officers (i_w is the officer user's row)
        x_  conflicts      p_  plans (each with a check on its target)
        v_  joint visits   d_  draws (target of the township, inspector of the team)
"""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point
from django.db.models import Q
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from frontend.views import DATA_PAGES
from geodata.models import Domain, Officer, UserScope
from gridops import scopes
from gridops.models import Alert, Camera, Device, Report
from gridops.services.reports import ReportInput, report_submit
from inspections import scopes as inspection_scopes
from inspections.models import (
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
from tests.data import images
from tests.gridops.units_factory import tracked_unit

ROLES = (
    "anonymous",
    "grid_worker",
    "officer",
    "township_dispatcher",
    "township_supervisor",
    "county_dispatcher",
    "planner",
    "supervisor",
    "admin",
)
EVERYTHING = ("county_dispatcher", "supervisor", "admin")
TOWNSHIP = ("township_dispatcher", "township_supervisor")

# What each role sees of the world below (keys of World.objects).
VISIBLE = {
    "reports": {
        **{r: set() for r in ROLES},
        "grid_worker": {"r_own"},
        "officer": {"r_own", "r_w"},
        **{r: {"r_own", "r_w"} for r in TOWNSHIP},
        **{r: {"r_own", "r_w", "r_e"} for r in EVERYTHING},
    },
    "units": {
        **{r: set() for r in ROLES},
        "officer": {"u_w"},
        **{r: {"u_w"} for r in TOWNSHIP},
        **{r: {"u_w", "u_e"} for r in EVERYTHING},
    },
    "tracks": {  # where a unit has been: dispatchers, supervisors, administrators only
        **{r: set() for r in ROLES},
        **{r: {"u_w"} for r in TOWNSHIP},
        **{r: {"u_w", "u_e"} for r in EVERYTHING},
    },
    "alerts": {
        **{r: set() for r in ROLES},
        "officer": {"a_w"},
        **{r: {"a_w"} for r in TOWNSHIP},
        **{r: {"a_w", "a_e"} for r in EVERYTHING},
    },
    "cameras": {
        **{r: set() for r in ROLES},
        **{r: {"c_w"} for r in TOWNSHIP},
        **{r: {"c_w", "c_e"} for r in EVERYTHING},
    },
}
# Inspections: every kind is seen the same way. County readers (planners too: the county plans
# its inspections) see both; township dispatchers and supervisors W's; the officer zh-1's.
INSPECTION_KINDS = {
    "targets": "t_",
    "inspectors": "i_",
    "conflicts": "x_",
    "plans": "p_",
    "visits": "v_",
    "draws": "d_",
}
INSPECTION_COUNTY = (*EVERYTHING, "planner")
for _kind, _prefix in INSPECTION_KINDS.items():
    VISIBLE[_kind] = {
        **{r: set() for r in ROLES},
        "officer": {f"{_prefix}w"},
        **{r: {f"{_prefix}w"} for r in TOWNSHIP},
        **{r: {f"{_prefix}w", f"{_prefix}e"} for r in INSPECTION_COUNTY},
    }
COMMANDS = (*TOWNSHIP, *EVERYTHING)
DISPATCHERS = (
    "township_dispatcher",
    "county_dispatcher",
    "admin",
)  # the command centre's roles (summary, cameras, indicators)

# --- the endpoints ----------------------------------------------------------------------------------

LISTS = {  # url name -> (kind, how to pull the ids out of the answer)
    "api:report-list": ("reports", lambda body: [r["id"] for r in body["results"]]),
    "api:unit-list": ("units", lambda body: [u["id"] for u in _rows(body)]),
    "api:alert-list": ("alerts", lambda body: [a["id"] for a in _rows(body)]),
    "api:camera-list": ("cameras", lambda body: [f["id"] for f in body["features"]]),
}
DETAILS = {  # url name -> kind; GET on one object: 200 in scope, 404 out of scope
    "api:report-detail": "reports",
    "api:report-record": "reports",
    "api:unit-detail": "units",
    "api:unit-track": "tracks",
    "api:unit-stops": "tracks",
    "api:unit-visited-cells": "tracks",
    "api:unit-activity": "tracks",
    "api:unit-track-gpx": "tracks",
    "api:unit-track-geojson": "tracks",
    "api:alert-detail": "alerts",
}
DISPATCHER_DETAILS = {"api:report-recommend": "reports"}  # dispatchers only (403), then scope (404)
ACTIONS = {  # POST on one object out of scope: 404 (or 403 for a role the action is not for)
    "api:report-transition": ("reports", {"action": "register"}),
    "api:report-assign": ("reports", {"team": "zh-1"}),
    "api:alert-acknowledge": ("alerts", {}),
}
INSPECTION_LISTS = {
    "inspections:target-list": "targets",
    "inspections:inspector-list": "inspectors",
    "inspections:conflict-list": "conflicts",
    "inspections:plan-list": "plans",
    "inspections:joint-visit-list": "visits",
    "inspections:draw-list": "draws",
}
INSPECTION_DETAILS = {
    "inspections:target-detail": "targets",
    "inspections:inspector-detail": "inspectors",
    "inspections:plan-detail": "plans",
    "inspections:joint-visit-detail": "visits",
    "inspections:draw-detail": "draws",
    "inspections:draw-replay": "draws",
}
# Writes on one object outside the scope: answered exactly as for an absent id (404, or the 403
# of a role the write is not for), and nothing changes (checked after the matrix).
INSPECTION_ACTIONS = {  # url name -> (kind, method, body (a callable of the world: ids))
    "inspections:target-detail": ("targets", "patch", lambda w: {"name": "改名"}),
    "inspections:target-colour": ("targets", "post", lambda w: {"colour": "red", "reason": "试"}),
    "inspections:inspector-qualification": ("inspectors", "put", lambda w: {"domains": ["health"]}),
    "inspections:conflict-detail": ("conflicts", "delete", lambda w: None),
    "inspections:plan-checks": ("plans", "post", lambda w: {"target": w.objects["t_w"].pk}),
    "inspections:joint-visit-open-case": ("visits", "post", lambda w: {}),
    "inspections:joint-visit-cancel": ("visits", "post", lambda w: {}),
    "inspections:draw-publish": ("draws", "post", lambda w: {}),
    "inspections:draw-open-cases": ("draws", "post", lambda w: {}),
    "inspections:draw-outcome": ("draws", "post", lambda w: {"position": 1, "outcome": "compliant"}),
}
# Creations in the other township / for the other team: refused (401/403) for every role that may
# not make them anywhere or there; the county's writers (planner, county dispatcher, admin) may,
# and are not run here so the world stays as it is (tests/inspections/test_scopes.py runs them).
INSPECTION_CREATORS = ("county_dispatcher", "planner", "admin")
INSPECTION_CREATES = {
    "inspections:target-list": {"name": "新对象", "lon": "121.035", "lat": "29.035"},
    "inspections:target-import-": {},
    "inspections:conflict-list": {"officer": 0, "target": 0, "reason": "亲属"},
    "inspections:plan-list": {"team": "zh-2", "title": "石浦计划", "year": 2026},
    "inspections:draw-list": {"domain": "market", "filters": {"townships": ["330225101"]}},
    "inspections:joint-visit-proposals": {"year": 2026},
}
# Report photos (/media/…, gridops/api/media.py): seen exactly as their report is; checked below for
# the image and the thumbnail of every report.
PHOTO_FILES = ("media",)
AGGREGATES = ("api:summary", "api:indicators", "api:indicators-review", "inspections:indicators")
PAGES = tuple(name for name in scopes.PAGES)  # frontend pages, by URL name (gridops/scopes.py)

# Addresses that hold no personal data or are not for people: each with the reason.
NOT_PERSONAL = {
    "api:api-root": "the router's index",
    "api:route": "routing a point: reference geography",
    "schema": "the OpenAPI document",
    "api-docs": "the OpenAPI viewer",
    "api-redoc": "the OpenAPI viewer",
    "set_language": "the language switch",
    "healthz": "liveness: {status: ok}",
    "readyz": "readiness: whether PostgreSQL and Redis answer",
}
NOT_PERSONAL_PREFIXES = {
    "api:region-": "regions: reference geography",
    "api:cell-": "grid cells: reference geography (workers are not listed)",
    "api:team-": "teams: reference (duty phones are public)",
    "api:zone-": "enforcement zones: reference geography",
    "api:matter-": "the matter catalogue: public",
    "api:coverage-version": "coverage versions, figures and diffs: planning, no case contents",
    "open311:": "Open311 façade: public requests are redacted (gridops/selectors/disclosure.py)",
    "admin:": "the Django admin: tested below (get_queryset scoped)",
    "inspections:public-draw-": "双随机一公开: published draws are public by law (names, results)",
}
# Apps added in parallel with the scopes work and not yet put through gridops/scopes.py: listed
# here so a gap is visible and named; remove an entry once the app's endpoints are in the matrix.
NOT_YET_SCOPED_PREFIXES: dict[str, str] = {}
DEVICE_ONLY = {
    "api:pings": "trackers' batches (device key)",
    "api:camera-alert": "cameras' alerts (device key)",
}


def _rows(body):
    return body["results"] if isinstance(body, dict) and "results" in body else body


def _url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns)
            elif isinstance(p, URLPattern) and p.name:
                names.add(namespace + p.name)

    walk(get_resolver().url_patterns, "")
    return names


def _classified(name: str) -> bool:
    known = (
        *LISTS,
        *DETAILS,
        *DISPATCHER_DETAILS,
        *ACTIONS,
        *INSPECTION_LISTS,
        *INSPECTION_DETAILS,
        *INSPECTION_ACTIONS,
        *INSPECTION_CREATES,
        *AGGREGATES,
        *PHOTO_FILES,
        *PAGES,
        *NOT_PERSONAL,
        *DEVICE_ONLY,
    )
    prefixes = (*NOT_PERSONAL_PREFIXES, *NOT_YET_SCOPED_PREFIXES)
    return name in known or any(name.startswith(p) for p in prefixes)


def test_every_endpoint_is_in_the_matrix_or_listed_as_holding_no_personal_data():
    missing = sorted(n for n in _url_names() if not _classified(n))
    assert not missing, f"decide who may see these (tests/gridops/test_scopes_matrix.py): {missing}"


def test_every_frontend_page_has_a_rule():
    pages = {
        n
        for n in _url_names()
        if ":" not in n
        and n not in NOT_PERSONAL
        and n not in DEVICE_ONLY
        and n not in PHOTO_FILES
        and not n.startswith("api")
    }
    assert pages <= set(scopes.PAGES), pages - set(scopes.PAGES)


# --- the world ----------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)  # key -> model instance


def _user(django_user_model, name: str, *groups: str, **extra):
    user = django_user_model.objects.create_user(name, password="pw-123456", **extra)
    for g in groups:
        user.groups.add(Group.objects.get_or_create(name=g)[0])
    return user


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _report(reporter, lon: float, lat: float) -> Report:
    report, _ = report_submit(
        data=ReportInput(
            source="citizen",
            lon=lon,
            lat=lat,
            matter_code="ZH-001",
            description="占道经营",
            reporter_name="张三",
            reporter_phone="13812345678",
        ),
        reporter=reporter,
        photos=[images.upload("scene.jpg", images.jpeg_bytes())],
    )
    return report


def _camera(code: str, lon: float, lat: float, township) -> Camera:
    device = Device.objects.create(code=code, name=code, kind=Device.Kind.CAMERA)
    return Camera.objects.create(
        device=device, name=code, location=Point(lon, lat, srid=4326), township=township
    )


@pytest.fixture
def world(tiny_county, django_user_model) -> World:
    tc = tiny_county
    w = World()
    u = w.users
    u["anonymous"] = None
    u["grid_worker"] = _user(django_user_model, "worker", "grid_worker")
    tc.cells[(0, 0)].workers.add(u["grid_worker"])
    u["officer"] = _user(django_user_model, "officer", "officer")
    Officer.objects.create(team=tc.teams["W"], user=u["officer"], name="王警官")
    for role, group in (("township_dispatcher", "dispatcher"), ("township_supervisor", "supervisor")):
        # is_staff: scoped staff must stay scoped (the admin checks below use them)
        u[role] = _user(django_user_model, role, group, is_staff=True)
        scope = UserScope.objects.create(user=u[role])
        scope.townships.set([tc.townships["W"]])
        scope.teams.set([tc.teams["W"]])
    u["county_dispatcher"] = _user(django_user_model, "county", "dispatcher")
    u["planner"] = _user(django_user_model, "planner", "planner")
    u["supervisor"] = _user(django_user_model, "supervisor", "supervisor")
    u["admin"] = _user(django_user_model, "admin", "admin")
    citizen = _user(django_user_model, "citizen")

    o = w.objects
    o["r_own"] = _report(u["grid_worker"], 121.005, 29.005)
    o["r_w"] = _report(citizen, 121.015, 29.015)
    o["r_e"] = _report(citizen, 121.035, 29.035)
    assert (o["r_own"].township, o["r_w"].team, o["r_e"].team) == (
        tc.townships["W"],
        tc.teams["W"],
        tc.teams["E"],
    )
    assert o["r_own"].cell == tc.cells[(0, 0)] and o["r_w"].cell == tc.cells[(1, 1)]
    o["u_w"] = tracked_unit(tc.teams["W"], code="zh-1-car").unit
    o["u_e"] = tracked_unit(tc.teams["E"], code="zh-2-car").unit
    o["a_w"] = Alert.objects.create(
        kind=Alert.Kind.OUT_OF_ZONE,
        unit=o["u_w"],
        team=tc.teams["W"],
        township=tc.townships["W"],
        message="W",
    )
    o["a_e"] = Alert.objects.create(
        kind=Alert.Kind.OUT_OF_ZONE,
        unit=o["u_e"],
        team=tc.teams["E"],
        township=tc.townships["E"],
        message="E",
    )
    o["c_w"] = _camera("cam-w", 121.005, 29.005, tc.townships["W"])
    o["c_e"] = _camera("cam-e", 121.035, 29.035, tc.townships["E"])
    _inspection_world(w, tc)
    return w


def _inspection_world(w: World, tc) -> None:
    """One of each inspection object in W / zh-1 and in E / zh-2 (rows written directly: the
    matrix is about who sees them, tests/inspections about how they are made)."""
    o = w.objects
    today = timezone.localdate()
    o["i_w"] = Officer.objects.get(user=w.users["officer"])
    o["i_e"] = Officer.objects.create(team=tc.teams["E"], name="李队员", certificate_no="ZJ-E-1")
    for side, lon in (("w", 121.005), ("e", 121.035)):
        township, team = tc.townships[side.upper()], tc.teams[side.upper()]
        target = Target.objects.create(
            name=f"对象{side}",
            point=Point(lon, 29.005, srid=4326),
            township=township,
            colour=CreditColour.GREEN,
        )
        o[f"t_{side}"] = target
        o[f"x_{side}"] = Conflict.objects.create(officer=o[f"i_{side}"], target=target, reason="亲属")
        plan = InspectionPlan.objects.create(
            team=team, title=f"计划{side}", year=today.year, starts_on=today, ends_on=today
        )
        o[f"p_{side}"] = plan
        visit = JointVisit.objects.create(
            period_start=today,
            period_end=today,
            lead_team=team,
            planned_date=today,
            visits_before=2 if side == "w" else 3,
        )
        VisitTarget.objects.create(visit=visit, target=target, colour=target.colour)
        PlannedCheck.objects.create(
            plan=plan,
            target=target,
            domain=Domain.COMPREHENSIVE,
            due_from=today,
            due_until=today,
            visit=visit,
        )
        o[f"v_{side}"] = visit
        snapshot = {
            "version": 1,
            "on": today.isoformat(),
            "targets": [[target.pk, "green"]],
            "officers": [o[f"i_{side}"].pk],
            "conflicts": [],
            "rates": {"green": 1.0, "red": 1.0, "yellow": 1.0},
            "inspectors_per_target": 2,
        }
        draw = Draw.objects.create(
            domain=Domain.COMPREHENSIVE,
            filters={"townships": [township.code]},
            rates=snapshot["rates"],
            seed=1,
            draw_date=today,
            snapshot=snapshot,
            pool_hash="0" * 64,
        )
        DrawResult.objects.create(
            draw=draw, position=1, target=target, colour=target.colour, inspectors=[o[f"i_{side}"].pk]
        )
        o[f"d_{side}"] = draw


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _url(name: str, obj=None) -> str:
    return reverse(name, args=[obj.pk]) if obj is not None else reverse(name)


def _objects_of(kind: str, w: World) -> dict:
    prefix = {"reports": "r_", "units": "u_", "tracks": "u_", "alerts": "a_", "cameras": "c_"}.get(kind)
    prefix = prefix or INSPECTION_KINDS[kind]
    return {k: v for k, v in w.objects.items() if k.startswith(prefix)}


@dataclass
class Tally:
    checks: int = 0
    leaks: list = field(default_factory=list)  # an out-of-scope object shown
    misses: list = field(default_factory=list)  # an in-scope object hidden (over-restriction)

    def check(self, ok_leak: bool, ok_miss: bool, what: str) -> None:
        self.checks += 1
        if not ok_leak:
            self.leaks.append(what)
        if not ok_miss:
            self.misses.append(what)


RANGE = {"start": (timezone.now() - timedelta(hours=2)).isoformat(), "end": timezone.now().isoformat()}


def _run_matrix(w: World) -> Tally:
    tally = Tally()
    ids = {key: obj.pk for key, obj in w.objects.items()}
    for role in ROLES:
        client = _client(w.users[role])
        # lists: nothing outside the scope, everything inside it
        for name, (kind, pull) in LISTS.items():
            response = client.get(_url(name))
            got_ids = set(pull(response.json())) if response.status_code == 200 else set()
            objects = _objects_of(kind, w)
            got = {k for k, obj in objects.items() if obj.pk in got_ids}
            stray = got_ids - {o.pk for o in objects.values()}
            want = VISIBLE[kind][role]
            tally.check(
                got <= want and not stray,
                got >= want,
                f"{role} {name}: got {sorted(got)}, want {sorted(want)}",
            )
        # details and track reads of each object: out of scope answers exactly what a missing id
        # answers (404, or the endpoint's own refusal for the role), so existence is not told
        for name, kind in {**DETAILS, **DISPATCHER_DETAILS}.items():
            params = RANGE if kind == "tracks" else {}
            absent = client.get(reverse(name, args=[999999]), params).status_code
            for key, obj in _objects_of(kind, w).items():
                url = _url(name, obj)
                status = client.get(url, params).status_code
                visible = key in VISIBLE[kind][role]
                if name in DISPATCHER_DETAILS and role not in DISPATCHERS:
                    visible = False
                what = f"{role} GET {url}: {status} (absent id: {absent})"
                if visible:
                    tally.check(True, status == 200, what)
                else:
                    tally.check(status != 200 and status == absent, True, what)
        # actions on objects out of scope: never done, and existence not told
        for name, (kind, body) in ACTIONS.items():
            for key, obj in _objects_of(kind, w).items():
                if key in VISIBLE[kind][role] or w.users[role] is None:
                    continue
                response = client.post(_url(name, obj), body, content_type="application/json")
                allowed = (404,) if name != "api:report-assign" else (404, 403)
                tally.check(
                    response.status_code in allowed, True, f"{role} POST {name} {key}: {response.status_code}"
                )
        # aggregates: only the command roles, and only their scope's figures
        summary = client.get(_url("api:summary"))
        if role in COMMANDS:
            open_ids = set(Report.objects.filter(status__in=("new", "triage")).values_list("pk", flat=True))
            want = len({k for k in VISIBLE["reports"][role] if ids[k] in open_ids})
            got = summary.json()["open"] if summary.status_code == 200 else None
            tally.check(
                got is not None and got <= want, got == want, f"{role} summary open {got} (want {want})"
            )
        else:
            tally.check(summary.status_code in (401, 403), True, f"{role} summary {summary.status_code}")
        for name in ("api:indicators", "api:indicators-review"):
            params = {"kind": "daily"} if name.endswith("review") else {}
            east = client.get(_url(name), {**params, "township": "330225101"})
            own = client.get(_url(name), params)
            if role in EVERYTHING:
                tally.check(True, east.status_code == 200 and own.status_code == 200, f"{role} {name}")
            elif role in TOWNSHIP:
                tally.check(
                    east.status_code == 400, own.status_code == 200, f"{role} {name} E {east.status_code}"
                )
                if name == "api:indicators" and own.status_code == 200:
                    scope_code = own.json()["scope"]["township"]["code"]
                    tally.check(scope_code == "330225001", True, f"{role} {name} default scope {scope_code}")
            else:
                tally.check(
                    own.status_code in (401, 403) and east.status_code in (401, 403), True, f"{role} {name}"
                )
        # pages
        for page, rule in scopes.PAGES.items():
            if page in ("case-record", "logout", "report-sw", "login"):
                continue
            try:
                url = _url(page)
            except NoReverseMatch:  # a page with a rule that its app has not wired up (yet)
                continue
            response = client.get(url)
            allowed = scopes.page_allowed(w.users[role] or _anonymous(), page)
            if rule == scopes.PUBLIC:
                tally.check(True, response.status_code == 200, f"{role} page {page} {response.status_code}")
                continue
            # anonymous: the login page, except data addresses (JSON 403, never a redirect)
            expected_refusal = 302 if w.users[role] is None and page not in DATA_PAGES else 403
            tally.check(
                response.status_code != 200 if not allowed else True,
                response.status_code in (200, 403) if allowed else response.status_code == expected_refusal,
                f"{role} page {page}: {response.status_code}",
            )
        _inspections_matrix(tally, w, role, client)
        # photos: the image and the thumbnail as the report; out of scope exactly as a file that
        # does not exist (the same name one report further on)
        for key in ("r_own", "r_w", "r_e"):
            for photo in w.objects[key].photos.all():
                for name in (photo.image.name, photo.thumbnail.name):
                    response = client.get(f"/media/{name}")
                    report_id = str(w.objects[key].pk)
                    absent = client.get(f"/media/{name}".replace(f"/{report_id}-", "/999999-")).status_code
                    what = f"{role} photo {key} {name}: {response.status_code} (absent: {absent})"
                    if key in VISIBLE["reports"][role]:
                        tally.check(True, response.status_code == 200, what)
                    else:
                        tally.check(
                            response.status_code != 200 and response.status_code == absent, True, what
                        )
        for key in ("r_own", "r_w", "r_e"):
            response = client.get(_url("case-record", w.objects[key]))
            visible = key in VISIBLE["reports"][role]
            if w.users[role] is None:
                tally.check(response.status_code == 302, True, f"anonymous record {key}")
            elif visible:
                # the record page has its own rule on top (roles acting on the case, staff)
                tally.check(
                    True, response.status_code in (200, 403), f"{role} record {key}: {response.status_code}"
                )
            else:
                tally.check(response.status_code == 404, True, f"{role} record {key}: {response.status_code}")
    return tally


def _inspections_matrix(tally: Tally, w: World, role: str, client: Client) -> None:
    """The inspection endpoints for one role (inspections/scopes.py)."""
    for name, kind in INSPECTION_LISTS.items():
        response = client.get(_url(name))
        got_ids = {row["id"] for row in _rows(response.json())} if response.status_code == 200 else set()
        objects = _objects_of(kind, w)
        got = {k for k, obj in objects.items() if obj.pk in got_ids}
        # inspectors: the roster holds other officers (none of another scope's teams here)
        stray = set() if kind == "inspectors" else got_ids - {o.pk for o in objects.values()}
        want = VISIBLE[kind][role]
        refused = response.status_code in (401, 403)
        tally.check(
            got <= want and not stray,
            got >= want and (refused == (not want)),
            f"{role} {name}: {response.status_code} got {sorted(got)}, want {sorted(want)}",
        )
    for name, kind in INSPECTION_DETAILS.items():
        absent = client.get(reverse(name, args=[999999])).status_code
        for key, obj in _objects_of(kind, w).items():
            url = _url(name, obj)
            status = client.get(url).status_code
            what = f"{role} GET {url}: {status} (absent id: {absent})"
            if key in VISIBLE[kind][role]:
                tally.check(True, status == 200, what)
            else:
                tally.check(status != 200 and status == absent, True, what)
    for name, (kind, method, body) in INSPECTION_ACTIONS.items():
        absent = getattr(client, method)(
            reverse(name, args=[999999]), body(w), content_type="application/json"
        )
        for key, obj in _objects_of(kind, w).items():
            if key in VISIBLE[kind][role]:
                continue
            response = getattr(client, method)(_url(name, obj), body(w), content_type="application/json")
            tally.check(
                response.status_code == absent.status_code and response.status_code in (401, 403, 404),
                True,
                f"{role} {method} {name} {key}: {response.status_code} (absent: {absent.status_code})",
            )
    if role not in INSPECTION_CREATORS:
        for name, body in INSPECTION_CREATES.items():
            response = client.post(_url(name), body, content_type="application/json")
            tally.check(
                response.status_code in (401, 403), True, f"{role} POST {name}: {response.status_code}"
            )
    # The merge proposal is county-wide (it crosses departments and townships): county readers only.
    proposals = client.get(_url("inspections:joint-visit-proposals"), {"year": timezone.localdate().year})
    tally.check(
        proposals.status_code in (401, 403) or role in INSPECTION_COUNTY,
        proposals.status_code == 200 or role not in INSPECTION_COUNTY,
        f"{role} proposals {proposals.status_code}",
    )
    # The indicators: the dashboard's readers, a scoped one within their scope (W: v_w, d_w).
    today = timezone.localdate().isoformat()
    period = {"start": today, "end": today}
    own = client.get(_url("inspections:indicators"), period)
    east = client.get(_url("inspections:indicators"), {**period, "township": "330225101"})
    want = {"county": (5, 2), "W": (2, 1)}  # (visits before, green targets drawn)
    figures = (
        (own.json()["joint"]["visits_before"], own.json()["by_colour"]["green"]["draw"])
        if own.status_code == 200
        else None
    )
    what = f"{role} inspections:indicators {own.status_code} {figures} / E {east.status_code}"
    if role in EVERYTHING:
        tally.check(True, figures == want["county"] and east.status_code == 200, what)
    elif role in TOWNSHIP:
        tally.check(east.status_code == 400 and figures in (None, want["W"]), figures == want["W"], what)
    else:
        tally.check(own.status_code in (401, 403) and east.status_code in (401, 403), True, what)


def _inspection_state(w: World) -> tuple:
    """What the out-of-scope writes must not have changed."""
    return (
        tuple(Target.objects.order_by("id").values_list("id", "name", "colour")),
        Conflict.objects.count(),
        PlannedCheck.objects.count(),
        InspectionPlan.objects.count(),
        tuple(JointVisit.objects.order_by("id").values_list("id", "status", "report_id")),
        tuple(Draw.objects.order_by("id").values_list("id", "published")),
        tuple(DrawResult.objects.order_by("id").values_list("id", "outcome", "report_id")),
        Report.objects.count(),
        Target.objects.count(),
    )


def _anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def test_the_matrix_reports_no_leaks(world):
    before = _inspection_state(world)
    tally = _run_matrix(world)
    print(f"\nscopes matrix: {tally.checks} checks, {len(tally.leaks)} leaks, {len(tally.misses)} misses")
    assert not tally.leaks, tally.leaks
    assert not tally.misses, tally.misses
    assert tally.checks >= 300
    assert _inspection_state(world) == before  # no out-of-scope write went through


def test_the_matrix_catches_an_inspection_leak(world, monkeypatch):
    """With targets unscoped the matrix counts leaks, in the target endpoints only."""
    monkeypatch.setattr(inspection_scopes, "target_q", lambda scope: None)
    tally = _run_matrix(world)
    assert tally.leaks and all("target" in leak for leak in tally.leaks), tally.leaks


def test_the_matrix_catches_a_leak(world, monkeypatch):
    """The matrix can fail: with reports unscoped it counts leaks (and nothing else changes)."""
    monkeypatch.setattr(scopes, "report_q", lambda scope: None if scope.authenticated else Q(pk__in=[]))
    tally = _run_matrix(world)
    assert tally.leaks and all(
        "report" in leak or "record" in leak or "summary" in leak for leak in tally.leaks
    )


def test_the_admin_shows_scoped_staff_only_their_scope(world):
    """Staff who are not superusers see their scope's reports, units and alerts in the admin."""
    from django.contrib.auth.models import Permission

    staff = world.users["township_dispatcher"]
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=("view_report", "view_unit", "view_alert", "change_report"))
    )
    client = _client(staff)
    for model, inside, outside in (("report", "r_w", "r_e"), ("unit", "u_w", "u_e"), ("alert", "a_w", "a_e")):
        listing = client.get(f"/admin/gridops/{model}/")
        assert listing.status_code == 200
        html = listing.content.decode()
        assert f"/admin/gridops/{model}/{world.objects[inside].pk}/change/" in html
        assert f"/admin/gridops/{model}/{world.objects[outside].pk}/change/" not in html
        # the change page of an object outside the scope: the admin's "does not exist" redirect
        response = client.get(f"/admin/gridops/{model}/{world.objects[outside].pk}/change/")
        assert response.status_code == 302 and response["Location"] == "/admin/"


def test_a_page_the_role_may_not_use_is_a_403_page_with_a_link_home(world):
    response = _client(world.users["planner"]).get(reverse("command"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert response.status_code == 403
    assert 'data-forbidden="command"' in html and "无权访问" in html
    assert f'href="{reverse("home")}"' in html and "返回首页" in html
    assert "command-state" not in html  # not the map page with nothing on it
