"""List filters as plain values, and their SQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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


def _like(text: str) -> str:
    """`text` as a literal ILIKE pattern part: `%`, `_` and the escape character itself escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_parameters(filter: ListFilter) -> dict[str, Any]:
    """The parameters of the filter's conditions, by name (which names there are says which
    conditions it has), as `filter_sql` refers to them."""
    values: dict[str, Any] = {}
    if filter.region_code is not None:  # the region and all below it: codes from it up to its next sibling
        values |= {"region_from": filter.region_code, "region_to": filter.region_code + "/"}
    if filter.name_contains is not None:
        values["name"] = _like(filter.name_contains)
    if filter.status is not None:
        values["status"] = filter.status
    if filter.bbox is not None:
        values |= {f"bbox{i}": float(x) for i, x in enumerate(filter.bbox)}
    if filter.intersects is not None:
        values["intersects"] = filter.intersects
    if filter.near is not None:
        values |= {"near_lng": filter.near.lng, "near_lat": filter.near.lat, "near_m": filter.near.radius_m}
    return values


SPATIAL = ("bbox0", "intersects", "near_lng")  # a parameter of each condition on a row's geometry


def filter_sql(
    placeholders: Mapping[str, str], *, code: str, name: str | None = None, shape: str | None = None,
    point: str | None = None, status: str | None = None,
) -> tuple[str, str | None]:
    """A filter as SQL text over the given columns: the predicate, and the geodesic distance to the
    `near` centre (None without `near`). `placeholders`: the SQL of each parameter of
    `filter_parameters`, by name. The text depends on which parameters there are, never on their
    values (compiled statements are reused for other values). A region code matches as one range,
    `code ~>=~ '34.71' AND code ~<~ '34.71/'` ('/' follows '.', and codes are digits and dots),
    which a text_pattern_ops index serves with bound parameters too."""
    p = placeholders
    conditions: list[str] = []
    if "region_from" in p:
        conditions.append(f"({code} ~>=~ {p['region_from']} AND {code} ~<~ {p['region_to']})")
    if "name" in p and name is not None:
        conditions.append(f"{name} ILIKE '%' || {p['name']} || '%'")
    if "status" in p and status is not None:
        conditions.append(f"{status}::text = {p['status']}")
    if "bbox0" in p and shape is not None:
        box = ", ".join(f"CAST({p[f'bbox{i}']} AS float8)" for i in range(4))
        conditions.append(f"ST_Intersects({shape}, ST_MakeEnvelope({box}, 4326))")
    if "intersects" in p and shape is not None:
        conditions.append(f"ST_Intersects({shape}, ST_SetSRID(ST_GeomFromGeoJSON({p['intersects']}), 4326))")
    distance = None
    if "near_lng" in p and point is not None:
        centre = (f"ST_SetSRID(ST_MakePoint(CAST({p['near_lng']} AS float8), "
                  f"CAST({p['near_lat']} AS float8)), 4326)::geography")
        conditions.append(f"ST_DWithin({point}::geography, {centre}, CAST({p['near_m']} AS float8))")
        distance = f"ST_Distance({point}::geography, {centre})"
    return " AND ".join(conditions) or "true", distance
