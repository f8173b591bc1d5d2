"""Participants (informal workers) and their enrollments."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from compiler.payload import compiled_as
from resolvers.context import Info
from schema.compiled import by_compiler
from schema.connection import Connection
from schema.inputs import (
    FIRST,
    LAST,
    EnrollmentFilter,
    EnrollmentStatus,
    Programme,
)

if TYPE_CHECKING:
    from schema.agents import Agent
    from schema.regions import Village

AgentType = Annotated["Agent", strawberry.lazy("schema.agents")]
VillageType = Annotated["Village", strawberry.lazy("schema.regions")]



@strawberry.type(description="An informal worker (BPU). The NIK is never stored; only its last 4 digits are.")
class Participant(relay.Node):
    @classmethod
    def resolve_id(cls, root: Any, *, info: Info) -> str:
        return by_compiler()  # ids are built in SQL (compiler.objects.global_id)

    name: str = strawberry.field(description="Personal data: not for planners.")
    nik_last4: str = strawberry.field(
        description="Last 4 digits of the NIK (personal data: not for planners)."
    )
    occupation: str | None

    @strawberry.field
    async def village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()

    @strawberry.field
    async def enrollments(
        self, root: strawberry.Parent[Any], info: Info, filter: EnrollmentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[Enrollment]:
        return by_compiler()


    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "Participant")



@strawberry.type(description="A participant's enrollment in BPJS Ketenagakerjaan programmes, recorded by an agent.")
class Enrollment(relay.Node):
    @classmethod
    def resolve_id(cls, root: Any, *, info: Info) -> str:
        return by_compiler()  # ids are built in SQL (compiler.objects.global_id)

    monthly_contribution_idr: int
    enrolled_on: dt.date
    last_paid_on: dt.date | None

    @strawberry.field
    def programmes(self, root: strawberry.Parent[Any]) -> list[Programme]:
        return by_compiler()

    @strawberry.field
    def status(self, root: strawberry.Parent[Any]) -> EnrollmentStatus:
        return by_compiler()

    @strawberry.field
    async def agent(self, root: strawberry.Parent[Any], info: Info) -> AgentType | None:
        return by_compiler()

    @strawberry.field
    async def village(self, root: strawberry.Parent[Any], info: Info) -> VillageType | None:
        return by_compiler()

    @strawberry.field
    async def participant(self, root: strawberry.Parent[Any], info: Info) -> Participant | None:
        return by_compiler()


    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return compiled_as(obj, "Enrollment")

