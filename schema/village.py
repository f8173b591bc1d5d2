"""The Village type."""

from __future__ import annotations

import strawberry

from schema.scalars import GeoJSON


@strawberry.type(description="A village (desa, or kelurahan when urban), the smallest administrative region.")
class Village:
    code: str = strawberry.field(description="Kemendagri code, e.g. 34.71.01.1001.")
    name: str | None = strawberry.field(description="Official name; null when known only by code.")
    district_code: str
    geometry: GeoJSON | None = strawberry.field(description="Boundary as a GeoJSON MultiPolygon.")
    label_point: GeoJSON | None = strawberry.field(
        description="A GeoJSON Point guaranteed inside the boundary (ST_PointOnSurface)."
    )
    area_km2: float | None = strawberry.field(description="Geodesic area in km².")
    population: int | None
    informal_workers: int | None = strawberry.field(
        description="Estimated informal workers (BPU potential); null when there is no estimate."
    )
    estimate_source: str | None
    estimate_year: int | None
