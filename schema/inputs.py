"""Filter inputs and enums shared by the list fields."""

from __future__ import annotations

import enum

import strawberry

from db.filters import ListFilter
from resolvers.inputs import list_filter
from resolvers.pagination import MAX_PAGE_SIZE, PageArgs
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


def plain(filter: RegionFilter | AgentFilter | EnrollmentFilter | None) -> ListFilter:
    """The checked, hashable form of a filter input (BAD_USER_INPUT names the bad field)."""
    if filter is None:
        return ListFilter()
    status = getattr(filter, "status", None)
    near = (filter.near.lng, filter.near.lat, filter.near.radius_m) if filter.near else None
    return list_filter(
        region=filter.region_code, name_contains=filter.name_contains,
        status=status.value if status is not None else None, bbox=filter.bbox,
        intersects=filter.intersects, near=near,
    )


FIRST = f"Rows from the start (or after `after`); at most {MAX_PAGE_SIZE}, default 100."
LAST = f"Rows from the end (or before `before`); at most {MAX_PAGE_SIZE}."


def page(first: int | None, after: str | None, last: int | None, before: str | None) -> PageArgs:
    return PageArgs(first, after, last, before)
