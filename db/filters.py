"""List filters as plain values (hashable, so DataLoaders can batch on them), and their SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, literal, true

from db.access import code_within
from db.sql import Params
from db.spatial import geography


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


def point_geography(near: Near) -> ColumnElement[object]:
    return geography(func.ST_SetSRID(func.ST_MakePoint(literal(near.lng), literal(near.lat)), 4326))


def spatial(
    filter: ListFilter, shape: ColumnElement[object], point: ColumnElement[object]
) -> ColumnElement[bool]:
    """bbox and intersects test `shape` (a boundary or a point); near tests `point` in metres.

    Each predicate is written so PostGIS can use the GiST index on the column: the literal side
    is built once, the column side is the bare column (or its geography cast, for which an
    expression index exists).
    """
    conditions: list[ColumnElement[bool]] = []
    if filter.bbox is not None:
        conditions.append(func.ST_Intersects(shape, func.ST_MakeEnvelope(*map(literal, filter.bbox), 4326)))
    if filter.intersects is not None:
        area = func.ST_SetSRID(func.ST_GeomFromGeoJSON(literal(filter.intersects)), 4326)
        conditions.append(func.ST_Intersects(shape, area))
    if filter.near is not None:
        conditions.append(
            func.ST_DWithin(geography(point), point_geography(filter.near), literal(filter.near.radius_m))
        )
    return and_(true(), *conditions)


def distance_to(filter: ListFilter, point: ColumnElement[object]) -> ColumnElement[float] | None:
    """Geodesic metres from `point` to the `near` centre, or None without `near`."""
    if filter.near is None:
        return None
    return func.ST_Distance(geography(point), point_geography(filter.near))


def common(filter: ListFilter, code: ColumnElement[str], name: ColumnElement[str] | None) -> ColumnElement[bool]:
    """regionCode (a prefix of the hierarchy) and nameContains (case-insensitive)."""
    conditions: list[ColumnElement[bool]] = []
    if filter.region_code is not None:
        conditions.append(code_within(code, filter.region_code))
    if filter.name_contains is not None and name is not None:
        conditions.append(name.icontains(filter.name_contains, autoescape=True))
    return and_(true(), *conditions)


def _like(text: str) -> str:
    """`text` as a literal ILIKE pattern part: `%`, `_` and the escape character itself escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_sql(
    filter: ListFilter, params: Params, *, code: str, name: str | None = None, shape: str | None = None,
    point: str | None = None, status: str | None = None,
) -> tuple[str, str | None]:
    """The filter as SQL text over the given columns (for hand-written statements): the predicate,
    and the geodesic distance to the `near` centre (None without `near`). Region codes match with
    `~>=~`/`~<~` so the text_pattern_ops indexes serve them with bound parameters too."""
    conditions: list[str] = []
    if filter.region_code is not None:
        conditions.append(f"({code} = {params.add(filter.region_code)} OR ({code} ~>=~ "
                          f"{params.add(filter.region_code + '.')} AND {code} ~<~ {params.add(filter.region_code + '/')}))")
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
