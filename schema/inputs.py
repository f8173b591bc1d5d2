"""Filter inputs and enums shared by the list fields."""

from __future__ import annotations

import enum

import strawberry

from resolvers.inputs import PAGE_GEOMETRY_BYTES
from resolvers.pagination import MAX_PAGE_SIZE
from schema.scalars import GeoJSON


@strawberry.enum(description="Whether an agent currently works.")
class AgentStatus(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"


@strawberry.enum(description="An enrollment is active while contributions are paid, lapsed after.")
class EnrollmentStatus(enum.Enum):
    ACTIVE = "active"
    LAPSED = "lapsed"


@strawberry.enum(description="BPJS Ketenagakerjaan programmes open to informal workers.")
class Programme(enum.Enum):
    JKK = strawberry.enum_value("JKK", description="Work-accident insurance (Jaminan Kecelakaan Kerja).")
    JKM = strawberry.enum_value("JKM", description="Death insurance (Jaminan Kematian).")
    JHT = strawberry.enum_value("JHT", description="Old-age savings (Jaminan Hari Tua).")


@strawberry.input(description="A circle on the ellipsoid: rows within `radiusM` metres, nearest first.")
class Near:
    lng: float
    lat: float
    radius_m: float


_REGION = "Only rows at or below this Kemendagri code: 34, 34.71, 34.71.01 or 34.71.01.1001."
_BBOX = "[minLng, minLat, maxLng, maxLat] in WGS 84; rows whose shape intersects the box."
_INTERSECTS = "A GeoJSON geometry (at most 100,000 vertices); rows whose shape intersects it."


@strawberry.input(description="Filter for provinces, regencies, districts and villages.")
class RegionFilter:
    region_code: str | None = strawberry.field(default=None, description=_REGION)
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive part of the name.")
    bbox: list[float] | None = strawberry.field(default=None, description=_BBOX)
    intersects: GeoJSON | None = strawberry.field(default=None, description=_INTERSECTS)
    near: Near | None = strawberry.field(default=None, description="Label point within the circle; nearest first.")


@strawberry.input(description="Filter for agents. Spatial conditions apply to the agent's base location.")
class AgentFilter:
    region_code: str | None = strawberry.field(default=None, description=_REGION + " (home village)")
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive part of the name.")
    status: AgentStatus | None = None
    bbox: list[float] | None = strawberry.field(default=None, description=_BBOX)
    intersects: GeoJSON | None = strawberry.field(default=None, description=_INTERSECTS)
    near: Near | None = strawberry.field(default=None, description="Base location within the circle; nearest first.")


@strawberry.input(description="Filter for enrollments. Spatial conditions apply to the village's shape.")
class EnrollmentFilter:
    region_code: str | None = strawberry.field(default=None, description=_REGION + " (village)")
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive part of the participant's name (not for planners)."
    )
    status: EnrollmentStatus | None = None
    bbox: list[float] | None = strawberry.field(default=None, description=_BBOX)
    intersects: GeoJSON | None = strawberry.field(default=None, description=_INTERSECTS)
    near: Near | None = strawberry.field(default=None, description="Village label point within the circle.")


FIRST = f"Rows from the start (or after `after`); at most {MAX_PAGE_SIZE}, default 100."
GEOMETRY_BUDGET = (f"At most this many bytes ({PAGE_GEOMETRY_BYTES[0]:,} to {PAGE_GEOMETRY_BYTES[1]:,}) for the "
                   "geometries of this page's regions "
                   "together: small boundaries keep full detail, the rest share what is left equally.")
LAST = f"Rows from the end (or before `before`); at most {MAX_PAGE_SIZE}."
