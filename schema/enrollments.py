"""Participants (informal workers) and their enrollments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from db.records import EnrollmentRecord, ParticipantRecord
from resolvers import agents, enrollments, regions
from resolvers.context import Info
from resolvers.inputs import row_id
from resolvers.permissions import PersonalData
from schema.connection import Connection
from schema.inputs import (
    FIRST,
    LAST,
    EnrollmentFilter,
    EnrollmentStatus,
    Programme,
    page,
    plain,
)

if TYPE_CHECKING:
    from schema.agents import Agent
    from schema.regions import Village

AgentType = Annotated["Agent", strawberry.lazy("schema.agents")]
VillageType = Annotated["Village", strawberry.lazy("schema.regions")]


def _ids(node_ids: Iterable[str]) -> list[tuple[None, int]]:
    return [(None, row_id(i)) for i in node_ids]


@strawberry.type(description="An informal worker (BPU). The NIK is never stored; only its last 4 digits are.")
class Participant(relay.Node):
    name: str = strawberry.field(permission_classes=[PersonalData], description="Personal data: not for planners.")
    nik_last4: str = strawberry.field(
        permission_classes=[PersonalData], description="Last 4 digits of the NIK (personal data: not for planners)."
    )
    occupation: str | None

    @strawberry.field
    async def village(self, root: strawberry.Parent[ParticipantRecord], info: Info) -> VillageType | None:
        return await regions.village_or_none(info, root.village_code)  # type: ignore[return-value]

    @strawberry.field
    async def enrollments(
        self, root: strawberry.Parent[ParticipantRecord], info: Info, filter: EnrollmentFilter | None = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None, after: str | None = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None, before: str | None = None,
    ) -> Connection[Enrollment]:
        return await enrollments.participant_enrollments(info, root.id, plain(filter), page(first, after, last, before))  # type: ignore[return-value]

    @classmethod
    def resolve_id(cls, root: ParticipantRecord, *, info: Info) -> str:
        return str(root.id)

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, ParticipantRecord)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await info.context.loaders.participant.load_many(_ids(node_ids))


@strawberry.type(description="A participant's enrollment in BPJS Ketenagakerjaan programmes, recorded by an agent.")
class Enrollment(relay.Node):
    monthly_contribution_idr: int
    enrolled_on: dt.date
    last_paid_on: dt.date | None

    @strawberry.field
    def programmes(self, root: strawberry.Parent[EnrollmentRecord]) -> list[Programme]:
        return [Programme(p) for p in root.programmes]

    @strawberry.field
    def status(self, root: strawberry.Parent[EnrollmentRecord]) -> EnrollmentStatus:
        return EnrollmentStatus(root.status)

    @strawberry.field
    async def agent(self, root: strawberry.Parent[EnrollmentRecord], info: Info) -> AgentType | None:
        return await agents.agent_or_none(info, root.agent_id)  # type: ignore[return-value]

    @strawberry.field
    async def village(self, root: strawberry.Parent[EnrollmentRecord], info: Info) -> VillageType | None:
        return await regions.village_or_none(info, root.village_code)  # type: ignore[return-value]

    @strawberry.field
    async def participant(self, root: strawberry.Parent[EnrollmentRecord], info: Info) -> Participant | None:
        return await enrollments.participant_or_none(info, root.participant_id)  # type: ignore[return-value]

    @classmethod
    def resolve_id(cls, root: EnrollmentRecord, *, info: Info) -> str:
        return str(root.id)

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, EnrollmentRecord)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await info.context.loaders.enrollment.load_many(_ids(node_ids))
