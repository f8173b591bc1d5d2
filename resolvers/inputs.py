"""Client arguments turned into checked plain values; each failure names the argument."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from db.filters import ListFilter, Near
from db.regions import Level
from geo.geojson import GeoJSONError, validated_geometry
from resolvers.errors import BadUserInput

MAX_NEAR_RADIUS_M = 1_000_000  # 1,000 km: wider searches are what bbox and regionCode are for
MAX_NAME_QUERY = 100
MAX_SIMPLIFY_M = 100_000
MAX_PRECISION = 15
# A budget below a triangle's GeoJSON (~100 bytes) can fit nothing; above these, ask for full detail.
GEOMETRY_BYTES = (100, 10_000_000)
PAGE_GEOMETRY_BYTES = (1_000, 50_000_000)


def region_code(code: str, field: str, level: Level | None = None) -> str:
    code = code.strip()
    found = Level.of_code(code)
    if found is None or (level is not None and found is not level):
        example = level.example if level else "34, 34.71, 34.71.01 or 34.71.01.1001"
        raise BadUserInput(f"{code!r} is not a {level.value if level else 'region'} code like {example}", field=field)
    return code


def list_filter(
    *, region: str | None = None, name_contains: str | None = None, status: str | None = None,
    bbox: Sequence[float] | None = None, intersects: Any = None, near: tuple[float, float, float] | None = None,
    path: str = "filter",
) -> ListFilter:
    """A ListFilter from a filter input's fields, or BadUserInput naming the bad field."""
    return ListFilter(
        region_code=region_code(region, f"{path}.regionCode") if region is not None else None,
        name_contains=_name(name_contains, f"{path}.nameContains") if name_contains is not None else None,
        status=status,
        bbox=_bbox(bbox, f"{path}.bbox") if bbox is not None else None,
        intersects=_geometry(intersects, f"{path}.intersects") if intersects is not None else None,
        near=_near(near, f"{path}.near") if near is not None else None,
    )


def _name(text: str, field: str) -> str:
    text = text.strip()
    if not 1 <= len(text) <= MAX_NAME_QUERY:
        raise BadUserInput(f"give 1 to {MAX_NAME_QUERY} characters", field=field)
    return text


def _bbox(values: Sequence[float], field: str) -> tuple[float, float, float, float]:
    if len(values) != 4:
        raise BadUserInput(f"must be [minLng, minLat, maxLng, maxLat], got {len(values)} numbers", field=field)
    min_lng, min_lat, max_lng, max_lat = (float(v) for v in values)
    _lng_lat(min_lng, min_lat, field)
    _lng_lat(max_lng, max_lat, field)
    if not (min_lng < max_lng and min_lat < max_lat):
        raise BadUserInput("minLng must be below maxLng and minLat below maxLat (longitude first)", field=field)
    return (min_lng, min_lat, max_lng, max_lat)


def _lng_lat(lng: float, lat: float, field: str) -> None:
    if not (math.isfinite(lng) and -180 <= lng <= 180):
        raise BadUserInput(f"longitude {lng} is outside -180..180", field=field)
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise BadUserInput(f"latitude {lat} is outside -90..90 (longitude comes first)", field=field)


def lng_lat(lng: float, lat: float, field: str) -> tuple[float, float]:
    _lng_lat(lng, lat, field)
    return (float(lng), float(lat))


def _near(values: tuple[float, float, float], field: str) -> Near:
    lng, lat, radius_m = values
    _lng_lat(lng, lat, field)
    if not (math.isfinite(radius_m) and 0 < radius_m <= MAX_NEAR_RADIUS_M):
        raise BadUserInput(f"radiusM must be above 0 and at most {MAX_NEAR_RADIUS_M:,} m", field=f"{field}.radiusM")
    return Near(lng, lat, radius_m)


def _geometry(value: Any, field: str) -> str:
    try:
        return validated_geometry(value)
    except GeoJSONError as exc:
        raise BadUserInput(str(exc), field=field) from exc


def geometry_options(simplify_m: float, precision: int) -> tuple[float, int]:
    if not (math.isfinite(simplify_m) and 0 <= simplify_m <= MAX_SIMPLIFY_M):
        raise BadUserInput(f"must be between 0 and {MAX_SIMPLIFY_M:,} metres", field="simplifyM")
    if not 0 <= precision <= MAX_PRECISION:
        raise BadUserInput(f"must be between 0 and {MAX_PRECISION} decimal digits", field="precision")
    return float(simplify_m), precision


def byte_budget(value: int, field: str, bounds: tuple[int, int] = GEOMETRY_BYTES) -> int:
    """A byte budget for GeoJSON (maxBytes, geometryBudget), within its bounds."""
    low, high = bounds
    if not low <= value <= high:
        raise BadUserInput(f"must be between {low:,} and {high:,} bytes", field=field)
    return value


def row_id(value: str, field: str = "id") -> int:
    """A numeric id (agents, participants, enrollments) from a string."""
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 19 else 0
    if not 0 < number < 2**63:
        raise BadUserInput(f"{value!r} is not a numeric id", field=field)
    return number


def past_day(day: dt.date | None, field: str = "asOf") -> dt.date | None:
    """A day figures are measured at: today or earlier (None: today)."""
    if day is not None and day > dt.date.today():
        raise BadUserInput("is in the future; give today or an earlier date", field=field)
    return day
