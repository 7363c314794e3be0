"""Factories that tile space: a tiny county whose cells share edges exactly.

The tiny county (origin 121.00 E, 29.00 N; cells of 0.01°; columns x=0..3, rows y=0..3):

    lat 29.04 ┌──────┬──────┬──────┬──────┐
              │ W-N  │ W-N  │ E-N  │ E-N  │   townships: W = 330225001 丹东街道 (x 0–1)
    lat 29.03 ├──────┼──────┼──────┼──────┤              E = 330225101 石浦镇   (x 2–3)
              │ W-N  │ W-N  │ E-N  │ E-N  │   villages: -S rows 0–1, -N rows 2–3
    lat 29.02 ├──────┼──────┼──────┼──────┤
              │ W-S  │ W-S  │ E-S  │ E-S  │   comprehensive team 一中队 covers W,
    lat 29.01 ├──────┼──────┼──────┼──────┤   comprehensive team 二中队 covers E,
              │ W-S  │ W-S  │ E-S  │ E-S  │   市场监管 covers everything;
    lat 29.00 └──────┴──────┴──────┴──────┘   渔业 has a team but no zone.
           121.00  121.01  121.02  121.03  121.04

Cell codes: village code + 3-digit sequence, numbered row-major from the south-west within each
village, so the cell code order is predictable in tie-break tests.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.utils import timezone

from geodata.models import (
    CoverageVersion,
    Domain,
    EnforcementZone,
    GridCell,
    Matter,
    Region,
    Team,
    ZoneCell,
)
from geodata.revision import geodata_revision_bump

ORIGIN = (121.0, 29.0)
STEP = 0.01


def square(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon(Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))), srid=4326)


def union(geoms) -> MultiPolygon:
    merged = geoms[0]
    for g in geoms[1:]:
        merged = merged.union(g)
    if merged.geom_type == "Polygon":
        merged = MultiPolygon(merged, srid=4326)
    return GEOSGeometry(merged.wkt, srid=4326)


@dataclass
class TinyCounty:
    county: Region
    townships: dict[str, Region] = field(default_factory=dict)
    villages: dict[str, Region] = field(default_factory=dict)
    cells: dict[tuple[int, int], GridCell] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    version: CoverageVersion | None = None
    zones: dict[str, EnforcementZone] = field(default_factory=dict)
    matters: dict[str, Matter] = field(default_factory=dict)


def cell_square(x: int, y: int) -> MultiPolygon:
    x0, y0 = ORIGIN[0] + x * STEP, ORIGIN[1] + y * STEP
    return square(round(x0, 6), round(y0, 6), round(x0 + STEP, 6), round(y0 + STEP, 6))


def build_tiny_county() -> TinyCounty:
    county = Region.objects.create(
        code="330225", name="象山县", level=Region.Level.COUNTY, geom=square(121.0, 29.0, 121.04, 29.04)
    )
    tc = TinyCounty(county=county)
    tc.townships["W"] = Region.objects.create(
        code="330225001",
        name="丹东街道",
        level=Region.Level.SUBDISTRICT,
        parent=county,
        geom=square(121.0, 29.0, 121.02, 29.04),
    )
    tc.townships["E"] = Region.objects.create(
        code="330225101",
        name="石浦镇",
        level=Region.Level.TOWN,
        parent=county,
        geom=square(121.02, 29.0, 121.04, 29.04),
    )
    for t, (x0, x1) in {"W": (121.0, 121.02), "E": (121.02, 121.04)}.items():
        for v, (y0, y1), num in (("S", (29.0, 29.02), "001"), ("N", (29.02, 29.04), "002")):
            tc.villages[f"{t}-{v}"] = Region.objects.create(
                code=f"{tc.townships[t].code}{num}",
                name=f"{tc.townships[t].name}{v}村",
                level=Region.Level.VILLAGE,
                parent=tc.townships[t],
                geom=square(x0, y0, x1, y1),
            )
    seq: dict[str, int] = {}
    for y in range(4):
        for x in range(4):
            key = f"{'W' if x < 2 else 'E'}-{'S' if y < 2 else 'N'}"
            village = tc.villages[key]
            seq[key] = seq.get(key, 0) + 1
            tc.cells[(x, y)] = GridCell.objects.create(
                code=f"{village.code}{seq[key]:03d}",
                name=f"{village.name}第{seq[key]}网格",
                village=village,
                township=village.parent,
                geom=cell_square(x, y),
                valid_from=timezone.localdate() - timedelta(days=365),
            )
    tc.teams["W"] = Team.objects.create(
        code="zh-1",
        name="综合行政执法一中队",
        kind=Team.Kind.COMPREHENSIVE,
        domain=Domain.COMPREHENSIVE,
        base=Point(121.005, 29.005, srid=4326),
    )
    tc.teams["E"] = Team.objects.create(
        code="zh-2",
        name="综合行政执法二中队",
        kind=Team.Kind.COMPREHENSIVE,
        domain=Domain.COMPREHENSIVE,
        base=Point(121.035, 29.035, srid=4326),
    )
    tc.teams["market"] = Team.objects.create(
        code="market",
        name="县市场监管执法队",
        kind=Team.Kind.PROFESSIONAL,
        domain=Domain.MARKET,
        department="县市场监督管理局",
    )
    tc.teams["fishery"] = Team.objects.create(
        code="fishery",
        name="县渔业执法队",
        kind=Team.Kind.PROFESSIONAL,
        domain=Domain.FISHERY,
        department="县海洋与渔业局",
    )
    tc.version = CoverageVersion.objects.create(
        name="2026 版",
        status=CoverageVersion.Status.PUBLISHED,
        effective_from=timezone.now() - timedelta(days=30),
        published_at=timezone.now() - timedelta(days=31),
    )
    zone_cells = {
        "W": [c for (x, _y), c in tc.cells.items() if x < 2],
        "E": [c for (x, _y), c in tc.cells.items() if x >= 2],
        "market": list(tc.cells.values()),
    }
    for key, cells in zone_cells.items():
        team = tc.teams[key]
        zone = EnforcementZone.objects.create(
            version=tc.version,
            team=team,
            name=f"{team.name}片区",
            domain=team.domain,
            geom=union([c.geom for c in cells]),
        )
        ZoneCell.objects.bulk_create(ZoneCell(zone=zone, cell=c) for c in cells)
        tc.zones[key] = zone
    tc.matters["vending"] = Matter.objects.create(
        code="ZH-001",
        name="占道经营",
        domain=Domain.COMPREHENSIVE,
        kind=Matter.Kind.PENALTY,
        handled_by=Matter.Handler.TOWNSHIP,
        legal_basis="《城市市容和环境卫生管理条例》第三十六条",
        time_limit_days=15,
    )
    tc.matters["food"] = Matter.objects.create(
        code="SC-001",
        name="无证从事食品经营",
        domain=Domain.MARKET,
        kind=Matter.Kind.PENALTY,
        handled_by=Matter.Handler.COUNTY,
        legal_basis="《食品安全法》第一百二十二条",
        time_limit_days=90,
    )
    tc.matters["delegated_market"] = Matter.objects.create(
        code="SC-101",
        name="擅自占用城市道路摆卖商品",
        domain=Domain.MARKET,
        kind=Matter.Kind.PENALTY,
        handled_by=Matter.Handler.TOWNSHIP,
        time_limit_days=30,
    )
    tc.matters["fishing"] = Matter.objects.create(
        code="YY-001",
        name="禁渔期捕捞",
        domain=Domain.FISHERY,
        kind=Matter.Kind.PENALTY,
        handled_by=Matter.Handler.COUNTY,
        time_limit_days=60,
    )
    geodata_revision_bump()
    return tc
