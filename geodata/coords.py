"""Coordinates at the edge: parse, check and convert what callers send into WGS-84 lon/lat.

Every door (API, intake, import) uses these so that a swapped or impossible coordinate is refused
the same way everywhere, with a message naming the field.
"""

import math

import prcoords
from django.conf import settings
from django.utils.translation import gettext as _

from geodata.errors import FieldError

CRS_CHOICES = ("wgs84", "gcj02", "bd09", "cgcs2000")


class CoordinateError(FieldError):
    """A caller's coordinate problem; `field` names the parameter at fault."""


def parse_coordinate(raw, field: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise CoordinateError(field, _("必须是数字，收到 %(raw)r。") % {"raw": raw}) from None
    if not math.isfinite(value):
        raise CoordinateError(field, _("必须是有限数字（不能是 NaN 或无穷）。"))
    if not low <= value <= high:
        raise CoordinateError(
            field, _("超出范围 [%(low)s, %(high)s]：%(value)s。") % {"low": low, "high": high, "value": value}
        )
    return value


def in_service_area(lon: float, lat: float) -> bool:
    min_lon, min_lat, max_lon, max_lat = settings.SERVICE_AREA_BBOX
    return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


def to_wgs84(lon: float, lat: float, crs: str = "wgs84") -> tuple[float, float]:
    """Convert a point from the caller's CRS to WGS-84. GCJ-02 and BD-09 use prcoords' iterative
    ("bored") inverses, accurate to a few centimetres rather than the metres of the closed form."""
    crs = (crs or "wgs84").lower()
    if crs in ("wgs84", "cgcs2000", "epsg:4326", "epsg:4490"):
        return lon, lat
    if crs == "gcj02":
        out = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lon))
    elif crs == "bd09":
        out = prcoords.bd_wgs_bored(prcoords.Coords(lat, lon))
    else:
        raise CoordinateError(
            "crs",
            _("未知坐标系 %(crs)r，可选：%(choices)s。") % {"crs": crs, "choices": ", ".join(CRS_CHOICES)},
        )
    return out.lon, out.lat


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """The inverse of to_wgs84, for tests and for clients that display GCJ-02 basemaps."""
    if crs in ("wgs84", "cgcs2000"):
        return lon, lat
    if crs == "gcj02":
        out = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    elif crs == "bd09":
        out = prcoords.wgs_bd(prcoords.Coords(lat, lon))
    else:
        raise CoordinateError("crs", _("未知坐标系 %(crs)r。") % {"crs": crs})
    return out.lon, out.lat


def point_from_request(lon_raw, lat_raw, crs_raw=None) -> tuple[float, float, str]:
    """Parse lon/lat/crs as sent by a caller and return WGS-84 (lon, lat, crs).

    Refuses non-numbers, NaN/inf, out-of-range values, unknown CRS, and points outside the
    service area — saying so when the pair looks swapped (lat given as lon)."""
    crs = (crs_raw or "wgs84").strip().lower()
    if crs not in CRS_CHOICES:
        raise CoordinateError(
            "crs",
            _("未知坐标系 %(crs)r，可选：%(choices)s。") % {"crs": crs, "choices": ", ".join(CRS_CHOICES)},
        )
    lon = parse_coordinate(lon_raw, "lon", -math.inf, math.inf)
    lat = parse_coordinate(lat_raw, "lat", -math.inf, math.inf)
    if _looks_swapped(lon, lat, crs):
        raise CoordinateError(
            "lon",
            _("经纬度似乎颠倒了：lon 应为经度（约 %(lon).2f），lat 应为纬度（约 %(lat).2f）。")
            % {"lon": lat, "lat": lon},
        )
    lon = parse_coordinate(lon, "lon", -180.0, 180.0)
    lat = parse_coordinate(lat, "lat", -90.0, 90.0)
    wlon, wlat = to_wgs84(lon, lat, crs)
    if not in_service_area(wlon, wlat):
        raise CoordinateError("lon", _("坐标 (%(lon)s, %(lat)s) 不在服务区域内。") % {"lon": lon, "lat": lat})
    return wlon, wlat, crs


def _looks_swapped(lon: float, lat: float, crs: str) -> bool:
    if in_service_area(*to_wgs84(lon, lat, crs)) if abs(lat) <= 90 and abs(lon) <= 180 else False:
        return False
    return abs(lon) <= 90 and abs(lat) <= 180 and in_service_area(*to_wgs84(lat, lon, crs))
