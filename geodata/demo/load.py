"""Load the demo county into the database: geography, teams and their cross-township zones, the
county "1+8" professional teams, a published coverage version, the matter catalogue, a roster of
officers and one demo user per role.

Bulk rows (cells, zone memberships) go through PostgreSQL COPY: ~50k rows/s here against ~1.3k for
row-by-row inserts, which matters for the 100,000-cell scale county.
"""

import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import shapely
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection, transaction
from django.utils import timezone

from geodata.demo import catalogue, people
from geodata.demo.county import COUNTY_CODE, DemoCounty, build_demo_county
from geodata.models import (
    CoverageVersion,
    Domain,
    EnforcementZone,
    GridCell,
    Matter,
    Officer,
    Region,
    Team,
    UserScope,
    ZoneCell,
)
from geodata.revision import geodata_revision_bump

logger = logging.getLogger("geodata.demo")

# Comprehensive teams: several cover more than one township (跨区域执法), one covers the park,
# one the farm. (code, name, township-level codes)
COMPREHENSIVE_TEAMS = [
    ("zh-chengqu", "象山县综合行政执法队城区中队", ["330225001", "330225002", "330225500"]),
    ("zh-dongbu", "象山县综合行政执法队东部中队", ["330225003", "330225200", "330225108"]),
    ("zh-beibu", "象山县综合行政执法队北部中队", ["330225109", "330225104", "330225202"]),
    ("zh-xibu", "象山县综合行政执法队西部中队", ["330225102", "330225105", "330225106"]),
    ("zh-zhongnan", "象山县综合行政执法队中南部中队", ["330225201", "330225203", "330225110"]),
    ("zh-dingtang", "象山县综合行政执法队定塘中队", ["330225107", "330225400"]),
    ("zh-shipu", "象山县综合行政执法队石浦中队", ["330225101"]),
    ("zh-haidao", "象山县综合行政执法队海岛中队", ["330225103", "330225204"]),
]

_SOUTH = ["330225101", "330225103", "330225204", "330225107", "330225110", "330225203", "330225400"]
# County professional teams ("1+8" + 渔业). None = the whole county. 市场监管 has two
# jurisdictions (two market-supervision offices), to show routing by department jurisdiction.
PROFESSIONAL_TEAMS = [
    ("sc-dancheng", "丹城市场监管所执法队", Domain.MARKET, "象山县市场监督管理局", "north"),
    ("sc-shipu", "石浦市场监管所执法队", Domain.MARKET, "象山县市场监督管理局", "south"),
    ("st", "宁波市生态环境局象山分局执法大队", Domain.ECOLOGY, "宁波市生态环境局象山分局", None),
    ("jt", "象山县交通运输行政执法队", Domain.TRANSPORT, "象山县交通运输局", None),
    ("wh", "象山县文化市场综合行政执法队", Domain.CULTURE, "象山县文化和广电旅游体育局", None),
    ("ny", "象山县农业农村综合行政执法队", Domain.AGRICULTURE, "象山县农业农村局", None),
    ("yj", "象山县应急管理行政执法队", Domain.EMERGENCY, "象山县应急管理局", None),
    ("zr", "象山县自然资源行政执法队", Domain.RESOURCES, "象山县自然资源和规划局", None),
    ("ws", "象山县卫生健康综合行政执法队", Domain.HEALTH, "象山县卫生健康局", None),
    ("yy", "象山县海洋与渔业执法大队", Domain.FISHERY, "象山县海洋与渔业局", None),
]

# One demo user per role: (username, role group, display name)
DEMO_USERS = [
    ("dispatcher", "dispatcher", "指挥中心调度员"),
    ("gridworker", "grid_worker", "丹东街道网格员"),
    ("planner", "planner", "片区规划员"),
    ("supervisor", "supervisor", "督查员"),
    ("officer", "officer", "城区中队执法队员"),
    ("admin", "admin", "系统管理员"),
    # A township dispatcher: a dispatcher with a UserScope (丹东街道 + 城区中队); `dispatcher` has
    # none and is county-wide (gridops/scopes.py).
    ("dandong", "dispatcher", "丹东街道调度员"),
]
DEMO_TOWNSHIP_DISPATCHER = ("dandong", ["330225001"], ["zh-chengqu"])


