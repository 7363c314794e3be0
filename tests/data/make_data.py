"""Generate the tiny real GIS files the import/export tests read. Run from the project root:

    .venv/bin/python tests/data/make_data.py

The outputs are committed; this script documents how each was made. Geometry follows the tiny county
of tests/factories.py (origin 121.00 E, 29.00 N, cells of 0.01°):

    lat 29.04 ┌─────────────┬─────────────┐
              │ 330225001002│ 330225101002│   townships: 330225001 丹东街道 (west)
    lat 29.02 ├─────────────┼─────────────┤              330225101 石浦镇   (east)
              │ 330225001001│ 330225101001│   villages: 001 south, 002 north
    lat 29.00 └─────────────┴─────────────┘
           121.00        121.02        121.04

Files:
    tiny_regions.geojson        county + 2 townships + 4 villages, fields code/name/level/parent
    tiny_cells.geojson          the 16 grid cells, fields code/name/village/valid_from
    bowtie_village.geojson      one village whose ring crosses itself (a bow-tie)
    gbk_townships.shp (+.cpg)   2 townships, fields XZQDM/XZQMC/JB in GBK, .cpg says GBK
    gbk_nocpg_townships.shp     the same without .cpg (old ArcGIS exports): needs --encoding GBK
    no_crs_villages.shp         the 4 villages without .prj: needs --assume-crs
    tiny_villages_gk.gpkg       the 4 villages in EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E)
"""

from pathlib import Path

import geopandas as gpd
import shapely

HERE = Path(__file__).resolve().parent
ORIGIN = (121.0, 29.0)
STEP = 0.01
TOWNSHIPS = {
    "W": ("330225001", "丹东街道", "subdistrict", "街道", 0),
    "E": ("330225101", "石浦镇", "town", "镇", 2),
}
VILLAGES = (("S", "001", 0), ("N", "002", 2))


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6), ccw=True)


def cell_box(x: int, y: int) -> shapely.Polygon:
    x0, y0 = ORIGIN[0] + x * STEP, ORIGIN[1] + y * STEP
    return box(x0, y0, x0 + STEP, y0 + STEP)


def regions() -> gpd.GeoDataFrame:
    rows = [
        {
            "code": "330225",
            "name": "象山县",
            "level": "county",
            "parent": None,
            "geometry": box(121.0, 29.0, 121.04, 29.04),
        }
    ]
    for code, name, level, _label, x in TOWNSHIPS.values():
        rows.append(
            {
                "code": code,
                "name": name,
                "level": level,
                "parent": "330225",
                "geometry": cell_box_span(x, 0, 2, 4),
            }
        )
    for code, name, _level, _label, x in TOWNSHIPS.values():
        for side, num, y in VILLAGES:
            rows.append(
                {
                    "code": f"{code}{num}",
                    "name": f"{name}{side}村",
                    "level": "village",
                    "parent": code,
                    "geometry": cell_box_span(x, y, 2, 2),
                }
            )
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def cell_box_span(x: int, y: int, w: int, h: int) -> shapely.Polygon:
    x0, y0 = ORIGIN[0] + x * STEP, ORIGIN[1] + y * STEP
    return box(x0, y0, x0 + w * STEP, y0 + h * STEP)


def cells() -> gpd.GeoDataFrame:
    rows, seq = [], {}
    for y in range(4):
        for x in range(4):
            township = TOWNSHIPS["W" if x < 2 else "E"]
            side, num, _y = VILLAGES[0 if y < 2 else 1]
            village = f"{township[0]}{num}"
            seq[village] = seq.get(village, 0) + 1
            rows.append(
                {
                    "code": f"{village}{seq[village]:03d}",
                    "name": f"{township[1]}{side}村第{seq[village]}网格",
                    "village": village,
                    "valid_from": "2025-01-01",
                    "geometry": cell_box(x, y),
                }
            )
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def main() -> None:
    regions().to_file(HERE / "tiny_regions.geojson", driver="GeoJSON", engine="pyogrio")
    cells().to_file(HERE / "tiny_cells.geojson", driver="GeoJSON", engine="pyogrio")

    # (121.00, 29.01) ┐   ┌ (121.01, 29.01)
    #                  ╲ ╱
    #                   ╳      the ring crosses itself at (121.005, 29.005)
    #                  ╱ ╲
    # (121.00, 29.00) ┘   └ (121.01, 29.00)
    bowtie = shapely.Polygon([(121.0, 29.0), (121.01, 29.01), (121.01, 29.0), (121.0, 29.01), (121.0, 29.0)])
    gpd.GeoDataFrame(
        [{"code": "330225001003", "name": "丹东街道蝴蝶村", "level": "village", "geometry": bowtie}],
        crs="EPSG:4326",
    ).to_file(HERE / "bowtie_village.geojson", driver="GeoJSON", engine="pyogrio")

    townships = gpd.GeoDataFrame(
        [
            {"XZQDM": code, "XZQMC": name, "JB": label, "geometry": cell_box_span(x, 0, 2, 4)}
            for code, name, _level, label, x in TOWNSHIPS.values()
        ],
        crs="EPSG:4490",
    )
    townships.to_file(HERE / "gbk_townships.shp", engine="pyogrio", encoding="GBK")
    townships.to_file(HERE / "gbk_nocpg_townships.shp", engine="pyogrio", encoding="GBK")
    (HERE / "gbk_nocpg_townships.cpg").unlink()

    villages = regions().query("level == 'village'").drop(columns=["parent"])
    villages.to_file(HERE / "no_crs_villages.shp", engine="pyogrio", encoding="UTF-8")
    (HERE / "no_crs_villages.prj").unlink()
    villages.to_crs("EPSG:4549").to_file(HERE / "tiny_villages_gk.gpkg", layer="villages", engine="pyogrio")


if __name__ == "__main__":
    main()
