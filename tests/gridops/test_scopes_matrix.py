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
from geodata.models import Officer, UserScope
from gridops import scopes
from gridops.models import Alert, Camera, Device, Report
from gridops.services.reports import ReportInput, report_submit
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
AGGREGATES = ("api:summary", "api:indicators", "api:indicators-review")
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
}
# Apps added in parallel with the scopes work: not yet put through gridops/scopes.py. Listed
# here so the gap is visible and named; remove an entry once the app's endpoints are in the matrix.
NOT_YET_SCOPED_PREFIXES = {
    "inspections:": "joint / double-random inspections (inspections app, same session as scopes)",
}
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
        *AGGREGATES,
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
        if ":" not in n and n not in NOT_PERSONAL and n not in DEVICE_ONLY and not n.startswith("api")
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
    return w


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _url(name: str, obj=None) -> str:
    return reverse(name, args=[obj.pk]) if obj is not None else reverse(name)


def _objects_of(kind: str, w: World) -> dict:
    prefix = {"reports": "r_", "units": "u_", "tracks": "u_", "alerts": "a_", "cameras": "c_"}[kind]
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


def _anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def test_the_matrix_reports_no_leaks(world):
    tally = _run_matrix(world)
    print(f"\nscopes matrix: {tally.checks} checks, {len(tally.leaks)} leaks, {len(tally.misses)} misses")
    assert not tally.leaks, tally.leaks
    assert not tally.misses, tally.misses
    assert tally.checks >= 300


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
