"""The Agent type: a Perisai agent, its base location, reach and work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from db.records import AgentRecord
from resolvers import enrollments, regions
from resolvers.context import Info
from resolvers.inputs import row_id
from resolvers.permissions import PersonalData
from schema.connection import Connection
from schema.inputs import (
    FIRST,
    LAST,
    AgentStatus,
    EnrollmentFilter,
    RegionFilter,
    page,
    plain,
)
from schema.scalars import GeoJSON

if TYPE_CHECKING:
    from schema.enrollments import Enrollment
    from schema.regions import Village

VillageType = Annotated["Village", strawberry.lazy("schema.regions")]
EnrollmentType = Annotated["Enrollment", strawberry.lazy("schema.enrollments")]


@strawberry.type(description="A Perisai agent: a community member who informs and enrolls informal workers.")
class Agent(relay.Node):
    code: str = strawberry.field(description="The agent's code, e.g. AG-000123.")
    name: str
    phone: str | None = strawberry.field(
        permission_classes=[PersonalData], description="Phone number (personal data: not for planners)."
    )
    reach_m: int = strawberry.field(description="Radius in metres, on the ellipsoid, the agent works within.")
    joined_on: dt.date

    @strawberry.field
    def status(self, root: strawberry.Parent[AgentRecord]) -> AgentStatus:
        return AgentStatus(root.status)

    @strawberry.field(description="Base location as a GeoJSON Point.")
    def location(self, root: strawberry.Parent[AgentRecord], precision: int = 7) -> GeoJSON:
        return regions.point(root.location, precision)  # type: ignore[return-value]

    @strawberry.field
    async def home_village(self, root: strawberry.Parent[AgentRecord], info: Info) -> VillageType | None:
        return await regions.village_or_none(info, root.home_village_code)  # type: ignore[return-value]

    @strawberry.field(
        description="Villages whose label point lies within the agent's reach, nearest first; each edge "
        "gives the geodesic distance."
    )
    async def villages_in_reach(
        self, root: strawberry.Parent[AgentRecord], info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[VillageType]:
        return await regions.villages_in_reach(info, root.id, plain(filter), page(first, after, last, before))  # type: ignore[return-value]

    @strawberry.field(description="Enrollments this agent recorded.")
    async def enrollments(
        self, root: strawberry.Parent[AgentRecord], info: Info, filter: EnrollmentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[EnrollmentType]:
        return await enrollments.agent_enrollments(info, root.id, plain(filter), page(first, after, last, before))  # type: ignore[return-value]

    @classmethod
    def resolve_id(cls, root: AgentRecord, *, info: Info) -> str:
        return str(root.id)

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, AgentRecord)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        ids = [row_id(i) for i in node_ids]
        return await info.context.loaders.agent.load_many([(None, i) for i in ids])
