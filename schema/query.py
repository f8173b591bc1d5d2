"""The root Query type: entry points by code or id, and the top-level lists."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from db.regions import Level
from resolvers import agents, enrollments, regions
from resolvers.context import Info
from resolvers.errors import BadUserInput
from resolvers.inputs import row_id
from schema.agents import Agent
from schema.connection import Connection
from schema.enrollments import Enrollment
from schema.inputs import FIRST, LAST, AgentFilter, EnrollmentFilter, RegionFilter, page, plain
from schema.regions import District, Province, Regency, Village
from schema.viewer import Me

CODE = "Kemendagri code"


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global `id`; null when absent or outside your scope.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return await id.resolve_node(info, required=False)  # type: ignore[no-any-return]

    @strawberry.field(description="The caller: token subject, role and scope.")
    def me(self, info: Info) -> Me:
        return Me.of(info.context.viewer)

    @strawberry.field(description="A province by code, e.g. 34.")
    async def province(self, info: Info, code: Annotated[str, strawberry.argument(description=CODE)]) -> Province | None:
        return await regions.region(info, Level.PROVINCE, code)  # type: ignore[return-value]

    @strawberry.field(description="A regency or city by code, e.g. 34.71.")
    async def regency(self, info: Info, code: Annotated[str, strawberry.argument(description=CODE)]) -> Regency | None:
        return await regions.region(info, Level.REGENCY, code)  # type: ignore[return-value]

    @strawberry.field(description="A district by code, e.g. 34.71.01.")
    async def district(self, info: Info, code: Annotated[str, strawberry.argument(description=CODE)]) -> District | None:
        return await regions.region(info, Level.DISTRICT, code)  # type: ignore[return-value]

    @strawberry.field(description="A village by code, e.g. 34.71.01.1001.")
    async def village(self, info: Info, code: Annotated[str, strawberry.argument(description=CODE)]) -> Village | None:
        return await regions.village(info, code)  # type: ignore[return-value]

    @strawberry.field(description="An agent by global `id` or by agent `code` (give one).")
    async def agent(self, info: Info, id: relay.GlobalID | None = None, code: str | None = None) -> Agent | None:
        if id is not None and id.type_name != "Agent":
            raise BadUserInput(f"is the id of a {id.type_name}, not of an Agent", field="id")
        number = row_id(id.node_id) if id is not None else None
        return await agents.agent(info, id=number, code=code)  # type: ignore[return-value]

    @strawberry.field(description="Provinces, by code.")
    async def provinces(
        self, info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[Province]:
        return await regions.regions(info, Level.PROVINCE, None, plain(filter), page(first, after, last, before))  # type: ignore[return-value]

    @strawberry.field(description="Villages, by code (by distance with `near`).")
    async def villages(
        self, info: Info, filter: RegionFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[Village]:
        return await regions.all_villages(info, plain(filter), page(first, after, last, before))  # type: ignore[return-value]

    @strawberry.field(description="Agents, by id (by distance with `near`).")
    async def agents(
        self, info: Info, filter: AgentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[Agent]:
        return await agents.all_agents(info, plain(filter), page(first, after, last, before))  # type: ignore[return-value]

    @strawberry.field(description="Enrollments, by id (by distance with `near`).")
    async def enrollments(
        self, info: Info, filter: EnrollmentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[Enrollment]:
        return await enrollments.all_enrollments(info, plain(filter), page(first, after, last, before))  # type: ignore[return-value]
