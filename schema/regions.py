"""Provinces, regencies, districts and villages, linked both ways along the code hierarchy."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from compiler.payload import compiled_as
from resolvers.context import Info
from resolvers.inputs import GEOMETRY_BYTES
from schema.compiled import by_compiler
from schema.connection import Connection
from schema.coverage import (
    ACTIVE_WITHIN_DAYS,
    AS_OF,
    RegionCoverageType,
    VillageCoverageType,
)
from schema.inputs import (
    FIRST,
    GEOMETRY_BUDGET,
    LAST,
    AgentFilter,
    EnrollmentFilter,
    RegionFilter,
)
from schema.scalars import GeoJSON

if TYPE_CHECKING:
    from schema.agents import Agent
    from schema.enrollments import Enrollment

AgentType = Annotated["Agent", strawberry.lazy("schema.agents")]
EnrollmentType = Annotated["Enrollment", strawberry.lazy("schema.enrollments")]


async def _region_coverage(
    root: strawberry.Parent[Any], info: Info,
    active_within_days: Annotated[int | None, strawberry.argument(description=ACTIVE_WITHIN_DAYS)] = None,
    as_of: Annotated[dt.date | None, strawberry.argument(description=AS_OF)] = None,
) -> RegionCoverageType:
    return by_compiler()


@strawberry.enum(description="What colours the villages (district map) or the regions below (other maps).")
class MapMetric(enum.Enum):
    COVERAGE = "coverage"
    PENETRATION = "penetration"


@strawberry.enum(description="The background under the map's layers.")
class Basemap(enum.Enum):
    OSM = "osm"
    NONE = "none"


def _map_url(
    root: strawberry.Parent[Any], info: Info, metric: MapMetric = MapMetric.COVERAGE,
    basemap: Basemap = Basemap.OSM,
) -> str | None:
    return by_compiler()


def national_map_url(info: Info, metric: MapMetric = MapMetric.COVERAGE, basemap: Basemap = Basemap.OSM) -> str | None:
    return by_compiler()


def _map_url_field() -> Any:
    return strawberry.field(
        resolver=_map_url, description="Link to this region's coverage map (HTML), valid 30 minutes; "
        "null when your role may not see it."
    )


def _coverage_field() -> Any:
    return strawberry.field(
        resolver=_region_coverage, description="Coverage of this region and of each child region (planners, managers)."
    )


SIMPLIFY = "Tolerance in metres for topology-preserving simplification (0: full detail)."
PRECISION = "Decimal digits kept in coordinates (6 ≈ 10 cm)."
MAX_BYTES = (f"At most this many bytes of GeoJSON ({GEOMETRY_BYTES[0]:,} to {GEOMETRY_BYTES[1]:,}): the most detailed valid simplification "
             "that fits; coordinates keep the digits its tolerance leaves meaningful, up to `precision`.")


@strawberry.type(description="A boundary simplified to fit a byte budget.")
class FittedGeometry:
    geojson: GeoJSON = strawberry.field(description="The simplified boundary, a GeoJSON MultiPolygon.")
    bytes: int = strawberry.field(description="Size of `geojson` as compact UTF-8 JSON text.")
    tolerance_m: float = strawberry.field(description="Simplification tolerance used, in metres (0: full detail).")
    precision: int = strawberry.field(description="Decimal digits kept in coordinates.")
    hausdorff_m: float = strawberry.field(
        description="Hausdorff distance in metres between this outline and the full boundary (their vertices).")


@strawberry.interface(description="An administrative region identified by its Kemendagri code.")
class AdministrativeRegion(relay.Node):
    @classmethod
    def resolve_id(cls, root: Any, *, info: Info) -> str:
        return by_compiler()  # ids are built in SQL (compiler.objects.global_id)

    code: str = strawberry.field(description="Kemendagri code, e.g. 34, 34.71, 34.71.01, 34.71.01.1001.")
    name: str | None = strawberry.field(description="Official name; null when known only by code.")
    area_km2: float | None = strawberry.field(description="Geodesic area in km².")

    @strawberry.field(description="A point guaranteed inside the boundary (ST_PointOnSurface), GeoJSON.")
    def label_point(self, root: strawberry.Parent[Any], precision: int = 7) -> GeoJSON | None:
        return by_compiler()

    @strawberry.field(description="The boundary as a GeoJSON MultiPolygon.")
    async def geometry(
        self, root: strawberry.Parent[Any], info: Info,
        simplify_m: Annotated[float, strawberry.argument(description=SIMPLIFY)] = 0,
        precision: Annotated[int, strawberry.argument(description=PRECISION)] = 7,
        max_bytes: Annotated[int | None, strawberry.argument(description=MAX_BYTES)] = None,
    ) -> GeoJSON | None:
        return by_compiler()

    @strawberry.field(description="The most detailed valid simplification of the boundary whose GeoJSON fits "
                      "in `maxBytes`, with the tolerance it took and how far it strays from the full boundary.")
    async def fitted_geometry(
        self, root: strawberry.Parent[Any], info: Info,
        max_bytes: Annotated[int, strawberry.argument(description=MAX_BYTES)],
        precision: Annotated[int, strawberry.argument(description=PRECISION)] = 7,
    ) -> FittedGeometry | None:
        return by_compiler()



@strawberry.type(description="A province (provinsi).")
class Province(AdministrativeRegion):
    coverage: RegionCoverageType = _coverage_field()
    map_url: str | None = _map_url_field()

    @strawberry.field(description="Regencies and cities of this province.")
    async def regencies(
        self, root: strawberry.Parent[Any], info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
        geometry_budget: Annotated[int | None, strawberry.argument(description=GEOMETRY_BUDGET)] = None,
    ) -> Connection[Regency]:
        return by_compiler()

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "Province")



@strawberry.type(description="A regency (kabupaten) or city (kota).")
class Regency(AdministrativeRegion):
    coverage: RegionCoverageType = _coverage_field()
    map_url: str | None = _map_url_field()

    @strawberry.field
    async def province(self, root: strawberry.Parent[Any], info: Info) -> Province | None:
        return by_compiler()

    @strawberry.field(description="Districts of this regency.")
    async def districts(
        self, root: strawberry.Parent[Any], info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
        geometry_budget: Annotated[int | None, strawberry.argument(description=GEOMETRY_BUDGET)] = None,
    ) -> Connection[District]:
        return by_compiler()

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "Regency")



@strawberry.type(description="A district (kecamatan).")
class District(AdministrativeRegion):
    coverage: RegionCoverageType = _coverage_field()
    map_url: str | None = _map_url_field()

    @strawberry.field
    async def regency(self, root: strawberry.Parent[Any], info: Info) -> Regency | None:
        return by_compiler()

    @strawberry.field
    async def province(self, root: strawberry.Parent[Any], info: Info) -> Province | None:
        return by_compiler()

    @strawberry.field(description="Villages of this district.")
    async def villages(
        self, root: strawberry.Parent[Any], info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
        geometry_budget: Annotated[int | None, strawberry.argument(description=GEOMETRY_BUDGET)] = None,
    ) -> Connection[Village]:
        return by_compiler()

    @strawberry.field(description="Agents whose home village is in this district.")
    async def agents(
        self, root: strawberry.Parent[Any], info: Info, filter: AgentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[AgentType]:
        return by_compiler()

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "District")



@strawberry.type(description="A village (desa, or kelurahan when urban), the smallest administrative region.")
class Village(AdministrativeRegion):
    population: int | None
    informal_workers: int | None = strawberry.field(
        description="Estimated informal workers (BPU potential); null when there is no estimate."
    )
    estimate_source: str | None
    estimate_year: int | None

    @strawberry.field
    async def district(self, root: strawberry.Parent[Any], info: Info) -> District | None:
        return by_compiler()

    @strawberry.field
    async def regency(self, root: strawberry.Parent[Any], info: Info) -> Regency | None:
        return by_compiler()

    @strawberry.field
    async def province(self, root: strawberry.Parent[Any], info: Info) -> Province | None:
        return by_compiler()

    @strawberry.field(
        description="Active agents whose reach circle (geodesic, on the WGS 84 ellipsoid) contains this "
        "village's label point, nearest first; each edge gives the distance."
    )
    async def agents_in_reach(
        self, root: strawberry.Parent[Any], info: Info, filter: AgentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[AgentType]:
        return by_compiler()

    @strawberry.field(description="Reach, nearest agent and penetration of this village.")
    async def coverage(
        self, root: strawberry.Parent[Any], info: Info,
        active_within_days: Annotated[int | None, strawberry.argument(description=ACTIVE_WITHIN_DAYS)] = None,
        as_of: Annotated[dt.date | None, strawberry.argument(description=AS_OF)] = None,
    ) -> VillageCoverageType | None:
        return by_compiler()

    @strawberry.field(description="Enrollments recorded in this village.")
    async def enrollments(
        self, root: strawberry.Parent[Any], info: Info, filter: EnrollmentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[EnrollmentType]:
        return by_compiler()

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "Village")