@dataclass
class DemoSummary:
    townships: int
    villages: int
    cells: int
    teams: int
    zones: int
    zone_cells: int
    matters: int
    officers: int
    seconds: float
    skipped: bool = False


def _ewkb_hex(geoms) -> list[str]:
    arr = shapely.set_srid(np.asarray(geoms, dtype=object), settings.SRID)
    return list(shapely.to_wkb(arr, hex=True, include_srid=True))


def _geos(geom) -> GEOSGeometry:
    return GEOSGeometry(shapely.to_wkb(geom, hex=True), srid=settings.SRID)


def _copy_rows(table: str, columns: list[str], rows) -> None:
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def geodata_demo_wipe() -> None:
    """Remove all geodata (and, through CASCADE, any operations data that refers to it)."""
    tables = [
        m._meta.db_table
        for m in (ZoneCell, EnforcementZone, CoverageVersion, Officer, Team, GridCell, Region, Matter)
    ]
    tables.append(GridCell.workers.through._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def geodata_demo_is_loaded(*, cells: int) -> bool:
    return Region.objects.filter(code=COUNTY_CODE).exists() and GridCell.objects.count() == cells


@transaction.atomic
def geodata_demo_load(*, cells: int = 3000, seed: int = 330225, force: bool = False) -> DemoSummary:
    """Generate and store the demo county. Skips (returns skipped=True) when the same size is
    already loaded, unless force."""
    started = time.perf_counter()
    if not force and geodata_demo_is_loaded(cells=cells):
        return DemoSummary(0, 0, cells, 0, 0, 0, 0, 0, 0.0, skipped=True)
    demo = build_demo_county(cells=cells, seed=seed)
    geodata_demo_wipe()
    rng = random.Random(seed)

    regions = _load_regions(demo)
    cell_ids = _load_cells(demo, regions)
    teams, zones, zone_cell_count = _load_coverage(demo, cell_ids)
    matters = _load_matters()
    officers = _load_officers(teams, rng)
    _load_users(teams, cell_ids)
    geodata_revision_bump()
    return DemoSummary(
        townships=len(demo.townships),
        villages=len(demo.villages),
        cells=len(demo.cells),
        teams=len(teams),
        zones=zones,
        zone_cells=zone_cell_count,
        matters=matters,
        officers=officers,
        seconds=time.perf_counter() - started,
    )


def _load_regions(demo: DemoCounty) -> dict[str, Region]:
    county = Region.objects.create(
        code=demo.county.code, name=demo.county.name, level=Region.Level.COUNTY, geom=_geos(demo.county.geom)
    )
    regions = {county.code: county}
    for area in demo.townships:
        regions[area.code] = Region(
            code=area.code, name=area.name, level=area.level, parent=county, geom=_geos(area.geom)
        )
    Region.objects.bulk_create([regions[a.code] for a in demo.townships])
    villages = [
        Region(code=v.code, name=v.name, level=v.level, parent=regions[v.parent_code], geom=_geos(v.geom))
        for v in demo.villages
    ]
    Region.objects.bulk_create(villages, batch_size=500)
    regions.update({v.code: v for v in villages})
    return regions


def _load_cells(demo: DemoCounty, regions: dict[str, Region]) -> dict[str, int]:
    valid_from = timezone.localdate() - timedelta(days=365)
    wkb = _ewkb_hex([c.geom for c in demo.cells])
    _copy_rows(
        GridCell._meta.db_table,
        ["code", "name", "village_id", "township_id", "geom", "valid_from"],
        (
            (c.code, c.name, regions[c.village_code].id, regions[c.township_code].id, wkb[i], valid_from)
            for i, c in enumerate(demo.cells)
        ),
    )
    return dict(GridCell.objects.values_list("code", "id"))


def _load_coverage(demo: DemoCounty, cell_ids: dict[str, int]):
    now = timezone.now()
    version = CoverageVersion.objects.create(
        name="2026 年执法片区划分",
        status=CoverageVersion.Status.PUBLISHED,
        effective_from=now - timedelta(days=90),
        published_at=now - timedelta(days=91),
        note="演示数据：8 个综合行政执法中队（多个跨乡镇）+ 县级专业执法队伍（1+8）。",
    )
    township_geom = {t.code: t.geom for t in demo.townships}
    cells_by_township: dict[str, list[int]] = {}
    for c in demo.cells:
        cells_by_township.setdefault(c.township_code, []).append(cell_ids[c.code])

    teams: dict[str, Team] = {}
    plan: list[tuple[Team, str, list[str]]] = []
    for code, name, townships in COMPREHENSIVE_TEAMS:
        centre = township_geom[townships[0]].representative_point()
        teams[code] = Team.objects.create(
            code=code,
            name=name,
            kind=Team.Kind.COMPREHENSIVE,
            domain=Domain.COMPREHENSIVE,
            department="象山县综合行政执法局",
            base=Point(centre.x, centre.y, srid=settings.SRID),
            phone="0574-6592" + str(1000 + len(teams)),
        )
        plan.append((teams[code], name.replace("象山县综合行政执法队", "") + "片区", townships))
    all_codes = [t.code for t in demo.townships]
    county_seat = township_geom["330225001"].representative_point()
    for code, name, domain, department, part in PROFESSIONAL_TEAMS:
        teams[code] = Team.objects.create(
            code=code,
            name=name,
            kind=Team.Kind.PROFESSIONAL,
            domain=domain,
            department=department,
            base=Point(county_seat.x, county_seat.y, srid=settings.SRID),
        )
        if part == "south":
            townships = _SOUTH
        elif part == "north":
            townships = [c for c in all_codes if c not in _SOUTH]
        else:
            townships = all_codes
        plan.append((teams[code], f"{name}辖区", townships))

    rows = []
    for team, zone_name, townships in plan:
        geom = shapely.coverage_union_all([township_geom[t] for t in townships])
        zone = EnforcementZone.objects.create(
            version=version, team=team, name=zone_name, domain=team.domain, geom=_geos(_multi(geom))
        )
        for t in townships:
            rows.extend((zone.id, cid) for cid in cells_by_township[t])
    _copy_rows(ZoneCell._meta.db_table, ["zone_id", "cell_id"], rows)
    return teams, len(plan), len(rows)


def _multi(geom):
    return geom if geom.geom_type == "MultiPolygon" else shapely.multipolygons([geom])


def _load_matters() -> int:
    Matter.objects.bulk_create(
        Matter(
            code=m.code,
            name=m.name,
            domain=m.domain,
            kind=m.kind,
            handled_by=m.handled_by,
            legal_basis=m.legal_basis,
            time_limit_days=m.time_limit_days,
        )
        for m in catalogue.MATTERS
    )
    return len(catalogue.MATTERS)


def _load_officers(teams: dict[str, Team], rng: random.Random) -> int:
    officers = []
    seq = 0
    for team in teams.values():
        size = rng.randint(12, 24) if team.kind == Team.Kind.COMPREHENSIVE else rng.randint(6, 12)
        for _ in range(size):
            seq += 1
            staff = rng.random() < 0.65
            officers.append(
                Officer(
                    team=team,
                    name=people.person_name(rng),
                    certificate_no=people.certificate_no(rng, COUNTY_CODE, seq) if staff else "",
                    status=Officer.Status.STAFF if staff else Officer.Status.AUXILIARY,
                    phone=people.phone(rng),
                )
            )
    Officer.objects.bulk_create(officers)
    return len(officers)


def _load_users(teams: dict[str, Team], cell_ids: dict[str, int]) -> None:
    User = get_user_model()
    for username, role, display in DEMO_USERS:
        group, _ = Group.objects.get_or_create(name=role)
        user, _ = User.objects.get_or_create(username=username)
        user.first_name = display
        user.is_staff = role in ("admin", "planner", "supervisor", "dispatcher")
        user.is_superuser = role == "admin"
        user.set_password(settings.DEMO_PASSWORD)
        user.save()
        user.groups.set([group])
        if role == "grid_worker":
            first_cells = sorted(c for c in cell_ids if c.startswith("330225001"))[:5]
            user.grid_cells.set([cell_ids[c] for c in first_cells])
        if role == "officer":
            officer = Officer.objects.filter(team=teams["zh-chengqu"], status=Officer.Status.STAFF).first()
            Officer.objects.filter(user=user).update(user=None)
            officer.user = user
            officer.save(update_fields=["user"])
    username, township_codes, team_codes = DEMO_TOWNSHIP_DISPATCHER
    scope, _ = UserScope.objects.update_or_create(user=User.objects.get(username=username))
    scope.townships.set(Region.objects.filter(code__in=township_codes))
    scope.teams.set(Team.objects.filter(code__in=team_codes))
