"""List filters as plain values, and their SQL."""

from __future__ import annotations

from dataclasses import dataclass

from db.sql import Params


@dataclass(frozen=True, slots=True)
class Near:
    lng: float
    lat: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Conditions on a list; each list applies the ones that make sense for its rows."""

    region_code: str | None = None
    name_contains: str | None = None
    status: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    intersects: str | None = None  # validated GeoJSON text, WGS84
    near: Near | None = None


NO_FILTER = ListFilter()


def _like(text: str) -> str:
    """`text` as a literal ILIKE pattern part: `%`, `_` and the escape character itself escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_sql(
    filter: ListFilter, params: Params, *, code: str, name: str | None = None, shape: str | None = None,
    point: str | None = None, status: str | None = None,
) -> tuple[str, str | None]:
    """The filter as SQL text over the given columns (for hand-written statements): the predicate,
    and the geodesic distance to the `near` centre (None without `near`). A region code matches as
    one range, `code ~>=~ '34.71' AND code ~<~ '34.71/'` ('/' follows '.', and codes are digits and
    dots), which a text_pattern_ops index serves with bound parameters too."""
    conditions: list[str] = []
    if filter.region_code is not None:  # the region and all below it: codes from it up to its next sibling
        conditions.append(f"({code} ~>=~ {params.add(filter.region_code)} AND {code} ~<~ {params.add(filter.region_code + '/')})")
    if filter.name_contains is not None and name is not None:
        conditions.append(f"{name} ILIKE '%' || {params.add(_like(filter.name_contains))} || '%'")
    if filter.status is not None and status is not None:
        conditions.append(f"{status}::text = {params.add(filter.status)}")
    if filter.bbox is not None and shape is not None:
        box = ", ".join(params.add(float(x), "float8") for x in filter.bbox)
        conditions.append(f"ST_Intersects({shape}, ST_MakeEnvelope({box}, 4326))")
    if filter.intersects is not None and shape is not None:
        conditions.append(f"ST_Intersects({shape}, ST_SetSRID(ST_GeomFromGeoJSON({params.add(filter.intersects)}), 4326))")
    distance = None
    if filter.near is not None and point is not None:
        centre = (f"ST_SetSRID(ST_MakePoint({params.add(filter.near.lng, 'float8')}, "
                  f"{params.add(filter.near.lat, 'float8')}), 4326)::geography")
        conditions.append(f"ST_DWithin({point}::geography, {centre}, {params.add(filter.near.radius_m, 'float8')})")
        distance = f"ST_Distance({point}::geography, {centre})"
    return " AND ".join(conditions) or "true", distance
