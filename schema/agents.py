"""The Agent type: a Perisai agent, its base location, reach and work."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from compiler.payload import compiled_as
from db.rules import DEFAULT_OBSERVED_DAYS
from resolvers.context import Info
from schema.compiled import by_compiler
from schema.connection import Connection
from schema.coverage import AS_OF, OBSERVED_DAYS
from schema.inputs import (
    FIRST,
    GEOMETRY_BUDGET,
    LAST,
    AgentStatus,
    EnrollmentFilter,
    RegionFilter,
)
from schema.scalars import GeoJSON

if TYPE_CHECKING:
    from schema.enrollments import Enrollment
    from schema.regions import Village

VillageType = Annotated["Village", strawberry.lazy("schema.regions")]
EnrollmentType = Annotated["Enrollment", strawberry.lazy("schema.enrollments")]


@strawberry.type(description="A Perisai agent: a community member who informs and enrolls informal workers.")
class Agent(relay.Node):
    @classmethod
    def resolve_id(cls, root: Any, *, info: Info) -> str:
        return by_compiler()  # ids are built in SQL (compiler.objects.global_id)

    code: str = strawberry.field(description="The agent's code, e.g. AG-000123.")
    name: str
    phone: str | None = strawberry.field(
        description="Phone number (personal data: not for planners)."
    )
    reach_m: int = strawberry.field(description="Radius in metres, on the ellipsoid, the agent works within.")
    joined_on: dt.date

    @strawberry.field
    def status(self, root: strawberry.Parent[Any]) -> AgentStatus:
        return by_compiler()

    @strawberry.field(description="Base location as a GeoJSON Point.")
    def location(self, root: strawberry.Parent[Any], precision: int = 7) -> GeoJSON:
        return by_compiler()

    @strawberry.field
    async def home_village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()

    @strawberry.field(
        description="Villages whose label point lies within the agent's reach, nearest first; each edge "
        "gives the geodesic distance."
    )
    async def villages_in_reach(
        self, root: strawberry.Parent[Any], info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
        geometry_budget: Annotated[int | None, strawberry.argument(description=GEOMETRY_BUDGET)] = None,
    ) -> Connection[VillageType]:
        return by_compiler()

    @strawberry.field(description="Observed reach: the geodesic distance from its base within which 90 % of the "
                      "enrollments it recorded in the window lie (each at its GPS fix, else its village's label "
                      "point); null without enrollments, and for roles without personal data with fewer than k (a "
                      "radius around a few people's points says where they live). Compare with `reachM`, its reach "
                      "on paper.")
    def observed_reach_m(
        self, root: strawberry.Parent[Any],
        within_days: Annotated[int, strawberry.argument(description=OBSERVED_DAYS)] = DEFAULT_OBSERVED_DAYS,
        as_of: Annotated[dt.date | None, strawberry.argument(description=AS_OF)] = None,
    ) -> float | None:
        return by_compiler()

    @strawberry.field(description="The villages where it enrolled someone in the window (those you may see; for roles "
                      "without personal data, not those whose enrollment counts are suppressed), by code.")
    async def enrolled_villages(
        self, root: strawberry.Parent[Any], info: Info,
        within_days: Annotated[int, strawberry.argument(description=OBSERVED_DAYS)] = DEFAULT_OBSERVED_DAYS,
        as_of: Annotated[dt.date | None, strawberry.argument(description=AS_OF)] = None,
    ) -> list[VillageType]:
        return by_compiler()

    @strawberry.field(description="Enrollments this agent recorded.")
    async def enrollments(
        self, root: strawberry.Parent[Any], info: Info, filter: EnrollmentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[EnrollmentType]:
        return by_compiler()


    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "Agent")

